// The intake pipeline, fed directly with hostile and malformed events on a running agent (real store, real LDK
// sandbox): each is refused with its specific reason, nothing but the counters changes, and the agent keeps going.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeEvent, type NostrEvent } from 'nostr-tools/pure';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createIntakeMemory, intakeEvent } from '../../src/agent/intake.ts';
import { createRateGate } from '../../src/agent/rate-gate.ts';
import { routeEvent } from '../../src/agent/router.ts';
import { KINDS, LABEL_NAMESPACE } from '../../src/protocol/constants.ts';
import { openStore } from '../../src/store/index.ts';
import { collect, type Harness, person, startHarness } from '../fakes/agent-harness.ts';

let harness: Harness;
const gate = () => createRateGate({ perMinute: 600, burst: 100 });

test.before(async () => {
  harness = await startHarness();
});

test.after(async () => {
  await harness?.stop();
});

function listing(
  overrides: { tags?: string[][]; content?: string; created_at?: number; kind?: number } = {},
  by = harness.poster,
) {
  return finalizeEvent(
    {
      kind: overrides.kind ?? KINDS.listing,
      created_at: overrides.created_at ?? Math.floor(Date.now() / 1000),
      tags: overrides.tags ?? [
        ['d', `t-${Math.random()}`],
        ['title', 'Hostile input test'],
        ['amount', '21000000'],
        ['p', harness.agentKey.pubkey],
        ['t', 'escrow'],
      ],
      content: overrides.content ?? 'x',
    },
    by.secretKey,
  );
}

function action(name: string, taskId: string, by = harness.worker, tags: string[][] = []) {
  return finalizeEvent(
    {
      kind: KINDS.label,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['L', LABEL_NAMESPACE],
        ['l', name, LABEL_NAMESPACE],
        ['e', taskId, '', 'task'],
        ['p', harness.agentKey.pubkey],
        ...tags,
      ],
      content: '',
    },
    by.secretKey,
  );
}

async function counts() {
  const tasks = await harness.store.read((reader) =>
    reader.tasks.listByState(['posted', 'offered', 'funded', 'claimed']),
  );
  return { tasks: tasks.length, projection: await harness.store.projectionHash() };
}

type Case = [name: string, input: () => unknown, code: string, reason: RegExp];
const unanswered: Case[] = [
  ['malformed JSON', () => '{"id": "abc", ', 'NotJson', /^invalid: not JSON/],
  ['a wrong id', () => ({ ...listing(), id: 'f'.repeat(64) }), 'BadId', /^invalid: event id is not the hash/],
  ['a bad signature', () => ({ ...listing(), sig: 'a'.repeat(128) }), 'BadSignature', /^invalid: signature/],
  ['an uppercase id', () => ({ ...listing(), id: listing().id.toUpperCase() }), 'BadShape', /^invalid: id/],
  ['a float created_at', () => ({ ...listing(), created_at: 1.5 }), 'BadShape', /^invalid: created_at/],
  ['a kind above 65535', () => ({ ...listing(), kind: 70000 }), 'BadShape', /^invalid: kind/],
  ['an extra top-level field', () => ({ ...listing(), extra: 1 }), 'BadShape', /unknown field "extra"/],
  [
    'a duplicate JSON key',
    () => JSON.stringify(listing()).replace('{"', '{"content":"dup","'),
    'DuplicateKey',
    /duplicate JSON key/,
  ],
  [
    'a __proto__ key',
    () => JSON.stringify(listing()).replace('{"', '{"__proto__":{},"'),
    'ForbiddenKey',
    /__proto__/,
  ],
  [
    'oversized content',
    () => listing({ content: 'x'.repeat(70_000) }),
    'TooLarge',
    /^invalid: event is larger than/,
  ],
];

async function rejectionCount(code: string): Promise<number> {
  const metric = await harness.agent.ctx.metrics.rejections.get();
  return metric.values.find((value) => value.labels.code === code)?.value ?? 0;
}

