// A long plan in the `schemabot/plan` check run: the summary goes on in the check run's details, so
// the check run holds about twice what the pull request comment does (the comment points to it, and it
// no longer points back); a plan longer than both says where all of it is.
import { describe, expect, it } from 'vitest';
import { CHECK_TEXT_LIMIT, planOutput } from '../../app/plan-check-run.ts';

const planOf = (chars: number) => Array.from({ length: Math.ceil(chars / 50) }, (_, i) => `| \`t${i}\` | ALTER TABLE, instant |`.padEnd(49, ' ')).join('\n').slice(0, chars);

describe('the plan check run', () => {
  it('holds a short plan in its summary', () => {
    expect(planOutput(planOf(1000))).toEqual({ summary: planOf(1000) });
  });

  it('goes on in its details when the summary is full, losing nothing', () => {
    const plan = planOf(100_000);
    const { summary, text } = planOutput(plan);
    expect(summary.length).toBeLessThan(CHECK_TEXT_LIMIT - 200);
    expect(summary.endsWith('\n\n… continued in the details below.')).toBe(true);
    expect(summary.slice(0, -'\n\n… continued in the details below.'.length) + text).toBe(plan);
    expect(summary).not.toContain('pull request comment');
  });

  it('says where all of a plan longer than it holds is', () => {
    const { summary, text } = planOutput(planOf(200_000));
    expect(summary.length + text!.length).toBeLessThan(2 * CHECK_TEXT_LIMIT);
    expect(text!.length).toBeLessThanOrEqual(CHECK_TEXT_LIMIT);
    expect(text).toMatch(/the plan is longer than a check run holds\. `schemabot plan` \(or the Action's plan job summary\) shows all of it\.$/);
  });
});
