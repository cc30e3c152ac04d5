// The relay pool against a hostile relay (test/fakes/hostile-relay.ts) next to an honest one (test/fakes/relay.ts),
// both real, on 127.0.0.1 (issue #9, "No relay can starve, flood or silence the agent"): catch-up against a relay
// that ignores until / limit or replays forever ends within its budget; unreadable frames are dropped and counted
// one by one while their neighbours arrive and the cursor moves; an oversized event does not close the connection;
// events reach onEvent as their raw JSON text (duplicate keys intact); floods cost a bounded number of log lines;
// the memory held per relay stays within its bound. Counts are asserted, never times.
import type { Event } from 'nostr-tools/core';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RelayPool, type RelayPoolOptions } from '../../src/nostr/relay-pool.ts';
import { type HostileRelay, type HostileRelayOptions, startHostileRelay } from '../fakes/hostile-relay.ts';
import { captureLogger, waitUntil } from '../fakes/pool-test-kit.ts';
import { connectRawClient, startTestRelay, type TestRelay } from '../fakes/relay.ts';

const agent = getPublicKey(generateSecretKey());
const alice = generateSecretKey();
const FILTERS = [{ kinds: [1], '#p': [agent] }];
const nowSeconds = () => Math.floor(Date.now() / 1000);
let counter = 0;

function note(createdAt = nowSeconds(), content = `note ${++counter}`): Event {
  return finalizeEvent({ kind: 1, created_at: createdAt, tags: [['p', agent]], content }, alice);
}

/** Distinct seconds, oldest first, within the catch-up window. */
function notes(count: number, newest = nowSeconds() - 5): Event[] {
  return Array.from({ length: count }, (_, index) => note(newest - count + index));
}

