// Contract: the arbitrators the agent may name on a task. Upserted from the configuration or the command line,
// deactivated but never deleted, listed by pubkey, read back the same on both databases.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ArbitratorInput } from '../../src/store/port.ts';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { hex64, taskStory, writeStory } from '../fakes/store-fixtures.ts';
import { rejection, withinSeconds } from './contract-helpers.ts';

const T = 1_800_000_000;
/** Past 2^53: a fee that must come back as the same bigint on both databases, never a float. */
const LARGE_FEE = 2_100_000_000_000_000_000n;

function arbitrator(label: string, overrides: Partial<ArbitratorInput> = {}): ArbitratorInput {
  return { pubkey: hex64(label), name: label, feeBaseMsat: 1000n, feePpm: 5000, active: true, ...overrides };
}

export function registerArbitratorContract(test: Test, databases: TestDatabases): void {
  test('arbitrators: an upsert records a new arbitrator with its source and times, read back exactly', async () => {
    const store = await (await databases.create()).open();
    assert.equal(await store.read((tx) => tx.arbitrators.list()), []);
    assert.is(await store.read((tx) => tx.arbitrators.get(hex64('alice'))), null);
    const alice = arbitrator('alice', { feeBaseMsat: LARGE_FEE, feePpm: 1_000_000 });
    assert.is(await store.transaction((tx) => tx.arbitrators.upsert(alice, 'config', T)), 'created');
    const expected = { ...alice, source: 'config', createdAt: T, updatedAt: T };
    assert.equal(await store.read((tx) => tx.arbitrators.get(alice.pubkey)), expected);
    assert.equal(await store.read((tx) => tx.arbitrators.list()), [expected]);
    assert.equal(await store.read((tx) => tx.arbitrators.active()), [expected]);
  });

  test('arbitrators: an upsert that changes something updates the row and keeps created_at; the same one writes nothing', async () => {
    const store = await (await databases.create()).open();
    const bob = arbitrator('bob');
    await store.transaction((tx) => tx.arbitrators.upsert(bob, 'config', T));
    assert.is(await store.transaction((tx) => tx.arbitrators.upsert(bob, 'config', T + 10)), 'unchanged');
    assert.is((await store.read((tx) => tx.arbitrators.get(bob.pubkey)))?.updatedAt, T, 'updated_at kept');
    const renamed = { ...bob, name: 'Bob the judge', feePpm: 0 };
    assert.is(await store.transaction((tx) => tx.arbitrators.upsert(renamed, 'cli', T + 20)), 'updated');
    assert.equal(await store.read((tx) => tx.arbitrators.get(bob.pubkey)), {
      ...renamed,
      source: 'cli',
      createdAt: T,
      updatedAt: T + 20,
    });
    // The source alone is a change: the configuration takes back a row the command line set.
    assert.is(await store.transaction((tx) => tx.arbitrators.upsert(renamed, 'config', T + 30)), 'updated');
    assert.is((await store.read((tx) => tx.arbitrators.get(bob.pubkey)))?.source, 'config');
  });

  test('arbitrators: deactivate keeps the row (never deleted), says whether it changed anything, and an upsert reactivates', async () => {
    const store = await (await databases.create()).open();
    const carol = arbitrator('carol');
    const dave = arbitrator('dave');
    await store.transaction(async (tx) => {
      await tx.arbitrators.upsert(carol, 'config', T);
      await tx.arbitrators.upsert(dave, 'cli', T);
    });
    assert.is(await store.transaction((tx) => tx.arbitrators.deactivate(carol.pubkey, T + 5)), true);
    assert.is(
      await store.transaction((tx) => tx.arbitrators.deactivate(carol.pubkey, T + 6)),
      false,
      'again',
    );
    assert.is(await store.transaction((tx) => tx.arbitrators.deactivate(hex64('nobody'), T + 6)), false);
    assert.equal(await store.read((tx) => tx.arbitrators.get(carol.pubkey)), {
      ...carol,
      active: false,
      source: 'config',
      createdAt: T,
      updatedAt: T + 5,
    });
    const listed = await store.read((tx) => tx.arbitrators.list());
    assert.equal(
      listed.map((row) => [row.pubkey, row.active]),
      [
        [carol.pubkey, false],
        [dave.pubkey, true],
      ].sort(([left], [right]) => String(left).localeCompare(String(right))),
    );
    assert.equal(
      (await store.read((tx) => tx.arbitrators.active())).map((row) => row.pubkey),
      [dave.pubkey],
    );
    assert.is(await store.read((tx) => tx.arbitrators.get(hex64('nobody'))), null);
    assert.is(await store.transaction((tx) => tx.arbitrators.upsert(carol, 'cli', T + 9)), 'updated');
    assert.is((await store.read((tx) => tx.arbitrators.get(carol.pubkey)))?.active, true);
    // An entry given inactive is recorded inactive (a configuration may name a retired arbitrator).
    const erin = arbitrator('erin', { active: false });
    assert.is(await store.transaction((tx) => tx.arbitrators.upsert(erin, 'config', T)), 'created');
    assert.is((await store.read((tx) => tx.arbitrators.get(erin.pubkey)))?.active, false);
  });

  test('arbitrators: list and active are sorted by pubkey', async () => {
    const store = await (await databases.create()).open();
    const labels = ['p', 'q', 'r', 's', 't', 'u'];
    await store.transaction(async (tx) => {
      for (const label of labels) await tx.arbitrators.upsert(arbitrator(label), 'cli', T);
      await tx.arbitrators.deactivate(hex64('r'), T);
    });
    const sorted = labels.map(hex64).sort();
    assert.equal(
      (await store.read((tx) => tx.arbitrators.list())).map((row) => row.pubkey),
      sorted,
    );
    assert.equal(
      (await store.read((tx) => tx.arbitrators.active())).map((row) => row.pubkey),
      sorted.filter((pubkey) => pubkey !== hex64('r')),
    );
  });

  test('arbitrators: a bad entry is refused before anything is written, and the transaction stays usable', async () => {
    const store = await (await databases.create()).open();
    const bad: Array<[string, ArbitratorInput, string]> = [
      ['an npub is not a stored pubkey', arbitrator('x', { pubkey: 'npub1xyz' }), 'config'],
      ['upper-case hex', arbitrator('x', { pubkey: hex64('x').toUpperCase() }), 'config'],
      ['a negative fee', arbitrator('x', { feeBaseMsat: -1n }), 'config'],
      ['fee_ppm over a million', arbitrator('x', { feePpm: 1_000_001 }), 'config'],
      ['an unknown source', arbitrator('x'), 'relay'],
    ];
    const written = await store.transaction(async (tx) => {
      for (const [what, entry, source] of bad) {
        const error = await rejection(tx.arbitrators.upsert(entry, source as 'cli', T));
        assert.instance(error, Error, what);
      }
      return tx.arbitrators.upsert(arbitrator('good'), 'cli', T);
    });
    assert.is(written, 'created');
    assert.equal(
      (await store.read((tx) => tx.arbitrators.list())).map((row) => row.name),
      ['good'],
    );
  });

  test('arbitrators: the database itself refuses an active flag other than 0 / 1 and an unknown source', async () => {
    const database = await databases.create();
    const store = await database.open();
    await store.transaction((tx) => tx.arbitrators.upsert(arbitrator('checked'), 'cli', T));
    const pubkey = hex64('checked');
    await rejection(database.execute(`UPDATE arbitrators SET active = 2 WHERE pubkey = '${pubkey}'`));
    await rejection(database.execute(`UPDATE arbitrators SET source = 'relay' WHERE pubkey = '${pubkey}'`));
    assert.equal(await store.read((tx) => tx.arbitrators.get(pubkey)), {
      ...arbitrator('checked'),
      source: 'cli',
      createdAt: T,
      updatedAt: T,
    });
  });

  test('arbitrators: two openers upserting the same new arbitrator at once leave one row', async () => {
    const database = await databases.create();
    const [one, two] = [await database.open(), await database.open()];
    await withinSeconds(
      20,
      Promise.all([
        one.transaction((tx) => tx.arbitrators.upsert(arbitrator('race', { name: 'one' }), 'config', T)),
        two.transaction((tx) => tx.arbitrators.upsert(arbitrator('race', { name: 'two' }), 'cli', T)),
      ]),
    );
    const [row] = await database.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM arbitrators');
    assert.is(Number(row?.n), 1);
    const stored = await one.read((tx) => tx.arbitrators.get(hex64('race')));
    assert.ok(stored && ['one', 'two'].includes(stored.name));
  });

  test('arbitrators: a write rolls back with its transaction, and the table is not part of the projection hash', async () => {
    const store = await (await databases.create()).open();
    await writeStory(store, taskStory('arbitrated'), 'funded');
    const before = await store.projectionHash();
    await rejection(
      store.transaction(async (tx) => {
        await tx.arbitrators.upsert(arbitrator('rolled-back'), 'cli', T);
        throw new Error('abort');
      }),
    );
    assert.equal(await store.read((tx) => tx.arbitrators.list()), []);
    await store.transaction((tx) => tx.arbitrators.upsert(arbitrator('kept'), 'cli', T));
    assert.is(await store.projectionHash(), before);
  });
}
