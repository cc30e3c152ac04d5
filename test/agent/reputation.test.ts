// Reputation end to end, from real parts (the embedded relay, the LDK sandbox, SQLite): a paid task, a refunded
// task and a dispute decided 2-of-3 with a dissent. For the poster, the worker and each arbitrator, the agent's
// kind 30382 assertion on the relay must be exactly what anyone recomputes from the agent's transitions on the relay
// (taskOutcomeFromTransitions + reputationOf): the counters and the sources, and each new one is dated after the
// one it replaces (a relay keeps only the newest). Then
// `escrow-agent reputation` prints the same counters from a data folder holding those tasks. And the store's
// finishedInvolving, on SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { npubEncode } from 'nostr-tools/nip19';
import type { NostrEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/cli.ts';
import { fold } from '../../src/domain/evolve.ts';
import { RULEBOOK_VERSION } from '../../src/domain/rulebook.ts';
import type { Task, TaskEvent } from '../../src/domain/types.ts';
import { reputationFromStore } from '../../src/engine/reputation-publisher.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { type ParsedTransition, parseTransition } from '../../src/protocol/parse-transition.ts';
import {
  parseReputationAssertion,
  reputationOf,
  type TaskOutcome,
  taskOutcomeFromTransitions,
} from '../../src/protocol/reputation.ts';
import { verifyEvent } from '../../src/protocol/verify-event.ts';
import { openStore } from '../../src/store/index.ts';
import { collect, type Harness, person, startHarness } from '../fakes/agent-harness.ts';
import { ARBITRATOR, ARBITRATOR_2, HISTORY, POSTER, T0, WORKER, withArbitration } from '../fakes/domain.ts';
import { postgresDatabases, sqliteDatabases, type TestDatabases } from '../fakes/store-databases.ts';

const AMOUNT = 30_000_000n;
const A = person();
const B = person();
const C = person();

let harness: Harness;
/** Every task the agent finished here, and the actions (disputes, verdicts) they name, by id. */
const finished: string[] = [];
const actions = new Map<string, NostrEvent>();
/** The created_at of the last assertion seen for each pubkey. */
const dated = new Map<string, number>();

test.before(async () => {
  harness = await startHarness({ policy: { arbitrators: [A.pubkey, B.pubkey, C.pubkey] } });
});

test.after(async () => {
  await harness?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const found = await probe();
      if (found !== undefined) return found;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`never: ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(200);
  }
}

/** The agent's transitions of a task, from the relay, each parsed as a verifier parses it, in order. */
async function transitionsOf(taskId: string): Promise<ParsedTransition[]> {
  const parsed = (await harness.agentEvents(taskId)).flatMap((event) => {
    const read = parseTransition(event as never, { agentPubkey: harness.agentKey.pubkey });
    return read.ok ? [read.transition] : []; // `rejected` answers are no transitions
  });
  return parsed.sort((a, b) => a.createdAt - b.createdAt);
}

/** Every finished task's outcome, recomputed from the relay alone (the dispute and verdicts checked too). */
async function outcomesFromRelay(): Promise<TaskOutcome[]> {
  const outcomes: TaskOutcome[] = [];
  for (const taskId of finished) {
    const outcome = taskOutcomeFromTransitions(await transitionsOf(taskId), { actionsById: actions });
    assert.ok(outcome, `task ${taskId.slice(0, 8)} finished on the relay`);
    outcomes.push(outcome);
  }
  return outcomes;
}

/** The agent's assertion about `pubkey` on the relay (one: it is addressable by its d tag). */
async function assertionOf(pubkey: string): Promise<NostrEvent | undefined> {
  const found = await collect(harness.client, {
    kinds: [KINDS.trustedAssertion],
    authors: [harness.agentKey.pubkey],
    '#d': [pubkey],
  });
  assert.ok(found.length <= 1, 'the relay keeps one assertion per pubkey');
  return found[0];
}

/** For each pubkey: the published assertion equals the recomputation, and the store gives the same. */
async function assertPublishedAsRecomputed(pubkeys: string[]): Promise<void> {
  await harness.agent.settle();
  const outcomes = await outcomesFromRelay();
  for (const pubkey of pubkeys) {
    const expected = reputationOf(pubkey, outcomes);
    assert.ok(expected.sources.length > 0, `some task counts for ${pubkey.slice(0, 8)}`);
    // The outbox delivers asynchronously: wait for the assertion that counts every finished task.
    const event = await eventually(`the assertion of ${pubkey.slice(0, 8)} with every task`, async () => {
      const found = await assertionOf(pubkey);
      if (!found) return undefined;
      return parseReputationAssertion(found).sourcesTotal === expected.sources.length ? found : undefined;
    });
    assert.ok(verifyEvent(event as never).ok, 'signed by the agent');
    assert.is(event.pubkey, harness.agentKey.pubkey);
    const published = parseReputationAssertion(event);
    assert.equal(published.counters, expected.counters, `${pubkey.slice(0, 8)}: the counters`);
    assert.equal(published.sources, expected.sources, `${pubkey.slice(0, 8)}: the sources`);
    assert.is(published.sourcesTotal, expected.sources.length);
    assert.is(published.rulesVersion, RULEBOOK_VERSION);
    const stored = await harness.store.read((reader) => reputationFromStore(reader, pubkey));
    assert.equal(stored.reputation, expected, 'the store reads the same');
    assert.is(event.created_at, stored.createdAt, 'dated from the ends of the tasks counted');
    // Each new assertion replaces the one before on every relay: it is dated strictly later.
    const before = dated.get(pubkey);
    if (before !== undefined) assert.ok(event.created_at > before, `${event.created_at} > ${before}`);
    dated.set(pubkey, event.created_at);
  }
}

test('a paid task and a refunded task: the poster and the worker get the assertions anyone recomputes', async () => {
  const paid = await harness.fundTask(AMOUNT);
  await harness.submitWork(paid.listing.id, AMOUNT);
  await harness.act(harness.poster, 'approve', paid.listing.id);
  await harness.waitForState(paid.listing.id, 'paid');
  finished.push(paid.listing.id);

  const refunded = await harness.fundTask(AMOUNT);
  await harness.act(harness.poster, 'cancel', refunded.listing.id);
  await harness.waitForState(refunded.listing.id, 'refunded');
  finished.push(refunded.listing.id);

  await assertPublishedAsRecomputed([harness.poster.pubkey, harness.worker.pubkey]);
  const fee = harness.feeFor(AMOUNT);
  const poster = parseReputationAssertion((await assertionOf(harness.poster.pubkey))!);
  assert.equal(
    [poster.counters.tasksPaidAsPoster, poster.counters.spentMsat, poster.counters.tasksRefunded],
    [1, AMOUNT - fee, 1],
  );
  assert.is(poster.counters.refundedMsat, AMOUNT);
  const worker = parseReputationAssertion((await assertionOf(harness.worker.pubkey))!);
  assert.equal([worker.counters.tasksPaidAsWorker, worker.counters.earnedMsat], [1, AMOUNT - fee]);
  assert.is(worker.sourcesTotal, 1, 'the refunded task was never claimed: it does not count for the worker');
});

/** Waits until the agent recorded an inbound event, then until its work is done. */
async function recorded(eventId: string): Promise<void> {
  await eventually(`event ${eventId.slice(0, 8)} recorded`, async () =>
    (await harness.store.read((reader) => reader.inbound.get(eventId))) ? true : undefined,
  );
  await harness.agent.settle();
}

test('a dispute decided 2-of-3 with a dissent: every arbitrator who gave a verdict is counted once, the parties win and lose', async () => {
  const listing = await harness.postTask({
    amountMsat: AMOUNT,
    extraTags: [...[A, B, C].map((one) => ['p', one.pubkey, '', 'arbitrator']), ['threshold', '2']],
  });
  const offered = await harness.waitForState(listing.id, 'offered');
  const payment = harness.sandbox.payer.pay({
    bolt11: offered.tags.find((tag) => tag[0] === 'bolt11')![1]!,
    maxFeeMsat: 10_000n,
    timeoutSeconds: 120,
  });
  await harness.waitForState(listing.id, 'funded');
  await harness.submitWork(listing.id, AMOUNT);
  const dispute = await harness.act(harness.poster, 'dispute', listing.id, { content: 'Not a haiku.' });
  actions.set(dispute.id, dispute);
  await harness.waitForState(listing.id, 'disputed');
  // One at a time, so that the dissent is on record before the two agreeing verdicts decide.
  for (const [arbitrator, outcome] of [
    [C, 'poster'],
    [A, 'worker'],
    [B, 'worker'],
  ] as const) {
    const verdict = await harness.act(arbitrator, 'verdict', listing.id, {
      tags: [['outcome', outcome]],
      content: `For the ${outcome}.`,
    });
    actions.set(verdict.id, verdict);
    await recorded(verdict.id);
  }
  await harness.waitForState(listing.id, 'paid', 60_000);
  assert.is((await payment).status, 'succeeded');
  finished.push(listing.id);

  const pubkeys = [harness.poster.pubkey, harness.worker.pubkey, A.pubkey, B.pubkey, C.pubkey];
  await assertPublishedAsRecomputed(pubkeys);
  for (const arbitrator of [A, B, C]) {
    const published = parseReputationAssertion((await assertionOf(arbitrator.pubkey))!);
    assert.is(published.counters.verdictsGiven, 1, 'agreeing or dissenting, a verdict was given');
    assert.is(published.sourcesTotal, 1);
  }
  const poster = parseReputationAssertion((await assertionOf(harness.poster.pubkey))!).counters;
  assert.equal([poster.disputesOpened, poster.disputesLost, poster.tasksPaidAsPoster], [1, 1, 2]);
  const worker = parseReputationAssertion((await assertionOf(harness.worker.pubkey))!).counters;
  assert.equal([worker.disputesWon, worker.tasksPaidAsWorker], [1, 2]);
});

test('escrow-agent reputation prints the counters the agent published, from a data folder holding the tasks', async () => {
  // The harness's database has no data folder (keys, lock) around it: copy the finished tasks, with their audit
  // chains and final transitions, into one the command opens as the operator's would be.
  const dir = mkdtempSync(join(tmpdir(), 'escrow-reputation-cli-'));
  try {
    const data = join(dir, 'data');
    const copy = await openStore({
      url: `sqlite:${join(data, 'escrow.db')}`,
      preimageKey: new Uint8Array(32),
    });
    try {
      for (const taskId of finished) {
        const { task, history, head } = await harness.store.read(async (reader) => {
          const headId = await reader.tasks.publishedHead(taskId);
          return {
            task: await reader.tasks.get(taskId),
            history: await reader.tasks.history(taskId),
            head: headId === null ? null : await reader.outbox.event(headId),
          };
        });
        assert.ok(task && head);
        await copy.transaction(async (tx) => {
          assert.ok(
            await tx.tasks.create(
              task,
              history.map((entry) => entry.event),
            ),
          );
          await tx.outbox.enqueue(head, [], taskId);
          await tx.tasks.setPublishedHead(taskId, head.id);
        });
      }
    } finally {
      await copy.close();
    }
    const env = { AGENT_DATA_DIR: data, AGENT_SECRET_KEY: bytesToHex(harness.agentKey.secretKey) };
    for (const who of [harness.poster.pubkey, A.pubkey]) {
      const run = await cli(env, ['reputation', npubEncode(who), '--json']);
      assert.is(run.code, 0, run.err);
      const printed = JSON.parse(run.out);
      const published = parseReputationAssertion((await assertionOf(who))!);
      assert.is(printed.pubkey, who);
      assert.equal(
        printed.counters,
        JSON.parse(JSON.stringify(published.counters, (_, v) => (typeof v === 'bigint' ? `${v}` : v))),
      );
      assert.is(printed.sourcesTotal, published.sourcesTotal);
      assert.equal(printed.sources, published.sources);
    }
    const text = await cli(env, ['reputation', harness.worker.pubkey]);
    assert.is(text.code, 0, text.err);
    assert.match(text.out, `reputation of ${npubEncode(harness.worker.pubkey)}`);
    assert.match(text.out, 'counted over 2 finished task(s)');
    assert.match(text.out, 'disputes:      0 opened, 1 won, 0 lost');

    const nobody = await cli(env, ['reputation', '0'.repeat(64)]);
    assert.is(nobody.code, 0, nobody.err);
    assert.match(nobody.out, 'no finished task counts for this pubkey');
    const bad = await cli(env, ['reputation', 'npub1nothing']);
    assert.is(bad.code, 2);
    assert.match(
      bad.err,
      '"npub1nothing" is not a pubkey: give an npub (npub1...) or 64 lowercase hex characters',
    );
    const none = await cli(env, ['reputation']);
    assert.is(none.code, 2);
    assert.match(none.err, 'give a pubkey');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `escrow-agent ARGS` in this process (cli.ts main), with only these configuration variables set. */
async function cli(env: Record<string, string>, args: string[]) {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) {
    if (/^(DATABASE_URL|NOSTR_RELAYS|LIGHTNING_|AGENT_|ESCROW_CONFIG|EMBEDDED_RELAY|LND_)/.test(key)) {
      delete process.env[key];
    }
  }
  Object.assign(process.env, env);
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await main(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

// -------------------------------------------------------------------- the store's read, both dialects

/** A task of the domain fixtures' histories under another id (they all share one), folded. */
function finishedTask(id: string, events: TaskEvent[]): { task: Task; events: TaskEvent[] } {
  const renamed = events.map((event) => (event.type === 'task_posted' ? { ...event, taskId: id } : event));
  const task = fold(renamed);
  if (!task) throw new Error('an empty history');
  return { task, events: renamed };
}

const CREATED_AT = 1_800_000_123;

async function checkFinishedInvolving(databases: TestDatabases): Promise<void> {
  const store = await (await databases.create()).open({ clock: () => CREATED_AT });
  assert.is(store.dialect, databases.dialect);
  const paid = finishedTask('1'.repeat(64), HISTORY.paid());
  const refunded = finishedTask('2'.repeat(64), HISTORY.refunded());
  const open = finishedTask('3'.repeat(64), HISTORY.submitted());
  const judged = finishedTask(
    '4'.repeat(64),
    withArbitration(
      [
        ...HISTORY.disputed(),
        {
          type: 'verdict_recorded',
          at: T0 + 800,
          by: ARBITRATOR_2,
          resolution: { kind: 'poster' },
          eventId: '9'.repeat(64),
        },
        { type: 'refund_requested', at: T0 + 800, reason: 'verdict' },
        { type: 'hold_cancelled', at: T0 + 801 },
      ],
      { arbitrators: [ARBITRATOR, ARBITRATOR_2], threshold: 1 },
    ),
  );
  assert.is(judged.task.state, 'refunded');
  await store.transaction(async (tx) => {
    for (const one of [paid, refunded, open, judged]) assert.ok(await tx.tasks.create(one.task, one.events));
  });
  const ids = async (pubkey: string) =>
    (await store.read((tx) => tx.tasks.finishedInvolving(pubkey))).map((one) => one.task.id);
  try {
    assert.equal(
      await ids(POSTER),
      [paid.task.id, refunded.task.id, judged.task.id],
      'the poster: finished only',
    );
    assert.equal(await ids(WORKER), [paid.task.id, judged.task.id], 'the worker: the tasks claimed');
    assert.equal(
      await ids(ARBITRATOR_2),
      [judged.task.id],
      'an arbitrator: the tasks with a verdict of theirs',
    );
    assert.equal(await ids(ARBITRATOR), [], 'named but gave no verdict');
    assert.equal(await ids('%'), [], "LIKE's wildcards match nothing");
    assert.equal(await ids('_'.repeat(64)), []);
    const [found] = await store.read((tx) => tx.tasks.finishedInvolving(ARBITRATOR_2));
    assert.equal(
      found,
      { task: judged.task, finishedAt: CREATED_AT },
      'the task as stored, and its last commit',
    );
  } finally {
    await databases.dispose();
  }
}

test('finishedInvolving: the paid and refunded tasks of a poster, a worker or an arbitrator who gave a verdict (SQLite)', async () => {
  await checkFinishedInvolving(sqliteDatabases());
});

test('finishedInvolving on PostgreSQL', async () => {
  if (!process.env.DATABASE_URL && process.env.TEST_POSTGRES === 'off') {
    console.log('SKIP finishedInvolving on PostgreSQL: TEST_POSTGRES=off and no DATABASE_URL');
    return;
  }
  await checkFinishedInvolving(postgresDatabases());
});

test.run();
