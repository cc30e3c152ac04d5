// `escrow-agent verify <task> | --all`: checks a task from relay history alone (docs/protocol.md §10), as anyone
// can: no database, nothing but what the relays hold. It finds the relays (--relay, else the configured relay list,
// plus a nevent's or naddr's hints, plus the write relays of the agent's NIP-65 list found there), fetches the
// agent's labels on the task, the listing, the actions its transitions name and the agent's announcement from all
// of them (fetchAll: verified, deduplicated, with what each relay held), runs verifyTask, and prints the task's
// timeline, one line per check, the events some relays hold and others do not, and a verdict.
//
// Whose transitions count is never taken from the events: anyone can sign an `offered` label. The agent is --agent,
// or else the agent this folder's configuration runs (the public half of its key; nothing secret is printed).
//
// Exit codes: 0 every check of every task holds; 1 a check fails, or the relays hold no such task; 2 bad input
// (a reference, relay or pubkey that cannot be used, no agent, no relay) or no relay answered.
import { parseArgs } from 'node:util';
import { npubEncode } from 'nostr-tools/nip19';
import { pubkeyToHex } from '../../agent/config.ts';
import { readIdentity } from '../../agent/identity.ts';
import { loadRelayList, RelayListError } from '../../agent/relay-list.ts';
import { isHex32 } from '../../domain/hex.ts';
import { normalizeRelayUrl } from '../../nostr/relay-url.ts';
import { KINDS, LABEL_NAMESPACE } from '../../protocol/constants.ts';
import type { NostrEvent } from '../../protocol/schemas.ts';
import { type CheckName, type TimelineEntry, verifyTask } from '../../protocol/verify-task.ts';
import { CliError } from '../cli-error.ts';
import type { AgentConfig, Output } from '../output.ts';
import { redactSecrets } from '../redact.ts';
import { type FetchAllResult, type Filter, fetchAll } from '../relay-fetch.ts';
import { parseTaskRef, TASK_REF_HELP, type TaskRef, TaskRefError } from '../task-ref.ts';

export const VERIFY_USAGE = `usage: escrow-agent verify <task> [--relay URL ...] [--agent NPUB] [--json]
       escrow-agent verify --all [--agent NPUB] [--relay URL ...] [--json]
  <task>: the task id (64 hex, the listing's event id), its note1… / nevent1…, or the listing's naddr1…`;

/** Bounds of every relay fetch: a relay that hangs or floods cannot hang the command or fill its memory. */
export interface VerifyLimits {
  /** Events asked for per page (REQ limit). */
  pageSize: number;
  /** Most events kept from one fetch, over all its pages and relays. */
  maxEvents: number;
  /** How long one relay may take to answer a page before it counts as failed. */
  timeoutMs: number;
  /** Tasks whose events are fetched together (one `#e` filter). */
  batchSize: number;
  /** Most relays added from the agent's NIP-65 list. */
  maxListedRelays: number;
}

export const DEFAULT_LIMITS: VerifyLimits = {
  pageSize: 500,
  maxEvents: 50_000,
  timeoutMs: 10_000,
  batchSize: 50,
  maxListedRelays: 20,
};

/** Ids per `ids` filter (relays commonly cap a filter's size). */
const IDS_PER_FILTER = 100;
/** The announcement's `d` (docs/protocol.md §3). */
const ANNOUNCEMENT_D = 'nostr-escrow';

/** verifyTask's checks, and the command's own: `found` (the relays hold the task) and `reference` (what a nevent or
 * naddr says about the task holds). */
export interface Check {
  name: CheckName | 'found' | 'reference';
  ok: boolean;
  detail: string;
}

export interface RelayReport {
  url: string;
  /** How it was found: given with --relay, the configuration, a reference's hint, the agent's NIP-65 list. */
  source: string;
  /** Why it could not be read, when it could not: it is asked nothing more, and counts for nothing. */
  failed: string | null;
  /** Copies it served that were not genuine or not what was asked (a bad id or signature, another author). */
  rejected: number;
}

export interface MissingEvent {
  eventId: string;
  /** What it is: a transition's label, `listing`, an action's name, or `kind N`. */
  what: string;
  /** Relays that returned it, and relays that answered without it. */
  on: string[];
  notOn: string[];
}

