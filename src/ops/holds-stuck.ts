// `holds stuck [--older-than SECONDS]`: read-only. The stuck holds the store shows (src/engine/stuck-holds.ts:
// settling or refunding too long, paid and not funded), plus the offers the store has as open that the node has
// accepted (a missed node event), each with the node's view of its hold (lookup: state, HTLC expiry and claim
// deadline against the current height) and the command that finishes it. Exit 1 when a hold is stuck.

import {
  findStuckHolds,
  lastTransitionAt,
  STUCK_HOLD_SECONDS,
  type StuckHold,
  type StuckReason,
} from '../engine/stuck-holds.ts';
import type { HoldInvoice } from '../ldk/port.ts';
import { currentHeight } from './engine.ts';
import { age, isoTime, nodeJson, nodeView, onlyArgs, sats, secondsArg } from './format.ts';
import type { OpsDeps, OpsReport } from './ops-deps.ts';

const COMMAND = 'holds stuck';

/** `holds stuck [--older-than SECONDS]`: read-only. Exit 1 when a hold is stuck. */
/** The arguments, checked (OpsInputError says what to change). */
export function holdsStuckArgs(args: Record<string, unknown>): { olderThan: number } {
  onlyArgs(COMMAND, args, ['olderThan']);
  return { olderThan: secondsArg(COMMAND, args, 'olderThan', STUCK_HOLD_SECONDS) };
}

export async function holdsStuck(deps: OpsDeps, args: Record<string, unknown>): Promise<OpsReport> {
  const threshold = holdsStuckArgs(args).olderThan;
  const now = deps.now();
  const fromStore = await deps.store.read((reader) => findStuckHolds(reader, now, threshold));
  const height = await currentHeight(deps);

  // Offers the store has as unpaid: does the node hold a payment for one of them?
  const open = await deps.store.read(async (reader) => {
    const offered = await reader.tasks.listByState(['offered']);
    const rows = [];
    for (const task of offered) {
      const funding = task.funding ? await reader.fundings.get(task.funding.paymentHash) : null;
      if (funding?.state === 'open') rows.push({ task, since: await lastTransitionAt(reader, task.id) });
    }
    return rows;
  });
  const stuck: Array<StuckHold & { hold: HoldInvoice | null }> = [];
  for (const { task, since } of open) {
    const hold = await deps.lightning.lookup(task.funding!.paymentHash);
    if (hold?.state !== 'ACCEPTED') continue;
    stuck.push({
      taskId: task.id,
      state: task.state,
      reason: 'node_accepted',
      paymentHash: task.funding!.paymentHash,
      amountMsat: task.amountMsat,
      receivedMsat: 0n,
      since,
      ageSeconds: Math.max(0, now - since),
      fix: 'sync-lightning',
      hold,
    });
  }
  for (const one of fromStore) stuck.push({ ...one, hold: await deps.lightning.lookup(one.paymentHash) });
  stuck.sort((a, b) => a.since - b.since || (a.taskId < b.taskId ? -1 : 1));

  const lines: string[] = [];
  const limit = `${age(threshold)} or more`;
  if (stuck.length === 0) {
    lines.push(
      `holds stuck: none (no hold stuck for ${limit}, and the node holds no payment the store missed; height ${height})`,
    );
  } else {
    lines.push(
      `holds stuck: ${stuck.length} (settling or refunding, or paid and not funded, for ${limit}; or paid at the node and missed by the store; height ${height})`,
    );
  }
  for (const one of stuck) {
    lines.push(
      `  task ${one.taskId}: ${one.state} for ${age(one.ageSeconds)} (since ${isoTime(one.since)}), ${sats(one.amountMsat)}`,
    );
    lines.push(`    ${WHY[one.reason]}`);
    lines.push(`    payment hash ${one.paymentHash}; ${nodeView(one.hold, height)}`);
    lines.push(`    run: ${runHint(one, one.hold)}`);
  }
  return {
    command: COMMAND,
    executed: false,
    lines,
    json: {
      thresholdSeconds: threshold,
      now,
      height,
      stuck: stuck.map((one) => ({
        taskId: one.taskId,
        state: one.state,
        reason: one.reason,
        paymentHash: one.paymentHash,
        amountMsat: one.amountMsat.toString(),
        receivedMsat: one.receivedMsat.toString(),
        since: one.since,
        ageSeconds: one.ageSeconds,
        node: nodeJson(one.hold),
        fix: one.fix,
      })),
    },
    changed: 0,
    exitCode: stuck.length > 0 ? 1 : 0,
  };
}

const WHY: Record<StuckReason, string> = {
  paid_not_funded: 'the store has the payment (funding accepted) but the task did not move to funded',
  settle_unfinished: 'the settle intent is committed; the settle is not recorded',
  cancel_unfinished: 'the cancel (refund) intent is committed; the cancel is not recorded',
  node_accepted: 'the node accepted the payment; the store still has the hold as open (a missed node event)',
};

function runHint(one: StuckHold, hold: HoldInvoice | null): string {
  if (hold === null) {
    return "nothing: the node does not know this invoice; check that lightning.* points at the agent's node (docs/runbooks.md, Stuck holds)";
  }
  if (one.reason === 'settle_unfinished' && hold.state === 'OPEN') {
    return 'nothing yet: the node holds no payment for it; see docs/runbooks.md, Stuck holds';
  }
  const command = `escrow-agent ${one.fix}`;
  return `${command} (a dry run first), then ${command} --execute`;
}
