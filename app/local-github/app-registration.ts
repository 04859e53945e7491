// The App as GitHub registers it (the manifest flow's answer): its id, the RSA key pair GitHub makes
// (the App signs its JWTs with the private key, GitHub checks them with the public one) and the webhook
// secret both sides sign deliveries with. The local GitHub issues installation tokens only for a JWT
// that passes `verifyAppJwt`.
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';

export interface AppRegistration {
  id: number;
  /** PKCS#8 PEM, what GitHub hands the App's owner once. */
  privateKey: string;
  publicKey: string;
  webhookSecret: string;
}

export function registerApp(id: number, webhookSecret = randomBytes(24).toString('hex')): AppRegistration {
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { id, privateKey: keys.privateKey, publicKey: keys.publicKey, webhookSecret };
}

/** Whether `authorization` is `Bearer <JWT>` signed (RS256) with the App's key, issued by the App and not expired. */
export function verifyAppJwt(app: AppRegistration, authorization: string): boolean {
  const parts = /^bearer (.+)$/i.exec(authorization)?.[1]?.split('.');
  if (!parts || parts.length !== 3) return false;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: unknown };
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { iss?: unknown; exp?: unknown };
    const signed = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), createPublicKey(app.publicKey), Buffer.from(parts[2], 'base64url'));
    return signed && header.alg === 'RS256' && String(claims.iss) === String(app.id) && Number(claims.exp) * 1000 > Date.now();
  } catch {
    return false;
  }
}
