// The read-back, end to end: a write relay that lost the agent's events (its database deleted while the agent runs,
// or while it is down) gets them back from the outbox, every transition of an earlier task included, with one
// WARN line naming the relay and the count; a relay that keeps "losing" them is checked less and less often and
// never gets more than K events per check. Real relays on 127.0.0.1, the LDK sandbox, SQLite.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event } from 'nostr-tools/core';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RelayPool } from '../../src/nostr/relay-pool.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { type EmbeddedRelay, startEmbeddedRelay } from '../../src/relay/index.ts';
import { type Harness, startHarness } from '../fakes/agent-harness.ts';
import { startHostileRelay } from '../fakes/hostile-relay.ts';
import { connectRawClient } from '../fakes/relay.ts';

const AMOUNT = 20_000_000n;

interface LogLine {
  level: number;
  msg: string;
  relay?: string;
  restored?: number;
  [key: string]: unknown;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** A relay of our own whose database can be deleted: stop it, delete the file, start it again on the same port. */
async function wipeableRelay() {
  const directory = await mkdtemp(join(tmpdir(), 'escrow-wipe-'));
  const dbPath = join(directory, 'relay.sqlite');
  let relay: EmbeddedRelay = await startEmbeddedRelay({ dbPath });
  const port = relay.port;
  return {
    url: relay.url,
    async wipe() {
      await relay.stop();
      for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(dbPath + suffix, { force: true });
      relay = await startEmbeddedRelay({ dbPath, port });
    },
    async stop() {
      await relay.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function query(url: string, filter: object): Promise<Event[]> {
  const client = await connectRawClient(url);
  try {
    return await client.request('q', filter);
  } finally {
    await client.close();
  }
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const transitionsOf = (url: string, agent: string, taskId: string) =>
  query(url, { kinds: [KINDS.label], authors: [agent], '#e': [taskId] });

const restoreLines = (lines: LogLine[], relay: string) =>
  lines.filter((line) => line.level === 40 && line.relay === relay && /lost agent events/.test(line.msg));

let harness: Harness;
let spare: Awaited<ReturnType<typeof wipeableRelay>>;
const { log, lines } = capturingLogger();
const READ_BACK = { intervalMs: 60_000, afterConnectMs: 200, eventsPerCheck: 500, batch: 20 };

test.before(async () => {
  spare = await wipeableRelay();
  harness = await startHarness({
    extraRelays: [{ url: spare.url }],
    agent: { log, readBack: READ_BACK },
  });
});

test.after(async () => {
  await harness?.stop();
  await spare?.stop();
});

/** A task taken to `claimed`, every delivery acknowledged; its transitions as the wiped relay had them. */
async function claimedTask() {
  const { listing } = await harness.fundTask(AMOUNT);
  await harness.act(harness.worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  await harness.agent.settle();
  // settle() leaves deliveries waiting out a backoff (the announcement sent before the relay connected): wait for
  // them too, so that the relay holds everything before it is wiped.
  await eventually('every delivery acknowledged', async () =>
    (await harness.store.read((reader) => reader.outbox.pendingCount())) === 0 ? true : undefined,
  );
  const before = await transitionsOf(spare.url, harness.agentKey.pubkey, listing.id);
  assert.ok(before.length >= 3, 'offered, funded, claimed reached the relay');
  return { taskId: listing.id, before };
}

/** `fresh`: events on the relay that were not restored but published anew (a new start's announcement). */
async function assertRestored(taskId: string, before: Event[], linesBefore: number, fresh: number) {
  const line = await eventually('the read-back warning', async () =>
    restoreLines(lines.slice(linesBefore), spare.url).at(0),
  );
  const after = await eventually('every transition back on the relay', async () => {
    const found = await transitionsOf(spare.url, harness.agentKey.pubkey, taskId);
    return found.length >= before.length ? found : undefined;
  });
  assert.equal(
    after.map((event) => event.id).sort(),
    before.map((event) => event.id).sort(),
    'every transition of the earlier task is back, unchanged',
  );
  // The announcement, profile and relay list are back too (restored, or published anew by a new start).
  const own = [KINDS.handler, KINDS.profile, KINDS.relayList];
  const all = await eventually('the announcement, profile and relay list', async () => {
    const found = await query(spare.url, { authors: [harness.agentKey.pubkey] });
    return own.every((kind) => found.some((event) => event.kind === kind)) ? found : undefined;
  });
  assert.is(line.restored, all.length - fresh, 'the warning counts the events restored');
}

test('a relay wiped while the agent runs gets every agent event back, with one warning naming it and the count', async () => {
  const { taskId, before } = await claimedTask();
  const mark = lines.length;
  await spare.wipe();
  assert.is(
    (await transitionsOf(spare.url, harness.agentKey.pubkey, taskId)).length,
    0,
    'the relay lost them',
  );
  await assertRestored(taskId, before, mark, 0);
  assert.is(restoreLines(lines.slice(mark), spare.url).length, 1, 'one warning for one check');
});

test('a relay wiped while the agent is down gets every agent event back after the restart', async () => {
  const { taskId, before } = await claimedTask();
  await harness.stopAgent();
  await spare.wipe();
  const mark = lines.length;
  await harness.startAgent();
  await assertRestored(taskId, before, mark, 3);
});

test('a relay that holds everything is left alone: no warning, nothing sent again', async () => {
  await harness.agent.settle();
  const mark = lines.length;
  const report = await harness.agent.readBack?.check(spare.url);
  assert.is(report?.outcome, 'held');
  assert.ok((report?.checked ?? 0) > 0);
  assert.is(restoreLines(lines.slice(mark), spare.url).length, 0);
});

test('a relay that does not answer the query is skipped, not taken to have lost everything', async () => {
  await harness.agent.settle();
  await spare.wipe();
  const closed = await harness.agent.readBack?.check('ws://127.0.0.1:9');
  assert.is(closed?.outcome, 'skipped');
  // Right after the restart the agent may not be connected yet: then the check is skipped, never a restore.
  await harness.stopAgent();
  const mark = lines.length;
  await harness.startAgent({ readBack: { ...READ_BACK, afterConnectMs: 60_000 } });
  const report = await harness.agent.readBack?.check(spare.url);
  if (report?.outcome === 'skipped') assert.is(report.restored, 0);
  else assert.is(report?.outcome, 'restored');
  await harness.restartAgent();
  await eventually('the relay restored', async () =>
    restoreLines(lines.slice(mark), spare.url).length > 0 ? true : undefined,
  );
});

test('a relay that answers "I have none" forever: at most K events per check, and checks back off', async () => {
  const hostile = await startHostileRelay({ forgeries: ['bad-signature'], forgeryPlacement: 'instead' });
  const watched = capturingLogger();
  try {
    await harness.stopAgent();
    await harness.startAgent({
      relays: [
        { url: harness.relay.url, read: true, write: true },
        { url: hostile.url, read: false, write: true },
      ],
      log: watched.log,
      readBack: { intervalMs: 200, afterConnectMs: 50, eventsPerCheck: 4, batch: 2, maxBackoffMs: 60_000 },
    });
    const started = Date.now();
    // At least two restores (however slow the machine), and at least 4 s of checking.
    await eventually('the lost events were sent again', async () =>
      restoreLines(watched.lines, hostile.url).length >= 2 ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 4000 - (Date.now() - started))));
    const elapsed = Date.now() - started;
    const restores = restoreLines(watched.lines, hostile.url);
    for (const line of restores) assert.ok((line.restored ?? 0) <= 4, 'at most K events per check');
    // Checks every 200 ms would give elapsed / 200 restores (some 20 in 4 s); doubling waits give at most
    // log2(elapsed / 200 + 1) + 2, whatever the machine's speed.
    const allowed = Math.ceil(Math.log2(elapsed / 200 + 1)) + 2;
    assert.ok(restores.length <= allowed, `checks back off: ${restores.length} restores in ${elapsed} ms`);
    assert.ok(
      restores.slice(1).every((line) => /again after they were restored/.test(line.msg)),
      'the relapse says so',
    );
    const published = hostile.stats().eventsPublished;
    assert.ok(published <= 3 + 4 * restores.length + 20, `bounded resends (${published} EVENT frames)`);
  } finally {
    await harness.restartAgent();
    await hostile.stop();
  }
});

test('RelayPool.fetch: the events for the filters at EOSE, at most `limit`, and a failure instead of a throw', async () => {
  const pool = new RelayPool({ relays: [{ url: spare.url, read: false, write: true }] });
  try {
    assert.equal(await pool.fetch(spare.url, [{ ids: ['0'.repeat(64)] }]), {
      relay: spare.url,
      ok: false,
      reason: 'error: not connected',
    });
    pool.start();
    await eventually('connected', async () => (pool.status()[0]?.connected ? true : undefined));
    const all = await query(spare.url, { authors: [harness.agentKey.pubkey] });
    assert.ok(all.length >= 3);
    const ids = all.slice(0, 3).map((event) => event.id);
    const found = await pool.fetch(spare.url, [{ ids }]);
    assert.ok(found.ok);
    if (found.ok) {
      assert.equal(found.events.map((event) => event.id).sort(), [...ids].sort());
      assert.is(found.cut, false);
      assert.equal(JSON.parse(found.events[0]!.raw), found.events[0]!.value);
    }
    const cut = await pool.fetch(spare.url, [{ ids }], { limit: 2 });
    assert.ok(cut.ok && cut.cut && cut.events.length === 2, 'more than the limit ends the REQ');
    const other = await pool.fetch('ws://127.0.0.1:9', [{ ids }]);
    assert.equal(other, {
      relay: 'ws://127.0.0.1:9',
      ok: false,
      reason: 'error: not one of the pool relays',
    });
  } finally {
    await pool.stop();
  }
});

test.run();
