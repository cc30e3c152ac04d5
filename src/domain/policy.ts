// Cross-field checks of the agent's policy, run at start-up (config) and for every task's own windows.
// Single-key ranges are checked by the config schema; these are the rules that tie keys together.
import { describeDuration, totalWindowSeconds, windowsDoNotFit } from './deadlines.ts';
import { feeFor } from './money.ts';
import type { Policy } from './types.ts';

export function policyProblems(policy: Policy): string[] {
  const problems: string[] = [];
  if (policy.minAmountMsat > policy.maxAmountMsat) {
    problems.push(
      `policy.min_amount_msat (${policy.minAmountMsat}) is above policy.max_amount_msat (${policy.maxAmountMsat}); make min <= max`,
    );
  }
  const minFee = feeFor(policy.minAmountMsat, policy.fee);
  if (minFee >= policy.minAmountMsat) {
    problems.push(
      `policy.min_amount_msat (${policy.minAmountMsat} msat) leaves nothing for the worker once the fee takes ${minFee} msat; raise it above ${minFee} msat or lower policy.fee_base_msat / policy.fee_ppm`,
    );
  }
  if (policy.safetyMarginBlocks < 3) {
    problems.push(
      `policy.safety_margin_blocks is ${policy.safetyMarginBlocks}; it must be at least 3 blocks`,
    );
  }
  const fit = windowsDoNotFit(policy.windows, policy);
  if (fit) problems.push(`policy.windows: ${fit}`);
  const total = totalWindowSeconds(policy.windows);
  if (total > policy.maxHoldSeconds) {
    problems.push(
      `policy.max_hold_seconds: the windows (claim + work + review + dispute = ${describeDuration(total)}) are longer than the maximum hold of ${describeDuration(policy.maxHoldSeconds)}: money would sit in a hold longer than the agent allows; shorten the windows or raise max_hold_seconds`,
    );
  }
  return problems;
}
