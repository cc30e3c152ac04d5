// `escrow-agent reconcile-from-nostr`: rebuilds the agent's database from its public log after the database was
// lost (docs/runbooks.md). It reads the agent's signed transitions, the listings and the people's actions from the
// relays (fetchAll) or from a backup file (`escrow-agent backup-events`, one event per line), verifies each task's
// chain, rebuilds each task (src/protocol/rebuild-task.ts), asks the Lightning node about every task that is not
// finished, and says what it would write. With --execute it writes, into the configured database, the finished
// tasks and the unfinished ones that hold no money at the node; each task in its own transaction with its audit
// chain, its published head, its transitions in the outbox (delivered where a relay returned them) and the actions
// it handled (so the agent does not answer them again). A task whose money the node still holds is never written:
// its preimage was only in the lost database. The command says which, and what to do (docs/runbooks.md).
//
// The database must be empty of tasks, or hold only tasks this command wrote that still match the log (a run that
// was interrupted, or stopped by --max-tasks): those are skipped, so running the same command again finishes the
// job. --compare-with DATABASE_URL computes the public projection hash of another (live) database and says whether
// it equals the log's, or lists the tasks that differ and how.
//
// Exit codes: 0 everything on the log is (or, in a dry run, would be) in the database, and any comparison is equal;
// 1 something needs the operator (a task not rebuildable or held back, a comparison that differs, a run stopped by
// --max-tasks); 2 bad input, a database that is not empty, or no relay answered.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { npubEncode } from 'nostr-tools/nip19';
import { pubkeyToHex } from '../../agent/config.ts';
import { connectLightning } from '../../agent/connect-lightning.ts';
import { readIdentity } from '../../agent/identity.ts';
import { createLogger } from '../../agent/logger.ts';
import { openAgentStore } from '../../agent/open-agent-store.ts';
import { loadRelayList, normalizeRelayUrl } from '../../agent/relay-list.ts';
import { formatMsat } from '../../domain/money.ts';
import {
  type PublicTaskProjection,
  publicProjection,
  publicProjectionHash,
  publicTaskHash,
} from '../../domain/public-projection.ts';
import { TASK_STATES, type Task, type TaskState, TERMINAL_STATES } from '../../domain/types.ts';
import type { HoldInvoice, HoldInvoiceBackend } from '../../ldk/port.ts';
import { ANNOUNCEMENT_D, parseAnnouncement } from '../../protocol/build-announcement.ts';
import { KINDS, LABEL_NAMESPACE, REJECTED_LABEL } from '../../protocol/constants.ts';
import {
  isTransitionState,
  type ParsedTransition,
  parseTransition,
} from '../../protocol/parse-transition.ts';
import {
  type RebuildPolicy,
  type RebuiltTask,
  rebuildTaskEvents,
  refusedActionIds,
} from '../../protocol/rebuild-task.ts';
import { type NostrEvent, parseEventJson } from '../../protocol/schemas.ts';
import { verifyEvent } from '../../protocol/verify-event.ts';
import { followChain } from '../../protocol/verify-history.ts';
import { verifyTask } from '../../protocol/verify-task.ts';
import type { EscrowStore, StoreTx } from '../../store/index.ts';
import { openStore } from '../../store/index.ts';
import { CliError } from '../cli-error.ts';
import type { AgentConfig, Output } from '../output.ts';
import { redactSecrets } from '../redact.ts';
import { type FetchAllOptions, type Filter, fetchAll } from '../relay-fetch.ts';

export const RECONCILE_USAGE = `usage: escrow-agent reconcile-from-nostr (--from-relays | --from-file BACKUP.jsonl) --agent NPUB
         [--relay URL ...] [--execute] [--compare-with DATABASE_URL] [--max-tasks N]`;

/** What the command reaches beyond the configuration; tests hand in the parts they run. */
export interface ReconcileIo {
  /** The Lightning node to ask about unfinished tasks (default: the configured backend, connected on first use). */
  lightning?: HoldInvoiceBackend;
  fetch?: FetchAllOptions;
  /** Unix seconds (default: the wall clock). */
  now?: () => number;
  /** Where the progress line goes: a TTY only (default: stderr when it is one). */
  progress?: { write(text: string): unknown } | null;
  /** Told how long each phase took (read, verify and rebuild, node, write): for bench/rebuild.ts. */
  onPhase?: (phase: 'read' | 'rebuild' | 'node' | 'write', milliseconds: number) => void;
}

