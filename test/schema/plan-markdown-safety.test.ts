// The plan's Markdown is posted as a PR comment by the App and as a job summary by the Action, and
// names, comments and messages in it come from pull-request files: none of them may turn into
// mentions, HTML, images or links, or break out of the SQL block or a code span.
import { describe, expect, it } from 'vitest';
import { inline, renderPlanMarkdown } from '../../runner/schema/render-markdown.ts';
import { withPlanFixture } from '../support/plan-case.ts';

const HOSTILE = '@octocat <img src=x onerror=alert(1)> ![t](https://e.example/p.png) #1';

/** The Markdown a reader sees as formatting: fenced blocks and code spans removed (their content is literal). */
function outsideCode(markdown: string): string {
  return markdown.replace(/^(`{3,})sql\n[\s\S]*?\n\1$/gm, '').replace(/(`+)[\s\S]*?\1/g, '');
}

function expectInert(markdown: string): void {
  const prose = outsideCode(markdown);
  expect(prose).not.toMatch(/(^|[^\\])@octocat/);
  expect(prose).not.toMatch(/(^|[^\\])<img/);
  expect(prose).not.toMatch(/(^|[^\\])!\[/);
  expect(prose).not.toMatch(/(^|[^\\])#1\b/);
}

describe('plan Markdown built from hostile files', () => {
  it('leaves no mention or HTML outside a real code span, whatever backticks a message holds', () => {
    for (const message of ['` @octocat ```: <img src=x>', '\\`@octocat` <img>', '``@octocat`` x', '`a`@octocat`b`', 'ok `name` @octocat']) {
      expectInert(inline(message));
    }
    expect(inline('column `created_at` is too long')).toBe('column `created_at` is too long');
  });

  it('keeps a column comment with backticks inside its SQL block', async () => {
    const desired = `CREATE TABLE notes (\n  id INT PRIMARY KEY,\n  note VARCHAR(10) COMMENT 'x \`\`\`\\n${HOSTILE}'\n)`;
    await withPlanFixture(['CREATE TABLE notes (id INT PRIMARY KEY, note VARCHAR(40))'], { notes: desired }, async (fixture) => {
      const markdown = renderPlanMarkdown(await fixture.plan());
      const fence = /^(`{4,})sql$/m.exec(markdown)?.[1];
      expect(fence, 'a fence longer than the comment\'s backticks').toBeDefined();
      expect(markdown).toContain(HOSTILE);
      expectInert(markdown);
    });
  });

  it('keeps a hostile table name in an error message inert', async () => {
    const name = `we\`\`ird|t ${HOSTILE}`;
    await withPlanFixture([], { x: `CREATE TABLE \`${name}\` (id INT PRIMARY KEY)` }, async (fixture) => {
      const markdown = renderPlanMarkdown(await fixture.plan());
      expect(markdown).toContain('x.sql');
      expectInert(markdown);
    });
  });
});
