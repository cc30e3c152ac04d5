// Deadline maths: how many blocks a hold must last for the phase windows, when the guardian acts, and the
// policy check that refuses windows that do not fit inside the hold.
//
// CLTV sizing, as RoboSats does it: blocks = ceil(window_minutes x 1.7 / 8) + backend auto-cancel delta
// + safety margin. Blocks are assumed to come as fast as one per 8 minutes, with a 1.7 factor on top
// (24 h of windows -> 306 + 18 + 16 = 340 blocks).
import type { Funding, Policy, Windows } from './types.ts';

/** LDK payers cannot route a final CLTV of 1005 or more, and LDK adds 3 to what we ask for. */
export const LDK_MAX_REQUESTED_FINAL_CLTV = 1001;
/** LND and CLN cap the whole route's CLTV at 2016 blocks. */
export const LND_MAX_TOTAL_CLTV = 2016;

export function totalWindowSeconds(windows: Windows): number {
  return windows.claimSeconds + windows.workSeconds + windows.reviewSeconds + windows.disputeSeconds;
}

/** Blocks needed to cover `seconds` of wall-clock time: ceil(minutes x 1.7 / 8) = ceil(seconds x 17 / 4800). */
export function blocksForSeconds(seconds: number): number {
  return Math.ceil((seconds * 17) / 4800);
}

/** The final CLTV delta to ask for so that the hold outlives every phase window plus the margins. */
export function requiredFinalCltv(
  windows: Windows,
  policy: Pick<Policy, 'backendAutoCancelBlocks' | 'safetyMarginBlocks'>,
): number {
  return (
    blocksForSeconds(totalWindowSeconds(windows)) + policy.backendAutoCancelBlocks + policy.safetyMarginBlocks
  );
}

/** The height at which the guardian acts: a safety margin before the node would fail the HTLC back itself. */
export function guardianHeight(funding: Funding, safetyMarginBlocks: number): number | null {
  if (funding.claimDeadlineHeight === null) return null;
  return funding.claimDeadlineHeight - safetyMarginBlocks;
}

export function describeDuration(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const parts = [hours ? `${hours} h` : '', minutes ? `${minutes} min` : '', rest ? `${rest} s` : ''].filter(
    Boolean,
  );
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

/** The longest total of phase windows the backend's maximum hold can cover. */
export function longestFittingWindowSeconds(policy: Policy): number {
  const blocks = policy.maxFinalCltvDelta - policy.backendAutoCancelBlocks - policy.safetyMarginBlocks;
  return Math.max(0, Math.floor((blocks * 4800) / 17));
}

/**
 * Why these windows do not fit the hold the backend can give, or null when they fit. The message says what
 * to change, in the words of the configuration.
 */
export function windowsDoNotFit(windows: Windows, policy: Policy): string | null {
  const needed = requiredFinalCltv(windows, policy);
  if (needed <= policy.maxFinalCltvDelta) return null;
  const total = totalWindowSeconds(windows);
  const fittingSeconds = longestFittingWindowSeconds(policy);
  return (
    `the phase windows (claim ${describeDuration(windows.claimSeconds)} + work ${describeDuration(windows.workSeconds)}` +
    ` + review ${describeDuration(windows.reviewSeconds)} + dispute ${describeDuration(windows.disputeSeconds)}` +
    ` = ${describeDuration(total)}) need a hold of ${needed} blocks (incl. ${policy.backendAutoCancelBlocks} auto-cancel` +
    ` and ${policy.safetyMarginBlocks} safety blocks), more than the ${policy.maxFinalCltvDelta} blocks the backend can hold;` +
    ` shorten the windows to at most ${describeDuration(fittingSeconds)} in all`
  );
}
