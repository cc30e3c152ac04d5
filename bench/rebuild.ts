// Rebuild figures (issue #12): how fast `escrow-agent reconcile-from-nostr` turns an agent's public log back into a
// database. N lifecycles are run by the real decider (src/domain) and published as the agent publishes them (each
// transition described, built and signed; people's listings and actions signed and parsed as the agent parses
// them): 80% approved and paid, 10% refunded after the poster cancels, 5% expired unpaid, 5% disputed and decided
// for the worker. The events go into a local embedded relay over WebSocket; then, timed: the command reads them back
// (fetchAll: every copy's id and signature checked), verifies every task (verifyTask: each event checked again),
// rebuilds it and writes it into an empty SQLite (--execute). Events per second = events read / total time. Then the
// same from a backup file of those events. Each run is a process of its own: its peak RSS is the command's.
//
//   npx tsx bench/rebuild.ts [--lifecycles N]   (default 10 000; adds "rebuild" to bench/latest.json)
//   npm run bench                               (1 000 with --quick)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { getPublicKey, type NostrEvent } from 'nostr-tools/pure';
import {
  exampleInvoice,
  exampleNodeKey,
  hashHex,
  payoutInvoice,
  preimage,
} from '../scripts/examples/fixtures.ts';
import { loadConfig } from '../src/agent/config.ts';
import { runReconcile } from '../src/cli/commands/reconcile-from-nostr.ts';
// Signed with libsecp256k1 in WebAssembly, as the agent signs (nostr-tools' pure JS took 6 minutes for 100,000).
import { finalizeEvent, verifySchnorr } from '../src/crypto/schnorr.ts';
import { requiredFinalCltv } from '../src/domain/deadlines.ts';
import { decide } from '../src/domain/decide.ts';
import { evolve } from '../src/domain/evolve.ts';
import { RULEBOOK_VERSION } from '../src/domain/rulebook.ts';
import type { Command, Policy, Task, TaskEvent } from '../src/domain/types.ts';
import { type ActionInput, buildAction } from '../src/protocol/build-action.ts';
import { buildAnnouncement } from '../src/protocol/build-announcement.ts';
import { buildListing } from '../src/protocol/build-listing.ts';
import { buildTransition } from '../src/protocol/build-transition.ts';
import { describeTransition } from '../src/protocol/describe-transition.ts';
import { parseAction } from '../src/protocol/parse-action.ts';
import { parseTaskListing } from '../src/protocol/parse-task-listing.ts';
import { useSchnorrVerifier } from '../src/protocol/verify-event.ts';
import { connectRawClient, startTestRelay, type TestRelay } from '../test/fakes/relay.ts';

const seed = (label: string) => new Uint8Array(Buffer.from(preimage(`bench rebuild ${label}`), 'hex'));
const KEYS = {
  agent: seed('agent'),
  poster: seed('poster'),
  worker: seed('worker'),
  arbitrator: seed('arbitrator'),
};
const AGENT = getPublicKey(KEYS.agent);
const AMOUNT = 21_000_000n;
const T0 = 1_700_000_000;

const POLICY: Policy = {
  minAmountMsat: 1_000_000n,
  maxAmountMsat: 10_000_000_000n,
  fee: { baseMsat: 1_000n, ppm: 5_000 },
  windows: { claimSeconds: 7_200, workSeconds: 28_800, reviewSeconds: 21_600, disputeSeconds: 14_400 },
  safetyMarginBlocks: 16,
  backendAutoCancelBlocks: 21,
  maxFinalCltvDelta: 1_001,
  invoiceExpirySeconds: 3_600,
  arbitrators: [getPublicKey(KEYS.arbitrator)],
  disputeDeadlineRule: 'refund',
  maxHoldSeconds: 86_400,
  maxStatementLength: 4_000,
  custodyMaxSeconds: 604_800,
  maxPayoutAttempts: 3,
  maxTitleLength: 200,
  // The example agent node, which signs the hold invoices below.
  lightningNodeId: Buffer.from(secp256k1.getPublicKey(exampleNodeKey('agent'), true)).toString('hex'),
};

type Kind = 'paid' | 'refunded' | 'expired' | 'disputed';

/** One task as the decider left it, with the domain events it folded (what the live agent's store holds). */
export interface DecidedTask {
  task: Task;
  events: TaskEvent[];
}

