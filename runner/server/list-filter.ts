// `GET /v1/deploys` query string → ListFilter: `state=a,b`, `target=`, `limit=` and any number of
// `external.<key>=value` pairs (matched against the deploy's `external` object).
import { BadInput, DEPLOY_STATES, type DeployState, type ListFilter } from '../queue/deploy-model.ts';
import { TARGET_NAME } from './config.ts';

const EXTERNAL_KEY = /^external\.([A-Za-z0-9_-]{1,64})$/;
const MAX_LIMIT = 1000;

export function listFilter(query: Record<string, unknown>): ListFilter {
  const filter: ListFilter = {};
  const external: Record<string, string> = {};
  for (const [key, raw] of Object.entries(query)) {
    if (typeof raw !== 'string') throw new BadInput(`query parameter ${key.slice(0, 80)} is given more than once`);
    const externalKey = EXTERNAL_KEY.exec(key)?.[1];
    if (externalKey) external[externalKey] = raw;
    else if (key === 'state') filter.states = states(raw);
    else if (key === 'target') filter.target = targetName(raw);
    else if (key === 'limit') filter.limit = limit(raw);
    else throw new BadInput(`unknown query parameter "${key.slice(0, 80)}": expected state, target, limit or external.<key>`);
  }
  if (Object.keys(external).length > 0) filter.external = external;
  return filter;
}

function states(raw: string): DeployState[] {
  return raw.split(',').map((s) => {
    if (!(DEPLOY_STATES as readonly string[]).includes(s)) {
      throw new BadInput(`state "${s.slice(0, 40)}" is not one of ${DEPLOY_STATES.join(', ')}`);
    }
    return s as DeployState;
  });
}

function targetName(raw: string): string {
  if (!TARGET_NAME.test(raw)) throw new BadInput(`target must match ${TARGET_NAME.source}`);
  return raw;
}

function limit(raw: string): number {
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n < 1 || n > MAX_LIMIT) throw new BadInput(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}
