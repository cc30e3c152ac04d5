// The embedded relay against NIP-01, NIP-09, NIP-11 and NIP-40, through real WebSocket connections. The first
// tests pin the four defects of @nostr-relay 0.0.40 that src/relay replaces; each fails against the stock relay.
import type { Event, EventTemplate } from 'nostr-tools/core';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RelayLogger } from '../../src/relay/index.ts';
import {
  connectNostrTools,
  connectRawClient,
  type RawRelayClient,
  startTestRelay,
  type TestRelay,
  type TestRelayOptions,
} from '../fakes/relay.ts';

const T0 = 1_700_000_000;
const alice = generateSecretKey();
const bob = generateSecretKey();
const alicePubkey = getPublicKey(alice);
const bobPubkey = getPublicKey(bob);
const hex = (character: string) => character.repeat(64);

function sign(secretKey: Uint8Array, template: Partial<EventTemplate> = {}): Event {
  return finalizeEvent({ kind: 1, created_at: T0, tags: [], content: '', ...template }, secretKey);
}

async function withRelay(
  body: (context: { relay: TestRelay; client: RawRelayClient }) => Promise<void>,
  options: TestRelayOptions = {},
): Promise<void> {
  const relay = await startTestRelay(options);
  const client = await connectRawClient(relay.url);
  try {
    await body({ relay, client });
  } finally {
    await client.close();
    await relay.stop();
  }
}

const ids = (events: readonly Event[]) => events.map((event) => event.id);
const deliveredTo = (client: RawRelayClient, subscriptionId: string, event: Event) =>
  client.received.some(
    (message) =>
      message[0] === 'EVENT' && message[1] === subscriptionId && (message[2] as Event).id === event.id,
  );

async function expectAccepted(client: RawRelayClient, ...events: Event[]): Promise<void> {
  for (const event of events) {
    const [, , accepted, message] = await client.publish(event);
    assert.ok(accepted, `expected ${event.id} to be accepted, got ${message}`);
  }
}

// --- (a) live subscriptions honour tag filters -----------------------------------------------------------------

test('a live event reaches only the subscriptions whose tag filters it matches (AND across conditions, OR within one and across filters)', async () => {
  await withRelay(async ({ client }) => {
    const referenced = hex('a');
    await client.request('all', { kinds: [1] });
    await client.request('tag-in-list', { kinds: [1], '#t': ['nope', 'escrow'] });
    await client.request('tag-other', { kinds: [1], '#t': ['other'] });
    await client.request('tag-and-missing-p', { '#t': ['escrow'], '#p': [bobPubkey] });
    await client.request('second-filter', { '#t': ['other'] }, { '#e': [referenced] });
    await client.request('tag-letter-case', { '#T': ['escrow'] });

    const event = sign(alice, {
      tags: [
        ['t', 'escrow'],
        ['e', referenced],
      ],
      content: 'live',
    });
    await expectAccepted(client, event);
    // Delivery is in order on one connection: once the sentinel arrives, everything for `event` has arrived.
    const sentinel = sign(alice, { tags: [['t', 'sentinel']], content: 'sentinel' });
    await expectAccepted(client, sentinel);
    assert.is((await client.nextEvent('all')).id, event.id);
    assert.is((await client.nextEvent('all')).id, sentinel.id);

    assert.ok(deliveredTo(client, 'tag-in-list', event));
    assert.ok(deliveredTo(client, 'second-filter', event));
    assert.not.ok(deliveredTo(client, 'tag-other', event));
    assert.not.ok(deliveredTo(client, 'tag-and-missing-p', event));
    assert.not.ok(deliveredTo(client, 'tag-letter-case', event));
  });
});

// --- (b) no stale reads, no cached OK answers ------------------------------------------------------------------

test('a REQ sent right after a publish sees the event, even if the same filter was just queried', async () => {
  await withRelay(async ({ client }) => {
    const filter = { kinds: [1], authors: [alicePubkey] };
    assert.equal(await client.request('before', filter), []);
    const event = sign(alice, { content: 'fresh' });
    await expectAccepted(client, event);
    assert.equal(ids(await client.request('after', filter)), [event.id]);
  });
});

