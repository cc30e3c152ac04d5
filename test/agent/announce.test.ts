// The agent's replaceable events (profile, relay list, NIP-89 announcement) are each dated after the last version
// the agent queued, across restarts too (src/agent/announce.ts): relays keep the latest created_at and, on a tie,
// the lower id, so a restart within the second of the last change must not publish a version that loses. Real relay,
// real store, the agent's clock frozen to put every version in one second.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeMaintenance } from '../../src/agent/announce.ts';
import { parseAnnouncement } from '../../src/protocol/build-announcement.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { collect, type Harness, startHarness } from '../fakes/agent-harness.ts';

let harness: Harness;

test.before(async () => {
  harness = await startHarness();
});

test.after(async () => {
  await harness?.stop();
});

async function relayAnnouncement() {
  const events = await collect(harness.client, {
    kinds: [KINDS.handler],
    authors: [harness.agentKey.pubkey],
  });
  const newest = events.sort((a, b) => b.created_at - a.created_at)[0];
  assert.ok(newest, 'the relay holds an announcement');
  const parsed = parseAnnouncement(newest);
  assert.ok(parsed.ok, 'it parses');
  // acceptingTasks is present only when false (a paused agent).
  return { createdAt: newest.created_at, accepting: parsed.announcement.policy.acceptingTasks !== false };
}

type Seen = Awaited<ReturnType<typeof relayAnnouncement>>;

/**
 * The agent's clock, frozen in one second. The outbox dates its retries by the same clock, so a first attempt that
 * failed (the relay connection not yet open after a restart) would never come due: while the test waits for the
 * relay, the clock may be moved on (`late`) so that retries run, and it is frozen again before the next change.
 * Versions already queued keep their dates: the announcement is dated when it is queued.
 */
let late = 0;
let second = 0;
const frozen = { now: () => second + late };

/** The relay's announcement once `wanted` holds for it (or the last one seen, after 10 s). */
async function announcementWhen(wanted: (seen: Seen) => boolean) {
  let seen = await relayAnnouncement();
  for (let tries = 0; !wanted(seen) && tries < 100; tries++) {
    if (tries === 10) late = 3600; // a second of waiting: let the outbox's retries come due
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = await relayAnnouncement();
  }
  late = 0;
  return seen;
}

test('a restart in the same second as the last change still publishes the announcement that wins', async () => {
  second = Math.floor(Date.now() / 1000);
  await harness.restartAgent(frozen);
  const startedAt = Number(await harness.store.read((reader) => reader.settings.get('announced_at')));
  assert.ok(startedAt >= second, 'the start is dated at the clock or after the versions before it');
  const started = await announcementWhen((seen) => seen.createdAt === startedAt);
  assert.is(started.createdAt, startedAt, 'the relay holds the start announcement');
  assert.ok(started.accepting);
  // Two changes within the frozen second: each dated one second after the one before.
  await harness.agent.setMaintenance(true, 'upgrade');
  await harness.agent.setMaintenance(false, null);
  const resumed = await announcementWhen((seen) => seen.createdAt === startedAt + 2);
  assert.is(resumed.createdAt, startedAt + 2, 'pause and resume: +1 and +2');
  assert.ok(resumed.accepting);
  // Stopped, paused on the stopped folder, started again in the same second: the paused announcement must be dated
  // after the resumed one, or the relay keeps saying "accepting".
  await harness.stopAgent();
  await writeMaintenance(harness.store, true, 'stopped-folder pause', second);
  await harness.store.close();
  await harness.startAgent(frozen);
  await harness.agent.settle();
  const restarted = await announcementWhen((seen) => !seen.accepting);
  assert.is(restarted.accepting, false, 'the relay keeps the paused announcement');
  assert.is(
    restarted.createdAt,
    resumed.createdAt + 1,
    'dated after the last version, not at the frozen clock',
  );
});

test.run();
