// User-controlled text (table names, paths, logins, runner messages) as inert Markdown: no links,
// images, HTML, mentions or table breaks can be smuggled in, and nothing can forge the App's hidden
// comment markers.
const SPECIAL = /[\\`*_{}[\]()#+!|<>~&]/g;

/** Escapes `text` for use inside a Markdown paragraph or table cell, on one line. */
export function md(text: string): string {
  return String(text)
    .replace(/\s+/g, ' ')
    .replace(SPECIAL, (c) => `\\${c}`)
    // A zero-width joiner after @ keeps a login or `@team` from notifying anyone.
    .replace(/@/g, '@\u200d');
}

/** The runner's Markdown, embedded as it is, minus anything that would look like one of our markers. */
export function embedRunnerMarkdown(text: string): string {
  return text.replace(/<!--/g, '&lt;!--');
}

/** Cuts `text` to `limit` characters, ending with `note` (which says where the rest is). */
export function fitWithin(text: string, limit: number, note: string): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, Math.max(0, limit - note.length - 2))}\n\n${note}`;
}
