// reconcile-from-nostr killed halfway and run again (issue #12: "a rebuild killed halfway and restarted gives the
// same"). A history of a few hundred lifecycles run by the real decider and signed as the agent and the people sign
// them (bench/rebuild.ts) is published to a local relay and written to a backup file; the decider's own tasks are
// the live database. The built command (bin/escrow-agent.js, a real child process) rebuilds it into an empty
// database and is SIGKILLed once the database holds some of the tasks but not all (the test polls the database;
// nothing is timed). Every task the killed run left is whole (its audit chain, its head, its transitions in the
// outbox, its listing and actions known), and running the same command again finishes the job: every task once,
// the live public projection hash, every audit chain verified by `escrow-agent verify-db`. SQLite from the relay,
// killed wherever the command then is (mostly verifying the next task); PostgreSQL from the backup file, killed
// inside a task's transaction every time (the test holds a lock the transaction waits for).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { npubEncode } from 'nostr-tools/nip19';
import pg from 'pg';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type GeneratedHistory, generateHistory, publishAll } from '../../bench/rebuild.ts';
import { fold } from '../../src/domain/evolve.ts';
import { publicProjectionHash } from '../../src/domain/public-projection.ts';
import { TASK_STATES } from '../../src/domain/types.ts';
import { BIN, cleanEnvironment, ensureBuiltCli } from '../fakes/built-cli.ts';
import { startTestRelay, type TestRelay } from '../fakes/relay.ts';
import { postgresDatabases, sqliteDatabases, type TestDatabase } from '../fakes/store-databases.ts';

/** Enough lifecycles that writing them takes many of the database's commits after the kill is decided. */
const LIFECYCLES = 400;
/** The kill is sent once the database holds at least this many tasks (and the command is still running). */
const KILL_AT = 40;

const sqlite = sqliteDatabases();
const postgres = postgresDatabases();
const folders: string[] = [];
let history: GeneratedHistory;
let relay: TestRelay;
let backupFile = '';
let liveUrl = '';
let liveHash = '';
/** What a whole rebuild holds besides its tasks: the agent's transitions (outbox) and the people's events. */
let transitions = 0;
let peopleEvents = 0;

let noPostgres: string | null = null;
let pgDatabase: TestDatabase | null = null;
if (!process.env.DATABASE_URL && process.env.TEST_POSTGRES === 'off') {
  noPostgres = 'TEST_POSTGRES=off and no DATABASE_URL';
} else {
  try {
    pgDatabase = await postgres.create();
  } catch (error) {
    noPostgres = (error as Error).message.split('\n')[0] ?? 'unknown error';
  }
}

