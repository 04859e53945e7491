// Just enough understanding of a canonical column definition (`varchar(20) CHARACTER SET latin1 …`)
// to judge whether a change can lose data.
import { maskSql } from '../db/sql-text.ts';
export interface ColumnType {
  base: string;
  args: string[];
  unsigned: boolean;
  charset?: string;
  nullable: boolean;
  hasDefault: boolean;
  generated: boolean;
}

export function parseColumnType(definition: string): ColumnType {
  const m = /^([a-z]+)(?:\(((?:'(?:[^']|'')*'|[^)])*)\))?/.exec(definition);
  const base = m?.[1] ?? definition.split(' ')[0];
  const argText = m?.[2] ?? '';
  const args = [...argText.matchAll(/'((?:[^']|'')*)'|([^,]+)/g)].map((a) => (a[1] !== undefined ? a[1].replace(/''/g, "'") : a[2].trim()));
  return {
    base,
    args,
    unsigned: /\bunsigned\b/.test(definition),
    charset: /CHARACTER SET (\w+)/.exec(definition)?.[1],
    nullable: !/\bNOT NULL\b/.test(definition),
    hasDefault: /\bDEFAULT\b/.test(definition) || /\bAUTO_INCREMENT\b/.test(definition),
    generated: /\bGENERATED ALWAYS AS\b|\bAS \(/.test(definition),
  };
}

const INTEGER_RANK: Record<string, number> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, bigint: 5 };
const TEXT_RANK: Record<string, number> = { tinytext: 1, text: 2, mediumtext: 3, longtext: 4 };
const BLOB_RANK: Record<string, number> = { tinyblob: 1, blob: 2, mediumblob: 3, longblob: 4 };

export const INTEGER_MAX: Record<string, [bigint, bigint]> = {
  tinyint: [127n, 255n], smallint: [32767n, 65535n], mediumint: [8388607n, 16777215n],
  int: [2147483647n, 4294967295n], bigint: [9223372036854775807n, 18446744073709551615n],
};

/** Character sets that hold every character; anything else loses some of what these store. */
const FULL_UNICODE = new Set(['utf8mb4', 'utf16', 'utf16le', 'utf32', 'ucs2']);

/** Why `after` may not hold every value of `before`, or undefined when it can. */
export function narrowing(before: ColumnType, after: ColumnType): string | undefined {
  const b = before.base;
  const a = after.base;
  if (before.charset && after.charset && before.charset !== after.charset && !FULL_UNICODE.has(after.charset)) {
    return `character set ${before.charset} → ${after.charset} cannot store every character`;
  }
  for (const ranks of [INTEGER_RANK, TEXT_RANK, BLOB_RANK]) {
    if (b in ranks && a in ranks) {
      if (ranks[a] < ranks[b]) return `${b} → ${a} holds a smaller range`;
      if (ranks === INTEGER_RANK && !before.unsigned && after.unsigned) return 'signed → unsigned cannot hold negative values';
      // unsigned → signed only fits into a larger type
      if (ranks === INTEGER_RANK && before.unsigned && !after.unsigned && ranks[a] === ranks[b]) return 'unsigned → signed halves the range';
      return undefined;
    }
  }
  const CHARS = ['varchar', 'char', 'varbinary', 'binary', 'bit'];
  if (CHARS.includes(b) && CHARS.includes(a) && Number(after.args[0] ?? 1) < Number(before.args[0] ?? 1)) {
    return `${b}(${before.args[0] ?? 1}) → ${a}(${after.args[0] ?? 1}) truncates longer values`;
  }
  if (b === 'decimal' && a === 'decimal') {
    const [bp, bs] = before.args.map(Number);
    const [ap, as] = after.args.map(Number);
    if (as < bs) return `decimal scale ${bs} → ${as} rounds values`;
    if (ap - as < bp - bs) return `decimal(${bp},${bs}) → decimal(${ap},${as}) holds fewer integer digits`;
    if (!before.unsigned && after.unsigned) return 'signed → unsigned cannot hold negative values';
    return undefined;
  }
  if (['datetime', 'timestamp', 'time'].includes(b) && a === b && Number(after.args[0] ?? 0) < Number(before.args[0] ?? 0)) {
    return `fractional seconds ${before.args[0]} → ${after.args[0] ?? 0} rounds values`;
  }
  if (b === 'double' && a === 'float') return 'double → float loses precision';
  if (b === 'datetime' && a === 'timestamp') return 'datetime → timestamp holds only 1970-01-01 00:00:01 … 2038-01-19 03:14:07 UTC';
  if (['datetime', 'timestamp'].includes(b) && a === 'date') return `${b} → date drops the time of day`;
  // TIMESTAMP → DATETIME holds every value: what changes is time-zone semantics (timeZoneChange).
  if ((b === 'timestamp' && a === 'datetime') || (b === 'date' && ['datetime', 'timestamp'].includes(a))) {
    return Number(after.args[0] ?? 0) < Number(before.args[0] ?? 0) ? `fractional seconds ${before.args[0]} → ${after.args[0] ?? 0} rounds values` : undefined;
  }
  if ((b === 'enum' || b === 'set') && a === b) return undefined;
  if (a !== b && !(b === 'varchar' && ['text', 'mediumtext', 'longtext'].includes(a)) && !(CHARS.includes(b) && CHARS.includes(a))
    && !(b === 'float' && a === 'double')) {
    return `${b} → ${a} converts every value`;
  }
  return undefined;
}

/**
 * A column definition's data type, character set and collation, without nullability, default,
 * comment or generation: what the server refuses to change on a column of a foreign key.
 */
export function columnTypeText(definition: string): string {
  const masked = maskSql(definition);
  const end = masked.search(/ (?:NOT NULL|NULL|DEFAULT|COMMENT|GENERATED|AUTO_INCREMENT|ON UPDATE|INVISIBLE|CHECK|AS \()\b/);
  return (end < 0 ? definition : definition.slice(0, end)).trim();
}

/** TIMESTAMP ↔ DATETIME: the same instants, read differently (UTC converted per session vs. wall-clock text). */
export function timeZoneChange(before: ColumnType, after: ColumnType): string | undefined {
  if (before.base === 'timestamp' && after.base === 'datetime') {
    return 'TIMESTAMP → DATETIME changes time-zone semantics: TIMESTAMP stores an instant and shows it in each session\'s time_zone; '
      + 'DATETIME stores wall-clock text. The copy writes each value as it reads in UTC (the migration\'s session time zone), so '
      + 'sessions in another time zone see the values shift, and later writes are no longer converted.';
  }
  if (before.base === 'datetime' && after.base === 'timestamp') {
    return 'DATETIME → TIMESTAMP changes time-zone semantics: values are taken as UTC wall-clock times (the migration\'s session '
      + 'time zone) and from then on shown in each session\'s time_zone.';
  }
  return undefined;
}
