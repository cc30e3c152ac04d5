// fetchAll (src/cli/relay-fetch.ts) against real relays on 127.0.0.1: paging walks `until` back through more events
// than one page holds (many in one second included), copies are deduplicated across relays, a relay's forged copies
// and events it was not asked for are counted and never returned, what a relay lacked is named, and a relay that
// cannot be reached, or one that ignores `until`, is reported without holding up the others.
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchAll } from '../../src/cli/relay-fetch.ts';
import { verifyEvent } from '../../src/protocol/verify-event.ts';
import { startHostileRelay } from '../fakes/hostile-relay.ts';
import { connectNostrTools, startTestRelay } from '../fakes/relay.ts';

const author = generateSecretKey();
const T = Math.floor(Date.now() / 1000) - 3600;

/** 60 notes: 20 of them in one second, the rest a second apart. */
const notes = Array.from({ length: 60 }, (_, index) =>
  finalizeEvent(
    {
      kind: 1,
      created_at: index < 20 ? T : T + index,
      tags: [['t', 'fetch-test']],
      content: `note ${index}`,
    },
    author,
  ),
);

test('every event once, verified, through pages smaller than the answer; what one relay lacked is named', async () => {
  const full = await startTestRelay();
  const partial = await startTestRelay();
  try {
    const a = await connectNostrTools(full.url);
    const b = await connectNostrTools(partial.url);
    for (const note of notes) await a.publish(note);
    for (const note of notes.slice(0, 40)) await b.publish(note);
    a.close();
    b.close();
    const result = await fetchAll(
      [full.url, partial.url],
      [{ kinds: [1], authors: [getPublicKey(author)] }],
      {
        pageSize: 7,
        timeoutMs: 5000,
      },
    );
    assert.is(result.events.length, 60);
    assert.equal(result.events.map((event) => event.id).sort(), notes.map((note) => note.id).sort());
    assert.ok(result.events.every((event) => verifyEvent(event).ok));
    const order = result.events.map((event) => [event.created_at, event.id].join(':'));
    assert.equal(order, [...order].sort(), 'by created_at, then id');
    assert.equal(result.perRelay.get(full.url), { held: 60, rejected: 0 });
    assert.equal(result.perRelay.get(partial.url), { held: 40, rejected: 0 });
    assert.equal(
      [...result.missingOn.keys()].sort(),
      notes
        .slice(40)
        .map((note) => note.id)
        .sort(),
    );
    assert.ok([...result.missingOn.values()].every((urls) => urls.length === 1 && urls[0] === partial.url));

    // An ids filter, and `since`.
    const some = await fetchAll(
      [partial.url],
      [{ ids: [notes[0]!.id, notes[50]!.id] }, { kinds: [1], since: T + 30 }],
      {
        pageSize: 3,
        timeoutMs: 5000,
      },
    );
    assert.equal(
      some.events.map((event) => event.id).sort(),
      [notes[0]!.id, ...notes.slice(30, 40).map((note) => note.id)].sort(),
    );
  } finally {
    await full.stop();
    await partial.stop();
  }
});

test('forged copies and events not asked for are counted and skipped; an unreachable relay is reported', async () => {
  const honest = await startTestRelay();
  const hostile = await startHostileRelay({ forgeries: ['bad-signature'], forgeryPlacement: 'instead' });
  try {
    const a = await connectNostrTools(honest.url);
    for (const note of notes.slice(0, 5)) await a.publish(note);
    a.close();
    hostile.add(...notes.slice(0, 5));
    // A genuine event that matches nothing asked (another author), served by a relay that ignores filters.
    const other = finalizeEvent(
      { kind: 1, created_at: T, tags: [], content: 'not asked' },
      generateSecretKey(),
    );
    const unreachable = 'ws://127.0.0.1:1';
    const result = await fetchAll(
      [hostile.url, honest.url, unreachable, 'http://not-a-relay'],
      [{ kinds: [1], authors: [getPublicKey(author)] }],
      { pageSize: 100, timeoutMs: 1500 },
    );
    assert.is(result.events.length, 5);
    assert.ok(result.events.every((event) => verifyEvent(event).ok));
    assert.equal(result.perRelay.get(hostile.url), { held: 0, rejected: 5 });
    assert.equal(result.perRelay.get(honest.url), { held: 5, rejected: 0 });
    assert.match(result.perRelay.get(unreachable)?.failed ?? '', /not connected within 1500 ms/);
    assert.match(result.perRelay.get('http://not-a-relay')?.failed ?? '', /not a relay URL/);
    for (const note of notes.slice(0, 5)) assert.equal(result.missingOn.get(note.id), [hostile.url]);

    hostile.set({ forgeries: false, replay: true });
    hostile.add(other);
    const again = await fetchAll([hostile.url], [{ kinds: [1], authors: [getPublicKey(author)] }], {
      pageSize: 100,
      timeoutMs: 1500,
    });
    assert.is(again.events.length, 5);
    assert.ok(!again.events.some((event) => event.id === other.id));
    assert.is(again.perRelay.get(hostile.url)?.rejected, 1, 'the event nobody asked for');
    // It serves everything to every REQ, `until` included: the walk stops instead of paging for ever.
    assert.match(again.perRelay.get(hostile.url)?.failed ?? '', /ignores "until"/);
  } finally {
    await honest.stop();
    await hostile.stop();
  }
});

test.run();
