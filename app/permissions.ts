// Who may do what, from the repository permission GitHub reports for the user (never from the
// comment's author_association): write or above for the harmless commands, maintain or admin for
// those that change a database's schema for everyone.
import type { ProbotOctokit } from 'probot';
import type { RepoRef } from './repo-files.ts';

export type Needed = 'write' | 'maintain';

const RANK: Record<string, number> = { none: 0, read: 1, triage: 1, write: 2, maintain: 3, admin: 4 };

/** The user's role (`maintain`, a custom role falls back to its base permission), or `none` for a non-collaborator. */
export async function permissionOf(octokit: ProbotOctokit, repo: RepoRef, login: string): Promise<{ role: string; rank: number }> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login });
    const role = data.role_name && data.role_name in RANK ? data.role_name : data.permission;
    return { role, rank: RANK[role] ?? 0 };
  } catch (err) {
    if ((err as { status?: number }).status === 404) return { role: 'none', rank: 0 };
    throw err;
  }
}

export type Permission = Awaited<ReturnType<typeof permissionOf>>;

export function meets(permission: Permission, needed: Needed): boolean {
  return permission.rank >= RANK[needed];
}

export async function isAllowed(octokit: ProbotOctokit, repo: RepoRef, login: string, needed: Needed): Promise<{ allowed: boolean; role: string }> {
  const permission = await permissionOf(octokit, repo, login);
  return { allowed: meets(permission, needed), role: permission.role };
}