for (const [name, input, code, reason] of unanswered) {
  test(`${name} is dropped as ${code}, unanswered, counted, and changes nothing else`, async () => {
    const before = await counts();
    const counted = await rejectionCount(code);
    const outcome = await intakeEvent(harness.agent.ctx, gate(), input(), 'ws://test');
    assert.is(await rejectionCount(code), counted + 1, 'the rejection is counted');
    assert.is(outcome.status, 'dropped');
    if (outcome.status !== 'dropped') return;
    assert.is(outcome.code, code);
    assert.match(outcome.reason, reason);
    assert.equal(await counts(), before);
  });
}

type Answered = [name: string, event: () => NostrEvent | Promise<NostrEvent>, code: string, reason: RegExp];
const answered: Answered[] = [
  [
    'a timestamp an hour in the future',
    () => listing({ created_at: Math.floor(Date.now() / 1000) + 3600 }),
    'FutureTimestamp',
    /^invalid: created_at is more than/,
  ],
  [
    'a listing without an amount',
    () =>
      listing({
        tags: [
          ['d', 'x'],
          ['title', 't'],
          ['p', harness.agentKey.pubkey],
          ['t', 'escrow'],
        ],
      }),
    'MalformedListing',
    /^invalid: /,
  ],
  [
    'an amount below the policy minimum',
    () =>
      listing({
        tags: [
          ['d', 'y'],
          ['title', 't'],
          ['amount', '5'],
          ['p', harness.agentKey.pubkey],
          ['t', 'escrow'],
        ],
      }),
    'AmountOutOfPolicy',
    /^invalid: amount 5 msat is outside/,
  ],
  [
    'an unknown action',
    () => action('steal', 'a'.repeat(64)),
    'UnknownAction',
    /^invalid: unknown action "steal"/,
  ],
  [
    'an action on an unknown task',
    () => action('claim', 'b'.repeat(64)),
    'UnknownTask',
    /^invalid: no task with this id/,
  ],
  [
    'an action without its task tag',
    () =>
      finalizeEvent(
        {
          kind: KINDS.label,
          created_at: Math.floor(Date.now() / 1000),
          tags: [
            ['L', LABEL_NAMESPACE],
            ['l', 'claim', LABEL_NAMESPACE],
            ['p', harness.agentKey.pubkey],
          ],
          content: '',
        },
        harness.worker.secretKey,
      ),
    'MalformedAction',
    /^invalid: /,
  ],
];

for (const [name, make, code, reason] of answered) {
  test(`${name} is refused as ${code}, answered with the reason, and changes no task`, async () => {
    const event = await make();
    const before = (await counts()).tasks;
    const outcome = await intakeEvent(harness.agent.ctx, gate(), event, 'ws://test');
    assert.is(outcome.status, 'refused');
    if (outcome.status !== 'refused') return;
    assert.is(outcome.code, code);
    assert.match(outcome.reason, reason);
    assert.is((await counts()).tasks, before);
    const record = await harness.store.read((reader) => reader.inbound.get(event.id));
    assert.is(record?.status, 'rejected');
    await harness.agent.settle();
    const [answer] = await collect(harness.client, {
      kinds: [KINDS.label],
      authors: [harness.agentKey.pubkey],
      '#e': [event.id],
    });
    assert.ok(answer, 'a rejected label answers the event');
    assert.is(answer?.content, outcome.reason);
  });
}

test('an action in the wrong state is refused with blocked: and the reason, and the task does not move', async () => {
  const task = await harness.postTask({ amountMsat: 22_000_000n });
  await harness.waitForState(task.id, 'offered');
  const approval = action('approve', task.id, harness.poster);
  const outcome = await intakeEvent(harness.agent.ctx, gate(), approval, 'ws://test');
  assert.is(outcome.status, 'refused');
  if (outcome.status === 'refused') {
    assert.is(outcome.code, 'WrongState');
    assert.is(outcome.reason, 'blocked: cannot approve a task that is offered');
  }
  assert.is((await harness.store.read((reader) => reader.tasks.get(task.id)))?.state, 'offered');
});

