// `settle-stuck [--execute]`: the tasks whose settle intent is committed (state `settling`) and not finished. A dry
// run lists each with the node's view of its hold and what the engine would do; --execute hands them to the engine
// (the reconciler's settleHold: settle with the preimage, record `settled` once the node shows SETTLED for the full
// amount, then pay out), waits for it, and reports where each ended. Nothing here calls the node to settle or pay.
// Idempotent: once finished, a task is no longer `settling`, so a second --execute finds nothing to do.
import type { Task } from '../domain/types.ts';
import { lastTransitionAt } from '../engine/stuck-holds.ts';
import type { HoldInvoice } from '../ldk/port.ts';
import { drive, drivenJson, stoppedNote } from './drive.ts';
import { currentHeight, openEngine } from './engine.ts';
import { age, flagArg, nodeJson, nodeView, onlyArgs, sats } from './format.ts';
import type { OpsDeps, OpsReport } from './ops-deps.ts';

const COMMAND = 'settle-stuck';

/** The arguments, checked (OpsInputError says what to change). */
export function settleStuckArgs(args: Record<string, unknown>): { execute: boolean } {
  onlyArgs(COMMAND, args, ['execute']);
  return { execute: flagArg(COMMAND, args, 'execute') };
}

export async function settleStuck(deps: OpsDeps, args: Record<string, unknown>): Promise<OpsReport> {
  const { execute } = settleStuckArgs(args);
  const now = deps.now();
  const settling = await deps.store.read(async (reader) => {
    const tasks = await reader.tasks.listByState(['settling']);
    return Promise.all(tasks.map(async (task) => ({ task, since: await lastTransitionAt(reader, task.id) })));
  });
  const height = await currentHeight(deps);
  const found: Array<{ task: Task; since: number; hold: HoldInvoice | null; plan: string; act: boolean }> =
    [];
  for (const { task, since } of settling) {
    const hold = task.funding ? await deps.lightning.lookup(task.funding.paymentHash) : null;
    found.push({ task, since, hold, ...planFor(hold) });
  }
  const actionable = found.filter((one) => one.act);

  const lines: string[] = [];
  if (found.length === 0) lines.push('settle-stuck: nothing to do (no task is settling)');
  else {
    lines.push(
      `settle-stuck: ${found.length} task(s) settling (settle intent committed, not finished)${execute ? '' : ' (dry run: nothing changed; --execute finishes them)'}`,
    );
  }
  for (const one of found) {
    lines.push(
      `  task ${one.task.id}: settling for ${age(now - one.since)} (reason ${one.task.reason}), ${sats(one.task.amountMsat)}, payment hash ${one.task.funding?.paymentHash}`,
    );
    lines.push(`    ${nodeView(one.hold, height)}`);
    lines.push(`    ${execute && one.act ? 'handed to the engine: ' : ''}${one.plan}`);
  }

  if (!execute || actionable.length === 0) {
    return {
      command: COMMAND,
      executed: execute,
      lines,
      json: { executed: execute, height, tasks: found.map((one) => planJson(one, now)), results: [] },
      changed: 0,
      exitCode: found.length > 0 ? 1 : 0,
    };
  }

  const engine = await openEngine(deps);
  try {
    const driven = await drive(
      deps,
      engine,
      actionable.map((one) => one.task),
    );
    const changed = driven.filter((one) => one.after !== one.before).length;
    lines.push(`result (${changed} of ${driven.length} finished):`);
    lines.push(...driven.map((one) => one.line), ...stoppedNote(deps, changed));
    const left = found.length - changed;
    return {
      command: COMMAND,
      executed: true,
      lines,
      json: {
        executed: true,
        height,
        tasks: found.map((one) => planJson(one, now)),
        results: drivenJson(driven),
      },
      changed,
      exitCode: left > 0 ? 1 : 0,
    };
  } finally {
    await engine.close();
  }
}

/** What the engine does with a settling task, from the node's view of its hold. */
function planFor(hold: HoldInvoice | null): { plan: string; act: boolean } {
  switch (hold?.state) {
    case 'ACCEPTED':
      return { plan: 'the engine settles it with its preimage, records it, then pays out', act: true };
    case 'SETTLED':
      return {
        plan: 'the node settled it already: the engine records the settle, then pays out',
        act: true,
      };
    case 'CANCELED':
      return {
        plan: 'the node gave the HTLC back by itself: the engine records the refund (node_cancelled)',
        act: true,
      };
    case 'OPEN':
      return {
        plan: 'nothing to settle: the node holds no payment for it (docs/runbooks.md, Stuck holds)',
        act: false,
      };
    default:
      return {
        plan: "nothing: the node does not know this invoice; check that lightning.* points at the agent's node",
        act: false,
      };
  }
}

function planJson(one: { task: Task; since: number; hold: HoldInvoice | null; plan: string }, now: number) {
  return {
    taskId: one.task.id,
    state: one.task.state,
    reason: one.task.reason,
    amountMsat: one.task.amountMsat.toString(),
    paymentHash: one.task.funding?.paymentHash ?? null,
    since: one.since,
    ageSeconds: Math.max(0, now - one.since),
    node: nodeJson(one.hold),
    plan: one.plan,
  };
}
