// `escrow-agent arbitrators` and `escrow-agent custody` as the operator runs them: the built command
// (bin/escrow-agent.js on dist/) on a temporary data folder with SQLite.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lockDataFolder } from '../../src/agent/data-folder-lock.ts';
import { BIN, cleanEnvironment, ensureBuiltCli } from '../fakes/built-cli.ts';

const STACK_FRAME = /^\s+at /m;
const ALICE = '1f'.repeat(32);
const BOB = '0a'.repeat(32);
const folders: string[] = [];

test.before(() => {
  ensureBuiltCli();
});

test.after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-arbitrators-'));
  folders.push(dir);
  return dir;
}

/** `escrow-agent ARGS` in `dir`, its data folder `dir/data`, nothing else configured. */
function run(dir: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: cleanEnvironment({ AGENT_DATA_DIR: join(dir, 'data') }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.not.match(result.stderr, STACK_FRAME, `no stack trace: ${result.stderr}`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function listJson(dir: string): Array<Record<string, unknown>> {
  const listed = run(dir, 'arbitrators', 'list', '--json');
  assert.is(listed.code, 0, listed.stderr);
  return JSON.parse(listed.stdout);
}

test('add two, list them (text and JSON), remove one: it stays, inactive', () => {
  const dir = folder();
  const alice = run(
    dir,
    'arbitrators',
    'add',
    npubEncode(ALICE),
    '--name',
    'Alice Arbiter',
    '--fee-base-msat',
    '1000',
    '--fee-ppm',
    '5000',
  );
  assert.is(alice.code, 0, alice.stderr);
  assert.match(
    alice.stdout,
    `added arbitrator ${npubEncode(ALICE)} (Alice Arbiter), fee 1000 msat + 5000 ppm, active`,
  );
  assert.match(alice.stdout, 'the running agent announces the change at its next start');
  const bob = run(dir, 'arbitrators', 'add', BOB, '--name=Bob');
  assert.is(bob.code, 0, bob.stderr);
  assert.match(bob.stdout, `added arbitrator ${npubEncode(BOB)} (Bob), fee 0 msat + 0 ppm, active`);

  const text = run(dir, 'arbitrators', 'list');
  assert.is(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^NPUB\s+NAME\s+FEE\s+ACTIVE\s+SOURCE$/);
  assert.match(lines[1] ?? '', new RegExp(`^${npubEncode(BOB)}\\s+Bob\\s+0 msat \\+ 0 ppm\\s+yes\\s+cli$`));
  assert.match(
    lines[2] ?? '',
    new RegExp(`^${npubEncode(ALICE)}\\s+Alice Arbiter\\s+1000 msat \\+ 5000 ppm\\s+yes\\s+cli$`),
  );
  assert.is(lines[3], '2 active, 0 inactive');

  const listed = listJson(dir);
  assert.equal(
    listed.map(({ createdAt, updatedAt, ...row }) => {
      assert.ok(Number.isSafeInteger(createdAt) && createdAt === updatedAt);
      return row;
    }),
    [
      {
        pubkey: BOB,
        npub: npubEncode(BOB),
        name: 'Bob',
        feeBaseMsat: '0',
        feePpm: 0,
        active: true,
        source: 'cli',
      },
      {
        pubkey: ALICE,
        npub: npubEncode(ALICE),
        name: 'Alice Arbiter',
        feeBaseMsat: '1000',
        feePpm: 5000,
        active: true,
        source: 'cli',
      },
    ],
  );

  const removed = run(dir, 'arbitrators', 'remove', npubEncode(ALICE));
  assert.is(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, `deactivated arbitrator ${npubEncode(ALICE)} (Alice Arbiter)`);
  assert.match(removed.stdout, 'tasks already offered keep their arbitrators');
  assert.match(removed.stdout, 'the running agent announces the change at its next start');
  const again = run(dir, 'arbitrators', 'remove', ALICE);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, 'was already inactive: nothing changed');

  const after = run(dir, 'arbitrators', 'list');
  assert.match(
    after.stdout,
    new RegExp(`${npubEncode(ALICE)}\\s+Alice Arbiter\\s+1000 msat \\+ 5000 ppm\\s+no\\s+cli`),
  );
  assert.match(after.stdout, '1 active, 1 inactive');
  assert.equal(
    listJson(dir).map((row) => [row.pubkey, row.active]),
    [
      [BOB, true],
      [ALICE, false],
    ],
  );

  // Adding again reactivates.
  const back = run(
    dir,
    'arbitrators',
    'add',
    ALICE,
    '--name',
    'Alice Arbiter',
    '--fee-base-msat',
    '1000',
    '--fee-ppm',
    '5000',
  );
  assert.is(back.code, 0, back.stderr);
  assert.match(back.stdout, `reactivated arbitrator ${npubEncode(ALICE)}`);
});

test('bad input is refused with what to change (exit 2), and nothing changes', () => {
  const dir = folder();
  assert.is(run(dir, 'arbitrators', 'add', BOB, '--name', 'Bob').code, 0);
  const before = listJson(dir);
  const cases: Array<[string[], string]> = [
    [
      ['arbitrators', 'add', 'npub1notakey', '--name', 'X'],
      'not an npub or 64-character hex pubkey: "npub1notakey"',
    ],
    [['arbitrators', 'add', 'AB'.repeat(32), '--name', 'X'], 'not an npub or 64-character hex pubkey'],
    [['arbitrators', 'add', ALICE], 'give the arbitrator a name with --name NAME'],
    [
      ['arbitrators', 'add', ALICE, '--name', 'X', '--fee-ppm', '1000001'],
      '--fee-ppm must be a whole number',
    ],
    [
      ['arbitrators', 'add', ALICE, '--name', 'X', '--fee-base-msat', '1e3'],
      '--fee-base-msat must be a whole number',
    ],
    [['arbitrators', 'add', ALICE, '--name', 'X'.repeat(65)], 'give at most 64'],
    [['arbitrators', 'remove', 'nobody'], 'not an npub or 64-character hex pubkey: "nobody"'],
    [['arbitrators', 'remove', ALICE], `no arbitrator ${npubEncode(ALICE)} in the database`],
    [['arbitrators', 'remove', BOB, '--name', 'X'], 'takes only the pubkey'],
    [['arbitrators', 'frobnicate'], 'unknown action "frobnicate"'],
    [['arbitrators'], 'say what to do: add, remove or list'],
    [['arbitrators', 'add', ALICE, '--name', 'X', '--json'], '--json is for `arbitrators list`'],
    [['start', '--json'], 'start takes no --json option'],
    [['custody', '--name', 'X'], 'custody takes no --name option'],
  ];
  for (const [args, says] of cases) {
    const refused = run(dir, ...args);
    assert.is(refused.code, 2, `${args.join(' ')}: ${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, says, args.join(' '));
  }
  assert.equal(listJson(dir), before, 'nothing changed');
});

test('list and custody on a folder without a database create nothing and say so', () => {
  const dir = folder();
  for (const args of [['arbitrators', 'list'], ['custody']]) {
    const refused = run(dir, ...args);
    assert.is(refused.code, 2, args.join(' '));
    assert.match(refused.stderr, 'no database at');
  }
});

test('custody on an empty store reports nothing held, zero totals and conservation ok (text and JSON)', () => {
  const dir = folder();
  assert.is(run(dir, 'migrate').code, 0);
  const text = run(dir, 'custody');
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, 'no money held for others');
  assert.match(
    text.stdout,
    'totals over 0 task(s): received 0 msat = paid to workers 0 + paid to posters 0 + refunded 0 + fee 0 + held 0 msat',
  );
  assert.match(text.stdout, 'conservation holds');
  const json = run(dir, 'custody', '--json');
  assert.is(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(report.lines, []);
  assert.is(report.heldForOthersMsat, '0');
  assert.is(report.totals.tasks, 0);
  assert.is(report.totals.receivedMsat, '0');
  assert.is(report.conserved, true);
});

test('while the agent holds the data folder, custody and arbitrators say to stop it first (exit 2)', async () => {
  const dir = folder();
  assert.is(run(dir, 'migrate').code, 0);
  const lock = await lockDataFolder(join(dir, 'data'));
  try {
    const custody = run(dir, 'custody');
    assert.is(custody.code, 2);
    assert.match(custody.stderr, `the agent (pid ${process.pid}) is running on`);
    assert.match(custody.stderr, 'stop the agent');
    const add = run(dir, 'arbitrators', 'add', ALICE, '--name', 'Alice');
    assert.is(add.code, 2);
    assert.match(add.stderr, 'stop the agent');
  } finally {
    lock.release();
  }
  assert.equal(listJson(dir), [], 'the refused add wrote nothing');
});

test.run();
