// A webhook delivery as GitHub makes it: a JSON POST with the event name, a delivery id, and the body's
// HMAC-SHA256 under the webhook secret in `X-Hub-Signature-256` (no header when `secret` is null).
import { createHmac, randomBytes } from 'node:crypto';

export interface Delivery {
  event: string;
  payload: object;
  /** `X-GitHub-Delivery`; GitHub keeps it when it redelivers. A random one by default. */
  id?: string;
  secret: string | null;
}

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Posts the delivery to `url`; the receiver's HTTP status and body. */
export async function deliverWebhook(url: string, delivery: Delivery): Promise<{ status: number; text: string }> {
  const body = JSON.stringify(delivery.payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json', 'x-github-event': delivery.event, 'x-github-delivery': delivery.id ?? randomBytes(8).toString('hex'),
  };
  if (delivery.secret !== null) headers['x-hub-signature-256'] = webhookSignature(delivery.secret, body);
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}
