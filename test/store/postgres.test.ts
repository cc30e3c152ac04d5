// The store contract on PostgreSQL, plus what needs PostgreSQL: deadlocks between replicas, replicas that
// migrate a new database together, and the projection hash compared with SQLite's for the same history.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { postgresDatabases, sqliteDatabases } from '../fakes/store-databases.ts';
import { taskStory, writeSampleHistory, writeStory } from '../fakes/store-fixtures.ts';
import { registerStoreContract } from './contract.ts';
import { assertOneWinner, barrier, sleep, storeRejection, withinSeconds } from './contract-helpers.ts';

const databases = postgresDatabases();

function migrationCount(folder: 'pg' | 'sqlite'): number {
  const journal = JSON.parse(
    readFileSync(new URL(`../../drizzle/${folder}/meta/_journal.json`, import.meta.url), 'utf8'),
  );
  return (journal as { entries: unknown[] }).entries.length;
}
const sqlite = sqliteDatabases();

test('the projection hash is the same on SQLite and PostgreSQL for the same history', async () => {
  const onPostgres = await (await databases.create()).open();
  const onSqlite = await (await sqlite.create()).open();
  await writeSampleHistory(onPostgres);
  await writeSampleHistory(onSqlite);
  const expected = await onSqlite.projectionHash();
  assert.is(await onPostgres.projectionHash(), expected);
  // And the audit heads themselves agree, row by row.
  for (const label of ['alpha', 'bravo', 'echo']) {
    const id = taskStory(label).id;
    const fromPostgres = await onPostgres.read((tx) => tx.tasks.history(id));
    const fromSqlite = await onSqlite.read((tx) => tx.tasks.history(id));
    assert.equal(fromPostgres, fromSqlite);
  }
  const changed = await (await databases.create()).open();
  await writeSampleHistory(changed, { extraReceivedMsat: 1n });
  assert.is.not(await changed.projectionHash(), expected);
});

test('a compare-and-set that waited for the winner to commit returns false and writes nothing', async () => {
  const database = await databases.create();
  const store = await database.open();
  const story = taskStory('waited');
  await writeStory(store, story, 'funded');
  // Both transactions read version 3 before either writes; the winner then keeps its transaction open, so
  // the loser's UPDATE waits on the row lock and re-checks its WHERE against the winner's committed row.
  const bothRead = barrier(2);
  const racer = () =>
    store.transaction(async (tx) => {
      const task = await tx.tasks.get(story.id);
      await bothRead.arrive();
      const won = await tx.tasks.commit({
        task: story.claimed.task,
        expected: { state: task!.state, version: task!.version },
        events: story.claimed.events,
      });
      if (won) await sleep(200);
      return won;
    });
  await assertOneWinner(store, story.id, await withinSeconds(20, Promise.all([racer(), racer()])), 4);
});

test('a deadlock between two transactions surfaces as a typed, retryable conflict', async () => {
  const database = await databases.create();
  const store = await database.open();
  const left = taskStory('deadlock-left');
  const right = taskStory('deadlock-right');
  await writeStory(store, left, 'posted');
  await writeStory(store, right, 'posted');
  // Each transaction locks one task, waits until the other did the same, then wants the other's task.
  const bothLocked = barrier(2);
  const crossLock = (first: string, second: string) =>
    store.transaction(async (tx) => {
      await tx.tasks.getForUpdate(first);
      await bothLocked.arrive();
      await tx.tasks.getForUpdate(second);
      await sleep(10);
      return 'committed';
    });
  const outcomes = await withinSeconds(
    20,
    Promise.allSettled([crossLock(left.id, right.id), crossLock(right.id, left.id)]),
  );
  const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
  assert.is(failed.length, 1, 'PostgreSQL breaks the deadlock by failing one of the two');
  await storeRejection(Promise.reject((failed[0] as PromiseRejectedResult).reason), 'TransactionConflict');
  assert.ok(((failed[0] as PromiseRejectedResult).reason as { retryable: boolean }).retryable);
});

test('replicas opening a new database at the same time migrate it once', async () => {
  const database = await databases.create();
  const stores = await withinSeconds(30, Promise.all([database.open(), database.open(), database.open()]));
  const [row] = await database.query<{ count: string }>(
    'SELECT COUNT(*) AS count FROM drizzle.__drizzle_migrations',
  );
  assert.is(Number(row?.count), migrationCount('pg'));
  const story = taskStory('replicas');
  await writeStory(stores[0]!, story, 'claimed');
  assert.equal(await stores[2]!.read((tx) => tx.tasks.get(story.id)), story.claimed.task);
});

test('a connection killed between two statements of a transaction fails that transaction, not the process', async () => {
  const database = await databases.create();
  const store = await database.open();
  const story = taskStory('connection-killed');
  await writeStory(store, story, 'posted');
  // The transaction has read, and waits in JavaScript (no statement running) while the server ends every other
  // connection to this database: its client emits 'error' with no query to give it to. Unheard, that error
  // would end this test process (an agent would crash on a PostgreSQL restart).
  const outcome = await store
    .transaction(async (tx) => {
      await tx.tasks.get(story.id);
      await database.execute(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      await sleep(300);
      return tx.tasks.get(story.id);
    })
    .then(
      () => 'committed',
      (error: Error) => `${error.message} (${(error.cause as Error | undefined)?.message ?? 'no cause'})`,
    );
  assert.is.not(outcome, 'committed', 'the transaction failed');
  assert.match(outcome, /connection/i, outcome);
  const task = await store.read((tx) => tx.tasks.get(story.id));
  assert.is(task?.state, 'posted', 'and the store answers again on a new connection');
});

test.after(() => sqlite.dispose());
registerStoreContract(test, databases);

test.run();
