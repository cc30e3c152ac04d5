// The transactional outbox: the agent's signed events are written in the same transaction as the state
// change that produced them, then delivered to every write relay with a status per relay, so a restart
// resumes exactly where delivery stopped. Two replicas may both send a due event: relays dedupe by id.
import { sql } from 'drizzle-orm';
import { integerValue, nullableTextValue, oneOf, textValue } from '../column-values.ts';
import type { OutboxDelivery, OutboxEntry, OutboxRepository, SignedEvent } from '../port.ts';
import { DELIVERY_STATUSES } from '../schema/values.ts';
import type { RepositoryContext, SqlSession } from '../sql-session.ts';
import { StoreError } from '../store-error.ts';

function parseEvent(text: string, eventId: string): SignedEvent {
  try {
    return JSON.parse(text) as SignedEvent;
  } catch (error) {
    throw new StoreError('CorruptRow', `outbox event ${eventId} is not JSON`, { cause: error });
  }
}

function entryOf(row: Record<string, unknown>): OutboxEntry {
  const eventId = textValue(row.id, 'outbox.id');
  return {
    eventId,
    taskId: nullableTextValue(row.task_id, 'outbox.task_id'),
    event: parseEvent(textValue(row.event, 'outbox.event'), eventId),
  };
}

async function dueDeliveries(
  session: SqlSession,
  dueAt: number,
  limit: number,
  priority: 0 | 1 | undefined,
): Promise<OutboxDelivery[]> {
  const ofPriority = priority === undefined ? sql`` : sql`AND d.priority = ${priority}`;
  const rows = await session.rows(sql`
    SELECT d.event_id, d.relay, d.attempts, d.next_attempt_at, o.event, o.task_id
    FROM outbox_relays d JOIN outbox o ON o.id = d.event_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= ${dueAt} ${ofPriority}
    ORDER BY d.priority, d.next_attempt_at, d.event_id, d.relay
    LIMIT ${limit}`);
  return rows.map((row): OutboxDelivery => {
    const eventId = textValue(row.event_id, 'outbox_relays.event_id');
    return {
      eventId,
      relay: textValue(row.relay, 'outbox_relays.relay'),
      event: parseEvent(textValue(row.event, 'outbox.event'), eventId),
      taskId: nullableTextValue(row.task_id, 'outbox.task_id'),
      attempts: integerValue(row.attempts, 'outbox_relays.attempts'),
      nextAttemptAt: integerValue(row.next_attempt_at, 'outbox_relays.next_attempt_at'),
    };
  });
}

