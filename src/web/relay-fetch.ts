// Reads events from relays the way the verification page needs them: plain NIP-01 (REQ, EVENT, EOSE, CLOSE)
// over one WebSocket per relay, each request with a timeout, each relay held to a budget of events and bytes.
// A relay is a stranger: every frame is size-checked before it is parsed, parsed strictly (no duplicate keys,
// no __proto__), shape-checked, and kept only when it matches the filters it was asked for. Nothing here
// verifies signatures: the verifier does, on every copy, so a forged copy served first cannot hide the real one.
import type { Event } from 'nostr-tools/core';
import { type Filter, matchFilters } from 'nostr-tools/filter';
import { utf8ByteLength } from '../protocol/bytes.ts';
import { type NostrEvent, parseEvent } from '../protocol/schemas.ts';
import { parseStrictJson } from '../protocol/strict-json.ts';
import { verifyEvent } from '../protocol/verify-event.ts';
import type { OpenSocket, SocketLike } from './browser.ts';

export interface FetchLimits {
  /** Events kept from one relay, all requests together. */
  maxEvents: number;
  /** UTF-8 bytes of frames received from one relay, all requests together. */
  maxBytes: number;
  /** One frame larger than this is dropped unread. */
  maxFrameBytes: number;
  connectTimeoutMs: number;
  /** How long one REQ may take to reach EOSE. */
  requestTimeoutMs: number;
}

export const FETCH_LIMITS: FetchLimits = {
  maxEvents: 5_000,
  maxBytes: 16 * 1024 * 1024,
  maxFrameBytes: 256 * 1024,
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 8_000,
};

export type RelayState = 'connecting' | 'open' | 'done' | 'failed' | 'over budget';

export interface RelayStatus {
  url: string;
  state: RelayState;
  /** Events kept (they matched a filter and have the shape of an event). */
  events: number;
  bytes: number;
  /** Frames dropped: too large, unreadable, malformed events, events nobody asked for. */
  dropped: number;
  /** What the relay said or did worth telling (timeouts, CLOSED and NOTICE texts), newest last, bounded. */
  notes: string[];
}

const MAX_NOTES = 6;
const MAX_NOTE_CHARS = 200;

interface Pending {
  subscriptionId: string;
  filters: Filter[];
  events: NostrEvent[];
  finish: () => void;
}

/** One relay, one socket, requests one after the other. No method throws: failures become the status. */
export class RelaySession {
  readonly status: RelayStatus;
  private socket: SocketLike | null = null;
  private pending: Pending | null = null;
  private nextSubscription = 1;

  constructor(
    url: string,
    private readonly openSocket: OpenSocket,
    private readonly limits: FetchLimits = FETCH_LIMITS,
    private readonly onChange: (status: RelayStatus) => void = () => {},
  ) {
    this.status = { url, state: 'connecting', events: 0, bytes: 0, dropped: 0, notes: [] };
  }