export async function reconcileFromNostrCommand(
  config: AgentConfig,
  output: Output,
  args: string[],
): Promise<number> {
  return runReconcile(config, output, args, {});
}

interface Options {
  source: { relays: true } | { file: string };
  agent: string;
  relays: string[];
  execute: boolean;
  compareWith: string | null;
  maxTasks: number | null;
}

/** A task as the log tells it, and what becomes of it. */
interface TaskPlan {
  taskId: string;
  /** The verified chain (empty when it does not verify). */
  chain: ParsedTransition[];
  rebuilt: RebuiltTask | null;
  problem: string | null;
  /** In the database already (a resumed run), with the same public projection. */
  present: boolean;
  /** Written with --execute; false: held back (`why` says why and what to do). */
  write: boolean;
  why: string | null;
  /** The node's state of the task's hold, for unfinished tasks. */
  node: string | null;
}

export async function runReconcile(
  config: AgentConfig,
  output: Output,
  args: string[],
  io: ReconcileIo,
): Promise<number> {
  const options = parseOptions(args);
  const now = io.now ?? (() => Math.floor(Date.now() / 1000));
  const progress = io.progress === undefined ? (process.stderr.isTTY ? process.stderr : null) : io.progress;
  checkAgentKey(config, options.agent);

  let phaseStarted = performance.now();
  const phase = (name: Parameters<NonNullable<ReconcileIo['onPhase']>>[0]) => {
    const at = performance.now();
    io.onPhase?.(name, at - phaseStarted);
    phaseStarted = at;
  };

  // ---- the log
  const loaded = 'file' in options.source ? readBackup(options.source.file) : null;
  const relayUrls = 'file' in options.source ? [] : relaysToAsk(config, options.relays);
  const fetched = loaded ? null : await fetchLog(relayUrls, options.agent, io.fetch);
  const events = loaded?.events ?? fetched?.events ?? [];
  output.out(`reconcile-from-nostr: agent ${npubEncode(options.agent)} (${options.agent})`);
  if (loaded) {
    output.out(
      `source: ${'file' in options.source ? options.source.file : ''}: ${loaded.events.length} events${loaded.skipped.length > 0 ? `, ${loaded.skipped.length} lines skipped` : ''}`,
    );
    for (const line of loaded.skipped.slice(0, 5)) output.err(`  skipped ${line}`);
  } else if (fetched) {
    output.out(`source: ${relayUrls.length} relay(s), ${fetched.events.length} events`);
    for (const [url, state] of fetched.perRelay) {
      output.out(
        `  ${url}: ${state.held} events${state.rejected > 0 ? `, ${state.rejected} not genuine (ignored)` : ''}${state.failed ? `; incomplete: ${state.failed}` : ''}`,
      );
    }
    if ([...fetched.perRelay.values()].every((state) => state.failed !== undefined)) {
      throw new CliError(
        `reconcile-from-nostr: no relay answered (${relayUrls.join(', ')}): check --relay or the relay list`,
      );
    }
  }
  phase('read');
  const log = organise(options.agent, events);
  const policy = policyOf(log.announcement, config, output);

  // ---- each task rebuilt
  const plans: TaskPlan[] = [];
  for (const taskId of [...log.transitions.keys()].sort()) {
    plans.push(planTask(options.agent, taskId, log, policy));
  }
  phase('rebuild');

  // ---- the database: empty, or holding only what an earlier run of this command wrote
  const { store } = await openTarget(config);
  try {
    const existing = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
    const byId = new Map(plans.map((plan) => [plan.taskId, plan]));
    const foreign: string[] = [];
    for (const task of existing) {
      const plan = byId.get(task.id);
      if (!plan?.rebuilt) foreign.push(`task ${task.id} (${task.state}) is not on the log`);
      else if (publicTaskHash(plan.rebuilt.task) !== publicTaskHash(task)) {
        foreign.push(
          `task ${task.id} differs from the log (${differences(publicProjection(task), publicProjection(plan.rebuilt.task)).join('; ')})`,
        );
      } else plan.present = true;
    }
    if (foreign.length > 0) {
      throw new CliError(
        `reconcile-from-nostr: the database is not empty: it holds ${foreign.length} task(s) this log does not explain (${foreign.slice(0, 3).join('; ')}${foreign.length > 3 ? '; …' : ''}); the command fills an empty database (or finishes its own interrupted run): point database.url (DATABASE_URL) at a new, empty database, or use --compare-with to compare this one with the log`,
      );
    }

    // ---- the node, for every unfinished task not written yet
    const unfinished = plans.filter(
      (plan) => plan.rebuilt && !plan.present && !isTerminal(plan.rebuilt.task),
    );
    for (const plan of plans) {
      if (plan.rebuilt && !plan.present && isTerminal(plan.rebuilt.task)) plan.write = true;
    }
    if (unfinished.length > 0) {
      const lightning = await nodeFor(config, io);
      try {
        for (const plan of unfinished) await judgeAtNode(plan, lightning.backend, now());
      } finally {
        await lightning.close();
      }
    }

    phase('node');
    report(output, plans, log);

    // ---- write
    let stopped = false;
    if (options.execute) {
      // The relays the agent publishes to (its configured write relays), as its outbox names them.
      const writeRelays = configuredWriteRelays(config);
      const toWrite = plans.filter((plan) => plan.write && !plan.present);
      let written = 0;
      for (const plan of toWrite) {
        if (options.maxTasks !== null && written >= options.maxTasks) {
          stopped = true;
          break;
        }
        const done = await store.transaction((tx) =>
          writeTask(tx, plan, log, writeRelays, fetched?.missingOn ?? new Map()),
        );
        if (done) written += 1;
        progress?.write(`\rwriting tasks: ${written}/${toWrite.length}`);
      }
      if (progress && toWrite.length > 0) progress.write('\n');
      phase('write');
      const stored = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
      output.out(
        `written: ${written} task(s)${plans.some((plan) => plan.present) ? `, ${plans.filter((plan) => plan.present).length} were there already` : ''}`,
      );
      output.out(
        `public projection hash of the database (${stored.length} tasks): ${publicProjectionHash(stored)}`,
      );
      if (stopped) {
        output.out(
          `stopped after ${written} task(s) (--max-tasks ${options.maxTasks}): run the same command again to write the rest`,
        );
      }
    } else {
      const writable = plans.filter((plan) => plan.write || plan.present);
      output.out(
        `dry run: nothing written; --execute writes ${plans.filter((plan) => plan.write && !plan.present).length} task(s)${writable.length > 0 ? `, after which the database's public projection hash is ${publicProjectionHash(writable.map((plan) => plan.rebuilt!.task))}` : ''}`,
      );
    }

    // ---- compare with a live database
    let differs = false;
    if (options.compareWith !== null) differs = await compareWith(options.compareWith, plans, output);

    const unrebuilt = plans.filter((plan) => plan.rebuilt === null).length;
    const heldBack = plans.filter((plan) => plan.rebuilt && !plan.write && !plan.present).length;
    return unrebuilt > 0 || heldBack > 0 || differs || stopped ? 1 : 0;
  } finally {
    await store.close();
  }
}