test('publishing an event again answers OK true with a duplicate: message', async () => {
  await withRelay(async ({ client }) => {
    const event = sign(alice, { content: 'twice' });
    assert.equal(await client.publish(event), ['OK', event.id, true, '']);
    const [, , accepted, message] = await client.publish(event);
    assert.ok(accepted);
    assert.match(message, /^duplicate: /);
  });
});

test('a forged copy sent first does not make the relay refuse the genuine event', async () => {
  await withRelay(async ({ client }) => {
    const genuine = sign(alice, { content: 'genuine' });
    const forged = { ...genuine, content: 'forged' };
    const [, , forgedAccepted, forgedMessage] = await client.publish(forged);
    assert.not.ok(forgedAccepted);
    assert.match(forgedMessage, /^invalid: /);
    assert.equal(await client.publish(genuine), ['OK', genuine.id, true, '']);
    assert.equal((await client.request('read', { ids: [genuine.id] }))[0]?.content, 'genuine');
  });
});

test('a forged copy of a stored event is refused as invalid, not acknowledged as a duplicate', async () => {
  await withRelay(async ({ client }) => {
    const genuine = sign(alice, { content: 'stored' });
    await expectAccepted(client, genuine);
    const badSignature = { ...genuine, sig: genuine.sig.replace(/.$/, (c) => (c === '0' ? '1' : '0')) };
    const [, , accepted, message] = await client.publish(badSignature);
    assert.not.ok(accepted);
    assert.match(message, /^invalid: /);
  });
});

// --- (c) NIP-40 expiration ---------------------------------------------------------------------------------------

test('an event that is already expired is refused with invalid:, also at the very second it expires', async () => {
  const clock = Math.floor(Date.now() / 1000);
  await withRelay(
    async ({ client }) => {
      for (const expiration of [clock - 60, clock]) {
        const event = sign(alice, {
          tags: [['expiration', String(expiration)]],
          content: String(expiration),
        });
        const [, , accepted, message] = await client.publish(event);
        assert.not.ok(accepted);
        assert.is(message, 'invalid: event is expired');
      }
      assert.equal(await client.request('read', { authors: [alicePubkey] }), []);
    },
    { now: () => clock },
  );
});

test('a stored event is no longer served once its expiration passes, neither by REQ nor after a restart', async () => {
  const start = Math.floor(Date.now() / 1000);
  let clock = start;
  await withRelay(
    async ({ relay, client }) => {
      const expiring = sign(alice, { tags: [['expiration', String(start + 10)]], content: 'expiring' });
      const lasting = sign(alice, { tags: [['expiration', 'not-a-number']], content: 'lasting' });
      await expectAccepted(client, expiring, lasting);
      assert.equal(
        ids(await client.request('before', { authors: [alicePubkey] })).sort(),
        ids([expiring, lasting]).sort(),
      );
      clock = start + 10;
      assert.equal(ids(await client.request('after', { authors: [alicePubkey] })), [lasting.id]);
      assert.equal(await client.request('by-id', { ids: [expiring.id] }), []);
      await relay.restart();
      const again = await connectRawClient(relay.url);
      assert.equal(ids(await again.request('restarted', { authors: [alicePubkey] })), [lasting.id]);
      await again.close();
    },
    { now: () => clock },
  );
});

// --- (d) NIP-09 deletion ----------------------------------------------------------------------------------------

test('a deletion request is stored, served by REQ and delivered live', async () => {
  await withRelay(async ({ client }) => {
    await client.request('deletions', { kinds: [5] });
    const target = sign(alice, { content: 'oops' });
    const deletion = sign(alice, {
      kind: 5,
      tags: [
        ['e', target.id],
        ['k', '1'],
      ],
      content: 'by accident',
    });
    await expectAccepted(client, target, deletion);
    assert.is((await client.nextEvent('deletions')).id, deletion.id);
    assert.equal(ids(await client.request('read', { kinds: [5], authors: [alicePubkey] })), [deletion.id]);
  });
});

