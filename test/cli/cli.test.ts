// The command line: help, bad input, and the runbook commands on a real SQLite file.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSecret } from '../../src/agent/secret-files.ts';
import { main, type Output, reportError } from '../../src/cli/cli.ts';
import { redactSecrets, redactUrl } from '../../src/cli/redact.ts';
import { fold } from '../../src/domain/evolve.ts';
import { openStore } from '../../src/store/index.ts';
import { BIN, cleanEnvironment, ensureBuiltCli, ROOT } from '../fakes/built-cli.ts';
import { HISTORY } from '../fakes/domain.ts';

// The bin runs the compiled CLI in dist/ when it is at least as new as src/ (else the sources through tsx): build
// it first, so the child-process tests below run what `npm start` and `npx escrow-agent` run.
test.before(() => {
  ensureBuiltCli();
});

/** Runs `escrow-agent ARGS` in a fresh empty folder, with only the given configuration variables set. */
function runBin(args: string[], env: Record<string, string> = {}, prepare?: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-bin-'));
  prepare?.(dir);
  const clean = cleanEnvironment();
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { dir, code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const STACK_FRAME = /^\s+at /m;

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
  process.env = cleanEnvironment();
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
        HTTP_PORT: '0',
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

    // The operator's endpoint: /health turns 200 once the relay and the node are reached, /metrics serves the
    // gauges the dashboard reads, /verify.html the verification page.
    const http = stdout.match(/http: +(http:\/\/127\.0\.0\.1:\d+)\/health/)?.[1];
    assert.ok(http, stdout);
    let health = await fetch(`${http}/health`);
    for (let tries = 0; health.status !== 200 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      health = await fetch(`${http}/health`);
    }
    const report = (await health.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    assert.is(health.status, 200, JSON.stringify(report));
    assert.equal(Object.keys(report.checks).sort(), ['audit', 'database', 'intake', 'lightning', 'relays']);
    const metrics = await (await fetch(`${http}/metrics`)).text();
    assert.match(metrics, 'tasks_by_state{state="funded"} 0');
    assert.match(metrics, 'escrow_lightning_node_up 1');
    assert.match(metrics, 'escrow_audit_chain_valid 1');
    assert.match(metrics, `escrow_relay_connected{relay="ws://127.0.0.1:${port}"} 1`);
    const page = await fetch(`${http}/verify.html`);
    assert.is(page.status, 200);
    assert.match(await page.text(), '<html');
    assert.is((await fetch(`${http}/nothing`)).status, 404);
    assert.is((await fetch(`${http}/health`, { method: 'POST' })).status, 405);

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
    const io = capture();
    assert.is(await main(['migrate'], io), 2);
    const message = io.stderr.join('\n');
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

test('the bin runs the compiled CLI once it is built', () => {
  const run = runBin(['help'], { LOG_LEVEL: 'debug' });
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, 'Usage: escrow-agent');
  assert.not.match(run.stderr, 'through tsx');
});

test('start without a relay list: one line that says what to create, exit 2, no stack trace, nothing created', () => {
  const run = runBin(['start']);
  assert.is(run.code, 2, run.stderr);
  assert.is(
    run.stderr,
    `escrow-agent: relay list: ${join(run.dir, 'relays.json')}: cannot read the relay list (ENOENT); create it or set NOSTR_RELAYS\n`,
  );
  assert.not.match(run.stderr, STACK_FRAME);
  assert.throws(() => statSync(join(run.dir, 'data')), /ENOENT/);
});

test('check-config reads the relay list too, and names where it came from', () => {
  const missing = runBin(['check-config']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, 'cannot read the relay list (ENOENT)');
  const ok = runBin(['check-config'], { NOSTR_RELAYS: 'wss://relay.example,wss://relay2.example' });
  assert.is(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    'relays:        wss://relay.example (read+write), wss://relay2.example (read+write) from NOSTR_RELAYS',
  );
});

test('a bad configuration value, from the file or the environment: one line naming the key, exit 2', () => {
  const file = runBin(['check-config'], {}, (dir) =>
    writeFileSync(join(dir, 'escrow-agent.toml'), '[policy]\nfee_ppm = -1\n'),
  );
  assert.is(file.code, 2);
  assert.is(
    file.stderr,
    `escrow-agent: invalid configuration: policy.fee_ppm: must be a whole number from 0 to 1000000 (${join(file.dir, 'escrow-agent.toml')})\n`,
  );
  const variable = runBin(['start'], { LIGHTNING_BACKEND: 'bogus' });
  assert.is(variable.code, 2);
  assert.match(
    variable.stderr,
    /^escrow-agent: invalid configuration: lightning\.backend: must be one of sandbox, nwc, lnd/,
  );
  assert.is(variable.stderr.trim().split('\n').length, 1, variable.stderr);
  const several = runBin(['check-config'], { LOG_LEVEL: 'loud', LIGHTNING_BACKEND: 'bogus' });
  assert.is(several.code, 2);
  assert.match(several.stderr, /^escrow-agent: invalid configuration:\n {2}- /);
  assert.not.match(several.stderr, STACK_FRAME);
});

test('an unreachable database or a refused Lightning URL: what to change, exit 2, and never the secret', () => {
  const database = runBin(['migrate'], { DATABASE_URL: 'postgres://escrow:hunter2@127.0.0.1:9/escrow' });
  assert.is(database.code, 2, database.stderr);
  assert.is(
    database.stderr,
    'escrow-agent: cannot reach PostgreSQL at 127.0.0.1:9/escrow (ECONNREFUSED): start the server, or set database.url (DATABASE_URL) to another database\n',
  );
  const secret = 'c0ffee'.repeat(10) + 'c0ff';
  const lightning = runBin(['start'], {
    EMBEDDED_RELAY: 'off',
    NOSTR_RELAYS: 'ws://127.0.0.1:9',
    LIGHTNING_BACKEND: 'nwc',
    LIGHTNING_URL: `nostr+walletconnect://nope?relay=ws://127.0.0.1:9&secret=${secret}`,
  });
  assert.is(lightning.code, 2, lightning.stderr);
  assert.match(lightning.stderr, /^escrow-agent: lightning \(nwc\): the NWC connection URI/);
  assert.is(lightning.stderr.trim().split('\n').length, 1, lightning.stderr);
  assert.not.match(lightning.stderr + lightning.stdout, secret);
  const folder = runBin(['migrate'], {}, (dir) =>
    mkdirSync(join(dir, 'data', 'escrow.db'), { recursive: true }),
  );
  assert.is(folder.code, 2, folder.stderr);
  assert.match(
    folder.stderr,
    /^escrow-agent: cannot open the SQLite database \S+escrow\.db \(SQLITE_CANTOPEN/,
  );
});

test('a bug (a corrupt sandbox state file) is one line and exit 1; the stack trace only with LOG_LEVEL=debug', () => {
  const corrupt = (dir: string) => {
    mkdirSync(join(dir, 'data', 'sandbox'), { recursive: true });
    writeFileSync(join(dir, 'data', 'sandbox', 'sandbox.json'), '{not json');
  };
  const env = { EMBEDDED_RELAY: 'off', NOSTR_RELAYS: 'ws://127.0.0.1:9' };
  const quiet = runBin(['start'], env, corrupt);
  assert.is(quiet.code, 1, quiet.stderr);
  assert.match(
    quiet.stderr,
    /^escrow-agent: internal error: SyntaxError: .+ \(run with LOG_LEVEL=debug for details\)\n$/,
  );
  assert.not.match(quiet.stderr, STACK_FRAME);
  const debug = runBin(['start'], { ...env, LOG_LEVEL: 'debug' }, corrupt);
  assert.is(debug.code, 1);
  assert.match(debug.stderr, 'escrow-agent: internal error: SyntaxError: ');
  assert.match(debug.stderr, STACK_FRAME);
});

test('error reports mask passwords, NWC secrets, macaroons and nsec keys', () => {
  assert.is(redactUrl('postgres://escrow:hunter2@db:5432/escrow'), 'postgres://escrow:***@db:5432/escrow');
  const text = redactSecrets(
    'postgres://escrow:hunter2@db/escrow nostr+walletconnect://abc?relay=wss://r&secret=deadbeef lndconnect://h:10009?cert=AAA&macaroon=AgED nsec1qqqqqqqqqqqqqqqqqq',
  );
  for (const secret of ['hunter2', 'deadbeef', 'AgED', 'AAA', 'nsec1qqq']) assert.not.match(text, secret);
  assert.match(text, 'postgres://escrow:***@db/escrow');
  const io = capture();
  assert.is(reportError(new Error('boom at postgres://u:hunter2@h/db\nsecond line'), io, false), 1);
  assert.equal(io.stderr, [
    'escrow-agent: internal error: Error: boom at postgres://u:***@h/db (run with LOG_LEVEL=debug for details)',
  ]);
});

test.run();