// ------------------------------------------------------------------------------------------- options

function parseOptions(args: string[]): Options {
  let values: {
    'from-relays'?: boolean;
    'from-file'?: string;
    agent?: string;
    relay?: string[];
    execute?: boolean;
    'compare-with'?: string;
    'max-tasks'?: string;
  };
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        'from-relays': { type: 'boolean' },
        'from-file': { type: 'string' },
        agent: { type: 'string' },
        relay: { type: 'string', multiple: true },
        execute: { type: 'boolean' },
        'compare-with': { type: 'string' },
        'max-tasks': { type: 'string' },
      },
    });
    values = parsed.values;
  } catch (error) {
    throw new CliError(`reconcile-from-nostr: ${(error as Error).message}\n${RECONCILE_USAGE}`);
  }
  const fromFile = values['from-file'];
  if ((fromFile === undefined) === (values['from-relays'] !== true)) {
    throw new CliError(
      `reconcile-from-nostr: say where the log comes from: --from-relays or --from-file BACKUP.jsonl (one of them)\n${RECONCILE_USAGE}`,
    );
  }
  if (values.agent === undefined) {
    throw new CliError(
      `reconcile-from-nostr: --agent NPUB is required: whose transitions count is never read from the events\n${RECONCILE_USAGE}`,
    );
  }
  const agent = pubkeyToHex(values.agent.trim());
  if (agent === null) {
    throw new CliError(
      `reconcile-from-nostr: --agent "${values.agent}" is not a pubkey: give the agent's npub (npub1...) or 64 lowercase hex characters`,
    );
  }
  let maxTasks: number | null = null;
  if (values['max-tasks'] !== undefined) {
    if (!/^[1-9]\d{0,8}$/.test(values['max-tasks'])) {
      throw new CliError(
        `reconcile-from-nostr: --max-tasks takes a whole number of tasks, at least 1\n${RECONCILE_USAGE}`,
      );
    }
    maxTasks = Number(values['max-tasks']);
  }
  if (fromFile !== undefined && (values.relay ?? []).length > 0) {
    throw new CliError(
      `reconcile-from-nostr: --relay goes with --from-relays, not --from-file\n${RECONCILE_USAGE}`,
    );
  }
  return {
    source: fromFile !== undefined ? { file: fromFile } : { relays: true },
    agent,
    relays: values.relay ?? [],
    execute: values.execute === true,
    compareWith: values['compare-with'] ?? null,
    maxTasks,
  };
}

