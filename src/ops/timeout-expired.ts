// `timeout-expired [--execute]`: the tasks whose windows or hold deadlines have passed, as the decider sees them on
// a tick (src/domain/rulebook.ts: an unpaid invoice expired, nobody claimed within the claim window, nothing
// submitted within the work window, the review window over (silence approves: the worker is paid), the hold
// deadline (the guardian's height) reached), and the tasks whose refund intent is committed (`refunding`) and not
// finished. A dry run lists each with what the tick would do and the node's view; --execute hands them to the
// engine (the reconciler: the payment the node holds is recorded first, then the tick, then the cancel at the node
// or the settle and payout), waits for it, and reports where each ended. Idempotent: a task the tick moved is no
// longer due, so a second --execute finds nothing to do.
import { rulebook } from '../domain/rulebook.ts';
import type { Task, TaskEvent } from '../domain/types.ts';
import type { HoldInvoice } from '../ldk/port.ts';
import { drive, drivenJson, stoppedNote } from './drive.ts';
import { currentHeight, openEngine } from './engine.ts';
import { age, flagArg, isoTime, nodeJson, nodeView, onlyArgs, sats } from './format.ts';
import type { OpsDeps, OpsReport } from './ops-deps.ts';

const COMMAND = 'timeout-expired';
const TICKED = ['offered', 'funded', 'claimed', 'submitted', 'disputed'] as const;

interface Due {
  task: Task;
  /** What the tick would do (null: the refund intent is committed already). */
  event: TaskEvent | null;
  why: string;
  hold: HoldInvoice | null;
}

/** The arguments, checked (OpsInputError says what to change). */
export function timeoutExpiredArgs(args: Record<string, unknown>): { execute: boolean } {
  onlyArgs(COMMAND, args, ['execute']);
  return { execute: flagArg(COMMAND, args, 'execute') };
}

export async function timeoutExpired(deps: OpsDeps, args: Record<string, unknown>): Promise<OpsReport> {
  const { execute } = timeoutExpiredArgs(args);
  const now = deps.now();
  const height = await currentHeight(deps);
  const policy = deps.running?.ctx.policy ?? deps.stopped?.policy;
  if (!policy) throw new Error('timeout-expired: no policy (neither a running agent nor a stopped one)');
  const tasks = await deps.store.read((reader) => reader.tasks.listByState([...TICKED, 'refunding']));
  const due: Due[] = [];
  for (const task of tasks) {
    if (task.state === 'refunding') {
      due.push({
        task,
        event: null,
        why: `the refund intent is committed (reason ${task.reason}): the engine cancels the hold at the node`,
        hold: await lookup(deps, task),
      });
      continue;
    }
    const events = rulebook(task, { now, height, policy });
    const event = events?.[0];
    if (!event) continue;
    due.push({ task, event, why: whyOf(task, event, height, policy.safetyMarginBlocks), hold: null });
  }
  for (const one of due) if (one.event) one.hold = await lookup(deps, one.task);

  const lines: string[] = [];
  if (due.length === 0) {
    lines.push(
      `timeout-expired: nothing to do (no window or hold deadline has passed, no refund is unfinished; height ${height})`,
    );
  } else {
    lines.push(
      `timeout-expired: ${due.length} task(s) past a deadline or with an unfinished refund (height ${height})${execute ? '' : ' (dry run: nothing changed; --execute hands them to the engine)'}`,
    );
  }
  for (const one of due) {
    lines.push(`  task ${one.task.id}: ${one.task.state}, ${sats(one.task.amountMsat)}: ${one.why}`);
    lines.push(`    ${nodeView(one.hold, height)}`);
    if (one.task.state === 'offered' && one.hold?.state === 'ACCEPTED') {
      lines.push(
        '    the node holds a payment for it: the engine records it first, then applies the deadlines',
      );
    }
  }
  const planJson = due.map((one) => ({
    taskId: one.task.id,
    state: one.task.state,
    amountMsat: one.task.amountMsat.toString(),
    action: one.event ? one.event.type : 'finish_refund',
    reason: one.event && 'reason' in one.event ? one.event.reason : one.task.reason,
    why: one.why,
    node: nodeJson(one.hold),
  }));
  if (!execute || due.length === 0) {
    return {
      command: COMMAND,
      executed: execute,
      lines,
      json: { executed: execute, height, now, tasks: planJson, results: [] },
      changed: 0,
      exitCode: due.length > 0 ? 1 : 0,
    };
  }

  const engine = await openEngine(deps);
  try {
    const driven = await drive(
      deps,
      engine,
      due.map((one) => one.task),
    );
    const changed = driven.filter((one) => one.after !== one.before).length;
    lines.push(`result (${changed} of ${driven.length} moved on):`);
    lines.push(...driven.map((one) => one.line), ...stoppedNote(deps, changed));
    return {
      command: COMMAND,
      executed: true,
      lines,
      json: { executed: true, height, now, tasks: planJson, results: drivenJson(driven) },
      changed,
      exitCode: changed < driven.length ? 1 : 0,
    };
  } finally {
    await engine.close();
  }
}

async function lookup(deps: OpsDeps, task: Task): Promise<HoldInvoice | null> {
  return task.funding ? deps.lightning.lookup(task.funding.paymentHash) : null;
}

/** Why the tick acts, in words, with the deadline that passed. */
function whyOf(task: Task, event: TaskEvent, height: number, margin: number): string {
  const reason = 'reason' in event ? event.reason : null;
  const w = task.windows;
  switch (reason) {
    case 'invoice_expired':
      return `the invoice expired unpaid at ${isoTime(task.funding!.invoiceExpiresAt)}: the tick ends the offer (expired)`;
    case 'claim_timeout':
      return `nobody claimed within the claim window (${age(w.claimSeconds)}, over at ${isoTime(task.fundedAt! + w.claimSeconds)}): the tick refunds the poster`;
    case 'work_timeout':
      return `nothing submitted within the work window (${age(w.workSeconds)}, over at ${isoTime(task.claimedAt! + w.workSeconds)}): the tick refunds the poster`;
    case 'review_timeout':
      return `the poster did not review within the review window (${age(w.reviewSeconds)}, over at ${isoTime(task.submittedAt! + w.reviewSeconds)}): silence approves, the tick settles and pays the worker`;
    case 'hold_deadline': {
      const at = (task.funding?.claimDeadlineHeight ?? 0) - margin;
      const action = event.type === 'settle_requested' ? 'settles' : 'refunds';
      return `the hold deadline (guardian height ${at}, ${margin} blocks before the node's claim deadline; now ${height}) is reached: the tick ${action} by the rulebook`;
    }
    default:
      return `the tick applies ${event.type}${reason ? ` (${reason})` : ''}`;
  }
}
