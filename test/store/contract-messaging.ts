// Contract: inbound dedupe, the outbox with a status per relay, and relay cursors.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { hex64, RELAYS, T0, taskStory, writeStory } from '../fakes/store-fixtures.ts';
import { withinSeconds } from './contract-helpers.ts';
import { signedEvent } from './contract-transactions.ts';

export function registerMessagingContract(test: Test, databases: TestDatabases): void {
  test('an inbound event id is recorded once; a duplicate returns false', async () => {
    const store = await (await databases.create()).open();
    const id = hex64('inbound-once');
    const raw = `{"id":"${id}","kind":1985,"content":"verbatim \\u00e9"}`;
    const record = (status: 'handled' | 'rejected') =>
      store.transaction((tx) =>
        tx.inbound.record({
          id,
          pubkey: hex64('someone'),
          kind: 1985,
          createdAt: T0,
          raw,
          status,
          reason: null,
        }),
      );
    assert.is(await store.read((tx) => tx.inbound.has(id)), false);
    const results = await withinSeconds(
      10,
      Promise.all([record('handled'), record('rejected'), record('handled')]),
    );
    assert.is(results.filter(Boolean).length, 1);
    assert.ok(await store.read((tx) => tx.inbound.has(id)));
    assert.is(await record('handled'), false, 'the dedupe is durable');
  });

  test('an inbound event keeps its raw JSON verbatim and its rejection reason', async () => {
    const database = await databases.create();
    const store = await database.open();
    const id = hex64('inbound-verbatim');
    const raw = `{ "id" : "${id}",  "content":"spaces and \\"quotes\\" kept" }`;
    await store.transaction((tx) =>
      tx.inbound.record({
        id,
        pubkey: hex64('someone'),
        kind: 1,
        createdAt: T0,
        raw,
        status: 'rejected',
        reason: 'invalid: bad signature',
      }),
    );
    const [row] = await database.query<{ raw: string; status: string; reason: string }>(
      `SELECT raw, status, reason FROM inbound_events WHERE id = '${id}'`,
    );
    assert.equal(row, { raw, status: 'rejected', reason: 'invalid: bad signature' });
  });

  test('a recorded inbound event reads back whole, and an unknown id reads as null', async () => {
    const store = await (await databases.create()).open();
    const id = hex64('inbound-get');
    const record = {
      id,
      pubkey: hex64('someone'),
      kind: 30402,
      createdAt: T0,
      raw: `{"id":"${id}"}`,
      status: 'handled' as const,
      reason: null,
    };
    await store.transaction((tx) => tx.inbound.record(record));
    assert.equal(await store.read((tx) => tx.inbound.get(id)), record);
    assert.is(await store.read((tx) => tx.inbound.get(hex64('never'))), null);
  });

  test('the outbox keeps a status per relay and due() returns only pending deliveries whose time has come', async () => {
    const store = await (await databases.create()).open({ clock: () => T0 });
    const story = taskStory('outbox');
    await writeStory(store, story, 'posted');
    const first = signedEvent('first', story.id);
    const second = signedEvent('second');
    assert.ok(await store.transaction((tx) => tx.outbox.enqueue(first, RELAYS, story.id)));
    assert.ok(await store.transaction((tx) => tx.outbox.enqueue(second, RELAYS.slice(0, 2))));
    assert.is(await store.read((tx) => tx.outbox.pendingCount()), 5);
    assert.is(
      (await store.read((tx) => tx.outbox.due(T0 - 1, 100))).length,
      0,
      'nothing is due before it was queued',
    );

    const due = await store.read((tx) => tx.outbox.due(T0, 100));
    assert.is(due.length, 5);
    const firstAtRelayOne = due.find((item) => item.eventId === first.id && item.relay === RELAYS[0]);
    assert.equal(firstAtRelayOne?.event, first, 'the signed event comes back as it was queued');
    assert.is(firstAtRelayOne?.taskId, story.id);
    assert.is(due.find((item) => item.eventId === second.id)?.taskId, null);

    await store.transaction(async (tx) => {
      assert.ok(await tx.outbox.markRelay(first.id, RELAYS[0]!, 'ok'));
      assert.ok(
        await tx.outbox.markRelay(first.id, RELAYS[1]!, 'pending', 'rate-limited: slow down', T0 + 60),
      );
      assert.ok(await tx.outbox.markRelay(first.id, RELAYS[2]!, 'failed', 'blocked: not allowed'));
    });
    // A final answer is final: a late result from an older attempt does not undo it.
    assert.not.ok(
      await store.transaction((tx) => tx.outbox.markRelay(first.id, RELAYS[0]!, 'failed', 'late')),
    );
    assert.not.ok(
      await store.transaction((tx) => tx.outbox.markRelay(first.id, 'wss://unknown.example', 'ok')),
    );

    assert.equal(
      await store.read((tx) => tx.outbox.deliveries(first.id)),
      [
        { relay: RELAYS[0]!, status: 'ok', attempts: 1, lastError: null, nextAttemptAt: T0 },
        {
          relay: RELAYS[2]!,
          status: 'failed',
          attempts: 1,
          lastError: 'blocked: not allowed',
          nextAttemptAt: T0,
        },
        {
          relay: RELAYS[1]!,
          status: 'pending',
          attempts: 1,
          lastError: 'rate-limited: slow down',
          nextAttemptAt: T0 + 60,
        },
      ].sort((left, right) => (left.relay < right.relay ? -1 : 1)),
    );
    assert.is(await store.read((tx) => tx.outbox.pendingCount()), 3);
    const now = await store.read((tx) => tx.outbox.due(T0 + 59, 100));
    assert.equal(
      now.map((item) => [item.eventId, item.relay]),
      [
        [second.id, RELAYS[0]],
        [second.id, RELAYS[1]],
      ].sort((left, right) => (`${left[0]}${left[1]}` < `${right[0]}${right[1]}` ? -1 : 1)),
    );
    const later = await store.read((tx) => tx.outbox.due(T0 + 60, 100));
    assert.is(later.length, 3);
    assert.is(later.at(-1)?.relay, RELAYS[1], 'the retry comes after what was due earlier');
    assert.is(later.at(-1)?.attempts, 1);
    assert.is((await store.read((tx) => tx.outbox.due(T0 + 60, 2))).length, 2, 'the limit holds');
  });

  test('due() sends priority 0 before older priority 1 deliveries, and the oldest first within a priority', async () => {
    let now = T0;
    const store = await (await databases.create()).open({ clock: () => now });
    const older = Array.from({ length: 3 }, (_, index) => signedEvent(`older-${index}`));
    for (const event of older)
      assert.ok(await store.transaction((tx) => tx.outbox.enqueue(event, RELAYS.slice(0, 1))));
    now = T0 + 30;
    const urgent = signedEvent('urgent');
    assert.ok(await store.transaction((tx) => tx.outbox.enqueue(urgent, RELAYS.slice(0, 1), null, 0)));
    const newer = signedEvent('newer');
    assert.ok(await store.transaction((tx) => tx.outbox.enqueue(newer, RELAYS.slice(0, 1), null, 1)));
    const due = await store.read((tx) => tx.outbox.due(T0 + 30, 100));
    assert.is(due[0]?.eventId, urgent.id, 'the priority 0 event first, though queued 30 s after the others');
    assert.equal(
      new Set(due.slice(1, 4).map((item) => item.eventId)),
      new Set(older.map((event) => event.id)),
      'then the older ones',
    );
    assert.is(due[4]?.eventId, newer.id, 'then the newer one of priority 1');
    assert.is((await store.read((tx) => tx.outbox.due(T0 + 30, 1)))[0]?.eventId, urgent.id, 'within a limit');
  });

  test('claimDue: a claimed delivery is not due to anyone else until its claim runs out', async () => {
    let now = T0;
    const store = await (await databases.create()).open({ clock: () => now });
    const events = Array.from({ length: 4 }, (_, index) => signedEvent(`claim-${index}`));
    for (const event of events)
      assert.ok(await store.transaction((tx) => tx.outbox.enqueue(event, RELAYS.slice(0, 2))));
    const first = await store.transaction((tx) => tx.outbox.claimDue(T0, 5, 30));
    assert.is(first.length, 5, 'claims up to the limit');
    const [second, third] = await Promise.all([
      store.transaction((tx) => tx.outbox.claimDue(T0, 100, 30)),
      store.transaction((tx) => tx.outbox.claimDue(T0, 100, 30)),
    ]);
    assert.is(second.length + third.length, 3, 'the other three, once, between two concurrent claimers');
    const claimedKeys = [...first, ...second, ...third].map((item) => `${item.eventId}:${item.relay}`);
    assert.is(new Set(claimedKeys).size, 8, 'no delivery claimed twice');
    assert.is((await store.read((tx) => tx.outbox.due(T0 + 29, 100))).length, 0, 'nothing due while claimed');
    await store.transaction((tx) => tx.outbox.markRelay(first[0]!.eventId, first[0]!.relay, 'ok'));
    now = T0 + 30;
    assert.is(
      (await store.read((tx) => tx.outbox.due(T0 + 30, 100))).length,
      7,
      'the claims ran out (a dead replica’s deliveries are due again); the one marked ok is done',
    );
  });

  test('dueAgain: a relay that connects gets its deliveries in backoff at once, nothing else changes', async () => {
    const now = T0 + 10;
    const store = await (await databases.create()).open({ clock: () => now });
    const [relay, other] = [RELAYS[0]!, RELAYS[1]!];
    const [failed, fresh, done] = ['again-failed', 'again-fresh', 'again-done'].map((name) =>
      signedEvent(name),
    );
    for (const event of [failed!, fresh!, done!])
      await store.transaction((tx) => tx.outbox.enqueue(event, [relay, other]));
    // One delivery failed to each relay (not connected) and waits out a backoff; one to `relay` is done.
    await store.transaction(async (tx) => {
      await tx.outbox.markRelay(failed!.id, relay, 'pending', 'not connected', T0 + 500);
      await tx.outbox.markRelay(failed!.id, other, 'pending', 'not connected', T0 + 500);
      await tx.outbox.markRelay(done!.id, relay, 'ok');
    });
    assert.is(await store.transaction((tx) => tx.outbox.dueAgain(relay)), 1, 'only the one in backoff');
    const row = (await store.read((tx) => tx.outbox.deliveries(failed!.id))).find(
      (one) => one.relay === relay,
    );
    assert.equal(row, {
      relay,
      status: 'pending',
      attempts: 1,
      lastError: 'not connected',
      nextAttemptAt: now,
    });
    const otherRow = (await store.read((tx) => tx.outbox.deliveries(failed!.id))).find(
      (one) => one.relay === other,
    );
    assert.is(otherRow?.nextAttemptAt, T0 + 500, 'another relay’s backoff is left alone');
    assert.is(
      (await store.read((tx) => tx.outbox.deliveries(done!.id))).find((one) => one.relay === relay)?.status,
      'ok',
      'a delivery already done stays done',
    );
    assert.is(await store.transaction((tx) => tx.outbox.dueAgain(relay)), 0, 'nothing more to make due');
  });

  test('enqueuing the same event twice returns false and keeps the first queue', async () => {
    const store = await (await databases.create()).open({ clock: () => T0 });
    const event = signedEvent('twice');
    assert.ok(await store.transaction((tx) => tx.outbox.enqueue(event, RELAYS.slice(0, 1))));
    assert.not.ok(await store.transaction((tx) => tx.outbox.enqueue(event, RELAYS)));
    assert.is(await store.read((tx) => tx.outbox.pendingCount()), 1);
  });

  test('outbox.event returns a queued event exactly as signed, and null for an unknown id', async () => {
    const store = await (await databases.create()).open({ clock: () => T0 });
    const event = signedEvent('read-back');
    await store.transaction((tx) => tx.outbox.enqueue(event, RELAYS.slice(0, 1)));
    assert.equal(await store.read((tx) => tx.outbox.event(event.id)), event);
    assert.is(await store.read((tx) => tx.outbox.event(hex64('never-queued'))), null);
  });

  test('read-back queries: what a relay said OK to, newest first; heads by task; resend makes ok pending again', async () => {
    let clock = T0;
    const store = await (await databases.create()).open({ clock: () => clock });
    const first = taskStory('read-back-1');
    const second = taskStory('read-back-2');
    await writeStory(store, first, 'posted');
    await writeStory(store, second, 'posted');
    const [relay, other] = [RELAYS[0]!, RELAYS[1]!];
    const events = ['a', 'b', 'c', 'd'].map((label, index) =>
      signedEvent(`read-back-${label}`, index < 2 ? first.id : index === 2 ? second.id : null),
    );
    for (const [index, event] of events.entries()) {
      clock = T0 + index;
      await store.transaction((tx) =>
        tx.outbox.enqueue(event, [relay, other], index < 2 ? first.id : index === 2 ? second.id : null),
      );
    }
    await store.transaction(async (tx) => {
      for (const event of events.slice(0, 3)) await tx.outbox.markRelay(event.id, relay, 'ok');
      await tx.outbox.markRelay(events[3]!.id, relay, 'failed', 'blocked: no');
      await tx.outbox.markRelay(events[0]!.id, other, 'ok');
      await tx.tasks.setPublishedHead(first.id, events[1]!.id);
      await tx.tasks.setPublishedHead(second.id, events[2]!.id);
    });

    const sent = await store.read((tx) => tx.outbox.sentTo(relay, 10));
    assert.equal(
      sent.map((entry) => entry.eventId),
      [events[2]!.id, events[1]!.id, events[0]!.id],
      'only OK deliveries, newest queued first',
    );
    assert.equal(sent[0], { eventId: events[2]!.id, taskId: second.id, event: events[2] });
    assert.is((await store.read((tx) => tx.outbox.sentTo(relay, 2))).length, 2, 'the limit holds');
    assert.equal(
      (await store.read((tx) => tx.outbox.sentTo(other, 10))).map((entry) => entry.eventId),
      [events[0]!.id],
    );

    const heads = await store.read((tx) => tx.outbox.headsSentTo(relay, null, 10));
    const byTask = [
      { eventId: events[1]!.id, taskId: first.id, event: events[1] },
      { eventId: events[2]!.id, taskId: second.id, event: events[2] },
    ].sort((left, right) => (left.taskId < right.taskId ? -1 : 1));
    assert.equal(heads, byTask, 'every head the relay took, by task id');
    assert.equal(
      await store.read((tx) => tx.outbox.headsSentTo(relay, byTask[0]!.taskId, 10)),
      byTask.slice(1),
      'the next page starts after the given task',
    );
    assert.equal(await store.read((tx) => tx.outbox.headsSentTo(other, null, 10)), [], 'a head not OK there');

    assert.equal(
      (await store.read((tx) => tx.outbox.taskEventsSentTo(relay, first.id, 10))).map(
        (entry) => entry.eventId,
      ),
      [events[1]!.id, events[0]!.id],
    );

    clock = T0 + 100;
    const changed = await store.transaction((tx) =>
      tx.outbox.resend(relay, [events[0]!.id, events[3]!.id, hex64('never-queued')], 'missing at the relay'),
    );
    assert.is(changed, 1, 'only an OK delivery becomes pending again (not a failed one, not an unknown id)');
    assert.equal(
      (await store.read((tx) => tx.outbox.deliveries(events[0]!.id))).find((row) => row.relay === relay),
      { relay, status: 'pending', attempts: 1, lastError: 'missing at the relay', nextAttemptAt: T0 + 100 },
    );
    assert.equal(
      (await store.read((tx) => tx.outbox.due(T0 + 100, 10))).map((row) => [row.eventId, row.relay]),
      [
        [events[1]!.id, other],
        [events[2]!.id, other],
        [events[3]!.id, other],
        [events[0]!.id, relay],
      ],
      'the publisher sees it due again',
    );
    assert.is(await store.transaction((tx) => tx.outbox.resend(relay, [], 'nothing')), 0);
  });

  test('relay cursors are stored and moved', async () => {
    const store = await (await databases.create()).open();
    assert.is(await store.read((tx) => tx.cursors.get(RELAYS[0]!)), null);
    await store.transaction((tx) => tx.cursors.set(RELAYS[0]!, T0));
    await store.transaction((tx) => tx.cursors.set(RELAYS[1]!, T0 + 5));
    await store.transaction((tx) => tx.cursors.set(RELAYS[0]!, T0 + 100));
    assert.is(await store.read((tx) => tx.cursors.get(RELAYS[0]!)), T0 + 100);
    assert.is(await store.read((tx) => tx.cursors.get(RELAYS[1]!)), T0 + 5);
  });
}
