// The relay's event store: the schema, migrations and connection of @nostr-relay/event-repository-sqlite, with
// reads and writes of our own. Every method is synchronous (better-sqlite3), so a publish (write + live fan-out)
// and a REQ (stored query + subscribe) never interleave: a subscriber cannot miss an event published between its
// query and its subscription, nor get it twice.
//
// What the stock repository gets wrong, and this one does not:
// - find() returns nothing for a filter with more than two `#x` conditions and may count one event several times
//   against `limit`; ties on created_at are not ordered by id (NIP-01);
// - a replaceable event without single-letter tags inherits the tag index rows of the version it replaced;
// - deletion by `a` tag removes versions newer than the deletion request (NIP-09: only up to its created_at),
//   and a deletion request (kind 5) is never stored;
// - NIP-26 delegation makes the delegator the "author"; here the author is always the signing pubkey.
import type { Event, Filter } from '@nostr-relay/common';
import { EventRepositorySqlite } from '@nostr-relay/event-repository-sqlite';
import { isHex32 } from '../domain/hex.ts';
import { DELETION_KIND, expiresAt, parseCoordinate, replaceableSlot } from './event-kinds.ts';
import { tagConditions } from './filter-match.ts';

export type InsertOutcome = 'stored' | 'duplicate' | 'superseded';

export interface QueryLimits {
  /** Events returned for a filter without `limit`. */
  defaultLimit: number;
  /** Upper bound on any filter's `limit`. */
  maxLimit: number;
}

interface EventRow {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string;
  content: string;
  sig: string;
}

const EVENT_COLUMNS = 'e.id, e.pubkey, e.created_at, e.kind, e.tags, e.content, e.sig';

function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

function toEvent(row: EventRow): Event {
  return { ...row, tags: JSON.parse(row.tags) as string[][] };
}

export class SqliteEventStore extends EventRepositorySqlite {
  private readonly queryLimits: QueryLimits;

  constructor(path: string, limits: QueryLimits = { defaultLimit: 500, maxLimit: 5000 }) {
    super(path);
    this.queryLimits = limits;
  }

  override async init(): Promise<void> {
    await super.init();
    // NIP-40: kept beside the event so a query can skip expired events without parsing every event's tags.
    this.getDatabase().exec(`
      CREATE TABLE IF NOT EXISTS relay_event_expirations (
        event_id TEXT PRIMARY KEY NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS relay_event_expirations_expires_at_idx ON relay_event_expirations (expires_at);
    `);
  }

  has(id: string): boolean {
    return this.getDatabase().prepare('SELECT 1 FROM events WHERE id = ?').get(id) !== undefined;
  }