function memoryCursors() {
  const writes: Array<{ relay: string; since: number }> = [];
  return {
    writes,
    async get(_relay: string) {
      return null;
    },
    async set(relay: string, since: number) {
      writes.push({ relay, since });
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  raw: unknown;
  id: string | undefined;
  relay: string;
}

class Scope {
  private readonly releases: Array<() => Promise<void>> = [];
  readonly received: Received[] = [];
  readonly cursors = memoryCursors();

  async honest(...events: Event[]): Promise<TestRelay> {
    const relay = await startTestRelay();
    this.releases.push(() => relay.stop());
    if (events.length > 0) {
      const client = await connectRawClient(relay.url);
      for (const event of events) await client.publish(event);
      await client.close();
    }
    return relay;
  }

  async hostile(options: HostileRelayOptions, ...events: Event[]): Promise<HostileRelay> {
    const relay = await startHostileRelay(options);
    this.releases.push(() => relay.stop());
    relay.add(...events);
    return relay;
  }

  pool(options: Partial<RelayPoolOptions> & Pick<RelayPoolOptions, 'relays'>): RelayPool {
    const pool = new RelayPool({
      filters: FILTERS,
      cursors: this.cursors,
      onEvent: (event, relay) => {
        let id: string | undefined;
        try {
          id = (JSON.parse(event as string) as { id?: string }).id;
        } catch {
          id = undefined;
        }
        this.received.push({ raw: event, id, relay });
      },
      backoff: { initialMs: 20, maxMs: 200, jitter: 0.2 },
      catchUpBackoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 },
      connectTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      publishTimeoutMs: 1000,
      probeIntervalMs: 200,
      ...options,
    });
    this.releases.push(() => pool.stop());
    pool.start();
    return pool;
  }

  /** How often each id arrived from the relay. */
  countsFrom(relay: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const entry of this.received) {
      if (entry.relay !== relay || entry.id === undefined) continue;
      counts.set(entry.id, (counts.get(entry.id) ?? 0) + 1);
    }
    return counts;
  }

  hasAll(relay: string, events: readonly Event[]): boolean {
    const counts = this.countsFrom(relay);
    return events.every((event) => counts.has(event.id));
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

function healthOf(pool: RelayPool, url: string) {
  const health = pool.relayHealth().find((entry) => entry.url === url);
  if (!health) throw new Error(`no health for ${url}`);
  return health;
}

function catchUpReqs(relay: HostileRelay): number {
  return Object.entries(relay.stats().reqsBySubscription)
    .filter(([id]) => id.startsWith('catch-up:'))
    .reduce((sum, [, count]) => sum + count, 0);
}

test('catch-up against relays that ignore until / limit or replay forever ends within the page budget, once per backoff; honest events arrive exactly once', async () => {
  await withScope(async (scope) => {
    const genuine = notes(30);
    const ignoring = await scope.hostile({ ignoreUntil: true, ignoreLimit: true }, ...genuine);
    const replaying = await scope.hostile({ replayForever: true }, ...genuine);
    const honestEvents = notes(5);
    const honest = await scope.honest(...honestEvents);
    const { logger, lines } = captureLogger();
    const maxPagesPerPass = 5;
    const pool = scope.pool({
      relays: [ignoring, replaying, honest].map(({ url }) => ({ url, read: true, write: true })),
      logger,
      pageLimit: 10,
      maxPagesPerPass,
    });
    await waitUntil(
      () => [ignoring, replaying].every((relay) => healthOf(pool, relay.url).misbehaviour !== null),
      'both hostile relays are found out',
    );
    await waitUntil(() => scope.hasAll(ignoring.url, genuine), 'every event of the hostile relay arrived');
    await waitUntil(() => scope.hasAll(honest.url, honestEvents), 'every honest event arrived');
    await waitUntil(
      () => scope.cursors.writes.some((write) => write.relay === honest.url),
      'honest cursor moved',
    );
    // Another second of running: a relay paged forever would get thousands of REQs meanwhile.
    await sleep(1000);
    for (const relay of [ignoring, replaying]) {
      assert.ok(catchUpReqs(relay) <= maxPagesPerPass, `catch-up REQs ${catchUpReqs(relay)} within one pass`);
      assert.ok(relay.stats().reqs <= maxPagesPerPass + 10, `all REQs ${relay.stats().reqs}`);
      assert.ok(relay.reqsPerMinute() <= maxPagesPerPass + 10);
      assert.is(healthOf(pool, relay.url).misbehaviourEpisodes, 1);
    }
    assert.match(healthOf(pool, ignoring.url).misbehaviour ?? '', /ignores until/);
    const reports = lines.filter((line) => line.message.startsWith('relay breaks the catch-up rules'));
    assert.is(reports.length, 2, 'one warn line per misbehaving relay');
    for (const [id, count] of scope.countsFrom(honest.url)) assert.is(count, 1, `honest event ${id} once`);
    assert.is(scope.countsFrom(honest.url).size, honestEvents.length);
    assert.is(healthOf(pool, honest.url).misbehaviour, null);
    // The cursor of a misbehaving relay does not move: it was not caught up.
    assert.not.ok(scope.cursors.writes.some((write) => write.relay === ignoring.url));
  });
});

test('unreadable frames of every kind are dropped and counted one by one; the events around them arrive and the cursor moves', async () => {
  await withScope(async (scope) => {
    const genuine = notes(6);
    const hostile = await scope.hostile(
      {
        poison: [
          'invalid-json',
          'deep-nesting',
          'oversized',
          'unknown-subscription',
          'many-tags',
          'duplicate-keys',
        ],
      },
      ...genuine,
    );
    const honestEvents = notes(3);
    const honest = await scope.honest(...honestEvents);
    const pool = scope.pool({
      relays: [hostile, honest].map(({ url }) => ({ url, read: true, write: true })),
    });
    await waitUntil(
      () => scope.hasAll(hostile.url, genuine),
      'every genuine event of the hostile relay arrived',
    );
    await waitUntil(() => scope.hasAll(honest.url, honestEvents), 'every honest event arrived');
    await waitUntil(
      () => scope.cursors.writes.some((write) => write.relay === hostile.url),
      'the hostile relay cursor moved past the poison',
    );
    const health = healthOf(pool, hostile.url);
    assert.ok((health.droppedByReason['invalid-json'] ?? 0) >= 1, 'invalid JSON counted');
    assert.ok((health.droppedByReason['too-deep'] ?? 0) >= 1, 'deep nesting counted');
    assert.ok((health.droppedByReason.oversized ?? 0) >= 1, 'oversized counted');
    assert.ok(health.unexpectedFrames >= 1, 'the EVENT for an unknown subscription counted');
    assert.is(hostile.stats().connections, 1, 'no frame closed the connection');
    for (const [id, count] of scope.countsFrom(honest.url)) assert.is(count, 1, `honest event ${id} once`);
  });
});

test('an event larger than the event limit is dropped without closing the connection; events after it arrive', async () => {
  await withScope(async (scope) => {
    const before = notes(3);
    const hostile = await scope.hostile({ poison: ['oversized'] }, ...before);
    const pool = scope.pool({ relays: [{ url: hostile.url, read: true, write: true }] });
    await waitUntil(() => scope.hasAll(hostile.url, before), 'the events around it arrived');
    await waitUntil(
      () => scope.cursors.writes.some((write) => write.relay === hostile.url),
      'the cursor moved',
    );
    const client = await connectRawClient(hostile.url);
    const after = note();
    await client.publish(after);
    await client.close();
    await waitUntil(() => scope.hasAll(hostile.url, [after]), 'a live event after it arrived');
    assert.ok((healthOf(pool, hostile.url).droppedByReason.oversized ?? 0) >= 1);
    assert.is(hostile.stats().connections, 2, 'the pool connected once (the other is the test client)');
  });
});

test('events reach onEvent as their raw JSON text: duplicate keys stay for the intake to refuse', async () => {
  await withScope(async (scope) => {
    const genuine = notes(2);
    const hostile = await scope.hostile({ poison: ['duplicate-keys'] }, ...genuine);
    scope.pool({ relays: [{ url: hostile.url, read: true, write: true }] });
    await waitUntil(() => scope.hasAll(hostile.url, genuine), 'the genuine events arrived');
    await waitUntil(
      () =>
        scope.received.some(
          (entry) => typeof entry.raw === 'string' && entry.raw.split('"kind":').length === 3,
        ),
      'the event with "kind" twice arrived as text',
    );
    assert.ok(
      scope.received.every((entry) => typeof entry.raw === 'string'),
      'every event is raw text',
    );
    const sent = genuine[1] as Event;
    const copies = scope.received.filter(
      (entry) => entry.id === sent.id && String(entry.raw).split('"kind":').length === 2,
    );
    const { id, pubkey, created_at, kind, tags, content, sig } = sent;
    // The hostile relay writes the fields in this order: the text is handed on exactly as it came.
    const bytes = JSON.stringify({ id, pubkey, created_at, kind, tags, content, sig });
    assert.ok(
      copies.length >= 1 && copies.every((entry) => entry.raw === bytes),
      'the exact bytes the relay sent',
    );
  });
});

test('a NOTICE flood of 10,000 and floods of CLOSED, EOSE, OK and AUTH cost a bounded number of log lines', async () => {
  await withScope(async (scope) => {
    const hostile = await scope.hostile({}, ...notes(2));
    const honestEvents = notes(2);
    const honest = await scope.honest(...honestEvents);
    const { logger, lines } = captureLogger();
    const pool = scope.pool({
      relays: [hostile, honest].map(({ url }) => ({ url, read: true, write: true })),
      logger,
    });
    await waitUntil(() => hostile.connectionCount() === 1, 'connected');
    const floods = [
      hostile.flood({ type: 'NOTICE', perSecond: 10_000, count: 10_000 }),
      hostile.flood({ type: 'EOSE', perSecond: 2000, count: 2000, subscriptionId: 'nobody' }),
      hostile.flood({ type: 'OK', perSecond: 2000, count: 2000 }),
      hostile.flood({ type: 'AUTH', perSecond: 2000, count: 2000 }),
      hostile.flood({ type: 'CLOSED', perSecond: 2000, count: 2000, subscriptionId: 'nobody' }),
    ];
    await Promise.all(floods.map((flood) => flood.done));
    // The floods interleave on one socket: wait until every frame of every flood was read, not only the NOTICEs.
    await waitUntil(
      () => {
        const read = healthOf(pool, hostile.url);
        return read.notices >= 10_000 && read.closedMessages >= 2000 && read.unexpectedFrames >= 6000;
      },
      'every flood frame was read',
      15_000,
    );
    const health = healthOf(pool, hostile.url);
    assert.ok(health.closedMessages >= 2000);
    assert.ok(health.unexpectedFrames >= 6000, `unexpected frames ${health.unexpectedFrames}`);
    await waitUntil(() => scope.hasAll(honest.url, honestEvents), 'the honest relay is served');
    await pool.stop();
    const notices = lines.filter((line) => line.message.startsWith('relay notice'));
    assert.ok(notices.length <= 6, `${notices.length} NOTICE lines`);
    assert.ok(notices.every((line) => line.level === 'debug'));
    assert.ok(
      notices.some((line) => /suppressed \d+ similar/.test(line.message)),
      'one summary line for the suppressed ones',
    );
    assert.ok(lines.length <= 60, `${lines.length} log lines in all`);
  });
});

test('memory: events held for a relay never exceed the configured bound, whatever it sends; the live subscription keeps working', async () => {
  await withScope(async (scope) => {
    const genuine = notes(200);
    const hostile = await scope.hostile({ ignoreLimit: true }, ...genuine);
    const honestEvents = notes(3);
    const honest = await scope.honest(...honestEvents);
    const maxBufferedEvents = 40;
    const pool = scope.pool({
      relays: [hostile, honest].map(({ url }) => ({ url, read: true, write: true })),
      pageLimit: 20,
      maxBufferedEvents,
      maxPagesPerPass: 10,
    });
    await waitUntil(
      () => healthOf(pool, hostile.url).misbehaviour !== null,
      'the hostile relay is found out',
    );
    const health = healthOf(pool, hostile.url);
    assert.match(health.misbehaviour ?? '', /ignores limit/);
    assert.ok(health.eventsOverBudget > 0, 'events over the budget were counted, not held');
    assert.ok(health.peakEventsBuffered <= maxBufferedEvents, `peak ${health.peakEventsBuffered}`);
    assert.ok(health.eventsBuffered <= maxBufferedEvents);
    const client = await connectRawClient(hostile.url);
    const live = note();
    await client.publish(live);
    await client.close();
    await waitUntil(
      () => scope.hasAll(hostile.url, [live]),
      'a live event arrived while catch-up is backed off',
    );
    await waitUntil(() => scope.hasAll(honest.url, honestEvents), 'every honest event arrived');
    for (const [, count] of scope.countsFrom(honest.url)) assert.is(count, 1);
    assert.ok(healthOf(pool, hostile.url).peakEventsBuffered <= maxBufferedEvents);
  });
});

test.run();
