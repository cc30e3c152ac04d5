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
// Task by task: each task is verified, rebuilt, asked about at the node and written (one transaction) before the
// next is read, and only a summary of it is kept (for the report and the hashes). A backup file is indexed (each
// line verified, its place kept) and read again one task at a time, so the command holds one task's events at a
// time; the relays' answers are held whole (fetchAll), each task's let go once it is written.
//
// The database must be empty of tasks, or hold only tasks this command wrote that still match the log (a run that
// was interrupted, killed, or stopped by --max-tasks): those are skipped, so running the same command again
// finishes the job. --compare-with DATABASE_URL computes the public projection hash of another (live) database and
// says whether it equals the log's, or lists the tasks that differ and how.
//
// Exit codes: 0 everything on the log is (or, in a dry run, would be) in the database, and any comparison is equal;
// 1 something needs the operator (a task not rebuildable or held back, a comparison that differs, a run stopped by
// --max-tasks); 2 bad input, a database that is not empty, or no relay answered.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
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

/** What is kept of a task once it is handled (its events and chain are let go): enough for the report. */
interface TaskOutcome {
  taskId: string;
  /** The task rebuilt from the log; null when it is not rebuildable (`problem` says why). */
  task: Task | null;
  problem: string | null;
  warnings: readonly string[];
  present: boolean;
  write: boolean;
  why: string | null;
  node: string | null;
}

function outcomeOf(plan: TaskPlan): TaskOutcome {
  return {
    taskId: plan.taskId,
    task: plan.rebuilt?.task ?? null,
    problem: plan.problem,
    warnings: plan.rebuilt?.warnings ?? [],
    present: plan.present,
    write: plan.write,
    why: plan.why,
    node: plan.node,
  };
}

