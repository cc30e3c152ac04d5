import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  blocksForSeconds,
  guardianHeight,
  longestFittingWindowSeconds,
  requiredFinalCltv,
  windowsDoNotFit,
} from '../../src/domain/deadlines.ts';
import { policyProblems } from '../../src/domain/policy.ts';
import type { Funding } from '../../src/domain/types.ts';
import { testPolicy } from '../fakes/domain.ts';

const DAY = 24 * 3600;
const day = { claimSeconds: DAY, workSeconds: 0, reviewSeconds: 0, disputeSeconds: 0 };

test('24 h of windows need about 340 blocks with LND (18 auto-cancel, 16 safety), as RoboSats sizes it', () => {
  assert.is(blocksForSeconds(DAY), 306);
  assert.is(requiredFinalCltv(day, { backendAutoCancelBlocks: 18, safetyMarginBlocks: 16 }), 340);
});

test('block counts round up: one second more needs one block more', () => {
  assert.is(blocksForSeconds(4800), 17);
  assert.is(blocksForSeconds(4801), 18);
  assert.is(blocksForSeconds(0), 0);
});

test('the guardian acts safety_margin blocks before the claim deadline, and not before the hold is accepted', () => {
  const funding: Funding = {
    paymentHash: '2'.repeat(64),
    bolt11: 'lnbcrt1',
    invoiceExpiresAt: 0,
    finalCltvDelta: 300,
    receivedMsat: 1n,
    htlcExpiryHeight: 1303,
    claimDeadlineHeight: 1282,
    acceptedAt: 1,
  };
  assert.is(guardianHeight(funding, 16), 1266);
  assert.is(guardianHeight({ ...funding, claimDeadlineHeight: null }, 16), null);
});

test('windows that need a longer hold than the backend can give are refused with what to change', () => {
  const policy = testPolicy();
  const month = { claimSeconds: 30 * DAY, workSeconds: DAY, reviewSeconds: DAY, disputeSeconds: DAY };
  const message = windowsDoNotFit(month, policy) ?? '';
  assert.match(message, 'need a hold of');
  assert.match(message, 'more than the 1001 blocks the backend can hold');
  assert.match(message, 'shorten the windows to at most');
  assert.is(windowsDoNotFit(policy.windows, policy), null);
});

test('the longest windows the message allows fit, and one second more does not', () => {
  const policy = testPolicy();
  const longest = longestFittingWindowSeconds(policy);
  const windows = (seconds: number) => ({
    claimSeconds: seconds,
    workSeconds: 0,
    reviewSeconds: 0,
    disputeSeconds: 0,
  });
  assert.is(windowsDoNotFit(windows(longest), policy), null);
  assert.ok(windowsDoNotFit(windows(longest + 1), policy));
});

test('a sound policy has no problems', () => {
  assert.equal(policyProblems(testPolicy()), []);
});

test('a policy whose fee eats the smallest task is refused, naming the keys', () => {
  const problems = policyProblems(testPolicy({ minAmountMsat: 1000n, fee: { baseMsat: 1000n, ppm: 0 } }));
  assert.is(problems.length, 1);
  assert.match(problems[0] ?? '', 'policy.min_amount_msat');
});

test('a policy with min above max, a thin margin, windows past the hold and custody without arbitrators lists each problem', () => {
  const problems = policyProblems(
    testPolicy({
      minAmountMsat: 10n ** 12n,
      safetyMarginBlocks: 2,
      windows: { claimSeconds: 90 * DAY, workSeconds: DAY, reviewSeconds: DAY, disputeSeconds: DAY },
      disputeDeadlineRule: 'custody',
      arbitrators: [],
    }),
  );
  assert.is(problems.length, 4, problems.join('\n'));
  assert.match(problems.join('\n'), 'policy.windows');
  assert.match(problems.join('\n'), 'policy.safety_margin_blocks');
  assert.match(problems.join('\n'), 'policy.max_hold_seconds');
});

test.run();
