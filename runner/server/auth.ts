// Bearer-token authentication for /v1 and /metrics, what each token may do, and the actor recorded
// for what a caller does. Tokens are compared as SHA-256 digests with timingSafeEqual, every
// configured token each time, so neither a token's length nor how much of it matched shows in the
// response time.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * What a token may do: `read` (deploys, events, targets, metrics), `plan`, `submit`, `cutover`,
 * `control` (pause, resume, abort), `revert`, `external` (the caller's metadata on a deploy).
 */
export const SCOPES = ['read', 'plan', 'submit', 'cutover', 'control', 'revert', 'external'] as const;
export type Scope = (typeof SCOPES)[number];

export interface NamedToken {
  name: string;
  value: string;
  /** Absent: every scope (the configuration before scopes existed). */
  scopes?: readonly Scope[];
}

export interface Caller {
  name: string;
  scopes: readonly Scope[];
}

/** Returns who the `Authorization` header's token belongs to, or undefined. */
export function bearerAuthenticator(tokens: readonly NamedToken[]): (authorization: string | undefined) => Caller | undefined {
  const known = tokens.map((t) => ({ caller: { name: t.name, scopes: t.scopes ?? SCOPES }, digest: digest(t.value) }));
  return (authorization) => {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = digest(match[1]);
    let caller: Caller | undefined;
    for (const token of known) {
      if (timingSafeEqual(token.digest, presented)) caller = token.caller;
    }
    return caller;
  };
}

/** `alice via github-app` when a caller acts for someone, else the token's name. */
export function actorOf(tokenName: string, onBehalfOf: string | undefined): string {
  return onBehalfOf ? `${onBehalfOf} via ${tokenName}` : tokenName;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
