// The HTTP server's logger (fastify's bundled pino): JSON lines, the Authorization header redacted,
// and every configured secret (tokens, database passwords) replaced in each line before it is
// written, whatever part of a request, error or driver message carried it there.
import type { FastifyServerOptions } from 'fastify';

type PinoOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

export interface LogSettings {
  level?: string;
  /** Where lines go; stdout by default. */
  stream?: { write(line: string): void };
  /** Values that must never reach a log line. */
  secrets: readonly string[];
}

export function loggerOptions(settings: LogSettings): PinoOptions {
  const scrub = secretScrubber(settings.secrets);
  return {
    level: settings.level ?? 'info',
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    hooks: { streamWrite: scrub },
    ...(settings.stream ? { stream: settings.stream } : {}),
  };
}

/** Replaces each secret, as written, escaped inside a JSON string or URL-encoded, with `[secret]`. */
function secretScrubber(secrets: readonly string[]): (line: string) => string {
  const forms = [...new Set(secrets.filter(Boolean).flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]))]
    .sort((a, b) => b.length - a.length);
  return (line) => forms.reduce((out, secret) => out.split(secret).join('[secret]'), line);
}
