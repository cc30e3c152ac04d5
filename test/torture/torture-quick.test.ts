// `npm run torture -- --quick` (issue #16): the crash-torture harness with real processes, run as `npm test` runs
// it, on SQLite (one agent) and on PostgreSQL with 2 replicas: a relay and the LDK sandbox behind NIP-47 wallets in
// their own processes, the built `escrow-agent start`, one lifecycle of each kind (paid, silence approves, cancelled
// before and after funding, timed out, disputed both ways), SIGKILLs at random moments and right after every
// approval. The run must exit 0 and its JSON report must show every check passed, kills that happened and restarts
// that came back. The checks themselves are also fed figures and chains that are wrong by one msat or one event, and
// must fail: a harness whose checks cannot fail would prove nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chainsValid,
  type Figures,
  money,
  noDoublePayout,
  noHoldLeft,
  type RelayChains,
  terminalStates,
} from '../../scripts/torture/checks.ts';
import { LIFECYCLE_KINDS, type LifecycleResult } from '../../scripts/torture/lifecycles.ts';
import type { ParsedTransition } from '../../src/protocol/parse-transition.ts';
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
});

// ------------------------------------------------------------------------------------------------ the checks fail

const TASK = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

function transition(
  state: string,
  eventId: string,
  prev: string | null,
  extra: object = {},
): ParsedTransition {
  return {
    state,
    taskId: TASK,
    eventId,
    prev,
    cause: null,
    poster: 'c'.repeat(64),
    worker: null,
    createdAt: 1,
    details:
      state === 'offered' ? { amountMsat: 100_000n, feeMsat: 2_000n, paymentHash: 'e'.repeat(64) } : {},
    ...extra,
  } as unknown as ParsedTransition;
}

const paidChain = [
  transition('offered', '01', null),
  transition('funded', '02', '01'),
  transition('settling', '03', '02'),
  transition('settled', '04', '03'),
  transition('paid', '05', '04'),
];
const chains = (list: ParsedTransition[]): RelayChains => ({ byTask: new Map([[TASK, list]]), events: [] });
const result: LifecycleResult = {
  index: 0,
  kind: 'paid',
  taskId: TASK,
  amountMsat: '100000',
  feeMsat: '2000',
  expected: 'paid',
  ended: 'paid',
  paidHold: true,
  ok: true,
  error: null,
  seconds: 1,
};
const node = (localMsat: bigint, remoteMsat: bigint, pendingHtlcs = 0) => ({
  localMsat: String(localMsat),
  remoteMsat: String(remoteMsat),
  channels: 1,
  usable: 1,
  pendingHtlcs,
});
const before: Figures = { payer: node(1_000_000n, 0n), worker: node(0n, 1_000_000n) };

test('the money check passes to the msat and fails one msat off either way', () => {
  const exact: Figures = { payer: node(900_000n, 0n), worker: node(0n, 902_000n) };
  assert.ok(money([result], chains(paidChain), before, exact).check.ok);
  const payerOff: Figures = { payer: node(899_999n, 0n), worker: node(0n, 902_000n) };
  assert.not.ok(money([result], chains(paidChain), before, payerOff).check.ok);
  const doublePaid: Figures = { payer: node(900_000n, 0n), worker: node(0n, 804_000n) };
  const failed = money([result], chains(paidChain), before, doublePaid).check;
  assert.not.ok(failed.ok);
  assert.match(failed.failures!.join('\n'), "the worker's node received 196000 msat");
});

test('the chain checks fail on a fork, a second paid, a wrong end and a task nobody posted', () => {
  assert.ok(terminalStates([result], chains(paidChain)).ok);
  assert.ok(noDoublePayout(chains(paidChain)).ok);
  const forked = [...paidChain, transition('refunding', '06', '02')];
  const forkCheck = chainsValid([result], chains(forked), 'd'.repeat(64));
  assert.not.ok(forkCheck.ok);
  assert.match(forkCheck.failures!.join('\n'), 'fork: 2 transitions follow 02');
  assert.not.ok(terminalStates([result], chains(forked)).ok, 'two heads: no single end');
  assert.not.ok(noDoublePayout(chains([...paidChain, transition('paid', '07', '05')])).ok);
  assert.not.ok(terminalStates([{ ...result, expected: 'refunded' }], chains(paidChain)).ok);
  const stray: RelayChains = {
    byTask: new Map([
      [TASK, paidChain],
      [OTHER, [transition('offered', '08', null)]],
    ]),
    events: [],
  };
  assert.match(chainsValid([result], stray, 'd'.repeat(64)).failures!.join('\n'), 'no lifecycle posted it');
});

test("the hold check fails on an ACCEPTED hold, a pending HTLC or a finished task's offer still payable", () => {
  const clean: Figures = { ...before, agent: node(0n, 0n), agentHolds: { SETTLED: 1, CANCELED: 2 } };
  assert.ok(noHoldLeft(clean).ok);
  assert.not.ok(noHoldLeft({ ...clean, agentHolds: { ACCEPTED: 1 } }).ok);
  assert.not.ok(noHoldLeft({ ...clean, payer: node(0n, 0n, 1) }).ok);
  const orphan = { ...clean, unfinishedHolds: [{ paymentHash: 'f'.repeat(64), state: 'OPEN' }] };
  assert.ok(noHoldLeft(orphan, chains(paidChain)).ok, 'an OPEN hold no task offered is no money');
  const payable = { ...clean, unfinishedHolds: [{ paymentHash: 'e'.repeat(64), state: 'OPEN' }] };
  assert.match(noHoldLeft(payable, chains(paidChain)).failures!.join('\n'), 'is still OPEN (payable)');
});

test.run();
