// The torture's checks (scripts/torture/checks.ts) fed figures and chains that are wrong by one msat or one event:
// each must fail, or the harness would prove nothing (torture-quick.test.ts runs the harness itself).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chainsValid,
  type Figures,
  money,
  noDoublePayout,
  noHoldLeft,
  type RelayChains,
  terminalStates,
} from '../../scripts/torture/checks.ts';
import type { LifecycleResult } from '../../scripts/torture/lifecycles.ts';
import type { ParsedTransition } from '../../src/protocol/parse-transition.ts';

const TASK = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

function transition(
  state: string,
  eventId: string,
  prev: string | null,
  extra: object = {},
): ParsedTransition {
  return {
    state,
    taskId: TASK,
    eventId,
    prev,
    cause: null,
    poster: 'c'.repeat(64),
    worker: null,
    createdAt: 1,
    details:
      state === 'offered' ? { amountMsat: 100_000n, feeMsat: 2_000n, paymentHash: 'e'.repeat(64) } : {},
    ...extra,
  } as unknown as ParsedTransition;
}

const paidChain = [
  transition('offered', '01', null),
  transition('funded', '02', '01'),
  transition('settling', '03', '02'),
  transition('settled', '04', '03'),
  transition('paid', '05', '04'),
];
const chains = (list: ParsedTransition[]): RelayChains => ({ byTask: new Map([[TASK, list]]), events: [] });
const result: LifecycleResult = {
  index: 0,
  kind: 'paid',
  taskId: TASK,
  amountMsat: '100000',
  feeMsat: '2000',
  expected: 'paid',
  ended: 'paid',
  paidHold: true,
  ok: true,
  error: null,
  seconds: 1,
  approvalToPaidMs: 800,
};
const node = (localMsat: bigint, remoteMsat: bigint, pendingHtlcs = 0) => ({
  localMsat: String(localMsat),
  remoteMsat: String(remoteMsat),
  channels: 1,
  usable: 1,
  pendingHtlcs,
});
const before: Figures = { payer: node(1_000_000n, 0n), worker: node(0n, 1_000_000n) };

test('the money check passes to the msat and fails one msat off either way', () => {
  const exact: Figures = { payer: node(900_000n, 0n), worker: node(0n, 902_000n) };
  assert.ok(money([result], chains(paidChain), before, exact).check.ok);
  const payerOff: Figures = { payer: node(899_999n, 0n), worker: node(0n, 902_000n) };
  assert.not.ok(money([result], chains(paidChain), before, payerOff).check.ok);
  const doublePaid: Figures = { payer: node(900_000n, 0n), worker: node(0n, 804_000n) };
  const failed = money([result], chains(paidChain), before, doublePaid).check;
  assert.not.ok(failed.ok);
  assert.match(failed.failures!.join('\n'), "the worker's node received 196000 msat");
});

test('the chain checks fail on a fork, a second paid, a wrong end and a task nobody posted', () => {
  assert.ok(terminalStates([result], chains(paidChain)).ok);
  assert.ok(noDoublePayout(chains(paidChain)).ok);
  const forked = [...paidChain, transition('refunding', '06', '02')];
  const forkCheck = chainsValid([result], chains(forked), 'd'.repeat(64));
  assert.not.ok(forkCheck.ok);
  assert.match(forkCheck.failures!.join('\n'), 'fork: 2 transitions follow 02');
  assert.not.ok(terminalStates([result], chains(forked)).ok, 'two heads: no single end');
  assert.not.ok(noDoublePayout(chains([...paidChain, transition('paid', '07', '05')])).ok);
  assert.not.ok(terminalStates([{ ...result, expected: 'refunded' }], chains(paidChain)).ok);
  const stray: RelayChains = {
    byTask: new Map([
      [TASK, paidChain],
      [OTHER, [transition('offered', '08', null)]],
    ]),
    events: [],
  };
  assert.match(chainsValid([result], stray, 'd'.repeat(64)).failures!.join('\n'), 'no lifecycle posted it');
});

test('a hold lost to a replaced channel passes only in the embedded mode, and then money is not compared there', () => {
  const lost = [
    transition('offered', '01', null),
    transition('funded', '02', '01'),
    transition('refunding', '03', '02', { details: { reason: 'node_cancelled', verdicts: [] } }),
    transition('refunded', '04', '03', { details: { reason: 'node_cancelled' } }),
  ];
  assert.not.ok(terminalStates([result], chains(lost)).ok);
  const allowed = terminalStates([result], chains(lost), { allowLostHolds: true });
  assert.ok(allowed.ok);
  assert.match(allowed.detail, '1 refunded instead');
  const cancelledByPoster = lost.map((one) =>
    one.state === 'refunded' ? transition('refunded', '04', '03', { details: { reason: 'cancelled' } }) : one,
  );
  assert.not.ok(terminalStates([result], chains(cancelledByPoster), { allowLostHolds: true }).ok);
  const withIds = (figures: Figures, payer: string): Figures => ({
    payer: { ...figures.payer, channelIds: [payer] },
    worker: { ...figures.worker, channelIds: ['w1'] },
  });
  const after: Figures = { payer: node(9_900_000n, 0n), worker: node(0n, 902_000n) };
  const replaced = money([result], chains(paidChain), withIds(before, 'p1'), withIds(after, 'p2'));
  assert.ok(replaced.check.ok, 'the payer side is not comparable');
  assert.is(replaced.figures.payerSentMsat.compared, false);
  const kept = money([result], chains(paidChain), withIds(before, 'p1'), withIds(after, 'p1'));
  assert.not.ok(kept.check.ok, 'the same channel: compared, and off');
});

test("the hold check fails on an ACCEPTED hold, a pending HTLC or a finished task's offer still payable", () => {
  const clean: Figures = { ...before, agent: node(0n, 0n), agentHolds: { SETTLED: 1, CANCELED: 2 } };
  assert.ok(noHoldLeft(clean).ok);
  assert.not.ok(noHoldLeft({ ...clean, agentHolds: { ACCEPTED: 1 } }).ok);
  assert.not.ok(noHoldLeft({ ...clean, payer: node(0n, 0n, 1) }).ok);
  const orphan = { ...clean, unfinishedHolds: [{ paymentHash: 'f'.repeat(64), state: 'OPEN' }] };
  assert.ok(noHoldLeft(orphan, chains(paidChain)).ok, 'an OPEN hold no task offered is no money');
  const payable = { ...clean, unfinishedHolds: [{ paymentHash: 'e'.repeat(64), state: 'OPEN' }] };
  assert.match(noHoldLeft(payable, chains(paidChain)).failures!.join('\n'), 'is still OPEN (payable)');
});

test.run();
