// What the verification page asks the relays for, in two rounds over one socket per relay:
//   1. the agent's labels about the task (`#e`), the payout invoices people gave for it (verifyTask checks that
//      each payout went to an invoice its recipient gave, and a split's second invoice is named by no
//      transition), the listing itself (its id is the task id) and the agent's kind 31990 announcement;
//   2. the people's actions the agent's transitions and rejections name by id (cause, verdict, dissent, reply),
//      so the timeline shows who asked for what.
// A naddr names a listing's address, not a task: round 0 finds the agent's offers of that address (`#a`).
import { ANNOUNCEMENT_D } from '../protocol/build-announcement.ts';
import { KINDS } from '../protocol/constants.ts';
import type { NostrEvent } from '../protocol/schemas.ts';
import type { OpenSocket } from './browser.ts';
import type { TaskReference } from './page-input.ts';
import {
  EventPool,
  FETCH_LIMITS,
  type FetchLimits,
  RelaySession,
  type RelayStatus,
  requestAll,
} from './relay-fetch.ts';

/** Actions named by id in one request at most; more would be a hostile history, not a task. */
const MAX_NAMED_ACTIONS = 500;
const NAMED_MARKERS = new Set(['cause', 'verdict', 'dissent', 'reply']);

export interface Collected {
  /** null when a naddr led to no offer on these relays. */
  taskId: string | null;
  /** Other tasks offered at the same address (a naddr names the listing, and a finished task frees it). */
  otherTaskIds: string[];
  /** Every event fetched for the task, one copy per id. */
  events: NostrEvent[];
  /** The newest copy of the agent's announcement that was found (not yet verified). */
  announcement: NostrEvent | undefined;
  relays: RelayStatus[];
}

export async function collectTask(options: {
  task: TaskReference;
  agentPubkey: string;
  relays: readonly string[];
  openSocket: OpenSocket;
  limits?: FetchLimits;
  onProgress?: (relays: RelayStatus[]) => void;
}): Promise<Collected> {
  const limits = options.limits ?? FETCH_LIMITS;
  const sessions: RelaySession[] = [];
  const progress = () => options.onProgress?.(sessions.map((session) => session.status));
  for (const url of options.relays)
    sessions.push(new RelaySession(url, options.openSocket, limits, progress));
  progress();
  try {
    const opened = await Promise.all(sessions.map((session) => session.open()));
    const live = sessions.filter((_, index) => opened[index]);
    const agent = options.agentPubkey;

    let taskId: string | null;
    let otherTaskIds: string[] = [];
    if (options.task.kind === 'id') taskId = options.task.taskId;
    else {
      const found = await tasksAtAddress(live, agent, options.task.address);
      taskId = found[0] ?? null;
      otherTaskIds = found.slice(1);
    }

    const pool = new EventPool();
    if (taskId !== null) {
      await requestAll(
        live,
        [
          { kinds: [KINDS.label], authors: [agent], '#e': [taskId] },
          // The invoices people gave for their payouts: a split's worker gives one that no transition names.
          { kinds: [KINDS.label], '#e': [taskId], '#l': ['payout_invoice'] },
          { ids: [taskId] },
          { kinds: [KINDS.handler], authors: [agent], '#d': [ANNOUNCEMENT_D] },
        ],
        pool,
      );
      const named = namedActions(pool.all(), agent).filter((id) => !pool.has(id));
      if (named.length > 0) await requestAll(live, [{ ids: named.slice(0, MAX_NAMED_ACTIONS) }], pool);
    }
    const all = pool.all();
    const announcement = all
      .filter((event) => event.kind === KINDS.handler && event.pubkey === agent)
      .sort((a, b) => b.created_at - a.created_at)[0];
    return {
      taskId,
      otherTaskIds,
      events: all.filter((event) => event.kind !== KINDS.handler),
      announcement,
      relays: sessions.map((session) => session.status),
    };
  } finally {
    for (const session of sessions) session.close();
    progress();
  }
}

/** The tasks the agent offered at a listing address, newest offer first. */
async function tasksAtAddress(sessions: RelaySession[], agent: string, address: string): Promise<string[]> {
  const pool = new EventPool();
  await requestAll(sessions, [{ kinds: [KINDS.label], authors: [agent], '#a': [address] }], pool);
  const offers = pool
    .all()
    .filter((event) => event.tags.some((tag) => tag[0] === 'l' && tag[1] === 'offered'))
    .sort((a, b) => b.created_at - a.created_at);
  const ids: string[] = [];
  for (const offer of offers) {
    const task = offer.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')?.[1];
    if (task !== undefined && /^[0-9a-f]{64}$/.test(task) && !ids.includes(task)) ids.push(task);
  }
  return ids;
}

/** Ids of the events the agent's labels point at as their cause, verdicts, dissents or the refused event. */
function namedActions(events: readonly NostrEvent[], agent: string): string[] {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.pubkey !== agent || event.kind !== KINDS.label) continue;
    for (const tag of event.tags) {
      if (tag[0] === 'e' && NAMED_MARKERS.has(tag[3] ?? '') && /^[0-9a-f]{64}$/.test(tag[1] ?? '')) {
        ids.add(tag[1]!);
      }
    }
  }
  return [...ids];
}
