/** Backtick-quotes an identifier (doubling embedded backticks). */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export function quoteList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ');
}

/** Regex source for a backtick-quoted identifier (no capture group). */
export const QUOTED_IDENT = '`(?:[^`]|``)+`';
/** Regex source for an identifier, quoted or bare (no capture group). */
export const IDENT = `(?:${QUOTED_IDENT}|[A-Za-z0-9_$]+)`;

/** The name behind a quoted or bare identifier. */
export function unquoteIdent(ident: string): string {
  return ident.startsWith('`') ? ident.slice(1, -1).replace(/``/g, '`') : ident;
}
