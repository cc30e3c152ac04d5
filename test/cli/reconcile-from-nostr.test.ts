// reconcile-from-nostr end to end, from real parts: a real agent (test/fakes/agent-harness.ts: the embedded relay,
// three LDK sandbox nodes, SQLite) runs a mix of lifecycles (paid, refunded, cancelled before paying, disputed and
// decided for the worker and for the poster, split 50/50 and paid from custody); then, with the agent stopped, the
// command rebuilds its database from the relay alone into an empty SQLite and an empty PostgreSQL, and the public
// projection hash of each equals the live store's. It resumes a run stopped halfway (--max-tasks), reads a backup
// file as it reads relays, refuses a database that holds tasks the log does not explain, compares with the live
// database, and holds back a task whose money the node still holds (its preimage is lost), writing it once the
// node has given the HTLC back.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentConfig, loadConfig } from '../../src/agent/config.ts';
import { identityFrom } from '../../src/agent/identity.ts';
import { runAgent } from '../../src/agent/run-agent.ts';
import { main } from '../../src/cli/cli.ts';
import { DEFAULT_BACKUP_LIMITS, runBackupEvents } from '../../src/cli/commands/backup-events.ts';
import { runReconcile } from '../../src/cli/commands/reconcile-from-nostr.ts';
import { fold } from '../../src/domain/evolve.ts';
import { publicProjectionHash } from '../../src/domain/public-projection.ts';
import { TASK_STATES, type Task } from '../../src/domain/types.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';
import {
  collect,
  type Harness,
  harnessPolicy,
  person,
  startHarness,
  tagValue,
} from '../fakes/agent-harness.ts';
import { HISTORY } from '../fakes/domain.ts';
import { postgresDatabases, sqliteDatabases, type TestDatabase } from '../fakes/store-databases.ts';

const AMOUNT = 20_000_000n;
const ARBITRATOR = person();
const sqlite = sqliteDatabases();
const postgres = postgresDatabases();
const folders: string[] = [];
let harness: Harness;
let liveUrl = '';
let liveHash = '';
let liveTasks: Task[] = [];

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

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
    stdout: out,
    stderr: err,
  };
}

/** A configuration on its own data folder and database, reading the harness's relay. */
function configFor(databaseUrl: string): AgentConfig {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-reconcile-'));
  folders.push(dir);
  return loadConfig({
    env: {
      AGENT_DATA_DIR: join(dir, 'data'),
      DATABASE_URL: databaseUrl,
      NOSTR_RELAYS: harness.relay.url,
      EMBEDDED_RELAY: 'off',
      LOG_LEVEL: 'warn',
    },
    cwd: dir,
  });
}

async function reconcile(config: AgentConfig, ...args: string[]) {
  const io = capture();
  const code = await runReconcile(config, io, ['--agent', harness.agentKey.pubkey, ...args], {
    lightning: harness.sandbox.agent,
    progress: null,
    fetch: { timeoutMs: 5_000 },
  });
  return { code, text: io.stdout.join('\n'), errors: io.stderr.join('\n') };
}

async function hashOf(database: TestDatabase): Promise<{ hash: string; tasks: Task[] }> {
  const store = await database.open();
  const tasks = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
  const audit = await store.verifyAudit();
  assert.ok(audit.ok, JSON.stringify(audit.problems));
  return { hash: publicProjectionHash(tasks), tasks };
}

