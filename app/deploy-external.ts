// What the App keeps in a deploy's `external` metadata on the runner — the only place it keeps
// anything. The identity fields are written at submit, signed (and are the contract with the Action:
// `repo` = "owner/name", `sha` = the merge commit, `pr` = the pull request number); the GitHub ids
// and the last posted states are added by the reconciler. A GitHub object is created once across
// App instances by claiming its key with a compare-and-set first.
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { Signer } from './signer.ts';

export interface DeployIdentity {
  repo: string;
  pr: number;
  sha: string;
  installation: number;
  environment: string;
  /** The check-run name suffix for this environment ('' when the repository has one). */
  label: string;
}

/** `open` while GitHub may still need updates; `final` once the final state is posted everywhere. */
export type SyncMark = 'open' | 'final';

/** The signer of deploy identities, from the App's webhook secret. */
export const identitySigner = (webhookSecret: string) => new Signer(webhookSecret, 'deploy identity');

const identityText = (i: DeployIdentity) => JSON.stringify([i.repo, i.pr, i.sha, i.installation, i.environment, i.label]);

/** The identity fields to store at submit, signed: only deploys the App submitted are ever posted to GitHub. */
export function signedIdentity(identity: DeployIdentity, signer: Signer): DeployIdentity & { identitySig: string } {
  return { ...identity, identitySig: signer.sign(identityText(identity)) };
}

/** The deploy's identity, when the App submitted it (a runner or a submit token cannot make one up). */
export function identityOf(deploy: DeployView, signer: Signer): DeployIdentity | undefined {
  const e = deploy.external;
  if (typeof e.repo !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(e.repo) || typeof e.sha !== 'string') return undefined;
  if (typeof e.installation !== 'number' || typeof e.pr !== 'number') return undefined;
  const identity = { repo: e.repo, pr: e.pr, sha: e.sha, installation: e.installation, environment: String(e.environment ?? 'default'), label: String(e.label ?? '') };
  return signer.verify(identityText(identity), e.identitySig) ? identity : undefined;
}

export function repoOf(identity: DeployIdentity): { owner: string; repo: string } {
  const [owner, repo] = identity.repo.split('/');
  return { owner, repo };
}

/**
 * A claim older than this is taken over: its instance died between claiming and recording. Far longer
 * than a creation takes, even behind Octokit's write pacing and retries.
 */
const STALE_CLAIM_MS = 10 * 60_000;

/**
 * The GitHub object id recorded under `key`, creating the object if there is none: the creator first
 * claims the key (`creating:<instance>:<ms>` where it is absent), so two App instances never both
 * create it; the loser gets undefined now and sees the id on a later pass. A creator whose claim was
 * taken over while it was creating (it was slower than `STALE_CLAIM_MS`) hands what it made to
 * `supersede` (a check run completed as neutral, a deployment made inactive) and uses the recorded one.
 */
export async function ensureCreated(client: RunnerClient, deploy: DeployView, key: string, instanceId: string,
  create: () => Promise<number>, supersede: (id: number) => Promise<void>): Promise<number | undefined> {
  const current = deploy.external[key];
  if (typeof current === 'number') return current;
  if (typeof current === 'string') {
    const [, owner, at] = current.split(':');
    if (owner !== instanceId && Date.now() - Number(at) < STALE_CLAIM_MS) return undefined;
  }
  const claim = `creating:${instanceId}:${Date.now()}`;
  const claimed = await client.patchExternal(deploy.id, { set: { [key]: claim }, expect: { [key]: current ?? null } });
  if (!claimed.applied) {
    const now = claimed.deploy.external[key];
    return typeof now === 'number' ? now : undefined;
  }
  let id: number;
  try {
    id = await create();
  } catch (err) {
    await client.patchExternal(deploy.id, { set: { [key]: null }, expect: { [key]: claim } }).catch(() => undefined);
    throw err;
  }
  const recorded = await client.patchExternal(deploy.id, { set: { [key]: id }, expect: { [key]: claim } });
  deploy.external = recorded.deploy.external;
  if (recorded.applied) return id;
  await supersede(id);
  const winner = recorded.deploy.external[key];
  return typeof winner === 'number' ? winner : undefined;
}

/** Records what was posted (plain merge: two instances posting the same state write the same value). */
export async function recordPosted(client: RunnerClient, deploy: DeployView, set: Record<string, unknown>): Promise<void> {
  const { deploy: now } = await client.patchExternal(deploy.id, { set });
  deploy.external = now.external;
}
