// What the demo shows of the local GitHub, as a person watching the pull request would see it: every
// state a check run goes through, the moment the App posts it (its status or conclusion, its title,
// its button, and the progress figures of its table), and comments as plain text.
import type { CheckRun, LocalGitHub } from '../../../app/local-github/local-github.ts';

/** Cells of a Markdown table row (an escaped `\|` stays inside its cell). */
const cells = (line: string) => line.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim());

/**
 * The figures of the App's progress table, one entry per table: `users 430,000 / 1,000,000 rows ·
 * 180,000 rows/s · lag 12 ms` (the App's columns `rows copied / total`, `rows/s`, `lag`).
 */
export function progressFigures(summary: string): string[] {
  const rows = summary.split('\n').filter((l) => l.startsWith('|'));
  if (rows.length < 3) return [];
  const header = cells(rows[0]);
  const column = (row: string[], name: string) => {
    const value = row[header.indexOf(name)];
    return value && value !== '–' ? value : undefined;
  };
  return rows.slice(2).map(cells).map((row) => {
    const copied = column(row, 'rows copied / total');
    const rate = column(row, 'rows/s');
    const lag = column(row, 'lag');
    return [plainText(row[0]), copied && `${copied} rows`, rate && `${rate} rows/s`, lag && `lag ${lag}`].filter(Boolean).join(' · ');
  });
}

function checkRunLine(run: CheckRun, entry: CheckRun['history'][number]): string {
  const state = entry.conclusion ?? entry.status;
  const button = entry.conclusion === 'action_required' ? run.actions.map((a) => `  [${a.label}]`).join('') : '';
  const figures = entry.status === 'in_progress' ? progressFigures(entry.summary ?? '').map((f) => `  ${f}`).join('') : '';
  return `${run.name.padEnd(17)} ${state.padEnd(15)} ${plainText(entry.title ?? '')}${button}${figures}`;
}

/**
 * Says one line for each check-run state posted from now on that looks different from the run's
 * previous one (the App also re-posts unchanged states); returns the function that stops watching.
 */
export function watchCheckRuns(github: LocalGitHub, say: (line: string) => void): () => void {
  const seen = new Map<number, number>();
  const lastLine = new Map<number, string>();
  for (const run of github.checkRuns) seen.set(run.id, run.history.length);
  return github.onChange(() => {
    for (const run of github.checkRuns) {
      for (const entry of run.history.slice(seen.get(run.id) ?? 0)) {
        const line = checkRunLine(run, entry);
        if (line !== lastLine.get(run.id)) say(line);
        lastLine.set(run.id, line);
      }
      seen.set(run.id, run.history.length);
    }
  });
}

/**
 * Markdown as a reader sees it on GitHub, in a terminal: hidden markers left out, collapsed
 * `<details>` shown by their summary, tags, bold and escapes undone.
 */
export function plainText(markdown: string): string {
  return markdown
    .replace(/<!--.*?-->\n?/g, '')
    .replace(/<details>\s*<summary>(.*?)<\/summary>[\s\S]*?<\/details>/g, '▸ $1')
    .replace(/<\/?(sub|code|b|strong)>/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/\*\*(.+?)\*\*/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+!|<>~&])/g, '$1')
    .replace(/\u200d/g, '');
}
