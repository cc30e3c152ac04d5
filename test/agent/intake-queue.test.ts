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

test('with concurrency, an action with hundreds of e tags still waits for the task its first one names', async () => {
  const { queue, inside, finish, settle } = heldQueue(4);
  const busy = listing('busy task');
  const done = [queue.push(JSON.stringify(busy), 'wss://a')];
  await settle();
  const many = finalizeEvent(
    {
      kind: KINDS.label,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['l', 'cancel', 'escrow'],
        ['e', busy.id],
        ...Array.from({ length: 300 }, (_, index) => ['e', index.toString(16).padStart(64, '0')]),
      ],
      content: 'many tags',
    },
    key,
  );
  done.push(queue.push(JSON.stringify(many), 'wss://hostile'));
  await settle();
  assert.equal(inside, ['a task: busy task'], 'the action waits for its task');
  await finish('a task: busy task');
  assert.equal(inside, ['many tags']);
  await finish('many tags');
  await Promise.all(done);
});

test('the handler is told the lane each event waited in (an action runs its writes as urgent in runAgent)', async () => {
  const lanes: string[] = [];
  const queue = createIntakeQueue(async (event, _relay, lane) => {
    lanes.push(`${(JSON.parse(event as string) as { content: string }).content}: ${lane}`);
  });
  const task = listing('a task');
  await queue.push(JSON.stringify(task), 'wss://a');
  await queue.push(JSON.stringify(action('claim', task.id, 'a claim')), 'wss://a');
  assert.equal(lanes, ['a task: a task: listing', 'a claim: action']);
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

/**
 * A queue of `concurrency` whose handler holds each event until the test lets it go: what is in the intake at any
 * moment is `inside`, and the most seen at once `most`.
 */
function heldQueue(concurrency: number) {
  const inside: string[] = [];
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  let most = 0;
  const queue = createIntakeQueue(
    async (event) => {
      const { content } = JSON.parse(event as string) as { content: string };
      inside.push(content);
      started.push(content);
      most = Math.max(most, inside.length);
      await new Promise<void>((resolve) => releases.set(content, resolve));
      inside.splice(inside.indexOf(content), 1);
    },
    { concurrency },
  );
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  /** Lets go of the event with this content (it must be inside). */
  const finish = async (content: string) => {
    const release = releases.get(content);
    assert.ok(release, `"${content}" is in the intake (inside: ${inside.join(' | ')})`);
    releases.delete(content);
    release();
    await settle();
  };
  return { queue, inside, started, finish, settle, most: () => most };
}

test('with concurrency, events about different tasks overlap, never more than the limit at once', async () => {
  const { queue, inside, finish, settle, most } = heldQueue(3);
  const events = Array.from({ length: 7 }, (_, index) => listing(`task ${index}`));
  const done = events.map((event) => queue.push(JSON.stringify(event), 'wss://a'));
  await settle();
  assert.equal(inside, ['a task: task 0', 'a task: task 1', 'a task: task 2']);
  await finish('a task: task 1');
  assert.equal(inside, ['a task: task 0', 'a task: task 2', 'a task: task 3'], 'the next one starts');
  while (inside.length > 0) await finish(inside[0] as string);
  await Promise.all(done);
  assert.is(most(), 3);
});

test('with concurrency, copies of one event, and the events of one task, go one at a time and in order', async () => {
  const { queue, inside, started, finish, settle } = heldQueue(8);
  const task = listing('the task');
  const other = listing('another task');
  const done = [
    queue.push(JSON.stringify(task), 'wss://a'),
    queue.push(JSON.stringify(task), 'wss://b'), // the same listing from a second relay
    queue.push(JSON.stringify(action('claim', task.id, 'claim')), 'wss://a'),
    queue.push(JSON.stringify(action('submit', task.id, 'submit')), 'wss://a'),
    queue.push(JSON.stringify(other), 'wss://a'),
    queue.push(JSON.stringify(action('approve', other.id, 'approve the other')), 'wss://a'),
  ];
  await settle();
  assert.equal(inside, ['a task: the task', 'a task: another task'], 'one event of each task at a time');
  await finish('a task: the task');
  assert.equal(inside, ['a task: another task', 'a task: the task'], 'then the copy, still before the claim');
  await finish('a task: another task');
  assert.equal(inside, ['a task: the task', 'approve the other']);
  await finish('a task: the task');
  assert.equal(inside, ['approve the other', 'claim']);
  await finish('claim');
  assert.equal(inside, ['approve the other', 'submit'], 'the submit waited for the claim');
  await finish('submit');
  await finish('approve the other');
  await Promise.all(done);
  assert.equal(started, [
    'a task: the task',
    'a task: another task',
    'a task: the task',
    'approve the other',
    'claim',
    'submit',
  ]);
});

test('with concurrency, an action on a listing being handled waits for it; actions on other tasks do not', async () => {
  const { queue, inside, finish, settle } = heldQueue(4);
  const busy = listing('in the intake');
  const done = [queue.push(JSON.stringify(busy), 'wss://a')];
  await settle();
  done.push(queue.push(JSON.stringify(action('cancel', busy.id, 'cancel it')), 'wss://a'));
  const elsewhere = listing('elsewhere');
  done.push(queue.push(JSON.stringify(action('approve', elsewhere.id, 'approve elsewhere')), 'wss://a'));
  await settle();
  assert.equal(inside, ['a task: in the intake', 'approve elsewhere']);
  await finish('a task: in the intake');
  assert.equal(inside, ['approve elsewhere', 'cancel it']);
  await finish('approve elsewhere');
  await finish('cancel it');
  await Promise.all(done);
});

test.run();
