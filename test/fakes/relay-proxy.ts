// A fault-injecting WebSocket proxy in front of a real relay, for chaos tests. Every client connection gets its own
// upstream connection; each frame passes the fault rules in a fixed order:
//   rate-limit (client EVENTs, answered by the proxy) -> drop -> forge (relay EVENTs) -> duplicate -> reorder -> delay
// Rules apply to a direction, to frames a predicate accepts, to a seeded-random fraction of them and/or to the
// next N; each returns a handle to remove it. The randomness is seeded, so a failing chaos run can be replayed.
// Listens on 127.0.0.1 only.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Event } from 'nostr-tools/core';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { matchesAnyFilter } from '../../src/relay/filter-match.ts';

export type Direction = 'to-relay' | 'to-client';

export interface ProxyFrame {
  direction: Direction;
  /** Numbered from 1 in the order clients connected. */
  connection: number;
  text: string;
  /** The frame as a JSON array, or null when it is not one. */
  message: unknown[] | null;
}

export type FramePredicate = (frame: ProxyFrame) => boolean;

export interface RuleScope {
  /** Default: both directions (rate-limit and forge have a fixed direction). */
  direction?: Direction;
  /** Only frames it accepts. */
  when?: FramePredicate;
  /** Probability (seeded) that a frame in scope is hit. Default 1. */
  fraction?: number;
  /** Only the next N hits, then the rule removes itself. */
  times?: number;
}

export interface RuleHandle {
  /** How many frames the rule has hit. */
  readonly hits: number;
  remove(): void;
}

export type ForgeryMode =
  /** Same id, pubkey and content; the signature no longer verifies. */
  | 'bad-signature'
  /** Other content under the original id and signature; the id no longer matches. */
  | 'altered-content';

export interface RelayProxyOptions {
  /** The relay behind the proxy, ws://... */
  target: string;
  /** Seed of the fault randomness. Default 1. */
  seed?: number;
  port?: number;
}

export interface RelayProxy {
  readonly url: string;
  readonly port: number;
  /** Every frame that reached the proxy, before any fault. */
  readonly frames: readonly ProxyFrame[];
  drop(scope?: RuleScope): RuleHandle;
  delay(scope: RuleScope & { ms: number }): RuleHandle;
  duplicate(scope?: RuleScope & { copies?: number }): RuleHandle;
  /** Holds frames in scope until `window` of them (default 2) are held or `maxHoldMs` passed, then sends them in reverse. */
  reorder(scope?: RuleScope & { window?: number; maxHoldMs?: number }): RuleHandle;
  /** Answers a client's EVENT with `OK false rate-limited:` itself; the relay never sees it. */
  rateLimit(scope?: Omit<RuleScope, 'direction'> & { reason?: string }): RuleHandle;
  /** Sends subscribers a forged copy of a relay EVENT before the genuine one, or instead of it. */
  forge(
    scope: Omit<RuleScope, 'direction'> & { mode: ForgeryMode; placement?: 'before' | 'instead' },
  ): RuleHandle;
  /** Sends a forged copy of `event` to every open client subscription whose filters match it; returns how many. */
  injectForgery(event: Event, mode: ForgeryMode): number;
  /** Sends a raw frame to every client, as if the relay had. */
  injectToClients(message: unknown): number;
  /** Drops every open connection now; `abrupt` resets the TCP connection instead of a WebSocket close. */
  disconnectAll(options?: { abrupt?: boolean; code?: number }): void;
  /** New connections fail (HTTP 503) until acceptConnections(). */
  refuseConnections(): void;
  acceptConnections(): void;
  /** Disconnects everyone and refuses connections for `ms`: the relay is down, then back up. Resolves when up. */
  outage(ms: number): Promise<void>;
  /** Removes every fault rule and accepts connections again. */
  clearFaults(): void;
  /** Waits for a frame (already seen or future) that the predicate accepts. */
  waitForFrame(predicate: FramePredicate, timeoutMs?: number): Promise<ProxyFrame>;
  connectionCount(): number;
  stop(): Promise<void>;
}

/** A copy of `event` that must fail verification. */
export function forgeCopy(event: Event, mode: ForgeryMode): Event {
  switch (mode) {
    case 'bad-signature': {
      const last = event.sig.at(-1) === '0' ? '1' : '0';
      return { ...event, sig: event.sig.slice(0, -1) + last };
    }
    case 'altered-content':
      return { ...event, content: `${event.content} (altered)` };
  }
}

/** mulberry32: small, fast, good enough to pick frames, and reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The frame's message type (EVENT, REQ, OK, ...), if it is a Nostr message. */
export function messageType(frame: ProxyFrame): string | undefined {
  const type = frame.message?.[0];
  return typeof type === 'string' ? type : undefined;
}

/** The event an EVENT frame carries, in either direction. */
export function eventOf(frame: ProxyFrame): Event | undefined {
  if (messageType(frame) !== 'EVENT') return undefined;
  const event = frame.direction === 'to-relay' ? frame.message?.[1] : frame.message?.[2];
  return typeof event === 'object' && event !== null ? (event as Event) : undefined;
}

