// One connection of the board to one agent: its relays, what they say (the agent's announcement, its transitions
// and refusals, listings and actions, all verified, in a TaskBook), and what the user sends (listings and actions
// built and checked with src/protocol, signed by the chosen signer, published to every relay). It matches each of
// the agent's answers to what the user sent: the transition it caused, or the refusal with its code and reason.
//
// Live subscriptions (asked again from shortly before the newest event after a relay comes back):
//   announcement  the agent's kind 31990 (its policy)
//   feed          the agent's transitions of the last days: the tasks open for a worker
//   mine          the agent's labels that tag the user (their tasks' transitions, refusals of their events) and
//                 the user's own listings for this agent
//   tasks         everything about the tasks the user looks at or acts on (labels that name them, their listings)

import { type ActionInputWithout, buildAction } from '../protocol/build-action.ts';
import { ANNOUNCEMENT_D, type Announcement, parseAnnouncement } from '../protocol/build-announcement.ts';
import { buildListing, type ListingInput } from '../protocol/build-listing.ts';
import { type ActionName, KINDS, TRANSITION_STATES } from '../protocol/constants.ts';
import type { NostrEvent } from '../protocol/schemas.ts';
import type { OpenSocket } from '../web/browser.ts';
import type { LinkStatus } from './relay-link.ts';
import { BoardRelays } from './relays.ts';
import type { BoardSigner } from './signer.ts';
import { type AgentAnswer, TaskBook } from './task-book.ts';

const DAY = 86_400;
/** How far back the open tasks are read, and the user's own history. */
const FEED_DAYS = 14;
const MINE_DAYS = 30;
/** Tasks followed live at once (those the user looks at or acts on, and their own unfinished ones). */
const MAX_WATCHED = 30;
const FINISHED = new Set(['paid', 'refunded', 'cancelled', 'expired']);
/** How the messages name what the user sent ("your claim", "your approval"). */
const ACTION_WORDS: Record<ActionName, string> = {
  claim: 'claim',
  submit: 'submission',
  approve: 'approval',
  cancel: 'cancellation',
  dispute: 'dispute',
  verdict: 'verdict',
  payout_invoice: 'payout invoice',
};

export type MessageKind = 'info' | 'ok' | 'refusal' | 'error';

export interface BoardMessage {
  kind: MessageKind;
  text: string;
  taskId: string | null;
  /** For refusals: the reason code. */
  code?: string;
}

export interface SessionListener {
  /** Something about a task (or the lists) changed: redraw. */
  changed(): void;
  message(message: BoardMessage): void;
  relays(statuses: LinkStatus[]): void;
}

interface Sent {
  /** What the user did, in words ("claim", "the listing"). */
  what: string;
  kind: number;
  taskId: string;
}

export class BoardSession {
  readonly book: TaskBook;
  announcement: { event: NostrEvent; value: Announcement } | null = null;
  private signer: BoardSigner | null = null;
  private readonly relays: BoardRelays;
  private readonly watched = new Set<string>();
  private readonly sent = new Map<string, Sent>();
  /** Refusals already told (one arrives once per subscription that matches it). */
  private readonly told = new Set<string>();

  constructor(
    readonly agent: string,
    readonly relayUrls: readonly string[],
    openSocket: OpenSocket,
    private readonly listener: SessionListener,
  ) {
    this.book = new TaskBook(agent);
    this.relays = new BoardRelays(relayUrls, openSocket, (statuses) => listener.relays(statuses));
  }

  start(): void {
    const now = Math.floor(Date.now() / 1000);
    this.relays.subscribe(
      'announcement',
      [{ kinds: [KINDS.handler], authors: [this.agent], '#d': [ANNOUNCEMENT_D] }],
      { event: (event) => this.takeAnnouncement(event) },
    );
    this.relays.subscribe(
      'feed',
      [
        {
          kinds: [KINDS.label],
          authors: [this.agent],
          '#l': [...TRANSITION_STATES],
          since: now - FEED_DAYS * DAY,
          limit: 1_000,
        },
      ],
      { event: (event) => this.take(event) },
    );
  }

  statuses(): LinkStatus[] {
    return this.relays.statuses();
  }

  get me(): string | null {
    return this.signer?.pubkey ?? null;
  }

  /** Follows the user's own history once they chose how to sign. */
  setSigner(signer: BoardSigner | null): void {
    this.signer = signer;
    this.relays.unsubscribe('mine');
    if (signer === null) return;
    const since = Math.floor(Date.now() / 1000) - MINE_DAYS * DAY;
    this.relays.subscribe(
      'mine',
      [
        { kinds: [KINDS.label], authors: [this.agent], '#p': [signer.pubkey], since, limit: 500 },
        { kinds: [KINDS.listing], authors: [signer.pubkey], '#p': [this.agent], since, limit: 100 },
      ],
      { event: (event) => this.take(event) },
    );
    this.listener.changed();
  }

