// The agent never answers itself (issue #9): on a relay that echoes back everything the agent publishes, next to
// an honest relay, a whole task lifecycle leaves no agent event that answers one of the agent's own events (an
// `e` tag marked `cause` or `reply`) and no `rejected` label at all. The rate gate is tight, as for people:
// the agent publishes more events in a lifecycle than one pubkey's burst.
import type { NostrEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KINDS } from '../../src/protocol/constants.ts';
import { collect, type Harness, startHarness, tagValue } from '../fakes/agent-harness.ts';
import { type HostileRelay, startHostileRelay } from '../fakes/hostile-relay.ts';

let harness: Harness;
let echo: HostileRelay;
const AMOUNT = 40_000_000n;

test.before(async () => {
  echo = await startHostileRelay({ echo: true });
  harness = await startHarness({
    extraRelays: [{ url: echo.url }],
    // A person's pace: the poster and the worker send two events each; the agent publishes a dozen.
    agent: { rate: { perMinute: 6, burst: 8 } },
  });
});

test.after(async () => {
  await harness?.stop();
  await echo?.stop();
});

function labelOf(event: { tags: string[][] }): string | undefined {
  return event.tags.find((tag) => tag[0] === 'l')?.[1];
}

function answers(event: NostrEvent): string[] {
  return event.tags
    .filter((tag) => tag[0] === 'e' && (tag[3] === 'cause' || tag[3] === 'reply'))
    .map((tag) => tag[1]!);
}

test('on an echoing relay, a whole lifecycle: the agent answers none of its own events and rejects nothing', async () => {
  const { sandbox, poster, worker } = harness;
  const listing = await harness.postTask({ amountMsat: AMOUNT });
  const offered = await harness.waitForState(listing.id, 'offered');
  const payment = sandbox.payer.pay({
    bolt11: tagValue(offered, 'bolt11')!,
    maxFeeMsat: 10_000n,
    timeoutSeconds: 60,
  });
  await harness.waitForState(listing.id, 'funded');
  await harness.submitWork(listing.id, AMOUNT);
  await harness.act(poster, 'approve', listing.id);
  await harness.waitForState(listing.id, 'paid');
  assert.is((await payment).status, 'succeeded');
  assert.ok(echo.stats().eventsPublished > 0, 'the agent publishes to the echoing relay');
  await harness.agent.settle();
  // Echoes arrive asynchronously: give them time to come back and be (not) answered.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await harness.agent.settle();

  const honest = await collect(harness.client, { authors: [harness.agentKey.pubkey] });
  const echoed = echo.events().filter((event) => event.pubkey === harness.agentKey.pubkey);
  for (const [where, events] of [
    ['the honest relay', honest],
    ['the echoing relay', echoed],
  ] as const) {
    const ours = new Set(events.map((event) => event.id));
    const selfAnswers = events.filter((event) => answers(event).some((id) => ours.has(id)));
    assert.equal(
      selfAnswers.map((event) => `${labelOf(event)} ${tagValue(event, 'code') ?? ''}`),
      [],
      `no agent event on ${where} answers an agent event`,
    );
    const rejections = events.filter((event) => event.kind === KINDS.label && labelOf(event) === 'rejected');
    assert.equal(
      rejections.map((event) => tagValue(event, 'code')),
      [],
      `no rejected label on ${where}`,
    );
  }
  const own = await harness.agent.ctx.metrics.inboundEvents.get();
  assert.ok(
    (own.values.find((value) => value.labels.outcome === 'own_event')?.value ?? 0) > 0,
    'the echoes reached the intake and were dropped as own events',
  );
  void worker;
});

test.run();