export interface TaskReport {
  taskId: string;
  /** False when no relay holds any transition of the agent on it. */
  found: boolean;
  state: string | null;
  ok: boolean;
  checks: Check[];
  /** Every event about the task, oldest first; `author` is a role (agent, poster, worker, arbitrator). */
  timeline: TimelineEntry[];
  problems: string[];
  ignored: string[];
  /** Events of the task some relays returned and others (that answered) did not. */
  missing: MissingEvent[];
}

export interface VerifyReport {
  agent: { pubkey: string; npub: string; source: string };
  /** What was asked: a task reference as given, or `--all`. */
  asked: string;
  /** For an naddr: the address the tasks were found by. */
  address: string | null;
  relays: RelayReport[];
  /** Newest first. */
  tasks: TaskReport[];
  summary: { tasks: number; ok: number; failed: number };
  ok: boolean;
  /** Notes for the reader (ignored relay hints, a bound that was reached). */
  notes: string[];
}

export interface VerifyIo {
  /** Where the --all progress bar goes (a TTY's stderr), or null for none. */
  progress: ((text: string) => void) | null;
  limits: VerifyLimits;
}

export async function verifyCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  const tty = process.stderr.isTTY === true;
  return runVerify(config, output, args, {
    progress: tty ? (text) => process.stderr.write(text) : null,
    limits: DEFAULT_LIMITS,
  });
}

/** The command, with where the progress bar goes and the fetch bounds given (tests shorten the timeouts). */
export async function runVerify(
  config: AgentConfig,
  output: Output,
  args: string[],
  io: VerifyIo,
): Promise<number> {
  const options = parseOptions(args);
  const notes: string[] = [];
  const agent = resolveAgent(config, options.agent);
  const relays = new Map<string, RelayReport>();
  /** Why the configured relay list could not be used, said only when no relay is left to ask. */
  let unusedList: string | null = null;
  const add = (url: string, source: string) => {
    if (!relays.has(url)) relays.set(url, { url, source, failed: null, rejected: 0 });
  };
  for (const url of options.relays) add(url, 'given with --relay');
  if (options.relays.length === 0) {
    const configured = configuredRelays(config);
    for (const url of configured.urls) add(url, `configured (${configured.source})`);
    if (configured.problem) unusedList = configured.problem;
  }
  const ref = options.ref;
  for (const url of ref?.relays ?? []) add(url, 'hint of the reference');
  for (const hint of ref?.badHints ?? []) notes.push(`relay hint ${hint}: not used`);
  if (relays.size === 0) {
    throw new CliError(
      `verify: no relay to ask: give --relay URL (repeatable)${unusedList ? `; the configured relay list cannot be used: ${unusedList}` : ''}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}\n${VERIFY_USAGE}`,
    );
  }
  const fetchOptions = {
    pageSize: io.limits.pageSize,
    maxEvents: io.limits.maxEvents,
    timeoutMs: io.limits.timeoutMs,
  };
  /**
   * Every filter from every relay that has not failed yet (a relay that failed once, e.g. one that never answers,
   * costs one timeout, not one per fetch); failures are recorded. Exit 2 when no relay is left to ask.
   */
  const fetchFrom = async (filters: Filter[], only?: string[]): Promise<FetchAllResult> => {
    const live = (only ?? [...relays.keys()]).filter((url) => relays.get(url)?.failed === null);
    if (live.length === 0) throw noRelayAnswered(relays);
    const result = await fetchAll(live, filters, fetchOptions);
    for (const [url, state] of result.perRelay) {
      const relay = relays.get(url);
      if (!relay) continue;
      relay.rejected += state.rejected;
      if (state.failed !== undefined && relay.failed === null) relay.failed = state.failed;
    }
    if (live.every((url) => relays.get(url)?.failed !== null) && only === undefined) {
      throw noRelayAnswered(relays);
    }
    return result;
  };

  // The agent's relay list (NIP-65) and its announcement (NIP-89), from the relays known so far.
  const identity = await fetchFrom([
    { kinds: [KINDS.relayList], authors: [agent.pubkey] },
    { kinds: [KINDS.handler], authors: [agent.pubkey], '#d': [ANNOUNCEMENT_D] },
  ]);
  const relayList = newest(identity.events, agent.pubkey, KINDS.relayList);
  if (relayList) {
    const listed = writeRelays(relayList, notes);
    const added = listed.filter((url) => !relays.has(url));
    for (const url of added.slice(0, io.limits.maxListedRelays)) add(url, "the agent's NIP-65 write relay");
    if (added.length > io.limits.maxListedRelays) {
      notes.push(
        `the agent's NIP-65 list names ${added.length} more relays; only the first ${io.limits.maxListedRelays} were asked`,
      );
    }
  }
  let announcement = newest(identity.events, agent.pubkey, KINDS.handler);
  const newRelays = [...relays.values()].filter((relay) => relay.source === "the agent's NIP-65 write relay");
  if (newRelays.length > 0) {
    const more = await fetchFrom(
      [{ kinds: [KINDS.handler], authors: [agent.pubkey], '#d': [ANNOUNCEMENT_D] }],
      newRelays.map((relay) => relay.url),
    );
    const candidates = [announcement, newest(more.events, agent.pubkey, KINDS.handler)].filter(
      (event): event is NostrEvent => event !== null,
    );
    announcement = candidates.sort((a, b) => b.created_at - a.created_at)[0] ?? null;
  }
  if (!announcement) notes.push("no relay holds the agent's announcement (kind 31990)");

  // Which tasks.
  let taskIds: string[];
  let address: string | null = null;
  if (options.all || ref?.kind === 'address') {
    address = ref?.kind === 'address' ? ref.address : null;
    const offers = await fetchFrom([
      {
        kinds: [KINDS.label],
        authors: [agent.pubkey],
        '#l': ['offered'],
        ...(address ? { '#a': [address] } : {}),
      },
    ]);
    if (offers.events.length >= io.limits.maxEvents) {
      notes.push(
        `stopped at ${io.limits.maxEvents} offers: the agent may have more tasks than were verified`,
      );
    }
    taskIds = offeredTasks(offers.events, agent.pubkey, address);
  } else {
    taskIds = ref ? [ref.taskId] : [];
  }

  const tasks: TaskReport[] = [];
  const batches = chunk(taskIds, io.limits.batchSize);
  const progress = options.all ? io.progress : null;
  progress?.(`\rverified 0/${taskIds.length}`);
  for (const batch of batches) {
    const reports = await verifyBatch(batch, {
      agent: agent.pubkey,
      announcement,
      relays,
      fetch: fetchFrom,
      ref,
    });
    tasks.push(...reports);
    progress?.(`\rverified ${tasks.length}/${taskIds.length}`);
  }
  if (progress) progress('\n');

  const failed = tasks.filter((task) => !task.ok).length;
  const report: VerifyReport = {
    agent,
    asked: options.all ? '--all' : (options.given ?? ''),
    address,
    relays: [...relays.values()],
    tasks,
    summary: { tasks: tasks.length, ok: tasks.length - failed, failed },
    ok: tasks.length > 0 && failed === 0,
    notes,
  };
  if (options.json) output.out(verifyJson(report));
  else for (const line of verifyText(report, options.all)) output.out(redactSecrets(line));
  return report.ok ? 0 : 1;
}

