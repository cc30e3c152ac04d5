// The command line: help, bad input, and the runbook commands on a real SQLite file.
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSecret } from '../../src/agent/secret-files.ts';
import { main, type Output } from '../../src/cli/cli.ts';
import { fold } from '../../src/domain/evolve.ts';
import { openStore } from '../../src/store/index.ts';
import { HISTORY } from '../fakes/domain.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

async function inFolder(run: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-cli-'));
  const before = process.cwd();
  const saved = { ...process.env };
  for (const key of [
    'DATABASE_URL',
    'NOSTR_RELAYS',
    'LIGHTNING_BACKEND',
    'LIGHTNING_URL',
    'AGENT_DATA_DIR',
    'AGENT_KEY_FILE',
    'ESCROW_CONFIG',
  ]) {
    delete process.env[key];
  }
  process.chdir(dir);
  try {
    await run(dir);
  } finally {
    process.chdir(before);
    process.env = saved;
  }
}

test('help lists every command and exits 0', async () => {
  const io = capture();
  assert.is(await main(['help'], io), 0);
  for (const command of ['start', 'check-config', 'migrate', 'verify-db'])
    assert.match(io.stdout.join('\n'), command);
});

test('no command prints the help and exits 2', async () => {
  const io = capture();
  assert.is(await main([], io), 2);
  assert.match(io.stdout.join('\n'), 'Usage: escrow-agent');
});

test('an unknown command is named, with where to find the list', async () => {
  const io = capture();
  assert.is(await main(['strat'], io), 2);
  assert.match(io.stderr.join('\n'), 'unknown command "strat"; run "escrow-agent help"');
});

test('an unknown option is refused with the usage', async () => {
  const io = capture();
  assert.is(await main(['start', '--confgi', 'x'], io), 2);
  assert.match(io.stderr.join('\n'), "Unknown option '--confgi'");
});

test('a bad configuration stops every command before anything is created, exit 2', () =>
  inFolder(async (dir) => {
    writeFileSync(join(dir, 'escrow-agent.toml'), '[policy]\nfee_ppm = -1\n');
    const io = capture();
    assert.is(await main(['start'], io), 2);
    assert.match(io.stderr.join('\n'), 'policy.fee_ppm: must be a whole number from 0 to 1000000');
    assert.throws(() => statSync(join(dir, 'data')), /ENOENT/);
  }));

test('npm start on the defaults runs relay, LDK sandbox and agent, prints the npub, and stops cleanly on SIGTERM', () =>
  inFolder(async (dir) => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'escrow-agent.js'), 'start'], {
      cwd: dir,
      env: {
        ...process.env,
        EMBEDDED_RELAY: `127.0.0.1:${port}`,
        NOSTR_RELAYS: `ws://127.0.0.1:${port}`,
        LOG_LEVEL: 'warn',
      },
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('next:') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(stdout, /agent: +npub1[0-9a-z]{58}/);
    assert.match(stdout, `relay:     ws://127.0.0.1:${port}`);

    // While it runs, `ln` reaches the sandbox nodes through the control socket.
    const info = capture();
    assert.is(await main(['ln', 'info'], info), 0, info.stderr.join('\n'));
    assert.match(info.stdout.join('\n'), /payer +0[23][0-9a-f]{64} can send \d+ sat/);
    const mined = capture();
    assert.is(await main(['ln', 'mine', '2'], mined), 0);
    assert.match(mined.stdout.join('\n'), /mined 2 block\(s\); height \d+/);
    const invoice = capture();
    assert.is(await main(['ln', 'invoice', '1500', 'a', 'payout'], invoice), 0);
    assert.match(invoice.stdout.join('\n'), /^lnbcrt15u1/);
    const paid = capture();
    assert.is(await main(['ln', 'pay', invoice.stdout[0] ?? ''], paid), 0, paid.stderr.join('\n'));
    assert.match(paid.stdout.join('\n'), /^paid; preimage [0-9a-f]{64}/);
    const bad = capture();
    assert.is(await main(['ln', 'mine', 'lots'], bad), 2);
    assert.match(bad.stderr.join('\n'), 'mine takes a whole number of blocks');

    child.kill('SIGTERM');
    assert.is(await exited, 0, stdout);
    assert.is(statSync(join(dir, 'data', 'preimage.key')).mode & 0o777, 0o600);
    assert.is(statSync(join(dir, 'data', 'agent.key')).mode & 0o777, 0o600);
    assert.is(readSecret(join(dir, 'data', 'preimage.key'), 'preimage key').length, 32);
    assert.ok(statSync(join(dir, 'data', 'escrow.db')).size > 0);
    const stopped = capture();
    assert.is(await main(['ln', 'info'], stopped), 2, 'ln needs a running sandbox');
    assert.match(stopped.stderr.join('\n'), 'no sandbox is running');
  }));

