// `npm run torture -- --quick` (issue #16): the crash-torture harness with real processes, run as `npm test` runs
// it, on SQLite (one agent) and on PostgreSQL with 2 replicas: a relay and the LDK sandbox behind NIP-47 wallets in
// their own processes, the built `escrow-agent start`, one lifecycle of each kind (paid, silence approves, cancelled
// before and after funding, timed out, disputed both ways), SIGKILLs at random moments and right after every
// approval. The run must exit 0 and its JSON report must show every check passed, kills that happened and restarts
// that came back (checks.test.ts shows each check fails on wrong figures and chains).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LIFECYCLE_KINDS } from '../../scripts/torture/lifecycles.ts';
import { ensureBuiltCli, ROOT } from '../fakes/built-cli.ts';

const folder = mkdtempSync(join(tmpdir(), 'escrow-torture-test-'));

test.before(() => {
  ensureBuiltCli();
});

test.after(() => {
  rmSync(folder, { recursive: true, force: true });
});

interface Report {
  ok: boolean;
  lifecycles: { total: number; byKind: Record<string, number>; failed: number };
  kills: { total: number; byCause: Record<string, number> };
  restarts: { total: number; neverHealthy: number; list: Array<{ caughtUpMs: number | null }> };
  money: Record<string, { expected: string; measured: string }>;
  checks: Array<{ name: string; ok: boolean; detail: string; failures?: string[] }>;
}

function runTorture(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts/torture/run.ts'), ...args],
      {
        cwd: ROOT,
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

function assertPassed(report: Report, output: string): void {
  for (const check of report.checks) assert.ok(check.ok, `${check.name}: ${check.detail}\n${output}`);
  assert.ok(report.ok, output);
  assert.is(report.lifecycles.total, LIFECYCLE_KINDS.length);
  assert.is(report.lifecycles.failed, 0);
  for (const kind of LIFECYCLE_KINDS) assert.is(report.lifecycles.byKind[kind], 1, `one ${kind} lifecycle`);
  // Every approval (and the verdict that pays) was followed by a kill: the quick run's kill-after-approval is 1.
  assert.ok((report.kills.byCause['kill-after-approval'] ?? 0) >= 1, JSON.stringify(report.kills));
  assert.ok(report.restarts.total >= report.kills.total, JSON.stringify(report.restarts));
  assert.is(report.restarts.neverHealthy, 0);
  const names = report.checks.map((check) => check.name);
  for (const name of [
    'terminal-states',
    'money',
    'no-double-payout',
    'no-hold-left',
    'relay-chains',
    'verify-db',
  ])
    assert.ok(names.includes(name), `the report has the ${name} check`);
  for (const [what, figures] of Object.entries(report.money))
    assert.is(figures.measured, figures.expected, what);
  assert.ok(BigInt(report.money.workerReceivedMsat!.measured) > 0n, 'some task paid the worker');
}

test('--quick on SQLite: one agent killed at random and after approvals, every check passes', async () => {
  const reportFile = join(folder, 'sqlite.json');
  const run = await runTorture(['--quick', '--seed', '16', '--report', reportFile]);
  assert.is(run.code, 0, run.output);
  assertPassed(JSON.parse(readFileSync(reportFile, 'utf8')) as Report, run.output);
});

test('--quick on PostgreSQL with 2 replicas: every check passes', async () => {
  if (!process.env.DATABASE_URL && process.env.TEST_POSTGRES === 'off') {
    console.log('SKIP PostgreSQL: TEST_POSTGRES=off and no DATABASE_URL');
    return;
  }
  const reportFile = join(folder, 'postgres.json');
  const run = await runTorture([
    '--quick',
    '--db',
    'postgres',
    '--replicas',
    '2',
    '--seed',
    '17',
    '--report',
    reportFile,
  ]);
  assert.is(run.code, 0, run.output);
  assertPassed(JSON.parse(readFileSync(reportFile, 'utf8')) as Report, run.output);
});

test('bad input: exit 2 with what to change, nothing started', async () => {
  const run = await runTorture(['--db', 'mysql']);
  assert.is(run.code, 2);
  assert.match(run.output, '--db takes sqlite or postgres');
  const replicas = await runTorture(['--replicas', '2']);
  assert.is(replicas.code, 2);
  assert.match(replicas.output, 'use --db postgres for replicas');
  const kinds = await runTorture(['--kinds', 'paid,refund_twice']);
  assert.is(kinds.code, 2);
  assert.match(kinds.output, '--kinds takes a comma-separated list of paid, review_timeout');
  assert.match(kinds.output, 'not "refund_twice"');
});

test.run();
