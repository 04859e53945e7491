// The App's logger: JSON lines (pino), with every credential taken out of each line before it is
// written, whatever carried it there: GitHub tokens of any length (installation tokens are ~520
// characters), `token …`/`bearer …` headers, JWTs, PEM private keys, and the known secrets (runner
// tokens, the webhook secret) in any encoding.
import pino, { type Logger } from 'pino';

const PATTERNS: [RegExp, string][] = [
  [/\bgh[pousr]_[A-Za-z0-9._-]{16,}/g, '[redacted]'],
  [/\b(token|bearer)(\s+|%20)[A-Za-z0-9._~+/=-]{16,}/gi, '$1 [redacted]'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted]'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----/gs, '[redacted]'],
];

export function credentialScrubber(secrets: readonly string[]): (line: string) => string {
  const forms = [...new Set(secrets.filter((s) => s.length >= 8).flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]))]
    .sort((a, b) => b.length - a.length);
  return (line) => {
    let out = forms.reduce((text, secret) => text.split(secret).join('[secret]'), line);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

export interface AppLogOptions {
  level?: string;
  secrets: readonly string[];
  /** Where lines go; stdout by default. */
  stream?: { write(line: string): void };
}

export function createAppLogger(options: AppLogOptions): Logger {
  const scrub = credentialScrubber(options.secrets);
  const destination = options.stream ?? process.stdout;
  return pino({
    level: options.level ?? 'info',
    name: 'schemabot-app',
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'request.headers.authorization'], censor: '[redacted]' },
  }, { write: (line: string) => destination.write(scrub(line)) });
}
