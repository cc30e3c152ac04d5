// Chain heads end to end, from real parts (a relay on 127.0.0.1, LDK nodes, SQLite): an agent that publishes its
// heads every 3 transitions runs a few task lifecycles; the heads events on the relay chain by prev with growing
// counts, each head names the real last transition of its task at its length; stopping the agent publishes the
// heads of what is left, which then name every task's last transition and the number of all its transitions; a
// restarted agent goes on from its last heads event; and a listener holding a copy of the relay history that lost
// one transition finds the task with checkAgainstHeads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chainHeads,
  checkAgainstHeads,
  HEADS_LABEL,
  type HeadsEvent,
  isTransitionState,
  KINDS,
  latestHeads,
  type NostrEvent,
} from '../../src/protocol/index.ts';
import { collect, type Harness, startHarness } from '../fakes/agent-harness.ts';

let harness: Harness;
const AMOUNT = 20_000_000n;

test.before(async () => {
  harness = await startHarness({ agent: { headsEvery: 3 } });
});

test.after(async () => {
  await harness?.stop();
});

const labelOf = (event: NostrEvent) => event.tags.find((tag) => tag[0] === 'l')?.[1] ?? '';

/** The agent's heads events on the relay, verified and in chain order. */
async function headsChain(): Promise<{ chain: HeadsEvent[]; problems: string[]; events: NostrEvent[] }> {
  const events = (await collect(harness.client, {
    kinds: [KINDS.label],
    authors: [harness.agentKey.pubkey],
    '#l': [HEADS_LABEL],
  })) as NostrEvent[];
  const { chain, problems } = chainHeads(events, { agentPubkey: harness.agentKey.pubkey });
  return { chain, problems, events };
}

/** Every transition of the agent on the relay (all tasks). */
async function allTransitions(): Promise<NostrEvent[]> {
  const events = (await collect(harness.client, {
    kinds: [KINDS.label],
    authors: [harness.agentKey.pubkey],
  })) as NostrEvent[];
  return events.filter((event) => isTransitionState(labelOf(event)));
}

/** A task's transitions from the relay, oldest first. */
async function transitionsOf(taskId: string): Promise<NostrEvent[]> {
  return (await harness.agentEvents(taskId)).filter((event) => isTransitionState(labelOf(event)));
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== null) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const taskIds: string[] = [];

test('every 3 transitions, heads events that chain by prev, count up, and name real last transitions', async () => {
  // A paid task (offered, funded, claimed, submitted, settling, settled, paid), one refunded (offered, funded,
  // refunding, refunded) and one cancelled before it was paid (offered, refunding, cancelled).
  const paid = await harness.fundTask(AMOUNT);
  await harness.submitWork(paid.listing.id, AMOUNT);
  await harness.act(harness.poster, 'approve', paid.listing.id);
  await harness.waitForState(paid.listing.id, 'paid');
  const refunded = await harness.fundTask(AMOUNT);
  await harness.act(harness.poster, 'cancel', refunded.listing.id);
  await harness.waitForState(refunded.listing.id, 'refunded');
  const cancelled = await harness.postTask({ amountMsat: AMOUNT });
  await harness.waitForState(cancelled.id, 'offered');
  await harness.act(harness.poster, 'cancel', cancelled.id);
  await harness.waitForState(cancelled.id, 'cancelled');
  taskIds.push(paid.listing.id, refunded.listing.id, cancelled.id);
  await harness.agent.settle();

  const total = (await allTransitions()).length;
  assert.is(total, 7 + 4 + 3);
  // 14 transitions, every 3: heads up to at least 12 of them (the last 2 wait for the next 3, or the stop).
  const { chain, problems } = await until('heads covering 12 transitions', async () => {
    const found = await headsChain();
    return (found.chain.at(-1)?.count ?? 0) >= 12 ? found : null;
  });
  assert.equal(problems, []);
  assert.ok(chain.length >= 3, `several heads events (${chain.length})`);
  assert.is(chain[0]!.prev, null, 'the first has no prev');
  for (let index = 1; index < chain.length; index++) {
    assert.is(chain[index]!.prev, chain[index - 1]!.eventId);
    assert.ok(chain[index]!.count > chain[index - 1]!.count, 'counts grow');
    assert.ok(chain[index]!.createdAt > chain[index - 1]!.createdAt, 'each one later than the one before');
    assert.ok(chain[index]!.count - chain[index - 1]!.count >= 3, 'at least 3 transitions apart');
  }
  // Each head is the transition at that position of its task's chain, and the count is the sum of the latest ones.
  for (const heads of chain) {
    for (const head of heads.heads) {
      const transitions = await transitionsOf(head.taskId);
      assert.is(transitions[head.length - 1]?.id, head.eventId, `head of ${head.taskId.slice(0, 8)}`);
    }
  }
  const latest = latestHeads(chain);
  assert.is(
    [...latest.values()].reduce((sum, head) => sum + head.length, 0),
    chain.at(-1)!.count,
  );
  assert.equal(
    checkAgainstHeads(chain, await allTransitions()),
    [],
    'the relay holds everything the heads name',
  );
});

