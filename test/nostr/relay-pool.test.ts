// The relay pool against real embedded relays on 127.0.0.1 (test/fakes/relay.ts), with faults from the proxy
// (test/fakes/relay-proxy.ts): delivery from every relay, one publish result per write relay, first connections
// retried, resubscription after restarts and CLOSED, catch-up from the cursor, silent relays, forgeries, stop(),
// and the plain subscriptions (no cursor) the NWC adapter uses.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Event } from 'nostr-tools/core';
import { verifiedSymbol } from 'nostr-tools/core';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  publishOutcome,
  RelayPool,
  type RelayPoolOptions,
  type RelayStatus,
} from '../../src/nostr/relay-pool.ts';
import { captureLogger, waitUntil } from '../fakes/pool-test-kit.ts';
import { connectRawClient, startTestRelay, type TestRelay, type TestRelayOptions } from '../fakes/relay.ts';
import { messageType, type ProxyFrame, type RelayProxy, startRelayProxy } from '../fakes/relay-proxy.ts';

const agent = getPublicKey(generateSecretKey());
const alice = generateSecretKey();
const FILTERS = [{ kinds: [1], '#p': [agent] }];
const nowSeconds = () => Math.floor(Date.now() / 1000);
let counter = 0;

/** A kind-1 note to the agent, as a client would publish it. */
function note(content = `note ${++counter}`, createdAt = nowSeconds()): Event {
  return finalizeEvent({ kind: 1, created_at: createdAt, tags: [['p', agent]], content }, alice);
}

/** The store's relay_cursors, in memory, with every write kept. */
function memoryCursors(initial: Record<string, number> = {}) {
  const values = new Map(Object.entries(initial));
  const writes: Array<{ relay: string; since: number }> = [];
  return {
    writes,
    values,
    async get(relay: string) {
      return values.get(relay) ?? null;
    },
    async set(relay: string, since: number) {
      writes.push({ relay, since });
      values.set(relay, since);
    },
  };
}

/** The inbound feed hands on each event's raw JSON text (the intake parses it strictly); the tests read it. */
function asEvent(event: unknown): Event {
  return (typeof event === 'string' ? JSON.parse(event) : event) as Event;
}

interface Received {
  event: Event;
  relay: string;
}

/** Resources of one test, released in reverse order however the test ends. */
class Scope {
  private readonly releases: Array<() => Promise<void>> = [];
  readonly received: Received[] = [];

  async relay(options: TestRelayOptions = {}): Promise<TestRelay> {
    const relay = await startTestRelay(options);
    this.releases.push(() => relay.stop());
    return relay;
  }

  async proxy(target: string): Promise<RelayProxy> {
    const proxy = await startRelayProxy({ target });
    this.releases.push(() => proxy.stop());
    return proxy;
  }

  /** A started pool with fast timings; every event it delivers lands in `received`. */
  pool(options: Partial<RelayPoolOptions> & Pick<RelayPoolOptions, 'relays'>): RelayPool {
    const pool = new RelayPool({
      filters: FILTERS,
      cursors: memoryCursors(),
      onEvent: (event, relay) => {
        this.received.push({ event: asEvent(event), relay });
      },
      backoff: { initialMs: 20, maxMs: 200, jitter: 0.2 },
      connectTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      publishTimeoutMs: 1000,
      probeIntervalMs: 200,
      ...options,
    });
    this.releases.push(() => pool.stop());
    pool.start();
    return pool;
  }

  idsFrom(relay: string): string[] {
    return this.received.filter((entry) => entry.relay === relay).map((entry) => entry.event.id);
  }

  has(id: string, relay?: string): boolean {
    return this.received.some(
      (entry) => entry.event.id === id && (relay === undefined || entry.relay === relay),
    );
  }

  async release(): Promise<void> {
    for (const release of this.releases.reverse()) await release();
  }
}

async function withScope(body: (scope: Scope) => Promise<void>): Promise<void> {
  const scope = new Scope();
  try {
    await body(scope);
  } finally {
    await scope.release();
  }
}

