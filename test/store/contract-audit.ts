// Contract: the audit chain detects tampering done with raw SQL, and the projection hash covers exactly what
// the history decides.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditProblem } from '../../src/store/port.ts';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { taskStory, testClock, writeSampleHistory, writeStory } from '../fakes/store-fixtures.ts';

const problemsOf = (problems: AuditProblem[], taskId: string) =>
  problems.filter((problem) => problem.taskId === taskId).map(({ seq, kind }) => ({ seq, kind }));

/** A database holding two paid tasks: the one tampered with, and a bystander whose chain must stay clean. */
async function twoPaidTasks(databases: TestDatabases) {
  const database = await databases.create();
  const store = await database.open();
  const target = taskStory('target');
  const bystander = taskStory('bystander');
  await writeStory(store, target, 'paid');
  await writeStory(store, bystander, 'paid');
  return { database, store, target, bystander };
}

/** Deletes a task's row (and its funding) but not its audit rows. Foreign keys stand in the way of a plain DELETE:
 * an attacker with raw access gets around them. */
async function deleteTaskRow(database: Awaited<ReturnType<TestDatabases['create']>>, taskId: string) {
  const statement = `DELETE FROM fundings WHERE task_id = '${taskId}'; DELETE FROM tasks WHERE id = '${taskId}'`;
  await database.execute(
    database.dialect === 'postgres'
      ? `SET session_replication_role = replica; ${statement}; SET session_replication_role = DEFAULT`
      : `PRAGMA foreign_keys = OFF; ${statement}`,
  );
}

/** The WHERE clause of one audit row. */
const auditRow = (taskId: string, seq: number) => `task_id = '${taskId}' AND seq = ${seq}`;