  /** Resolves true once the socket is open, false if it could not be opened in time. */
  open(): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (opened: boolean, note?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (opened) this.setState('open');
        else {
          this.fail(note ?? 'could not connect');
          this.dropSocket();
        }
        resolve(opened);
      };
      const timer = setTimeout(
        () => settle(false, `no connection within ${this.limits.connectTimeoutMs / 1000} s`),
        this.limits.connectTimeoutMs,
      );
      let socket: SocketLike;
      try {
        socket = this.openSocket(this.status.url);
      } catch (error) {
        settle(false, `could not connect: ${String(error)}`);
        return;
      }
      this.socket = socket;
      socket.onopen = () => settle(true);
      socket.onerror = () => settle(false, 'could not connect');
      socket.onclose = () => {
        settle(false, 'the connection closed');
        if (this.status.state === 'open') this.fail('the relay closed the connection');
        this.pending?.finish();
      };
      socket.onmessage = (message) => this.receive(message.data);
    });
  }

  /**
   * The stored events matching `filters`, up to EOSE (or CLOSED, a timeout, the budget, a closed socket:
   * what arrived until then is kept, and the status says why it stopped).
   */
  request(filters: Filter[]): Promise<NostrEvent[]> {
    if (this.status.state !== 'open' || this.socket === null || filters.length === 0)
      return Promise.resolve([]);
    const socket = this.socket;
    const subscriptionId = `verify-${this.nextSubscription++}`;
    return new Promise((resolve) => {
      const pending: Pending = {
        subscriptionId,
        filters,
        events: [],
        finish: () => {
          if (this.pending !== pending) return;
          this.pending = null;
          clearTimeout(timer);
          if (this.status.state === 'open') this.sendQuietly(socket, ['CLOSE', subscriptionId]);
          resolve(pending.events);
        },
      };
      const timer = setTimeout(() => {
        this.note(`no EOSE within ${this.limits.requestTimeoutMs / 1000} s: kept what had arrived`);
        pending.finish();
      }, this.limits.requestTimeoutMs);
      this.pending = pending;
      this.sendQuietly(socket, ['REQ', subscriptionId, ...filters]);
    });
  }

  /** Closes the socket; the status keeps what happened. */
  close(): void {
    if (this.status.state === 'open') this.setState('done');
    this.pending?.finish();
    this.dropSocket();
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    detachAndClose(socket);
  }

  private receive(data: unknown): void {
    if (this.status.state !== 'open') return;
    if (typeof data !== 'string') {
      this.status.dropped += 1;
      return;
    }
    // String length is a lower bound on the UTF-8 size: a huge frame is refused before it is measured.
    const bytes = data.length > this.limits.maxFrameBytes ? data.length : utf8ByteLength(data);
    this.status.bytes += bytes;
    if (this.status.bytes > this.limits.maxBytes) {
      this.overBudget(`sent more than ${this.limits.maxBytes / (1024 * 1024)} MiB`);
      return;
    }
    if (bytes > this.limits.maxFrameBytes) {
      this.status.dropped += 1;
      return;
    }
    const parsed = parseStrictJson(data);
    if (!parsed.ok || !Array.isArray(parsed.value)) {
      this.status.dropped += 1;
      return;
    }
    const [type, first, second] = parsed.value as unknown[];
    const pending = this.pending;
    if (type === 'NOTICE') {
      this.note(`NOTICE: ${String(first)}`);
      return;
    }
    if (pending === null || first !== pending.subscriptionId) {
      if (type === 'EVENT') this.status.dropped += 1;
      return;
    }
    if (type === 'EOSE') pending.finish();
    else if (type === 'CLOSED') {
      this.note(`CLOSED: ${String(second)}`);
      pending.finish();
    } else if (type === 'EVENT') this.keep(pending, second);
  }

  private keep(pending: Pending, value: unknown): void {
    const shaped = parseEvent(value);
    if (!shaped.ok || !matchFilters(pending.filters, shaped.event as Event)) {
      this.status.dropped += 1;
      return;
    }
    pending.events.push(shaped.event);
    this.status.events += 1;
    this.onChange(this.status);
    if (this.status.events >= this.limits.maxEvents) {
      this.overBudget(`sent ${this.limits.maxEvents} events: no more are read from it`);
    }
  }

  private overBudget(why: string): void {
    this.note(why);
    this.setState('over budget');
    this.pending?.finish();
    this.dropSocket();
  }

  private fail(note: string): void {
    this.note(note);
    this.setState('failed');
  }

  private note(text: string): void {
    const clipped = text.length > MAX_NOTE_CHARS ? `${text.slice(0, MAX_NOTE_CHARS)}…` : text;
    this.status.notes.push(clipped);
    if (this.status.notes.length > MAX_NOTES)
      this.status.notes.splice(0, this.status.notes.length - MAX_NOTES);
    this.onChange(this.status);
  }

  private setState(state: RelayState): void {
    this.status.state = state;
    this.onChange(this.status);
  }

  private sendQuietly(socket: SocketLike, message: unknown[]): void {
    try {
      socket.send(JSON.stringify(message));
    } catch {
      this.fail('could not send to the relay');
      this.pending?.finish();
    }
  }
}

/**
 * Events by id, one copy each. A copy that fails verification is replaced by one that passes, so a hostile
 * relay answering first with a forged copy of a real event cannot hide it (the only signature checks here are
 * on such collisions; the verifier checks every event).
 */
export class EventPool {
  private readonly byId = new Map<string, NostrEvent>();

  add(events: Iterable<NostrEvent>): void {
    for (const event of events) {
      const known = this.byId.get(event.id);
      if (known === undefined) this.byId.set(event.id, event);
      else if (!sameEvent(known, event) && !verifyEvent(known).ok && verifyEvent(event).ok) {
        this.byId.set(event.id, event);
      }
    }
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): NostrEvent | undefined {
    return this.byId.get(id);
  }

  all(): NostrEvent[] {
    return [...this.byId.values()];
  }
}

function sameEvent(a: NostrEvent, b: NostrEvent): boolean {
  return a.sig === b.sig && JSON.stringify(a) === JSON.stringify(b);
}

/** Runs `filters` on every open session at once and pools what comes back. */
export async function requestAll(
  sessions: readonly RelaySession[],
  filters: Filter[],
  pool: EventPool,
): Promise<void> {
  const answers = await Promise.all(sessions.map((session) => session.request(filters)));
  for (const events of answers) pool.add(events);
}

/** Stops listening to a socket and closes it, whatever state it is in (the board's relay links use it too). */
export function detachAndClose(socket: SocketLike | null): void {
  if (socket === null) return;
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
  try {
    socket.close();
  } catch {
    // already closed, or never opened
  }
}
