// escrow-agent config print: every key with its effective value and where it came from (default, file, env, the
// --pretty flag); secrets never printed, in text or JSON; a bad file or variable is refused (exit 2) naming the key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsecEncode } from 'nostr-tools/nip19';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configKeys, ENVIRONMENT_KEYS } from '../../src/agent/config.ts';
import { main, type Output } from '../../src/cli/cli.ts';
import { cleanEnvironment } from '../fakes/built-cli.ts';

const NWC_SECRET = 'c0ffee'.repeat(10) + 'c0ff';
const DB_PASSWORD = 'Hunter2Pa55word';
const MACAROON_HEX = `0201036c6e6402f801030a10${'9a'.repeat(40)}`;
const AGENT_HEX = '7f'.repeat(31) + '01';
const AGENT_NSEC = nsecEncode(Uint8Array.from(Buffer.from(AGENT_HEX, 'hex')));
const RELAY_TOKEN = 'RelayT0kenS3cret';
const SECRETS = [
  NWC_SECRET,
  DB_PASSWORD,
  MACAROON_HEX,
  MACAROON_HEX.slice(12, 40),
  AGENT_HEX,
  AGENT_NSEC,
  RELAY_TOKEN,
];

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

/** Runs `escrow-agent ARGS` in-process in a fresh folder holding `toml` as escrow-agent.toml, with only `env`. */
async function run(args: string[], toml: string | null, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-config-print-'));
  if (toml !== null) writeFileSync(join(dir, 'escrow-agent.toml'), toml);
  const before = process.cwd();
  const saved = { ...process.env };
  process.env = cleanEnvironment(env);
  process.chdir(dir);
  const io = capture();
  try {
    const code = await main(args, io);
    return { dir, code, stdout: io.stdout.join('\n'), stderr: io.stderr.join('\n') };
  } finally {
    process.chdir(before);
    process.env = saved;
  }
}

const TOML = [
  '[agent]',
  'log_level = "debug"',
  'key_file = "keys/agent.key"',
  '[lightning]',
  'backend = "nwc"',
  `url = "nostr+walletconnect://${'3b'.repeat(32)}?relay=ws://127.0.0.1:9&secret=${NWC_SECRET}"`,
  '[policy]',
  'fee_ppm = 2500',
].join('\n');
const ENV = {
  DATABASE_URL: `postgres://escrow:${DB_PASSWORD}@127.0.0.1:5432/escrow`,
  NOSTR_RELAYS: `wss://relay.example/?token=${RELAY_TOKEN}`,
  LND_MACAROON: MACAROON_HEX,
  AGENT_SECRET_KEY: AGENT_NSEC,
};

