import type { AgentConfig } from '../../agent/config.ts';
import { DataFolderInUseError } from '../../agent/data-folder-lock.ts';
import { openAgentStore } from '../../agent/open-agent-store.ts';
import { conservationViolation } from '../../domain/money.ts';
import { TASK_STATES } from '../../domain/types.ts';
import type { EscrowStore } from '../../store/index.ts';
import type { Output } from '../output.ts';
import { runRunbook } from './runbook.ts';

/**
 * Runbook: walks every task's audit chain and checks that every task's money adds up. Exit 1 on any problem. On a
 * folder a running agent holds, the agent runs the same checks (src/ops/verify-db.ts, through its control socket).
 */
export async function verifyDatabaseCommand(config: AgentConfig, output: Output): Promise<number> {
  let store: EscrowStore;
  try {
    ({ store } = await openAgentStore(config));
  } catch (error) {
    if (!(error instanceof DataFolderInUseError)) throw error;
    return runRunbook(config, output, 'verify-db', []);
  }
  try {
    const report = await store.verifyAudit();
    const tasks = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
    const money = tasks.flatMap((task) => {
      const violation = conservationViolation(task.ledger);
      return violation ? [`task ${task.id}: ${violation}`] : [];
    });
    for (const problem of report.problems) {
      output.err(
        `audit chain of task ${problem.taskId}, row ${problem.seq}: ${problem.kind}: ${problem.detail}`,
      );
    }
    for (const problem of money) output.err(problem);
    output.out(
      `${report.tasksChecked} tasks, ${report.rowsChecked} audit rows checked: ${report.problems.length} chain problems, ${money.length} money problems`,
    );
    return report.ok && money.length === 0 ? 0 : 1;
  } finally {
    await store.close();
  }
}
