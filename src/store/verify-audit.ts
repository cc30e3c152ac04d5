// verifyAudit: walks every task's chain and reports every problem with its task and seq, including chains left
// behind by a deleted task row. The walk goes in slices of task ids (keyset order), each slice one short read
// transaction with two queries: the slice's task rows, and every audit row whose task id falls in the slice's range
// (after the previous slice's last id, up to this slice's last id; the last slice's range is open). Every audit row
// lies in exactly one range, so a row whose task is missing from its slice belongs to no task. Between slices the
// walk yields to the event loop: on a store of 100,000 tasks it never holds the loop (or SQLite's lock) for long.
import { sql } from 'drizzle-orm';
import { findChainProblems } from './audit-chain.ts';
import { integerValue, textValue } from './column-values.ts';
import type { AuditProblem, AuditReport } from './port.ts';
import { auditLinkFromRow } from './repositories/tasks.ts';
import type { SqlSession } from './sql-session.ts';

/** Task rows per slice: a slice of 500 paid tasks reads about 4,500 audit rows. */
export const AUDIT_SLICE_TASKS = 500;

type ReadSlice = <T>(fn: (session: SqlSession) => Promise<T>) => Promise<T>;

interface SliceResult {
  lastId: string | null;
  tasks: number;
  rows: number;
  problems: AuditProblem[];
}

async function walkSlice(
  session: SqlSession,
  after: string | null,
  sliceTasks: number,
): Promise<SliceResult> {
  const heads = await session.rows(
    after === null
      ? sql`SELECT id, version, audit_head FROM tasks ORDER BY id LIMIT ${sliceTasks}`
      : sql`SELECT id, version, audit_head FROM tasks WHERE id > ${after} ORDER BY id LIMIT ${sliceTasks}`,
  );
  const last = heads.length === sliceTasks ? textValue(heads.at(-1)?.id, 'tasks.id') : null;
  const range =
    after === null
      ? last === null
        ? sql`1 = 1`
        : sql`task_id <= ${last}`
      : last === null
        ? sql`task_id > ${after}`
        : sql`task_id > ${after} AND task_id <= ${last}`;
  const rows = await session.rows(sql`SELECT * FROM audit WHERE ${range} ORDER BY task_id, seq`);
  const linksByTask = new Map<string, ReturnType<typeof auditLinkFromRow>[]>();
  for (const row of rows) {
    const link = auditLinkFromRow(row);
    const links = linksByTask.get(link.taskId);
    if (links) links.push(link);
    else linksByTask.set(link.taskId, [link]);
  }
  const problems: AuditProblem[] = [];
  for (const head of heads) {
    const taskId = textValue(head.id, 'tasks.id');
    const links = linksByTask.get(taskId) ?? [];
    linksByTask.delete(taskId);
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
  // What is left has no task row in this slice, and so none at all.
  for (const [taskId, links] of linksByTask) {
    problems.push({
      taskId,
      seq: links[0]?.seq ?? 0,
      kind: 'missing_task',
      detail: `${links.length} audit rows belong to a task that has no row`,
    });
  }
  return { lastId: last, tasks: heads.length, rows: rows.length, problems };
}

export async function verifyAuditChains(
  read: ReadSlice,
  options: { sliceTasks?: number; onMoreToWalk?: () => void } = {},
): Promise<AuditReport> {
  const sliceTasks = options.sliceTasks ?? AUDIT_SLICE_TASKS;
  const problems: AuditProblem[] = [];
  let tasksChecked = 0;
  let rowsChecked = 0;
  let after: string | null = null;
  for (;;) {
    const from: string | null = after;
    const slice: SliceResult = await read((session) => walkSlice(session, from, sliceTasks));
    tasksChecked += slice.tasks;
    rowsChecked += slice.rows;
    problems.push(...slice.problems);
    if (slice.lastId === null) break;
    after = slice.lastId;
    options.onMoreToWalk?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { ok: problems.length === 0, tasksChecked, rowsChecked, problems };
}