const statusOf = (pool: RelayPool, url: string): RelayStatus => {
  const status = pool.status().find((entry) => entry.url === url);
  if (!status) throw new Error(`no status for ${url}`);
  return status;
};
const isLive = (pool: RelayPool, url: string) => () => statusOf(pool, url).state === 'live';
const allLive = (pool: RelayPool) => () => pool.status().every((status) => status.state === 'live');

/** Publishes straight to the relay, as another client would. */
async function publishDirect(url: string, ...events: Event[]): Promise<void> {
  const client = await connectRawClient(url);
  for (const event of events) {
    const [, , accepted, reason] = await client.publish(event);
    if (!accepted) throw new Error(`relay refused a test event: ${reason}`);
  }
  await client.close();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const reqIds = (proxy: RelayProxy, prefix: string): string[] =>
  proxy.frames
    .filter((frame) => frame.direction === 'to-relay' && messageType(frame) === 'REQ')
    .map((frame) => String(frame.message?.[1]))
    .filter((id) => id.startsWith(prefix));

test('events from two relays are delivered, each with the relay it came from', async () => {
  await withScope(async (scope) => {
    const first = await scope.relay();
    const second = await scope.relay();
    const pool = scope.pool({ relays: [first, second].map(({ url }) => ({ url, read: true, write: true })) });
    await waitUntil(allLive(pool), 'both relays are live');
    const one = note();
    const two = note();
    await publishDirect(first.url, one);
    await publishDirect(second.url, two);
    await waitUntil(
      () => scope.has(one.id, first.url) && scope.has(two.id, second.url),
      'both events arrived',
    );
    assert.ok(pool.status().every((status) => status.lastEventAt !== null));
    assert.not.ok(scope.has(one.id, second.url));
    assert.not.ok(scope.has(two.id, first.url));
  });
});

test("publish returns one result per write relay with the relay's own OK reason: accepted, duplicate, rejected", async () => {
  await withScope(async (scope) => {
    const plain = await scope.relay();
    const limited = await scope.relay();
    const readOnly = await scope.relay();
    const proxy = await scope.proxy(limited.url);
    proxy.rateLimit({ reason: 'rate-limited: slow down there' });
    const pool = scope.pool({
      relays: [
        { url: plain.url, read: true, write: true },
        { url: proxy.url, read: false, write: true },
        { url: readOnly.url, read: true, write: false },
      ],
    });
    await waitUntil(allLive(pool), 'all relays are live');
    const event = note();
    assert.equal(await pool.publish(event), [
      { relay: plain.url, ok: true, message: '' },
      { relay: proxy.url, ok: false, message: 'rate-limited: slow down there' },
    ]);
    const [again] = await pool.publish(event, [plain.url]);
    assert.is(again?.ok, true);
    assert.match(again?.message ?? '', /^duplicate:/);
    const forged = { ...note(), sig: '0'.repeat(128) };
    const [refused] = await pool.publish(forged, [plain.url]);
    assert.is(refused?.ok, false);
    assert.match(refused?.message ?? '', /^invalid:/);
    assert.equal(await pool.publish(event, [readOnly.url, 'wss://elsewhere.example']), [
      { relay: readOnly.url, ok: false, message: 'error: not a write relay' },
      { relay: 'wss://elsewhere.example', ok: false, message: 'error: not one of the pool relays' },
    ]);
  });
});

test('publish to a relay that is not connected answers error: not connected at once', async () => {
  await withScope(async (scope) => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const relays = [{ url, read: true, write: true }];
    const idle = new RelayPool({ relays, filters: FILTERS, cursors: memoryCursors(), onEvent: () => {} });
    assert.equal(await idle.publish(note()), [{ relay: url, ok: false, message: 'error: not connected' }]);
    const pool = scope.pool({ relays });
    await waitUntil(() => statusOf(pool, url).attempts >= 1, 'a first attempt failed');
    const started = Date.now();
    assert.equal(await pool.publish(note()), [{ relay: url, ok: false, message: 'error: not connected' }]);
    assert.ok(Date.now() - started < 100);
  });
});

