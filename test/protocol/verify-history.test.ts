// Verifying a task from relay history alone: the genuine examples verify; every way the agent's own history
// could be wrong (a fork, a gap, a proof in the wrong place, money that does not add up) is reported; noise
// that anyone can publish (forged signatures, look-alike labels by other keys) does not fail a task.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_KEYS, SECRET, sign } from '../../scripts/examples/fixtures.ts';
import { buildExamples } from '../../scripts/examples/lifecycles.ts';
import { buildTransition } from '../../src/protocol/build-transition.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';

const AGENT = EXAMPLE_KEYS.agent;
const examples = new Map(buildExamples().map(({ file, event }) => [file, event]));
const ev = (file: string) => examples.get(file)!;
const HAPPY = [
  '05-offered.json',
  '07-funded.json',
  '09-claimed.json',
  '11-submitted.json',
  '15-settling.json',
  '16-settled.json',
  '17-paid.json',
].map(ev);
const REFUND = [
  '19-refund-offered.json',
  '20-refund-funded.json',
  '22-refund-refunding.json',
  '23-refund-refunded.json',
].map(ev);
const taskOf = (event: NostrEvent) => event.tags.find((tag) => tag[3] === 'task')![1]!;

function verify(events: NostrEvent[]) {
  return verifyTaskHistory({ agentPubkey: AGENT, taskId: taskOf(events[0]!), events });
}
function problemsOf(events: NostrEvent[]): string {
  return verify(events).problems.join('\n');
}

/** Re-signs a chain in order, applying `change` to some events and re-linking every prev to the new ids. */
function rechain(
  events: NostrEvent[],
  change: (event: NostrEvent, index: number) => NostrEvent | null,
): NostrEvent[] {
  const out: NostrEvent[] = [];
  for (const [index, original] of events.entries()) {
    const changed = change(original, index);
    if (changed === null) continue;
    const prev = out[out.length - 1]?.id;
    const tags = changed.tags.map((tag) => (tag[3] === 'prev' && prev ? ['e', prev, tag[2]!, 'prev'] : tag));
    out.push(
      sign(
        { kind: changed.kind, created_at: changed.created_at, tags, content: changed.content },
        SECRET.agent,
      ),
    );
  }
  return out;
}
const label = (event: NostrEvent) => event.tags.find((tag) => tag[0] === 'l')![1];
const setTag = (event: NostrEvent, name: string, value: string): NostrEvent => ({
  ...event,
  tags: event.tags.map((tag) => (tag[0] === name ? [name, value, ...tag.slice(2)] : tag)),
});

test('the happy path verifies: one chain from offer to payment, received = paid + fee', () => {
  const report = verify(HAPPY);
  assert.equal(report.problems, []);
  assert.equal(
    report.chain.map((transition) => transition.state),
    ['offered', 'funded', 'claimed', 'submitted', 'settling', 'settled', 'paid'],
  );
  assert.equal(report.totals, {
    receivedMsat: 21_000_000n,
    paidMsat: 20_894_000n,
    feeMsat: 106_000n,
    refundedMsat: 0n,
    routingFeeMsat: 2_000n,
  });
});

test('the order in which relays return events does not matter', () => {
  assert.equal(verify([...HAPPY].reverse()).problems, []);
});

test('a forged copy of a transition is ignored, not counted against the task', () => {
  const forged = { ...ev('16-settled.json'), tags: [...ev('16-settled.json').tags, ['note', 'forged']] };
  const report = verify([forged, ...HAPPY]);
  assert.equal(report.problems, []);
  assert.match(report.ignored.join('\n'), 'event id is not the hash');
});

test('a look-alike transition signed by another key is not part of the history', () => {
  const lookAlike = sign(
    { ...ev('16-settled.json'), created_at: ev('16-settled.json').created_at },
    SECRET.poster,
  );
  const report = verify([...HAPPY, lookAlike]);
  assert.equal(report.problems, []);
  assert.is(report.chain.length, HAPPY.length);
});

test('two transitions after the same one are reported as a fork', () => {
  const second = sign(
    { ...ev('09-claimed.json'), created_at: ev('09-claimed.json').created_at + 1 },
    SECRET.agent,
  );
  assert.match(problemsOf([...HAPPY, second]), 'fork: 2 transitions follow');
});

test('a missing transition leaves the rest of the history off the chain', () => {
  const gap = HAPPY.filter((event) => label(event) !== 'claimed');
  assert.match(problemsOf(gap), 'is not on the chain from the first one');
});

