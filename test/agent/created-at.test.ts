// The agent's transitions of one task are dated strictly later than the one before (issue #9: a peer escrow saw
// two updates in the same second tie on relays, and the stale one won). The agent's clock is frozen here, so
// every transition is committed "in the same second".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Harness, startHarness } from '../fakes/agent-harness.ts';

let harness: Harness;
// Ahead of real time: the outbox rows are queued by the store's (real) clock and sent once the agent's clock
// reaches them, so an agent clock stuck in the past would never send anything.
const FROZEN = Math.floor(Date.now() / 1000) + 120;

test.before(async () => {
  harness = await startHarness({ agent: { now: () => FROZEN } });
});

test.after(async () => {
  await harness?.stop();
});

const labelOf = (event: { tags: string[][] }) => event.tags.find((tag) => tag[0] === 'l')?.[1];
const prevOf = (event: { tags: string[][] }) =>
  event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'prev')?.[1] ?? null;

test('transitions committed in the same second get strictly increasing created_at, in chain order', async () => {
  const { listing } = await harness.fundTask(30_000_000n);
  await harness.act(harness.worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  await harness.agent.settle();
  const transitions = (await harness.agentEvents(listing.id)).filter(
    (event) => labelOf(event) !== 'rejected',
  );
  // Walk the chain from the first transition (no prev), so the order is the agent's, not the relay's.
  const chain = [transitions.find((event) => prevOf(event) === null)!];
  for (;;) {
    const next = transitions.find((event) => prevOf(event) === chain.at(-1)!.id);
    if (!next) break;
    chain.push(next);
  }
  assert.equal(
    chain.map(labelOf),
    ['offered', 'funded', 'claimed'],
    'three transitions, three separate commits',
  );
  assert.equal(
    chain.map((event) => event.created_at),
    [FROZEN, FROZEN + 1, FROZEN + 2],
    'each one second after the one before, although the clock did not move',
  );
  const head = await harness.store.read((reader) => reader.tasks.publishedHead(listing.id));
  assert.is(head, chain.at(-1)!.id);
  assert.is((await harness.store.read((reader) => reader.outbox.event(head!)))?.created_at, FROZEN + 2);
});

test.run();
