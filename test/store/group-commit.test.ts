// Group commit on SQLite (src/store/sqlite/sqlite-transactions.ts): write transactions that wait while another
// runs are committed together, each in its own savepoint. What must hold, on real database files:
// - every member resolves only once its writes are durable (another connection sees them);
// - a member that throws, or whose statement failed, leaves nothing behind and does not stop the others;
// - each member sees what the members before it wrote (a compare-and-set reads the state it would read alone);
// - a COMMIT that fails rejects every member, and nothing of the group is written;
// - the store's "transactions do not nest" guard still holds inside a member that joined a group.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InternalError } from '../../src/domain/errors.ts';
import { createSqliteRunner, MAX_GROUP } from '../../src/store/sqlite/sqlite-transactions.ts';
import { StoreError } from '../../src/store/store-error.ts';
import { urgentWrites } from '../../src/store/write-priority.ts';
import { openSqliteForTest } from '../fakes/store-databases.ts';
import { rejection, withinSeconds } from './contract-helpers.ts';

const folder = mkdtempSync(join(tmpdir(), 'escrow-group-commit-'));
let counter = 0;

/** A database file with one table (and a deferred foreign key, to make a COMMIT fail), and a runner on it. */
function freshRunner() {
  counter += 1;
  const path = join(folder, `group-${counter}.db`);
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.exec(`
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE item (
      name TEXT PRIMARY KEY,
      value INTEGER NOT NULL,
      parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED
    );
    CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counter (id, value) VALUES (1, 0);
  `);
  const runner = createSqliteRunner(database, { busyTimeoutMs: 2000 });
  /** What another connection to the same file sees: only what is committed. */
  const committed = () => {
    const other = new Database(path, { readonly: true });
    try {
      return (other.prepare('SELECT name FROM item ORDER BY name').all() as Array<{ name: string }>).map(
        (row) => row.name,
      );
    } finally {
      other.close();
    }
  };
  return { runner, committed };
}

const insert = (name: string, parent: number | null = null) =>
  sql`INSERT INTO item (name, value, parent) VALUES (${name}, 1, ${parent})`;

test('write transactions asked for together share one COMMIT, and each resolves only once it is durable', async () => {
  const { runner, committed } = freshRunner();
  const seenAtResolve: string[][] = [];
  const names = Array.from({ length: 10 }, (_, index) => `item-${index}`);
  await withinSeconds(
    10,
    Promise.all(
      names.map((name) =>
        runner
          .run('write', async (session) => {
            await session.run(insert(name));
            return name;
          })
          .then((value) => {
            assert.is(value, name, 'each member gets its own result');
            seenAtResolve.push(committed());
          }),
      ),
    ),
  );
  assert.equal(runner.groupStats(), { transactions: 10, commits: 1 });
  for (const seen of seenAtResolve)
    assert.equal(seen, names, 'another connection saw every write at resolve');
  await runner.close();
});

test('a member that throws leaves nothing behind; the members before and after it commit', async () => {
  const { runner, committed } = freshRunner();
  const first = runner.run('write', (session) => session.run(insert('first')));
  const failing = runner.run('write', async (session) => {
    await session.run(insert('failing'));
    throw new Error('the handler changed its mind');
  });
  const last = runner.run('write', (session) => session.run(insert('last')));
  const error = await rejection(failing);
  assert.is((error as Error).message, 'the handler changed its mind', 'the member gets its own error');
  await Promise.all([first, last]);
  assert.equal(committed(), ['first', 'last']);
  assert.equal(runner.groupStats(), { transactions: 3, commits: 1 });
  await runner.close();
});

test('a member that swallowed a failed statement is rolled back alone, with a typed error', async () => {
  const { runner, committed } = freshRunner();
  const first = runner.run('write', (session) => session.run(insert('taken')));
  const swallowing = runner.run('write', async (session) => {
    await session.run(insert('written before the failure'));
    await session.run(insert('taken')).catch(() => 0); // a duplicate key, caught by the member
    return 'finished anyway';
  });
  const last = runner.run('write', (session) => session.run(insert('after')));
  const error = await rejection(swallowing);
  assert.instance(error, StoreError);
  assert.is((error as StoreError).kind, 'TransactionAborted');
  await Promise.all([first, last]);
  assert.equal(committed(), ['after', 'taken']);
  await runner.close();
});

test('each member reads what the members before it wrote: read-modify-write never loses an update', async () => {
  const { runner } = freshRunner();
  const increments = Array.from({ length: 40 }, () =>
    runner.run('write', async (session) => {
      const [row] = await session.rows(sql`SELECT value FROM counter WHERE id = 1`);
      const value = Number(row?.value);
      await session.run(sql`UPDATE counter SET value = ${value + 1} WHERE id = 1 AND value = ${value}`);
      return value;
    }),
  );
  const before = await Promise.all(increments);
  assert.equal(
    before,
    Array.from({ length: 40 }, (_, index) => index),
    'in the order asked',
  );
  const stats = runner.groupStats();
  assert.is(stats.transactions, 40);
  assert.is(stats.commits, Math.ceil(40 / MAX_GROUP), `a group holds at most ${MAX_GROUP}`);
  const final = await runner.run('read', (session) => session.rows(sql`SELECT value FROM counter`));
  assert.is(Number(final[0]?.value), 40);
  await runner.close();
});