type Phase = Parameters<NonNullable<ReconcileIo['onPhase']>>[0];

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

  // The time spent in each phase, summed over the tasks (they are handled one after the other).
  const spent: Record<Phase, number> = { read: 0, rebuild: 0, node: 0, write: 0 };
  const timed = async <T>(phase: Phase, run: () => T | Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      spent[phase] += performance.now() - started;
    }
  };

  // ---- the log
  output.out(`reconcile-from-nostr: agent ${npubEncode(options.agent)} (${options.agent})`);
  const { log, missingOn } = await timed('read', () =>
    'file' in options.source
      ? readBackup(options.agent, options.source.file, output)
      : readRelays(options.agent, relaysToAsk(config, options.relays), io.fetch, output),
  );
  io.onPhase?.('read', spent.read);
  try {
    const policy = policyOf(log.announcement, config, output);

    // ---- the database: empty, or holding only what an earlier run of this command wrote
    const { store } = await timed('node', () => openTarget(config));
    // The Lightning node, connected when a task needs it.
    const node: { connected: Awaited<ReturnType<typeof nodeFor>> | null } = { connected: null };
    try {
      const outcomes = new Map<string, TaskOutcome>();
      const existing = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
      const onLog = new Set(log.taskIds);
      const foreign: string[] = [];
      for (const task of existing) {
        const plan = onLog.has(task.id)
          ? await timed('rebuild', () => planTask(options.agent, task.id, log.take(task.id), log, policy))
          : null;
        if (!plan?.rebuilt) foreign.push(`task ${task.id} (${task.state}) is not on the log`);
        else if (publicTaskHash(plan.rebuilt.task) !== publicTaskHash(task)) {
          foreign.push(
            `task ${task.id} differs from the log (${differences(publicProjection(task), publicProjection(plan.rebuilt.task)).join('; ')})`,
          );
        } else {
          plan.present = true;
          outcomes.set(task.id, outcomeOf(plan));
        }
      }
      if (foreign.length > 0) {
        throw new CliError(
          `reconcile-from-nostr: the database is not empty: it holds ${foreign.length} task(s) this log does not explain (${foreign.slice(0, 3).join('; ')}${foreign.length > 3 ? '; …' : ''}); the command fills an empty database (or finishes its own interrupted run): point database.url (DATABASE_URL) at a new, empty database, or use --compare-with to compare this one with the log`,
        );
      }

      // ---- each task: verified and rebuilt; asked about at the node when unfinished; written (--execute)
      // The node is connected before anything is written when the log shows an unfinished task not written yet: a
      // node that cannot be used stops the command with nothing changed.
      const connect = async () => {
        node.connected ??= await timed('node', () => nodeFor(config, io));
        return node.connected;
      };
      if ([...log.unfinished].some((taskId) => !outcomes.has(taskId))) await connect();
      // The relays the agent publishes to (its configured write relays), as its outbox names them.
      const writeRelays = configuredWriteRelays(config);
      let written = 0;
      let stopped = false;
      let handled = 0;
      for (const taskId of log.taskIds) {
        handled += 1;
        if (outcomes.has(taskId)) continue;
        const events = log.take(taskId);
        const plan = await timed('rebuild', () => planTask(options.agent, taskId, events, log, policy));
        if (plan.rebuilt && isTerminal(plan.rebuilt.task)) plan.write = true;
        else if (plan.rebuilt) {
          const lightning = await connect();
          await timed('node', () => judgeAtNode(plan, lightning.backend, now()));
        }
        if (options.execute && plan.write) {
          if (options.maxTasks !== null && written >= options.maxTasks) stopped = true;
          else {
            const done = await timed('write', () =>
              store.transaction((tx) => writeTask(tx, plan, events, log, writeRelays, missingOn)),
            );
            if (done) written += 1;
          }
        }
        outcomes.set(taskId, outcomeOf(plan));
        progress?.write(
          `\rtasks: ${handled}/${log.taskIds.length}${options.execute ? `, ${written} written` : ''}`,
        );
      }
      if (progress && log.taskIds.length > 0) progress.write('\n');
      for (const phase of ['rebuild', 'node', 'write'] as const) io.onPhase?.(phase, spent[phase]);

      const plans = log.taskIds.map((taskId) => outcomes.get(taskId)!);
      report(output, plans, log);

      if (options.execute) {
        const stored = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
        const present = plans.filter((plan) => plan.present).length;
        output.out(`written: ${written} task(s)${present > 0 ? `, ${present} were there already` : ''}`);
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
          `dry run: nothing written; --execute writes ${plans.filter((plan) => plan.write && !plan.present).length} task(s)${writable.length > 0 ? `, after which the database's public projection hash is ${publicProjectionHash(writable.map((plan) => plan.task!))}` : ''}`,
        );
      }

      // ---- compare with a live database
      let differs = false;
      if (options.compareWith !== null) differs = await compareWith(options.compareWith, plans, output);

      const unrebuilt = plans.filter((plan) => plan.task === null).length;
      const heldBack = plans.filter((plan) => plan.task && !plan.write && !plan.present).length;
      return unrebuilt > 0 || heldBack > 0 || differs || stopped ? 1 : 0;
    } finally {
      await node.connected?.close();
      await store.close();
    }
  } finally {
    log.close();
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

/** One task's record on the log. */
interface TaskEvents {
  /** The agent's transitions on it. */
  transitions: NostrEvent[];
  /** The agent's `rejected` labels on it (part of what verifyTask reads). */
  rejections: NostrEvent[];
  /** People's events: the actions on it, and its listing. */
  inputs: NostrEvent[];
}

/**
 * The log, task by task. What every task needs is kept (the announcement, the refusals); each task's events are
 * handed out once (take) and let go by the log.
 */
interface Log {
  /** The tasks the agent's transitions are about, sorted. */
  taskIds: string[];
  announcement: NostrEvent | null;
  /** The people's events the agent refused (its `rejected` labels' replies). */
  refused: Set<string>;
  /** The reason of each refusal, by the refused event's id. */
  refusals: Map<string, string>;
  /** The tasks whose transitions reach no finished state: the node will be asked about them. */
  unfinished: ReadonlySet<string>;
  take(taskId: string): TaskEvents;
  close(): void;
}

/** Where an event belongs in the log, by its author, kind and labels (null: not part of any task's record). */
type Place =
  | { list: 'announcement' }
  | { list: 'transitions'; taskId: string; finished: boolean }
  | { list: 'rejections'; taskId: string | undefined; reply: string | undefined }
  | { list: 'inputs'; taskId: string }
  | null;

function placeOf(agent: string, event: NostrEvent): Place {
  if (event.pubkey === agent) {
    if (event.kind === KINDS.handler) return { list: 'announcement' };
    if (event.kind !== KINDS.label) return null;
    const label = event.tags.find((tag) => tag[0] === 'l' && tag[2] === LABEL_NAMESPACE)?.[1];
    if (label === REJECTED_LABEL) {
      const reply = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'reply')?.[1];
      return { list: 'rejections', taskId: taskOf(event), reply };
    }
    const taskId = taskOf(event);
    if (label === undefined || !isTransitionState(label) || !taskId) return null;
    return { list: 'transitions', taskId, finished: TERMINAL_STATES.has(label as TaskState) };
  }
  if (event.kind === KINDS.listing) return { list: 'inputs', taskId: event.id };
  if (event.kind === KINDS.label) {
    const taskId = taskOf(event);
    if (taskId) return { list: 'inputs', taskId };
  }
  return null;
}