test('start with a production backend that is unreachable or misconfigured stops with what to fix, exit 2', () =>
  inFolder(async () => {
    process.env.EMBEDDED_RELAY = 'off';
    process.env.NOSTR_RELAYS = 'ws://127.0.0.1:9';
    const cases: Array<[Record<string, string>, string]> = [
      [
        { LIGHTNING_BACKEND: 'nwc', LIGHTNING_URL: 'nostr+walletconnect://nope' },
        'lightning (nwc): the NWC connection URI',
      ],
      [{ LIGHTNING_BACKEND: 'lnd' }, 'lightning (lnd): LND socket missing: set LND_SOCKET'],
      [
        { LIGHTNING_BACKEND: 'lnd', LIGHTNING_URL: 'lndconnect://127.0.0.1:9?macaroon=AgEDbG5k' },
        'LND is not reachable',
      ],
    ];
    for (const [env, says] of cases) {
      delete process.env.LIGHTNING_URL;
      Object.assign(process.env, env);
      const io = capture();
      assert.is(await main(['start'], io), 2, io.stderr.join('\n'));
      assert.match(io.stderr.join('\n'), says);
    }
  }));

test('escrow-agent demo runs a whole lifecycle on its own embedded set-up and exits 0 only when the worker was paid', () =>
  inFolder(async (dir) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'escrow-agent.js'), 'demo'], { cwd: dir });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stdout += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.is(code, 0, stdout);
    for (const label of ['offered', 'funded', 'claimed', 'submitted', 'settling', 'settled', 'paid']) {
      assert.match(stdout, new RegExp(`agent +-> ${label} `));
    }
    assert.match(stdout, 'sha256(preimage) = payment hash: yes');
    assert.match(stdout, /worker received (\d+) sat at its node \(owed \1 sat\)/);
  }));

test('a preimage key readable by others is refused with the chmod to run', () =>
  inFolder(async (dir) => {
    assert.is(await main(['migrate'], capture()), 0);
    const keyFile = join(dir, 'data', 'preimage.key');
    const { chmodSync } = await import('node:fs');
    chmodSync(keyFile, 0o644);
    let message = '';
    try {
      await main(['migrate'], capture());
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, `chmod 600 ${keyFile}`);
  }));

test('verify-db passes on an intact database and fails, naming the task and row, on a tampered one', () =>
  inFolder(async (dir) => {
    assert.is(await main(['migrate'], capture()), 0);
    const key = readSecret(join(dir, 'data', 'preimage.key'), 'preimage key');
    const store = await openStore({ url: `sqlite:${join(dir, 'data', 'escrow.db')}`, preimageKey: key });
    const events = HISTORY.paid();
    const task = fold(events);
    assert.ok(task);
    await store.transaction((tx) => tx.tasks.create(task, events));
    await store.close();
    const intact = capture();
    assert.is(await main(['verify-db'], intact), 0, intact.stderr.join('\n'));
    assert.match(
      intact.stdout.join('\n'),
      `1 tasks, ${events.length} audit rows checked: 0 chain problems, 0 money problems`,
    );

    const db = new Database(join(dir, 'data', 'escrow.db'));
    db.prepare("UPDATE audit SET body = replace(body, '21000000', '21000001') WHERE seq = 3").run();
    db.close();
    const tampered = capture();
    assert.is(await main(['verify-db'], tampered), 1);
    assert.match(tampered.stderr.join('\n'), `audit chain of task ${task.id}, row 3: hash_mismatch`);
  }));

test.run();
