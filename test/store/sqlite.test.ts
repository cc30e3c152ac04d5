// The store contract on SQLite, plus what only SQLite has: its connection settings and its single write lock
// shared between processes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InternalError } from '../../src/domain/errors.ts';
import { openStore } from '../../src/store/open-store.ts';
import { openSqliteForTest, sqliteDatabases } from '../fakes/store-databases.ts';
import { advance, PREIMAGE_KEY, taskStory, writeStory } from '../fakes/store-fixtures.ts';
import { raceThroughTasks } from '../fakes/store-racer-process.ts';
import { registerStoreContract } from './contract.ts';
import { rejection, sleep, storeRejection, withinSeconds } from './contract-helpers.ts';

const databases = sqliteDatabases();

function pathOf(url: string): string {
  return url.slice('sqlite:'.length);
}

test('the SQLite connection runs in WAL mode with synchronous FULL, foreign keys on and a busy timeout', async () => {
  const database = await databases.create();
  const store = await openSqliteForTest(pathOf(database.url));
  try {
    const settings = store.settings();
    assert.is(settings.journalMode, 'wal');
    assert.is(settings.synchronous, 2, 'FULL');
    assert.is(settings.foreignKeys, 1);
    assert.ok(settings.busyTimeoutMs > 0);
  } finally {
    await store.close();
  }
});

test('a store URL with an unknown scheme or without a file path is refused with a config error', async () => {
  for (const url of ['mysql://root@localhost/escrow', 'sqlite:', 'sqlite://relative.db']) {
    const error = await rejection(openStore({ url, preimageKey: PREIMAGE_KEY }));
    assert.instance(error, InternalError, url);
    assert.is((error as InternalError).code, 'Config', url);
  }
  const database = await databases.create();
  const store = await openStore({ url: `sqlite://${pathOf(database.url)}`, preimageKey: PREIMAGE_KEY });
  assert.is(store.dialect, 'sqlite', 'sqlite:///absolute/path.db is the URL form of an absolute path');
  await store.close();
});

test('a sqlite: URL in a folder that does not exist yet creates the folder', async () => {
  const database = await databases.create();
  const nested = join(pathOf(database.url), '..', 'nested', 'deeper', 'escrow.db');
  const store = await openSqliteForTest(nested);
  await store.close();
  const raw = new Database(nested);
  assert.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
});

test('a new SQLite database and its WAL files are readable by their owner only (mode 0600)', async () => {
  const database = await databases.create();
  const path = join(pathOf(database.url), '..', 'private', 'escrow.db');
  const store = await openSqliteForTest(path);
  try {
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      assert.is((statSync(file).mode & 0o777).toString(8), '600', file);
    }
  } finally {
    await store.close();
  }
  // One made by an older version with 0644 is narrowed when it is opened.
  chmodSync(path, 0o644);
  const again = await openSqliteForTest(path);
  await again.close();
  assert.is((statSync(path).mode & 0o777).toString(8), '600');
});

test('a writer waits for another process that holds the write lock, without blocking the event loop', async () => {
  const database = await databases.create();
  const store = await database.open();
  const story = taskStory('waits');
  await writeStory(store, story, 'funded');
  // Another process (here: a raw connection) holds the write lock for a while.
  await database.execute('BEGIN IMMEDIATE');
  let ticks = 0;
  const ticker = setInterval(() => {
    ticks += 1;
  }, 10);
  const release = sleep(300).then(() => database.execute('COMMIT'));
  try {
    const moved = await withinSeconds(10, advance(store, story.funded, story.claimed));
    assert.ok(moved);
    assert.ok(ticks >= 5, `the event loop kept running while waiting (${ticks} ticks)`);
  } finally {
    clearInterval(ticker);
    await release;
  }
});

test('a writer gives up with a typed conflict error when the lock is held past the busy timeout', async () => {
  const database = await databases.create();
  const store = await database.open({ busyTimeoutMs: 100 });
  const story = taskStory('gives-up');
  await writeStory(store, story, 'funded');
  await database.execute('BEGIN IMMEDIATE');
  try {
    const error = await storeRejection(advance(store, story.funded, story.claimed), 'TransactionConflict');
    assert.ok(error.retryable);
  } finally {
    await database.execute('COMMIT');
  }
  assert.ok(await advance(store, story.funded, story.claimed), 'the store works again once the lock is free');
});

test('two processes racing on the same file: for every task exactly one of them wins', async () => {
  const database = await databases.create();
  const store = await database.open();
  const labels = Array.from({ length: 12 }, (_, index) => `two-processes-${index}`);
  for (const label of labels) await writeStory(store, taskStory(label), 'funded');
  // The other process walks the tasks in the opposite order: the two meet somewhere in the middle.
  const racer = fileURLToPath(new URL('../fakes/store-racer-process.ts', import.meta.url));
  const child = spawn(process.execPath, [
    '--import',
    'tsx',
    racer,
    pathOf(database.url),
    ...[...labels].reverse(),
  ]);
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => process.stderr.write(chunk));
  const exited = once(child, 'exit');
  while (!output.includes('ready\n')) await withinSeconds(30, once(child.stdout, 'data'));
  child.stdin.write('go\n');
  const here = await raceThroughTasks(store, labels, { holdMs: 10, gapMs: 30 });
  const [exitCode] = await withinSeconds(30, exited);
  assert.is(exitCode, 0);
  const there = (JSON.parse(output.slice(output.indexOf('\n') + 1)) as boolean[]).reverse();
  labels.forEach((label, index) => {
    assert.is(
      Number(here[index]) + Number(there[index]),
      1,
      `${label}: here ${here[index]}, there ${there[index]}`,
    );
  });
  assert.ok(here.some(Boolean) && there.some(Boolean), `both processes won some: ${here} / ${there}`);
  assert.ok((await store.verifyAudit()).ok);
});

registerStoreContract(test, databases);

test.run();