/**
 * Files events by task as placeOf says, keeping what every task needs; `T` is what is filed per event (the event
 * itself, or where it is in a backup file).
 */
class Filing<T> {
  readonly transitions = new Map<string, T[]>();
  readonly rejections = new Map<string, T[]>();
  readonly inputs = new Map<string, T[]>();
  readonly refused = new Set<string>();
  readonly refusals = new Map<string, string>();
  private readonly finished = new Set<string>();
  announcement: NostrEvent | null = null;

  constructor(private readonly agent: string) {}

  file(event: NostrEvent, item: T): void {
    // A refusal is any label of the agent's that says `rejected` (refusedActionIds), whatever it says first.
    if (event.pubkey === this.agent && event.kind === KINDS.label) {
      for (const id of refusedActionIds(this.agent, [event])) this.refused.add(id);
    }
    const place = placeOf(this.agent, event);
    if (place === null) return;
    const add = (map: Map<string, T[]>, key: string) => {
      const list = map.get(key);
      if (list) list.push(item);
      else map.set(key, [item]);
    };
    switch (place.list) {
      case 'announcement':
        if (!this.announcement || event.created_at > this.announcement.created_at) this.announcement = event;
        return;
      case 'transitions':
        add(this.transitions, place.taskId);
        if (place.finished) this.finished.add(place.taskId);
        return;
      case 'rejections':
        if (place.reply) this.refusals.set(place.reply, event.content);
        if (place.taskId) add(this.rejections, place.taskId);
        return;
      case 'inputs':
        add(this.inputs, place.taskId);
    }
  }

  /** The log, handing out each task's items through `read`. */
  log(read: (items: T[]) => NostrEvent[], close: () => void = () => {}): Log {
    const taken = (map: Map<string, T[]>, taskId: string) => {
      const items = map.get(taskId) ?? [];
      map.delete(taskId);
      return read(items);
    };
    return {
      taskIds: [...this.transitions.keys()].sort(),
      announcement: this.announcement,
      refused: this.refused,
      refusals: this.refusals,
      unfinished: new Set([...this.transitions.keys()].filter((taskId) => !this.finished.has(taskId))),
      take: (taskId) => ({
        transitions: taken(this.transitions, taskId),
        rejections: taken(this.rejections, taskId),
        inputs: taken(this.inputs, taskId),
      }),
      close,
    };
  }
}

/** The log from the relays (fetchAll: the answers are held whole; each task's events are let go once handed out). */
async function readRelays(
  agent: string,
  relayUrls: string[],
  options: FetchAllOptions | undefined,
  output: Output,
): Promise<{ log: Log; missingOn: ReadonlyMap<string, string[]> }> {
  const fetched = await fetchLog(relayUrls, agent, options);
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
  const filing = new Filing<NostrEvent>(agent);
  for (const event of fetched.events) filing.file(event, event);
  return { log: filing.log((events) => events), missingOn: fetched.missingOn };
}

