// Inbound events: durable dedupe by event id. Intake records an event only after verifying its id and
// signature, or a forged copy could censor the genuine one.
import { sql } from 'drizzle-orm';
import { integerValue, nullableTextValue, oneOf, textValue } from '../column-values.ts';
import type { InboundRepository } from '../port.ts';
import { INBOUND_STATUSES } from '../schema/values.ts';
import type { RepositoryContext } from '../sql-session.ts';

export function createInboundRepository({ session, now }: RepositoryContext): InboundRepository {
  return {
    async has(id) {
      const rows = await session.rows(sql`SELECT 1 AS found FROM inbound_events WHERE id = ${id}`);
      return rows.length > 0;
    },

    async get(id) {
      const [row] = await session.rows(
        sql`SELECT id, pubkey, kind, created_at, raw, status, reason FROM inbound_events WHERE id = ${id}`,
      );
      if (!row) return null;
      return {
        id: textValue(row.id, 'inbound_events.id'),
        pubkey: textValue(row.pubkey, 'inbound_events.pubkey'),
        kind: integerValue(row.kind, 'inbound_events.kind'),
        createdAt: integerValue(row.created_at, 'inbound_events.created_at'),
        raw: textValue(row.raw, 'inbound_events.raw'),
        status: oneOf(row.status, INBOUND_STATUSES, 'inbound_events.status'),
        reason: nullableTextValue(row.reason, 'inbound_events.reason'),
      };
    },

    async record({ id, pubkey, kind, createdAt, raw, status, reason }) {
      const inserted = await session.run(sql`
        INSERT INTO inbound_events (id, pubkey, kind, created_at, raw, received_at, status, reason)
        VALUES (${id}, ${pubkey}, ${kind}, ${createdAt}, ${raw}, ${now()}, ${status}, ${reason})
        ON CONFLICT (id) DO NOTHING`);
      return inserted > 0;
    },
  };
}
