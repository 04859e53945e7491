// JSON schemas for the /v1 request bodies and path parameters: the wire limits (file names and
// counts, key lengths, enums) enforced by fastify before a handler runs, so failures come back as
// 400s naming the field (and the file, for a bad file name).
import type { FastifySchemaValidationError } from 'fastify';
import { SCHEMA_FILE_NAME } from '../queue/deploy-model.ts';
import { TARGET_NAME } from './config.ts';

const MAX_FILES = 1000;
const FILE_NAME = SCHEMA_FILE_NAME.source;
const ACTOR = '^[A-Za-z0-9][A-Za-z0-9_.@:\\[\\]-]{0,99}$';

const schemaFiles = {
  type: 'object',
  maxProperties: MAX_FILES,
  propertyNames: { pattern: FILE_NAME },
  additionalProperties: { type: 'string' },
} as const;

const target = { type: 'string', pattern: TARGET_NAME.source } as const;
const actor = { type: 'string', pattern: ACTOR } as const;

export const planBody = {
  type: 'object',
  required: ['target', 'files'],
  additionalProperties: false,
  properties: { target, files: schemaFiles, baseFiles: schemaFiles },
} as const;

export const submitBody = {
  type: 'object',
  required: ['target', 'files', 'clientKey'],
  additionalProperties: false,
  properties: {
    target,
    files: schemaFiles,
    clientKey: { type: 'string', minLength: 1, maxLength: 200 },
    cutover: { type: 'string', enum: ['auto', 'gated'] },
    cutoverAfter: { type: 'string', format: 'date-time' },
    external: { type: 'object' },
    actor,
  },
} as const;

export const commandBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { actor },
} as const;

export const externalPatchBody = {
  type: 'object',
  required: ['set'],
  additionalProperties: false,
  properties: {
    set: { type: 'object', maxProperties: 100, propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' } },
    expect: { type: 'object', maxProperties: 100 },
  },
} as const;

export const deployParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,39}\\.[0-9]{1,18}$' } },
} as const;

/** Fastify's message for a failed schema, except that a bad file name or an unknown field is named. */
export function schemaErrorMessage(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const [first] = errors;
  const field = `${dataVar}${first.instancePath}`;
  const badName = errors.map((e) => (e as { propertyName?: unknown }).propertyName ?? e.params.propertyName)
    .find((name) => typeof name === 'string') as string | undefined;
  if (badName !== undefined) return new Error(`${field}: "${badName.slice(0, 140)}" is not a valid file name (expected ${FILE_NAME})`);
  if (first.keyword === 'additionalProperties') return new Error(`${field}: unknown field "${String(first.params.additionalProperty).slice(0, 80)}"`);
  return new Error(`${field} ${first.message ?? 'is invalid'}`);
}
