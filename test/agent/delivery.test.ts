// End to end, with three relays: events that arrive twice, from several relays, at the same time, while the agent
// is down, and with a relay down.
import { finalizeEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { publishedAtQuorum, quorumOf } from '../../src/agent/jobs/outbox-publisher.ts';
import { KINDS, LABEL_NAMESPACE } from '../../src/protocol/constants.ts';
import { type Harness, person, startHarness, tagValue } from '../fakes/agent-harness.ts';

let harness: Harness;
const AMOUNT = 20_000_000n;

test.before(async () => {
  harness = await startHarness({ relays: 3 });
});

test.after(async () => {
  await harness?.stop();
});

const fundedTask = () => harness.fundTask(AMOUNT);

function claim(taskId: string, by = harness.worker) {
  return finalizeEvent(
    {
      kind: KINDS.label,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['L', LABEL_NAMESPACE],
        ['l', 'claim', LABEL_NAMESPACE],
        ['e', taskId, '', 'task'],
        ['p', harness.agentKey.pubkey],
      ],
      content: '',
    },
    by.secretKey,
  );
}

async function labels(taskId: string, label: string) {
  return (await harness.agentEvents(taskId)).filter((event) =>
    event.tags.some((tag) => tag[0] === 'l' && tag[1] === label),
  );
}

test('two workers claiming at once: exactly one wins, the other is told another worker was first', async () => {
  const { listing } = await fundedTask();
  const rival = person();
  const first = claim(listing.id);
  const second = claim(listing.id, rival);
  await Promise.all([harness.publish(first), harness.publish(second)]);
  await harness.waitForState(listing.id, 'claimed');
  await harness.waitForState(listing.id, 'rejected');
  await harness.agent.settle();
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.ok(task?.worker === harness.worker.pubkey || task?.worker === rival.pubkey);
  const [rejection] = await labels(listing.id, 'rejected');
  assert.match(rejection?.content ?? '', /^blocked: another worker claimed this task first/);
  assert.is((await labels(listing.id, 'claimed')).length, 1);
});

test('the same event from three relays, twice each, is handled once', async () => {
  const { listing } = await fundedTask();
  const event = claim(listing.id);
  for (const index of [0, 1, 2, 0, 1, 2]) await harness.publishTo(index, event);
  await harness.waitForState(listing.id, 'claimed');
  await harness.agent.settle();
  assert.is((await labels(listing.id, 'claimed')).length, 1);
  assert.is((await labels(listing.id, 'rejected')).length, 0, 'a duplicate is not answered');
  const task = await harness.store.read((reader) => reader.tasks.get(listing.id));
  assert.is(task?.version, 4, 'posted, offered, funded, claimed: one event each');
});

test('an event published while the agent was down is handled after it restarts', async () => {
  const { listing } = await fundedTask();
  await harness.stopAgent();
  await harness.publish(claim(listing.id));
  await harness.startAgent();
  await harness.waitForState(listing.id, 'claimed');
});

test('with one relay of three down, every agent event still reaches the quorum, and the third gets it once back', async () => {
  await harness.relays[2]!.relay.stop();
  const { listing, payment } = await fundedTask();
  await harness.agent.settle();
  const events = await harness.agentEvents(listing.id);
  const quorum = quorumOf(3, null);
  assert.is(quorum, 2);
  for (const event of events) {
    assert.ok(
      await publishedAtQuorum(harness.store, event.id, quorum),
      `${tagValue(event, 'l')} reached the quorum`,
    );
  }
  const offered = events.find((event) => tagValue(event, 'l') === 'offered')!;
  const pending = await harness.store.read((reader) => reader.outbox.deliveries(offered.id));
  assert.ok(
    pending.some((delivery) => delivery.status === 'pending'),
    'the down relay is still owed the event',
  );
  await harness.relays[2]!.restart();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const deliveries = await harness.store.read((reader) => reader.outbox.deliveries(offered.id));
    if (deliveries.every((delivery) => delivery.status === 'ok')) break;
    await harness.agent.outbox.flush();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const deliveries = await harness.store.read((reader) => reader.outbox.deliveries(offered.id));
  assert.ok(
    deliveries.every((delivery) => delivery.status === 'ok'),
    'the returning relay got the event',
  );
  await harness.act(harness.poster, 'cancel', listing.id);
  await harness.waitForState(listing.id, 'refunded');
  void payment;
});

test('a relay that comes back gets what it missed at once, not after the backoff its failures earned', async () => {
  const away = harness.relays[2]!;
  await away.halt();
  const { listing, payment } = await fundedTask();
  await harness.agent.settle();
  const events = await harness.agentEvents(listing.id);
  assert.ok(events.length >= 2, 'offered and funded were published to the other relays');
  // The deliveries to the halted relay failed; as after many failures, their next attempt is an hour away.
  await harness.store.transaction(async (tx) => {
    for (const event of events)
      await tx.outbox.markRelay(
        event.id,
        away.url,
        'pending',
        'not connected',
        Math.floor(Date.now() / 1000) + 3600,
      );
  });
  await away.resume();
  // No flush() here: only the relay's reconnection can make them due before the hour is over.
  const deadline = Date.now() + 30_000;
  let owed = events.length;
  while (Date.now() < deadline && owed > 0) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    owed = 0;
    for (const event of events) {
      const deliveries = await harness.store.read((reader) => reader.outbox.deliveries(event.id));
      if (deliveries.find((delivery) => delivery.relay === away.url)?.status !== 'ok') owed++;
    }
  }
  assert.is(owed, 0, 'every event reached the relay once it was back');
  await harness.act(harness.poster, 'cancel', listing.id);
  await harness.waitForState(listing.id, 'refunded');
  void payment;
});

test.run();
