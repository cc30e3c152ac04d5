// Money arithmetic in integer msat (bigint): the fee rule, payout shares and the conservation check.
import type { FeeRule, Ledger, Payout, PayoutRecipient } from './types.ts';

export const MSAT_PER_SAT = 1000n;
export const BPS_DENOMINATOR = 10_000n;

/** The agent's fee for a task: base + floor(amount x ppm / 1e6). Integer arithmetic only. */
export function feeFor(amountMsat: bigint, rule: FeeRule): bigint {
  return rule.baseMsat + (amountMsat * BigInt(rule.ppm)) / 1_000_000n;
}

/** What is left for the payees once the hold settled: amount - fee. */
export function netPayableMsat(amountMsat: bigint, feeMsat: bigint): bigint {
  return amountMsat - feeMsat;
}

/** Divides the net amount of a split verdict; the worker's part rounds down, the poster gets the remainder. */
export function splitShares(netMsat: bigint, workerShareBps: number): Record<PayoutRecipient, bigint> {
  const worker = (netMsat * BigInt(workerShareBps)) / BPS_DENOMINATOR;
  return { worker, poster: netMsat - worker };
}

export function emptyLedger(): Ledger {
  return {
    receivedMsat: 0n,
    heldMsat: 0n,
    paidToWorkerMsat: 0n,
    paidToPosterMsat: 0n,
    refundedMsat: 0n,
    feeMsat: 0n,
    routingFeeMsat: 0n,
  };
}

/**
 * The conservation check: every msat received is paid out, refunded, earned as fee or still held,
 * and nothing is negative. Returns a description of the first violation, or null.
 */
export function conservationViolation(ledger: Ledger): string | null {
  for (const [name, value] of Object.entries(ledger)) {
    if (value < 0n) return `${name} is negative (${value})`;
  }
  const accounted =
    ledger.paidToWorkerMsat +
    ledger.paidToPosterMsat +
    ledger.refundedMsat +
    ledger.feeMsat +
    ledger.heldMsat;
  if (accounted !== ledger.receivedMsat) {
    return `received ${ledger.receivedMsat} msat but accounted ${accounted} msat (paid ${ledger.paidToWorkerMsat}+${ledger.paidToPosterMsat}, refunded ${ledger.refundedMsat}, fee ${ledger.feeMsat}, held ${ledger.heldMsat})`;
  }
  return null;
}

/** Sum of the payouts still owed (not yet succeeded). */
export function owedMsat(payouts: readonly Payout[]): bigint {
  return payouts
    .filter((payout) => payout.state !== 'succeeded')
    .reduce((sum, payout) => sum + payout.amountMsat, 0n);
}

export function formatMsat(msat: bigint): string {
  const sats = msat / MSAT_PER_SAT;
  const rest = msat % MSAT_PER_SAT;
  return rest === 0n ? `${sats} sat` : `${msat} msat`;
}
