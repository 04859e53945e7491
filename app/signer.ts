// HMAC signatures the App puts on what it stores outside itself (its sticky comments, the identity of
// the deploys it submits), with a key derived from the webhook secret for one purpose: every instance
// of the App can check them, no runner, repository or other tenant can make them.
import { createHmac, timingSafeEqual } from 'node:crypto';

export class Signer {
  private readonly key: Buffer;

  constructor(secret: string, purpose: string) {
    this.key = createHmac('sha256', secret).update(`schemabot ${purpose}`).digest();
  }

  sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('hex').slice(0, 32);
  }

  verify(text: string, signature: unknown): boolean {
    if (typeof signature !== 'string' || signature.length !== 32) return false;
    return timingSafeEqual(Buffer.from(this.sign(text)), Buffer.from(signature));
  }
}