/** The folder's agent key, when there is one, must be the agent whose log is rebuilt. */
function checkAgentKey(config: AgentConfig, agent: string): void {
  let identity: ReturnType<typeof readIdentity> = null;
  try {
    identity = readIdentity(config.keyFile);
  } catch {
    return; // a key that cannot be read is reported by openAgentStore, with what to do
  }
  if (identity && identity.pubkey !== agent) {
    throw new CliError(
      `reconcile-from-nostr: this folder's agent key is ${identity.npub}, not the --agent ${npubEncode(agent)}: the database would belong to another agent than the log; use the agent's own key (agent.key_file, AGENT_SECRET_KEY) or another data folder`,
    );
  }
}

function relaysToAsk(config: AgentConfig, given: string[]): string[] {
  if (given.length > 0) return [...new Set(given)];
  try {
    return loadRelayList({ file: config.relaysFile, urls: config.relays ?? undefined }).relays.map(
      (relay) => relay.url,
    );
  } catch (error) {
    throw new CliError(
      `reconcile-from-nostr: no relay to ask: give --relay URL (repeatable) (the configured relay list: ${(error as Error).message})`,
    );
  }
}

/** A relay URL in one spelling (a --relay URL may be written differently from the configuration's). */
function sameRelay(url: string): string {
  try {
    return normalizeRelayUrl(url);
  } catch {
    return url;
  }
}

function configuredWriteRelays(config: AgentConfig): string[] {
  try {
    return loadRelayList({ file: config.relaysFile, urls: config.relays ?? undefined })
      .relays.filter((relay) => relay.write)
      .map((relay) => relay.url);
  } catch {
    return [];
  }
}

// ------------------------------------------------------------------------------------------- the log

/** What the agent published and what people sent it: every kind a task's record is made of. */
export function logFilters(agent: string): Filter[] {
  return [
    { kinds: [KINDS.label], authors: [agent] },
    { kinds: [KINDS.label], '#p': [agent] },
    { kinds: [KINDS.listing], '#p': [agent] },
    { kinds: [KINDS.handler], authors: [agent], '#d': [ANNOUNCEMENT_D] },
  ];
}

async function fetchLog(relays: string[], agent: string, options: FetchAllOptions = {}) {
  return fetchAll(relays, logFilters(agent), { maxEvents: 5_000_000, ...options });
}