test('a forged copy does not censor the genuine event', async () => {
  const genuine = listing();
  const forged = { ...genuine, content: 'tampered' }; // same id, content no longer matches it
  const first = await intakeEvent(harness.agent.ctx, gate(), forged, 'ws://evil');
  assert.is(first.status, 'dropped');
  if (first.status === 'dropped') assert.is(first.code, 'BadId');
  const second = await intakeEvent(harness.agent.ctx, gate(), genuine, 'ws://good');
  assert.is(second.status, 'handled', 'the genuine event is handled after its forged copy');
});

test('the same event delivered again is dropped as already seen', async () => {
  const event = listing();
  assert.is((await intakeEvent(harness.agent.ctx, gate(), event, 'ws://a')).status, 'handled');
  const again = await intakeEvent(harness.agent.ctx, gate(), JSON.parse(JSON.stringify(event)), 'ws://b');
  assert.is(again.status, 'dropped');
  if (again.status === 'dropped') assert.is(again.code, 'AlreadySeen');
});

test('a flood from one pubkey is answered once with rate-limited, then only counted', async () => {
  const spammer = person();
  const tight = createRateGate({ perMinute: 1, burst: 2 });
  const outcomes = [];
  for (let index = 0; index < 5; index++) {
    outcomes.push(await intakeEvent(harness.agent.ctx, tight, listing({}, spammer), 'ws://spam'));
  }
  assert.equal(
    outcomes.map((outcome) => outcome.status),
    ['handled', 'handled', 'refused', 'dropped', 'dropped'],
  );
});