export function registerAuditContract(test: Test, databases: TestDatabases): void {
  test('an untampered audit chain verifies, row by row', async () => {
    const { store } = await twoPaidTasks(databases);
    assert.equal(await store.verifyAudit(), { ok: true, tasksChecked: 2, rowsChecked: 18, problems: [] });
  });

  test('audit verification detects a flipped byte in an event body', async () => {
    const { database, store, target, bystander } = await twoPaidTasks(databases);
    // 21000000 msat becomes 31000000 msat in the funded event (seq 3).
    await database.execute(
      `UPDATE audit SET body = REPLACE(body, '"amountMsat":"21000000"', '"amountMsat":"31000000"') ` +
        `WHERE ${auditRow(target.id, 3)}`,
    );
    const report = await store.verifyAudit();
    assert.not.ok(report.ok);
    assert.equal(problemsOf(report.problems, target.id), [{ seq: 3, kind: 'hash_mismatch' }]);
    assert.equal(problemsOf(report.problems, bystander.id), []);
  });

  test('audit verification detects an edited hashed column', async () => {
    const { database, store, target } = await twoPaidTasks(databases);
    await database.execute(`UPDATE audit SET created_at = created_at + 1 WHERE ${auditRow(target.id, 5)}`);
    await database.execute(`UPDATE audit SET event_type = 'claimed' WHERE ${auditRow(target.id, 6)}`);
    const report = await store.verifyAudit();
    assert.equal(problemsOf(report.problems, target.id), [
      { seq: 5, kind: 'hash_mismatch' },
      { seq: 6, kind: 'hash_mismatch' },
    ]);
  });

  test('audit verification detects a deleted row', async () => {
    const { database, store, target, bystander } = await twoPaidTasks(databases);
    await database.execute(`DELETE FROM audit WHERE ${auditRow(target.id, 4)}`);
    const report = await store.verifyAudit();
    assert.not.ok(report.ok);
    assert.equal(problemsOf(report.problems, target.id), [
      { seq: 5, kind: 'seq_gap' },
      { seq: 5, kind: 'broken_link' },
    ]);
    assert.is(report.rowsChecked, 17);
    assert.equal(problemsOf(report.problems, bystander.id), []);
  });

  test('audit verification detects a swapped pair of rows', async () => {
    const { database, store, target } = await twoPaidTasks(databases);
    // Swap rows 4 and 5 as whole rows: each keeps its own hash, but sits at the other's place.
    await database.execute(`UPDATE audit SET seq = -1 WHERE ${auditRow(target.id, 4)}`);
    await database.execute(`UPDATE audit SET seq = 4 WHERE ${auditRow(target.id, 5)}`);
    await database.execute(`UPDATE audit SET seq = 5 WHERE ${auditRow(target.id, -1)}`);
    const report = await store.verifyAudit();
    const found = problemsOf(report.problems, target.id);
    assert.ok(
      found.some((problem) => problem.seq === 4 && problem.kind === 'broken_link'),
      JSON.stringify(found),
    );
    assert.ok(found.some((problem) => problem.seq === 4 && problem.kind === 'hash_mismatch'));
    assert.ok(found.some((problem) => problem.seq === 5 && problem.kind === 'broken_link'));
    assert.ok(found.some((problem) => problem.seq === 6 && problem.kind === 'broken_link'));
  });

  test('audit verification detects a swapped pair of event bodies', async () => {
    const { database, store, target } = await twoPaidTasks(databases);
    const rows = await database.query<{ seq: unknown; event_type: string; body: string }>(
      `SELECT seq, event_type, body FROM audit WHERE task_id = '${target.id}' AND seq IN (4, 5) ORDER BY seq`,
    );
    const [fourth, fifth] = rows;
    const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
    await database.execute(
      `UPDATE audit SET body = ${quote(fifth!.body)}, event_type = ${quote(fifth!.event_type)} ` +
        `WHERE ${auditRow(target.id, 4)}`,
    );
    await database.execute(
      `UPDATE audit SET body = ${quote(fourth!.body)}, event_type = ${quote(fourth!.event_type)} ` +
        `WHERE ${auditRow(target.id, 5)}`,
    );
    const report = await store.verifyAudit();
    assert.equal(problemsOf(report.problems, target.id), [
      { seq: 4, kind: 'hash_mismatch' },
      { seq: 5, kind: 'hash_mismatch' },
    ]);
  });

  test('audit verification detects a truncated tail', async () => {
    const { database, store, target, bystander } = await twoPaidTasks(databases);
    await database.execute(`DELETE FROM audit WHERE task_id = '${target.id}' AND seq >= 8`);
    const report = await store.verifyAudit();
    assert.not.ok(report.ok);
    assert.equal(problemsOf(report.problems, target.id), [{ seq: 9, kind: 'head_mismatch' }]);
    assert.equal(problemsOf(report.problems, bystander.id), []);
  });

  test('audit verification detects a task row rolled back to an older version', async () => {
    const { database, store, target } = await twoPaidTasks(databases);
    // Cut the tail AND make the task row agree on the version: the head hash still gives it away.
    await database.execute(`DELETE FROM audit WHERE task_id = '${target.id}' AND seq = 9`);
    await database.execute(`UPDATE tasks SET version = 8 WHERE id = '${target.id}'`);
    const report = await store.verifyAudit();
    assert.equal(problemsOf(report.problems, target.id), [{ seq: 8, kind: 'head_mismatch' }]);
  });

  test('audit verification detects a task row deleted to hide its chain', async () => {
    const database = await databases.create();
    const store = await database.open();
    const hidden = taskStory('hidden');
    await writeStory(store, hidden, 'claimed');
    await deleteTaskRow(database, hidden.id);
    const report = await store.verifyAudit();
    assert.not.ok(report.ok);
    assert.is(report.tasksChecked, 0);
    assert.is(report.rowsChecked, 4);
    assert.equal(problemsOf(report.problems, hidden.id), [{ seq: 1, kind: 'missing_task' }]);
  });

  test('the walk in slices finds the same: a chain whose task row is gone, between two slices', async () => {
    const database = await databases.create();
    const store = await database.open();
    const stories = ['a', 'b', 'c', 'd', 'e'].map((label) => taskStory(`slice-${label}`));
    for (const story of stories) await writeStory(store, story, 'claimed');
    const byId = [...stories].sort((one, other) => (one.id < other.id ? -1 : 1));
    const whole = await store.verifyAudit();
    assert.equal(whole, { ok: true, tasksChecked: 5, rowsChecked: whole.rowsChecked, problems: [] });
    for (const sliceTasks of [1, 2, 5]) assert.equal(await store.verifyAudit({ sliceTasks }), whole);
    // Hide the middle task (by id): with slices of two it lies between the first slice's last id and the second's.
    const hidden = byId[2]!;
    await deleteTaskRow(database, hidden.id);
    await database.execute(`UPDATE audit SET created_at = created_at + 1 WHERE ${auditRow(byId[4]!.id, 2)}`);
    for (const sliceTasks of [1, 2, 3, 4, 500]) {
      const report = await store.verifyAudit({ sliceTasks });
      assert.is(report.tasksChecked, 4, `slices of ${sliceTasks}`);
      assert.is(report.rowsChecked, whole.rowsChecked, `slices of ${sliceTasks}`);
      assert.equal(problemsOf(report.problems, hidden.id), [{ seq: 1, kind: 'missing_task' }]);
      assert.equal(problemsOf(report.problems, byId[4]!.id), [{ seq: 2, kind: 'hash_mismatch' }]);
      assert.is(report.problems.length, 2, JSON.stringify(report.problems));
    }
  });

  test('the projection hash does not depend on the order the tasks were written in, nor on the clock', async () => {
    const forward = await (await databases.create()).open({ clock: testClock(1_000).now });
    const backward = await (await databases.create()).open({ clock: testClock(9_999_999).now });
    await writeSampleHistory(forward);
    await writeSampleHistory(backward, { reverse: true, clock: testClock(5) });
    const hash = await forward.projectionHash();
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.is(await backward.projectionHash(), hash);
    assert.is(await forward.projectionHash(), hash, 'reading it twice gives the same');
  });

  test('the projection hash changes when one value differs', async () => {
    const base = await (await databases.create()).open();
    const changed = await (await databases.create()).open();
    await writeSampleHistory(base);
    await writeSampleHistory(changed, { extraReceivedMsat: 1n });
    assert.is.not(await changed.projectionHash(), await base.projectionHash());
  });
}