/** A backup: one signed event per line (JSON), as `escrow-agent backup-events` writes it; each one is verified. */
function readBackup(file: string): { events: NostrEvent[]; skipped: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(
      `reconcile-from-nostr: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const events = new Map<string, NostrEvent>();
  const skipped: string[] = [];
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    const parsed = parseEventJson(eventText(trimmed));
    if (!parsed.ok) {
      skipped.push(`line ${index + 1}: ${parsed.reason}`);
      return;
    }
    const verified = verifyEvent(parsed.event);
    if (!verified.ok) {
      skipped.push(`line ${index + 1}: ${verified.reason}`);
      return;
    }
    events.set(parsed.event.id, parsed.event);
  });
  return { events: [...events.values()], skipped };
}

/** A line is the event itself, or an object carrying it under `event` (with where it was found beside it). */
function eventText(line: string): string {
  if (!line.includes('"event"')) return line;
  try {
    const value = JSON.parse(line) as { event?: unknown };
    return value.event !== undefined && typeof value.event === 'object' ? JSON.stringify(value.event) : line;
  } catch {
    return line;
  }
}

interface Log {
  /** The agent's transitions (by label) per task id. */
  transitions: Map<string, NostrEvent[]>;
  /** People's events per task id (actions by e:task, listings by id). */
  inputs: Map<string, NostrEvent[]>;
  refused: Set<string>;
  /** The reason of each refusal, by the refused event's id. */
  refusals: Map<string, string>;
  /** The agent's `rejected` labels per task id (part of what verifyTask reads). */
  rejections: Map<string, NostrEvent[]>;
  announcement: NostrEvent | null;
}

function organise(agent: string, events: readonly NostrEvent[]): Log {
  const log: Log = {
    transitions: new Map(),
    inputs: new Map(),
    refused: refusedActionIds(agent, events),
    refusals: new Map(),
    rejections: new Map(),
    announcement: null,
  };
  const add = (map: Map<string, NostrEvent[]>, key: string, event: NostrEvent) => {
    const list = map.get(key);
    if (list) list.push(event);
    else map.set(key, [event]);
  };
  for (const event of events) {
    if (event.pubkey === agent) {
      if (event.kind === KINDS.handler) {
        if (!log.announcement || event.created_at > log.announcement.created_at) log.announcement = event;
        continue;
      }
      if (event.kind !== KINDS.label) continue;
      const label = event.tags.find((tag) => tag[0] === 'l' && tag[2] === LABEL_NAMESPACE)?.[1];
      if (label === REJECTED_LABEL) {
        const reply = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'reply')?.[1];
        if (reply) log.refusals.set(reply, event.content);
        const about = taskOf(event);
        if (about) add(log.rejections, about, event);
        continue;
      }
      const taskId = taskOf(event);
      if (label !== undefined && isTransitionState(label) && taskId) add(log.transitions, taskId, event);
      continue;
    }
    if (event.kind === KINDS.listing) add(log.inputs, event.id, event);
    else if (event.kind === KINDS.label) {
      const taskId = taskOf(event);
      if (taskId) add(log.inputs, taskId, event);
    }
  }
  return log;
}

function taskOf(event: NostrEvent): string | undefined {
  return event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')?.[1];
}

function policyOf(announcement: NostrEvent | null, config: AgentConfig, output: Output): RebuildPolicy {
  if (announcement) {
    const parsed = parseAnnouncement(announcement);
    if (parsed.ok) {
      output.out(
        `policy: the agent's announcement of ${new Date(announcement.created_at * 1000).toISOString()} (for what the log leaves to the policy)`,
      );
      return parsed.announcement.policy;
    }
    output.out(
      `policy: the agent's announcement does not parse (${parsed.reason}): the configuration's is used`,
    );
  } else {
    output.out("policy: no announcement of the agent found: the configuration's is used");
  }
  return config.policy;
}

function planTask(agent: string, taskId: string, log: Log, policy: RebuildPolicy): TaskPlan {
  const plan: TaskPlan = {
    taskId,
    chain: [],
    rebuilt: null,
    problem: null,
    present: false,
    write: false,
    why: null,
    node: null,
  };
  const transitions = log.transitions.get(taskId) ?? [];
  const people = log.inputs.get(taskId) ?? [];
  // The whole check anyone can run (docs/protocol.md §10 and beyond): a task that fails it is not written.
  const verification = verifyTask({
    agentPubkey: agent,
    taskId,
    events: [...transitions, ...(log.rejections.get(taskId) ?? []), ...people],
    announcement: log.announcement,
  });
  if (!verification.ok) {
    plan.problem = `does not verify: ${verification.problems.slice(0, 3).join('; ')}`;
    return plan;
  }
  // The chain in order, for the rebuild (the signatures were checked when the events were read, and verifyTask
  // checked the chain: only the order is needed here).
  const parsed: ParsedTransition[] = [];
  for (const event of transitions) {
    const transition = parseTransition(event, { agentPubkey: agent });
    if (transition.ok) parsed.push(transition.transition);
  }
  const problems: string[] = [];
  plan.chain = followChain(parsed, problems);
  if (problems.length > 0) {
    plan.problem = `does not verify: ${problems.slice(0, 3).join('; ')}`;
    return plan;
  }
  const inputs = new Map(people.map((event) => [event.id, event]));
  const result = rebuildTaskEvents({
    agentPubkey: agent,
    transitions: plan.chain,
    inputs,
    refused: log.refused,
    policy,
  });
  if ('problem' in result) plan.problem = result.problem;
  else plan.rebuilt = result;
  return plan;
}

