// Steps the conformance cases share: issue a hold and have the payer pay it until the agent holds it.
import * as assert from 'uvu/assert';
import type { HoldInvoice, NodeInfo, PaymentResult } from '../../../src/ldk/port.ts';
import { eventually, newPreimage } from '../../fakes/ldk-wait.ts';
import type { ConformanceHarness } from './types.ts';

export const AMOUNT_MSAT = 25_000_000n;
/** A final CLTV that keeps deadline cases short (LDK's minimum is 24; the invoice carries 27). */
export const SHORT_CLTV = 24;
export const ROOMY_CLTV = 144;

export interface AcceptedHold {
  preimage: string;
  paymentHash: string;
  bolt11: string;
  hold: HoldInvoice;
  /** The payer's pay() call, still running while the hold is held; it may never resolve after a restart. */
  paying: Promise<PaymentResult>;
}

export async function createHold(
  harness: ConformanceHarness,
  finalCltvDelta = ROOMY_CLTV,
  amountMsat = AMOUNT_MSAT,
) {
  const { preimage, paymentHash } = newPreimage();
  const invoice = await harness.agent.createHoldInvoice({
    paymentHash,
    amountMsat,
    description: 'conformance',
    expirySeconds: 600,
    finalCltvDelta,
  });
  assert.is(invoice.paymentHash, paymentHash);
  return { preimage, paymentHash, bolt11: invoice.bolt11 };
}

export async function payUntilAccepted(
  harness: ConformanceHarness,
  finalCltvDelta = ROOMY_CLTV,
  amountMsat = AMOUNT_MSAT,
): Promise<AcceptedHold> {
  const created = await createHold(harness, finalCltvDelta, amountMsat);
  const paying = harness.payer.pay({ bolt11: created.bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 600 });
  // A restart may leave this call without an answer; the cases ask paymentStatus() instead.
  paying.catch(() => {});
  const hold = await eventually('the agent holds the payment', async () => {
    const found = await harness.agent.lookup(created.paymentHash);
    return found?.state === 'ACCEPTED' ? found : undefined;
  });
  return { ...created, hold, paying };
}

export function paymentOutcome(harness: ConformanceHarness, paymentHash: string): Promise<PaymentResult> {
  return eventually(`the payer knows how ${paymentHash.slice(0, 8)} ended`, async () => {
    const status = await harness.payer.paymentStatus(paymentHash);
    return status && status.status !== 'pending' ? status : undefined;
  });
}

export async function holdState(
  harness: ConformanceHarness,
  paymentHash: string,
  state: HoldInvoice['state'],
) {
  return eventually(`hold ${paymentHash.slice(0, 8)} is ${state}`, async () => {
    const found = await harness.agent.lookup(paymentHash);
    return found?.state === state ? found : undefined;
  });
}

/**
 * A wallet's node info once none of its channels has an HTLC in flight (right after a payment resolves, its
 * channel may still be updating, and an HTLC's commitment fee still counted).
 */
export async function settledInfo(wallet: { getInfo(): Promise<NodeInfo> }): Promise<NodeInfo> {
  return eventually('no HTLC is in flight', async () => {
    const info = await wallet.getInfo();
    return info.channels.every((channel) => channel.pendingHtlcs === 0) ? info : undefined;
  });
}

export async function settledBalance(wallet: { getInfo(): Promise<NodeInfo> }): Promise<bigint> {
  return (await settledInfo(wallet)).localBalanceMsat;
}

export async function payerBalance(harness: ConformanceHarness): Promise<bigint> {
  return settledBalance(harness.payer);
}

/** The payer's spendable balance returns to `expected` once a refunded HTLC is removed from its channel. */
export async function payerBalanceReturnsTo(harness: ConformanceHarness, expected: bigint): Promise<void> {
  await eventually('the payer has its money back', async () => {
    const info = await harness.payer.getInfo();
    return info.localBalanceMsat === expected && info.channels.every((channel) => channel.pendingHtlcs === 0);
  });
}
