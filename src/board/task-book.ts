// What the task board knows about tasks, built only from verified events: the agent's transitions (signed by its
// key, parsed with the protocol's schemas), its refusals (`rejected` labels), listings and people's actions.
// A task's state is the head of its transition chain (the transition no other one names as `prev`); a fork or a
// gap never hides a later state, the newest head wins and the verification below the timeline says what is wrong.
// Pure: no browser, no relay; the page feeds it events and draws what it says.
import { rejectionSchema } from '../protocol/agent-schemas.ts';
import { KINDS, REJECTED_LABEL } from '../protocol/constants.ts';
import { isTransitionState, type ParsedTransition, parseTransition } from '../protocol/parse-transition.ts';
import { readLabel } from '../protocol/read-label.ts';
import { type NostrEvent, parseLabelled } from '../protocol/schemas.ts';
import type { TransitionOf } from '../protocol/transition-types.ts';

/** Events kept per task for its timeline and verification; a task needs a few dozen, a flood is cut here. */
export const MAX_EVENTS_PER_TASK = 2_000;
/** Tasks kept at once (newest activity first survives). */
export const MAX_TASKS = 2_000;
const MAX_REFUSALS = 500;

export interface Refusal {
  /** The `rejected` label's id. */
  labelId: string;
  /** The refused event. */
  replyTo: string;
  taskId: string | null;
  /** Its author (the agent tags who it refuses). */
  author: string;
  /** The stable reason code, e.g. OwnTask. */
  code: string;
  /** `prefix: text`, for people. */
  reason: string;
  createdAt: number;
}

export interface TaskView {
  taskId: string;
  title: string;
  description: string;
  /** What the poster pays; null until the listing or the offer is known. */
  amountMsat: bigint | null;
  /** The agent's fee (from its offer). */
  feeMsat: bigint | null;
  poster: string | null;
  worker: string | null;
  /** The arbitrators the offer names (those whose verdicts count). */
  arbitrators: string[];
  threshold: number;
  /** `posted` until the agent's first transition, then the state of the chain's head. */
  state: string;
  offer: TransitionOf<'offered'> | null;
  /** The agent's transitions, oldest first. */
  transitions: ParsedTransition[];
  /** When the current window ends (claim, work, review, dispute), when the head says. */
  windowEndsAt: number | null;
  /** Newest event time seen for this task. */
  updatedAt: number;
}

export type AgentAnswer =
  | { type: 'transition'; transition: ParsedTransition }
  | { type: 'rejected'; refusal: Refusal };

/** The agent's transition or refusal in `event` (already verified), or null when it is neither. */
export function readAgentEvent(event: NostrEvent, agent: string): AgentAnswer | null {
  if (event.pubkey !== agent || event.kind !== KINDS.label) return null;
  const label = readLabel(event);
  if (!label.ok) return null;
  if (label.label === REJECTED_LABEL) {
    const parsed = parseLabelled(rejectionSchema, event);
    if (!parsed.ok) return null;
    return {
      type: 'rejected',
      refusal: {
        labelId: event.id,
        replyTo: parsed.value.tags['e:reply'],
        taskId: parsed.value.tags['e:task'] ?? null,
        author: parsed.value.tags.p[1],
        code: parsed.value.tags.code,
        reason: event.content,
        createdAt: event.created_at,
      },
    };
  }
  if (!isTransitionState(label.label)) return null;
  const parsed = parseTransition(event, { agentPubkey: agent });
  return parsed.ok ? { type: 'transition', transition: parsed.transition } : null;
}

interface TaskRecord {
  taskId: string;
  listing: NostrEvent | null;
  transitions: Map<string, ParsedTransition>;
  events: Map<string, NostrEvent>;
  updatedAt: number;
}

export class TaskBook {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly refusals: Refusal[] = [];

  constructor(readonly agent: string) {}

  /**
   * Takes one verified event: the agent's labels, a listing for this agent, or anyone's label about a task
   * (an action: kept for the timeline). Returns what the agent said, when it is the agent's.
   */
  add(event: NostrEvent): AgentAnswer | null {
    if (event.kind === KINDS.listing) {
      if (!event.tags.some((tag) => tag[0] === 'p' && tag[1] === this.agent)) return null;
      const record = this.record(event.id);
      record.listing = event;
      this.keep(record, event);
      return null;
    }
    if (event.kind !== KINDS.label) return null;
    const answer = readAgentEvent(event, this.agent);
    if (answer?.type === 'transition') {
      const record = this.record(answer.transition.taskId);
      record.transitions.set(event.id, answer.transition);
      if (answer.transition.state === 'offered' && record.listing === null) {
        record.listing = answer.transition.details.listing;
      }
      this.keep(record, event);
      return answer;
    }
    if (answer?.type === 'rejected') {
      if (!this.refusals.some((known) => known.labelId === answer.refusal.labelId)) {
        this.refusals.push(answer.refusal);
        if (this.refusals.length > MAX_REFUSALS) this.refusals.shift();
      }
      const taskId =
        answer.refusal.taskId ?? (this.tasks.has(answer.refusal.replyTo) ? answer.refusal.replyTo : null);
      if (taskId !== null) this.keep(this.record(taskId), event);
      return answer;
    }
    // Anyone's label about a known task (claim, submit, approve, verdict, payout_invoice): for the timeline.
    const taskId = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')?.[1];
    if (taskId !== undefined && this.tasks.has(taskId)) this.keep(this.record(taskId), event);
    return null;
  }

