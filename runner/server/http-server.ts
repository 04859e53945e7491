// The runner's HTTP server: fastify with JSON everywhere, a bearer token on every route but
// /healthz, wire limits, the /v1 routes, Prometheus /metrics, and the single error mapping point.
import Fastify, { type FastifyInstance } from 'fastify';
import type { RunnerService } from '../queue/deploy-model.ts';
import { bearerAuthenticator, type NamedToken, type Scope } from './auth.ts';
import { Forbidden, toHttpError, Unauthorized } from './errors.ts';
import { loggerOptions, type LogSettings } from './logger.ts';
import type { RunnerMetrics } from './metrics.ts';
import { schemaErrorMessage } from './request-schemas.ts';
import { registerV1Routes } from './v1-routes.ts';

const BODY_LIMIT_BYTES = 2 * 1024 * 1024;

export interface ServerOptions {
  service: RunnerService;
  tokens: readonly NamedToken[];
  metrics: RunnerMetrics;
  log: LogSettings;
}

export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: loggerOptions(options.log),
    bodyLimit: BODY_LIMIT_BYTES,
    // Unknown body fields are refused rather than silently dropped, and nothing is type-coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    schemaErrorFormatter: schemaErrorMessage,
  });
  const authenticate = bearerAuthenticator(options.tokens);

  app.decorateRequest('tokenName', '');
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url === '/healthz') return;
    const caller = authenticate(request.headers.authorization);
    if (!caller) throw new Unauthorized('a valid bearer token is required: Authorization: Bearer <token>');
    const scope = (request.routeOptions.config as { scope?: Scope }).scope;
    if (scope && !caller.scopes.includes(scope)) {
      throw new Forbidden(`token "${caller.name}" may not ${scope} (its scopes: ${caller.scopes.join(', ')})`);
    }
    request.tokenName = caller.name;
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(status).send(body);
  });
  // The path is not echoed: callers do paste secrets into URLs.
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: 'not-found', message: `no such route (${request.method})` } }));

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/metrics', { config: { scope: 'read' } }, async (request, reply) => {
    const text = await options.metrics.scrape(options.service, (target, err) => request.log.error({ err, target }, 'metrics: cannot read the target'));
    return reply.type(options.metrics.registry.contentType).send(text);
  });
  registerV1Routes(app, options.service);
  return app;
}
