// The hot queries use their indexes (issue #15): tasks by state (oldest first, the metrics' GROUP BY) and fundings
// by state (nearest claim deadline first, the metrics' GROUP BY), the outbox's due deliveries (priority first), shown by SQLite's EXPLAIN QUERY PLAN and
// PostgreSQL's EXPLAIN on a freshly migrated database of each kind. PostgreSQL is asked with sequential scans
// switched off, since on an empty table a scan is always cheapest: the test shows the index exists and serves the
// query, not what the planner picks for a given size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { postgresDatabases, sqliteDatabases, type TestDatabase } from '../fakes/store-databases.ts';

/** The queries as src/store/repositories/{tasks,fundings,stats}.ts send them, with the index each must use. */
const HOT_QUERIES: { name: string; sql: string; index: string }[] = [
  {
    name: 'tasks by state (listByState)',
    sql: "SELECT id, state, version, body FROM tasks WHERE state IN ('offered', 'funded') ORDER BY id",
    index: 'tasks_state_created_idx',
  },
  {
    name: 'tasks of one state, oldest first',
    sql: "SELECT id FROM tasks WHERE state = 'funded' ORDER BY created_at LIMIT 100",
    index: 'tasks_state_created_idx',
  },
  {
    name: 'tasks counted by state (metrics)',
    sql: 'SELECT state, COUNT(*) AS n FROM tasks GROUP BY state',
    index: 'tasks_state_created_idx',
  },
  {
    name: 'fundings by state (listByState)',
    sql: "SELECT payment_hash, state FROM fundings WHERE state IN ('open', 'accepted') ORDER BY payment_hash",
    index: 'fundings_state_deadline_idx',
  },
  {
    name: 'accepted fundings, nearest claim deadline first',
    sql: "SELECT payment_hash FROM fundings WHERE state = 'accepted' ORDER BY claim_deadline_height LIMIT 100",
    index: 'fundings_state_deadline_idx',
  },
  {
    name: 'fundings counted by state (metrics)',
    sql: 'SELECT state, COUNT(*) AS n FROM fundings GROUP BY state',
    index: 'fundings_state_deadline_idx',
  },
  {
    name: 'outbox deliveries due, money first (outbox.due)',
    sql: "SELECT event_id, relay FROM outbox_relays WHERE status = 'pending' AND next_attempt_at <= 2000000000 ORDER BY priority, next_attempt_at LIMIT 100",
    index: 'outbox_relays_due_idx',
  },
];

async function plan(database: TestDatabase, statement: string): Promise<string> {
  if (database.dialect === 'sqlite') {
    const rows = await database.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${statement}`);
    return rows.map((row) => row.detail).join('\n');
  }
  const rows = await database.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement}`);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

for (const databases of [sqliteDatabases(), postgresDatabases()]) {
  for (const query of HOT_QUERIES) {
    test(`${databases.dialect}: ${query.name} uses ${query.index}`, async () => {
      const database = await databases.create();
      await database.open(); // applies every migration
      if (databases.dialect === 'postgres') await database.execute('SET enable_seqscan = off');
      const text = await plan(database, query.sql);
      assert.ok(text.includes(query.index), `expected ${query.index} in the plan of ${query.sql}:\n${text}`);
    });
  }
  test(`${databases.dialect}: the single-column state indexes are gone (the composite ones serve their queries)`, async () => {
    const database = await databases.create();
    await database.open();
    const names =
      databases.dialect === 'sqlite'
        ? (await database.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index'")).map(
            (row) => row.name,
          )
        : (await database.query<{ indexname: string }>('SELECT indexname FROM pg_indexes')).map(
            (row) => row.indexname,
          );
    for (const wanted of ['tasks_state_created_idx', 'fundings_state_deadline_idx'])
      assert.ok(names.includes(wanted), `${wanted} missing`);
    for (const dropped of ['tasks_state_idx', 'fundings_state_idx'])
      assert.not.ok(names.includes(dropped), `${dropped} still there`);
  });
  test.after(() => databases.dispose());
}

test.run();
