// The /v1 routes: each validates its input (schemas, the list query), makes one service call and
// returns its result. Errors are thrown, never mapped here: http-server.ts maps them in one place.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CutoverMode, DeployCommand, ExternalPatch, RunnerService } from '../queue/deploy-model.ts';
import { actorOf, type Scope } from './auth.ts';
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
const COMMAND_SCOPE: Record<DeployCommand, Scope> = {
  cutover: 'cutover', pause: 'control', resume: 'control', abort: 'control', revert: 'revert',
};

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
    '/v1/plans', { schema: { body: planBody }, config: { scope: 'plan' } },
    async (request) => service.plan(request.body),
  );

  app.post<{ Body: SubmitBody }>('/v1/deploys', { schema: { body: submitBody }, config: { scope: 'submit' } }, async (request, reply) => {
    const { actor: onBehalfOf, ...rest } = request.body;
    const { deploy, created } = await service.submit({ ...rest, actor: actor(request, onBehalfOf) });
    return reply.code(created ? 201 : 200).send(deploy);
  });

  app.get('/v1/deploys', { config: { scope: 'read' } }, async (request) => ({ deploys: await service.list(listFilter(request.query as Record<string, unknown>)) }));

  app.get<{ Params: { id: string } }>(
    '/v1/deploys/:id', { schema: { params: deployParams }, config: { scope: 'read' } },
    async (request) => service.get(request.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/deploys/:id/events', { schema: { params: deployParams }, config: { scope: 'read' } },
    async (request) => ({ events: await service.events(request.params.id) }),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/deploys/:id/revert-impact', { schema: { params: deployParams }, config: { scope: 'read' } },
    async (request) => ({ impact: await service.revertImpact(request.params.id) }),
  );

  // 200 with the deploy when the patch applied; 409 with it (as `deploy`) when `expect` did not hold.
  app.patch<{ Params: { id: string }; Body: ExternalPatch }>(
    '/v1/deploys/:id/external', { schema: { params: deployParams, body: externalPatchBody }, config: { scope: 'external' } },
    async (request, reply) => {
      const { applied, deploy } = await service.patchExternal(request.params.id, request.body);
      if (applied) return deploy;
      return reply.code(409).send({ error: { code: 'external-changed', message: 'the deploy\'s external metadata no longer holds the expected values' }, deploy });
    },
  );

  app.get('/v1/targets', { config: { scope: 'read' } }, async () => ({ targets: service.targets() }));

  for (const command of COMMANDS) {
    app.post<{ Params: { id: string }; Body: { actor?: string } | null | undefined }>(
      `/v1/deploys/:id/${command}`, { schema: { params: deployParams, body: commandBody }, config: { scope: COMMAND_SCOPE[command] } },
      async (request) => service.command(request.params.id, command, actor(request, request.body?.actor)),
    );
  }
}
