// The /v1 routes: each validates its input (schemas, the list query), makes one service call and
// returns its result. Errors are thrown, never mapped here: http-server.ts maps them in one place.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CutoverMode, DeployCommand, ExternalPatch, RunnerService } from '../queue/deploy-model.ts';
import { actorOf } from './auth.ts';
import { listFilter } from './list-filter.ts';
import { commandBody, deployParams, externalPatchBody, planBody, submitBody } from './request-schemas.ts';

type Files = Record<string, string>;

interface SubmitBody {
  target: string;
  files: Files;
  clientKey: string;
  cutover?: CutoverMode;
  cutoverAfter?: string;
  external?: Record<string, unknown>;
  actor?: string;
}

const COMMANDS: readonly DeployCommand[] = ['cutover', 'pause', 'resume', 'abort', 'revert'];

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the token the request authenticated with (set by the auth hook). */
    tokenName: string;
  }
}

function actor(request: FastifyRequest, onBehalfOf: string | undefined): string {
  return actorOf(request.tokenName, onBehalfOf);
}

export function registerV1Routes(app: FastifyInstance, service: RunnerService): void {
  app.post<{ Body: { target: string; files: Files; baseFiles?: Files } }>(
    '/v1/plans', { schema: { body: planBody } },
    async (request) => service.plan(request.body),
  );

  app.post<{ Body: SubmitBody }>('/v1/deploys', { schema: { body: submitBody } }, async (request, reply) => {
    const { actor: onBehalfOf, ...rest } = request.body;
    const { deploy, created } = await service.submit({ ...rest, actor: actor(request, onBehalfOf) });
    return reply.code(created ? 201 : 200).send(deploy);
  });

  app.get('/v1/deploys', async (request) => ({ deploys: await service.list(listFilter(request.query as Record<string, unknown>)) }));

  app.get<{ Params: { id: string } }>(
    '/v1/deploys/:id', { schema: { params: deployParams } },
    async (request) => service.get(request.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/deploys/:id/events', { schema: { params: deployParams } },
    async (request) => ({ events: await service.events(request.params.id) }),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/deploys/:id/revert-impact', { schema: { params: deployParams } },
    async (request) => ({ impact: await service.revertImpact(request.params.id) }),
  );

  // 200 with the deploy when the patch applied; 409 with it (as `deploy`) when `expect` did not hold.
  app.patch<{ Params: { id: string }; Body: ExternalPatch }>(
    '/v1/deploys/:id/external', { schema: { params: deployParams, body: externalPatchBody } },
    async (request, reply) => {
      const { applied, deploy } = await service.patchExternal(request.params.id, request.body);
      if (applied) return deploy;
      return reply.code(409).send({ error: { code: 'external-changed', message: 'the deploy\'s external metadata no longer holds the expected values' }, deploy });
    },
  );

  app.get('/v1/targets', async () => ({ targets: service.targets() }));

  for (const command of COMMANDS) {
    app.post<{ Params: { id: string }; Body: { actor?: string } | null | undefined }>(
      `/v1/deploys/:id/${command}`, { schema: { params: deployParams, body: commandBody } },
      async (request) => service.command(request.params.id, command, actor(request, request.body?.actor)),
    );
  }
}
