// verifyAudit: walks every task's chain, one task at a time, and reports every problem with its task and seq;
// then looks for chains left behind by a deleted task row.
import { sql } from 'drizzle-orm';
import { findChainProblems } from './audit-chain.ts';
import { integerValue, textValue } from './column-values.ts';
import type { AuditProblem, AuditReport } from './port.ts';
import { auditLinkFromRow } from './repositories/tasks.ts';
import type { SqlSession } from './sql-session.ts';

export async function verifyAuditChains(session: SqlSession): Promise<AuditReport> {
  const heads = await session.rows(sql`SELECT id, version, audit_head FROM tasks ORDER BY id`);
  const problems: AuditProblem[] = [];
  let rowsChecked = 0;
  for (const head of heads) {
    const taskId = textValue(head.id, 'tasks.id');
    const links = (await session.rows(sql`SELECT * FROM audit WHERE task_id = ${taskId} ORDER BY seq`)).map(
      auditLinkFromRow,
    );
    rowsChecked += links.length;
    problems.push(
      ...findChainProblems(
        {
          taskId,
          version: integerValue(head.version, 'tasks.version'),
          auditHead: textValue(head.audit_head, 'tasks.audit_head'),
        },
        links,
      ),
    );
  }
  const orphans = await session.rows(sql`
    SELECT task_id, MIN(seq) AS first_seq, COUNT(*) AS row_count FROM audit
    WHERE task_id NOT IN (SELECT id FROM tasks) GROUP BY task_id ORDER BY task_id`);
  for (const orphan of orphans) {
    const rowCount = integerValue(orphan.row_count, 'row_count');
    rowsChecked += rowCount;
    problems.push({
      taskId: textValue(orphan.task_id, 'audit.task_id'),
      seq: integerValue(orphan.first_seq, 'first_seq'),
      kind: 'missing_task',
      detail: `${rowCount} audit rows belong to a task that has no row`,
    });
  }
  return { ok: problems.length === 0, tasksChecked: heads.length, rowsChecked, problems };
}
