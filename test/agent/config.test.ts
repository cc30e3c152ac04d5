// Configuration: defaults, the file, the environment, and a clear message for every bad value.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, fromRaw, loadConfig } from '../../src/agent/config.ts';

const cwd = mkdtempSync(join(tmpdir(), 'escrow-config-'));

function problemsOf(raw: unknown): string[] {
  try {
    fromRaw(raw, 'escrow-agent.toml', cwd);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test('with no file and no environment the agent runs on embedded defaults: sandbox, SQLite in ./data', () => {
  const config = loadConfig({ env: {}, cwd });
  assert.is(config.source, 'defaults');
  assert.is(config.lightning.backend, 'sandbox');
  assert.is(config.databaseUrl, `sqlite:${join(cwd, 'data', 'escrow.db')}`);
  assert.is(config.keyFile, join(cwd, 'data', 'agent.key'));
  assert.is(config.policy.backendAutoCancelBlocks, 21);
  assert.is(config.policy.fee.ppm, 10_000);
  assert.equal(config.policy.rateLimit, { perMinute: 60, burst: 30 }, 'the rate gate the agent always had');
});

test('the per-pubkey rate limit comes from policy.rate_per_minute and policy.rate_burst', () => {
  const config = fromRaw({ policy: { rate_per_minute: 120, rate_burst: 10 } }, 'escrow-agent.toml', cwd);
  assert.equal(config.policy.rateLimit, { perMinute: 120, burst: 10 });
});

test('arbitrators: an npub or hex pubkey, or a table with a name, a fee and an active flag; the policy offers the active ones', () => {
  const secret = generateSecretKey();
  const hex = getPublicKey(secret);
  const other = 'b'.repeat(64);
  const config = fromRaw(
    {
      policy: {
        arbitrators: [
          npubEncode(hex),
          { pubkey: other, name: 'Bea', fee_base_msat: 1000, fee_ppm: 500 },
          { pubkey: 'c'.repeat(64), active: false },
        ],
      },
    },
    'escrow-agent.toml',
    cwd,
  );
  assert.equal(config.arbitrators, [
    { pubkey: hex, name: '', feeBaseMsat: 0n, feePpm: 0, active: true },
    { pubkey: other, name: 'Bea', feeBaseMsat: 1000n, feePpm: 500, active: true },
    { pubkey: 'c'.repeat(64), name: '', feeBaseMsat: 0n, feePpm: 0, active: false },
  ]);
  assert.equal(config.policy.arbitrators, [hex, other]);
});

test('the default windows fill the 24 h maximum hold exactly', () => {
  const { policy } = loadConfig({ env: {}, cwd });
  assert.is(policy.maxHoldSeconds, 86_400);
  const { claimSeconds, workSeconds, reviewSeconds, disputeSeconds } = policy.windows;
  assert.is(claimSeconds + workSeconds + reviewSeconds + disputeSeconds, 86_400);
});

test('what one relay may cost the agent comes from nostr.max_* keys, with bounded defaults', () => {
  assert.equal(loadConfig({ env: {}, cwd }).relayBudgets, {
    maxBufferedEvents: 10_000,
    maxBufferedBytes: 33_554_432,
    maxEventBytes: 262_144,
    maxMessageBytes: 4_194_304,
    maxPagesPerPass: 50,
    maxEventsPerPass: 20_000,
  });
  const config = fromRaw({ nostr: { max_buffered_events: 500, max_pages_per_pass: 5 } }, 'x.toml', cwd);
  assert.is(config.relayBudgets.maxBufferedEvents, 500);
  assert.is(config.relayBudgets.maxPagesPerPass, 5);
});

test('a relay budget out of range, or an event limit above the socket limit, is refused with the fix', () => {
  assert.match(problemsOf({ nostr: { max_buffered_events: 0 } }).join('\n'), /^nostr\.max_buffered_events: /);
  const problems = problemsOf({ nostr: { max_event_bytes: 8_388_608, max_frame_bytes: 1_048_576 } });
  assert.is(problems.length, 1);
  assert.match(
    problems[0]!,
    /nostr\.max_event_bytes: 8388608 is more than nostr\.max_frame_bytes \(1048576\)/,
  );
  assert.match(problems[0]!, /make max_frame_bytes the larger/);
});

test('agent.intake_concurrency: 8 by default, 1..64, anything else refused with the range', () => {
  assert.is(fromRaw({}, 'x.toml', cwd).intakeConcurrency, 8);
  assert.is(fromRaw({ agent: { intake_concurrency: 1 } }, 'x.toml', cwd).intakeConcurrency, 1);
  for (const value of [0, 65, 2.5])
    assert.match(
      problemsOf({ agent: { intake_concurrency: value } }).join('\n'),
      /^agent\.intake_concurrency: must be a whole number from 1 to 64/,
      String(value),
    );
});

test('values come from the TOML file, and the environment overrides them', () => {
  const file = join(cwd, 'custom.toml');
  writeFileSync(
    file,
    [
      '[database]',
      'url = "sqlite:./from-file.db"',
      '[lightning]',
      'backend = "lnd"',
      'url = "127.0.0.1:10009"',
      '[policy]',
      'fee_ppm = 5000',
      'min_amount_msat = 20000',
      'max_amount_msat = "2000000000000000000"',
    ].join('\n'),
  );
  const config = loadConfig({
    file,
    env: {
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/escrow',
      NOSTR_RELAYS: 'ws://127.0.0.1:7000, ws://127.0.0.1:7001',
    },
    cwd,
  });
  assert.is(config.databaseUrl, 'postgres://u:p@127.0.0.1:5432/escrow');
  assert.equal(config.relays, ['ws://127.0.0.1:7000', 'ws://127.0.0.1:7001']);
  assert.is(config.lightning.backend, 'lnd');
  assert.is(config.policy.backendAutoCancelBlocks, 18, 'LND cancels 18 blocks before expiry by default');
  assert.is(config.policy.fee.ppm, 5000);
  assert.is(config.policy.maxAmountMsat, 2_000_000_000_000_000_000n, 'amounts past 2^53 are exact');
});

type BadCase = [name: string, raw: unknown, key: string, says: string];
const badValues: BadCase[] = [
  ['a fee above 100%', { policy: { fee_ppm: 1_000_001 } }, 'policy.fee_ppm', 'from 0 to 1000000'],
  [
    'a fractional window',
    { policy: { work_window_seconds: 3600.5 } },
    'policy.work_window_seconds',
    'whole number from 60',
  ],
  [
    'a negative amount',
    { policy: { min_amount_msat: -5 } },
    'policy.min_amount_msat',
    'whole number of msat',
  ],
  [
    'an amount in the wrong type',
    { policy: { max_amount_msat: true } },
    'policy.max_amount_msat',
    'whole number of msat',
  ],
  ['an unknown backend', { lightning: { backend: 'cln' } }, 'lightning.backend', 'one of sandbox, nwc, lnd'],
  ['a misspelt key', { policy: { fee_pppm: 1 } }, 'policy', 'unknown key(s) fee_pppm'],
  ['an unknown section', { polcy: {} }, '(top level)', 'unknown key(s) polcy'],
  [
    'a database URL of another kind',
    { database: { url: 'mysql://x' } },
    'database.url',
    'sqlite:<path> or postgres://',
  ],
  [
    'an arbitrator that is neither an npub nor hex',
    { policy: { arbitrators: ['npub1xyz'] } },
    'policy.arbitrators.0',
    'npub',
  ],
  [
    'a relay that is not a websocket',
    { nostr: { relays: ['http://127.0.0.1'] } },
    'nostr.relays.0',
    'ws:// or wss://',
  ],
  [
    'a safety margin below 3 blocks',
    { policy: { safety_margin_blocks: 1 } },
    'policy.safety_margin_blocks',
    'from 3 to 144',
  ],
  [
    'a final CLTV above what LND and CLN route',
    { lightning: { max_final_cltv_delta: 5000 } },
    'lightning.max_final_cltv_delta',
    'from 40 to 2016',
  ],
  [
    'windows that outlive the hold',
    { policy: { claim_window_seconds: 30 * 86_400 } },
    'policy.windows',
    'shorten the windows to at most',
  ],
  [
    'a fee that eats the smallest task',
    { policy: { min_amount_msat: 1000, fee_base_msat: 1000 } },
    'policy.min_amount_msat',
    'leaves nothing for the worker',
  ],
  [
    'min above max',
    { policy: { min_amount_msat: 20_000, max_amount_msat: 10_000 } },
    'policy.min_amount_msat',
    'make min <= max',
  ],
  [
    'windows longer than the maximum hold',
    { policy: { max_hold_seconds: 3600 } },
    'policy.max_hold_seconds',
    'shorten the windows or raise max_hold_seconds',
  ],
  [
    'an arbitrator table with an unknown key',
    { policy: { arbitrators: [{ pubkey: 'a'.repeat(64), nmae: 'x' }] } },
    'policy.arbitrators.0',
    'unknown key(s) nmae',
  ],
  [
    'a rate of zero events a minute',
    { policy: { rate_per_minute: 0 } },
    'policy.rate_per_minute',
    'must be a whole number from 1 to 100000',
  ],
  [
    'a fractional burst',
    { policy: { rate_burst: 2.5 } },
    'policy.rate_burst',
    'must be a whole number from 1 to 100000',
  ],
  [
    'an NWC backend without its URI',
    { lightning: { backend: 'nwc' } },
    'lightning.url',
    'needs a nostr+walletconnect:// URI',
  ],
];

for (const [name, raw, key, says] of badValues) {
  test(`refuses ${name}, naming ${key} and what is allowed`, () => {
    const problems = problemsOf(raw);
    assert.ok(
      problems.some((problem) => problem.startsWith(key) && problem.includes(says)),
      `expected "${key}: ...${says}..." in:\n${problems.join('\n')}`,
    );
    assert.ok(
      problems.every((problem) => problem.endsWith('(escrow-agent.toml)')),
      'every problem names the file',
    );
  });
}

test('every problem is reported at once, not only the first', () => {
  assert.is(
    problemsOf({ policy: { fee_ppm: -1, claim_window_seconds: 1 }, lightning: { backend: 'x' } }).length,
    3,
  );
});

test('a file that is not TOML is refused with the file name', () => {
  const file = join(cwd, 'broken.toml');
  writeFileSync(file, '[policy\nfee_ppm = 1');
  assert.throws(
    () => loadConfig({ file, env: {}, cwd }),
    (error: Error) => error.message.includes('broken.toml is not valid TOML'),
  );
});

test('a config file named on the command line must exist', () => {
  assert.throws(() => loadConfig({ file: 'missing.toml', env: {}, cwd }), /missing\.toml does not exist/);
});

test.run();