  has(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  /** Starts keeping a task's events (before its listing or offer arrives: relays send newest first). */
  ensure(taskId: string): void {
    const record = this.record(taskId);
    record.updatedAt = Math.max(record.updatedAt, 1);
  }

  view(taskId: string): TaskView | null {
    const record = this.tasks.get(taskId);
    return record ? viewOf(record) : null;
  }

  all(): TaskView[] {
    return [...this.tasks.values()].map(viewOf).sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /** Every event kept for a task (listing, transitions, actions, refusals), for verifyTask and the timeline. */
  events(taskId: string): NostrEvent[] {
    return [...(this.tasks.get(taskId)?.events.values() ?? [])];
  }

  /** Refusals of events by `author`, newest first. */
  refusalsOf(author: string): Refusal[] {
    return this.refusals
      .filter((refusal) => refusal.author === author)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  refusalsOfTask(taskId: string): Refusal[] {
    return this.refusals
      .filter((refusal) => refusal.taskId === taskId || refusal.replyTo === taskId)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  refusalOf(eventId: string): Refusal | undefined {
    return this.refusals.find((refusal) => refusal.replyTo === eventId);
  }

  private record(taskId: string): TaskRecord {
    let record = this.tasks.get(taskId);
    if (record === undefined) {
      record = { taskId, listing: null, transitions: new Map(), events: new Map(), updatedAt: 0 };
      this.tasks.set(taskId, record);
      if (this.tasks.size > MAX_TASKS) this.forgetOldest();
    }
    return record;
  }

  private keep(record: TaskRecord, event: NostrEvent): void {
    if (record.events.size >= MAX_EVENTS_PER_TASK && !record.events.has(event.id)) return;
    record.events.set(event.id, event);
    record.updatedAt = Math.max(record.updatedAt, event.created_at);
  }

  private forgetOldest(): void {
    let oldest: TaskRecord | null = null;
    for (const record of this.tasks.values())
      if (!oldest || record.updatedAt < oldest.updatedAt) oldest = record;
    if (oldest) this.tasks.delete(oldest.taskId);
  }
}

function viewOf(record: TaskRecord): TaskView {
  const transitions = [...record.transitions.values()].sort(byChain(record.transitions));
  const head = headOf(record.transitions);
  const offer =
    (transitions.find((one) => one.state === 'offered') as TransitionOf<'offered'> | undefined) ?? null;
  const listing = record.listing;
  const listingTag = (name: string) => listing?.tags.find((tag) => tag[0] === name)?.[1];
  const amountText = listingTag('amount');
  const amountFromListing =
    amountText !== undefined && /^[0-9]{1,19}$/.test(amountText) ? BigInt(amountText) : null;
  const worker = [...transitions].reverse().find((one) => one.worker !== null)?.worker ?? null;
  return {
    taskId: record.taskId,
    title: listingTag('title') ?? `task ${record.taskId.slice(0, 12)}…`,
    description: listing?.content ?? '',
    amountMsat: offer?.details.amountMsat ?? amountFromListing,
    feeMsat: offer?.details.feeMsat ?? null,
    poster: head?.poster ?? listing?.pubkey ?? null,
    worker,
    arbitrators: offer?.details.arbitration.arbitrators ?? [],
    threshold: offer?.details.arbitration.threshold ?? 0,
    state: head?.state ?? 'posted',
    offer,
    transitions,
    windowEndsAt: head && 'windowEndsAt' in head.details ? (head.details.windowEndsAt as number) : null,
    updatedAt: record.updatedAt,
  };
}

/** The chain's head: the transition no other names as prev; of several (a fork, a gap), the newest. */
function headOf(transitions: ReadonlyMap<string, ParsedTransition>): ParsedTransition | null {
  const named = new Set<string>();
  for (const transition of transitions.values()) if (transition.prev !== null) named.add(transition.prev);
  let head: ParsedTransition | null = null;
  for (const transition of transitions.values()) {
    if (named.has(transition.eventId)) continue;
    if (head === null || transition.createdAt > head.createdAt) head = transition;
  }
  return head;
}

/** Oldest first: by time, then by chain position (a transition after its prev) for equal times. */
function byChain(transitions: ReadonlyMap<string, ParsedTransition>) {
  const depth = new Map<string, number>();
  const depthOf = (transition: ParsedTransition, guard = 0): number => {
    const known = depth.get(transition.eventId);
    if (known !== undefined) return known;
    const prev = transition.prev === null ? undefined : transitions.get(transition.prev);
    const value = prev === undefined || guard > 200 ? 0 : depthOf(prev, guard + 1) + 1;
    depth.set(transition.eventId, value);
    return value;
  };
  return (a: ParsedTransition, b: ParsedTransition) => a.createdAt - b.createdAt || depthOf(a) - depthOf(b);
}