// ------------------------------------------------------------------------------------------- the node

async function nodeFor(
  config: AgentConfig,
  io: ReconcileIo,
): Promise<{ backend: HoldInvoiceBackend; close(): Promise<void> }> {
  if (io.lightning) return { backend: io.lightning, close: async () => {} };
  const connected = await connectLightning(config, createLogger({ level: 'silent' }));
  return { backend: connected.backend, close: () => connected.close() };
}

const RUNBOOK = 'docs/runbooks.md, "The database is lost", step 5';
const PAYOUTS_RUNBOOK = 'docs/runbooks.md, "The database is lost", step 6';

/** Whether an unfinished task holds money at the node; if it holds none, it is written and the agent finishes it. */
async function judgeAtNode(plan: TaskPlan, backend: HoldInvoiceBackend, now: number): Promise<void> {
  const task = plan.rebuilt!.task;
  const funding = task.funding;
  if (!funding) {
    plan.why = 'no hold invoice on the log';
    return;
  }
  let hold: HoldInvoice | null;
  try {
    hold = await backend.lookup(funding.paymentHash);
  } catch (error) {
    plan.node = 'unknown';
    plan.why = `the node could not be asked (${(error as Error).message}): run again once it answers`;
    return;
  }
  plan.node = hold
    ? `${hold.state}${hold.receivedMsat > 0n ? ` ${formatMsat(hold.receivedMsat)}` : ''}`
    : 'no such invoice';
  const lost =
    'its preimage was only in the lost database, so it can never be settled: only a refund is possible';
  const held = hold ? `${formatMsat(hold.receivedMsat)}` : '';
  switch (task.state) {
    case 'offered':
      if (hold === null) {
        plan.why = `the log says offered, the node has no such invoice: check that the configured node is the agent's (${RUNBOOK})`;
      } else if (hold.state === 'CANCELED' || (hold.state === 'OPEN' && hold.expiresAt <= now)) {
        plan.write = true; // nothing can be paid any more: the agent records it as expired or cancelled
      } else if (hold.state === 'OPEN') {
        plan.why = `the invoice can still be paid until ${new Date(hold.expiresAt * 1000).toISOString()}, and ${lost}: cancel it at the node, or wait until it expires, then run again (${RUNBOOK})`;
      } else if (hold.state === 'ACCEPTED') {
        plan.why = `the log says offered, but the node holds ${held} for it (the funded transition is missing); ${lost}: cancel the hold at the node and tell the poster, then run again (${RUNBOOK})`;
      } else {
        plan.why = `the node settled a hold the log never settled: for the operator (${RUNBOOK})`;
      }
      return;
    case 'funded':
    case 'claimed':
    case 'submitted':
    case 'disputed':
    case 'refunding':
    case 'settling':
      if (hold?.state === 'CANCELED' && task.state !== 'settling') {
        plan.write = true; // the node gave the HTLC back: the agent records the refund when it starts
      } else if (hold === null) {
        plan.why = `the log says ${task.state}, the node has no such hold: check that the configured node is the agent's (${RUNBOOK})`;
      } else if (hold.state === 'ACCEPTED') {
        plan.why = `the node holds ${held} for it until block ${hold.claimDeadlineHeight ?? '?'} (when it gives the HTLC back by itself); ${lost}: cancel the hold at the node (or let it lapse), tell the poster${task.worker ? ' and the worker' : ''}, then run again to record the refund (${RUNBOOK})`;
      } else if (hold.state === 'CANCELED') {
        plan.why = `the node gave the HTLC back while the agent was settling it; the log stays at settling: tell the poster and the worker (${RUNBOOK})`;
      } else if (hold.state === 'SETTLED') {
        plan.why =
          task.state === 'settling'
            ? `the node settled the hold but the log has no settled transition: the money is in the agent's wallet; pay what is owed by hand (${PAYOUTS_RUNBOOK})`
            : `the node settled a hold the log never settled: for the operator (${RUNBOOK})`;
      } else {
        plan.why = `the log says ${task.state}, the node shows the invoice unpaid (OPEN): check that the configured node is the agent's (${RUNBOOK})`;
      }
      return;
    default: {
      // settled, custody, payout_pending: the hold was settled; the money is in the agent's wallet.
      const owed = task.payouts
        .filter((payout) => payout.state !== 'succeeded')
        .map((payout) => `${formatMsat(payout.amountMsat)} to the ${payout.recipient}`);
      plan.why = `the hold was settled (node: ${hold?.state ?? 'no such invoice'}); the log proves no payout of ${owed.join(' and ') || 'what is owed'}: check at the node whether it was paid, and pay what is owed by hand (${PAYOUTS_RUNBOOK})`;
    }
  }
}