test('a relay that is down at start is connected when it comes up (the first connection is retried)', async () => {
  await withScope(async (scope) => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}`;
    const statuses: RelayStatus[] = [];
    const pool = scope.pool({
      relays: [{ url, read: true, write: true }],
      onStatus: (_relay, s) => statuses.push(s),
    });
    await waitUntil(() => statusOf(pool, url).attempts >= 3, 'three attempts failed');
    const down = statusOf(pool, url);
    assert.is(down.connected, false);
    assert.match(down.lastError ?? '', /ECONNREFUSED/);
    const relay = await scope.relay({ port });
    await waitUntil(isLive(pool, url), 'the relay is live');
    assert.equal(
      { ...statusOf(pool, url), lastEventAt: null, cursor: null },
      {
        url,
        read: true,
        write: true,
        state: 'live',
        connected: true,
        attempts: 0,
        lastError: null,
        lastEventAt: null,
        cursor: null,
      },
    );
    assert.ok(statuses.some((status) => status.state === 'waiting'));
    const event = note();
    await publishDirect(relay.url, event);
    await waitUntil(() => scope.has(event.id), 'the event arrived');
  });
});

test('a relay that refuses connections for a while (HTTP 503) is reached once it accepts them again', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    proxy.refuseConnections();
    const pool = scope.pool({ relays: [{ url: proxy.url, read: true, write: true }] });
    await waitUntil(() => statusOf(pool, proxy.url).attempts >= 2, 'two attempts were refused');
    assert.match(statusOf(pool, proxy.url).lastError ?? '', /503/);
    proxy.acceptConnections();
    await waitUntil(isLive(pool, proxy.url), 'the relay is live');
    const event = note();
    await publishDirect(relay.url, event);
    await waitUntil(() => scope.has(event.id), 'the event arrived');
  });
});

test('after a relay restart the subscription resumes and receives new events', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const statuses: RelayStatus[] = [];
    scope.pool({
      relays: [{ url: relay.url, read: true, write: true }],
      onStatus: (_relay, status) => statuses.push(status),
    });
    // How often the relay became live: a restart must add one.
    const goneLive = () =>
      statuses.filter((status, index) => status.state === 'live' && statuses[index - 1]?.state !== 'live')
        .length;
    await waitUntil(() => goneLive() === 1, 'the relay is live');
    const before = note();
    await publishDirect(relay.url, before);
    await waitUntil(() => scope.has(before.id), 'the first event arrived');
    await relay.restart();
    await waitUntil(() => goneLive() === 2, 'the relay is live again');
    const after = note();
    await publishDirect(relay.url, after);
    await waitUntil(() => scope.has(after.id), 'the event published after the restart arrived');
    await relay.restart();
    await waitUntil(() => goneLive() === 3, 'the relay is live after a second restart');
    const third = note();
    await publishDirect(relay.url, third);
    await waitUntil(() => scope.has(third.id), 'the event published after the second restart arrived');
  });
});

test('an event published while the pool was stopped is delivered after start, from the stored cursor', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const cursors = memoryCursors();
    const relays = [{ url: relay.url, read: true, write: true }];
    const first = scope.pool({ relays, cursors });
    await waitUntil(() => cursors.values.has(relay.url), 'the first catch-up saved a cursor');
    await first.stop();
    const cursor = cursors.values.get(relay.url)!;
    const missed = note('published while the agent was down');
    // Older than cursor - overlap: outside the catch-up window, so not fetched again.
    const backdated = note('backdated beyond the overlap', cursor - 700);
    await publishDirect(relay.url, missed, backdated);
    const received = scope.received.length;
    const second = scope.pool({ relays, cursors, overlapSeconds: 600 });
    await waitUntil(isLive(second, relay.url), 'the relay is live and caught up');
    assert.ok(scope.has(missed.id), 'the missed event arrived');
    assert.not.ok(scope.received.slice(received).some((entry) => entry.event.id === backdated.id));
  });
});

test('more events than pageLimit published while the pool was stopped are all delivered, oldest first', async () => {
  await withScope(async (scope) => {
    // The relay caps `limit` at 4, below the pool's pageLimit of 5: pages it cuts short must not end the catch-up.
    const relay = await scope.relay({ defaultLimit: 3, maxLimit: 4 });
    const start = nowSeconds() - 300;
    const cursors = memoryCursors({ [relay.url]: start });
    // 23 events, three to a second, so that pages end inside a second.
    const events = Array.from({ length: 23 }, (_, index) =>
      note(`backlog ${index}`, start + 1 + Math.floor(index / 3)),
    );
    await publishDirect(relay.url, ...events);
    const proxy = await scope.proxy(relay.url);
    const pool = scope.pool({ relays: [{ url: proxy.url, read: true, write: true }], cursors, pageLimit: 5 });
    await waitUntil(isLive(pool, proxy.url), 'the relay is live');
    const delivered = scope.received.map((entry) => entry.event);
    assert.equal(new Set(delivered.map((event) => event.id)), new Set(events.map((event) => event.id)));
    assert.is(
      delivered.length,
      23,
      'identical copies from the live subscription and the pages are delivered once',
    );
    const times = delivered.map((event) => event.created_at);
    assert.equal(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.ok(reqIds(proxy, 'catch-up:').length >= 6, `pages: ${reqIds(proxy, 'catch-up:').length}`);
  });
});

test('with two filters each is paged on its own, so a short filter does not cut the pages of a long one', async () => {
  await withScope(async (scope) => {
    // A small default limit, so that the live subscription's stored events do not stand in for the pages.
    const relay = await scope.relay({ defaultLimit: 2 });
    const start = nowSeconds() - 300;
    const reaction = (index: number) =>
      finalizeEvent({ kind: 7, created_at: start + 1 + index, tags: [['p', agent]], content: '+' }, alice);
    // Old reactions and a long run of newer notes: one shared `until` would jump from the notes' first page
    // straight back to the reactions' time and skip the older notes.
    const reactions = [0, 1, 2].map(reaction);
    const notes = Array.from({ length: 12 }, (_, index) => note(`note ${index}`, start + 10 + index));
    await publishDirect(relay.url, ...reactions, ...notes);
    scope.pool({
      relays: [{ url: relay.url, read: true, write: true }],
      filters: [
        { kinds: [1], '#p': [agent] },
        { kinds: [7], '#p': [agent] },
      ],
      cursors: memoryCursors({ [relay.url]: start }),
      pageLimit: 4,
    });
    const expected = [...reactions, ...notes].map((event) => event.id);
    await waitUntil(() => expected.every((id) => scope.has(id)), 'every event of both filters arrived');
  });
});

test('a relay that accepts but never answers OK gives error: timeout without holding up the others', async () => {
  await withScope(async (scope) => {
    const answering = await scope.relay();
    const mute = await scope.relay();
    const proxy = await scope.proxy(mute.url);
    proxy.drop({ direction: 'to-client', when: (frame) => messageType(frame) === 'OK' });
    const pool = scope.pool({
      relays: [
        { url: answering.url, read: true, write: true },
        { url: proxy.url, read: true, write: true },
      ],
      publishTimeoutMs: 600,
    });
    await waitUntil(allLive(pool), 'both relays are live');
    const started = Date.now();
    let slowSettled = false;
    const slow = pool.publish(note()).finally(() => {
      slowSettled = true;
    });
    const [alone] = await pool.publish(note(), [answering.url]);
    assert.is(alone?.ok, true);
    assert.not.ok(slowSettled, 'the answering relay answered while the mute one was still waiting');
    assert.equal(
      (await slow).map(({ ok, message }) => ({ ok, message })),
      [
        { ok: true, message: '' },
        { ok: false, message: 'error: timeout' },
      ],
    );
    assert.ok(Date.now() - started >= 590, 'the mute relay was given the whole publish timeout');
    assert.is(statusOf(pool, proxy.url).state, 'live', 'a missing OK does not drop the connection');
  });
});

test('forged copies from a relay still reach onEvent, unverified, beside the genuine event', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    const pool = scope.pool({ relays: [{ url: proxy.url, read: true, write: true }] });
    await waitUntil(isLive(pool, proxy.url), 'the relay is live');
    proxy.forge({ mode: 'bad-signature', placement: 'before', times: 1 });
    const genuine = note();
    await publishDirect(relay.url, genuine);
    await waitUntil(
      () => scope.idsFrom(proxy.url).filter((id) => id === genuine.id).length >= 2,
      'both copies',
    );
    const copies = scope.received
      .filter((entry) => entry.event.id === genuine.id)
      .map((entry) => entry.event);
    assert.is(copies.length, 2);
    assert.is(copies[0]?.sig === genuine.sig, false, 'the forged copy comes first');
    for (const copy of copies) assert.not.ok(verifiedSymbol in copy, 'the pool marked nothing as verified');
    assert.equal(
      copies.map((copy) => verifyEvent(structuredClone(copy))),
      [false, true],
    );
    // A copy that no nostr-tools filter check or signature check would let through: it still arrives.
    const injected = note();
    assert.is(proxy.injectForgery(injected, 'altered-content'), 1);
    await waitUntil(() => scope.has(injected.id), 'the injected forgery arrived');
  });
});

test('a silent relay is noticed by the probe, dropped and reconnected', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    const pool = scope.pool({
      relays: [{ url: proxy.url, read: true, write: true }],
      probeIntervalMs: 100,
      requestTimeoutMs: 300,
    });
    await waitUntil(isLive(pool, proxy.url), 'the relay is live');
    // The proxy still answers WebSocket pings itself: only a Nostr-level probe sees the relay is gone.
    const silence = proxy.drop({ direction: 'to-client' });
    await waitUntil(() => /no answer/.test(statusOf(pool, proxy.url).lastError ?? ''), 'the probe noticed');
    silence.remove();
    await waitUntil(isLive(pool, proxy.url), 'the relay is live again');
    assert.ok(Math.max(...proxy.frames.map((frame) => frame.connection)) >= 2, 'a new connection');
    const event = note();
    await publishDirect(relay.url, event);
    await waitUntil(() => scope.has(event.id), 'the event arrived');
  });
});

test('a subscription the relay CLOSEs is opened again, and events published meanwhile still arrive', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    const { logger, lines } = captureLogger();
    const pool = scope.pool({ relays: [{ url: proxy.url, read: true, write: true }], logger });
    await waitUntil(isLive(pool, proxy.url), 'the relay is live');
    const [live] = reqIds(proxy, 'live:');
    // The relay ends the subscription: nothing more comes under its id.
    proxy.drop({
      direction: 'to-client',
      when: (frame) => messageType(frame) === 'EVENT' && frame.message?.[1] === live,
    });
    proxy.injectToClients(['CLOSED', live, 'error: shutting down idle subscriptions']);
    const meanwhile = note();
    await publishDirect(relay.url, meanwhile);
    await waitUntil(() => reqIds(proxy, 'live:').length >= 2, 'a new live subscription');
    await waitUntil(isLive(pool, proxy.url), 'the relay is live again');
    await waitUntil(() => scope.has(meanwhile.id), 'the event published meanwhile arrived by catch-up');
    const closes = proxy.frames.filter(
      (frame) => messageType(frame) === 'CLOSE' && frame.message?.[1] === live,
    );
    assert.ok(closes.length >= 1, 'the old subscription id was closed too');
    assert.ok(lines.some((line) => line.message === 'relay closed the subscription'));
    const after = note();
    await publishDirect(relay.url, after);
    await waitUntil(() => scope.has(after.id), 'a later event arrived live');
  });
});

test('the cursor moves only after a complete catch-up, and not while the relay is unreachable', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    const cursors = memoryCursors();
    // The pool's clock, moved by hand: a cursor is saved only when it moves forward.
    let clock = nowSeconds();
    const isPageEose = (frame: ProxyFrame) =>
      messageType(frame) === 'EOSE' && String(frame.message?.[1]).startsWith('catch-up:');
    // Catch-up pages never end: the relay is dropped again and again, and no cursor may be saved meanwhile.
    const stuck = proxy.drop({ direction: 'to-client', when: isPageEose });
    const pool = scope.pool({
      relays: [{ url: proxy.url, read: true, write: true }],
      cursors,
      now: () => clock,
      probeIntervalMs: 50,
      requestTimeoutMs: 200,
    });
    await waitUntil(() => statusOf(pool, proxy.url).attempts >= 2, 'two catch-ups failed', 5000);
    assert.equal(cursors.writes, []);
    stuck.remove();
    await waitUntil(() => cursors.writes.length >= 1, 'the cursor was saved after the catch-up');
    clock += 1;
    await waitUntil(() => cursors.writes.length >= 2, 'the probe saves the cursor again');
    proxy.refuseConnections();
    proxy.disconnectAll();
    await waitUntil(() => !statusOf(pool, proxy.url).connected, 'the relay is down');
    clock += 1;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.is(cursors.writes.length, 2, 'no cursor is saved while the relay is down');
    proxy.acceptConnections();
    await waitUntil(() => cursors.writes.length >= 3, 'the cursor moves again after the reconnect');
    assert.equal(
      cursors.writes.map((write) => write.since),
      [clock - 2, clock - 1, clock],
      'the time of each probe, once per new second, never going back',
    );
  });
});

test('an onEvent that throws or rejects is logged, and delivery goes on', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const { logger, lines } = captureLogger();
    const seen: string[] = [];
    const pool = scope.pool({
      relays: [{ url: relay.url, read: true, write: true }],
      logger,
      onEvent: (event) => {
        const { id, content } = asEvent(event);
        seen.push(id);
        if (content === 'throw') throw new Error('consumer threw');
        if (content === 'reject') return Promise.reject(new Error('consumer rejected'));
      },
    });
    await waitUntil(isLive(pool, relay.url), 'the relay is live');
    const events = [note('throw'), note('reject'), note('fine')];
    await publishDirect(relay.url, ...events);
    await waitUntil(() => events.every((event) => seen.includes(event.id)), 'all three were handed over');
    await waitUntil(() => lines.filter((line) => line.level === 'error').length >= 2, 'both failures logged');
    assert.is(statusOf(pool, relay.url).state, 'live');
  });
});

test('stop() closes every connection and leaves nothing that keeps the process alive', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    proxy.drop({ direction: 'to-client', when: (frame) => messageType(frame) === 'OK' });
    const down = `ws://127.0.0.1:${await freePort()}`;
    const poolModule = new URL('../../src/nostr/relay-pool.ts', import.meta.url).href;
    // The child connects, leaves a publish waiting for an OK that never comes and a reconnect timer pending,
    // then stops the pool and must exit on its own.
    const script = `
      const { RelayPool } = await import(${JSON.stringify(poolModule)});
      const pool = new RelayPool({
        relays: [{ url: ${JSON.stringify(proxy.url)}, read: true, write: true }, { url: ${JSON.stringify(down)}, read: true, write: true }],
        filters: [{ kinds: [1] }],
        cursors: { get: async () => null, set: async () => {} },
        onEvent: () => {},
        backoff: { initialMs: 5000, maxMs: 5000, jitter: 0 },
        probeIntervalMs: 5000,
      });
      pool.start();
      while (pool.status()[0].state !== 'live' || pool.status()[1].attempts < 1) await new Promise((r) => setTimeout(r, 10));
      const pending = pool.publish(${JSON.stringify(note())});
      await new Promise((r) => setTimeout(r, 50));
      await pool.stop();
      console.log(JSON.stringify({ stopped: Date.now(), results: await pending, status: pool.status() }));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const exited = await new Promise<{ code: number | null; at: number }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the child did not exit after stop(): ${output}`));
      }, 20_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, at: Date.now() });
      });
    });
    assert.is(exited.code, 0, output);
    const report = JSON.parse(output.trim().split('\n').at(-1)!) as {
      stopped: number;
      results: unknown;
      status: RelayStatus[];
    };
    // The child's timers (reconnect, probe) are 5 s long: exiting well before shows none of them survived stop().
    assert.ok(exited.at - report.stopped < 3000, `exited ${exited.at - report.stopped} ms after stop()`);
    assert.equal(report.results, [
      { relay: proxy.url, ok: false, message: 'error: pool stopped' },
      { relay: down, ok: false, message: 'error: not connected' },
    ]);
    assert.ok(report.status.every((status) => status.state === 'idle' && !status.connected));
    await waitUntil(
      () => proxy.connectionCount() === 0 && relay.relay.connectionCount() === 0,
      'connections closed',
    );
  });
});