test('stopping the agent publishes the heads of what is left: every task at its last transition', async () => {
  const before = (await headsChain()).chain;
  await harness.stopAgent();
  const { chain, problems } = await headsChain();
  assert.equal(problems, []);
  assert.is(chain.length, before.length + 1, 'one more heads event, sent before the relays closed');
  const last = chain.at(-1)!;
  assert.is(last.prev, before.at(-1)!.eventId);
  assert.is(last.count, 14, 'every transition the agent published');
  const latest = latestHeads(chain);
  for (const taskId of taskIds) {
    const transitions = await transitionsOf(taskId);
    assert.equal(latest.get(taskId), {
      taskId,
      eventId: transitions.at(-1)!.id,
      length: transitions.length,
    });
  }
  // Nothing changed since: a second stop publishes nothing more.
  await harness.startAgent();
  await harness.agent.settle();
  await harness.stopAgent();
  assert.is((await headsChain()).chain.length, chain.length, 'no heads event without a new transition');
});

test('a restarted agent goes on from its last heads event', async () => {
  await harness.startAgent();
  const before = (await headsChain()).chain;
  const more = await harness.postTask({ amountMsat: AMOUNT });
  await harness.waitForState(more.id, 'offered');
  await harness.act(harness.poster, 'cancel', more.id);
  await harness.waitForState(more.id, 'cancelled');
  taskIds.push(more.id);
  const { chain, problems } = await until('a heads event after the restart', async () => {
    const found = await headsChain();
    return found.chain.length > before.length ? found : null;
  });
  assert.equal(problems, []);
  const next = chain[before.length]!;
  assert.is(next.prev, before.at(-1)!.eventId);
  assert.is(next.count, 17);
  assert.equal(next.heads, [
    { taskId: more.id, eventId: (await transitionsOf(more.id)).at(-1)!.id, length: 3 },
  ]);
});

test('a listener whose copy of the history lost one transition finds its task against the heads', async () => {
  const transitions = await allTransitions();
  const { chain } = await headsChain();
  assert.equal(checkAgainstHeads(chain, transitions), []);
  const paidTask = taskIds[0]!;
  const paid = await transitionsOf(paidTask);
  // A middle transition of the paid task, and the last one of the refunded task.
  const middle = checkAgainstHeads(
    chain,
    transitions.filter((event) => event.id !== paid[3]!.id),
  );
  assert.equal(
    middle.map((mismatch) => [mismatch.taskId, mismatch.problem]),
    [[paidTask, 'broken_chain']],
  );
  const refunded = await transitionsOf(taskIds[1]!);
  const tail = checkAgainstHeads(
    chain,
    transitions.filter((event) => event.id !== refunded.at(-1)!.id),
  );
  assert.equal(
    tail.map((mismatch) => [mismatch.taskId, mismatch.problem]),
    [[taskIds[1]!, 'missing_head']],
  );
  assert.equal(tail[0]!.expected, { eventId: refunded.at(-1)!.id, length: refunded.length });
});

test('the agent never takes a heads label as input, even one that tags it', async () => {
  const { chain } = await headsChain();
  const [event] = (await headsChain()).events.filter((one) => one.id === chain[0]!.eventId);
  assert.ok(event);
  // Someone re-signs a heads label tagging the agent: dropped, never answered.
  const { finalizeEvent } = await import('nostr-tools/pure');
  const copy = finalizeEvent(
    {
      kind: event.kind,
      created_at: Math.floor(Date.now() / 1000),
      tags: [...event.tags, ['p', harness.agentKey.pubkey]],
      content: '',
    },
    harness.poster.secretKey,
  );
  await harness.publish(copy);
  await harness.agent.settle();
  const answers = (await collect(harness.client, {
    kinds: [KINDS.label],
    authors: [harness.agentKey.pubkey],
    '#e': [copy.id],
  })) as NostrEvent[];
  assert.equal(answers, [], 'no rejection answers it');
  assert.is(await harness.store.read((reader) => reader.inbound.has(copy.id)), false, 'nor is it recorded');
});

test.run();