test.before(async () => {
  ensureBuiltCli();
  history = await generateHistory(LIFECYCLES);
  relay = await startTestRelay({ maxLimit: 5_000 });
  await publishAll(relay.url, history.events);
  const dir = mkdtempSync(join(tmpdir(), 'escrow-reconcile-kill-'));
  folders.push(dir);
  backupFile = join(dir, 'backup.jsonl');
  writeFileSync(backupFile, history.events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  transitions = history.events.filter(
    (event) => event.pubkey === history.agent && event.kind === 1985,
  ).length;
  peopleEvents = history.events.filter((event) => event.pubkey !== history.agent).length;

  // The live database: each task as the decider left it, with the domain events it folded (as the agent stores it).
  const live = await sqlite.create();
  liveUrl = live.url;
  const store = await live.open();
  for (const { task, events } of history.tasks) {
    await store.transaction((tx) => tx.tasks.create(task, events));
  }
  liveHash = publicProjectionHash(await store.read((reader) => reader.tasks.listByState(TASK_STATES)));
});

test.after(async () => {
  await relay?.stop();
  await sqlite.dispose();
  await postgres.dispose();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** The environment of the command: its own data folder, the database given, the agent's key (the operator has it). */
function environment(databaseUrl: string): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-reconcile-kill-data-'));
  folders.push(dir);
  return cleanEnvironment({
    AGENT_DATA_DIR: join(dir, 'data'),
    DATABASE_URL: databaseUrl,
    AGENT_SECRET_KEY: Buffer.from(history.agentSecretKey).toString('hex'),
    NOSTR_RELAYS: relay.url,
    EMBEDDED_RELAY: 'off',
    LOG_LEVEL: 'warn',
  });
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; ended: Promise<Ended> } {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const ended = new Promise<Ended>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, ended };
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<Ended> {
  return start(args, env).ended;
}

/**
 * Counts the tasks of a SQLite database from a read-only connection of its own (kept open once the command has
 * created the tasks table: each count is a fresh snapshot); -1 before that.
 */
function sqliteTaskCounter(url: string): { count(): number; close(): void } {
  let database: Database.Database | null = null;
  return {
    count() {
      try {
        database ??= new Database(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
        return (database.prepare('SELECT count(*) AS n FROM tasks').get() as { n: number }).n;
      } catch {
        database?.close();
        database = null;
        return -1;
      }
    },
    close() {
      database?.close();
      database = null;
    },
  };
}

async function postgresTaskCount(database: TestDatabase): Promise<number> {
  try {
    const [row] = await database.query<{ n: string }>('SELECT count(*) AS n FROM tasks');
    return Number(row?.n ?? -1);
  } catch {
    return -1;
  }
}

/** Something that stops the command inside a task's transaction before it is killed (see lockOutbox). */
interface Catch {
  /** Returns once the command waits, inside a transaction, for what it holds. */
  hold(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Starts the command and SIGKILLs it as soon as `count` sees the database hold KILL_AT tasks or more (the database
 * is looked at every 5 ms), wherever the command is then: reading, verifying or writing the next task. With a
 * `catch`, the kill waits until the command is caught inside its next task's transaction. Fails when the command
 * ended by itself first (the history would then be too small for this machine).
 */
async function killMidway(
  args: string[],
  env: NodeJS.ProcessEnv,
  count: () => Promise<number> | number,
  caught?: Catch,
): Promise<void> {
  const { child, ended } = start(args, env);
  let exited: Ended | null = null;
  void ended.then((end) => {
    exited = end;
  });
  for (;;) {
    if (exited) break;
    const now = await count();
    if (now >= KILL_AT) {
      try {
        if (caught) await Promise.race([caught.hold(), ended]);
        if (!exited) child.kill('SIGKILL');
      } finally {
        await caught?.release();
      }
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const end = await ended;
  assert.is(
    end.signal,
    'SIGKILL',
    `the command ended by itself (exit ${end.code}) before it could be killed: raise LIFECYCLES\n${end.stdout}\n${end.stderr}`,
  );
}

/**
 * PostgreSQL: locks the outbox table (EXCLUSIVE: others may read it, not write it) from a connection of the test's,
 * so that the command's next task waits inside its transaction, after writing the task's row, its audit chain and
 * its head and before its transitions go into the outbox; hold() returns once PostgreSQL shows that wait. The kill
 * then lands there, every time.
 */
function lockOutbox(url: string): Catch {
  let client: pg.Client | null = null;
  let released = false;
  return {
    async hold() {
      client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('BEGIN');
      await client.query('LOCK TABLE outbox IN EXCLUSIVE MODE');
      while (!released) {
        const { rows } = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
           WHERE c.relname = 'outbox' AND NOT l.granted`,
        );
        if (Number(rows[0]?.n) > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async release() {
      released = true;
      if (!client) return;
      await client.query('ROLLBACK');
      await client.end();
      client = null;
    },
  };
}

/** Every task in the database is whole: the fold of its audit chain, its head in the outbox, its listing known. */
async function assertWhole(database: TestDatabase): Promise<string[]> {
  const store = await database.open();
  const tasks = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
  for (const task of tasks) {
    const audit = await store.read((reader) => reader.tasks.history(task.id));
    assert.equal(fold(audit.map((entry) => entry.event)), task, `task ${task.id}: its audit chain`);
    const head = await store.read((reader) => reader.tasks.publishedHead(task.id));
    assert.ok(head && (await store.read((reader) => reader.outbox.event(head))), `task ${task.id}: its head`);
    assert.ok(await store.read((reader) => reader.inbound.has(task.id)), `task ${task.id}: its listing`);
  }
  const verified = await store.verifyAudit();
  assert.ok(verified.ok, JSON.stringify(verified.problems.slice(0, 3)));
  return tasks.map((task) => task.id);
}

/**
 * What the killed run left: some tasks, not all, each whole. (Counted through the store: a SQLite transaction whose
 * commit record reached the log as the process died is committed, though a reader that was open may not show it.)
 */
async function killedHalfway(database: TestDatabase): Promise<number> {
  const left = (await assertWhole(database)).length;
  assert.ok(left >= KILL_AT && left < LIFECYCLES, `killed halfway: ${left} of ${LIFECYCLES} tasks written`);
  return left;
}

/** The finished database: every task once, the live hash, nothing twice; `escrow-agent verify-db` agrees. */
async function assertFinished(database: TestDatabase, env: NodeJS.ProcessEnv): Promise<void> {
  const ids = await assertWhole(database);
  assert.is(ids.length, LIFECYCLES);
  assert.is(new Set(ids).size, LIFECYCLES, 'every task once');
  assert.equal(new Set(ids), new Set(history.tasks.map(({ task }) => task.id)));
  const store = await database.open();
  const tasks = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
  assert.is(publicProjectionHash(tasks), liveHash, 'the live public projection hash');
  const counts = async (table: string) => {
    const [row] = await database.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(row?.n);
  };
  assert.is(await counts('outbox'), transitions, 'each transition in the outbox once');
  assert.is(await counts('outbox_relays'), transitions, 'each delivered to the one relay, once');
  assert.is(await counts('inbound_events'), peopleEvents, 'each listing and action known once');
  assert.is(await counts('published_heads'), LIFECYCLES);
  const verifyDb = await run(['verify-db'], env);
  assert.is(verifyDb.code, 0, `${verifyDb.stdout}\n${verifyDb.stderr}`);
  assert.match(
    verifyDb.stdout,
    new RegExp(`^${LIFECYCLES} tasks, \\d+ audit rows checked: 0 chain problems, 0 money problems`, 'm'),
  );
}

test('killed halfway writing into SQLite from the relay, then run again: the same database as an unbroken run', async () => {
  const database = await sqlite.create();
  const env = environment(database.url);
  const args = [
    'reconcile-from-nostr',
    '--from-relays',
    '--agent',
    npubEncode(history.agent),
    '--relay',
    relay.url,
    '--execute',
  ];
  const counter = sqliteTaskCounter(database.url);
  await killMidway(args, env, () => counter.count());
  counter.close();
  const left = await killedHalfway(database);

  const again = await run([...args, '--compare-with', liveUrl], env);
  assert.is(again.code, 0, `${again.stdout}\n${again.stderr}`);
  assert.match(again.stdout, `in the database already: ${left}`);
  assert.match(again.stdout, `written: ${LIFECYCLES - left} task(s), ${left} were there already`);
  assert.match(again.stdout, `public projection hash of the database (${LIFECYCLES} tasks): ${liveHash}`);
  assert.match(again.stdout, 'equal to the log');
  await assertFinished(database, env);
});

test('killed halfway writing into PostgreSQL from a backup file, then run again: the same', async () => {
  if (!pgDatabase) {
    console.log(`SKIP PostgreSQL: ${noPostgres}`);
    return;
  }
  const database = pgDatabase;
  const env = environment(database.url);
  const args = ['reconcile-from-nostr', '--from-file', backupFile, '--agent', history.agent, '--execute'];
  await killMidway(args, env, () => postgresTaskCount(database), lockOutbox(database.url));
  const left = await killedHalfway(database);

  const again = await run(args, env);
  assert.is(again.code, 0, `${again.stdout}\n${again.stderr}`);
  assert.match(again.stdout, `in the database already: ${left}`);
  assert.match(again.stdout, `written: ${LIFECYCLES - left} task(s), ${left} were there already`);
  assert.match(again.stdout, `public projection hash of the database (${LIFECYCLES} tasks): ${liveHash}`);
  await assertFinished(database, env);
});

test.run();