test('stop() in this process closes the relay connections and is safe to call twice', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const pool = scope.pool({ relays: [{ url: relay.url, read: true, write: true }] });
    await waitUntil(isLive(pool, relay.url), 'the relay is live');
    assert.is(relay.relay.connectionCount(), 1);
    await Promise.all([pool.stop(), pool.stop()]);
    await waitUntil(() => relay.relay.connectionCount() === 0, 'the relay saw the connection close');
    assert.equal(await pool.publish(note()), [
      { relay: relay.url, ok: false, message: 'error: pool stopped' },
    ]);
    assert.throws(() => pool.start(), /stopped/);
  });
});

test('bad options are refused when the pool is made', () => {
  const base = { relays: [{ url: 'ws://127.0.0.1:1', read: true, write: true }], cursors: memoryCursors() };
  const make = (options: Partial<RelayPoolOptions>) => () =>
    new RelayPool({ ...base, filters: FILTERS, onEvent: () => {}, ...options });
  assert.throws(make({ relays: [] }), /no relay/);
  assert.throws(make({ filters: [{ kinds: [1], since: 5 }] }), /must not set since/);
  assert.throws(make({ filters: [] }), /at least one filter/);
  assert.throws(
    make({
      relays: [
        { url: 'ws://Relay.example/', read: true, write: true },
        { url: 'ws://relay.example:80', read: true, write: false },
      ],
    }),
    /listed twice/,
  );
  assert.throws(
    make({ relays: [{ url: 'https://relay.example', read: true, write: true }] }),
    /ws:\/\/ or wss:\/\//,
  );
  assert.throws(make({ backoff: { jitter: 2 } }), /jitter/);
});

