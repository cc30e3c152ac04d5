// An adversarial Nostr relay of our own, for tests that prove the agent survives a lying relay ("No relay can
// starve, flood or silence the agent"). It stores what is published to it (OK true, no checks) and answers REQs
// like an honest relay until misbehaviours are switched on, alone or together, by options or at run time (set()):
//   ignoreUntil / ignoreLimit / replayForever  paging that never makes progress
//   echo / replay                              events the subscription did not ask for
//   forgeries                                  forged copies next to genuine events
//   poison                                     frames that cannot be read, among genuine events
//   floods                                     NOTICE / CLOSED / EOSE / OK / AUTH at a rate, on timers
// A REQ answer is served in the order entries were added (not newest first): stored events that the filters
// select (limit keeps the newest), and every raw frame added with addRaw(), then EOSE. stats() counts what it
// received and sent. Listens on 127.0.0.1 only; stop() closes every socket and clears every timer. All loops are
// bounded: floods run on timers with a per-tick cap, and the poison frames are built by string concatenation.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Event } from 'nostr-tools/core';
import { type Filter, matchFilter, matchFilters } from 'nostr-tools/filter';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

export type HostileForgery =
  /** Same id, pubkey and content with another, valid-looking (128 hex) signature that does not verify. */
  | 'bad-signature'
  /** The same content re-signed under the relay's own key (`forgerPubkey`): a new id that verifies. */
  | 'other-key'
  /** One field changed (`forgedField`), the old id and signature kept. */
  | 'altered-field';

export type HostilePoison =
  /** Truncated JSON. */
  | 'invalid-json'
  /** An EVENT whose object has `"kind"` twice: first a wrong one, last the genuine (valid) one. */
  | 'duplicate-keys'
  /** An event whose tags nest `nestingDepth` (100,000) arrays deep. */
  | 'deep-nesting'
  /** A genuine event's kind and tags padded to `tagCount` (10,000) tags, re-signed by the relay's key. */
  | 'many-tags'
  /** A frame larger than `oversizedBytes` (2 MiB): padded content, re-signed by the relay's key. */
  | 'oversized'
  /** An EVENT for a subscription id the client never opened. */
  | 'unknown-subscription';

export const ALL_FORGERIES: readonly HostileForgery[] = ['bad-signature', 'other-key', 'altered-field'];
export const ALL_POISONS: readonly HostilePoison[] = [
  'invalid-json',
  'duplicate-keys',
  'deep-nesting',
  'many-tags',
  'oversized',
  'unknown-subscription',
];

export type FloodType = 'NOTICE' | 'CLOSED' | 'EOSE' | 'OK' | 'AUTH';

export interface FloodSpec {
  type: FloodType;
  /** Frames per second (to every open connection). Default 100. */
  perSecond?: number;
  /** Stop after this many frames; default: until stopped (set({ floods: [] }), stopFloods() or stop()). */
  count?: number;
  /** CLOSED / EOSE: the subscription id; default the connection's latest REQ (or 'flood'). */
  subscriptionId?: string;
  /** OK: the event id; default the connection's latest published event (or a made-up id). */
  eventId?: string;
  /** OK: accepted or not. Default false. */
  accepted?: boolean;
  /** NOTICE / CLOSED / OK message, AUTH challenge. Default numbered text. */
  message?: string;
}

export interface FloodHandle {
  readonly spec: Readonly<FloodSpec>;
  /** Frames emitted so far (each to every open connection). */
  readonly sent: number;
  readonly active: boolean;
  /** Resolves when the flood has ended (count reached or stopped). */
  readonly done: Promise<void>;
  stop(): void;
}