/** One task run by the decider, its events signed as the agent and the people sign them. */
async function lifecycle(index: number, kind: Kind, out: NostrEvent[]): Promise<DecidedTask> {
  const domain: TaskEvent[] = [];
  let now = T0 + index * 120;
  let height = 100_000;
  let task: Task | null = null;
  let prev: string | null = null;
  let prevAt = 0;
  const listing = finalizeEvent(
    buildListing({
      d: `bench-${index}`,
      title: `Bench task ${index}`,
      amountMsat: AMOUNT,
      agent: AGENT,
      windows: {},
      content: 'bench',
      createdAt: now,
    }),
    KEYS.poster,
  );
  out.push(listing);
  const escrow = preimage(`bench escrow ${index}`);

  const apply = async (command: Command, cause: NostrEvent | null = null) => {
    now += 1;
    const decision = decide(task, command, { now, height, policy: POLICY });
    if (!decision.ok) throw new Error(`${kind} ${index}: ${decision.rejection.message}`);
    for (const event of decision.events) {
      domain.push(event);
      const before = task;
      task = evolve(before, event);
      const body = await describeTransition(before, task, event, {
        policy: POLICY,
        height,
        listing: () => listing,
        preimage: async () => escrow,
      });
      if (body === null) continue;
      const createdAt = Math.max(now, prevAt + 1);
      const signed = finalizeEvent(
        buildTransition({
          ...body,
          taskId: listing.id,
          prev,
          cause: cause?.id ?? null,
          poster: task.poster,
          worker: task.worker,
          createdAt,
        } as Parameters<typeof buildTransition>[0]),
        KEYS.agent,
      );
      out.push(signed);
      prev = signed.id;
      prevAt = createdAt;
    }
  };
  const act = async (secret: Uint8Array, input: Record<string, unknown>) => {
    now += 5;
    const event = finalizeEvent(
      buildAction({ ...input, taskId: listing.id, agent: AGENT, createdAt: now } as ActionInput),
      secret,
    );
    out.push(event);
    const parsed = parseAction(event, { agentPubkey: AGENT });
    if (!parsed.ok) throw new Error(parsed.reason);
    const command = parsed.action.command;
    await apply(command.type === 'verdict' ? { ...command, eventId: event.id } : command, event);
  };

  const posted = parseTaskListing(listing, { agentPubkey: AGENT });
  if (!posted.ok) throw new Error(posted.reason);
  await apply(posted.listing.command, listing);
  const cltv = requiredFinalCltv((task as Task | null)!.windows, POLICY);
  await apply({
    type: 'offer',
    paymentHash: hashHex(escrow),
    bolt11: exampleInvoice({
      node: exampleNodeKey('agent'),
      amountMsat: AMOUNT,
      timestamp: now,
      paymentHash: hashHex(escrow),
      description: `escrow: Bench task ${index}`,
      expirySeconds: POLICY.invoiceExpirySeconds,
      minFinalCltv: cltv,
    }),
    invoiceExpiresAt: now + POLICY.invoiceExpirySeconds,
    finalCltvDelta: cltv,
  });
  if (kind === 'expired') {
    now += POLICY.invoiceExpirySeconds + 10;
    await apply({ type: 'tick' });
    await apply({ type: 'hold_cancelled', paymentHash: hashHex(escrow) });
    return { task: (task as Task | null)!, events: domain };
  }
  now += 30;
  height += 1;
  await apply({
    type: 'hold_accepted',
    paymentHash: hashHex(escrow),
    amountMsat: AMOUNT,
    htlcExpiryHeight: height + cltv + 3,
    claimDeadlineHeight: height + cltv + 3 - POLICY.backendAutoCancelBlocks,
  });
  if (kind === 'refunded') {
    await act(KEYS.poster, { action: 'cancel' });
    await apply({ type: 'hold_cancelled', paymentHash: hashHex(escrow) });
    return { task: (task as Task | null)!, events: domain };
  }
  const fee = (task as Task | null)!.feeMsat;
  const payout = payoutInvoice(`bench ${index}`, 'worker', AMOUNT - fee, now);
  await act(KEYS.worker, { action: 'claim' });
  await act(KEYS.worker, { action: 'submit', delivery: 'done', bolt11: payout.bolt11 });
  if (kind === 'disputed') {
    await act(KEYS.poster, { action: 'dispute', reason: 'Not what I asked for.' });
    await act(KEYS.arbitrator, { action: 'verdict', outcome: 'worker' });
  } else {
    await act(KEYS.poster, { action: 'approve' });
  }
  await apply({ type: 'hold_settled', paymentHash: hashHex(escrow) });
  await apply({
    type: 'payout_start',
    recipient: 'worker',
    bolt11: payout.bolt11,
    paymentHash: payout.paymentHash,
    amountMsat: AMOUNT - fee,
  });
  await apply({
    type: 'payout_succeeded',
    recipient: 'worker',
    routingFeeMsat: 1_000n,
    preimage: payout.proof,
  });
  return { task: (task as Task | null)!, events: domain };
}

