// `holds stuck` and `settle-stuck` on a real stuck settle, through the running agent's control socket and on the
// stopped agent's folder: a dry run reports it (exit 1) and changes nothing, --execute finishes it through the
// engine (the hold SETTLED at the node, the worker paid once), a second --execute finds nothing to do and changes
// nothing. Bad arguments exit 2 with what to change.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONTROL_SOCKET_FILE } from '../../src/agent/control-socket.ts';
import { findStuckHolds, STUCK_HOLD_SECONDS } from '../../src/ops/index.ts';
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

test('running agent: a settle the node refused stays settling; settle-stuck finishes it, once', async () => {
  const { listing, offered } = await fixture.fundTask(AMOUNT);
  const invoice = await fixture.submitWork(listing.id, AMOUNT);
  const workerBefore = (await fixture.sandbox!.worker.getInfo()).remoteBalanceMsat;
  // The node is unreachable for the settle: the intent is committed, the settle fails, the agent retries only at
  // its next reconcile round (an hour here).
  fixture.gate.blocked.add('settle');
  await fixture.act(fixture.poster, 'approve', listing.id);
  await fixture.waitForStored(listing.id, 'settling');
  await fixture.agent!.effects.idle();
  fixture.gate.blocked.delete('settle');
  const hash = offered.tags.find((tag) => tag[0] === 'payment_hash')![1]!;
  assert.is((await fixture.sandbox!.agent.lookup(hash))?.state, 'ACCEPTED', 'the node still holds the HTLC');

  const stuck = await fixture.cli('holds', 'stuck', '--older-than', '0');
  console.log(`\n$ escrow-agent holds stuck --older-than 0   (running agent)\n${shown(stuck)}`);
  assert.is(stuck.code, 1, shown(stuck));
  assert.match(stuck.out, `holds stuck: through the running agent (pid ${process.pid})`);
  assert.match(stuck.out, `task ${listing.id}: settling for`);
  assert.match(stuck.out, 'node: ACCEPTED');
  assert.match(stuck.out, 'run: escrow-agent settle-stuck');
  const notYet = await fixture.cli('holds', 'stuck');
  assert.is(notYet.code, 0, `younger than the default hour: ${shown(notYet)}`);
  // The store-only part the escrow_stuck_holds_count gauge counts: stuck once an hour has passed.
  const now = Math.floor(Date.now() / 1000);
  const gauge = (at: number) =>
    fixture.read((store) => store.read((reader) => findStuckHolds(reader, at, STUCK_HOLD_SECONDS)));
  assert.equal(await gauge(now), []);
  assert.equal(
    (await gauge(now + STUCK_HOLD_SECONDS + 5)).map((one) => [one.taskId, one.reason, one.fix]),
    [[listing.id, 'settle_unfinished', 'settle-stuck']],
  );

  const before = await fixture.snapshot();
  const dry = await fixture.cli('settle-stuck');
  console.log(`\n$ escrow-agent settle-stuck   (running agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.match(dry.out, 'dry run: nothing changed');
  assert.match(dry.out, 'the engine settles it with its preimage');
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('settle-stuck', '--execute');
  console.log(`\n$ escrow-agent settle-stuck --execute   (running agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `task ${listing.id}: settling -> paid`);
  assert.is(await fixture.taskState(listing.id), 'paid');
  assert.is((await fixture.sandbox!.agent.lookup(hash))?.state, 'SETTLED', 'settled at the node');
  const payment = await fixture.sandbox!.agent.paymentStatus(invoice.paymentHash);
  assert.is(payment?.status, 'succeeded', "the worker's invoice was paid by the agent's node");
  const workerAfter = (await fixture.sandbox!.worker.getInfo()).remoteBalanceMsat;
  assert.is(workerBefore - workerAfter, AMOUNT - fixture.feeFor(AMOUNT), 'the worker was paid once');
  await fixture.waitForState(listing.id, 'paid');

  const after = await fixture.snapshot();
  const again = await fixture.cli('settle-stuck', '--execute');
  console.log(`\n$ escrow-agent settle-stuck --execute   (again, running agent)\n${shown(again)}`);
  assert.is(again.code, 0, shown(again));
  assert.match(again.out, 'settle-stuck: nothing to do');
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');
  const clear = await fixture.cli('holds', 'stuck', '--older-than', '0');
  assert.is(clear.code, 0, shown(clear));
});

test('bad arguments exit 2, say what to change, and change nothing (running agent and stopped folder)', async () => {
  const before = await fixture.snapshot();
  const cases: Array<[string[], string]> = [
    [['settle-stuck', '--older-than', '5'], 'settle-stuck takes no --older-than'],
    [['holds', 'stuck', '--older-than', 'an hour'], '--older-than must be a whole number of seconds'],
    [['holds'], 'usage: escrow-agent holds stuck'],
    [
      ['verify-events', '--since', 'yesterday'],
      '--since must be a duration back from now (90s, 30m, 1h, 2d)',
    ],
    [['outbox', 'republish', '--relay', 'wss://elsewhere.example'], "is not one of the agent's write relays"],
    [['timeout-expired', 'now'], 'Unexpected argument'],
  ];
  const refused = async (mode: string) => {
    for (const [argv, message] of cases) {
      const run = await fixture.cli(...argv);
      assert.is(run.code, 2, `${mode}: ${argv.join(' ')}: ${shown(run)}`);
      assert.match(run.err, message, `${mode}: ${argv.join(' ')}`);
    }
  };
  await refused('running');
  assert.is(await fixture.snapshot(), before);
  await fixture.stopAgent({ sandbox: false });
  await refused('stopped');
  assert.is(await fixture.snapshot(), before);
  await fixture.startAgent();
});

test('stopped agent: killed between the settle intent and the settle; settle-stuck finishes it on the folder', async () => {
  await fixture.stopAgent({ sandbox: false });
  const { crashed } = await fixture.startAgent({ crash: { method: 'settle', when: 'before' } });
  const { listing, offered } = await fixture.fundTask(AMOUNT);
  const invoice = await fixture.submitWork(listing.id, AMOUNT);
  await fixture.act(fixture.poster, 'approve', listing.id);
  await crashed;
  await fixture.stopAgent();
  assert.is(
    await fixture.taskState(listing.id),
    'settling',
    'the intent was committed, the settle never made',
  );
  const hash = offered.tags.find((tag) => tag[0] === 'payment_hash')![1]!;

  const stuck = await fixture.cli('holds', 'stuck', '--older-than', '0');
  console.log(`\n$ escrow-agent holds stuck --older-than 0   (stopped agent)\n${shown(stuck)}`);
  assert.is(stuck.code, 1, shown(stuck));
  assert.match(stuck.out, `holds stuck: on the stopped agent's folder ${fixture.config.dataDir}`);
  assert.match(stuck.out, `task ${listing.id}: settling for`);
  assert.match(stuck.out, 'node: ACCEPTED');

  const before = await fixture.snapshot();
  const dry = await fixture.cli('settle-stuck');
  console.log(`\n$ escrow-agent settle-stuck   (stopped agent)\n${shown(dry)}`);
  assert.is(dry.code, 1, shown(dry));
  assert.is(await fixture.snapshot(), before, 'a dry run changes nothing');

  const done = await fixture.cli('settle-stuck', '--execute');
  console.log(`\n$ escrow-agent settle-stuck --execute   (stopped agent)\n${shown(done)}`);
  assert.is(done.code, 0, shown(done));
  assert.match(done.out, `task ${listing.id}: settling -> paid`);
  assert.is(await fixture.taskState(listing.id), 'paid');

  const after = await fixture.snapshot();
  const again = await fixture.cli('settle-stuck', '--execute');
  console.log(`\n$ escrow-agent settle-stuck --execute   (again, stopped agent)\n${shown(again)}`);
  assert.is(again.code, 0, shown(again));
  assert.match(again.out, 'nothing to do');
  assert.is(await fixture.snapshot(), after, 'a second --execute changes nothing');

  // At the node: the hold settled, the worker's invoice paid; the agent's next start publishes what was recorded.
  const sandbox = await fixture.startSandbox();
  assert.is((await sandbox.agent.lookup(hash))?.state, 'SETTLED');
  assert.is((await sandbox.agent.paymentStatus(invoice.paymentHash))?.status, 'succeeded');
  await fixture.startAgent();
  await fixture.waitForState(listing.id, 'paid');
});

test('the control socket: mode 0600 in the data folder, removed at stop, a stale one replaced at start', async () => {
  const path = join(fixture.config.dataDir, CONTROL_SOCKET_FILE);
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.ok(statSync(path).isSocket());
  await fixture.stopAgent({ sandbox: false });
  assert.not.ok(existsSync(path), 'removed at stop');

  // An agent killed with SIGKILL leaves its socket file behind: the next start replaces it.
  const killed = spawnSync(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ],
    { encoding: 'utf8' },
  );
  assert.is(killed.signal, 'SIGKILL');
  assert.ok(statSync(path).isSocket(), 'a stale socket is left');
  await fixture.startAgent();
  assert.ok(fixture.control);
  const run = await fixture.cli('holds', 'stuck');
  assert.is(run.code, 0, shown(run));
  assert.match(run.out, 'through the running agent');
  await fixture.stopAgent({ sandbox: false });

  // A file that is not a socket is left alone: the agent runs without the socket, and the commands say so.
  writeFileSync(path, 'not a socket');
  await fixture.startAgent();
  assert.is(fixture.control, null);
  const refused = await fixture.cli('holds', 'stuck');
  assert.is(refused.code, 2, shown(refused));
  assert.match(refused.err, 'nothing answers on its control socket');
  await fixture.stopAgent({ sandbox: false });
  rmSync(path);
});

test.run();
