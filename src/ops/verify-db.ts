// `verify-db` through a running agent: every task's audit chain walked and every task's money checked against its
// ledger, by the agent that holds the database (the command line runs the same checks itself on a stopped folder,
// src/cli/commands/verify-db.ts). Read-only.
import { conservationViolation } from '../domain/money.ts';
import { TASK_STATES } from '../domain/types.ts';
import { onlyArgs } from './format.ts';
import type { OpsDeps, OpsReport } from './ops-deps.ts';

export function verifyDbArgs(args: Record<string, unknown>): void {
  onlyArgs('verify-db', args, []);
}

export async function verifyDb(deps: OpsDeps, args: Record<string, unknown>): Promise<OpsReport> {
  verifyDbArgs(args);
  const report = await deps.store.verifyAudit();
  const tasks = await deps.store.read((reader) => reader.tasks.listByState(TASK_STATES));
  const money = tasks.flatMap((task) => {
    const violation = conservationViolation(task.ledger);
    return violation ? [`task ${task.id}: ${violation}`] : [];
  });
  const lines = [
    ...report.problems.map(
      (problem) =>
        `audit chain of task ${problem.taskId}, row ${problem.seq}: ${problem.kind}: ${problem.detail}`,
    ),
    ...money,
    `${report.tasksChecked} tasks, ${report.rowsChecked} audit rows checked: ${report.problems.length} chain problems, ${money.length} money problems`,
  ];
  const ok = report.ok && money.length === 0;
  return {
    command: 'verify-db',
    executed: false,
    lines,
    json: {
      tasksChecked: report.tasksChecked,
      rowsChecked: report.rowsChecked,
      problems: report.problems,
      money,
    },
    changed: 0,
    exitCode: ok ? 0 : 1,
  };
}