test("a deletion request removes its author's events named by e tag, and only those", async () => {
  await withRelay(async ({ client }) => {
    const mine = sign(alice, { content: 'mine', created_at: T0 });
    const kept = sign(alice, { content: 'kept', created_at: T0 + 1 });
    const theirs = sign(bob, { content: 'theirs', created_at: T0 + 2 });
    await expectAccepted(client, mine, kept, theirs);
    await expectAccepted(
      client,
      sign(alice, {
        kind: 5,
        created_at: T0 + 3,
        tags: [
          ['e', mine.id],
          ['e', theirs.id],
        ],
      }),
    );
    assert.equal(ids(await client.request('read', { kinds: [1] })), [theirs.id, kept.id]);
  });
});

test("deleting by address removes the versions up to the request's created_at, not a newer one", async () => {
  await withRelay(async ({ client }) => {
    const address = `30402:${alicePubkey}:task-1`;
    const newer = sign(alice, { kind: 30402, created_at: T0 + 200, tags: [['d', 'task-1']], content: 'v2' });
    const other = sign(alice, {
      kind: 30402,
      created_at: T0 + 100,
      tags: [['d', 'task-2']],
      content: 'other',
    });
    await expectAccepted(client, newer, other);
    await expectAccepted(client, sign(alice, { kind: 5, created_at: T0 + 150, tags: [['a', address]] }));
    assert.equal(ids(await client.request('read', { kinds: [30402] })), [newer.id, other.id]);

    await expectAccepted(client, sign(alice, { kind: 5, created_at: T0 + 250, tags: [['a', address]] }));
    assert.equal(ids(await client.request('read-2', { kinds: [30402] })), [other.id]);
    const older = sign(alice, { kind: 30402, created_at: T0 + 240, tags: [['d', 'task-1']], content: 'v1' });
    const [, , olderAccepted, message] = await client.publish(older);
    assert.not.ok(olderAccepted);
    assert.match(message, /^blocked: /);
    const later = sign(alice, { kind: 30402, created_at: T0 + 300, tags: [['d', 'task-1']], content: 'v3' });
    await expectAccepted(client, later);
    assert.equal(ids(await client.request('read-3', { kinds: [30402], '#d': ['task-1'] })), [later.id]);
  });
});

test('a deleted event published again stays deleted, and a deletion request cannot itself be deleted', async () => {
  await withRelay(async ({ client }) => {
    const target = sign(alice, { content: 'gone' });
    const deletion = sign(alice, { kind: 5, created_at: T0 + 1, tags: [['e', target.id]] });
    await expectAccepted(client, target, deletion);
    const [, , accepted, message] = await client.publish(target);
    assert.not.ok(accepted);
    assert.match(message, /^blocked: /);
    await expectAccepted(client, sign(alice, { kind: 5, created_at: T0 + 2, tags: [['e', deletion.id]] }));
    assert.equal(ids(await client.request('read', { ids: [target.id, deletion.id] })), [deletion.id]);
  });
});

// --- the rest of NIP-01 ----------------------------------------------------------------------------------------

test('the relay refuses events whose id or signature do not verify, or whose kind is above 65535', async () => {
  await withRelay(async ({ client }) => {
    const genuine = sign(alice, { content: 'genuine' });
    const forgeries = [
      { ...genuine, sig: sign(bob, { content: 'genuine' }).sig },
      { ...genuine, content: 'altered' },
      { ...genuine, pubkey: bobPubkey },
      sign(alice, { kind: 70000 }),
    ];
    for (const forged of forgeries) {
      const [, id, accepted, message] = await client.publish(forged);
      assert.is(id, forged.id);
      assert.not.ok(accepted);
      assert.match(message, /^invalid: /);
    }
    assert.equal(await client.request('read', {}), []);
  });
});