  /**
   * Follows one task live: its transitions, the actions about it, its listing. All followed tasks share one
   * subscription (relays limit how many one connection may hold), asked again whenever the set changes.
   */
  watch(taskId: string): void {
    if (this.watched.has(taskId)) return;
    if (this.watched.size >= MAX_WATCHED) {
      const finished = [...this.watched].find((id) => FINISHED.has(this.book.view(id)?.state ?? ''));
      this.watched.delete(finished ?? [...this.watched][0]!);
    }
    this.watched.add(taskId);
    this.book.ensure(taskId);
    const ids = [...this.watched];
    this.relays.subscribe('tasks', [{ kinds: [KINDS.label], '#e': ids }, { ids }], {
      event: (event) => this.take(event),
    });
  }

  /** Signs and publishes a listing; resolves with it once a relay took it (throws a message for people). */
  async post(input: Omit<ListingInput, 'agent' | 'createdAt'>): Promise<NostrEvent> {
    const template = buildListing({ ...input, agent: this.agent, createdAt: now() });
    const event = await this.sign(template);
    this.book.ensure(event.id);
    this.book.add(event);
    this.watch(event.id);
    await this.send(event, { what: 'listing', kind: event.kind, taskId: event.id });
    return event;
  }

  /** Signs and publishes an action on a task (claim, submit, approve, …). */
  async act(input: ActionInputWithout<'agent' | 'createdAt'>): Promise<NostrEvent> {
    const template = buildAction({ ...input, agent: this.agent, createdAt: now() } as Parameters<
      typeof buildAction
    >[0]);
    const event = await this.sign(template);
    this.watch(input.taskId);
    this.book.add(event);
    await this.send(event, { what: ACTION_WORDS[input.action], kind: event.kind, taskId: input.taskId });
    return event;
  }

  close(): void {
    this.relays.close();
  }

  private async sign(template: Parameters<BoardSigner['sign']>[0]): Promise<NostrEvent> {
    if (this.signer === null) throw new Error('choose how to sign first (section 2, "You")');
    return this.signer.sign(template);
  }

  private async send(event: NostrEvent, sent: Sent): Promise<void> {
    this.sent.set(event.id, sent);
    this.listener.changed();
    const outcome = await this.relays.publish(event);
    if (!outcome.ok) {
      const why = outcome.answers.map((answer) => `${answer.url}: ${answer.message || 'refused'}`).join('; ');
      this.listener.message({
        kind: 'error',
        text: `No relay took your ${sent.what} (${why || 'no relay'}). Nothing was done: try again once a relay is back.`,
        taskId: sent.taskId,
      });
      this.sent.delete(event.id);
      return;
    }
    // The agent may have answered before the relay's OK arrived.
    if (this.sent.has(event.id)) {
      this.listener.message({
        kind: 'info',
        text: `Your ${sent.what} is on the relays; waiting for the agent's answer…`,
        taskId: sent.taskId,
      });
    }
  }

  private takeAnnouncement(event: NostrEvent): void {
    if (event.pubkey !== this.agent) return;
    if (this.announcement && this.announcement.event.created_at >= event.created_at) return;
    const parsed = parseAnnouncement(event);
    if (!parsed.ok) return;
    this.announcement = { event, value: parsed.announcement };
    this.listener.changed();
  }

  private take(event: NostrEvent): void {
    const answer = this.book.add(event);
    if (answer !== null) this.answered(answer);
    this.listener.changed();
  }

  /** Tells the user when the agent answers something they sent, and follows their tasks. */
  private answered(answer: AgentAnswer): void {
    const me = this.me;
    if (answer.type === 'rejected') {
      const { refusal } = answer;
      const sent = this.sent.get(refusal.replyTo);
      if ((sent === undefined && refusal.author !== me) || this.told.has(refusal.labelId)) return;
      this.told.add(refusal.labelId);
      this.sent.delete(refusal.replyTo);
      this.listener.message({
        kind: 'refusal',
        text: `The agent refused your ${sent?.what ?? 'event'}: ${refusal.code}: ${refusal.reason}`,
        taskId: refusal.taskId ?? sent?.taskId ?? null,
        code: refusal.code,
      });
      return;
    }
    const { transition } = answer;
    if (
      me !== null &&
      (transition.poster === me || transition.worker === me) &&
      !FINISHED.has(transition.state)
    ) {
      this.watch(transition.taskId);
    }
    const cause =
      transition.cause !== null && this.sent.has(transition.cause)
        ? transition.cause
        : transition.prev === null && this.sent.has(transition.taskId)
          ? transition.taskId
          : null;
    if (cause === null) return;
    const sent = this.sent.get(cause)!;
    this.sent.delete(cause);
    this.listener.message({
      kind: 'ok',
      text: `The agent took your ${sent.what}: the task is ${transition.state}.`,
      taskId: transition.taskId,
    });
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
