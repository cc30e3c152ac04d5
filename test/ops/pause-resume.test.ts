// `pause` and `resume` (maintenance mode), through the running agent's control socket and on the stopped agent's
// folder: a dry run says what would change and changes nothing, --execute changes the mode (the running agent
// refuses a new listing with NotAcceptingTasks and announces accepting_tasks: false at once; a stopped one is
// written and announced at its next start), a second --execute changes nothing. Bad arguments exit 2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readMaintenance } from '../../src/agent/announce.ts';
import { parseAnnouncement } from '../../src/protocol/build-announcement.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { collect, tagValue } from '../fakes/agent-harness.ts';
import { connectNostrTools } from '../fakes/relay.ts';
import { OpsFixture, shown } from './ops-fixture.ts';

const AMOUNT = 20_000_000n;
let fixture: OpsFixture;

test.before(async () => {
  fixture = await OpsFixture.create();
  await fixture.startAgent();
});

test.after(async () => {
  await fixture?.stop();
});

async function newestAnnouncement() {
  const client = await connectNostrTools(fixture.url);
  const events = await collect(client, { kinds: [KINDS.handler], authors: [fixture.identity!.pubkey] });
  client.close();
  const newest = events.sort((a, b) => b.created_at - a.created_at)[0];
  assert.ok(newest, 'an announcement on the relay');
  const parsed = parseAnnouncement(newest);
  assert.ok(parsed.ok);
  return parsed.announcement;
}

test('running agent: pause refuses new listings and says so; resume takes them again; each twice changes nothing', async () => {
  const dry = await fixture.cli('pause', '--reason', 'node upgrade');
  console.log(`\n$ escrow-agent pause --reason "node upgrade"   (running agent)\n${shown(dry)}`);
  assert.is(dry.code, 0, shown(dry));
  assert.match(dry.out, `pause: through the running agent (pid ${process.pid})`);
  assert.match(dry.out, 'dry run: nothing changed');
  assert.is(fixture.agent!.maintenance().paused, false, 'a dry run changes nothing');

  const done = await fixture.cli('pause', '--reason', 'node upgrade', '--execute');
  console.log(`\n$ escrow-agent pause --reason "node upgrade" --execute   (running agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, 'now paused since');
  assert.match(done.out, '(node upgrade)');
  assert.ok(fixture.agent!.maintenance().paused);
  await fixture.agent!.settle();
  assert.is((await newestAnnouncement()).policy.acceptingTasks, false, 'announced at once');

  const again = await fixture.cli('pause', '--execute', '--json');
  assert.is(again.code, 0, shown(again));
  const report = JSON.parse(again.out) as { changed: number; result: { paused: boolean; reason: string } };
  assert.is(report.changed, 0, 'a second pause changes nothing');
  assert.equal([report.result.paused, report.result.reason], [true, 'node upgrade']);

  const listing = await fixture.postTask(AMOUNT);
  const rejected = await fixture.waitForState(listing.id, 'rejected');
  assert.is(tagValue(rejected, 'code'), 'NotAcceptingTasks');

  const resumed = await fixture.cli('resume', '--execute');
  console.log(`\n$ escrow-agent resume --execute   (running agent)\n${shown(resumed)}`);
  assert.is(resumed.code, 0, shown(resumed));
  assert.match(resumed.out, 'now taking new tasks');
  const twice = await fixture.cli('resume', '--execute');
  assert.match(twice.out, 'nothing to do: it is already taking new tasks');
  await fixture.agent!.settle();
  assert.is((await newestAnnouncement()).policy.acceptingTasks, undefined, 'accepting again');
  const next = await fixture.postTask(AMOUNT);
  await fixture.waitForState(next.id, 'offered');
});

test('running agent: verify-db runs inside it; migrate says the agent migrated at start and how to upgrade', async () => {
  const verified = await fixture.cli('verify-db');
  console.log(`\n$ escrow-agent verify-db   (running agent)\n${shown(verified)}`);
  assert.is(verified.code, 0, shown(verified));
  assert.match(verified.out, `verify-db: through the running agent (pid ${process.pid})`);
  assert.match(verified.out, /\d+ tasks, \d+ audit rows checked: 0 chain problems, 0 money problems/);
  const migrated = await fixture.cli('migrate');
  assert.is(migrated.code, 2, shown(migrated));
  assert.match(migrated.err, 'it applied every migration of its version when it started');
});

test('stopped folder: pause is written and announced when the agent starts; bad arguments exit 2', async () => {
  await fixture.stopAgent();
  const dry = await fixture.cli('pause');
  console.log(`\n$ escrow-agent pause   (stopped agent)\n${shown(dry)}`);
  assert.is(dry.code, 0, shown(dry));
  assert.match(dry.out, "pause: on the stopped agent's folder");
  const done = await fixture.cli('pause', '--execute');
  console.log(`\n$ escrow-agent pause --execute   (stopped agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, 'the agent announces it when it starts');
  const again = await fixture.cli('pause', '--execute');
  assert.match(again.out, 'nothing to do: it is already paused');

  for (const [args, says] of [
    [['pause', '--reason', ''], '--reason must be a non-empty text'],
    [['pause', '--reason', 'x'.repeat(201)], '--reason must be 1 to 200 characters'],
    [['resume', '--reason', 'x'], 'resume'],
    [['pause', '--older-than', '5'], 'pause takes no --older-than option'],
  ] as const) {
    const bad = await fixture.cli(...args);
    assert.is(bad.code, 2, shown(bad));
    assert.match(bad.err, says);
  }

  // The announcement is replaceable by created_at (seconds): the resume above may be dated up to a second ahead.
  await new Promise((resolve) => setTimeout(resolve, 2100));
  await fixture.startAgent();
  assert.ok(fixture.agent!.maintenance().paused, 'the started agent reads the mode');
  // Published once the new agent's relay connection is up (the outbox retries until then).
  let announced = await newestAnnouncement();
  for (let tries = 0; announced.policy.acceptingTasks !== false && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    announced = await newestAnnouncement();
  }
  assert.is(announced.policy.acceptingTasks, false, 'the paused mode is announced at start');
  const resumed = await fixture.cli('resume', '--execute');
  assert.is(resumed.code, 0, shown(resumed));
  assert.is((await readMaintenance(fixture.agent!.ctx.store)).paused, false);
});

test.run();