type RuleKind = 'rate-limit' | 'drop' | 'forge' | 'duplicate' | 'reorder' | 'delay';

interface Rule {
  kind: RuleKind;
  scope: RuleScope;
  hits: number;
  copies?: number;
  ms?: number;
  window?: number;
  maxHoldMs?: number;
  reason?: string;
  mode?: ForgeryMode;
  placement?: 'before' | 'instead';
}

interface Held {
  frames: ProxyFrame[];
  timer: NodeJS.Timeout;
}

interface Connection {
  id: number;
  client: WebSocket;
  upstream: WebSocket;
  /** Client frames waiting for the upstream connection to open. */
  pending: string[];
  /** Client-side view of its subscriptions, for injectForgery. */
  subscriptions: Map<string, object[]>;
  held: Map<Rule, Held>;
  timers: Set<NodeJS.Timeout>;
}

function parse(text: string): unknown[] | null {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

export async function startRelayProxy(options: RelayProxyOptions): Promise<RelayProxy> {
  const random = seededRandom(options.seed ?? 1);
  const rules: Rule[] = [];
  const frames: ProxyFrame[] = [];
  const frameWaiters = new Set<(frame: ProxyFrame) => void>();
  const connections = new Map<number, Connection>();
  let nextConnection = 1;
  let refusing = false;

  const addRule = (rule: Rule): RuleHandle => {
    rules.push(rule);
    return {
      get hits() {
        return rule.hits;
      },
      remove: () => removeRule(rule),
    };
  };

  function removeRule(rule: Rule): void {
    const index = rules.indexOf(rule);
    if (index >= 0) rules.splice(index, 1);
  }

  /** The first rule of `kind` that hits the frame; counts the hit. Randomness is drawn only for frames in scope. */
  function hit(kind: RuleKind, frame: ProxyFrame): Rule | undefined {
    for (const rule of rules) {
      if (rule.kind !== kind) continue;
      const { direction, when, fraction, times } = rule.scope;
      if (direction !== undefined && direction !== frame.direction) continue;
      if (times !== undefined && rule.hits >= times) continue;
      if (when !== undefined && !when(frame)) continue;
      if (fraction !== undefined && random() >= fraction) continue;
      rule.hits += 1;
      if (times !== undefined && rule.hits >= times && kind !== 'reorder') removeRule(rule);
      return rule;
    }
    return undefined;
  }

  function sink(connection: Connection, direction: Direction): WebSocket {
    return direction === 'to-relay' ? connection.upstream : connection.client;
  }

  function send(connection: Connection, direction: Direction, text: string): void {
    const socket = sink(connection, direction);
    if (direction === 'to-relay' && socket.readyState === WebSocket.CONNECTING) connection.pending.push(text);
    else if (socket.readyState === WebSocket.OPEN) socket.send(text);
  }

  function later(connection: Connection, ms: number, action: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      connection.timers.delete(timer);
      action();
    }, ms);
    connection.timers.add(timer);
    return timer;
  }

  function deliver(connection: Connection, frame: ProxyFrame): void {
    const delay = hit('delay', frame);
    if (delay) later(connection, delay.ms ?? 0, () => send(connection, frame.direction, frame.text));
    else send(connection, frame.direction, frame.text);
  }

  function release(connection: Connection, rule: Rule): void {
    const held = connection.held.get(rule);
    if (!held) return;
    clearTimeout(held.timer);
    connection.timers.delete(held.timer);
    connection.held.delete(rule);
    for (const frame of held.frames.reverse()) deliver(connection, frame);
    if (rule.scope.times !== undefined && rule.hits >= rule.scope.times) removeRule(rule);
  }

  function reorderOrDeliver(connection: Connection, frame: ProxyFrame): void {
    const rule = hit('reorder', frame);
    if (!rule) {
      deliver(connection, frame);
      return;
    }
    let held = connection.held.get(rule);
    if (!held) {
      held = { frames: [], timer: later(connection, rule.maxHoldMs ?? 100, () => release(connection, rule)) };
      connection.held.set(rule, held);
    }
    held.frames.push(frame);
    if (held.frames.length >= (rule.window ?? 2)) release(connection, rule);
  }

  function track(connection: Connection, frame: ProxyFrame): void {
    const message = frame.message;
    if (frame.direction !== 'to-relay' || !message || typeof message[1] !== 'string') return;
    if (message[0] === 'REQ') connection.subscriptions.set(message[1], message.slice(2) as object[]);
    if (message[0] === 'CLOSE') connection.subscriptions.delete(message[1]);
  }

  function pass(connection: Connection, direction: Direction, text: string): void {
    const frame: ProxyFrame = { direction, connection: connection.id, text, message: parse(text) };
    frames.push(frame);
    for (const wake of frameWaiters) wake(frame);
    track(connection, frame);

    const event = eventOf(frame);
    const limited = direction === 'to-relay' && event ? hit('rate-limit', frame) : undefined;
    if (event && limited) {
      send(connection, 'to-client', JSON.stringify(['OK', event.id, false, limited.reason]));
      return;
    }
    if (hit('drop', frame)) return;
    if (direction === 'to-client' && event) {
      const forge = hit('forge', frame);
      if (forge) {
        const forged = forgeCopy(event, forge.mode ?? 'bad-signature');
        send(connection, 'to-client', JSON.stringify(['EVENT', frame.message?.[1], forged]));
        if (forge.placement === 'instead') return;
      }
    }
    const copies = 1 + (hit('duplicate', frame)?.copies ?? 0);
    for (let copy = 0; copy < copies; copy += 1) reorderOrDeliver(connection, frame);
  }

  function close(connection: Connection, abrupt: boolean, code = 1001): void {
    for (const timer of connection.timers) clearTimeout(timer);
    connection.timers.clear();
    connection.held.clear();
    for (const socket of [connection.client, connection.upstream]) {
      if (abrupt) socket.terminate();
      else if (socket.readyState === WebSocket.OPEN) socket.close(code, 'proxy');
      else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    }
    connections.delete(connection.id);
  }

  const sockets = new WebSocketServer({ noServer: true });
  const server = createServer((_request, response) => response.writeHead(426).end());
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (refusing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (client) => {
      const connection: Connection = {
        id: nextConnection++,
        client,
        upstream: new WebSocket(options.target),
        pending: [],
        subscriptions: new Map(),
        held: new Map(),
        timers: new Set(),
      };
      connections.set(connection.id, connection);
      const { upstream } = connection;
      upstream.on('open', () => {
        for (const text of connection.pending.splice(0)) upstream.send(text);
      });
      upstream.on('message', (data: RawData) => pass(connection, 'to-client', textOf(data)));
      client.on('message', (data: RawData) => pass(connection, 'to-relay', textOf(data)));
      // Either side going away takes the other with it, as a relay restart would.
      upstream.on('close', () => close(connection, false));
      client.on('close', () => close(connection, false));
      upstream.on('error', () => close(connection, true));
      client.on('error', () => close(connection, true));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const disconnectAll = (disconnect: { abrupt?: boolean; code?: number } = {}) => {
    for (const connection of [...connections.values()])
      close(connection, disconnect.abrupt ?? false, disconnect.code);
  };

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    frames,
    drop: (scope = {}) => addRule({ kind: 'drop', scope, hits: 0 }),
    delay: ({ ms, ...scope }) => addRule({ kind: 'delay', scope, hits: 0, ms }),
    duplicate: ({ copies = 1, ...scope } = {}) => addRule({ kind: 'duplicate', scope, hits: 0, copies }),
    reorder: ({ window = 2, maxHoldMs = 100, ...scope } = {}) =>
      addRule({ kind: 'reorder', scope, hits: 0, window, maxHoldMs }),
    rateLimit: ({ reason = 'rate-limited: slow down (proxy)', ...scope } = {}) =>
      addRule({
        kind: 'rate-limit',
        scope: { ...scope, direction: 'to-relay', when: andIsEvent(scope.when) },
        hits: 0,
        reason,
      }),
    forge: ({ mode, placement = 'before', ...scope }) =>
      addRule({
        kind: 'forge',
        scope: { ...scope, direction: 'to-client', when: andIsEvent(scope.when) },
        hits: 0,
        mode,
        placement,
      }),
    injectForgery(event, mode) {
      const forged = forgeCopy(event, mode);
      let sent = 0;
      for (const connection of connections.values()) {
        for (const [subscriptionId, filters] of connection.subscriptions) {
          if (!matchesAnyFilter(event, filters)) continue;
          send(connection, 'to-client', JSON.stringify(['EVENT', subscriptionId, forged]));
          sent += 1;
        }
      }
      return sent;
    },
    injectToClients(message) {
      for (const connection of connections.values()) send(connection, 'to-client', JSON.stringify(message));
      return connections.size;
    },
    disconnectAll,
    refuseConnections() {
      refusing = true;
    },
    acceptConnections() {
      refusing = false;
    },
    async outage(ms) {
      refusing = true;
      disconnectAll();
      await new Promise((resolve) => setTimeout(resolve, ms));
      refusing = false;
    },
    clearFaults() {
      rules.splice(0);
      refusing = false;
    },
    waitForFrame(predicate, timeoutMs = 5000) {
      const seen = frames.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          frameWaiters.delete(wake);
          reject(new Error(`no matching frame through the proxy within ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = (frame: ProxyFrame) => {
          if (!predicate(frame)) return;
          clearTimeout(timer);
          frameWaiters.delete(wake);
          resolve(frame);
        };
        frameWaiters.add(wake);
      });
    },
    connectionCount: () => connections.size,
    async stop() {
      disconnectAll({ abrupt: true });
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function andIsEvent(when: FramePredicate | undefined): FramePredicate {
  return (frame) => eventOf(frame) !== undefined && (when === undefined || when(frame));
}
