// Seeding the configuration's arbitrators into the store at start, and the active set the agent announces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { activeArbitrators, seedArbitrators } from '../../src/agent/arbitrators.ts';
import type { ArbitratorEntry } from '../../src/agent/config.ts';
import { sqliteDatabases } from '../fakes/store-databases.ts';

const databases = sqliteDatabases();
const T = 1_800_000_000;
const [A, B, C, D] = ['c', 'a', 'd', 'b'].map((digit) => digit.repeat(64)) as [
  string,
  string,
  string,
  string,
];

function entry(pubkey: string, overrides: Partial<ArbitratorEntry> = {}): ArbitratorEntry {
  return { pubkey, name: `judge ${pubkey[0]}`, feeBaseMsat: 1000n, feePpm: 2500, active: true, ...overrides };
}

test('the configuration is seeded with source config; the active set is sorted by pubkey, in the policy shape', async () => {
  const store = await (await databases.create()).open();
  const report = await seedArbitrators(store, [entry(A), entry(B), entry(C, { active: false })], T);
  assert.equal(report, { created: [A, B, C], updated: [], deactivated: [] });
  assert.equal(await activeArbitrators(store), [
    { pubkey: B, name: 'judge a', feeBaseMsat: 1000n, feePpm: 2500 },
    { pubkey: A, name: 'judge c', feeBaseMsat: 1000n, feePpm: 2500 },
  ]);
  const rows = await store.read((tx) => tx.arbitrators.list());
  assert.ok(rows.every((row) => row.source === 'config' && row.createdAt === T));
  assert.is(rows.find((row) => row.pubkey === C)?.active, false, 'an inactive entry is recorded inactive');
});

test('seeding the same configuration again changes nothing; a changed entry is updated', async () => {
  const store = await (await databases.create()).open();
  await seedArbitrators(store, [entry(A), entry(B)], T);
  assert.equal(await seedArbitrators(store, [entry(A), entry(B)], T + 60), {
    created: [],
    updated: [],
    deactivated: [],
  });
  assert.ok((await store.read((tx) => tx.arbitrators.list())).every((row) => row.updatedAt === T));
  const report = await seedArbitrators(
    store,
    [entry(A, { feePpm: 0 }), entry(B, { active: false })],
    T + 120,
  );
  assert.equal(report, { created: [], updated: [A, B], deactivated: [] });
  assert.equal(
    (await activeArbitrators(store)).map((profile) => [profile.pubkey, profile.feePpm]),
    [[A, 0]],
  );
});

test('an arbitrator the configuration no longer names is deactivated; one added with the CLI is left alone', async () => {
  const store = await (await databases.create()).open();
  await seedArbitrators(store, [entry(A), entry(B)], T);
  await store.transaction((tx) => tx.arbitrators.upsert(entry(D), 'cli', T));
  const report = await seedArbitrators(store, [entry(A)], T + 60);
  assert.equal(report, { created: [], updated: [], deactivated: [B] });
  assert.equal(
    (await activeArbitrators(store)).map((profile) => profile.pubkey),
    [D, A].sort(),
  );
  // Never deleted: B keeps its row, inactive.
  assert.is((await store.read((tx) => tx.arbitrators.get(B)))?.active, false);
  // The configuration naming a CLI-added arbitrator takes it over.
  assert.equal(await seedArbitrators(store, [entry(A), entry(D)], T + 120), {
    created: [],
    updated: [D],
    deactivated: [],
  });
  assert.is((await store.read((tx) => tx.arbitrators.get(D)))?.source, 'config');
});

test('no configuration entries and no rows: an empty active set', async () => {
  const store = await (await databases.create()).open();
  assert.equal(await seedArbitrators(store, [], T), { created: [], updated: [], deactivated: [] });
  assert.equal(await activeArbitrators(store), []);
});

test.after(() => databases.dispose());
test.run();