test('a COMMIT that fails rejects every member of the group, and none of their writes remains', async () => {
  const { runner, committed } = freshRunner();
  // The deferred foreign key is checked at COMMIT: the second member's row names a parent that does not exist.
  const members = [
    runner.run('write', (session) => session.run(insert('innocent'))),
    runner.run('write', (session) => session.run(insert('orphan', 404))),
    runner.run('write', (session) => session.run(insert('bystander'))),
  ];
  const errors = await Promise.all(members.map((member) => rejection(member)));
  for (const error of errors) assert.match(String((error as Error).message), /FOREIGN KEY/i);
  assert.equal(committed(), []);
  assert.equal(runner.groupStats(), { transactions: 3, commits: 0 });
  // The connection is usable again: the next write commits on its own.
  await runner.run('write', (session) => session.run(insert('next')));
  assert.equal(committed(), ['next']);
  await runner.close();
});

test('writers arriving while a group runs join it; a read waits for the group and sees it whole', async () => {
  const { runner } = freshRunner();
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const first = runner.run('write', async (session) => {
    await session.run(insert('a'));
    await gate;
    await session.run(insert('b'));
  });
  await new Promise((resolve) => setImmediate(resolve)); // the group has started with `first`
  const read = runner.run('read', (session) => session.rows(sql`SELECT name FROM item ORDER BY name`));
  const late = runner.run('write', (session) => session.run(insert('c')));
  release();
  await Promise.all([first, late]);
  const names = (await read).map((row) => row.name);
  assert.equal(names, ['a', 'b', 'c'], 'the read ran after the whole group, never between its members');
  assert.equal(runner.groupStats(), { transactions: 2, commits: 1 });
  await runner.close();
});

test('urgent writers go ahead of the waiting ones that are not, and their group commits right after them', async () => {
  const { runner, committed } = freshRunner();
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const order: string[] = [];
  const write = (name: string) => async (session: Parameters<Parameters<typeof runner.run>[1]>[0]) => {
    order.push(name);
    await session.run(insert(name));
  };
  const running = runner.run('write', async (session) => {
    await write('offer 1')(session);
    await gate;
  });
  await new Promise((resolve) => setImmediate(resolve)); // the group has started with offer 1
  const waiting = [runner.run('write', write('offer 2')), runner.run('write', write('offer 3'))];
  const approvals = [
    urgentWrites(() => runner.run('write', write('approval'))),
    urgentWrites(() => runner.run('write', write('settle'))),
  ];
  const atApproval = (approvals[0] as Promise<unknown>).then(() => committed());
  const atSettle = (approvals[1] as Promise<unknown>).then(() => committed());
  release();
  await Promise.all([running, ...waiting, ...approvals]);
  assert.equal(
    order,
    ['offer 1', 'approval', 'settle', 'offer 2', 'offer 3'],
    'the urgent ones first, in order',
  );
  // The urgent ones waiting back to back share the group of offer 1 (running) and commit before the other offers.
  assert.equal(
    await atApproval,
    ['approval', 'offer 1', 'settle'],
    'committed with offer 1, before the offers',
  );
  assert.equal(await atSettle, ['approval', 'offer 1', 'settle'], 'the same group');
  assert.equal(runner.groupStats(), { transactions: 5, commits: 2 });
  await runner.close();
});

test('urgent writers asked for together share one COMMIT, as any others do', async () => {
  const { runner, committed } = freshRunner();
  const names = Array.from({ length: 8 }, (_, index) => `action-${index}`);
  await Promise.all(
    names.map((name) => urgentWrites(() => runner.run('write', (session) => session.run(insert(name))))),
  );
  assert.equal(committed(), names);
  assert.equal(runner.groupStats(), { transactions: 8, commits: 1 });
  await runner.close();
});

test('the store refuses a nested transaction inside a member that joined a group', async () => {
  const store = await openSqliteForTest(join(folder, 'store.db'));
  try {
    const outcomes = await Promise.allSettled([
      store.transaction(async (tx) => tx.settings.set('first', 1)),
      store.transaction(async () => store.transaction(async (tx) => tx.settings.set('nested', 2))),
      store.transaction(async (tx) => tx.settings.set('third', 3)),
    ]);
    assert.is(outcomes[0]?.status, 'fulfilled');
    assert.is(outcomes[2]?.status, 'fulfilled');
    const nested = outcomes[1];
    assert.is(nested?.status, 'rejected');
    assert.instance((nested as PromiseRejectedResult).reason, InternalError);
    assert.equal(store.groupStats(), { transactions: 3, commits: 1 });
    const kept = await store.read(async (reader) => [
      await reader.settings.get('first'),
      await reader.settings.get('nested'),
      await reader.settings.get('third'),
    ]);
    assert.equal(kept, [1, null, 3]);
  } finally {
    await store.close();
  }
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

test.run();