// ------------------------------------------------------------------------------------------- writing

async function openTarget(config: AgentConfig): Promise<{ store: EscrowStore }> {
  try {
    return await openAgentStore(config);
  } catch (error) {
    if ((error as Error).name === 'DataFolderInUseError') {
      throw new CliError(
        `reconcile-from-nostr: the agent is running on ${config.dataDir} and holds its lock: stop the agent, run the command again, then start it`,
      );
    }
    throw error;
  }
}

/** One task, in the transaction given; false when it is there already (a resumed run). */
async function writeTask(
  tx: StoreTx,
  plan: TaskPlan,
  log: Log,
  writeRelays: readonly string[],
  missingOn: ReadonlyMap<string, string[]>,
): Promise<boolean> {
  const rebuilt = plan.rebuilt!;
  const { task, events } = rebuilt;
  if (!(await tx.tasks.create(task, events))) return false;
  const listing = listingOf(plan, log);
  const d = listing?.tags.find((tag) => tag[0] === 'd')?.[1];
  if (d !== undefined) await tx.tasks.setListingD(task.id, d);
  const last = plan.chain[plan.chain.length - 1]!;
  await tx.tasks.setPublishedHead(task.id, last.eventId);
  // The agent's transitions: in the outbox, delivered wherever a relay returned them (a relay that lacks one gets
  // it again from the publisher); the read-back then checks the relays keep them.
  for (const event of log.transitions.get(task.id) ?? []) {
    if (!plan.chain.some((transition) => transition.eventId === event.id)) continue;
    await tx.outbox.enqueue(event, writeRelays, task.id);
    const lacking = new Set((missingOn.get(event.id) ?? []).map(sameRelay));
    for (const relay of writeRelays) {
      if (!lacking.has(sameRelay(relay))) await tx.outbox.markRelay(event.id, relay, 'ok');
    }
  }
  // The actions the agent handled or refused, so that it does not answer them again when it reads them back. On an
  // unfinished task, an action the log shows no sign of handling is left for the agent to handle.
  const used = new Set(rebuilt.used);
  const finished = isTerminal(task);
  const people = [...(log.inputs.get(task.id) ?? []), ...(listing ? [listing] : [])];
  for (const event of people) {
    const refused = log.refused.has(event.id);
    if (!refused && !used.has(event.id) && !finished) continue;
    await tx.inbound.record({
      id: event.id,
      pubkey: event.pubkey,
      kind: event.kind,
      createdAt: event.created_at,
      raw: JSON.stringify(event),
      status: refused ? 'rejected' : 'handled',
      reason: refused ? (log.refusals.get(event.id) ?? null) : null,
    });
  }
  return true;
}

function listingOf(plan: TaskPlan, log: Log): NostrEvent | null {
  const first = plan.chain[0];
  if (first?.state === 'offered') return first.details.listing;
  return (log.inputs.get(plan.taskId) ?? []).find((event) => event.id === plan.taskId) ?? null;
}

function isTerminal(task: Task): boolean {
  return TERMINAL_STATES.has(task.state);
}

// ------------------------------------------------------------------------------------------- reporting