function kindOf(index: number): Kind {
  const slot = index % 20;
  return slot === 0 ? 'expired' : slot === 1 ? 'disputed' : slot < 4 ? 'refunded' : 'paid';
}

/** Publishes every event to the relay over one connection, `window` at a time, and checks each OK. */
export async function publishAll(url: string, events: readonly NostrEvent[], window = 200): Promise<void> {
  const client = await connectRawClient(url);
  try {
    for (let start = 0; start < events.length; start += window) {
      const answers = await Promise.all(
        events.slice(start, start + window).map((event) => client.publish(event)),
      );
      const refused = answers.find((answer) => answer[2] !== true);
      if (refused) throw new Error(`the relay refused an event: ${refused[3]}`);
    }
  } finally {
    await client.close();
  }
}

/** A generated history: every event the agent and the people signed, and each task as the decider left it. */
export interface GeneratedHistory {
  /** The agent's pubkey (hex) and secret key (what the operator still has after losing the database). */
  agent: string;
  agentSecretKey: Uint8Array;
  /** The agent's announcement first, then each lifecycle's events in the order they were signed. */
  events: NostrEvent[];
  tasks: DecidedTask[];
  generateMs: number;
}

/** `lifecycles` lifecycles (80% paid, 10% refunded, 5% expired, 5% disputed), run by the decider and signed. */
export async function generateHistory(lifecycles: number): Promise<GeneratedHistory> {
  const started = performance.now();
  const events: NostrEvent[] = [
    finalizeEvent(
      buildAnnouncement(POLICY, { rulesVersion: RULEBOOK_VERSION, createdAt: T0 - 60 }),
      KEYS.agent,
    ),
  ];
  const tasks: DecidedTask[] = [];
  for (let index = 0; index < lifecycles; index++) tasks.push(await lifecycle(index, kindOf(index), events));
  return {
    agent: AGENT,
    agentSecretKey: KEYS.agent,
    events,
    tasks,
    generateMs: performance.now() - started,
  };
}

/** A local relay holding a generated history, published over WebSocket as the agent and the people publish. */
export interface LoadedRelay {
  history: GeneratedHistory;
  relay: TestRelay;
  publishMs: number;
}

/** Generates `lifecycles` lifecycles and publishes them to a new local relay (the caller stops it). */
export async function loadRelay(lifecycles: number): Promise<LoadedRelay> {
  const history = await generateHistory(lifecycles);
  const relay = await startTestRelay({ maxLimit: 5_000 });
  try {
    const started = performance.now();
    await publishAll(relay.url, history.events);
    return { history, relay, publishMs: performance.now() - started };
  } catch (error) {
    await relay.stop();
    throw error;
  }
}

/** What one run of the command in its own process reports (see reconcileChild below). */
interface ChildRun {
  code: number;
  totalMs: number;
  phases: Record<string, number>;
  peakRssMb: number;
  lines: string[];
}

/**
 * Runs reconcile-from-nostr (runReconcile, through tsx) in a process of its own, so that its peak RSS is the
 * command's alone (the generator and the relay stay in this one), into an empty SQLite in `dir`.
 */
async function reconcileInChild(dir: string, relayUrl: string, args: string[]): Promise<ChildRun> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--reconcile-child',
      JSON.stringify({ dir, relayUrl, args }),
    ],
    { env: { ...process.env, AGENT_SECRET_KEY: Buffer.from(KEYS.agent).toString('hex') } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const result = stdout.split('\n').find((line) => line.startsWith('{"code"'));
  if (code !== 0 || !result) throw new Error(`the reconcile child exited ${code}:\n${stdout}\n${stderr}`);
  return JSON.parse(result) as ChildRun;
}

