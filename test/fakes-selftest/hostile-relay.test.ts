// The hostile test relay (test/fakes/hostile-relay.ts) misbehaves as asked: each misbehaviour driven with a raw
// `ws` client that keeps the exact frame texts.
import type { Event } from 'nostr-tools/core';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RawData, WebSocket } from 'ws';
import { type HostileRelay, type HostileRelayOptions, startHostileRelay } from '../fakes/hostile-relay.ts';

const T0 = 1_700_000_000;
const alice = generateSecretKey();
const alicePubkey = getPublicKey(alice);

function sign(created_at: number, content = `note ${created_at}`, kind = 1): Event {
  return finalizeEvent({ kind, created_at, tags: [['p', alicePubkey]], content }, alice);
}

/** Five notes at T0 .. T0+4. */
const notes = [0, 1, 2, 3, 4].map((offset) => sign(T0 + offset));

interface Frame {
  text: string;
  /** Parsed, or null when it cannot be (or is over 1,000,000 chars). */
  message: unknown[] | null;
}

interface Client {
  frames: Frame[];
  send(message: unknown): void;
  /** Sends REQ and returns every frame up to and including its EOSE. */
  request(subscriptionId: string, ...filters: object[]): Promise<Frame[]>;
  waitFor(predicate: (frames: Frame[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function parse(text: string): unknown[] | null {
  if (text.length > 1_000_000) return null;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

async function connect(url: string): Promise<Client> {
  const socket = new WebSocket(url);
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('message', (data: RawData) => {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString()
      : Buffer.from(data as Buffer).toString();
    frames.push({ text, message: parse(text) });
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const waitFor = (predicate: (frames: Frame[]) => boolean, timeoutMs = 3000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate(frames)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out; got ${frames.length} frames`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const send = (message: unknown) => socket.send(JSON.stringify(message));
  return {
    frames,
    send,
    async request(subscriptionId, ...filters) {
      const start = frames.length;
      send(['REQ', subscriptionId, ...filters]);
      const isEose = (frame: Frame) => frame.message?.[0] === 'EOSE' && frame.message[1] === subscriptionId;
      await waitFor((all) => all.slice(start).some(isEose));
      const mine = frames.slice(start);
      return mine.slice(0, mine.findIndex(isEose) + 1);
    },
    waitFor,
    async close() {
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
      await closed;
    },
  };
}

async function withRelay(
  options: HostileRelayOptions,
  body: (relay: HostileRelay, client: Client) => Promise<void>,
): Promise<void> {
  const relay = await startHostileRelay(options);
  const client = await connect(relay.url);
  try {
    await body(relay, client);
  } finally {
    await client.close();
    await relay.stop();
  }
}

const eventsOf = (frames: Frame[], subscriptionId: string): Event[] =>
  frames
    .filter((frame) => frame.message?.[0] === 'EVENT' && frame.message[1] === subscriptionId)
    .map((frame) => frame.message![2] as Event);

const count = (frames: Frame[], type: string) => frames.filter((frame) => frame.message?.[0] === type).length;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('honest by default: publishes get OK true, REQs honour until and limit, live events reach matching subscriptions', async () => {
  await withRelay({}, async (relay, client) => {
    relay.add(...notes.slice(0, 4));
    const paged = eventsOf(await client.request('page', { kinds: [1], until: T0 + 2, limit: 2 }), 'page');
    assert.equal(paged.map((event) => event.created_at).sort(), [T0 + 1, T0 + 2]);
    await client.request('live', { kinds: [1], since: T0 + 4 });
    client.send(['EVENT', notes[4]]);
    await client.waitFor((frames) => frames.some((frame) => frame.message?.[0] === 'OK'));
    const ok = client.frames.find((frame) => frame.message?.[0] === 'OK')!.message!;
    assert.equal(ok.slice(0, 3), ['OK', notes[4]!.id, true]);
    await client.waitFor((frames) => eventsOf(frames, 'live').length === 1);
    assert.is(eventsOf(client.frames, 'page').length, 2, 'a non-matching subscription gets nothing live');
    assert.is(relay.events().length, 5);
  });
});

test('ignoreUntil / ignoreLimit: a REQ gets every matching event, newer than until and beyond limit', async () => {
  await withRelay({ ignoreUntil: true, ignoreLimit: true }, async (relay, client) => {
    relay.add(...notes);
    const events = eventsOf(await client.request('page', { kinds: [1], until: T0 + 1, limit: 1 }), 'page');
    assert.is(events.length, 5);
    assert.ok(events.some((event) => event.created_at > T0 + 1));
    relay.set({ ignoreUntil: false, ignoreLimit: false });
    const honest = eventsOf(await client.request('page2', { kinds: [1], until: T0 + 1, limit: 1 }), 'page2');
    assert.equal(
      honest.map((event) => event.created_at),
      [T0 + 1],
    );
    // since is still honoured by ignoreUntil alone
    relay.set({ ignoreUntil: true });
    const since = eventsOf(await client.request('page3', { since: T0 + 3, until: T0 + 3 }), 'page3');
    assert.equal(since.map((event) => event.created_at).sort(), [T0 + 3, T0 + 4]);
  });
});

test('replayForever: the same events at every REQ, whatever the window', async () => {
  await withRelay({ replayForever: true }, async (relay, client) => {
    relay.add(...notes);
    const ids = (events: Event[]) => events.map((event) => event.id).sort();
    const first = eventsOf(await client.request('a', { kinds: [1], until: T0, limit: 1 }), 'a');
    const second = eventsOf(await client.request('a', { kinds: [1], since: T0 + 100 }), 'a');
    const all = eventsOf(await client.request('b', { kinds: [1] }), 'b');
    assert.is(all.length, 5);
    assert.equal(ids(first), ids(all));
    assert.equal(ids(second), ids(all));
  });
});

test('echo: a published event comes back to a subscription whose filter it does not match', async () => {
  await withRelay({ echo: true }, async (_relay, client) => {
    await client.request('other', { kinds: [30_000], authors: ['0'.repeat(64)] });
    client.send(['EVENT', notes[0]]);
    await client.waitFor((frames) => eventsOf(frames, 'other').length === 1);
    assert.is(eventsOf(client.frames, 'other')[0]!.id, notes[0]!.id);
  });
});

test('replay: every new subscription gets the old stored events, matching or not', async () => {
  await withRelay({ replay: true }, async (relay, client) => {
    relay.add(...notes.slice(0, 3));
    const first = eventsOf(await client.request('x', { kinds: [7], since: T0 + 1000 }), 'x');
    const second = eventsOf(await client.request('y', { ids: ['f'.repeat(64)] }), 'y');
    assert.is(first.length, 3);
    assert.is(second.length, 3);
  });
});

test('forgeries: same id with another signature, same content under another key, a changed field under the old id', async () => {
  await withRelay({ forgeries: true }, async (relay, client) => {
    const genuine = notes[2]!;
    relay.add(genuine);
    const events = eventsOf(await client.request('f', { ids: [genuine.id] }), 'f');
    assert.is(events.length, 4);
    assert.equal(events[3], JSON.parse(JSON.stringify(genuine)), 'the genuine event comes last by default');
    assert.ok(verifyEvent(events[3]!));
    const [badSignature, otherKey, altered] = events as [Event, Event, Event];
    assert.is(badSignature.id, genuine.id);
    assert.is.not(badSignature.sig, genuine.sig);
    assert.match(badSignature.sig, /^[0-9a-f]{128}$/);
    assert.not.ok(verifyEvent(badSignature));
    assert.is(otherKey.content, genuine.content);
    assert.is.not(otherKey.id, genuine.id);
    assert.is(otherKey.pubkey, relay.forgerPubkey);
    assert.ok(verifyEvent(otherKey));
    assert.is(altered.id, genuine.id);
    assert.is.not(altered.content, genuine.content);
    assert.not.ok(verifyEvent(altered));

    relay.set({ forgeries: ['altered-field'], forgedField: 'created_at', forgeryPlacement: 'instead' });
    const instead = eventsOf(await client.request('g', { ids: [genuine.id] }), 'g');
    assert.is(instead.length, 1);
    assert.is(instead[0]!.created_at, genuine.created_at + 1);
  });
});

test('poison: unreadable frames among the genuine events of a REQ answer', async () => {
  await withRelay({ poison: true }, async (relay, client) => {
    relay.add(notes[0]!, notes[1]!);
    const frames = await client.request('p', { kinds: [1] });
    const texts = frames.map((frame) => frame.text);
    assert.is(frames.at(-1)!.message?.[0], 'EOSE');
    // genuine events on both sides of the poison
    assert.equal(eventsOf(frames.slice(0, 1), 'p')[0]!.id, notes[0]!.id);
    assert.equal(eventsOf(frames.slice(-2, -1), 'p')[0]!.id, notes[1]!.id);

    assert.ok(
      texts.some((text) => {
        try {
          JSON.parse(text);
          return false;
        } catch {
          return text.length < 100_000;
        }
      }),
      'an invalid JSON frame',
    );

    const duplicate = texts.find((text) => text.split('"kind"').length - 1 === 2);
    assert.ok(duplicate, 'a frame with "kind" twice');
    const lastWins = (JSON.parse(duplicate!) as unknown[])[2] as Event;
    assert.is(lastWins.kind, 1);
    assert.ok(verifyEvent(lastWins), 'the last "kind" is the valid one');

    const deep = texts.find((text) => text.includes('[[[[[[[[[['));
    assert.ok(deep && deep.length > 200_000, 'the deep frame is > 200,000 chars');

    const manyTags = eventsOf(frames, 'p').find((event) => event.tags.length === 10_000);
    assert.ok(manyTags, 'an event with 10,000 tags');

    const oversized = texts.find((text) => text.length > 2 * 1024 * 1024 && !text.includes('[[[[[[[[[['));
    assert.ok(oversized, 'a frame larger than 2 MiB');

    assert.ok(frames.some((frame) => frame.message?.[0] === 'EVENT' && frame.message[1] !== 'p'));

    relay.set({ poison: ['oversized', 'deep-nesting'], oversizedBytes: 300_000, nestingDepth: 1000 });
    const smaller = (await client.request('q', { kinds: [1] })).map((frame) => frame.text);
    assert.is(smaller.length, 5);
    assert.ok(smaller.some((text) => Buffer.byteLength(text) > 300_000 && text.length < 400_000));
    assert.ok(smaller.some((text) => text.includes(`${'['.repeat(1000)}]`) && text.length < 10_000));
  });
});

test('poison with nothing stored still comes before EOSE', async () => {
  await withRelay({ poison: ['unknown-subscription', 'invalid-json'] }, async (_relay, client) => {
    const frames = await client.request('empty', { kinds: [1] });
    assert.is(frames.length, 3);
    assert.is(frames[0]!.message?.[0], 'EVENT');
    assert.is.not(frames[0]!.message?.[1], 'empty');
    assert.is(frames[1]!.message, null);
  });
});

test('addRaw: raw frames are served on every REQ in order with the stored events', async () => {
  await withRelay({}, async (relay, client) => {
    relay.add(notes[0]!);
    relay.addRaw('["NOTICE",');
    relay.add(notes[1]!);
    relay.addRaw((subscriptionId) => `["EVENT","${subscriptionId}",{"kind":1,"kind":2}]`);
    for (const subscriptionId of ['r1', 'r2']) {
      const texts = (await client.request(subscriptionId, { ids: [notes[1]!.id] })).map(
        (frame) => frame.text,
      );
      assert.is(texts.length, 4);
      assert.is(texts[0], '["NOTICE",');
      assert.ok(texts[1]!.includes(notes[1]!.id));
      assert.is(texts[2], `["EVENT","${subscriptionId}",{"kind":1,"kind":2}]`);
    }
  });
});

test('floods: 100 NOTICEs arrive and then stop; a flood without a count runs until turned off', async () => {
  await withRelay({}, async (relay, client) => {
    const flood = relay.flood({ type: 'NOTICE', perSecond: 1000, count: 100 });
    await flood.done;
    await client.waitFor((frames) => count(frames, 'NOTICE') === 100);
    await sleep(50);
    assert.is(count(client.frames, 'NOTICE'), 100);
    assert.is(flood.sent, 100);
    assert.not.ok(flood.active);

    await client.request('s', { kinds: [1] });
    client.send(['EVENT', notes[0]]);
    await client.waitFor((frames) => count(frames, 'OK') === 1);
    relay.set({
      floods: [
        { type: 'CLOSED', perSecond: 200, count: 5 },
        { type: 'EOSE', perSecond: 200, count: 5 },
        { type: 'OK', perSecond: 200, count: 5 },
        { type: 'AUTH', perSecond: 200, count: 5 },
      ],
    });
    await client.waitFor(
      (frames) =>
        count(frames, 'CLOSED') === 5 &&
        count(frames, 'EOSE') === 6 &&
        count(frames, 'OK') === 6 &&
        count(frames, 'AUTH') === 5,
    );
    const closed = client.frames.find((frame) => frame.message?.[0] === 'CLOSED')!.message!;
    assert.is(closed[1], 's', 'CLOSED names the latest subscription');
    const ok = client.frames.filter((frame) => frame.message?.[0] === 'OK')[1]!.message!;
    assert.equal(ok.slice(0, 3), ['OK', notes[0]!.id, false]);

    relay.set({ floods: [{ type: 'NOTICE', perSecond: 400 }] });
    await client.waitFor((frames) => count(frames, 'NOTICE') >= 120);
    relay.set({ floods: [] });
    await sleep(30);
    const stopped = count(client.frames, 'NOTICE');
    await sleep(100);
    assert.is(count(client.frames, 'NOTICE'), stopped, 'no NOTICE after the flood is turned off');
    assert.ok(relay.stats().floodFramesSent >= 140);
  });
});

test('stats count REQs per subscription and in total, CLOSEs, published events and bytes sent', async () => {
  await withRelay({}, async (relay, client) => {
    relay.add(notes[0]!);
    await client.request('a', { kinds: [1] });
    await client.request('a', { kinds: [1] });
    await client.request('b', { kinds: [1] });
    client.send(['CLOSE', 'a']);
    client.send(['EVENT', notes[1]]);
    await client.waitFor((frames) => count(frames, 'OK') === 1);
    const stats = relay.stats();
    assert.is(stats.connections, 1);
    assert.is(stats.reqs, 3);
    assert.equal(stats.reqsBySubscription, { a: 2, b: 1 });
    assert.is(stats.reqTimes.length, 3);
    assert.ok(stats.reqTimes.every((time) => Date.now() - time < 5000));
    assert.is(stats.closes, 1);
    assert.is(stats.eventsPublished, 1);
    const received = client.frames.reduce((sum, frame) => sum + Buffer.byteLength(frame.text), 0);
    assert.is(stats.bytesSent, received);
    assert.is(stats.framesSent, client.frames.length);
    assert.is(relay.reqsPerMinute(), 3);
    assert.is(relay.reqsPerMinute(10_000), 18);
    assert.equal(
      relay.subscriptions().map((open) => open.subscriptionId),
      ['b'],
    );
    relay.resetStats();
    assert.is(relay.stats().reqs, 0);
    assert.is(relay.stats().bytesSent, 0);
    assert.is(relay.reqsPerMinute(), 0);
  });
});

test('stop() ends running floods and closes clients', async () => {
  const relay = await startHostileRelay({ floods: [{ type: 'NOTICE', perSecond: 50 }] });
  const client = await connect(relay.url);
  const flood = relay.flood({ type: 'AUTH', perSecond: 50 });
  await client.waitFor((frames) => count(frames, 'NOTICE') > 0);
  await relay.stop();
  await client.close();
  assert.not.ok(flood.active);
  await flood.done;
});

test.run();
