// `verify-events` and `outbox republish` against real relays: two write relays took the agent's events, then one lost
// its whole database, and an event signed with the agent's key that the agent never wrote appears on the other (a
// key in other hands). verify-events counts per relay what is present, missing and unknown (exit 1); a republish dry
// run counts what the relay lacks and changes nothing; --execute queues exactly those again (the running agent sends
// them at once; the stopped agent's folder keeps them for its start); a second --execute changes nothing.
import { finalizeEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNostrTools } from '../fakes/relay.ts';
import { OpsFixture, shown, sleep } from './ops-fixture.ts';

const AMOUNT = 20_000_000n;
let fixture: OpsFixture;

test.before(async () => {
  fixture = await OpsFixture.create({ relays: 2 });
  await fixture.startAgent();
  // Two tasks offered and cancelled: transitions, payment prompts, and the agent's profile, relay list and
  // announcement, all taken by both relays.
  for (let index = 0; index < 2; index++) {
    const listing = await fixture.postTask(AMOUNT);
    await fixture.waitForState(listing.id, 'offered');
    await fixture.act(fixture.poster, 'cancel', listing.id);
    await fixture.waitForState(listing.id, 'cancelled');
  }
  await fixture.delivered();
});

test.after(async () => {
  await fixture?.stop();
});

test('running agent: a relay lost everything, another holds a forged event; verify, republish, verify', async () => {
  const [a, b] = fixture.relays as [(typeof fixture.relays)[0], (typeof fixture.relays)[0]];
  const clean = await fixture.cli('verify-events');
  console.log(`\n$ escrow-agent verify-events   (running agent, before)\n${shown(clean)}`);
  assert.is(clean.code, 0, shown(clean));

  await b.wipe();
  const forged = finalizeEvent(
    {
      kind: 1985,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['L', 'escrow'],
        ['l', 'paid', 'escrow'],
      ],
      content: 'not written by the agent',
    },
    fixture.identity!.secretKey,
  );
  const client = await connectNostrTools(a.url);
  await client.publish(forged);
  client.close();

  const verify = await fixture.cli('verify-events', '--since', '1h');
  console.log(`\n$ escrow-agent verify-events --since 1h   (running agent)\n${shown(verify)}`);
  assert.is(verify.code, 1, shown(verify));
  assert.match(verify.out, 'verify-events: through the running agent');
  assert.match(verify.out, new RegExp(`${a.url}: (\\d+) expected, \\1 present, 0 missing, 1 unknown`));
  assert.match(verify.out, `UNKNOWN: ${forged.id} (label 1985 "paid"`);
  assert.match(verify.out, 'treat the key as compromised');
  const lost = Number(
    new RegExp(`${b.url}: (\\d+) expected, 0 present, (\\d+) missing, 0 unknown`).exec(verify.out)?.[2],
  );
  assert.ok(lost >= 8, `the wiped relay misses every event it took (${lost})`);

  // The agent reconnects to the relay that came back (empty).
  for (let tries = 0; tries < 200; tries++) {
    if (fixture.agent!.pool.status().every((relay) => relay.connected)) break;
    await sleep(50);
  }
  const before = await fixture.snapshot();
  const dry = await fixture.cli('outbox', 'republish', '--relay', b.url);
  console.log(`\n$ escrow-agent outbox republish --relay ${b.url}   (running agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.match(dry.out, `${b.url}: lacks ${lost} of the ${lost} event(s) it took: would queue them again`);
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('outbox', 'republish', '--relay', b.url, '--execute');
  console.log(
    `\n$ escrow-agent outbox republish --relay ${b.url} --execute   (running agent)\n${shown(done)}`,
  );
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `${lost} queued again`);
  assert.match(done.out, `the running agent sent them: all ${lost} delivered`);

  const after = await fixture.snapshot();
  const again = await fixture.cli('outbox', 'republish', '--relay', b.url, '--execute');
  console.log(
    `\n$ escrow-agent outbox republish --relay ${b.url} --execute   (again, running agent)\n${shown(again)}`,
  );
  assert.is(again.code, 0, shown(again));
  assert.match(
    again.out,
    `${b.url}: none of the events it took is missing (${lost} present); nothing to queue`,
  );
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');

  const restored = await fixture.cli('verify-events', '--relay', b.url, '--json');
  assert.is(restored.code, 0, shown(restored));
  const report = JSON.parse(restored.out);
  assert.equal(
    report.result.relays.map((one: { missing: unknown[]; unknown: unknown[] }) => [
      one.missing.length,
      one.unknown.length,
    ]),
    [[0, 0]],
  );
});

test('stopped agent: the relay lost them again; republish queues them for the next start', async () => {
  const b = fixture.relays[1]!;
  await fixture.stopAgent();
  await b.wipe();

  const verify = await fixture.cli('verify-events', '--relay', b.url);
  console.log(`\n$ escrow-agent verify-events --relay ${b.url}   (stopped agent)\n${shown(verify)}`);
  assert.is(verify.code, 1, shown(verify));
  assert.match(verify.out, "verify-events: on the stopped agent's folder");
  const lost = Number(/(\d+) missing/.exec(verify.out)?.[1]);
  assert.ok(lost > 0);

  const before = await fixture.snapshot();
  const dry = await fixture.cli('outbox', 'republish');
  console.log(`\n$ escrow-agent outbox republish   (stopped agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.match(dry.out, `${fixture.relays[0]!.url}: none of the events it took is missing`);
  assert.match(dry.out, `${b.url}: lacks ${lost} of the`);
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('outbox', 'republish', '--execute');
  console.log(`\n$ escrow-agent outbox republish --execute   (stopped agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `${lost} queued again`);
  assert.match(done.out, 'they are sent when it starts');

  const after = await fixture.snapshot();
  const again = await fixture.cli('outbox', 'republish', '--execute');
  console.log(`\n$ escrow-agent outbox republish --execute   (again, stopped agent)\n${shown(again)}`);
  assert.is(again.code, 0, shown(again));
  assert.match(
    again.out,
    `(${lost} delivery(ies) to it are pending in the outbox: sent when the agent starts)`,
  );
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');

  await fixture.startAgent();
  await fixture.delivered();
  const restored = await fixture.cli('verify-events', '--relay', b.url);
  console.log(`\n$ escrow-agent verify-events --relay ${b.url}   (after the start)\n${shown(restored)}`);
  assert.is(restored.code, 0, shown(restored));
  const counts = new RegExp(`${b.url}: (\\d+) expected, (\\d+) present, 0 missing, 0 unknown`).exec(
    restored.out,
  );
  assert.ok(counts && Number(counts[1]) >= lost && counts[1] === counts[2], restored.out);
});

test.run();
