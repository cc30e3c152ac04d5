// The audit watch (src/agent/jobs/audit-watch.ts) on a real SQLite file: the first walk is awaited at start only
// while it fits in one slice; a longer one goes on in the background, and until it ends the gauge shows the last
// finished walk's answer kept in the settings table, or NaN when none ever finished. A tampered row turns it to 0.
//
// The watch is given a context holding only what it uses (the store, real metrics, a logger): the agent around
// it is not needed to walk chains.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AUDIT_WALK_SETTING, startAuditWatch } from '../../src/agent/jobs/audit-watch.ts';
import { createLogger } from '../../src/agent/logger.ts';
import type { AgentContext } from '../../src/engine/context.ts';
import { createMetrics } from '../../src/engine/metrics.ts';
import type { EscrowStore } from '../../src/store/port.ts';
import { openSqliteForTest } from '../fakes/store-databases.ts';
import { taskStory, writeStory } from '../fakes/store-fixtures.ts';

const folder = mkdtempSync(join(tmpdir(), 'escrow-audit-watch-'));
let store: EscrowStore;

test.before(async () => {
  store = await openSqliteForTest(join(folder, 'agent.db'));
  for (const label of ['a', 'b', 'c', 'd']) await writeStory(store, taskStory(`watch-${label}`), 'paid');
});

test.after(async () => {
  await store?.close();
  rmSync(folder, { recursive: true, force: true });
});

function watchOn(sliceTasks: number) {
  const metrics = createMetrics();
  const ctx = { store, metrics, log: createLogger({ level: 'silent' }) } as unknown as AgentContext;
  const watch = startAuditWatch(() => ctx, { intervalMs: 3_600_000, sliceTasks });
  const gauge = async () => (await metrics.auditChainValid.get()).values[0]?.value;
  return { watch, gauge };
}

test('a walk of one slice is done when begin resolves, and its answer is kept', async () => {
  const { watch, gauge } = watchOn(500);
  await watch.begin();
  assert.is(watch.last()?.report.tasksChecked, 4);
  assert.is(await gauge(), 1);
  const kept = (await store.read((reader) => reader.settings.get(AUDIT_WALK_SETTING))) as Record<
    string,
    unknown
  >;
  assert.equal(
    { ok: kept.ok, tasksChecked: kept.tasksChecked, problems: kept.problems },
    {
      ok: true,
      tasksChecked: 4,
      problems: 0,
    },
  );
  watch.stop();
});

test('a longer walk goes on after begin resolves; the gauge shows the kept answer, then the new one', async () => {
  const { watch, gauge } = watchOn(1);
  // The kept answer says intact; a row is then edited behind the agent's back, through a second connection.
  const Database = (await import('better-sqlite3')).default;
  const raw = new Database(join(folder, 'agent.db'));
  raw
    .prepare(
      'UPDATE audit SET created_at = created_at + 1 WHERE seq = 2 AND task_id = (SELECT MAX(id) FROM tasks)',
    )
    .run();
  raw.close();

  await watch.begin();
  assert.is(watch.last(), null, 'the walk of four slices of one task is still going');
  assert.is(await gauge(), 1, 'meanwhile the last finished walk’s answer');
  const report = await watch.check();
  assert.not.ok(report.ok);
  assert.is(report.tasksChecked, 4);
  assert.equal(
    report.problems.map((problem) => problem.kind),
    ['hash_mismatch'],
  );
  assert.is(await gauge(), 0);
  const kept = (await store.read((reader) => reader.settings.get(AUDIT_WALK_SETTING))) as Record<
    string,
    unknown
  >;
  assert.is(kept.ok, false);
  watch.stop();
});

test('with no walk ever finished on the database, the gauge is NaN until the first one ends', async () => {
  await store.transaction((tx) => tx.settings.set(AUDIT_WALK_SETTING, null));
  const { watch, gauge } = watchOn(1);
  await watch.begin();
  assert.is(watch.last(), null);
  assert.ok(Number.isNaN(await gauge()), 'unknown, not broken (the alert tests == 0)');
  await watch.check();
  assert.is(await gauge(), 0, 'the edited row from the test before');
  watch.stop();
});

test.run();