/** In the child: the command, timed by phase, then one JSON line with what it did and the peak RSS. */
async function reconcileChild(job: { dir: string; relayUrl: string; args: string[] }): Promise<void> {
  const config = loadConfig({
    env: {
      AGENT_DATA_DIR: join(job.dir, 'data'),
      DATABASE_URL: `sqlite:${join(job.dir, 'rebuilt.db')}`,
      NOSTR_RELAYS: job.relayUrl,
      EMBEDDED_RELAY: 'off',
      LOG_LEVEL: 'warn',
    },
    cwd: job.dir,
  });
  const phases: Record<string, number> = {};
  const lines: string[] = [];
  const started = performance.now();
  const code = await runReconcile(
    config,
    { out: (line) => lines.push(line), err: (line) => lines.push(line) },
    [...job.args, '--agent', AGENT, '--execute'],
    { progress: null, onPhase: (name, ms) => (phases[name] = ms) },
  );
  const run: ChildRun = {
    code,
    totalMs: performance.now() - started,
    phases,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    lines,
  };
  console.log(JSON.stringify(run));
}

/**
 * Times reconcile-from-nostr --execute into an empty SQLite, each run in a process of its own: from the relay
 * (events per second, the time of each phase summed over the tasks) and from a backup file of the same events (as
 * `escrow-agent backup-events` writes them). With `loaded`, it reads that relay (and leaves it running for the next
 * section); without, it generates and publishes its own, and stops it.
 */
export async function benchRebuild(options: { lifecycles: number; loaded?: LoadedRelay }) {
  const loaded = options.loaded ?? (await loadRelay(options.lifecycles));
  const { history, relay } = loaded;
  const events = history.events;
  const dir = mkdtempSync(join(tmpdir(), 'escrow-bench-rebuild-'));
  try {
    const round = (ms: number) => Math.round(ms);
    const checked = (run: ChildRun, from: string) => {
      if (run.code !== 0)
        throw new Error(`reconcile-from-nostr ${from} exited ${run.code}:\n${run.lines.join('\n')}`);
      return Number(/written: (\d+) task/.exec(run.lines.join('\n'))?.[1] ?? Number.NaN);
    };
    mkdirSync(join(dir, 'relay'));
    const fromRelay = await reconcileInChild(join(dir, 'relay'), relay.url, [
      '--from-relays',
      '--relay',
      relay.url,
    ]);
    const written = checked(fromRelay, 'from the relay');

    const backup = join(dir, 'backup.jsonl');
    writeFileSync(backup, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
    mkdirSync(join(dir, 'file'));
    const fromFile = await reconcileInChild(join(dir, 'file'), relay.url, ['--from-file', backup]);
    checked(fromFile, 'from a backup file');
    return {
      lifecycles: history.tasks.length,
      events: events.length,
      tasksWritten: written,
      eventsPerSecond: Math.round(events.length / (fromRelay.totalMs / 1000)),
      tasksPerSecond: Math.round(written / (fromRelay.totalMs / 1000)),
      totalMs: round(fromRelay.totalMs),
      phasesMs: {
        readFromRelay: round(fromRelay.phases.read ?? 0),
        verifyAndRebuild: round(fromRelay.phases.rebuild ?? 0),
        openDatabaseAndNode: round(fromRelay.phases.node ?? 0),
        writeSqlite: round(fromRelay.phases.write ?? 0),
      },
      peakRssMb: fromRelay.peakRssMb,
      fromBackupFile: {
        totalMs: round(fromFile.totalMs),
        readAndVerifyFileMs: round(fromFile.phases.read ?? 0),
        peakRssMb: fromFile.peakRssMb,
      },
      setupMs: { generateAndSign: round(history.generateMs), publishToRelay: round(loaded.publishMs) },
      notes: [
        'each run of the command in a process of its own (runReconcile through tsx): peakRssMb is its own (Node, tsx and the modules alone: about 160 MB, the peak with 30 lifecycles); the relay runs in the bench process',
        'phases are summed over the tasks, which are handled one after the other (verified, rebuilt, written)',
      ],
    };
  } finally {
    if (!options.loaded) await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--reconcile-child');
if (childAt > 0 && process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  useSchnorrVerifier(verifySchnorr); // as the command line's main() does
  await reconcileChild(JSON.parse(process.argv[childAt + 1]!) as Parameters<typeof reconcileChild>[0]);
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const at = process.argv.indexOf('--lifecycles');
  const lifecycles = at > 0 ? Number(process.argv[at + 1]) : 10_000;
  const figures = await benchRebuild({ lifecycles });
  console.log('rebuild:', JSON.stringify(figures, null, 2));
  const file = new URL('./latest.json', import.meta.url);
  const report = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
    : {
        date: new Date().toISOString(),
        node: process.version,
        machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
      };
  report.rebuild = { date: new Date().toISOString(), ...figures };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log('wrote "rebuild" into bench/latest.json');
  process.exit(0);
}
