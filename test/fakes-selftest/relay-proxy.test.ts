// The fault-injecting relay proxy (test/fakes/relay-proxy.ts): each fault does what it says, and no more.
import type { Event } from 'nostr-tools/core';
import { finalizeEvent, generateSecretKey, verifyEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import {
  connectRawClient,
  type RawRelayClient,
  type RelayMessage,
  startTestRelay,
  type TestRelay,
} from '../fakes/relay.ts';
import {
  eventOf,
  messageType,
  type ProxyFrame,
  type RelayProxy,
  type RelayProxyOptions,
  seededRandom,
  startRelayProxy,
} from '../fakes/relay-proxy.ts';

const T0 = 1_700_000_000;
const alice = generateSecretKey();
let counter = 0;
/** A kind-1 note, each one a second newer than the last. */
function note(content = 'note'): Event {
  counter += 1;
  return finalizeEvent({ kind: 1, created_at: T0 + counter, tags: [], content }, alice);
}

async function withProxy(
  body: (context: { relay: TestRelay; proxy: RelayProxy; client: RawRelayClient }) => Promise<void>,
  options: Omit<RelayProxyOptions, 'target'> = {},
): Promise<void> {
  const relay = await startTestRelay();
  const proxy = await startRelayProxy({ ...options, target: relay.url });
  const client = await connectRawClient(proxy.url);
  try {
    await body({ relay, proxy, client });
  } finally {
    await client.close();
    await proxy.stop();
    await relay.stop();
  }
}

async function storedIds(relay: TestRelay): Promise<string[]> {
  const direct = await connectRawClient(relay.url);
  const events = await direct.request('direct', {});
  await direct.close();
  return events.map((event) => event.id);
}

const isType = (type: string) => (message: RelayMessage) => message[0] === type;
const isEventFrame = (frame: ProxyFrame) => eventOf(frame) !== undefined;

async function connectionRefused(url: string): Promise<boolean> {
  const socket = new WebSocket(url);
  return new Promise((resolve) => {
    socket.once('open', () => {
      socket.close();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

test('without faults the proxy passes every frame through and records it', async () => {
  await withProxy(async ({ client, proxy, relay }) => {
    const event = note();
    assert.equal(await client.publish(event), ['OK', event.id, true, '']);
    assert.equal(
      (await client.request('sub', {})).map((stored) => stored.id),
      [event.id],
    );
    assert.equal(await storedIds(relay), [event.id]);
    assert.equal(
      proxy.frames.map((frame) => `${frame.direction} ${messageType(frame)}`),
      ['to-relay EVENT', 'to-client OK', 'to-relay REQ', 'to-client EVENT', 'to-client EOSE'],
    );
    assert.is(proxy.connectionCount(), 1);
  });
});

test('drop: a dropped EVENT never reaches the relay and gets no OK; the rule expires after `times`', async () => {
  await withProxy(async ({ client, proxy, relay }) => {
    const rule = proxy.drop({ direction: 'to-relay', when: isEventFrame, times: 1 });
    const lost = note('lost');
    const kept = note('kept');
    client.send(['EVENT', lost]);
    assert.is((await client.publish(kept))[2], true);
    assert.not.ok(client.received.some((message) => message[0] === 'OK' && message[1] === lost.id));
    assert.equal(await storedIds(relay), [kept.id]);
    assert.is(rule.hits, 1);
  });
});

test('drop a fraction: the same seed drops the same frames, another seed other ones', async () => {
  const droppedWith = async (seed: number) => {
    let dropped: number[] = [];
    await withProxy(
      async ({ client, proxy }) => {
        const isTrialEose = (frame: ProxyFrame) =>
          messageType(frame) === 'EOSE' && frame.message?.[1] !== 'last';
        proxy.drop({ direction: 'to-client', when: isTrialEose, fraction: 0.5 });
        for (let n = 0; n < 24; n += 1) client.send(['REQ', `s${n}`, { limit: 0 }]);
        // Frames keep their order, so once `last` is answered every earlier answer has come or been dropped.
        await client.request('last', { limit: 0 });
        const answered = new Set(client.received.filter(isType('EOSE')).map((message) => message[1]));
        dropped = Array.from({ length: 24 }, (_, n) => n).filter((n) => !answered.has(`s${n}`));
      },
      { seed },
    );
    return dropped;
  };
  const first = await droppedWith(7);
  assert.ok(first.length > 0 && first.length < 24, `dropped ${first.length} of 24`);
  assert.equal(await droppedWith(7), first);
  assert.not.equal(await droppedWith(8), first);
  const random = seededRandom(42);
  const again = seededRandom(42);
  assert.equal([random(), random()], [again(), again()]);
});

test('delay: a delayed OK arrives after the OK of an event published later', async () => {
  await withProxy(async ({ client, proxy }) => {
    const slow = note('slow');
    const fast = note('fast');
    proxy.delay({ direction: 'to-client', when: (frame) => frame.message?.[1] === slow.id, ms: 150 });
    const started = Date.now();
    client.send(['EVENT', slow]);
    client.send(['EVENT', fast]);
    await client.next((message) => message[0] === 'OK' && message[1] === slow.id);
    assert.ok(Date.now() - started >= 145);
    const order = client.received.filter(isType('OK')).map((message) => message[1]);
    assert.equal(order, [fast.id, slow.id]);
  });
});

test('duplicate: the client receives a relay EVENT twice', async () => {
  await withProxy(async ({ client, proxy }) => {
    const event = note();
    await client.publish(event);
    proxy.duplicate({ direction: 'to-client', when: isEventFrame, copies: 1 });
    const received = await client.request('sub', { ids: [event.id] });
    assert.equal(
      received.map((stored) => stored.id),
      [event.id, event.id],
    );
  });
});

test('reorder: frames in scope come out reversed, when the window fills or after maxHoldMs', async () => {
  await withProxy(async ({ client, proxy }) => {
    const events = [note('a'), note('b'), note('c')];
    for (const event of events) await client.publish(event);
    proxy.reorder({ direction: 'to-client', when: isEventFrame, window: 3 });
    const newestFirst = [...events].reverse().map((event) => event.id);
    assert.equal(
      (await client.request('full-window', {})).map((event) => event.id),
      [...newestFirst].reverse(),
    );
    proxy.clearFaults();
    proxy.reorder({ direction: 'to-client', when: isEventFrame, window: 10, maxHoldMs: 150 });
    const held = await client.request('timed-out', { limit: 2 });
    assert.equal(held, []);
    const first = await client.nextEvent('timed-out');
    const second = await client.nextEvent('timed-out');
    assert.equal([first.id, second.id], newestFirst.slice(0, 2).reverse());
  });
});

test('rate-limit: the proxy answers OK false rate-limited: and the relay never sees the event', async () => {
  await withProxy(async ({ client, proxy, relay }) => {
    proxy.rateLimit({ times: 1 });
    const refused = note('refused');
    const [, id, accepted, reason] = await client.publish(refused);
    assert.equal([id, accepted], [refused.id, false]);
    assert.match(reason, /^rate-limited: /);
    assert.equal(await storedIds(relay), []);
    assert.equal(await client.publish(refused), ['OK', refused.id, true, '']);
  });
});

test('forge: subscribers get a copy with a bad signature before the genuine event', async () => {
  await withProxy(async ({ client, proxy }) => {
    await client.request('live', { kinds: [1] });
    proxy.forge({ mode: 'bad-signature', times: 1 });
    const event = note('genuine');
    await client.publish(event);
    const forged = await client.nextEvent('live');
    const genuine = await client.nextEvent('live');
    assert.is(forged.id, event.id);
    assert.is(forged.content, event.content);
    assert.not.ok(verifyEvent({ ...forged }));
    assert.ok(verifyEvent({ ...genuine }));
  });
});

test('forge instead: the genuine event is replaced by one with altered content under its id', async () => {
  await withProxy(async ({ client, proxy }) => {
    const event = note('original');
    await client.publish(event);
    proxy.forge({ mode: 'altered-content', placement: 'instead' });
    const [received] = await client.request('read', { ids: [event.id] });
    assert.is(received?.id, event.id);
    assert.is.not(received?.content, 'original');
    assert.not.ok(verifyEvent({ ...received! }));
  });
});

test('injectForgery: a forged copy goes to every open subscription whose filters match, and only those', async () => {
  await withProxy(async ({ client, proxy }) => {
    await client.request('notes', { kinds: [1] });
    await client.request('reactions', { kinds: [7] });
    await client.request('closed', { kinds: [1] });
    client.send(['CLOSE', 'closed']);
    await proxy.waitForFrame((frame) => messageType(frame) === 'CLOSE');
    const event = note('target');
    assert.is(proxy.injectForgery(event, 'bad-signature'), 1);
    const forged = await client.nextEvent('notes');
    assert.is(forged.id, event.id);
    assert.not.ok(verifyEvent({ ...forged }));
    assert.is(proxy.injectToClients(['NOTICE', 'from the proxy']), 1);
    assert.equal(await client.next(isType('NOTICE')), ['NOTICE', 'from the proxy']);
  });
});

test('disconnectAll: clients are dropped, gracefully or abruptly, and can connect again', async () => {
  await withProxy(async ({ client, proxy }) => {
    proxy.disconnectAll();
    await client.closed();
    const second = await connectRawClient(proxy.url);
    proxy.disconnectAll({ abrupt: true });
    await second.closed();
    const third = await connectRawClient(proxy.url);
    assert.equal(await third.request('works', { limit: 0 }), []);
    await third.close();
  });
});

test('refuseConnections and outage: the relay looks down, then comes back', async () => {
  await withProxy(async ({ client, proxy }) => {
    proxy.refuseConnections();
    assert.ok(await connectionRefused(proxy.url));
    proxy.acceptConnections();
    assert.not.ok(await connectionRefused(proxy.url));

    const started = Date.now();
    const outage = proxy.outage(500);
    assert.ok(await connectionRefused(proxy.url));
    await client.closed();
    await outage;
    assert.ok(Date.now() - started >= 495);
    const back = await connectRawClient(proxy.url);
    assert.equal(await back.request('back', { limit: 0 }), []);
    await back.close();
  });
});

test('a relay restart behind the proxy closes its clients; they reconnect to the same data', async () => {
  await withProxy(async ({ client, proxy, relay }) => {
    const event = note('persisted');
    await client.publish(event);
    await relay.restart();
    await client.closed();
    const again = await connectRawClient(proxy.url);
    assert.equal(
      (await again.request('again', {})).map((stored) => stored.id),
      [event.id],
    );
    await again.close();
  });
});

test.run();
