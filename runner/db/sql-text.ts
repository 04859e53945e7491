// Lexical help for reading SQL text written by people (schema files, ALTER clauses, binlog queries).

/**
 * Blanks comments and the contents of string literals in one pass (so that an apostrophe inside a
 * comment, or a `;` inside a string, is not mistaken for syntax), keeping every offset and newline.
 */
export function maskSql(sql: string): string {
  let out = '';
  let i = 0;
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  while (i < sql.length) {
    const c = sql[i];
    const rest = sql.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^(--(?=\s|$)|#)[^\n]*/.exec(rest)) || (m = /^\/\*[\s\S]*?(\*\/|$)/.exec(rest))) {
      out += blank(m[0]);
    } else if (c === "'" || c === '"') {
      m = new RegExp(`^${c}(?:[^${c}\\\\]|\\\\[\\s\\S]|${c}${c})*(${c}|$)`).exec(rest)!;
      out += c + blank(m[0].slice(1, -1)) + (m[0].length > 1 ? c : '');
    } else if (c === '`') {
      m = /^`(?:[^`]|``)*(`|$)/.exec(rest)!;
      out += m[0];
    } else {
      out += c;
      i++;
      continue;
    }
    i += m[0].length;
  }
  return out;
}