  /**
   * Stores a verified, non-ephemeral event. A replaceable or addressable event replaces the stored version of its
   * slot only if it is newer (or equally old with a lower id, NIP-01). A deletion request (kind 5) is stored and
   * applied in the same transaction.
   */
  insert(event: Event): InsertOutcome {
    const db = this.getDatabase();
    return db.transaction((): InsertOutcome => {
      if (this.has(event.id)) return 'duplicate';
      const slot = replaceableSlot(event);
      if (slot !== null) {
        const current = db
          .prepare('SELECT id, created_at FROM events WHERE author = ? AND kind = ? AND d_tag_value = ?')
          .get(event.pubkey, event.kind, slot) as { id: string; created_at: number } | undefined;
        if (current) {
          const newer =
            event.created_at > current.created_at ||
            (event.created_at === current.created_at && event.id < current.id);
          if (!newer) return 'superseded';
          // ON DELETE CASCADE removes its tag index and expiration rows with it.
          db.prepare('DELETE FROM events WHERE id = ?').run(current.id);
        }
      }
      db.prepare(
        `INSERT INTO events (id, pubkey, author, created_at, kind, tags, content, sig, d_tag_value)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        event.id,
        event.pubkey,
        event.pubkey,
        event.created_at,
        event.kind,
        JSON.stringify(event.tags),
        event.content,
        event.sig,
        slot,
      );
      const indexTag = db.prepare(
        'INSERT OR IGNORE INTO generic_tags (tag, event_id, author, kind, created_at) VALUES (?, ?, ?, ?, ?)',
      );
      for (const tag of event.tags) {
        const [name, value] = tag;
        if (name !== undefined && /^[a-zA-Z]$/.test(name) && value !== undefined) {
          indexTag.run(`${name}:${value}`, event.id, event.pubkey, event.kind, event.created_at);
        }
      }
      const expiration = expiresAt(event);
      if (expiration !== null) {
        db.prepare('INSERT INTO relay_event_expirations (event_id, expires_at) VALUES (?, ?)').run(
          event.id,
          expiration,
        );
      }
      if (event.kind === DELETION_KIND) this.applyDeletion(event);
      return 'stored';
    })();
  }

  /**
   * NIP-09: removes the events a deletion request names by `e` tag, and the versions of the replaceable events it
   * names by `a` tag up to its created_at, provided they have the request's pubkey. Deletion requests themselves
   * cannot be deleted. Returns how many events went.
   */
  applyDeletion(deletion: Event): number {
    const db = this.getDatabase();
    let deleted = 0;
    const ids = [
      ...new Set(deletion.tags.flatMap((tag) => (tag[0] === 'e' && isHex32(tag[1]) ? [tag[1]] : []))),
    ];
    if (ids.length > 0) {
      deleted += db
        .prepare(`DELETE FROM events WHERE author = ? AND kind != ? AND id IN (${placeholders(ids.length)})`)
        .run(deletion.pubkey, DELETION_KIND, ...ids).changes;
    }
    const byAddress = db.prepare(
      'DELETE FROM events WHERE author = ? AND kind = ? AND d_tag_value = ? AND created_at <= ?',
    );
    for (const tag of deletion.tags) {
      if (tag[0] !== 'a' || tag[1] === undefined) continue;
      const coordinate = parseCoordinate(tag[1]);
      if (coordinate === null || coordinate.pubkey !== deletion.pubkey) continue;
      deleted += byAddress.run(deletion.pubkey, coordinate.kind, coordinate.d, deletion.created_at).changes;
    }
    return deleted;
  }

  /** Whether a stored deletion request of the event's author already names it (NIP-09), so it must stay gone. */
  isDeletedByAuthor(event: Event): boolean {
    if (event.kind === DELETION_KIND) return false;
    const db = this.getDatabase();
    const byId = db
      .prepare('SELECT 1 FROM generic_tags WHERE tag = ? AND author = ? AND kind = ? LIMIT 1')
      .get(`e:${event.id}`, event.pubkey, DELETION_KIND);
    if (byId !== undefined) return true;
    const slot = replaceableSlot(event);
    if (slot === null) return false;
    const byAddress = db
      .prepare(
        'SELECT 1 FROM generic_tags WHERE tag = ? AND author = ? AND kind = ? AND created_at >= ? LIMIT 1',
      )
      .get(`a:${event.kind}:${event.pubkey}:${slot}`, event.pubkey, DELETION_KIND, event.created_at);
    return byAddress !== undefined;
  }

  /** Stored events matching one filter, newest first, ties by lowest id (NIP-01); expired events are skipped. */
  query(filter: Filter, now: number): Event[] {
    const limit = Math.min(filter.limit ?? this.queryLimits.defaultLimit, this.queryLimits.maxLimit);
    if (limit <= 0) return [];
    const where: string[] = [];
    const params: Array<string | number> = [];
    const list = (column: string, values: ReadonlyArray<string | number>): void => {
      where.push(values.length === 0 ? '0' : `${column} IN (${placeholders(values.length)})`);
      params.push(...values);
    };
    if (filter.ids !== undefined) list('e.id', filter.ids);
    if (filter.authors !== undefined) list('e.author', filter.authors);
    if (filter.kinds !== undefined) list('e.kind', filter.kinds);
    if (filter.since !== undefined) {
      where.push('e.created_at >= ?');
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('e.created_at <= ?');
      params.push(filter.until);
    }
    for (const [letter, values] of tagConditions(filter)) {
      where.push(
        `EXISTS (SELECT 1 FROM generic_tags g WHERE g.event_id = e.id AND g.tag IN (${placeholders(values.length)}))`,
      );
      params.push(...values.map((value) => `${letter}:${value}`));
    }
    where.push(
      'NOT EXISTS (SELECT 1 FROM relay_event_expirations x WHERE x.event_id = e.id AND x.expires_at <= ?)',
    );
    params.push(now);
    const rows = this.getDatabase()
      .prepare(
        `SELECT ${EVENT_COLUMNS} FROM events e WHERE ${where.join(' AND ')}
         ORDER BY e.created_at DESC, e.id ASC LIMIT ?`,
      )
      .all(...params, limit) as EventRow[];
    return rows.map(toEvent);
  }

  // The EventRepository contract, routed to the methods above so that nothing reaches the stock queries.
  override async upsert(event: Event): Promise<{ isDuplicate: boolean }> {
    return { isDuplicate: this.insert(event) !== 'stored' };
  }

  override async find(filter: Filter): Promise<Event[]> {
    return this.query(filter, Math.floor(Date.now() / 1000));
  }

  override async deleteByDeletionRequest(event: Event): Promise<void> {
    this.applyDeletion(event);
  }

  override isSearchSupported(): boolean {
    return false;
  }
}