export interface HostileRelayOptions {
  /** Default: a free port. */
  port?: number;
  /** REQ answers ignore `until`: events newer than it come back too. */
  ignoreUntil?: boolean;
  /** REQ answers ignore `limit`. */
  ignoreLimit?: boolean;
  /** Every REQ gets the same events: `since`, `until` and `limit` are all ignored (other conditions kept). */
  replayForever?: boolean;
  /** Every event a client publishes is sent to every open subscription, matching or not. */
  echo?: boolean;
  /** Every new subscription gets every stored event, matching or not. */
  replay?: boolean;
  /** Forged copies served next to each genuine event (REQ answers and live delivery). true: all kinds. */
  forgeries?: boolean | readonly HostileForgery[];
  /** Where forged copies go relative to the genuine event. Default 'before'. */
  forgeryPlacement?: 'before' | 'after' | 'instead';
  /** The field 'altered-field' changes. Default 'content'. */
  forgedField?: 'content' | 'created_at' | 'kind' | 'tags';
  /** Unreadable frames served inside every REQ answer, among the genuine events. true: all kinds. */
  poison?: boolean | readonly HostilePoison[];
  /** Default 100,000. */
  nestingDepth?: number;
  /** Default 10,000. */
  tagCount?: number;
  /** The oversized frame is larger than this many bytes. Default 2 MiB. */
  oversizedBytes?: number;
  /** Floods started now; set({ floods }) stops the previous ones and starts these. */
  floods?: readonly FloodSpec[];
}

export interface HostileRelayStats {
  /** Connections accepted. */
  connections: number;
  /** REQs received in total. */
  reqs: number;
  /** REQs per subscription id. */
  reqsBySubscription: Record<string, number>;
  /** Date.now() of each REQ, in order. */
  reqTimes: number[];
  closes: number;
  closesBySubscription: Record<string, number>;
  /** EVENT frames received from clients. */
  eventsPublished: number;
  framesReceived: number;
  bytesReceived: number;
  framesSent: number;
  bytesSent: number;
  /** Frames sent by floods (per connection). */
  floodFramesSent: number;
}

export type RawFrame = string | ((subscriptionId: string) => string);

export interface HostileRelay {
  readonly url: string;
  readonly port: number;
  /** The key the relay re-signs forgeries and padded poison events with. */
  readonly forgerPubkey: string;
  /** The options in force. */
  readonly options: Readonly<HostileRelayOptions>;
  /** Changes misbehaviours at run time (merged into the options; `floods` replaces the running option floods). */
  set(options: Omit<HostileRelayOptions, 'port'>): void;
  /** Stores an event without any check. */
  add(...events: Event[]): void;
  /** A raw frame served on every REQ, in order with the stored events; a function gets the subscription id. */
  addRaw(frame: RawFrame): void;
  /** Removes every stored event and raw frame. */
  clear(): void;
  /** The stored events, in the order they were added. */
  events(): Event[];
  /** Starts one flood (independent of the option floods). */
  flood(spec: FloodSpec): FloodHandle;
  /** Stops every flood. */
  stopFloods(): void;
  /** Sends a raw text frame to every open connection; returns how many. */
  sendRaw(text: string): number;
  /** The open subscriptions, per connection. */
  subscriptions(): Array<{ connection: number; subscriptionId: string; filters: Filter[] }>;
  connectionCount(): number;
  /** Closes every client connection (the server keeps listening). */
  disconnectAll(): void;
  stats(): HostileRelayStats;
  resetStats(): void;
  /** REQs in the last `windowMs` (default 60 s), scaled to a minute. */
  reqsPerMinute(windowMs?: number): number;
  stop(): Promise<void>;
}

