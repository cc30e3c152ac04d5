// `sync-lightning [--execute]`: the node's state brought into the store. For every hold invoice the store has as
// open or accepted, and every payout it has in flight, the node is asked (lookup, paymentStatus) and each difference
// listed. --execute applies them as the reconciler does, through the engine: a hold the node accepted -> the
// hold-accepted handler (the task is funded); a hold the node settled while the task was settling -> the settle
// recorded; a hold the node cancelled -> the refund recorded; a payout the node finished -> the payment-result
// handler. The engine then does whatever the new state calls for (pays out a settled task, applies a deadline).
// Differences that are not the store's to follow (a hold the node settled without the agent's intent, an invoice
// the node does not know, a payout it never sent) are listed for the operator and never applied.
// Idempotent: once applied, store and node agree, and a second --execute finds nothing to do.
import type { Payout, Task } from '../domain/types.ts';
import { apply } from '../engine/apply.ts';
import type { AgentContext } from '../engine/context.ts';
import { markFunding } from '../engine/mark-funding.ts';
import { handleHoldAccepted } from '../handlers/hold-accepted.ts';
import { handlePaymentResult } from '../handlers/payment-result.ts';
import type { HoldInvoice, PaymentResult } from '../ldk/port.ts';
import type { FundingRecord, PayoutRecord } from '../store/index.ts';
import { stoppedNote } from './drive.ts';
import { currentHeight, openEngine } from './engine.ts';
import { flagArg, nodeJson, nodeView, onlyArgs, sats } from './format.ts';
import type { OpsDeps, OpsReport } from './ops-deps.ts';

const COMMAND = 'sync-lightning';

type Kind =
  | 'hold_accepted'
  | 'hold_settled'
  | 'hold_cancelled'
  | 'payout_succeeded'
  | 'payout_failed'
  /** Listed for the operator, never applied. */
  | 'attention';

interface Difference {
  kind: Kind;
  taskId: string;
  state: Task['state'];
  what: string;
  /** Applies it through the engine (absent for `attention`). */
  apply?: (ctx: AgentContext) => Promise<void>;
  hold?: HoldInvoice | null;
  payment?: PaymentResult | null;
}

/** The arguments, checked (OpsInputError says what to change). */
export function syncLightningArgs(args: Record<string, unknown>): { execute: boolean } {
  onlyArgs(COMMAND, args, ['execute']);
  return { execute: flagArg(COMMAND, args, 'execute') };
}

export async function syncLightning(deps: OpsDeps, args: Record<string, unknown>): Promise<OpsReport> {
  const { execute } = syncLightningArgs(args);
  const height = await currentHeight(deps);
  const { fundings, payouts } = await deps.store.read(async (reader) => ({
    fundings: await reader.fundings.listByState(['open', 'accepted']),
    payouts: await reader.payouts.listInFlight(),
  }));
  const differences: Difference[] = [];
  let inSync = 0;
  for (const funding of fundings) {
    const found = await holdDifference(deps, funding, height);
    if (found) differences.push(found);
    else inSync += 1;
  }
  for (const payout of payouts) {
    const found = await payoutDifference(deps, payout);
    if (found) differences.push(found);
    else inSync += 1;
  }
  const toApply = differences.filter((one) => one.apply);
  const attention = differences.filter((one) => !one.apply);

  const lines: string[] = [];
  const checked = `${fundings.length} hold(s) open or accepted and ${payouts.length} payout(s) in flight checked at height ${height}`;
  if (differences.length === 0)
    lines.push(`sync-lightning: store and node agree (${checked}); nothing to do`);
  else {
    lines.push(
      `sync-lightning: ${differences.length} difference(s) between the node and the store (${checked}; ${inSync} agree)${execute ? '' : toApply.length > 0 ? ' (dry run: nothing changed; --execute applies them)' : ''}`,
    );
  }
  for (const one of differences) {
    lines.push(`  task ${one.taskId} (${one.state}): ${one.what}`);
    lines.push(
      `    ${one.apply ? (execute ? 'applying: ' : 'would apply: ') : 'for the operator: '}${APPLY[one.kind]}`,
    );
  }
  const plan = differences.map((one) => ({
    taskId: one.taskId,
    state: one.state,
    kind: one.kind,
    what: one.what,
    applies: one.apply !== undefined,
    ...(one.hold !== undefined ? { node: nodeJson(one.hold) } : {}),
    ...(one.payment !== undefined ? { payment: one.payment?.status ?? null } : {}),
  }));
  if (!execute || toApply.length === 0) {
    return {
      command: COMMAND,
      executed: execute,
      lines,
      json: { executed: execute, height, inSync, differences: plan, results: [] },
      changed: 0,
      exitCode: differences.length > 0 ? 1 : 0,
    };
  }

  const engine = await openEngine(deps);
  const results: Array<{ taskId: string; kind: Kind; applied: boolean; before: string; after: string }> = [];
  try {
    for (const one of toApply) {
      const before = await deps.store.read((reader) => reader.tasks.get(one.taskId));
      await one.apply!(engine.ctx);
      const after = await deps.store.read((reader) => reader.tasks.get(one.taskId));
      results.push({
        taskId: one.taskId,
        kind: one.kind,
        applied: (after?.version ?? 0) > (before?.version ?? 0),
        before: before?.state ?? 'unknown',
        after: after?.state ?? 'unknown',
      });
    }
    // What the new states call for (a payout, a deadline), done by the engine before the report.
    await engine.idle();
  } finally {
    await engine.close();
  }
  const changed = results.filter((one) => one.applied).length;
  lines.push(`result (${changed} of ${toApply.length} applied):`);
  for (const result of results) {
    const now = await deps.store.read((reader) => reader.tasks.get(result.taskId));
    lines.push(
      `  task ${result.taskId}: ${result.applied ? `recorded ${result.kind}: ${result.before} -> ${result.after}` : `not applied (the task is ${result.after}; the engine refused it as out of date)`}${now && now.state !== result.after ? `; then the engine moved it on to ${now.state}` : ''}`,
    );
  }
  lines.push(...stoppedNote(deps, changed));
  return {
    command: COMMAND,
    executed: true,
    lines,
    json: { executed: true, height, inSync, differences: plan, results },
    changed,
    exitCode: attention.length > 0 || changed < toApply.length ? 1 : 0,
  };
}

