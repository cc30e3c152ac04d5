// Custody is bounded in time (policy.custody_max_seconds): money the agent settled and holds for others (a split,
// a dispute that outlived its hold, a recipient without an invoice) must leave. Each reconcile round counts what
// is held and what is overdue (the escrow_custody_* gauges), and names each overdue task once in an ERROR line,
// so the operator is alerted (docs/operations.md, "Arbitrators and custody").
import type { Task } from '../../domain/types.ts';
import type { AgentContext } from '../../engine/context.ts';

export interface CustodyWatch {
  observe(ctx: AgentContext, tasks: readonly Task[]): void;
}

export function createCustodyWatch(): CustodyWatch {
  const reported = new Set<string>();
  return {
    observe(ctx, tasks) {
      let heldMsat = 0n;
      let held = 0;
      let overdue = 0;
      const now = ctx.now();
      for (const task of tasks) {
        if (task.custodySince === null || task.ledger.heldMsat === 0n) continue;
        held++;
        heldMsat += task.ledger.heldMsat;
        const seconds = now - task.custodySince;
        if (seconds < ctx.policy.custodyMaxSeconds) continue;
        overdue++;
        if (reported.has(task.id)) continue;
        reported.add(task.id);
        ctx.log.error(
          {
            taskId: task.id,
            state: task.state,
            heldMsat: task.ledger.heldMsat.toString(),
            custodySeconds: seconds,
            limitSeconds: ctx.policy.custodyMaxSeconds,
          },
          'money has been in custody longer than policy.custody_max_seconds: see escrow-agent custody',
        );
      }
      ctx.metrics.custodyTasks.set(held);
      ctx.metrics.custodyHeldMsat.set(Number(heldMsat));
      ctx.metrics.custodyOverdueTasks.set(overdue);
    },
  };
}