/** The forged copy of `event` of the given kind; 'other-key' is signed with `secretKey`. */
export function forgeEvent(
  event: Event,
  kind: HostileForgery,
  secretKey: Uint8Array,
  field: HostileRelayOptions['forgedField'] = 'content',
): Event {
  const { id, pubkey, created_at, tags, content, sig } = event;
  const plain: Event = { id, pubkey, created_at, kind: event.kind, tags, content, sig };
  switch (kind) {
    case 'bad-signature': {
      let forged = sha256Hex(`forged-signature:${sig}`) + sha256Hex(`forged-signature-2:${sig}`);
      if (forged === sig) forged = `${forged.slice(0, -1)}${forged.endsWith('0') ? '1' : '0'}`;
      return { ...plain, sig: forged };
    }
    case 'other-key': {
      const { id: _id, pubkey: _pubkey, sig: _sig, ...template } = plain;
      return plainEvent(finalizeEvent(template, secretKey));
    }
    case 'altered-field':
      switch (field) {
        case 'created_at':
          return { ...plain, created_at: created_at + 1 };
        case 'kind':
          return { ...plain, kind: event.kind === 1 ? 2 : 1 };
        case 'tags':
          return { ...plain, tags: [...tags, ['t', 'altered']] };
        default:
          return { ...plain, content: `${content} (altered)` };
      }
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Without the symbol nostr-tools marks verified events with. */
function plainEvent(event: Event): Event {
  const { id, pubkey, created_at, kind, tags, content, sig } = event;
  return { id, pubkey, created_at, kind, tags, content, sig };
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function isEventLike(value: unknown): value is Event {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

function emptyStats(): HostileRelayStats {
  return {
    connections: 0,
    reqs: 0,
    reqsBySubscription: {},
    reqTimes: [],
    closes: 0,
    closesBySubscription: {},
    eventsPublished: 0,
    framesReceived: 0,
    bytesReceived: 0,
    framesSent: 0,
    bytesSent: 0,
    floodFramesSent: 0,
  };
}

type Entry = { event: Event } | { raw: RawFrame };

interface Connection {
  id: number;
  socket: WebSocket;
  subscriptions: Map<string, Filter[]>;
  lastSubscription?: string;
  lastPublished?: string;
}

interface Flood {
  spec: FloodSpec;
  sent: number;
  active: boolean;
  startedAt: number;
  timer?: NodeJS.Timeout;
  finish: () => void;
  done: Promise<void>;
}

/** At most this many frames per flood tick, whatever the rate. */
const MAX_FLOOD_BATCH = 10_000;
/** Cached padded poison events (many-tags, oversized) kept at most. */
const MAX_CACHED_POISON = 32;

export async function startHostileRelay(initial: HostileRelayOptions = {}): Promise<HostileRelay> {
  const forgerKey = generateSecretKey();
  const forgerPubkey = getPublicKey(forgerKey);
  const options: HostileRelayOptions = { ...initial };
  const entries: Entry[] = [];
  const ids = new Set<string>();
  const connections = new Map<number, Connection>();
  const optionFloods = new Set<Flood>();
  const allFloods = new Set<Flood>();
  const poisonCache = new Map<string, Event>();
  let stats = emptyStats();
  let nextConnection = 1;
  let stopped = false;

  function send(connection: Connection, text: string): boolean {
    if (connection.socket.readyState !== WebSocket.OPEN) return false;
    connection.socket.send(text);
    stats.framesSent += 1;
    stats.bytesSent += Buffer.byteLength(text);
    return true;
  }

  const enabled = <T extends string>(setting: boolean | readonly T[] | undefined, all: readonly T[]): T[] =>
    setting === true ? [...all] : Array.isArray(setting) ? [...setting] : [];

  function storedEvents(): Event[] {
    const events: Event[] = [];
    for (const entry of entries) if ('event' in entry) events.push(entry.event);
    return events;
  }

  /** The stored events a REQ gets, with the paging misbehaviours applied. */
  function select(filters: Filter[]): Set<Event> {
    const events = storedEvents();
    if (options.replay) return new Set(events);
    const chosen = new Set<Event>();
    for (const original of filters) {
      const filter: Filter = { ...original };
      if (options.replayForever) {
        delete filter.since;
        delete filter.until;
        delete filter.limit;
      }
      if (options.ignoreUntil) delete filter.until;
      if (options.ignoreLimit) delete filter.limit;
      const matching = events
        .filter((event) => matchFilter(filter, event))
        .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const limited =
        typeof filter.limit === 'number' ? matching.slice(0, Math.max(0, filter.limit)) : matching;
      for (const event of limited) chosen.add(event);
    }
    return chosen;
  }

  /** The EVENT frames for one genuine event: forged copies placed around it. */
  function eventFrames(subscriptionId: string, event: Event): string[] {
    const genuine = JSON.stringify(['EVENT', subscriptionId, plainEvent(event)]);
    const kinds = enabled(options.forgeries, ALL_FORGERIES);
    if (kinds.length === 0) return [genuine];
    const forged = kinds.map((kind) =>
      JSON.stringify(['EVENT', subscriptionId, forgeEvent(event, kind, forgerKey, options.forgedField)]),
    );
    switch (options.forgeryPlacement ?? 'before') {
      case 'after':
        return [genuine, ...forged];
      case 'instead':
        return forged;
      default:
        return [...forged, genuine];
    }
  }

  function cachedPoison(key: string, build: () => Event): Event {
    let event = poisonCache.get(key);
    if (!event) {
      if (poisonCache.size >= MAX_CACHED_POISON) poisonCache.clear();
      event = build();
      poisonCache.set(key, event);
    }
    return event;
  }

  function poisonFrames(subscriptionId: string, base: Event): string[] {
    const sub = JSON.stringify(subscriptionId);
    const j = (value: unknown) => JSON.stringify(value);
    const frames: string[] = [];
    for (const kind of enabled(options.poison, ALL_POISONS)) {
      switch (kind) {
        case 'invalid-json':
          frames.push(`["EVENT",${sub},{"id":${j(base.id)},"kind":${base.kind},"tags":[["p",`);
          break;
        case 'duplicate-keys':
          frames.push(
            `["EVENT",${sub},{"id":${j(base.id)},"pubkey":${j(base.pubkey)},"created_at":${base.created_at},` +
              `"kind":${base.kind === 1 ? 2 : 1},"tags":${j(base.tags)},"content":${j(base.content)},` +
              `"sig":${j(base.sig)},"kind":${base.kind}}]`,
          );
          break;
        case 'deep-nesting': {
          const depth = Math.max(1, Math.floor(options.nestingDepth ?? 100_000));
          frames.push(
            `["EVENT",${sub},{"id":${j(base.id)},"pubkey":${j(base.pubkey)},"created_at":${base.created_at},` +
              `"kind":${base.kind},"tags":` +
              '['.repeat(depth) +
              ']'.repeat(depth) +
              `,"content":${j(base.content)},"sig":${j(base.sig)}}]`,
          );
          break;
        }
        case 'many-tags': {
          const count = Math.max(0, Math.floor(options.tagCount ?? 10_000));
          const event = cachedPoison(`tags:${base.id}:${count}`, () => {
            const tags = base.tags.slice(0, count);
            for (let index = tags.length; index < count; index += 1) tags.push(['t', `filler-${index}`]);
            const { kind, content, created_at } = base;
            return plainEvent(finalizeEvent({ kind, content, created_at, tags }, forgerKey));
          });
          frames.push(JSON.stringify(['EVENT', subscriptionId, event]));
          break;
        }
        case 'oversized': {
          const size = Math.max(0, Math.floor(options.oversizedBytes ?? 2 * 1024 * 1024));
          const event = cachedPoison(`size:${base.id}:${size}`, () => {
            const { kind, tags, created_at } = base;
            const content = base.content + 'x'.repeat(size + 1);
            return plainEvent(finalizeEvent({ kind, tags, content, created_at }, forgerKey));
          });
          frames.push(JSON.stringify(['EVENT', subscriptionId, event]));
          break;
        }
        case 'unknown-subscription':
          frames.push(JSON.stringify(['EVENT', `no-such-subscription-${subscriptionId}`, plainEvent(base)]));
          break;
      }
    }
    return frames;
  }

  function fallbackBase(): Event {
    return cachedPoison('base', () =>
      plainEvent(
        finalizeEvent(
          { kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content: 'poison' },
          forgerKey,
        ),
      ),
    );
  }

  function answer(connection: Connection, subscriptionId: string, filters: Filter[]): void {
    const chosen = select(filters);
    const genuine = entries.filter((entry) => 'event' in entry && chosen.has(entry.event)).length;
    const poisonAfter = Math.ceil(genuine / 2);
    let base: Event | undefined;
    let served = 0;
    let poisoned = false;
    const poisonNow = () => {
      if (poisoned) return;
      poisoned = true;
      for (const frame of poisonFrames(subscriptionId, base ?? fallbackBase())) send(connection, frame);
    };
    for (const entry of entries) {
      if (served >= poisonAfter) poisonNow();
      if ('raw' in entry) {
        send(connection, typeof entry.raw === 'string' ? entry.raw : entry.raw(subscriptionId));
        continue;
      }
      if (!chosen.has(entry.event)) continue;
      base ??= entry.event;
      for (const frame of eventFrames(subscriptionId, entry.event)) send(connection, frame);
      served += 1;
    }
    poisonNow();
    send(connection, JSON.stringify(['EOSE', subscriptionId]));
  }

  function publish(connection: Connection, value: unknown): void {
    stats.eventsPublished += 1;
    if (!isEventLike(value)) {
      send(connection, JSON.stringify(['NOTICE', 'invalid: EVENT without an event object']));
      return;
    }
    const event = plainEvent(value);
    connection.lastPublished = event.id;
    const duplicate = ids.has(event.id);
    if (!duplicate) {
      ids.add(event.id);
      entries.push({ event });
    }
    send(
      connection,
      JSON.stringify(['OK', event.id, true, duplicate ? 'duplicate: already have this event' : '']),
    );
    if (duplicate && !options.echo) return;
    for (const other of connections.values()) {
      for (const [subscriptionId, filters] of other.subscriptions) {
        const live = filters.map(({ limit: _limit, ...filter }) => filter);
        if (options.echo || matchFilters(live, event)) {
          for (const frame of eventFrames(subscriptionId, event)) send(other, frame);
        }
      }
    }
  }

  function receive(connection: Connection, text: string): void {
    stats.framesReceived += 1;
    stats.bytesReceived += Buffer.byteLength(text);
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      send(connection, JSON.stringify(['NOTICE', 'error: could not parse the message']));
      return;
    }
    if (!Array.isArray(message) || typeof message[0] !== 'string') {
      send(connection, JSON.stringify(['NOTICE', 'error: not a Nostr message']));
      return;
    }
    const [type, first, ...rest] = message as [string, unknown, ...unknown[]];
    if (type === 'EVENT') publish(connection, first);
    else if (type === 'REQ' && typeof first === 'string') {
      stats.reqs += 1;
      stats.reqsBySubscription[first] = (stats.reqsBySubscription[first] ?? 0) + 1;
      stats.reqTimes.push(Date.now());
      const filters = rest.filter(
        (filter): filter is Filter => typeof filter === 'object' && filter !== null && !Array.isArray(filter),
      );
      connection.subscriptions.set(first, filters);
      connection.lastSubscription = first;
      answer(connection, first, filters);
    } else if (type === 'CLOSE' && typeof first === 'string') {
      stats.closes += 1;
      stats.closesBySubscription[first] = (stats.closesBySubscription[first] ?? 0) + 1;
      connection.subscriptions.delete(first);
    } else {
      send(connection, JSON.stringify(['NOTICE', `error: unsupported message ${JSON.stringify(type)}`]));
    }
  }

  function floodFrame(flood: Flood, connection: Connection): string {
    const { spec } = flood;
    const number = flood.sent;
    switch (spec.type) {
      case 'NOTICE':
        return JSON.stringify(['NOTICE', spec.message ?? `flood ${number}`]);
      case 'CLOSED':
        return JSON.stringify([
          'CLOSED',
          spec.subscriptionId ?? connection.lastSubscription ?? 'flood',
          spec.message ?? `error: flood ${number}`,
        ]);
      case 'EOSE':
        return JSON.stringify(['EOSE', spec.subscriptionId ?? connection.lastSubscription ?? 'flood']);
      case 'OK':
        return JSON.stringify([
          'OK',
          spec.eventId ?? connection.lastPublished ?? sha256Hex(`flood-${number}`),
          spec.accepted ?? false,
          spec.message ?? `error: flood ${number}`,
        ]);
      case 'AUTH':
        return JSON.stringify(['AUTH', spec.message ?? `challenge-${number}`]);
    }
  }

  function endFlood(flood: Flood): void {
    if (!flood.active) return;
    flood.active = false;
    if (flood.timer) clearInterval(flood.timer);
    flood.timer = undefined;
    allFloods.delete(flood);
    optionFloods.delete(flood);
    flood.finish();
  }

  function startFlood(spec: FloodSpec): Flood {
    let finish = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const flood: Flood = { spec: { ...spec }, sent: 0, active: true, startedAt: Date.now(), finish, done };
    const perSecond = Math.max(0.001, spec.perSecond ?? 100);
    const limit = spec.count === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(spec.count));
    allFloods.add(flood);
    if (limit === 0 || stopped) {
      endFlood(flood);
      return flood;
    }
    const tick = () => {
      const due = Math.floor((perSecond * (Date.now() - flood.startedAt)) / 1000) - flood.sent;
      const batch = Math.min(Math.max(1, due), MAX_FLOOD_BATCH, limit - flood.sent);
      for (let index = 0; index < batch; index += 1) {
        for (const connection of connections.values()) {
          if (send(connection, floodFrame(flood, connection))) stats.floodFramesSent += 1;
        }
        flood.sent += 1;
      }
      if (flood.sent >= limit) endFlood(flood);
    };
    flood.timer = setInterval(tick, Math.max(5, Math.floor(1000 / perSecond)));
    return flood;
  }

  function handle(flood: Flood): FloodHandle {
    return {
      get spec() {
        return flood.spec;
      },
      get sent() {
        return flood.sent;
      },
      get active() {
        return flood.active;
      },
      done: flood.done,
      stop: () => endFlood(flood),
    };
  }

  function setFloods(specs: readonly FloodSpec[]): void {
    for (const flood of [...optionFloods]) endFlood(flood);
    for (const spec of specs) optionFloods.add(startFlood(spec));
  }

  const server = createServer((_request, response) => response.writeHead(426).end());
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (socket: WebSocket) => {
    if (stopped) {
      socket.terminate();
      return;
    }
    const connection: Connection = { id: nextConnection++, socket, subscriptions: new Map() };
    connections.set(connection.id, connection);
    stats.connections += 1;
    socket.on('message', (data: RawData) => receive(connection, textOf(data)));
    socket.on('close', () => connections.delete(connection.id));
    socket.on('error', () => {
      connections.delete(connection.id);
      socket.terminate();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(initial.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (initial.floods) setFloods(initial.floods);

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    forgerPubkey,
    get options() {
      return options;
    },
    set(changes) {
      const { floods, ...rest } = changes as HostileRelayOptions;
      Object.assign(options, rest);
      if (floods !== undefined) {
        options.floods = floods;
        setFloods(floods);
      }
    },
    add(...events) {
      for (const event of events) {
        ids.add(event.id);
        entries.push({ event: plainEvent(event) });
      }
    },
    addRaw(frame) {
      entries.push({ raw: frame });
    },
    clear() {
      entries.splice(0);
      ids.clear();
      poisonCache.clear();
    },
    events: storedEvents,
    flood: (spec) => handle(startFlood(spec)),
    stopFloods() {
      for (const flood of [...allFloods]) endFlood(flood);
    },
    sendRaw(text) {
      let sent = 0;
      for (const connection of connections.values()) if (send(connection, text)) sent += 1;
      return sent;
    },
    subscriptions() {
      const open: Array<{ connection: number; subscriptionId: string; filters: Filter[] }> = [];
      for (const connection of connections.values()) {
        for (const [subscriptionId, filters] of connection.subscriptions) {
          open.push({ connection: connection.id, subscriptionId, filters });
        }
      }
      return open;
    },
    connectionCount: () => connections.size,
    disconnectAll() {
      for (const connection of [...connections.values()]) connection.socket.close(1001, 'hostile relay');
    },
    stats() {
      return structuredClone(stats);
    },
    resetStats() {
      stats = emptyStats();
    },
    reqsPerMinute(windowMs = 60_000) {
      const since = Date.now() - windowMs;
      const recent = stats.reqTimes.filter((time) => time >= since).length;
      return (recent * 60_000) / windowMs;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const flood of [...allFloods]) endFlood(flood);
      for (const connection of connections.values()) connection.socket.terminate();
      connections.clear();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