test('two first transitions are reported', () => {
  const again = sign(
    { ...ev('05-offered.json'), created_at: ev('05-offered.json').created_at + 1 },
    SECRET.agent,
  );
  assert.match(problemsOf([...HAPPY, again]), 'expected exactly one first transition (no prev), found 2');
});

test('a transition dated before its prev is reported', () => {
  const early = rechain(HAPPY, (event) => (label(event) === 'claimed' ? { ...event, created_at: 1 } : event));
  assert.match(problemsOf(early), 'is dated before its prev');
});

test('a settlement proof that does not follow settling is reported', () => {
  const skipped = rechain(HAPPY, (event) => (label(event) === 'settling' ? null : event));
  assert.match(problemsOf(skipped), 'the settlement proof does not follow a settling transition');
});

test('a paid transition whose payouts and fee do not add up to what was received is reported', () => {
  const short = rechain(HAPPY, (event) =>
    label(event) === 'paid'
      ? {
          ...event,
          tags: event.tags.map((tag) =>
            tag[0] === 'payout' ? [tag[0], tag[1]!, '20000000', tag[3]!, tag[4]!] : tag,
          ),
        }
      : event,
  );
  assert.match(problemsOf(short), 'received 21000000 msat but paid 20000000 + fee 106000 msat');
});

test('a payout that reuses the escrow payment hash is reported', () => {
  const settled = ev('16-settled.json');
  const escrow = ['payment_hash', 'preimage'].map((name) => settled.tags.find((tag) => tag[0] === name)![1]!);
  const reused = rechain(HAPPY, (event) =>
    label(event) === 'paid'
      ? {
          ...event,
          tags: event.tags.map((tag) =>
            tag[0] === 'payout' ? [tag[0], tag[1]!, tag[2]!, escrow[0]!, escrow[1]!] : tag,
          ),
        }
      : event,
  );
  assert.match(problemsOf(reused), 'a payout reuses the escrow payment hash');
});

test('an offer whose amount is not the embedded listing amount is reported', () => {
  const changed = rechain(HAPPY, (event) =>
    label(event) === 'offered' ? setTag(event, 'amount', '21000001') : event,
  );
  assert.match(problemsOf(changed), 'the offered amount is not the listing amount');
});

test('an offer embedding a listing that was altered after signing is reported', () => {
  const altered = rechain(HAPPY, (event) => {
    if (label(event) !== 'offered') return event;
    const listing = JSON.parse(event.content) as NostrEvent;
    return { ...event, content: JSON.stringify({ ...listing, content: 'Pay me double.' }) };
  });
  assert.match(problemsOf(altered), 'the embedded listing: invalid: event id is not the hash');
});

test('a refund of another amount than was funded is reported', () => {
  const changed = rechain(REFUND, (event) =>
    label(event) === 'refunded' ? setTag(event, 'amount', '1') : event,
  );
  assert.match(problemsOf(changed), 'funded 15000000 msat but refunded 1 msat');
});

test('a task that was both settled and refunded is reported', () => {
  const paid = HAPPY[HAPPY.length - 1]!;
  const refunded = buildTransition({
    state: 'refunded',
    taskId: taskOf(paid),
    prev: paid.id,
    cause: null,
    poster: EXAMPLE_KEYS.poster,
    worker: EXAMPLE_KEYS.worker,
    createdAt: paid.created_at + 1,
    details: {
      paymentHash: ev('05-offered.json').tags.find((tag) => tag[0] === 'payment_hash')![1]!,
      amountMsat: 21_000_000n,
      reason: 'hold_deadline',
      height: 2_600,
    },
  });
  assert.match(
    problemsOf([...HAPPY, sign(refunded, SECRET.agent)]),
    'the task was both settled and refunded',
  );
});

test('a funded task that ends expired is reported', () => {
  const [offered, funded, refunding] = REFUND;
  const expired = buildTransition({
    state: 'expired',
    taskId: taskOf(offered!),
    prev: refunding!.id,
    cause: null,
    poster: EXAMPLE_KEYS.poster,
    worker: null,
    createdAt: refunding!.created_at + 1,
    details: { paymentHash: offered!.tags.find((tag) => tag[0] === 'payment_hash')![1]! },
  });
  assert.match(
    problemsOf([offered!, funded!, refunding!, sign(expired, SECRET.agent)]),
    'ended expired although the hold was funded',
  );
});

test('money paid out with no proof that the hold was settled is reported', () => {
  const unproven = rechain(HAPPY, (event) => (label(event) === 'settled' ? null : event));
  assert.match(problemsOf(unproven), 'no transition proves the hold was settled');
});

test.run();