// ------------------------------------------------------------------------------------------------ the options

interface VerifyOptions {
  json: boolean;
  all: boolean;
  /** The reference as given, and parsed. */
  given: string | null;
  ref: TaskRef | null;
  relays: string[];
  agent: string | null;
}

function parseOptions(args: string[]): VerifyOptions {
  let values: { json?: boolean; all?: boolean; relay?: string[]; agent?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        all: { type: 'boolean' },
        relay: { type: 'string', multiple: true },
        agent: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new CliError(`verify: ${(error as Error).message}\n${VERIFY_USAGE}`);
  }
  const all = values.all === true;
  if (positionals.length > 1) throw new CliError(`verify: one task at a time (or --all)\n${VERIFY_USAGE}`);
  const [given] = positionals;
  if (all && given !== undefined) {
    throw new CliError(`verify: give a task or --all, not both\n${VERIFY_USAGE}`);
  }
  if (!all && given === undefined)
    throw new CliError(`verify: which task? ${TASK_REF_HELP}\n${VERIFY_USAGE}`);
  let ref: TaskRef | null = null;
  if (given !== undefined) {
    try {
      ref = parseTaskRef(given);
    } catch (error) {
      if (error instanceof TaskRefError) throw new CliError(`verify: ${error.message}\n${VERIFY_USAGE}`);
      throw error;
    }
  }
  const relays: string[] = [];
  for (const url of values.relay ?? []) {
    let normalized: string;
    try {
      normalized = normalizeRelayUrl(url);
    } catch (error) {
      throw new CliError(
        `verify: --relay ${JSON.stringify(url)} ${(error as Error).message}: give a relay's ws:// or wss:// URL`,
      );
    }
    if (!relays.includes(normalized)) relays.push(normalized);
  }
  return { json: values.json === true, all, given: given ?? null, ref, relays, agent: values.agent ?? null };
}