test('a handler that fails is logged, counted and dropped without recording the event, so it is handled later', async () => {
  // A real store that is already closed: the post-task handler's transaction fails inside the router.
  const folder = await mkdtemp(join(tmpdir(), 'escrow-router-'));
  const closed = await openStore({
    url: `sqlite:${join(folder, 'closed.db')}`,
    preimageKey: randomBytes(32),
  });
  await closed.close();
  const lines: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
  const failing = { ...harness.agent.ctx, store: closed, log };
  const failures = async () =>
    (await harness.agent.ctx.metrics.handlerFailures.get()).values.reduce(
      (sum, value) => sum + value.value,
      0,
    );
  try {
    const event = listing();
    const before = await failures();
    const outcome = await routeEvent(failing, { event, raw: JSON.stringify(event) });
    assert.is(outcome.status, 'dropped');
    if (outcome.status === 'dropped') assert.is(outcome.code, 'HandlerFailed');
    assert.is(await failures(), before + 1, 'the failure is counted');
    assert.is(lines.length, 1, 'and logged once');
    const logged = JSON.parse(lines[0]!);
    assert.is(logged.eventId, event.id);
    assert.not.ok(
      lines[0]!.includes(Buffer.from(harness.agentKey.secretKey).toString('hex')),
      'no secret in the log',
    );
    assert.is(await harness.store.read((reader) => reader.inbound.has(event.id)), false, 'not recorded');
    const later = await intakeEvent(harness.agent.ctx, gate(), event, 'ws://catch-up');
    assert.is(later.status, 'handled', 'a later delivery (catch-up) handles it');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

async function inboundCount(outcome: string): Promise<number> {
  const metric = await harness.agent.ctx.metrics.inboundEvents.get();
  return metric.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

async function allRejections(): Promise<number> {
  const metric = await harness.agent.ctx.metrics.rejections.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}

async function answersTo(eventId: string) {
  await harness.agent.settle();
  return collect(harness.client, { authors: [harness.agentKey.pubkey], '#e': [eventId] });
}

test("the agent's own events (echoed back, or forged) are dropped before verification: counted as own_event, never refused", async () => {
  const rejectionsBefore = await allRejections();
  const ownBefore = await inboundCount('own_event');
  const invalidBefore = (await harness.agent.ctx.metrics.invalidSignatures.get()).values.length;
  const genuine = action('claim', 'c'.repeat(64), harness.agentKey);
  const forged = { ...genuine, sig: 'a'.repeat(128) };
  const rejection = action('rejected', 'c'.repeat(64), harness.agentKey, [['code', 'RateLimited']]);
  for (const event of [genuine, forged, rejection]) {
    const outcome = await intakeEvent(harness.agent.ctx, gate(), event, 'ws://echo');
    assert.is(outcome.status, 'dropped');
    if (outcome.status === 'dropped') assert.is(outcome.code, 'OwnEvent');
    assert.is(await harness.store.read((reader) => reader.inbound.has(event.id)), false, 'not recorded');
  }
  assert.is(await inboundCount('own_event'), ownBefore + 3);
  assert.is(await allRejections(), rejectionsBefore, 'not counted as refusals');
  assert.is(
    (await harness.agent.ctx.metrics.invalidSignatures.get()).values.length,
    invalidBefore,
    'the forged copy was not even verified',
  );
  assert.equal(await answersTo(genuine.id), []);
  assert.equal(await answersTo(rejection.id), []);
});

test('transition and rejection labels from anyone else are dropped, never answered (no event answers an event)', async () => {
  const task = await harness.postTask({ amountMsat: 23_000_000n });
  await harness.waitForState(task.id, 'offered');
  for (const label of ['funded', 'offered', 'paid', 'rejected']) {
    const event = action(
      label,
      task.id,
      harness.worker,
      label === 'rejected' ? [['code', 'WrongState']] : [],
    );
    const outcome = await intakeEvent(harness.agent.ctx, gate(), event, 'ws://peer');
    assert.is(outcome.status, 'dropped', `a "${label}" label is dropped`);
    if (outcome.status === 'dropped') {
      assert.is(outcome.code, 'UnknownAction');
      assert.match(outcome.reason, /published by the agent only/);
    }
    assert.is(await harness.store.read((reader) => reader.inbound.has(event.id)), false);
    assert.equal(await answersTo(event.id), [], `no answer to a "${label}" label`);
  }
  assert.is((await harness.store.read((reader) => reader.tasks.get(task.id)))?.state, 'offered');
});

test("the rate limit's answer goes only to a person's action, never to anything else from the pubkey", async () => {
  const spammer = person();
  const tight = createRateGate({ perMinute: 1, burst: 1 });
  const first = listing({}, spammer);
  assert.is((await intakeEvent(harness.agent.ctx, tight, first, 'ws://spam')).status, 'handled');
  const note = finalizeEvent(
    {
      kind: 1,
      created_at: Math.floor(Date.now() / 1000),
      tags: [['p', harness.agentKey.pubkey]],
      content: 'hi',
    },
    spammer.secretKey,
  );
  const notInput = [
    note,
    action('rejected', first.id, spammer, [['code', 'WrongState']]),
    action('funded', first.id, spammer),
    listing(
      {
        tags: [
          ['d', 'not-for-us'],
          ['title', 't'],
          ['amount', '21000000'],
          ['t', 'escrow'],
        ],
      },
      spammer,
    ),
  ];
  for (const event of notInput) {
    const outcome = await intakeEvent(harness.agent.ctx, tight, event, 'ws://spam');
    assert.is(outcome.status, 'dropped', 'not input: dropped, not answered');
    if (outcome.status === 'dropped') assert.is.not(outcome.code, 'RateLimited');
    assert.equal(await answersTo(event.id), []);
  }
  // The pubkey's next action is the first input over its budget: that one is told to slow down.
  const claim = action('claim', first.id, spammer);
  const limited = await intakeEvent(harness.agent.ctx, tight, claim, 'ws://spam');
  assert.is(limited.status, 'refused');
  if (limited.status === 'refused') assert.is(limited.code, 'RateLimited');
});

test('a copy of an event already handled is dropped before verification: from memory, and from the store after a restart', async () => {
  const event = listing();
  assert.is((await intakeEvent(harness.agent.ctx, gate(), event, 'ws://a')).status, 'handled');
  const invalid = async () =>
    (await harness.agent.ctx.metrics.invalidSignatures.get()).values.reduce((sum, v) => sum + v.value, 0);
  const invalidBefore = await invalid();
  // A copy with a broken signature claims the same id: the genuine event was handled, so it is dropped unverified.
  const forgedCopy = { ...event, sig: 'b'.repeat(128) };
  const fromMemory = await intakeEvent(harness.agent.ctx, gate(), forgedCopy, 'ws://b');
  assert.is(fromMemory.status, 'dropped');
  if (fromMemory.status === 'dropped') assert.is(fromMemory.code, 'AlreadySeen');
  // A fresh memory (a restarted agent): the durable dedupe answers.
  const fromStore = await intakeEvent(harness.agent.ctx, gate(), event, 'ws://c', createIntakeMemory());
  assert.is(fromStore.status, 'dropped');
  if (fromStore.status === 'dropped') assert.is(fromStore.code, 'AlreadySeen');
  assert.is(await invalid(), invalidBefore, 'nothing was verified (and failed)');
});

test('a refusal is counted once per distinct event and code, however many relays deliver it', async () => {
  const forged = { ...listing(), sig: 'c'.repeat(128) };
  const counted = await rejectionCount('BadSignature');
  for (const relay of ['ws://one', 'ws://two', 'ws://three', 'ws://one'])
    await intakeEvent(harness.agent.ctx, gate(), forged, relay);
  assert.is(await rejectionCount('BadSignature'), counted + 1, 'the same forgery counts once');
  const other = { ...forged, sig: 'd'.repeat(128) };
  await intakeEvent(harness.agent.ctx, gate(), other, 'ws://one');
  assert.is(await rejectionCount('BadSignature'), counted + 2, 'another forgery counts again');
});

test('each dropped or refused event is one debug line (code, relay, id, pubkey; no content), limited per relay with a summary', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        raw.push(line);
        lines.push(JSON.parse(line));
      },
    },
  );
  const ctx = { ...harness.agent.ctx, log };
  const memory = createIntakeMemory({ log, logBurst: 3, logWindowMs: 300 });
  const forgeries = Array.from({ length: 10 }, () => ({
    ...listing({ content: 'PRIVATE-CONTENT' }),
    sig: 'e'.repeat(128),
  }));
  for (const forged of forgeries) await intakeEvent(ctx, gate(), forged, 'ws://noisy', memory);
  assert.is(lines.length, 3, 'three lines for the noisy relay, the rest suppressed');
  assert.equal(
    { ...lines[0], level: undefined, time: undefined, pid: undefined, hostname: undefined },
    {
      level: undefined,
      time: undefined,
      pid: undefined,
      hostname: undefined,
      relay: 'ws://noisy',
      code: 'BadSignature',
      eventId: forgeries[0]!.id,
      pubkey: harness.poster.pubkey,
      verified: false,
      msg: 'inbound event dropped',
    },
  );
  assert.ok(
    raw.every((line) => !line.includes('PRIVATE-CONTENT')),
    'never the content',
  );
  await intakeEvent(ctx, gate(), forgeries[0]!, 'ws://quiet', memory);
  assert.is(lines.length, 4, 'another relay has its own budget');
  await new Promise((resolve) => setTimeout(resolve, 350));
  await intakeEvent(ctx, gate(), { ...listing(), sig: 'f'.repeat(128) }, 'ws://noisy', memory);
  assert.is(lines.length, 6, 'after the window: the summary, then the line');
  assert.is(lines[4]!.relay, 'ws://noisy');
  assert.is(lines[4]!.suppressed, 7);
  assert.match(String(lines[4]!.msg), /\(suppressed 7 similar in the last \d+ s\)$/);
  assert.is(lines[5]!.code, 'BadSignature');
  assert.is(lines[5]!.suppressed, undefined);
});

test('the agent is still running after all of this: a new task is offered', async () => {
  const task = await harness.postTask({ amountMsat: 25_000_000n });
  await harness.waitForState(task.id, 'offered');
});

test.run();