test('replaceable events keep only the newest version per pubkey and kind; on a tie the lowest id wins', async () => {
  await withRelay(async ({ client }) => {
    const v1 = sign(alice, { kind: 10002, created_at: T0, tags: [['r', 'wss://one']] });
    const v2 = sign(alice, { kind: 10002, created_at: T0 + 1, tags: [['r', 'wss://two']] });
    const bobs = sign(bob, { kind: 10002, created_at: T0 });
    await expectAccepted(client, v1, v2, bobs);
    const [, , accepted, message] = await client.publish(v1);
    assert.ok(accepted);
    assert.match(message, /^duplicate: /);
    assert.equal(ids(await client.request('lists', { kinds: [10002] })), [v2.id, bobs.id]);

    const [low, high] = [sign(alice, { kind: 0, content: 'a' }), sign(alice, { kind: 0, content: 'b' })].sort(
      (x, y) => (x.id < y.id ? -1 : 1),
    );
    await expectAccepted(client, high!, low!, high!);
    assert.equal(ids(await client.request('profile', { kinds: [0], authors: [alicePubkey] })), [low!.id]);
  });
});

test('addressable events keep the newest version per pubkey, kind and d tag', async () => {
  await withRelay(async ({ client }) => {
    const a1 = sign(alice, { kind: 30402, created_at: T0, tags: [['d', 'a']], content: 'a1' });
    const a2 = sign(alice, { kind: 30402, created_at: T0 + 5, tags: [['d', 'a']], content: 'a2' });
    const b1 = sign(alice, { kind: 30402, created_at: T0 + 1, tags: [['d', 'b']], content: 'b1' });
    const bobA = sign(bob, { kind: 30402, created_at: T0, tags: [['d', 'a']], content: 'bob' });
    await expectAccepted(client, a2, a1, b1, bobA);
    assert.equal(ids(await client.request('listings', { kinds: [30402] })), [a2.id, b1.id, bobA.id]);
  });
});

test("a replaced event's tags do not find its replacement", async () => {
  await withRelay(async ({ client }) => {
    const withRelayTag = sign(alice, { kind: 10002, created_at: T0, tags: [['r', 'wss://old']] });
    const withoutTags = sign(alice, { kind: 10002, created_at: T0 + 1 });
    await expectAccepted(client, withRelayTag, withoutTags);
    assert.equal(await client.request('by-tag', { '#r': ['wss://old'] }), []);
  });
});

test('a filter may combine three and more tag conditions', async () => {
  await withRelay(async ({ client }) => {
    const tags = [
      ['t', 'x'],
      ['p', bobPubkey],
      ['e', hex('b')],
      ['l', 'escrow'],
    ];
    const match = sign(alice, { tags });
    const miss = sign(alice, { tags: tags.slice(0, 3), created_at: T0 + 1 });
    await expectAccepted(client, match, miss);
    const filter = { '#t': ['x'], '#p': [bobPubkey], '#e': [hex('b')], '#l': ['escrow'] };
    assert.equal(ids(await client.request('four', filter)), [match.id]);
  });
});

test('limit returns the newest events, newest first, ties ordered by lowest id; limit 0 returns none', async () => {
  await withRelay(async ({ client }) => {
    const events = [0, 1, 2, 3].map((n) => sign(alice, { created_at: T0 + n, content: String(n) }));
    const tied = [
      sign(alice, { created_at: T0 + 4, content: 'x' }),
      sign(alice, { created_at: T0 + 4, content: 'y' }),
    ];
    await expectAccepted(client, ...events, ...tied);
    const [first, second] = ids(tied).sort();
    assert.equal(ids(await client.request('top', { kinds: [1], limit: 3 })), [first, second, events[3]!.id]);
    assert.equal(await client.request('none', { kinds: [1], limit: 0 }), []);
  });
});

test('since and until bound created_at inclusively and page through history without gaps', async () => {
  await withRelay(async ({ client }) => {
    const events = Array.from({ length: 10 }, (_, n) =>
      sign(alice, { created_at: T0 + n, content: String(n) }),
    );
    await expectAccepted(client, ...events);
    assert.equal(
      ids(await client.request('window', { since: T0 + 3, until: T0 + 5 })),
      ids(events.slice(3, 6).reverse()),
    );
    const seen: string[] = [];
    let until: number | undefined;
    for (let page = 0; page < 5; page += 1) {
      const batch = await client.request(`page-${page}`, {
        kinds: [1],
        limit: 4,
        ...(until === undefined ? {} : { until }),
      });
      if (batch.length === 0) break;
      seen.push(...ids(batch));
      until = batch.at(-1)!.created_at - 1;
    }
    assert.equal(seen, ids([...events].reverse()));
  });
});

