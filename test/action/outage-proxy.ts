// A reverse proxy in front of the runner that a test can take down, like a load balancer whose
// backend is restarting: while down it answers 503 with an HTML page; it counts what it forwarded
// and what it refused, so a test waits on requests rather than on time.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OutageProxy {
  url: string;
  down(): void;
  up(): void;
  /** Resolves once the proxy has forwarded (`forwarded`) or refused (`refused`) at least `count` requests in all. */
  waitFor(kind: 'forwarded' | 'refused', count: number): Promise<void>;
  close(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : undefined;
}

export async function startOutageProxy(target: string): Promise<OutageProxy> {
  let isDown = false;
  const counts = { forwarded: 0, refused: 0 };
  const server = createServer(async (request, response) => {
    const body = await bodyOf(request);
    if (isDown) {
      counts.refused++;
      response.writeHead(503, { 'content-type': 'text/html' }).end('<html>503 Service Unavailable</html>');
      return;
    }
    counts.forwarded++;
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(`${target}${request.url}`, { method: request.method, headers, body });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    down: () => { isDown = true; },
    up: () => { isDown = false; },
    async waitFor(kind, count) {
      while (counts[kind] < count) await new Promise((r) => setTimeout(r, 20));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