/** Where a line is in a backup file: its first byte and its length in bytes. */
type Line = [offset: number, length: number];

/**
 * A backup: one signed event per line (JSON), as `escrow-agent backup-events` writes it. Each line is read and
 * verified once, here, and only where it is is kept; each task's lines are read again when the task is handed out.
 */
function readBackup(
  agent: string,
  file: string,
  output: Output,
): { log: Log; missingOn: ReadonlyMap<string, string[]> } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw cannotRead(file, error);
  }
  try {
    const { filing, events, skipped } = indexBackup(agent, file, fd);
    output.out(
      `source: ${file}: ${events} events${skipped.length > 0 ? `, ${skipped.length} lines skipped` : ''}`,
    );
    for (const reason of skipped.slice(0, 5)) output.err(`  skipped ${reason}`);
    return { log: filing.log(lineReader(file, fd), () => closeSync(fd)), missingOn: new Map() };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function cannotRead(file: string, error: unknown): CliError {
  return new CliError(
    `reconcile-from-nostr: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
  );
}

/** Every line of the backup parsed and verified, filed by where it is; the distinct events counted. */
function indexBackup(agent: string, file: string, fd: number) {
  const filing = new Filing<Line>(agent);
  const seen = new Set<string>();
  const skipped: string[] = [];
  let lineNumber = 0;
  try {
    forEachLine(fd, (bytes, offset) => {
      lineNumber += 1;
      const trimmed = bytes.toString('utf8').trim();
      if (trimmed === '') return;
      const parsed = parseEventJson(eventText(trimmed));
      if (!parsed.ok) {
        skipped.push(`line ${lineNumber}: ${parsed.reason}`);
        return;
      }
      const verified = verifyEvent(parsed.event);
      if (!verified.ok) {
        skipped.push(`line ${lineNumber}: ${verified.reason}`);
        return;
      }
      if (seen.has(parsed.event.id)) return;
      seen.add(parsed.event.id);
      filing.file(parsed.event, [offset, bytes.length]);
    });
  } catch (error) {
    throw cannotRead(file, error);
  }
  return { filing, events: seen.size, skipped };
}

/** Reads filed lines back as events (verifyTask checks each one's signature again). */
function lineReader(file: string, fd: number): (lines: Line[]) => NostrEvent[] {
  return (lines) =>
    lines.map(([offset, length]) => {
      const bytes = Buffer.alloc(length);
      const got = readSync(fd, bytes, 0, length, offset);
      const parsed = got === length ? parseEventJson(eventText(bytes.toString('utf8').trim())) : null;
      if (!parsed?.ok) {
        throw new CliError(
          `reconcile-from-nostr: ${file} changed while it was read (the line at byte ${offset}): run the command again on a copy that does not change`,
        );
      }
      return parsed.event;
    });
}

/** Calls `line` with each line of the file (without its newline) and the offset of its first byte. */
function forEachLine(fd: number, line: (bytes: Buffer, offset: number) => void): void {
  const chunk = Buffer.alloc(1 << 20);
  let carry = Buffer.alloc(0);
  let carryOffset = 0;
  let position = 0;
  for (;;) {
    const read = readSync(fd, chunk, 0, chunk.length, position);
    if (read === 0) break;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
    const dataOffset = carry.length > 0 ? carryOffset : position;
    position += read;
    let start = 0;
    for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
      line(data.subarray(start, end), dataOffset + start);
      start = end + 1;
    }
    carry = Buffer.from(data.subarray(start));
    carryOffset = dataOffset + start;
  }
  if (carry.length > 0) line(carry, carryOffset);
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

function planTask(
  agent: string,
  taskId: string,
  events: TaskEvents,
  log: Log,
  policy: RebuildPolicy,
): TaskPlan {
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
  const transitions = events.transitions;
  const people = events.inputs;
  // The whole check anyone can run (docs/protocol.md §10 and beyond): a task that fails it is not written.
  const verification = verifyTask({
    agentPubkey: agent,
    taskId,
    events: [...transitions, ...events.rejections, ...people],
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
  record: TaskEvents,
  log: Log,
  writeRelays: readonly string[],
  missingOn: ReadonlyMap<string, string[]>,
): Promise<boolean> {
  const rebuilt = plan.rebuilt!;
  const { task, events } = rebuilt;
  if (!(await tx.tasks.create(task, events))) return false;
  const listing = listingOf(plan, record);
  const d = listing?.tags.find((tag) => tag[0] === 'd')?.[1];
  if (d !== undefined) await tx.tasks.setListingD(task.id, d);
  const last = plan.chain[plan.chain.length - 1]!;
  await tx.tasks.setPublishedHead(task.id, last.eventId);
  // The agent's transitions: in the outbox, delivered wherever a relay returned them (a relay that lacks one gets
  // it again from the publisher); the read-back then checks the relays keep them.
  for (const event of record.transitions) {
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
  const people = [...record.inputs, ...(listing ? [listing] : [])];
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

function listingOf(plan: TaskPlan, record: TaskEvents): NostrEvent | null {
  const first = plan.chain[0];
  if (first?.state === 'offered') return first.details.listing;
  return record.inputs.find((event) => event.id === plan.taskId) ?? null;
}

function isTerminal(task: Task): boolean {
  return TERMINAL_STATES.has(task.state);
}

// ------------------------------------------------------------------------------------------- reporting

function report(output: Output, plans: TaskOutcome[], log: Log): void {
  const rebuilt = plans.filter((plan) => plan.task !== null);
  const counts = new Map<TaskState, number>();
  for (const plan of rebuilt) counts.set(plan.task!.state, (counts.get(plan.task!.state) ?? 0) + 1);
  const perState = TASK_STATES.filter((state) => counts.has(state))
    .map((state) => `${state} ${counts.get(state)}`)
    .join(', ');
  output.out(`tasks on the log: ${plans.length}${perState ? ` (${perState})` : ''}`);
  const broken = plans.filter((plan) => plan.task === null);
  if (broken.length > 0) {
    output.out(`not rebuildable: ${broken.length}`);
    for (const plan of broken) output.out(`  task ${plan.taskId}: ${plan.problem}`);
  }
  for (const plan of rebuilt) {
    for (const warning of plan.warnings) output.out(`  note: task ${plan.taskId}: ${warning}`);
  }
  const present = plans.filter((plan) => plan.present).length;
  if (present > 0) output.out(`in the database already: ${present}`);
  const toWrite = plans.filter((plan) => plan.write && !plan.present);
  const terminal = toWrite.filter((plan) => isTerminal(plan.task!)).length;
  output.out(
    `to write: ${toWrite.length} (${terminal} finished, ${toWrite.length - terminal} unfinished holding no money at the node)`,
  );
  for (const plan of toWrite.filter((one) => !isTerminal(one.task!))) {
    output.out(
      `  task ${plan.taskId} ${plan.task!.state} (node: ${plan.node}): the agent finishes it when it starts`,
    );
  }
  const held = plans.filter((plan) => plan.task && !plan.write && !plan.present);
  if (held.length > 0) {
    output.out(`held back, not written (their money is at the node): ${held.length}`);
    for (const plan of held) {
      const task = plan.task!;
      output.out(
        `  task ${plan.taskId} ${task.state}, ${formatMsat(task.amountMsat)} (node: ${plan.node}): ${plan.why}`,
      );
    }
  }
  output.out(
    `public projection hash of the log (${rebuilt.length} tasks): ${publicProjectionHash(rebuilt.map((plan) => plan.task!))}`,
  );
  if (log.refused.size > 0) output.out(`refusals on the log: ${log.refused.size}`);
}

/** Compares the log's tasks with another database's; true when they differ. */
async function compareWith(url: string, plans: TaskOutcome[], output: Output): Promise<boolean> {
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
      plans.filter((plan) => plan.task).map((plan) => [plan.taskId, plan.task!] as const),
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
