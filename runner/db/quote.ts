/** Backtick-quotes an identifier (doubling embedded backticks). */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export function quoteList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ');
}
