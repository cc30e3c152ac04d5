// Tasks and their audit chains. A task row and its chain always change together, in one statement pair,
// under a compare-and-set on (state, version): the chain's length is the task's version.
import { sql } from 'drizzle-orm';
import { InternalError } from '../../domain/errors.ts';
import type { Task, TaskEvent } from '../../domain/types.ts';
import { type AuditLink, chainEvents, GENESIS_HASH } from '../audit-chain.ts';
import { integerValue, textValue } from '../column-values.ts';
import type { AuditEntry, TaskCommit, TaskRepository } from '../port.ts';
import { FINISHED_TASK_STATES } from '../schema/values.ts';
import { inList, lockForUpdate, type RepositoryContext, type Row } from '../sql-session.ts';
import { decodeEvent, decodeTask, encodeBody } from '../task-codec.ts';

/** The states a task's reputation counts in: finished with money moved. */
const REPUTATION_STATES = ['paid', 'refunded'] as const;

export function taskFromRow(row: Row): Task {
  return decodeTask(textValue(row.body, 'tasks.body'), {
    id: textValue(row.id, 'tasks.id'),
    state: textValue(row.state, 'tasks.state'),
    version: integerValue(row.version, 'tasks.version'),
  });
}

export function auditLinkFromRow(row: Row): AuditLink {
  return {
    taskId: textValue(row.task_id, 'audit.task_id'),
    seq: integerValue(row.seq, 'audit.seq'),
    eventType: textValue(row.event_type, 'audit.event_type'),
    body: textValue(row.body, 'audit.body'),
    prevHash: textValue(row.prev_hash, 'audit.prev_hash'),
    hash: textValue(row.hash, 'audit.hash'),
    createdAt: integerValue(row.created_at, 'audit.created_at'),
  };
}

function checkVersion(task: Task, previousVersion: number, events: readonly TaskEvent[]): void {
  // The task is the fold of its events: a version that does not count them would break the chain's meaning.
  if (events.length === 0)
    throw new InternalError('Invariant', `task ${task.id}: a change needs at least one event`);
  if (task.version !== previousVersion + events.length) {
    throw new InternalError(
      'Invariant',
      `task ${task.id}: version ${task.version} is not ${previousVersion} + ${events.length} events`,
    );
  }
}

/** The hash of the last link: the chain's new head (checkVersion made sure there is at least one event). */
function headOf(task: Task, links: readonly { hash: string }[]): string {
  const last = links.at(-1);
  if (last === undefined) throw new InternalError('Invariant', `task ${task.id}: no audit link to chain`);
  return last.hash;
}

