// Test relays: a fresh embedded relay on a temporary database, a raw WebSocket client that shows the exact protocol
// messages (OK, EOSE, CLOSED, NOTICE), and a nostr-tools client wired to `ws` (Node 20 has no global WebSocket).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event } from 'nostr-tools/core';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import { type RawData, WebSocket } from 'ws';
import {
  type EmbeddedRelay,
  type EmbeddedRelayOptions,
  startEmbeddedRelay,
  startRelayThread,
} from '../../src/relay/index.ts';

export interface TestRelay {
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  /** The running relay (a new one after restart()). */
  readonly relay: EmbeddedRelay;
  /** Stops the relay and starts it again on the same port and database. */
  restart(): Promise<void>;
  /** Stops the relay, keeping its database and port for resume(). */
  halt(): Promise<void>;
  /** Starts a halted relay again on the same port and database. */
  resume(): Promise<void>;
  /** Stops the relay and deletes its temporary database. */
  stop(): Promise<void>;
}

export type TestRelayOptions = Omit<EmbeddedRelayOptions, 'dbPath' | 'host'> & {
  /** On a worker thread of its own, as `escrow-agent start` runs it (startRelayThread; no `now` or logger then). */
  thread?: boolean;
};

export async function startTestRelay(options: TestRelayOptions = {}): Promise<TestRelay> {
  const directory = await mkdtemp(join(tmpdir(), 'escrow-relay-'));
  const dbPath = join(directory, 'relay.sqlite');
  const { thread, ...relayOptions } = options;
  const start = (port?: number): Promise<EmbeddedRelay> => {
    if (!thread)
      return startEmbeddedRelay({ ...relayOptions, dbPath, ...(port === undefined ? {} : { port }) });
    if (relayOptions.now || relayOptions.logger)
      throw new Error('startTestRelay: a relay on a thread takes no `now` or logger');
    const { now: _now, logger: _logger, onConnectionsChanged: _changed, ...plain } = relayOptions;
    return startRelayThread({ ...plain, dbPath, ...(port === undefined ? {} : { port }) });
  };
  let relay = await start();
  return {
    get url() {
      return relay.url;
    },
    get port() {
      return relay.port;
    },
    dbPath,
    get relay() {
      return relay;
    },
    async restart() {
      await relay.stop();
      relay = await start(relay.port);
    },
    async halt() {
      await relay.stop();
    },
    async resume() {
      relay = await start(relay.port);
    },
    async stop() {
      await relay.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A nostr-tools Relay connected to `url`. Note that nostr-tools drops events that do not match a subscription's filters. */
export async function connectNostrTools(url: string): Promise<Relay> {
  useWebSocketImplementation(WebSocket);
  return Relay.connect(url);
}

export type RelayMessage = unknown[];
export type OkMessage = ['OK', string, boolean, string];

export interface RawRelayClient {
  /** Every frame received so far, parsed. */
  readonly received: readonly RelayMessage[];
  send(message: unknown): void;
  sendText(text: string): void;
  /** The first not yet consumed frame that matches (default: any), waiting up to timeoutMs for it. */
  next(predicate?: (message: RelayMessage) => boolean, timeoutMs?: number): Promise<RelayMessage>;
  /** Sends EVENT and waits for its OK. */
  publish(event: Event): Promise<OkMessage>;
  /** Sends REQ and returns the stored events it gets before EOSE; the subscription stays open. */
  request(subscriptionId: string, ...filters: object[]): Promise<Event[]>;
  /** The next EVENT of a subscription. */
  nextEvent(subscriptionId: string, timeoutMs?: number): Promise<Event>;
  /** Resolves when the socket has closed. */
  closed(): Promise<void>;
  close(): Promise<void>;
}

export async function connectRawClient(url: string): Promise<RawRelayClient> {
  const socket = new WebSocket(url);
  const received: RelayMessage[] = [];
  const unread: RelayMessage[] = [];
  const waiters = new Set<() => void>();
  const isClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('message', (data: RawData) => {
    let message: RelayMessage;
    try {
      message = JSON.parse(data.toString()) as RelayMessage;
    } catch {
      return; // a hostile relay's unreadable frame: not a message
    }
    received.push(message);
    unread.push(message);
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });

  const next = (predicate: (message: RelayMessage) => boolean = () => true, timeoutMs = 5000) =>
    new Promise<RelayMessage>((resolve, reject) => {
      const take = (): boolean => {
        const index = unread.findIndex(predicate);
        if (index < 0) return false;
        const [message] = unread.splice(index, 1);
        waiters.delete(check);
        clearTimeout(timer);
        resolve(message!);
        return true;
      };
      const check = () => void take();
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`no matching relay message within ${timeoutMs} ms; received ${JSON.stringify(received)}`),
        );
      }, timeoutMs);
      if (!take()) waiters.add(check);
    });

  const send = (message: unknown) => socket.send(JSON.stringify(message));
  return {
    received,
    send,
    sendText: (text) => socket.send(text),
    next,
    async publish(event) {
      send(['EVENT', event]);
      return (await next((message) => message[0] === 'OK' && message[1] === event.id)) as OkMessage;
    },
    async request(subscriptionId, ...filters) {
      send(['REQ', subscriptionId, ...filters]);
      const events: Event[] = [];
      for (;;) {
        const message = await next(
          (candidate) =>
            (candidate[0] === 'EVENT' || candidate[0] === 'EOSE' || candidate[0] === 'CLOSED') &&
            candidate[1] === subscriptionId,
        );
        if (message[0] === 'EVENT') events.push(message[2] as Event);
        else if (message[0] === 'EOSE') return events;
        else throw new Error(`subscription ${subscriptionId} closed: ${String(message[2])}`);
      }
    },
    async nextEvent(subscriptionId, timeoutMs) {
      const message = await next(
        (candidate) => candidate[0] === 'EVENT' && candidate[1] === subscriptionId,
        timeoutMs,
      );
      return message[2] as Event;
    },
    closed: () => isClosed,
    async close() {
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
      await isClosed;
    },
  };
}

/** Publishes one event over a connection of its own and resolves with the relay's OK (rejects without one). */
export async function publishOnce(url: string, event: Event, timeoutMs = 5000): Promise<OkMessage> {
  const client = await connectRawClient(url);
  try {
    client.send(['EVENT', event]);
    return (await client.next(
      (message) => message[0] === 'OK' && message[1] === event.id,
      timeoutMs,
    )) as OkMessage;
  } finally {
    await client.close();
  }
}
