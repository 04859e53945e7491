// Test harness for the HTTP API: the real fastify server on port 0 in front of a real DeployService
// (no worker), every log line captured, and a `call` helper that also records each response body.
import type { FastifyInstance } from 'fastify';
import type { ConnectionTarget } from '../../runner/db/dsn.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import type { NamedToken } from '../../runner/server/auth.ts';
import { buildServer } from '../../runner/server/http-server.ts';
import { createMetrics, type RunnerMetrics } from '../../runner/server/metrics.ts';

export interface ApiHarness {
  service: DeployService;
  /** http://127.0.0.1:<port> */
  url: string;
  metrics: RunnerMetrics;
  logs: string[];
  responses: string[];
  call(method: string, path: string, options?: { token?: string | null; body?: unknown; raw?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startApi(options: {
  targets: Record<string, ConnectionTarget>;
  tokens: NamedToken[];
  secrets?: string[];
  stateSchema: string;
}): Promise<ApiHarness> {
  const logs: string[] = [];
  const responses: string[] = [];
  const metrics = createMetrics();
  const service = new DeployService({ targets: options.targets, stateSchema: options.stateSchema, observer: metrics.observer });
  const app: FastifyInstance = buildServer({
    service, tokens: options.tokens, metrics,
    log: { level: 'trace', secrets: options.secrets ?? options.tokens.map((t) => t.value), stream: { write: (line) => logs.push(line) } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const defaultToken = options.tokens[0].value;

  return {
    service, metrics, logs, responses, url: base,
    async call(method, path, { token = defaultToken, body, raw } = {}) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(base + path, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
      const text = await res.text();
      responses.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}`);
      const json = res.headers.get('content-type')?.includes('application/json') ? JSON.parse(text) : text;
      return { status: res.status, body: json, headers: res.headers };
    },
    async close() {
      await app.close();
      await service.stop();
    },
  };
}
