// What the App says in a check run when it could not do its job: a broken configuration, a schema
// directory it will not send, or a runner that refused or could not be reached. Anything else is a bug
// and is thrown on (Probot logs it and answers the delivery with 500).
import { RunnerError } from '../runner/client/runner-client.ts';
import { md } from './markdown.ts';
import { ConfigError } from './repo-config.ts';
import { SchemaDirError } from './repo-files.ts';

export interface FailureOutput {
  title: string;
  summary: string;
}

/**
 * What a runner said, fit for a public check run or comment: its own message, but never its address
 * (the client's messages about reaching it name the internal host and port).
 */
export function runnerMessage(err: RunnerError): string {
  if (err.status === 0) return 'the runner could not be reached';
  return err.message.includes('the runner at ') ? `the runner answered HTTP ${err.status}` : err.message;
}

export function failureOutput(err: unknown, doing: string): FailureOutput {
  if (err instanceof ConfigError) {
    return { title: 'schemabot configuration error', summary: `**.github/schemabot.yml**: ${md(err.message)}\n\nFix the file on the default branch, then re-run this check.` };
  }
  if (err instanceof SchemaDirError) return { title: `Could not ${doing}`, summary: md(err.message) };
  if (err instanceof RunnerError) {
    const title = err.status === 0 ? `Could not ${doing}: the runner is unreachable` : `Could not ${doing}: the runner refused (${err.code})`;
    const retry = err.status === 0 || err.status >= 500 ? '\n\nRe-run this check once the runner is back.' : '';
    return { title, summary: `${md(runnerMessage(err))}${retry}` };
  }
  throw err;
}
