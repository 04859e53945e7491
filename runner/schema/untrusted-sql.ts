// What a schema file from a pull request may ask the server to do: define one table, nothing else.
// These checks run on the text before anything reaches a server; the workspace account (whose
// privileges end at the workspace schema) is the second line of defence, not the first.
import { maskSql } from '../db/sql-text.ts';

/**
 * The text as the server reads it: executable comments (`/*!50100 … *\/`, `/*M!100100 … *\/`) are code
 * to MariaDB and MySQL, so their markers are blanked and their content kept. Then comments and string
 * contents are masked (see maskSql). Offsets and newlines are preserved.
 */
export function codeView(text: string): string {
  const unwrapped = text.replace(/\/\*M?!\d*([\s\S]*?)\*\//g, (whole, inner: string) => {
    const opener = whole.length - inner.length - 2;
    return ' '.repeat(opener) + inner + '  ';
  });
  return maskSql(unwrapped);
}

/** Backtick-quoted names blanked too, so that keywords are only found where they are syntax. */
function keywordsOnly(code: string): string {
  return code.replace(/`(?:[^`]|``)*`/g, (quoted) => ' '.repeat(quoted.length));
}

/** Engines that keep their rows in the server's own files; others read files or other servers. */
const LOCAL_ENGINES = new Set(['innodb', 'aria', 'myisam', 'memory', 'heap', 'archive', 'rocksdb', 'columnstore']);

interface Refusal {
  at: number;
  message: string;
}

/** Offset just past the parenthesis that closes the definition list opened after the table name. */
function definitionEnd(code: string, afterName: number): number {
  const open = code.indexOf('(', afterName);
  if (open < 0) return afterName;
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '(') depth++;
    if (code[i] === ')' && --depth === 0) return i + 1;
  }
  return code.length;
}

const PLAIN = 'only a plain CREATE TABLE definition is allowed (no SELECT, VALUES or TABLE, no LIKE another table)';

/**
 * The first construct that makes a CREATE TABLE more than a definition, with its offset in the text:
 * a query (CREATE … SELECT / VALUES / TABLE, LIKE another table), a reference to another schema, or a
 * table option that reaches outside the database (another engine's files or servers, data directories).
 */
export function refuseUntrusted(text: string, code: string, afterName: number): Refusal | undefined {
  const words = keywordsOnly(code);
  const tail = definitionEnd(code, afterName);
  const found: Refusal[] = [];
  const first = (re: RegExp, message: string, from = 0) => {
    const m = re.exec(words.slice(from));
    if (m) found.push({ at: from + m.index, message });
  };
  // VALUES LESS THAN / VALUES IN belong to partition definitions.
  first(/\bSELECT\b|\bVALUES\b(?!\s+(?:LESS\s+THAN|IN)\b)/i, PLAIN);
  first(/\bTABLE\b/i, PLAIN, tail);
  if (/^\s*\(?\s*LIKE\b/i.test(words.slice(afterName))) found.push({ at: afterName, message: PLAIN });
  const qualified = /\bREFERENCES\s+(?:`(?:[^`]|``)*`|[\w$]+)\s*\./i.exec(code);
  if (qualified) found.push({ at: qualified.index, message: 'a foreign key may only reference a table of the same database (no schema-qualified name)' });
  first(/\b(CONNECTION|DATA\s+DIRECTORY|INDEX\s+DIRECTORY|UNION)\b/i,
    'table options that reach outside the database (CONNECTION, DATA/INDEX DIRECTORY, UNION) are not allowed', tail);
  // The engine's name may be bare, quoted or a string: read it from the text itself.
  for (const m of words.slice(tail).matchAll(/\bENGINE\b/gi)) {
    const value = /^\s*=?\s*(?:'((?:[^'\\]|\\.|'')*)'|"((?:[^"\\]|\\.|"")*)"|`((?:[^`]|``)*)`|([\w$]*))/.exec(text.slice(tail + m.index + m[0].length))!;
    const engine = value[1] ?? value[2] ?? value[3] ?? value[4];
    if (!LOCAL_ENGINES.has(engine.toLowerCase())) {
      found.push({ at: tail + m.index, message: `ENGINE=${engine.slice(0, 30)} is not allowed in a schema file: engines other than InnoDB, `
        + 'Aria, MyISAM, MEMORY and ARCHIVE can read files or other servers' });
    }
  }
  return found.sort((a, b) => a.at - b.at)[0];
}

/** Every name the text mentions (bare words and quoted identifiers): what a broken file may stand for. */
export function mentionedNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(/`((?:[^`]|``)+)`|([A-Za-z0-9_$]+)/g)) names.add(m[1] !== undefined ? m[1].replace(/``/g, '`') : m[2]);
  return names;
}

/** 1-based line of an offset. */
export function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}