function report(output: Output, plans: TaskPlan[], log: Log): void {
  const rebuilt = plans.filter((plan) => plan.rebuilt !== null);
  const counts = new Map<TaskState, number>();
  for (const plan of rebuilt)
    counts.set(plan.rebuilt!.task.state, (counts.get(plan.rebuilt!.task.state) ?? 0) + 1);
  const perState = TASK_STATES.filter((state) => counts.has(state))
    .map((state) => `${state} ${counts.get(state)}`)
    .join(', ');
  output.out(`tasks on the log: ${plans.length}${perState ? ` (${perState})` : ''}`);
  const broken = plans.filter((plan) => plan.rebuilt === null);
  if (broken.length > 0) {
    output.out(`not rebuildable: ${broken.length}`);
    for (const plan of broken) output.out(`  task ${plan.taskId}: ${plan.problem}`);
  }
  for (const plan of rebuilt) {
    for (const warning of plan.rebuilt!.warnings) output.out(`  note: task ${plan.taskId}: ${warning}`);
  }
  const present = plans.filter((plan) => plan.present).length;
  if (present > 0) output.out(`in the database already: ${present}`);
  const toWrite = plans.filter((plan) => plan.write && !plan.present);
  const terminal = toWrite.filter((plan) => isTerminal(plan.rebuilt!.task)).length;
  output.out(
    `to write: ${toWrite.length} (${terminal} finished, ${toWrite.length - terminal} unfinished holding no money at the node)`,
  );
  for (const plan of toWrite.filter((one) => !isTerminal(one.rebuilt!.task))) {
    output.out(
      `  task ${plan.taskId} ${plan.rebuilt!.task.state} (node: ${plan.node}): the agent finishes it when it starts`,
    );
  }
  const held = plans.filter((plan) => plan.rebuilt && !plan.write && !plan.present);
  if (held.length > 0) {
    output.out(`held back, not written (their money is at the node): ${held.length}`);
    for (const plan of held) {
      const task = plan.rebuilt!.task;
      output.out(
        `  task ${plan.taskId} ${task.state}, ${formatMsat(task.amountMsat)} (node: ${plan.node}): ${plan.why}`,
      );
    }
  }
  output.out(
    `public projection hash of the log (${rebuilt.length} tasks): ${publicProjectionHash(rebuilt.map((plan) => plan.rebuilt!.task))}`,
  );
  if (log.refused.size > 0) output.out(`refusals on the log: ${log.refused.size}`);
}

/** Compares the log's tasks with another database's; true when they differ. */
async function compareWith(url: string, plans: TaskPlan[], output: Output): Promise<boolean> {
  const where = redactSecrets(url);
  let other: EscrowStore;
  try {
    // Only tasks are read: the preimage key is never used.
    other = await openStore({ url, preimageKey: new Uint8Array(randomBytes(32)) });
  } catch (error) {
    throw new CliError(
      `reconcile-from-nostr: --compare-with ${where}: cannot open it (${(error as Error).message})`,
    );
  }
  try {
    const live = await other.read((reader) => reader.tasks.listByState(TASK_STATES));
    const fromLog = new Map(
      plans.filter((plan) => plan.rebuilt).map((plan) => [plan.taskId, plan.rebuilt!.task] as const),
    );
    const liveHash = publicProjectionHash(live);
    const logHash = publicProjectionHash([...fromLog.values()]);
    output.out(`compared with ${where}: public projection hash ${liveHash} (${live.length} tasks)`);
    if (liveHash === logHash) {
      output.out('  equal to the log');
      return false;
    }
    const lines: string[] = [];
    const seen = new Set<string>();
    for (const task of live) {
      seen.add(task.id);
      const logged = fromLog.get(task.id);
      if (!logged) {
        const plan = plans.find((one) => one.taskId === task.id);
        lines.push(
          `task ${task.id}: ${plan ? `in the database (${task.state}); the log's is not rebuildable: ${plan.problem}` : `only in the database (${task.state})`}`,
        );
      } else if (publicTaskHash(task) !== publicTaskHash(logged)) {
        lines.push(
          `task ${task.id}: differs: ${differences(publicProjection(task), publicProjection(logged)).join('; ')}`,
        );
      }
    }
    for (const [id, task] of fromLog) {
      if (!seen.has(id)) lines.push(`task ${id}: only on the log (${task.state})`);
    }
    output.out(`  differs from the log (${logHash}): ${lines.length} task(s)`);
    for (const line of lines) output.out(`  ${line}`);
    return true;
  } finally {
    await other.close();
  }
}

/** The fields of two projections that differ, `field: database vs log`. */
function differences(database: PublicTaskProjection, log: PublicTaskProjection): string[] {
  const out: string[] = [];
  const show = (value: unknown) =>
    JSON.stringify(value, (_, inner) => (typeof inner === 'bigint' ? inner.toString() : inner));
  for (const key of Object.keys(database) as Array<keyof PublicTaskProjection>) {
    const a = database[key];
    const b = log[key];
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
      for (const inner of Object.keys(a)) {
        const left = (a as Record<string, unknown>)[inner];
        const right = (b as Record<string, unknown>)[inner];
        if (show(left) !== show(right))
          out.push(`${key}.${inner}: database ${show(left)}, log ${show(right)}`);
      }
    } else if (show(a) !== show(b)) out.push(`${key}: database ${show(a)}, log ${show(b)}`);
  }
  return out;
}