test('the socket layer: NOTICE is logged, frames that are not Nostr messages are ignored, a frame over the size limit drops the connection', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    const { logger, lines } = captureLogger();
    const pool = scope.pool({
      relays: [{ url: proxy.url, read: true, write: true }],
      logger,
      maxMessageBytes: 4096,
    });
    await waitUntil(isLive(pool, proxy.url), 'the relay is live');
    proxy.injectToClients(['NOTICE', 'hello from the relay']);
    proxy.injectToClients('not an array');
    proxy.injectToClients(['EVENT']);
    proxy.injectToClients(['EOSE', 42]);
    await waitUntil(() => lines.some((line) => line.message === 'relay notice'), 'the notice was logged');
    assert.is(statusOf(pool, proxy.url).state, 'live');
    assert.is(scope.received.length, 0);
    proxy.injectToClients(['NOTICE', 'x'.repeat(8192)]);
    await waitUntil(() => /payload/i.test(statusOf(pool, proxy.url).lastError ?? ''), 'dropped for its size');
    await waitUntil(isLive(pool, proxy.url), 'the relay is live again');
    const event = note();
    await publishDirect(relay.url, event);
    await waitUntil(() => scope.has(event.id), 'the event arrived');
  });
});

// ------------------------------------------------------------------------------------------ plain subscriptions

