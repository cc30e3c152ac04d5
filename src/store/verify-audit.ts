// verifyAudit: walks every task's chain, one task at a time, and reports every problem with its task and seq.
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
  return { ok: problems.length === 0, tasksChecked: heads.length, rowsChecked, problems };
}