test('text: every key once, aligned "key = value  # source", with the right source for each origin', async () => {
  const result = await run(['config', 'print'], TOML, ENV);
  assert.is(result.code, 0, result.stderr);
  const file = join(result.dir, 'escrow-agent.toml');
  const lines = result.stdout.split('\n');
  const line = (key: string) => {
    const [section, name] = key.split('.') as [string, string];
    const start = lines.indexOf(`[${section}]`);
    assert.ok(start >= 0, `a [${section}] table`);
    const found = lines.slice(start).find((one) => one.startsWith(`${name} = `));
    assert.ok(found, `a line for ${key}`);
    return found!;
  };
  for (const key of configKeys())
    assert.match(line(key), /^[a-z_]+ = .+ {2}# (default|file \(.+\)|env \([A-Z_]+\))$/);
  assert.match(line('agent.log_level'), new RegExp(`^log_level = "debug" +# file \\(${file}\\)$`));
  assert.match(line('policy.fee_ppm'), `# file (${file})`);
  assert.match(line('policy.fee_ppm'), /^fee_ppm = 2500 /);
  assert.match(
    line('database.url'),
    /^url = "postgres:\/\/escrow:\*\*\*@127\.0\.0\.1:5432\/escrow" +# env \(DATABASE_URL\)$/,
  );
  assert.match(line('nostr.relays'), '# env (NOSTR_RELAYS)');
  assert.match(line('nostr.heads_every'), /^heads_every = 50 +# default$/);
  assert.match(line('agent.data_dir'), `data_dir = "${join(result.dir, 'data')}"`);
  // A key file is a path, shown resolved against the file's folder.
  assert.match(line('agent.key_file'), `key_file = "${join(result.dir, 'keys', 'agent.key')}"`);
  assert.match(line('lightning.url'), 'secret=***');
  assert.match(line('lightning.auto_cancel_blocks'), /^auto_cancel_blocks = 21 +# default$/);
  assert.match(line('nostr.publish_quorum'), /^publish_quorum = \(not set\) +# default$/);
  // The variables outside the keys: named, secrets as ***.
  assert.match(result.stdout, '# AGENT_SECRET_KEY = ***');
  assert.match(result.stdout, '# LND_MACAROON = ***');
  for (const secret of SECRETS) assert.not.ok(result.stdout.includes(secret), `printed a secret: ${secret}`);
  // Aligned: the comments of short lines start in one column.
  const columns = new Set(
    lines.filter((one) => / = /.test(one) && one.indexOf('  # ') < 48).map((one) => one.indexOf('  # ')),
  );
  assert.is(columns.size, 1, `one comment column: ${[...columns].join(', ')}`);
});

test('--json: nested as in the file, each key { value, source }; --pretty shows as the source of log_format', async () => {
  const result = await run(['config', 'print', '--json', '--pretty'], TOML, { ...ENV, LOG_LEVEL: 'warn' });
  assert.is(result.code, 0, result.stderr);
  for (const secret of SECRETS) assert.not.ok(result.stdout.includes(secret), `printed a secret: ${secret}`);
  const document = JSON.parse(result.stdout);
  const file = join(result.dir, 'escrow-agent.toml');
  assert.is(document.file, file);
  for (const key of configKeys()) {
    const [section, name] = key.split('.') as [string, string];
    assert.ok(document.config[section]?.[name], `${key} is in the JSON`);
  }
  assert.equal(
    document.config.agent.log_level,
    { value: 'warn', source: 'env (LOG_LEVEL)' },
    'env wins over the file',
  );
  assert.equal(document.config.agent.log_format, { value: 'pretty', source: 'flag (--pretty)' });
  assert.equal(
    document.config.policy.min_amount_msat,
    { value: '10000', source: 'default' },
    'msat as a string',
  );
  assert.equal(document.config.policy.fee_ppm, { value: 2500, source: `file (${file})` });
  assert.is(document.config.database.url.value, 'postgres://escrow:***@127.0.0.1:5432/escrow');
  assert.equal(document.environment.LND_MACAROON, { value: '***', source: 'env (LND_MACAROON)' });
});

test('no file: every key a default, the file says so', async () => {
  const result = await run(['config', 'print'], null);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, '(no configuration file)');
  const sources = result.stdout.split('\n').filter((one) => / = /.test(one) && !one.startsWith('#'));
  assert.is(sources.length, configKeys().length);
  // The test environment may set a variable of its own (cleanEnvironment): those keys say so.
  const setHere = Object.keys(ENVIRONMENT_KEYS).filter((name) => (cleanEnvironment()[name] ?? '') !== '');
  for (const one of sources) {
    assert.ok(
      one.endsWith('# default') || setHere.some((name) => one.endsWith(`# env (${name})`)),
      `not a default: ${one}`,
    );
  }
  assert.ok(sources.filter((one) => one.endsWith('# default')).length >= sources.length - setHere.length);
});

test('a bad file or variable: exit 2, the key named, nothing printed on stdout', async () => {
  const cases: Array<[string, string | null, Record<string, string>, RegExp]> = [
    [
      'a bad value',
      '[policy]\nfee_ppm = "lots"\n',
      {},
      /policy\.fee_ppm: must be a whole number from 0 to 1000000/,
    ],
    ['an unknown key', '[nostr]\nrelayz = []\n', {}, /nostr: unknown key\(s\) relayz: check the spelling/],
    [
      'a bad variable',
      null,
      { LOG_FORMAT: 'fancy' },
      /agent\.log_format: must be one of auto, json, pretty \(LOG_FORMAT="fancy"\)/,
    ],
    ['bad TOML', '[agent\nlog_level = 1\n', {}, /is not valid TOML at line 1/],
  ];
  for (const [name, toml, env, expected] of cases) {
    const result = await run(['config', 'print'], toml, env);
    assert.is(result.code, 2, `${name}: exit ${result.code}`);
    assert.match(result.stderr, expected, name);
    assert.is(result.stdout, '', `${name}: nothing on stdout`);
  }
  const secretInBadFile = await run(
    ['config', 'print'],
    `[database]\nurl = "mysql://escrow:${DB_PASSWORD}@h/db"\n`,
    {},
  );
  assert.is(secretInBadFile.code, 2);
  assert.match(secretInBadFile.stderr, 'database.url');
  assert.not.ok(secretInBadFile.stderr.includes(DB_PASSWORD), secretInBadFile.stderr);
});

test('config with no subcommand, or another one: exit 2 with the usage', async () => {
  for (const args of [['config'], ['config', 'show']]) {
    const result = await run(args, null);
    assert.is(result.code, 2);
    assert.match(result.stderr, 'usage: escrow-agent config print [--json]');
  }
});

test.run();
