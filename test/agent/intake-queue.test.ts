// The intake's two lanes (src/agent/intake-queue.ts): actions go before waiting listings, one event at a time,
// and an action naming a listing that still waits goes behind it. Events are real signed events as relays send
// them (raw JSON text); the handler records the order in which the queue hands them over.
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createIntakeQueue, peekEvent } from '../../src/agent/intake-queue.ts';
import { KINDS } from '../../src/protocol/constants.ts';

const key = generateSecretKey();

function listing(title: string) {
  return finalizeEvent(
    {
      kind: KINDS.listing,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['d', title],
        ['title', title],
      ],
      content: `a task: ${title}`,
    },
    key,
  );
}

function action(name: string, taskId: string, content = '') {
  return finalizeEvent(
    {
      kind: KINDS.label,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['L', 'escrow'],
        ['l', name, 'escrow'],
        ['e', taskId],
      ],
      content,
    },
    key,
  );
}

/** A queue whose handler records each event's content and waits for `release` before the first one finishes. */
function recordingQueue() {
  const order: string[] = [];
  let release: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    release = resolve;
  });
  const queue = createIntakeQueue(async (event) => {
    const parsed = JSON.parse(event as string) as { content: string };
    order.push(parsed.content);
    if (order.length === 1) await first;
  });
  return { queue, order, release };
}

test('an action waits behind the listing being handled, not behind the listings queued after it', async () => {
  const { queue, order, release } = recordingQueue();
  const done: Array<Promise<void>> = [];
  done.push(queue.push(JSON.stringify(listing('first')), 'wss://a'));
  for (let index = 0; index < 10; index++)
    done.push(queue.push(JSON.stringify(listing(`burst ${index}`)), 'wss://a'));
  const someTask = listing('funded long ago');
  done.push(queue.push(JSON.stringify(action('approve', someTask.id, 'the approval')), 'wss://b'));
  assert.equal(queue.waiting(), { actions: 1, listings: 10 });
  release();
  await Promise.all(done);
  assert.is(order[0], 'a task: first');
  assert.is(order[1], 'the approval', `the approval came second: ${order.join(' | ')}`);
  assert.is(order.length, 12);
  assert.equal(
    order.slice(2),
    Array.from({ length: 10 }, (_, index) => `a task: burst ${index}`),
    'the listings keep their order',
  );
});

test('an action on a listing still waiting in its lane goes behind that listing', async () => {
  const { queue, order, release } = recordingQueue();
  const done: Array<Promise<void>> = [];
  done.push(queue.push(JSON.stringify(listing('busy')), 'wss://a'));
  const fresh = listing('fresh');
  done.push(queue.push(JSON.stringify(fresh), 'wss://a'));
  done.push(queue.push(JSON.stringify(action('cancel', fresh.id, 'cancel the fresh one')), 'wss://a'));
  const other = listing('elsewhere');
  done.push(queue.push(JSON.stringify(action('approve', other.id, 'approve another')), 'wss://a'));
  release();
  await Promise.all(done);
  assert.equal(order, ['a task: busy', 'approve another', 'a task: fresh', 'cancel the fresh one']);
});

test('`ahead` is told of each event that waits, and what it started is undone once the event was handled', async () => {
  const told: string[] = [];
  const undone: string[] = [];
  let release: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    release = resolve;
  });
  const queue = createIntakeQueue(
    async () => {
      if (told.length === 0 && undone.length === 0) await first;
    },
    {
      ahead: (peeked) => {
        told.push(peeked.id ?? '');
        return () => undone.push(peeked.id ?? '');
      },
    },
  );
  const events = [listing('one'), listing('two'), listing('three')];
  const done = events.map((event) => queue.push(JSON.stringify(event), 'wss://a'));
  assert.equal(told, [events[1]!.id, events[2]!.id], 'the first was handled at once; the others waited');
  release();
  await Promise.all(done);
  assert.equal(undone, [events[1]!.id, events[2]!.id]);
});

test('a failing handler does not stop the queue', async () => {
  const seen: string[] = [];
  const queue = createIntakeQueue(async (event) => {
    seen.push(event as string);
    if (event === 'bad') throw new Error('boom');
  });
  await queue.push('bad', 'wss://a');
  await queue.push('good', 'wss://a');
  assert.equal(seen, ['bad', 'good']);
});

test('peekEvent reads the event’s own kind, id and e tags, not look-alikes inside the content or tags', () => {
  const target = listing('target');
  const decoy = '{"kind":30402,"id":"' + 'ab'.repeat(32) + '","tags":[["e","' + 'cd'.repeat(32) + '"]]}';
  const event = finalizeEvent(
    {
      kind: KINDS.label,
      created_at: 1,
      tags: [
        ['l', 'claim', 'escrow'],
        ['e', target.id],
        ['x', '"kind":30402'],
      ],
      content: decoy,
    },
    key,
  );
  // Relays may put the members in any order.
  const reordered = JSON.stringify({
    content: event.content,
    tags: event.tags,
    sig: event.sig,
    pubkey: event.pubkey,
    created_at: event.created_at,
    id: event.id,
    kind: event.kind,
  });
  const expected = {
    kind: KINDS.label,
    id: event.id,
    pubkey: event.pubkey,
    sig: event.sig,
    refs: [target.id],
  };
  for (const raw of [JSON.stringify(event), reordered]) assert.equal(peekEvent(raw), expected);
  assert.equal(peekEvent(event), expected, 'an object too');
  const none = { kind: null, id: null, pubkey: null, sig: null, refs: [] };
  assert.equal(peekEvent('not json'), none);
  assert.equal(peekEvent(null), none);
});

test.run();