/** --agent, else the agent this folder's configuration runs; never the author of an event. */
function resolveAgent(config: AgentConfig, given: string | null): VerifyReport['agent'] {
  if (given !== null) {
    const pubkey = pubkeyToHex(given.trim());
    if (pubkey === null) {
      throw new CliError(
        `verify: --agent "${given}" is not a pubkey: give the agent's npub (npub1...) or 64 lowercase hex characters`,
      );
    }
    return { pubkey, npub: npubEncode(pubkey), source: 'given with --agent' };
  }
  const why =
    "whose transitions count is never read from the events (anyone can sign an 'offered' label): give the agent's pubkey with --agent NPUB";
  let identity: ReturnType<typeof readIdentity>;
  try {
    identity = readIdentity(config.keyFile);
  } catch (error) {
    throw new CliError(
      `verify: ${why} (this folder's agent key cannot be read: ${(error as Error).message})`,
    );
  }
  if (!identity) throw new CliError(`verify: ${why} (no agent key in this folder: ${config.keyFile})`);
  const source =
    identity.source === 'AGENT_SECRET_KEY'
      ? 'the configured agent (AGENT_SECRET_KEY)'
      : `the configured agent (${config.keyFile})`;
  return { pubkey: identity.pubkey, npub: identity.npub, source };
}

/** The relays of the configuration, as start finds them; none (and why) when there is no usable list. */
function configuredRelays(config: AgentConfig): { urls: string[]; source: string; problem: string | null } {
  try {
    const list = loadRelayList({ file: config.relaysFile, urls: config.relays });
    return { urls: list.relays.map((relay) => relay.url), source: list.source, problem: null };
  } catch (error) {
    if (error instanceof RelayListError) {
      return { urls: [], source: '', problem: error.problems.join('; ') };
    }
    throw error;
  }
}

// ------------------------------------------------------------------------------------------------ fetching

function noRelayAnswered(relays: ReadonlyMap<string, RelayReport>): CliError {
  return new CliError(
    `verify: no relay answered: ${[...relays.values()].map((relay) => `${relay.url} (${relay.failed ?? 'not asked'})`).join(', ')}; give a relay that is up with --relay URL`,
  );
}

/** The newest event of a kind by the agent (a replaceable event: the newest counts). */
function newest(events: readonly NostrEvent[], pubkey: string, kind: number): NostrEvent | null {
  let best: NostrEvent | null = null;
  for (const event of events) {
    if (event.pubkey !== pubkey || event.kind !== kind) continue;
    if (
      !best ||
      event.created_at > best.created_at ||
      (event.created_at === best.created_at && event.id < best.id)
    )
      best = event;
  }
  return best;
}

/** NIP-65: `["r", url]` is read and write, `["r", url, "write"]` write only. */
function writeRelays(list: NostrEvent, notes: string[]): string[] {
  const urls: string[] = [];
  for (const tag of list.tags) {
    if (tag[0] !== 'r' || typeof tag[1] !== 'string') continue;
    if (tag[2] !== undefined && tag[2] !== 'write') continue;
    try {
      const url = normalizeRelayUrl(tag[1]);
      if (!urls.includes(url)) urls.push(url);
    } catch (error) {
      notes.push(
        `the agent's NIP-65 list names ${JSON.stringify(tag[1])}, which ${(error as Error).message}: not asked`,
      );
    }
  }
  return urls;
}

/** The tasks the agent's `offered` transitions name (for an address, only those that carry it), newest first. */
function offeredTasks(events: readonly NostrEvent[], agent: string, address: string | null): string[] {
  const newestOffer = new Map<string, number>();
  for (const event of events) {
    if (event.pubkey !== agent || event.kind !== KINDS.label) continue;
    if (!event.tags.some((tag) => tag[0] === 'l' && tag[1] === 'offered' && tag[2] === LABEL_NAMESPACE))
      continue;
    if (address && !event.tags.some((tag) => tag[0] === 'a' && tag[1] === address)) continue;
    const taskId = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')?.[1];
    if (!taskId || !isHex32(taskId)) continue;
    newestOffer.set(taskId, Math.max(newestOffer.get(taskId) ?? 0, event.created_at));
  }
  return [...newestOffer.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([taskId]) => taskId);
}

