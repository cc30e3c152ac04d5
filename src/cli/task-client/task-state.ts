// What the relays say about tasks, for `escrow-agent task`: one task's transitions (its current state, and its
// offer: the amount, the fee and the title), the task an naddr names today (the newest offer carrying that
// address), and the agent's open tasks (offered or funded, and nothing after). Reads are fetchAll's: verified,
// deduplicated, bounded; only transitions signed by the agent's key and well formed count.
import { KINDS, TRANSITION_STATES } from '../../protocol/constants.ts';
import type { ParsedTransition } from '../../protocol/parse-transition.ts';
import type { NostrEvent } from '../../protocol/schemas.ts';
import type { TransitionOf } from '../../protocol/transition-types.ts';
import { CliError } from '../cli-error.ts';
import { type FetchAllOptions, fetchAll } from '../relay-fetch.ts';
import type { TaskRef } from '../task-ref.ts';
import { readAgentEvent } from './answers.ts';

export interface TaskView {
  taskId: string;
  /** The agent's transitions on the task, oldest first. */
  transitions: ParsedTransition[];
  latest: ParsedTransition | null;
  offered: (TransitionOf<'offered'> & { eventId: string; createdAt: number }) | null;
  /** False when no relay could be read. */
  read: boolean;
}

/** Bounds of one task's read: a task has a few dozen labels; a relay that floods stops here. */
const TASK_READ: FetchAllOptions = { pageSize: 500, maxEvents: 5_000 };

/** The task a reference names: its id, or for an naddr the newest task the agent offered at that address. */
export async function taskIdOf(
  what: string,
  ref: TaskRef,
  relays: readonly string[],
  agent: string,
  timeoutMs: number,
): Promise<string> {
  if (ref.kind === 'id') return ref.taskId;
  const fetched = await fetchAll(
    [...relays, ...ref.relays],
    [{ kinds: [KINDS.label], authors: [agent], '#l': ['offered'], '#a': [ref.address] }],
    { ...TASK_READ, timeoutMs },
  );
  let best: ParsedTransition | null = null;
  for (const event of fetched.events) {
    const answer = readAgentEvent(event, agent);
    if (answer?.type !== 'transition' || answer.transition.state !== 'offered') continue;
    if (!event.tags.some((tag) => tag[0] === 'a' && tag[1] === ref.address)) continue;
    if (!best || answer.transition.createdAt > best.createdAt) best = answer.transition;
  }
  if (!best) {
    throw new CliError(
      `${what}: no relay holds an offer of this agent for the listing ${ref.address}: give the task's id (the listing's event id), or check --agent and --relay`,
    );
  }
  return best.taskId;
}

/** A task's transitions as the relays hold them. */
export async function readTask(
  taskId: string,
  relays: readonly string[],
  agent: string,
  timeoutMs: number,
): Promise<TaskView> {
  const fetched = await fetchAll(relays, [{ kinds: [KINDS.label], authors: [agent], '#e': [taskId] }], {
    ...TASK_READ,
    timeoutMs,
  });
  const read = [...fetched.perRelay.values()].some((state) => state.failed === undefined);
  return { ...viewOf(taskId, fetched.events, agent), read };
}

function viewOf(taskId: string, events: readonly NostrEvent[], agent: string): Omit<TaskView, 'read'> {
  const transitions: ParsedTransition[] = [];
  for (const event of events) {
    const answer = readAgentEvent(event, agent);
    if (answer?.type === 'transition' && answer.transition.taskId === taskId)
      transitions.push(answer.transition);
  }
  transitions.sort(byChain);
  const offered = transitions.find((transition) => transition.state === 'offered') as TaskView['offered'];
  return { taskId, transitions, latest: transitions.at(-1) ?? null, offered: offered ?? null };
}

/** created_at strictly increases along a task's chain (docs/protocol.md §10 step 3); a tie is put in prev order. */
function byChain(a: ParsedTransition, b: ParsedTransition): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (b.prev === a.eventId) return -1;
  if (a.prev === b.eventId) return 1;
  return a.eventId < b.eventId ? -1 : 1;
}

export interface OpenTask {
  taskId: string;
  state: 'offered' | 'funded';
  /** The latest transition (offered or funded). */
  latest: ParsedTransition;
  offered: TaskView['offered'];
}

export interface OpenTasks {
  tasks: OpenTask[];
  /** Relays that could not be read in full, with why. */
  failed: Array<{ relay: string; reason: string }>;
  /** The fetch stopped at its bound: there may be more. */
  truncated: boolean;
}

/**
 * The agent's tasks whose latest transition since `since` is `offered` (waiting for the poster's payment) or
 * `funded` (paid in, open for a worker), newest first.
 */
export async function openTasks(
  relays: readonly string[],
  agent: string,
  since: number,
  timeoutMs: number,
  maxEvents: number,
): Promise<OpenTasks> {
  const fetched = await fetchAll(
    relays,
    [{ kinds: [KINDS.label], authors: [agent], '#l': [...TRANSITION_STATES], since }],
    { pageSize: 500, maxEvents, timeoutMs },
  );
  const failed = [...fetched.perRelay.entries()]
    .filter(([, state]) => state.failed !== undefined)
    .map(([relay, state]) => ({ relay, reason: state.failed! }));
  const byTask = new Map<string, NostrEvent[]>();
  for (const event of fetched.events) {
    const taskId = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')?.[1];
    if (taskId === undefined) continue;
    byTask.set(taskId, [...(byTask.get(taskId) ?? []), event]);
  }
  const open: OpenTask[] = [];
  const withoutOffer: string[] = [];
  for (const [taskId, events] of byTask) {
    const view = viewOf(taskId, events, agent);
    const latest = view.latest;
    if (!latest || (latest.state !== 'offered' && latest.state !== 'funded')) continue;
    open.push({ taskId, state: latest.state, latest, offered: view.offered });
    if (!view.offered) withoutOffer.push(taskId);
  }
  // A funded task whose offer came before `since`: its offer holds the title and amounts.
  if (withoutOffer.length > 0) {
    const offers = await fetchAll(
      relays,
      [{ kinds: [KINDS.label], authors: [agent], '#l': ['offered'], '#e': withoutOffer }],
      { pageSize: 500, maxEvents: withoutOffer.length * 4 + 10, timeoutMs },
    );
    for (const task of open) {
      if (task.offered) continue;
      task.offered = viewOf(task.taskId, offers.events, agent).offered;
    }
  }
  open.sort((a, b) => b.latest.createdAt - a.latest.createdAt || (a.taskId < b.taskId ? -1 : 1));
  const truncated = failed.some((one) => one.reason.startsWith('more than'));
  return { tasks: open, failed, truncated };
}