export function createOutboxRepository({ session, now }: RepositoryContext): OutboxRepository {
  return {
    async enqueue(event, relays, taskId = null, priority = 1) {
      const at = now();
      const inserted = await session.run(sql`
        INSERT INTO outbox (id, event, task_id, created_at)
        VALUES (${event.id}, ${JSON.stringify(event)}, ${taskId}, ${at})
        ON CONFLICT (id) DO NOTHING`);
      if (inserted === 0) return false;
      for (const relay of new Set(relays)) {
        await session.run(sql`
          INSERT INTO outbox_relays (event_id, relay, status, attempts, last_error, next_attempt_at, priority)
          VALUES (${event.id}, ${relay}, 'pending', ${0}, NULL, ${at}, ${priority})`);
      }
      return true;
    },

    due: (dueAt, limit, priority) => dueDeliveries(session, dueAt, limit, priority),

    async claimDue(dueAt, limit, seconds, priority) {
      // Each due row is pushed `seconds` ahead only if no other replica moved it since it was read: on PostgreSQL
      // a concurrent claim of the same row waits for ours to commit, then finds next_attempt_at changed.
      const claimed: OutboxDelivery[] = [];
      for (const delivery of await dueDeliveries(session, dueAt, limit, priority)) {
        const changed = await session.run(sql`
          UPDATE outbox_relays SET next_attempt_at = ${dueAt + seconds}
          WHERE event_id = ${delivery.eventId} AND relay = ${delivery.relay} AND status = 'pending'
            AND next_attempt_at = ${delivery.nextAttemptAt}`);
        if (changed === 1) claimed.push(delivery);
      }
      return claimed;
    },

    async pendingCount() {
      const [row] = await session.rows(
        sql`SELECT COUNT(*) AS pending FROM outbox_relays WHERE status = 'pending'`,
      );
      return integerValue(row?.pending ?? 0, 'pending');
    },

    async deliveries(eventId) {
      const rows = await session.rows(sql`
        SELECT relay, status, attempts, last_error, next_attempt_at FROM outbox_relays
        WHERE event_id = ${eventId} ORDER BY relay`);
      return rows.map((row) => ({
        relay: textValue(row.relay, 'outbox_relays.relay'),
        status: oneOf(row.status, DELIVERY_STATUSES, 'outbox_relays.status'),
        attempts: integerValue(row.attempts, 'outbox_relays.attempts'),
        lastError: nullableTextValue(row.last_error, 'outbox_relays.last_error'),
        nextAttemptAt: integerValue(row.next_attempt_at, 'outbox_relays.next_attempt_at'),
      }));
    },

    async event(eventId) {
      const [row] = await session.rows(sql`SELECT event FROM outbox WHERE id = ${eventId}`);
      return row ? parseEvent(textValue(row.event, 'outbox.event'), eventId) : null;
    },

    async sentTo(relay, limit) {
      const rows = await session.rows(sql`
        SELECT o.id, o.event, o.task_id FROM outbox_relays d JOIN outbox o ON o.id = d.event_id
        WHERE d.relay = ${relay} AND d.status = 'ok'
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT ${limit}`);
      return rows.map(entryOf);
    },

    async headsSentTo(relay, afterTaskId, limit) {
      const rows = await session.rows(sql`
        SELECT o.id, o.event, h.task_id FROM published_heads h
        JOIN outbox o ON o.id = h.event_id
        JOIN outbox_relays d ON d.event_id = h.event_id AND d.relay = ${relay}
        WHERE d.status = 'ok' AND h.task_id > ${afterTaskId ?? ''}
        ORDER BY h.task_id
        LIMIT ${limit}`);
      return rows.map((row) => {
        const entry = entryOf(row);
        return { ...entry, taskId: textValue(row.task_id, 'published_heads.task_id') };
      });
    },

    async taskEventsSentTo(relay, taskId, limit) {
      const rows = await session.rows(sql`
        SELECT o.id, o.event, o.task_id FROM outbox o
        JOIN outbox_relays d ON d.event_id = o.id AND d.relay = ${relay}
        WHERE o.task_id = ${taskId} AND d.status = 'ok'
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT ${limit}`);
      return rows.map(entryOf);
    },

    async resend(relay, eventIds, reason) {
      let changed = 0;
      // In chunks, so that no statement carries more parameters than a database takes.
      for (let start = 0; start < eventIds.length; start += 500) {
        const chunk = eventIds.slice(start, start + 500);
        changed += await session.run(sql`
          UPDATE outbox_relays SET status = 'pending', last_error = ${reason}, next_attempt_at = ${now()}
          WHERE relay = ${relay} AND status = 'ok'
            AND event_id IN (${sql.join(
              chunk.map((id) => sql`${id}`),
              sql`, `,
            )})`);
      }
      return changed;
    },

    async dueAgain(relay) {
      const at = now();
      return session.run(sql`
        UPDATE outbox_relays SET next_attempt_at = ${at}
        WHERE relay = ${relay} AND status = 'pending' AND attempts > 0 AND next_attempt_at > ${at}`);
    },

    async markRelay(eventId, relay, status, error = null, nextAttemptAt) {
      // Compare-and-set from pending: ok and failed are final, so a late answer from an older attempt cannot
      // undo them.
      const changed = await session.run(sql`
        UPDATE outbox_relays
        SET status = ${status}, attempts = attempts + 1, last_error = ${error},
            next_attempt_at = ${nextAttemptAt ?? now()}
        WHERE event_id = ${eventId} AND relay = ${relay} AND status = 'pending'`);
      return changed > 0;
    },
  };
}