test('a plain subscription gets every event raw under its own id, is sent again with fresh filters on each new connection, and stops at close()', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    const connects: string[] = [];
    const pool = scope.pool({
      relays: [{ url: proxy.url, read: false, write: true }],
      onConnect: (url) => connects.push(url),
    });
    let asked = 0;
    const got: Received[] = [];
    const subscription = pool.subscribe({
      id: 'plain',
      filters: () => {
        asked += 1;
        return [{ kinds: [1], '#p': [agent], since: nowSeconds() - 60 }];
      },
      onEvent: (event, url) => got.push({ event: event as Event, relay: url }),
    });
    await waitUntil(() => subscription.isLive(proxy.url), 'the subscription is live');
    assert.equal(connects, [proxy.url]);
    const genuine = note();
    await publishDirect(relay.url, genuine);
    await waitUntil(() => got.some((entry) => entry.event.id === genuine.id), 'the event arrived');
    // A forgery no signature check would let through still reaches the subscriber, who verifies.
    const forged = note();
    assert.ok(proxy.injectForgery(forged, 'altered-content') >= 1);
    await waitUntil(() => got.some((entry) => entry.event.id === forged.id), 'the forgery arrived');
    assert.not.ok(verifyEvent(structuredClone(got.find((entry) => entry.event.id === forged.id)!.event)));
    assert.ok(got.every((entry) => entry.relay === proxy.url));
    assert.is(scope.received.length, 0, 'the inbound feed (no read relay) got nothing');

    proxy.disconnectAll({ abrupt: true });
    await waitUntil(() => connects.length === 2, 'connected again');
    await waitUntil(() => subscription.isLive(proxy.url), 'the subscription is live again');
    assert.is(reqIds(proxy, 'plain').length, 2, 'one REQ per connection');
    assert.ok(asked >= 2, 'the filters were asked for again');
    const after = note();
    await publishDirect(relay.url, after);
    await waitUntil(() => got.some((entry) => entry.event.id === after.id), 'the event after the reconnect');

    subscription.close();
    assert.not.ok(subscription.isLive());
    await waitUntil(
      () => proxy.frames.some((frame) => messageType(frame) === 'CLOSE' && frame.message?.[1] === 'plain'),
      'CLOSE sent',
    );
    const late = note();
    await publishDirect(relay.url, late);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.not.ok(
      got.some((entry) => entry.event.id === late.id),
      'nothing after close()',
    );
    // The id is free again.
    pool.subscribe({ id: 'plain', filters: () => [{ kinds: [1] }], onEvent: () => {} }).close();
  });
});

