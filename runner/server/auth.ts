// Bearer-token authentication for /v1 and /metrics, and the actor recorded for what a caller does.
// Tokens are compared as SHA-256 digests with timingSafeEqual, every configured token each time, so
// neither a token's length nor how much of it matched shows in the response time.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface NamedToken {
  name: string;
  value: string;
}

/** Returns the name of the token the `Authorization` header carries, or undefined. */
export function bearerAuthenticator(tokens: readonly NamedToken[]): (authorization: string | undefined) => string | undefined {
  const known = tokens.map((t) => ({ name: t.name, digest: digest(t.value) }));
  return (authorization) => {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = digest(match[1]);
    let name: string | undefined;
    for (const token of known) {
      if (timingSafeEqual(token.digest, presented)) name = token.name;
    }
    return name;
  };
}

/** `alice via github-app` when a caller acts for someone, else the token's name. */
export function actorOf(tokenName: string, onBehalfOf: string | undefined): string {
  return onBehalfOf ? `${onBehalfOf} via ${tokenName}` : tokenName;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