export function createTaskRepository({ session, now }: RepositoryContext): TaskRepository {
  async function selectOne(id: string, forUpdate: boolean): Promise<Task | null> {
    const lock = forUpdate ? lockForUpdate(session) : sql``;
    const [row] = await session.rows(sql`SELECT id, state, version, body FROM tasks WHERE id = ${id}${lock}`);
    return row ? taskFromRow(row) : null;
  }

  async function appendLinks(links: readonly AuditLink[]): Promise<void> {
    for (const link of links) {
      await session.run(sql`
        INSERT INTO audit (task_id, seq, event_type, body, prev_hash, hash, created_at)
        VALUES (${link.taskId}, ${link.seq}, ${link.eventType}, ${link.body}, ${link.prevHash}, ${link.hash},
                ${link.createdAt})`);
    }
  }

  return {
    get: (id) => selectOne(id, false),
    getForUpdate: (id) => selectOne(id, true),

    async listByState(states) {
      if (states.length === 0) return [];
      const rows = await session.rows(
        sql`SELECT id, state, version, body FROM tasks WHERE state IN ${inList(states)} ORDER BY id`,
      );
      return rows.map(taskFromRow);
    },

    async publishedHead(id) {
      const [row] = await session.rows(sql`SELECT event_id FROM published_heads WHERE task_id = ${id}`);
      return row ? textValue(row.event_id, 'published_heads.event_id') : null;
    },

    async openAtListingAddress(poster, d) {
      const [row] = await session.rows(sql`
        SELECT id FROM tasks
        WHERE poster = ${poster} AND listing_d = ${d} AND state NOT IN ${inList(FINISHED_TASK_STATES)}
        ORDER BY id LIMIT 1`);
      return row ? textValue(row.id, 'tasks.id') : null;
    },

    async finishedInvolving(pubkey) {
      // Cost: a SCAN. The verdicts' authors live only in the body (canonical JSON: `"by":"<hex>"` in `verdicts`,
      // and in `statements`, whose authors are the poster or the worker anyway), so the LIKE reads the body of
      // every paid / refunded task (the state index narrows it to those, which over time is most of the table),
      // once per pubkey whose reputation a finishing task changes. Fine for thousands of tasks; issue #15 (100k
      // tasks) replaces it with an indexed table of (pubkey, task) written when a task finishes. LIKE's
      // wildcards are escaped, though a hex pubkey has none.
      const pattern = `%"by":"${pubkey.replace(/[\\%_]/g, (found) => `\\${found}`)}"%`;
      const rows = await session.rows(sql`
        SELECT id, state, version, body, updated_at FROM tasks
        WHERE state IN ${inList(REPUTATION_STATES)}
          AND (poster = ${pubkey} OR worker = ${pubkey} OR body LIKE ${pattern} ESCAPE '\\')
        ORDER BY id`);
      // A finished task never changes again: its updated_at is the commit of its ending.
      return rows.map((row) => ({
        task: taskFromRow(row),
        finishedAt: integerValue(row.updated_at, 'tasks.updated_at'),
      }));
    },

    async setListingD(id, d) {
      await session.run(sql`UPDATE tasks SET listing_d = ${d} WHERE id = ${id}`);
    },

    async setPublishedHead(id, eventId) {
      // The chain grows by one (a length unknown from before lengths were kept stays unknown: NULL + 1).
      await session.run(sql`
        INSERT INTO published_heads (task_id, event_id, updated_at, length, announced_length)
        VALUES (${id}, ${eventId}, ${now()}, 1, 0)
        ON CONFLICT (task_id) DO UPDATE SET event_id = excluded.event_id, updated_at = excluded.updated_at,
          length = published_heads.length + 1`);
    },

    async history(id) {
      const rows = await session.rows(sql`SELECT * FROM audit WHERE task_id = ${id} ORDER BY seq`);
      return rows.map((row): AuditEntry => {
        const link = auditLinkFromRow(row);
        return {
          taskId: link.taskId,
          seq: link.seq,
          event: decodeEvent(link.body, link),
          prevHash: link.prevHash,
          hash: link.hash,
          createdAt: link.createdAt,
        };
      });
    },

    async create(task, events) {
      checkVersion(task, 0, events);
      const links = chainEvents(task.id, { seq: 0, hash: GENESIS_HASH }, events);
      const head = headOf(task, links);
      const at = now();
      const inserted = await session.run(sql`
        INSERT INTO tasks (id, state, poster, worker, amount_msat, fee_msat, payment_hash, version, audit_head,
                           body, created_at, updated_at)
        VALUES (${task.id}, ${task.state}, ${task.poster}, ${task.worker}, ${task.amountMsat}, ${task.feeMsat},
                ${task.funding?.paymentHash ?? null}, ${task.version}, ${head}, ${encodeBody(task)}, ${at}, ${at})
        ON CONFLICT (id) DO NOTHING`);
      if (inserted === 0) return false;
      await appendLinks(links);
      return true;
    },

    async commit({ task, expected, events }: TaskCommit) {
      checkVersion(task, expected.version, events);
      const [current] = await session.rows(sql`
        SELECT audit_head FROM tasks
        WHERE id = ${task.id} AND state = ${expected.state} AND version = ${expected.version}`);
      if (!current) return false;
      const previousHead = textValue(current.audit_head, 'tasks.audit_head');
      const links = chainEvents(task.id, { seq: expected.version, hash: previousHead }, events);
      // Compare-and-set: another transaction may have moved the task since the SELECT above (PostgreSQL
      // without getForUpdate); then 0 rows change and we write nothing.
      const updated = await session.run(sql`
        UPDATE tasks
        SET state = ${task.state}, poster = ${task.poster}, worker = ${task.worker},
            amount_msat = ${task.amountMsat}, fee_msat = ${task.feeMsat},
            payment_hash = ${task.funding?.paymentHash ?? null}, version = ${task.version},
            audit_head = ${headOf(task, links)}, body = ${encodeBody(task)}, updated_at = ${now()}
        WHERE id = ${task.id} AND state = ${expected.state} AND version = ${expected.version}
          AND audit_head = ${previousHead}`);
      if (updated === 0) return false;
      await appendLinks(links);
      return true;
    },
  };
}