test('several filters in one REQ return the union once, newest first', async () => {
  await withRelay(async ({ client }) => {
    const one = sign(alice, { created_at: T0, tags: [['t', 'one']] });
    const both = sign(alice, {
      created_at: T0 + 1,
      tags: [
        ['t', 'one'],
        ['t', 'two'],
      ],
    });
    const two = sign(bob, { created_at: T0 + 2, tags: [['t', 'two']] });
    await expectAccepted(client, one, both, two);
    const got = await client.request('union', { '#t': ['one'] }, { authors: [bobPubkey] }, { '#t': ['two'] });
    assert.equal(ids(got), [two.id, both.id, one.id]);
  });
});

test('stored events come before EOSE and live events after it; CLOSE stops delivery', async () => {
  await withRelay(async ({ client }) => {
    const stored = sign(alice, { content: 'stored' });
    await expectAccepted(client, stored);
    client.send(['REQ', 'watch', { kinds: [1] }]);
    await client.request('anchor', { kinds: [7] });
    const order = client.received.filter((message) => message[1] === 'watch').map((message) => message[0]);
    assert.equal(order, ['EVENT', 'EOSE']);

    const live = sign(alice, { content: 'live', created_at: T0 + 1 });
    await expectAccepted(client, live);
    assert.is((await client.nextEvent('watch')).id, stored.id);
    assert.is((await client.nextEvent('watch')).id, live.id);

    client.send(['CLOSE', 'watch']);
    const afterClose = sign(alice, { content: 'after close', created_at: T0 + 2 });
    const sentinel = sign(alice, { kind: 7, content: '+' });
    await expectAccepted(client, afterClose, sentinel);
    await client.nextEvent('anchor');
    assert.not.ok(deliveredTo(client, 'watch', afterClose));
  });
});

test('a REQ with an open subscription id replaces that subscription', async () => {
  await withRelay(async ({ client }) => {
    await client.request('sub', { kinds: [1] });
    await client.request('sub', { kinds: [7] });
    const note = sign(alice, { kind: 1 });
    const reaction = sign(alice, { kind: 7 });
    await expectAccepted(client, note, reaction);
    assert.is((await client.nextEvent('sub')).id, reaction.id);
    assert.not.ok(deliveredTo(client, 'sub', note));
  });
});

test('ephemeral events are delivered live but never stored', async () => {
  await withRelay(async ({ client }) => {
    await client.request('live', { kinds: [20001] });
    const ephemeral = sign(alice, { kind: 20001, content: 'now or never' });
    assert.equal(await client.publish(ephemeral), ['OK', ephemeral.id, true, '']);
    assert.is((await client.nextEvent('live')).id, ephemeral.id);
    assert.equal(await client.request('stored', { kinds: [20001] }), []);
  });
});

test('malformed messages get a NOTICE, a malformed EVENT an OK false and a bad filter a CLOSED', async () => {
  await withRelay(async ({ client }) => {
    const noticeFor = async (frame: string) => {
      client.sendText(frame);
      const [, message] = await client.next((candidate) => candidate[0] === 'NOTICE');
      return String(message);
    };
    assert.match(await noticeFor('not json'), /^invalid: /);
    assert.match(await noticeFor('{"kind":1}'), /^invalid: /);
    assert.match(await noticeFor('["HELLO"]'), /^unsupported: /);
    assert.match(await noticeFor('["CLOSE"]'), /^invalid: /);
    assert.match(await noticeFor(`["REQ", "${'x'.repeat(65)}", {}]`), /^invalid: /);

    const event = sign(alice);
    client.send(['EVENT', { ...event, sig: 'abc' }]);
    const ok = await client.next((message) => message[0] === 'OK');
    assert.equal(ok.slice(0, 3), ['OK', event.id, false]);
    assert.match(String(ok[3]), /^invalid: /);

    for (const [subscriptionId, filter, prefix] of [
      ['bad-kinds', { kinds: ['one'] }, /^invalid: /],
      ['unknown-key', { kinds: [1], '#tag': ['x'] }, /^unsupported: /],
      ['search', { search: 'x' }, /^unsupported: /],
    ] as const) {
      client.send(['REQ', subscriptionId, filter]);
      const closed = await client.next((message) => message[0] === 'CLOSED' && message[1] === subscriptionId);
      assert.match(String(closed[2]), prefix);
    }
    assert.equal(await client.request('still-works', {}), []);
  });
});