const APPLY: Record<Kind, string> = {
  hold_accepted: 'record the payment (the hold-accepted handler: the task is funded)',
  hold_settled: 'record the settle (the task is settled; the engine then pays out)',
  hold_cancelled:
    'record the refund the node made (the task ends refunded, or expired if nothing was received)',
  payout_succeeded: 'record the payout as paid (the payment-result handler)',
  payout_failed:
    'record the failed attempt (the payment-result handler: retried later, or a new invoice asked)',
  attention: 'see docs/runbooks.md, Stuck holds',
};

async function holdDifference(
  deps: OpsDeps,
  funding: FundingRecord,
  height: number,
): Promise<Difference | null> {
  const task = await deps.store.read((reader) => reader.tasks.get(funding.taskId));
  if (!task) return null;
  const hold = await deps.lightning.lookup(funding.paymentHash);
  const base = { taskId: task.id, state: task.state, hold };
  const view = nodeView(hold, height);
  const paymentHash = funding.paymentHash;
  if (hold === null) {
    return {
      ...base,
      kind: 'attention',
      what: `the store has hold ${paymentHash} as ${funding.state}; the node does not know it: check that lightning.* points at the agent's node`,
    };
  }
  const fresh = async (ctx: AgentContext) => ctx.store.read((reader) => reader.tasks.get(task.id));
  switch (hold.state) {
    case 'ACCEPTED':
      if (funding.state === 'accepted') return null;
      return {
        ...base,
        kind: 'hold_accepted',
        what: `store: open, nothing received; ${view}`,
        apply: async (ctx) => {
          const current = await fresh(ctx);
          if (current) await handleHoldAccepted(ctx, current);
        },
      };
    case 'CANCELED':
      return {
        ...base,
        kind: 'hold_cancelled',
        what: `store: ${funding.state}${funding.receivedMsat > 0n ? ` ${sats(funding.receivedMsat)}` : ''}; ${view}`,
        apply: async (ctx) => {
          await apply(
            ctx,
            task.id,
            { type: 'hold_cancelled', paymentHash },
            markFunding(paymentHash, 'cancelled'),
          );
        },
      };
    case 'SETTLED':
      if (task.state !== 'settling') {
        return {
          ...base,
          kind: 'attention',
          what: `${view}, but the agent never asked to settle it (the task is ${task.state}): stop and look (docs/runbooks.md, Incident response)`,
        };
      }
      if (hold.receivedMsat < task.ledger.receivedMsat) {
        return {
          ...base,
          kind: 'attention',
          what: `${view}: less than the ${sats(task.ledger.receivedMsat)} the task received; not recorded`,
        };
      }
      return {
        ...base,
        kind: 'hold_settled',
        what: `store: ${funding.state} (settle intent committed); ${view}`,
        apply: async (ctx) => {
          await apply(
            ctx,
            task.id,
            { type: 'hold_settled', paymentHash },
            markFunding(paymentHash, 'settled'),
          );
        },
      };
    default:
      if (funding.state === 'open') return null;
      return {
        ...base,
        kind: 'attention',
        what: `store: accepted ${sats(funding.receivedMsat)}; ${view}: the node holds no payment for it any more (docs/runbooks.md, Stuck holds)`,
      };
  }
}

async function payoutDifference(deps: OpsDeps, row: PayoutRecord): Promise<Difference | null> {
  const task = await deps.store.read((reader) => reader.tasks.get(row.taskId));
  if (!task) return null;
  const status = await deps.lightning.paymentStatus(row.paymentHash);
  const base = { taskId: task.id, state: task.state, payment: status };
  const what = `payout to the ${row.recipient}, ${sats(row.amountMsat)}, payment hash ${row.paymentHash}: store: in flight`;
  if (status?.status === 'pending') return null;
  const payout = task.payouts.find(
    (one): one is Payout => one.recipient === row.recipient && one.paymentHash === row.paymentHash,
  );
  if (status === null) {
    return {
      ...base,
      kind: 'attention',
      what: `${what}; node: never sent (stopped between the payout intent and the call): the agent sends the same invoice when it next advances the task (at its start, or within its reconcile interval while it runs)`,
    };
  }
  if (payout?.state !== 'in_flight') {
    return {
      ...base,
      kind: 'attention',
      what: `${what}; node: ${status.status}; the task's payout is ${payout?.state ?? 'missing'}: verify-db, then look`,
    };
  }
  return {
    ...base,
    kind: status.status === 'succeeded' ? 'payout_succeeded' : 'payout_failed',
    what: `${what}; node: ${status.status}${status.status === 'failed' ? ` (${status.reason})` : ''}`,
    apply: async (ctx) => handlePaymentResult(ctx, task.id, payout, status),
  };
}