/** `escrow-agent …` (src/cli/cli.ts main) on the configuration's data folder and database, from the environment. */
async function viaCommandLine(config: AgentConfig, argv: string[]) {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AGENT_DATA_DIR: config.dataDir,
    DATABASE_URL: config.databaseUrl,
    NOSTR_RELAYS: harness.relay.url,
    EMBEDDED_RELAY: 'off',
    LOG_LEVEL: 'warn',
  });
  try {
    const io = capture();
    const code = await main(argv, io);
    return { code, text: io.stdout.join('\n'), errors: io.stderr.join('\n') };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** The message of the error `run` throws. */
async function failure(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

/**
 * The poster's payout invoice. From the worker's node: the sandbox's payer channel cannot carry money back from the
 * agent until the agent's side of it exceeds its channel reserve (1% of the capacity), which these few tasks do not
 * reach; who runs the node an invoice pays to is not the agent's business.
 */
async function posterPayoutInvoice(amountMsat: bigint) {
  return harness.sandbox.worker.createInvoice({ amountMsat, description: 'my share', expirySeconds: 3600 });
}

test.before(async () => {
  liveUrl = (await sqlite.create()).url;
  harness = await startHarness({ policy: { arbitrators: [ARBITRATOR.pubkey] }, databaseUrl: liveUrl });
  // The agent's own key: the operator still has it (the database was lost, not the key); readIdentity reads it from
  // the process's environment.
  process.env.AGENT_SECRET_KEY = Buffer.from(harness.agentKey.secretKey).toString('hex');
});

test.after(async () => {
  delete process.env.AGENT_SECRET_KEY;
  await harness?.stop();
  await sqlite.dispose();
  await postgres.dispose();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

test('a real agent runs paid, refunded, cancelled, disputed (both ways) and split tasks to their end', async () => {
  const net = AMOUNT - harness.feeFor(AMOUNT);
  const lifecycles = [
    // paid
    (async () => {
      const { listing } = await harness.fundTask(AMOUNT);
      await harness.submitWork(listing.id, AMOUNT);
      await harness.act(harness.poster, 'approve', listing.id);
      await harness.waitForState(listing.id, 'paid', 60_000);
    })(),
    // refunded: the poster cancels after paying, before anyone claims
    (async () => {
      const { listing } = await harness.fundTask(AMOUNT);
      await harness.act(harness.poster, 'cancel', listing.id);
      await harness.waitForState(listing.id, 'refunded', 60_000);
    })(),
    // cancelled before paying
    (async () => {
      const listing = await harness.postTask({ amountMsat: AMOUNT });
      await harness.waitForState(listing.id, 'offered');
      await harness.act(harness.poster, 'cancel', listing.id);
      await harness.waitForState(listing.id, 'cancelled', 60_000);
    })(),
  ];
  await Promise.all(lifecycles);
  // Disputes one after the other: each verdict is for one task.
  for (const outcome of ['worker', 'poster'] as const) {
    const { listing } = await harness.fundTask(AMOUNT);
    await harness.submitWork(listing.id, AMOUNT);
    await harness.act(harness.poster, 'dispute', listing.id, { content: 'Not what I asked for.' });
    await harness.waitForState(listing.id, 'disputed');
    await harness.act(harness.worker, 'dispute', listing.id, { content: 'It is exactly that.' });
    await harness.act(ARBITRATOR, 'verdict', listing.id, { tags: [['outcome', outcome]] });
    await harness.waitForState(listing.id, outcome === 'worker' ? 'paid' : 'refunded', 60_000);
  }
  // Split 50/50: both sides give an invoice for their share, paid from custody.
  const { listing } = await harness.fundTask(AMOUNT);
  await harness.submitWork(listing.id, AMOUNT);
  await harness.act(harness.worker, 'dispute', listing.id, { content: 'The poster does not answer.' });
  await harness.waitForState(listing.id, 'disputed');
  await harness.act(ARBITRATOR, 'verdict', listing.id, {
    tags: [
      ['outcome', 'split'],
      ['share_bps', '5000'],
    ],
  });
  await harness.waitForState(listing.id, 'payout_pending', 60_000);
  const workerShare = net / 2n;
  const workerInvoice = await harness.sandbox.worker.createInvoice({
    amountMsat: workerShare,
    description: 'my share',
    expirySeconds: 3600,
  });
  await harness.act(harness.worker, 'payout_invoice', listing.id, {
    tags: [
      ['bolt11', workerInvoice.bolt11],
      ['recipient', 'worker'],
    ],
  });
  const posterInvoice = await posterPayoutInvoice(net - workerShare);
  await harness.act(harness.poster, 'payout_invoice', listing.id, {
    tags: [
      ['bolt11', posterInvoice.bolt11],
      ['recipient', 'poster'],
    ],
  });
  await harness.waitForState(listing.id, 'paid', 60_000);
  await harness.agent.settle();
  await harness.stopAgent();

  liveTasks = await harness.store.read((reader) => reader.tasks.listByState(TASK_STATES));
  assert.equal(liveTasks.map((task) => task.state).sort(), [
    'cancelled',
    'paid',
    'paid',
    'paid',
    'refunded',
    'refunded',
  ]);
  liveHash = publicProjectionHash(liveTasks);
});

test('the database rebuilt from the relay into an empty SQLite has the live public projection hash', async () => {
  const database = await sqlite.create();
  const config = configFor(database.url);
  const dry = await reconcile(config, '--from-relays');
  assert.is(dry.code, 0, `${dry.text}\n${dry.errors}`);
  assert.match(dry.text, 'tasks on the log: 6 (paid 3, refunded 2, cancelled 1)');
  assert.match(dry.text, 'to write: 6 (6 finished, 0 unfinished holding no money at the node)');
  assert.match(dry.text, `public projection hash of the log (6 tasks): ${liveHash}`);
  assert.match(
    dry.text,
    `dry run: nothing written; --execute writes 6 task(s), after which the database's public projection hash is ${liveHash}`,
  );
  assert.is((await hashOf(database)).tasks.length, 0, 'a dry run writes nothing');

  const run = await reconcile(config, '--from-relays', '--execute', '--compare-with', liveUrl);
  assert.is(run.code, 0, `${run.text}\n${run.errors}`);
  assert.match(run.text, 'written: 6 task(s)');
  assert.match(run.text, `public projection hash of the database (6 tasks): ${liveHash}`);
  assert.match(run.text, 'equal to the log');
  const rebuilt = await hashOf(database);
  assert.is(rebuilt.hash, liveHash);
  // Every task's audit chain is the fold of its rebuilt events, and the agent's transitions are in the outbox.
  const store = await database.open();
  for (const task of rebuilt.tasks) {
    const history = await store.read((reader) => reader.tasks.history(task.id));
    assert.equal(fold(history.map((entry) => entry.event)), task);
    const head = await store.read((reader) => reader.tasks.publishedHead(task.id));
    assert.ok(head && (await store.read((reader) => reader.outbox.event(head))), 'the head is in the outbox');
    assert.ok(
      await store.read((reader) => reader.inbound.has(task.id)),
      'the listing is known: not handled again',
    );
  }
  const due = await store.read((reader) => reader.outbox.pendingCount());
  assert.is(due, 0, 'the relay holds every transition: nothing to send again');
});

test('into an empty PostgreSQL, the same hash', async () => {
  if (!pgDatabase) {
    console.log(`SKIP PostgreSQL: ${noPostgres}`);
    return;
  }
  const config = configFor(pgDatabase.url);
  const run = await reconcile(config, '--from-relays', '--execute');
  assert.is(run.code, 0, `${run.text}\n${run.errors}`);
  assert.is((await hashOf(pgDatabase)).hash, liveHash);
});

test('a run stopped halfway is finished by running it again; a backup file reads as the relay does', async () => {
  const database = await sqlite.create();
  const config = configFor(database.url);
  const first = await reconcile(config, '--from-relays', '--execute', '--max-tasks', '2');
  assert.is(first.code, 1, first.text);
  assert.match(
    first.text,
    'stopped after 2 task(s) (--max-tasks 2): run the same command again to write the rest',
  );
  assert.is((await hashOf(database)).tasks.length, 2);
  // The second run through the command line itself, as an operator types it.
  const second = await viaCommandLine(config, [
    'reconcile-from-nostr',
    '--from-relays',
    '--agent',
    npubEncode(harness.agentKey.pubkey),
    '--relay',
    harness.relay.url,
    '--execute',
  ]);
  assert.is(second.code, 0, second.text);
  assert.match(second.text, 'in the database already: 2');
  assert.match(second.text, 'written: 4 task(s), 2 were there already');
  assert.is((await hashOf(database)).hash, liveHash);

  // A backup written by `escrow-agent backup-events`, read back as the relay is.
  const dir = mkdtempSync(join(tmpdir(), 'escrow-backup-'));
  folders.push(dir);
  const file = join(dir, 'backup.jsonl');
  const backup = capture();
  const backedUp = await runBackupEvents(
    config,
    backup,
    ['--out', file, '--relay', harness.relay.url, '--agent', harness.agentKey.pubkey],
    { ...DEFAULT_BACKUP_LIMITS, timeoutMs: 5_000 },
  );
  assert.is(backedUp, 0, backup.stdout.join('\n'));
  appendFileSync(file, 'not json\n');
  const fromFile = await sqlite.create();
  const restored = await reconcile(configFor(fromFile.url), '--from-file', file, '--execute');
  assert.match(restored.text, /\d+ events, 1 lines skipped/);
  // backup-events keeps the payout invoices people gave the agent, so even the split (whose worker invoice no
  // transition names) is restored from the file (before it did, the split did not verify from a backup).
  assert.is(restored.code, 0, restored.text);
  assert.is((await hashOf(fromFile)).hash, liveHash);
});

test('a database holding a task the log does not explain is refused, saying why', async () => {
  const database = await sqlite.create();
  const store = await database.open();
  const events = HISTORY.paid();
  await store.transaction((tx) => tx.tasks.create(fold(events)!, events));
  const config = configFor(database.url);
  const refused = await failure(() => reconcile(config, '--from-relays', '--execute'));
  assert.match(refused, 'the database is not empty: it holds 1 task(s) this log does not explain');
  assert.match(refused, 'is not on the log');
  assert.match(await failure(() => reconcile(config, '--from-relays', '--from-file', 'x')), 'one of them');
  assert.match(
    await failure(() => runReconcile(config, capture(), ['--from-relays'], {})),
    '--agent NPUB is required',
  );
  const other = person();
  assert.match(
    await failure(() => runReconcile(config, capture(), ['--from-relays', '--agent', other.pubkey], {})),
    "this folder's agent key is npub1",
  );
});

test('a task whose money the node holds is held back (its preimage is lost), and written once the node gave it back', async () => {
  await harness.startAgent();
  const { listing, offered: offer } = await harness.fundTask(AMOUNT);
  await harness.act(harness.worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  const unpaid = await harness.postTask({ amountMsat: AMOUNT });
  const offered = await harness.waitForState(unpaid.id, 'offered');
  await harness.agent.settle();
  await harness.stopAgent();

  const database = await sqlite.create();
  const config = configFor(database.url);
  const dry = await reconcile(config, '--from-relays', '--compare-with', liveUrl);
  assert.is(dry.code, 1, dry.text);
  assert.match(dry.text, 'held back, not written (their money is at the node): 2');
  assert.match(
    dry.text,
    new RegExp(
      `task ${listing.id} claimed, 20000 sat \\(node: ACCEPTED 20000 sat\\): the node holds 20000 sat for it until block \\d+ .*its preimage was only in the lost database, so it can never be settled: only a refund is possible`,
    ),
  );
  assert.match(dry.text, new RegExp(`task ${unpaid.id} offered, .*the invoice can still be paid until`));
  assert.match(dry.text, 'equal to the log', 'the live database and the log agree on the claimed task too');

  // The operator cancels both at the node: nothing is held any more, and both are written.
  const hash = tagValue(offered, 'payment_hash')!;
  await harness.sandbox.agent.cancel(hash);
  await harness.sandbox.agent.cancel(tagValue(offer, 'payment_hash')!);
  const run = await reconcile(config, '--from-relays', '--execute');
  assert.is(run.code, 0, run.text);
  assert.match(
    run.text,
    `task ${listing.id} claimed (node: CANCELED 20000 sat): the agent finishes it when it starts`,
    run.text,
  );
  assert.match(run.text, `task ${unpaid.id} offered (node: CANCELED): the agent finishes it when it starts`);
  assert.match(run.text, 'written: 8 task(s)');

  // An agent started on the rebuilt database finishes both: it records the refund of the hold the node gave back
  // and the end of the invoice nobody can pay any more, on the chains the log already has, and answers none of the
  // old actions again.
  const rejections = async () =>
    (await collect(harness.client, { kinds: [1985], authors: [harness.agentKey.pubkey], '#l': ['rejected'] }))
      .length;
  const rejectedBefore = await rejections();
  const store = await database.open();
  const agent = await runAgent({
    store,
    lightning: harness.sandbox.agent,
    identity: identityFrom(harness.agentKey.secretKey),
    policy: harnessPolicy({ arbitrators: [ARBITRATOR.pubkey] }),
    relays: [{ url: harness.relay.url, read: true, write: true }],
    reconcileIntervalMs: 300,
    outboxIntervalMs: 100,
    outboxMaxBackoffSeconds: 1,
    rate: { perMinute: 60_000, burst: 10_000 },
    pool: { backoff: { initialMs: 100, maxMs: 500, jitter: 0.1 } },
  });
  try {
    const refunded = await harness.waitForState(listing.id, 'refunded');
    assert.is(tagValue(refunded, 'reason'), 'node_cancelled');
    await harness.waitForState(unpaid.id, 'expired');
    await agent.settle();
    for (const taskId of [listing.id, unpaid.id]) {
      const history = verifyTaskHistory({
        agentPubkey: harness.agentKey.pubkey,
        taskId,
        events: await harness.agentEvents(taskId),
      });
      assert.ok(history.ok, `one chain, continued: ${history.problems.join('; ')}`);
    }
    assert.is(await rejections(), rejectedBefore, 'no old action was answered again');
    const tasks = await store.read((reader) => reader.tasks.listByState(TASK_STATES));
    assert.equal(
      tasks
        .filter((task) => task.id === listing.id || task.id === unpaid.id)
        .map((task) => task.state)
        .sort(),
      ['expired', 'refunded'],
    );
  } finally {
    await agent.stop();
  }
});

test.run();
