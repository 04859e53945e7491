// Random values that fit a column's type, reaching into the awkward corners: extremes, NULLs, zero
// dates, multi-byte text, quotes, zero bytes.
import type { ColumnInfo } from '../../runner/db/table-info.ts';

export type Random = () => number;

/** Deterministic PRNG (mulberry32) so a failing case can be replayed. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
const int = (rnd: Random, min: number, max: number) => min + Math.floor(rnd() * (max - min + 1));

const INT_RANGES: Record<string, [string, string, string]> = {
  tinyint: ['-128', '127', '255'],
  smallint: ['-32768', '32767', '65535'],
  mediumint: ['-8388608', '8388607', '16777215'],
  int: ['-2147483648', '2147483647', '4294967295'],
  bigint: ['-9223372036854775808', '9223372036854775807', '18446744073709551615'],
};

const UNICODE = ['a', 'b', 'Z', ' ', "'", '"', '\\', '%', 'é', 'ß', '€', '中', 'ж', '😀', '🚀'];
const LATIN1 = ['a', 'b', 'Z', ' ', "'", '"', '\\', '%', 'é', 'ß', 'ñ', 'ü'];

function text(rnd: Random, maxChars: number, charset: string | null): string {
  const alphabet = charset === 'utf8mb4' ? UNICODE : charset === 'utf8mb3' || charset === 'utf8' ? UNICODE.slice(0, 13) : LATIN1;
  const length = int(rnd, 0, Math.min(maxChars, 40));
  return Array.from({ length }, () => pick(rnd, alphabet)).join('').replace(/ +$/, '');
}

function quotedValues(columnType: string): string[] {
  const inner = columnType.slice(columnType.indexOf('(') + 1, columnType.lastIndexOf(')'));
  return [...inner.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1].replace(/''/g, "'"));
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function datetime(rnd: Random, minYear: number, maxYear: number, fsp: number): string {
  const base = `${int(rnd, minYear, maxYear)}-${pad2(int(rnd, 1, 12))}-${pad2(int(rnd, 1, 28))} `
    + `${pad2(int(rnd, 0, 23))}:${pad2(int(rnd, 0, 59))}:${pad2(int(rnd, 0, 59))}`;
  return fsp > 0 ? `${base}.${String(int(rnd, 0, 10 ** fsp - 1)).padStart(fsp, '0')}` : base;
}

export function randomValue(col: ColumnInfo, rnd: Random): unknown {
  if (col.nullable && rnd() < 0.15) return null;
  const type = col.dataType;
  const size = Number(/\((\d+)/.exec(col.columnType)?.[1] ?? 0);
  const unsigned = /unsigned/i.test(col.columnType);
  if (type in INT_RANGES || type === 'integer') {
    const [min, max, umax] = INT_RANGES[type === 'integer' ? 'int' : type];
    const dice = rnd();
    if (dice < 0.05) return unsigned ? umax : max;
    if (dice < 0.1) return unsigned ? '0' : min;
    return unsigned ? int(rnd, 0, 100_000) % (Number(umax) + 1) : int(rnd, -50_000, 50_000) % (Number(max) + 1);
  }
  if (type === 'decimal') {
    const [, p, s] = /\((\d+),(\d+)\)/.exec(col.columnType) ?? ['', '10', '0'];
    const intDigits = Number(p) - Number(s);
    const whole = Array.from({ length: int(rnd, 1, Math.max(1, intDigits)) }, () => int(rnd, 0, 9)).join('');
    const frac = Array.from({ length: Number(s) }, () => int(rnd, 0, 9)).join('');
    return `${!unsigned && rnd() < 0.3 ? '-' : ''}${intDigits > 0 ? whole : '0'}${frac ? `.${frac}` : ''}`;
  }
  if (type === 'float') return pick(rnd, [0, -1.5, 3.25, 1.1, 123456.5, -0.001]);
  if (type === 'double') return pick(rnd, [0, -1.5, 0.1, 1e300, -2.2250738585072014e-308, Math.PI, rnd() * 1e6]);
  if (type === 'bit') return int(rnd, 0, 2 ** Math.min(size || 1, 30) - 1);
  if (type === 'char' || type === 'varchar') return text(rnd, size, col.charset);
  if (type.endsWith('text')) return text(rnd, type === 'tinytext' ? 60 : 500, col.charset);
  if (type === 'enum') return pick(rnd, quotedValues(col.columnType));
  if (type === 'set') return quotedValues(col.columnType).filter(() => rnd() < 0.4).join(',');
  if (type === 'json' || (type === 'longtext' && /json/i.test(col.columnType))) {
    return JSON.stringify({ n: int(rnd, -5, 5), s: text(rnd, 5, 'utf8mb4'), a: [1, 2.5, null, true] });
  }
  if (type === 'binary') return Buffer.from(Array.from({ length: size }, () => pick(rnd, [0, 0, 1, 255, int(rnd, 0, 255)])));
  if (type === 'varbinary' || type.endsWith('blob')) {
    return Buffer.from(Array.from({ length: int(rnd, 0, Math.min(size || 64, 64)) }, () => pick(rnd, [0, 255, int(rnd, 0, 255)])));
  }
  const fsp = Number(/\((\d)\)/.exec(col.columnType)?.[1] ?? 0);
  if (type === 'date') return rnd() < 0.05 ? '0000-00-00' : datetime(rnd, 1000, 9999, 0).slice(0, 10);
  if (type === 'datetime') return rnd() < 0.05 ? '0000-00-00 00:00:00' : datetime(rnd, 1000, 9999, fsp);
  if (type === 'timestamp') return datetime(rnd, 1971, 2037, fsp);
  if (type === 'time') return `${pick(rnd, ['-', ''])}${int(rnd, 0, 838)}:${pad2(int(rnd, 0, 59))}:${pad2(int(rnd, 0, 59))}`;
  if (type === 'year') return int(rnd, 1901, 2155);
  throw new Error(`no random value generator for ${col.columnType}`);
}
