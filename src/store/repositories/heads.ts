// Chain heads: which task heads the agent's heads events (src/protocol/heads.ts) have named, and at what length. The
// lengths live beside the heads (published_heads.length grows with every setPublishedHead, announced_length is what
// the latest heads event said), so the heads not named yet are a partial index's few rows, however many tasks there
// are; heads_events keeps the heads events in order, and its primary key makes two writers racing for the next one
// end with one winner.
import { sql } from 'drizzle-orm';
import { integerValue, nullableIntegerValue, textValue } from '../column-values.ts';
import type { HeadsRecord, HeadsRepository, UnannouncedHead } from '../port.ts';
import { unannouncedHead } from '../schema/values.ts';
import type { RepositoryContext, Row } from '../sql-session.ts';

function recordOf(row: Row): HeadsRecord {
  return {
    seq: integerValue(row.seq, 'heads_events.seq'),
    eventId: textValue(row.event_id, 'heads_events.event_id'),
    count: integerValue(row.count, 'heads_events.count'),
    createdAt: integerValue(row.created_at, 'heads_events.created_at'),
  };
}

export function createHeadsRepository({ session }: RepositoryContext): HeadsRepository {
  return {
    async latest() {
      const [row] = await session.rows(
        sql`SELECT seq, event_id, count, created_at FROM heads_events ORDER BY seq DESC LIMIT 1`,
      );
      return row ? recordOf(row) : null;
    },

    async pending() {
      const [row] = await session.rows(sql`
        SELECT COUNT(*) AS tasks, COALESCE(SUM(length - announced_length), 0) AS transitions
        FROM published_heads WHERE ${unannouncedHead()}`);
      return {
        tasks: integerValue(row?.tasks ?? 0, 'tasks'),
        transitions: integerValue(row?.transitions ?? 0, 'transitions'),
      };
    },

    async unannounced(limit) {
      const rows = await session.rows(sql`
        SELECT task_id, event_id, length, announced_length FROM published_heads
        WHERE ${unannouncedHead()} ORDER BY task_id LIMIT ${limit}`);
      return rows.map(
        (row): UnannouncedHead => ({
          taskId: textValue(row.task_id, 'published_heads.task_id'),
          eventId: textValue(row.event_id, 'published_heads.event_id'),
          length: nullableIntegerValue(row.length, 'published_heads.length'),
          announcedLength: integerValue(row.announced_length, 'published_heads.announced_length'),
        }),
      );
    },

    async record({ seq, eventId, count, createdAt, heads }) {
      const inserted = await session.run(sql`
        INSERT INTO heads_events (seq, event_id, count, created_at) VALUES (${seq}, ${eventId}, ${count}, ${createdAt})
        ON CONFLICT (seq) DO NOTHING`);
      if (inserted === 0) return false;
      for (const head of heads) {
        // A length that was unknown becomes known, if the head has not moved since it was walked.
        await session.run(sql`
          UPDATE published_heads SET length = ${head.length}
          WHERE task_id = ${head.taskId} AND event_id = ${head.eventId} AND length IS NULL`);
        await session.run(sql`
          UPDATE published_heads SET announced_length = ${head.length}
          WHERE task_id = ${head.taskId} AND announced_length < ${head.length}`);
      }
      return true;
    },
  };
}
