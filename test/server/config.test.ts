// The runner config file: what it produces, and each refusal, whose message names the field and never
// contains a secret, whether the secret sits in the file or in the environment.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, targetNameFor, targetsFromDsn } from '../../runner/server/config.ts';

const TOKEN = 'tok-0123456789abcdef-app';
const OTHER = 'tok-0123456789abcdef-rel';
const PASSWORD = 'pw-Sup3r/S3cret@x:y';
const env = { SB_APP: TOKEN, SB_REL: OTHER, MAIN_PW: PASSWORD };

const GOOD = `
listen: { host: 0.0.0.0, port: 9090 }
tokens: [{ name: github-app, env: SB_APP }, { name: release, env: SB_REL }]
stateSchema: _sb_state
retentionHours: 12
targets:
  main: { dsn: "mysql://schemabot@db1:3307/shop", passwordEnv: MAIN_PW }
  nopass: { dsn: "mysql://root@127.0.0.1/other?socket=/run/mysqld.sock" }
`;

function refusal(text: string, environment: Record<string, string> = env): string {
  try {
    parseConfig(text, environment, 'runner.yml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    for (const secret of [TOKEN, OTHER, PASSWORD, 'inline-secret-value-123', 'pw-in-dsn']) expect(message).not.toContain(secret);
    return message;
  }
  throw new Error('expected a refusal');
}

describe('runner config', () => {
  it('resolves tokens and passwords from the environment', () => {
    const config = parseConfig(GOOD, env);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(config.tokens).toEqual([{ name: 'github-app', value: TOKEN }, { name: 'release', value: OTHER }]);
    expect(config.stateSchema).toBe('_sb_state');
    expect(config.retentionHours).toBe(12);
    expect(config.targets.main).toMatchObject({ host: 'db1', port: 3307, user: 'schemabot', password: PASSWORD, database: 'shop' });
    expect(config.targets.nopass).toMatchObject({ password: '', database: 'other', socketPath: '/run/mysqld.sock' });
  });

  it('gives a token the scopes it lists, and refuses unknown ones', () => {
    const scoped = GOOD.replace('{ name: release, env: SB_REL }', '{ name: release, env: SB_REL, scopes: [read, cutover, read] }');
    expect(parseConfig(scoped, env).tokens).toEqual([{ name: 'github-app', value: TOKEN }, { name: 'release', value: OTHER, scopes: ['read', 'cutover'] }]);
    expect(refusal(GOOD.replace('env: SB_REL }', 'env: SB_REL, scopes: [read, drop-tables] }')))
      .toMatch(/tokens\[1\]\.scopes: "drop-tables" is not a scope \(read, plan, submit, cutover, control, revert, external\)/);
    expect(refusal(GOOD.replace('env: SB_REL }', 'env: SB_REL, scopes: [] }'))).toMatch(/tokens\[1\]\.scopes must list one or more/);
  });

  it('defaults listen to 127.0.0.1:8080 and accepts JSON', () => {
    const config = parseConfig(JSON.stringify({
      tokens: [{ name: 'a', env: 'SB_APP' }], targets: { t1: { dsn: 'mysql://u@h/db' } },
    }), env);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.stateSchema).toBeUndefined();
  });

  it('can skip the tokens for the CLI verbs', () => {
    expect(parseConfig(GOOD, { MAIN_PW: PASSWORD }, 'runner.yml', { withTokens: false }).tokens).toEqual([]);
  });

  const cases: [string, string, RegExp, Record<string, string>?][] = [
    ['inline token', GOOD.replace('env: SB_APP', 'value: inline-secret-value-123'), /tokens\[0\]\.value: a token written in the config file is refused/],
    ['inline password', GOOD.replace('passwordEnv: MAIN_PW', 'password: inline-secret-value-123'), /targets\.main\.password: a password written/],
    ['password inside the DSN', GOOD.replace('schemabot@db1', 'schemabot:pw-in-dsn@db1'), /targets\.main\.dsn contains a password/],
    ['password with @ and / inside the DSN', GOOD.replace('schemabot@db1', 'schemabot:pw-in-dsn/@x@db1'), /targets\.main\.dsn contains a password/],
    ['unset token variable', GOOD.replace('SB_REL', 'SB_MISSING'), /tokens\[1\]\.env: the environment variable SB_MISSING is not set/],
    ['unset password variable', GOOD.replace('MAIN_PW', 'PW_MISSING'), /targets\.main\.passwordEnv: the environment variable PW_MISSING is not set/],
    ['short token', GOOD, /token "github-app" \(\$SB_APP\) is shorter than 16 characters/, { ...env, SB_APP: 'short' }],
    ['shared token value', GOOD.replace('SB_REL', 'SB_APP'), /tokens "github-app" and "release" have the same value/],
    ['duplicate token name', GOOD.replace('name: release', 'name: github-app'), /the name "github-app" is used twice/],
    ['bad target name', GOOD.replace('  main:', '  Main_DB:'), /targets: "Main_DB" is not a valid target name/],
    ['bad DSN', GOOD.replace('mysql://schemabot@db1:3307/shop', 'postgres://schemabot@db1/shop'), /targets\.main\.dsn: invalid DSN scheme/],
    ['DSN without database', GOOD.replace('mysql://schemabot@db1:3307/shop', 'mysql://schemabot@db1:3307'), /targets\.main\.dsn: DSN "mysql:\/\/schemabot@db1:3307" names no database/],
    ['no targets', GOOD.replace(/targets:[\s\S]*/, 'targets: {}'), /targets must name at least one database/],
    ['no tokens', GOOD.replace(/tokens: .*\n/, ''), /tokens must list at least one token/],
    ['unknown key', `${GOOD}\nretention: 3\n`, /runner\.yml: unknown key "retention"/],
    ['bad port', GOOD.replace('port: 9090', 'port: 99999'), /listen\.port must be an integer from 0 to 65535/],
    ['bad state schema', GOOD.replace('_sb_state', 'a;b'), /stateSchema must match/],
  ];
  it.each(cases)('refuses: %s', (_name, text, expected, environment) => {
    expect(refusal(text, environment)).toMatch(expected);
  });

  it('reports a YAML syntax error by position, without quoting the line', () => {
    const message = refusal('tokens: [{ name: a, env: "inline-secret-value-123 }\n');
    expect(message).toMatch(/^runner\.yml: not valid YAML\/JSON \(\w+ at line \d+, column \d+\)$/);
  });

  it('names a --dsn target after its database', () => {
    expect(Object.keys(targetsFromDsn('mysql://root:pw@127.0.0.1:3306/Shop.Prod'))).toEqual(['shop-prod']);
    expect(targetNameFor('_x')).toBe('x');
    expect(targetNameFor('__')).toBe('db');
    expect(targetNameFor('a'.repeat(64))).toHaveLength(40);
  });
});