interface BatchContext {
  agent: string;
  announcement: NostrEvent | null;
  relays: Map<string, RelayReport>;
  fetch: (filters: Filter[]) => Promise<FetchAllResult>;
  ref: TaskRef | null;
}

/**
 * Verifies a batch of tasks: their labels by the agent and their listings in one fetch, then the actions their
 * transitions name (cause, verdict, dissent) in a second, then verifyTask on each task's own events.
 */
async function verifyBatch(taskIds: string[], context: BatchContext): Promise<TaskReport[]> {
  const { agent } = context;
  const first = await context.fetch([
    { kinds: [KINDS.label], authors: [agent], '#e': taskIds },
    // The payout invoices the recipients gave: no transition names one given while the state stayed (a split's
    // worker share while the poster's still waits), yet the paid transition pays it.
    { kinds: [KINDS.label], '#e': taskIds, '#l': ['payout_invoice'] },
    ...chunk(taskIds, IDS_PER_FILTER).map((ids) => ({ ids })),
  ]);
  const byId = new Map<string, NostrEvent>();
  for (const event of first.events) byId.set(event.id, event);
  const missingOn = new Map<string, string[]>(first.missingOn);

  // The actions the agent's transitions name.
  const named = new Set<string>();
  for (const event of first.events) {
    if (event.pubkey !== agent || event.kind !== KINDS.label) continue;
    for (const tag of event.tags) {
      if (tag[0] === 'e' && ['cause', 'verdict', 'dissent'].includes(tag[3] ?? '') && isHex32(tag[1] ?? '')) {
        if (!byId.has(tag[1]!)) named.add(tag[1]!);
      }
    }
  }
  if (named.size > 0) {
    const second = await context.fetch(chunk([...named], IDS_PER_FILTER).map((ids) => ({ ids })));
    for (const event of second.events) byId.set(event.id, event);
    for (const [id, urls] of second.missingOn) missingOn.set(id, urls);
  }
  const answered = [...context.relays.values()]
    .filter((relay) => relay.failed === null)
    .map((relay) => relay.url);
  const all = [...byId.values()];
  return taskIds.map((taskId) => taskReport(taskId, all, missingOn, answered, context));
}

/** One task's events out of a batch: its listing, the labels on it, and the actions its transitions name. */
function eventsOfTask(taskId: string, events: readonly NostrEvent[], agent: string): NostrEvent[] {
  const own = events.filter(
    (event) => event.id === taskId || event.tags.some((tag) => tag[0] === 'e' && tag[1] === taskId),
  );
  const named = new Set<string>();
  for (const event of own) {
    if (event.pubkey !== agent) continue;
    for (const tag of event.tags) {
      if (tag[0] === 'e' && ['cause', 'verdict', 'dissent'].includes(tag[3] ?? '')) named.add(tag[1] ?? '');
    }
  }
  const ids = new Set(own.map((event) => event.id));
  return [...own, ...events.filter((event) => named.has(event.id) && !ids.has(event.id))];
}

function taskReport(
  taskId: string,
  batchEvents: readonly NostrEvent[],
  missingOn: ReadonlyMap<string, string[]>,
  answered: string[],
  context: BatchContext,
): TaskReport {
  const events = eventsOfTask(taskId, batchEvents, context.agent);
  const transitions = events.filter(
    (event) =>
      event.pubkey === context.agent &&
      event.kind === KINDS.label &&
      event.tags.some((tag) => tag[0] === 'l' && tag[2] === LABEL_NAMESPACE && tag[1] !== 'rejected') &&
      event.tags.some((tag) => tag[0] === 'e' && tag[1] === taskId && tag[3] === 'task'),
  );
  const poster = posterOf(events, context.agent, taskId);
  const missing = missingEvents(events, missingOn, answered, context.agent);
  if (transitions.length === 0) {
    return {
      taskId,
      found: false,
      state: null,
      ok: false,
      checks: [
        {
          name: 'found',
          ok: false,
          detail: `none of the ${answered.length} relay(s) that answered holds a transition of this agent on this task: it is not a task of this agent, or the relays lost it`,
        },
      ],
      timeline: [],
      problems: [],
      ignored: [],
      missing,
    };
  }
  const verification = verifyTask({
    agentPubkey: context.agent,
    taskId,
    events,
    announcement: context.announcement,
  });
  const checks: Check[] = [...verification.checks];
  const reference = referenceCheck(context.ref, taskId, poster, transitions);
  if (reference) checks.push(reference);
  return {
    taskId,
    found: true,
    state: verification.state ?? null,
    ok: verification.ok && checks.every((check) => check.ok),
    checks,
    timeline: verification.timeline,
    problems: [...verification.problems],
    ignored: [...verification.ignored],
    missing,
  };
}

