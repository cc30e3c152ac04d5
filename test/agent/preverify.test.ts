// Signatures checked ahead on a worker thread (src/agent/preverify.ts, issue #15): a relay hands the agent a
// burst of 200 forged listings (a valid event's id with another event's signature) mixed with 20 genuine ones;
// the events waiting in the intake queue are verified on the worker, every forgery is still dropped for its
// signature, every genuine listing is offered once, and no verdict is left behind.
//
// Real parts: the harness agent (embedded relay, SQLite, LDK sandbox) restarted with one more read relay, the
// project's hostile relay, which serves the burst in one catch-up answer (it stores events without checking them).
import { finalizeEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { intakeMemoryOf } from '../../src/agent/intake.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { type Harness, person, startHarness } from '../fakes/agent-harness.ts';
import { type HostileRelay, startHostileRelay } from '../fakes/hostile-relay.ts';
import { eventually } from '../fakes/ldk-wait.ts';

let harness: Harness;
let hostile: HostileRelay;

test.before(async () => {
  harness = await startHarness();
  hostile = await startHostileRelay();
});

test.after(async () => {
  await harness?.stop();
  await hostile?.stop();
});

function listing(index: number, author = person()) {
  return finalizeEvent(
    {
      kind: KINDS.listing,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['d', `preverify-${index}`],
        ['title', `Preverify task ${index}`],
        ['amount', '21000000'],
        ['p', harness.agentKey.pubkey],
        ['t', 'escrow'],
      ],
      content: 'preverify',
    },
    author.secretKey,
  );
}

test('200 forgeries and 20 genuine listings in one burst: forgeries dropped, listings offered, verdicts ahead', async () => {
  const authors = Array.from({ length: 8 }, () => person());
  const genuine = Array.from({ length: 20 }, (_, index) => listing(index, authors[index % authors.length]));
  const others = Array.from({ length: 201 }, (_, index) =>
    listing(1000 + index, authors[index % authors.length]),
  );
  const forged = others.slice(0, 200).map((event, index) => ({ ...event, sig: others[index + 1]!.sig }));
  // Forgeries first and between the genuine ones: ten forgeries, one genuine, and so on.
  for (let index = 0; index < 200; index++) {
    hostile.add(forged[index]!);
    if (index % 10 === 9) hostile.add(genuine[Math.floor(index / 10)]!);
  }
  await harness.restartAgent({
    relays: [
      { url: harness.relay.url, read: true, write: true },
      { url: hostile.url, read: true, write: false },
    ],
    verifyThreads: 1,
  });
  const ahead = intakeMemoryOf(harness.agent.ctx).ahead;
  assert.ok(ahead, 'the agent runs a verification worker');
  await eventually(
    'every genuine listing offered',
    async () => {
      const offered = await harness.store.read((reader) => reader.tasks.listByState(['offered']));
      return genuine.every((event) => offered.some((task) => task.id === event.id));
    },
    120_000,
  );
  await harness.agent.settle();
  const invalid = (await harness.agent.ctx.metrics.invalidSignatures.get()).values.reduce(
    (sum, value) => sum + value.value,
    0,
  );
  assert.is(invalid, 200, 'each forgery dropped once for its signature');
  const tasks = await harness.store.read((reader) => reader.tasks.listByState(['offered', 'posted']));
  assert.is(tasks.length, 20, 'only the genuine listings became tasks');
  assert.ok(ahead.started >= 100, `most waiting signatures were checked on the worker (${ahead.started})`);
  assert.is(ahead.size, 0, 'no verdict is kept once its event left the intake');
});

test.run();