test('a plain subscription the relay CLOSEs is asked for again on the same connection', async () => {
  await withScope(async (scope) => {
    const relay = await scope.relay();
    const proxy = await scope.proxy(relay.url);
    const { logger, lines } = captureLogger();
    const pool = scope.pool({ relays: [{ url: proxy.url, read: false, write: true }], logger });
    const subscription = pool.subscribe({
      id: 'plain',
      filters: () => [{ kinds: [1], '#p': [agent] }],
      onEvent: () => {},
    });
    let changes = 0;
    const unwatch = pool.watch(() => {
      changes += 1;
    });
    await waitUntil(() => subscription.isLive(proxy.url), 'the subscription is live');
    proxy.injectToClients(['CLOSED', 'plain', 'error: shutting down idle subscriptions']);
    await waitUntil(() => reqIds(proxy, 'plain').length === 2, 'asked again');
    await waitUntil(() => subscription.isLive(proxy.url), 'live again');
    assert.ok(changes >= 2, 'the watcher saw it go down and up');
    unwatch();
    assert.ok(lines.some((line) => line.message === 'the relay closed a subscription; asking again'));
    assert.is(Math.max(...proxy.frames.map((frame) => frame.connection)), 1, 'the same connection');
  });
});

test('plain subscription ids are checked, and publishOutcome tells refused from unknown', () => {
  const pool = new RelayPool({ relays: [{ url: 'ws://127.0.0.1:1', read: false, write: true }] });
  const plain = { filters: () => [{ kinds: [1] }], onEvent: () => {} };
  assert.throws(() => pool.subscribe({ id: 'live:1', ...plain }), /without ':'/);
  assert.throws(() => pool.subscribe({ id: '', ...plain }), /1 to 64/);
  pool.subscribe({ id: 'once', ...plain });
  assert.throws(() => pool.subscribe({ id: 'once', ...plain }), /open already/);
  assert.throws(
    () => new RelayPool({ relays: [{ url: 'ws://127.0.0.1:1', read: true, write: true }], filters: FILTERS }),
    /cursors and onEvent/,
  );
  const outcome = (ok: boolean, message: string) => publishOutcome({ relay: 'ws://r', ok, message });
  assert.is(outcome(true, ''), 'accepted');
  assert.is(outcome(false, 'blocked: no'), 'refused');
  assert.is(outcome(false, 'error: not connected'), 'refused');
  assert.is(outcome(false, 'error: timeout'), 'unknown');
  assert.is(outcome(false, 'error: connection closed'), 'unknown');
});

test.run();
