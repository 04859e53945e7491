// The one place where errors become HTTP responses: the service's BadInput / NotFound / WrongState,
// request validation and parsing failures, a missing or wrong token. Anything else is a 500 whose
// body says nothing about the cause (the server logs it, scrubbed of secrets).
import { BadInput, NotFound, WrongState } from '../queue/deploy-model.ts';

/** No token, or one the runner does not know: HTTP 401. */
export class Unauthorized extends Error {
  override name = 'Unauthorized';
}

/** A known token without the scope the route needs: HTTP 403. */
export class Forbidden extends Error {
  override name = 'Forbidden';
}

export interface HttpError {
  status: number;
  body: { error: { code: string; message: string; state?: string } };
}

const CLIENT_ERROR_CODES: Record<number, string> = {
  400: 'bad-input', 404: 'not-found', 413: 'too-large', 415: 'unsupported-media-type',
};

export function toHttpError(err: unknown): HttpError {
  if (err instanceof BadInput) return reply(400, 'bad-input', err.message);
  if (err instanceof NotFound) return reply(404, 'not-found', err.message);
  if (err instanceof WrongState) return { status: 409, body: { error: { code: 'wrong-state', message: err.message, state: err.current } } };
  if (err instanceof Unauthorized) return reply(401, 'unauthorized', err.message);
  if (err instanceof Forbidden) return reply(403, 'forbidden', err.message);
  const e = err as { validation?: unknown; statusCode?: number; code?: string; message?: string };
  if (e.validation) return reply(400, 'bad-input', e.message ?? 'invalid request');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own errors carry fixed messages; others (a JSON parser's) may quote the body back.
    const message = e.code?.startsWith('FST_') ? e.message ?? 'bad request' : 'the request body could not be read';
    return reply(e.statusCode, CLIENT_ERROR_CODES[e.statusCode] ?? 'bad-request', message);
  }
  return reply(500, 'internal', 'internal error: the runner logged the details');
}

function reply(status: number, code: string, message: string): HttpError {
  return { status, body: { error: { code, message } } };
}