test('a client past its subscription limit gets CLOSED rate-limited: and keeps the others', async () => {
  await withRelay(
    async ({ client }) => {
      await client.request('one', { kinds: [1] });
      await client.request('two', { kinds: [1] });
      client.send(['REQ', 'three', { kinds: [1] }]);
      const closed = await client.next((message) => message[0] === 'CLOSED' && message[1] === 'three');
      assert.match(String(closed[2]), /^rate-limited: /);
      await client.request('two', { kinds: [7] });
      const note = sign(alice);
      await expectAccepted(client, note);
      assert.is((await client.nextEvent('one')).id, note.id);
    },
    { maxSubscriptionsPerClient: 2 },
  );
});

test('events survive stopping and starting the relay on the same database', async () => {
  await withRelay(async ({ relay, client }) => {
    const events = [sign(alice, { content: 'kept' }), sign(alice, { kind: 30402, tags: [['d', 'x']] })];
    await expectAccepted(client, ...events);
    const port = relay.port;
    await relay.restart();
    assert.is(relay.port, port);
    const again = await connectRawClient(relay.url);
    assert.equal(ids(await again.request('all', { authors: [alicePubkey] })).sort(), ids(events).sort());
    await again.close();
  });
});

test('the relay serves a NIP-11 document listing NIP-01, 09, 11 and 40', async () => {
  await withRelay(async ({ relay }) => {
    const response = await fetch(relay.url.replace('ws://', 'http://'), {
      headers: { accept: 'application/nostr+json' },
    });
    const document = (await response.json()) as {
      supported_nips: number[];
      limitation: { max_subid_length: number };
    };
    assert.equal(document.supported_nips, [1, 9, 11, 40]);
    assert.is(document.limitation.max_subid_length, 64);
  });
});

test('nostr-tools publishes to and subscribes from the relay, and stop() closes its connection', async () => {
  await withRelay(async ({ relay }) => {
    const tools = await connectNostrTools(relay.url);
    const event = sign(alice, { tags: [['t', 'interop']] });
    assert.is(await tools.publish(event), '');
    const received = await new Promise<Event[]>((resolve) => {
      const got: Event[] = [];
      const subscription = tools.subscribe([{ '#t': ['interop'] }], {
        onevent: (candidate) => got.push(candidate),
        oneose: () => {
          subscription.close();
          resolve(got);
        },
      });
    });
    assert.equal(ids(received), [event.id]);
    assert.is(relay.relay.connectionCount(), 2);
    const closed = new Promise<void>((resolve) => {
      tools.onclose = () => resolve();
    });
    await relay.relay.stop();
    await closed;
  });
});

test('the relay logs through a pino-shaped logger and says where it listens', async () => {
  const lines: string[] = [];
  const logger: RelayLogger = {
    debug: (_details, message) => lines.push(`debug ${message}`),
    info: (_details, message) => lines.push(`info ${message}`),
    warn: (_details, message) => lines.push(`warn ${message}`),
    error: (_details, message) => lines.push(`error ${message}`),
  };
  await withRelay(
    async ({ client }) => {
      await client.publish({ ...sign(alice), content: 'altered' });
    },
    { logger },
  );
  assert.ok(lines.includes('info embedded relay listening'));
  assert.ok(lines.includes('debug relay refused an event'));
  assert.ok(lines.includes('info embedded relay stopped'));
});

test.run();