/** What the reference itself says about the task must hold too: a nevent's author is the poster. */
function referenceCheck(
  ref: TaskRef | null,
  taskId: string,
  poster: string | null,
  transitions: readonly NostrEvent[],
): Check | null {
  if (!ref) return null;
  if (ref.kind === 'id') {
    if (ref.poster === null || ref.taskId !== taskId) return null;
    const ok = poster === ref.poster;
    return {
      name: 'reference',
      ok,
      detail: ok
        ? `the nevent's author ${short(ref.poster)} is the task's poster`
        : `the nevent names the author ${short(ref.poster)}, but the task's poster is ${poster ? short(poster) : 'unknown'}`,
    };
  }
  const carries = transitions.some(
    (event) =>
      event.tags.some((tag) => tag[0] === 'l' && tag[1] === 'offered') &&
      event.tags.some((tag) => tag[0] === 'a' && tag[1] === ref.address),
  );
  return {
    name: 'reference',
    ok: carries && poster === ref.poster,
    detail: carries
      ? `the offer is for the listing ${ref.address}`
      : `no offer of this task carries the address ${ref.address}`,
  };
}

/** The task's poster, from the agent's own transitions (`p:poster`), else the listing's author. */
function posterOf(events: readonly NostrEvent[], agent: string, taskId: string): string | null {
  for (const event of events) {
    if (event.pubkey !== agent || event.kind !== KINDS.label) continue;
    const poster = event.tags.find((tag) => tag[0] === 'p' && tag[3] === 'poster')?.[1];
    if (poster !== undefined && isHex32(poster)) return poster;
  }
  return events.find((event) => event.id === taskId)?.pubkey ?? null;
}

/** The task's events that some relays returned and others that answered did not. */
function missingEvents(
  events: readonly NostrEvent[],
  missingOn: ReadonlyMap<string, string[]>,
  answered: string[],
  agent: string,
): MissingEvent[] {
  const missing: MissingEvent[] = [];
  for (const event of [...events].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1))) {
    const notOn = (missingOn.get(event.id) ?? []).filter((url) => answered.includes(url));
    if (notOn.length === 0) continue;
    const on = answered.filter((url) => !notOn.includes(url));
    missing.push({ eventId: event.id, what: describeEvent(event, agent), on, notOn });
  }
  return missing;
}

function describeEvent(event: NostrEvent, agent: string): string {
  if (event.kind === KINDS.listing) return 'listing';
  if (event.kind === KINDS.label) {
    const label = event.tags.find((tag) => tag[0] === 'l' && tag[2] === LABEL_NAMESPACE)?.[1];
    if (label) return event.pubkey === agent ? `${label} transition` : `${label} action`;
  }
  return `kind ${event.kind}`;
}

// ------------------------------------------------------------------------------------------------ output

/** The report as text lines, for a person. */
export function verifyText(report: VerifyReport, all: boolean): string[] {
  const out: string[] = [];
  out.push(`agent  ${report.agent.npub} (${report.agent.source})`);
  out.push('relays:');
  for (const relay of report.relays) {
    const rejected =
      relay.rejected > 0
        ? `; served ${relay.rejected} copies that were not genuine or not asked for (set aside)`
        : '';
    out.push(
      `  ${relay.url}  ${relay.source}${relay.failed ? `: NOT READ (${relay.failed})` : ''}${rejected}`,
    );
  }
  for (const note of report.notes) out.push(`note: ${note}`);
  if (report.address) {
    out.push(
      report.tasks.length > 1
        ? `the listing ${report.address} has had ${report.tasks.length} tasks; each is verified, newest first`
        : `the listing ${report.address}: ${report.tasks.length === 1 ? 'one task' : 'no task of this agent on the relays'}`,
    );
  }
  if (all) return [...out, ...summaryText(report)];
  for (const task of report.tasks) out.push('', ...taskText(task));
  out.push('', verdictLine(report));
  return out;
}

