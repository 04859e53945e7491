// Predicates over a (possibly composite) key, written as OR-of-ANDs so that both MySQL and MariaDB
// turn them into index ranges (MariaDB does not range-optimise row-constructor comparisons).
import { quoteIdent } from '../db/quote.ts';

export type KeyValues = unknown[];

export interface KeyPredicate {
  sql: string;
  params: unknown[];
}

/** (k1, k2, …) compared with (v1, v2, …): `strict` on leading columns, `last` on the final one. */
function lexicographic(columns: string[], values: KeyValues, strict: '>' | '<', last: '>' | '<=' ): KeyPredicate {
  const ors: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < columns.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${quoteIdent(columns[j])} = ?`);
      params.push(values[j]);
    }
    parts.push(`${quoteIdent(columns[i])} ${i === columns.length - 1 ? last : strict} ?`);
    params.push(values[i]);
    ors.push(parts.length === 1 ? parts[0] : `(${parts.join(' AND ')})`);
  }
  return { sql: ors.length === 1 ? ors[0] : `(${ors.join(' OR ')})`, params };
}

export function keyAfter(columns: string[], values: KeyValues): KeyPredicate {
  return lexicographic(columns, values, '>', '>');
}

export function keyAtMost(columns: string[], values: KeyValues): KeyPredicate {
  return lexicographic(columns, values, '<', '<=');
}

/** The range (lower, upper]; no lower bound for the first chunk. */
export function keyRange(columns: string[], lower: KeyValues | undefined, upper: KeyValues): KeyPredicate {
  const hi = keyAtMost(columns, upper);
  if (!lower) return hi;
  const lo = keyAfter(columns, lower);
  return { sql: `${lo.sql} AND ${hi.sql}`, params: [...lo.params, ...hi.params] };
}

/** Matches any of the given keys. */
export function keyIn(columns: string[], keys: KeyValues[]): KeyPredicate {
  if (columns.length === 1) {
    return { sql: `${quoteIdent(columns[0])} IN (${keys.map(() => '?').join(', ')})`, params: keys.map((k) => k[0]) };
  }
  const one = `(${columns.map((c) => `${quoteIdent(c)} = ?`).join(' AND ')})`;
  return { sql: `(${keys.map(() => one).join(' OR ')})`, params: keys.flat() };
}

export function keyOrder(columns: string[], direction: 'ASC' | 'DESC' = 'ASC'): string {
  return columns.map((c) => `${quoteIdent(c)} ${direction}`).join(', ');
}