function taskText(task: TaskReport): string[] {
  const out = [`task   ${task.taskId}`, `state  ${task.state ?? '(none found)'}`];
  if (task.timeline.length > 0) {
    out.push('timeline:');
    const authorWidth = Math.max(...task.timeline.map((entry) => entry.author.length));
    const labelWidth = Math.max(...task.timeline.map((entry) => entry.label.length));
    for (const entry of task.timeline) {
      out.push(
        `  ${utc(entry.createdAt)}  ${entry.author.padEnd(authorWidth)}  ${entry.label.padEnd(labelWidth)}  ${entry.summary}`,
      );
    }
  }
  out.push('checks:');
  const nameWidth = Math.max(...task.checks.map((check) => check.name.length));
  for (const check of task.checks) {
    out.push(`  ${check.ok ? '✓' : '✗'} ${check.name.padEnd(nameWidth)}  ${check.detail}`);
  }
  for (const ignored of task.ignored) out.push(`  ignored (not the agent's): ${ignored}`);
  if (task.missing.length > 0) {
    out.push('not on every relay:');
    for (const gap of task.missing) {
      out.push(
        `  event ${gap.eventId} (${gap.what}) is on ${gap.on.join(', ') || 'no relay that answered'} but not on ${gap.notOn.join(', ')}`,
      );
    }
  }
  return out;
}

function verdictLine(report: VerifyReport): string {
  if (report.tasks.length === 0) return 'NOT VERIFIED: no task found on the relays';
  if (report.ok) {
    const task = report.tasks[0]!;
    return report.tasks.length === 1
      ? `VERIFIED: task ${task.taskId} is ${task.state}; all ${task.checks.length} checks hold`
      : `VERIFIED: all ${report.tasks.length} tasks; every check holds`;
  }
  const failing = report.tasks.filter((task) => !task.ok);
  if (report.tasks.length === 1) {
    const task = failing[0]!;
    if (!task.found) return `NOT VERIFIED: no relay holds task ${task.taskId} of this agent`;
    const bad = task.checks.filter((check) => !check.ok).map((check) => check.name);
    return `NOT VERIFIED: task ${task.taskId}: ${bad.length} of ${task.checks.length} checks fail (${bad.join(', ')})`;
  }
  return `NOT VERIFIED: ${failing.length} of ${report.tasks.length} tasks fail`;
}

/** --all: one row per task, the failing checks under a failing row, then the totals. */
function summaryText(report: VerifyReport): string[] {
  const out = [''];
  if (report.tasks.length === 0) {
    out.push(`NOT VERIFIED: no task of agent ${report.agent.npub} on the relays that answered`);
    return out;
  }
  const stateWidth = Math.max(5, ...report.tasks.map((task) => (task.state ?? '-').length));
  out.push(`${'task'.padEnd(64)}  ${'state'.padEnd(stateWidth)}  checks  missing  result`);
  for (const task of report.tasks) {
    const held = task.checks.filter((check) => check.ok).length;
    out.push(
      `${task.taskId}  ${(task.state ?? '-').padEnd(stateWidth)}  ${`${held}/${task.checks.length}`.padEnd(6)}  ${String(task.missing.length).padEnd(7)}  ${task.ok ? 'ok' : 'FAILED'}`,
    );
    if (!task.ok) {
      for (const check of task.checks.filter((one) => !one.ok))
        out.push(`    ✗ ${check.name}  ${check.detail}`);
    }
  }
  const { tasks, ok, failed } = report.summary;
  out.push('');
  out.push(
    failed === 0
      ? `VERIFIED: all ${tasks} tasks of agent ${report.agent.npub}; every check holds`
      : `NOT VERIFIED: ${failed} of ${tasks} tasks fail (${ok} ok); run \`escrow-agent verify <task>\` on one for its timeline`,
  );
  return out;
}

/** The report as one JSON document; msat and other big integers as strings. */
export function verifyJson(report: VerifyReport): string {
  return JSON.stringify(report, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2);
}

function utc(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace('.000Z', 'Z');
}

function short(pubkey: string): string {
  try {
    return npubEncode(pubkey).slice(0, 16);
  } catch {
    return pubkey.slice(0, 12);
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}
