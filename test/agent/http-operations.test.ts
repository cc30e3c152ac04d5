// The operator's HTTP endpoint on a real agent (embedded relay on 127.0.0.1, the LDK sandbox's nodes, SQLite):
// /metrics scraped between the steps of a whole lifecycle shows each step; every metric the agent registers moves
// during it (or counts trouble a healthy run never meets, and is set by the code); /health turns 503 when the relay, the node or the
// database goes away, naming the failing check, and 200 again when it is back; maintenance mode refuses new tasks.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type HttpServer, startHttpServer } from '../../src/agent/http-server.ts';
import { parseAnnouncement } from '../../src/protocol/build-announcement.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { collect, type Harness, startHarness, tagValue } from '../fakes/agent-harness.ts';
import { ROOT } from '../fakes/built-cli.ts';
import { newPreimage } from '../fakes/ldk-wait.ts';

function listSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listSources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

let harness: Harness;
let http: HttpServer;
const AMOUNT = 30_000_000n;

/** Metrics a healthy lifecycle leaves at zero: they count trouble (a hostile relay, a refused publish, a failed
 * handler, money in custody too long). The test below checks that the code sets each of them somewhere. */
const TROUBLE_ONLY = new Set([
  'escrow_relay_misbehaving',
  'escrow_relay_frames_dropped',
  'escrow_relay_events_over_budget',
  'escrow_relay_unexpected_frames',
  'escrow_relay_notices',
  'escrow_relay_buffered_events',
  'escrow_relay_buffered_bytes',
  'escrow_invalid_signatures_total',
  'escrow_relay_publish_failures_total',
  'escrow_relay_publish_refusals_total',
  'escrow_read_back_checks_total',
  'escrow_read_back_restored_events_total',
  'escrow_relay_trouble_episodes_total',
  'escrow_handler_failures_total',
  'escrow_custody_tasks',
  'escrow_custody_held_msat',
  'escrow_custody_overdue_tasks',
  'ldk_invoice_failures_total',
  'escrow_stuck_holds_count',
]);
/** The gauges read from the relay pool at scrape time (src/engine/metrics.ts relayGauge; test/engine/metrics.test.ts). */
const READ_FROM_POOL =
  /^escrow_relay_(misbehaving|reqs_sent|events_received|frames_dropped|events_over_budget|unexpected_frames|notices|buffered_events|buffered_bytes)$/;

/** Every sample of a scrape: `name{labels}` -> value. */
type Scrape = Map<string, number>;
const seen = new Map<string, Set<string>>(); // family -> the distinct values any of its samples took

async function scrape(): Promise<Scrape> {
  const response = await fetch(`${http.url}/metrics`);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', 'text/plain');
  const samples: Scrape = new Map();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/);
    assert.ok(match, `a Prometheus sample line: ${line}`);
    const [, name, labels = '', value] = match;
    samples.set(`${name}${labels}`, Number(value));
    const family = name!.replace(/_(bucket|sum|count)$/, '');
    if (!seen.has(family)) seen.set(family, new Set());
    seen.get(family)!.add(`${labels} ${value}`);
  }
  return samples;
}

function value(samples: Scrape, key: string): number | undefined {
  return samples.get(key);
}

async function health(): Promise<{ status: number; body: { status: string; failing: string[] } }> {
  const response = await fetch(`${http.url}/health`);
  return { status: response.status, body: (await response.json()) as { status: string; failing: string[] } };
}

/** Polls /health until it answers `status` (the watchers and the relay pool move on their own timers). */
async function healthBecomes(status: number): Promise<{ status: string; failing: string[] }> {
  let last = await health();
  for (let tries = 0; last.status !== status && tries < 150; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await health();
  }
  assert.is(last.status, status, JSON.stringify(last.body));
  return last.body;
}

async function startServer() {
  http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    agent: harness.agent,
    log: pino({ level: 'silent' }),
    verifyPage: null,
  });
}

test.before(async () => {
  harness = await startHarness({
    agent: {
      nodeProbe: { intervalMs: 200, timeoutMs: 2000 },
      relayTroubleSeconds: 1,
      maintenanceRefreshMs: 200,
    },
  });
  await startServer();
});

test.after(async () => {
  await http?.stop();
  await harness?.stop();
});

test('/metrics follows a lifecycle step by step', async () => {
  const before = await scrape();
  assert.is(value(before, 'tasks_by_state{state="paid"}'), 0);
  assert.is(value(before, 'funding_by_status{status="accepted"}'), 0);
  assert.is(value(before, 'escrow_blocks_to_nearest_hold_deadline'), -1);
  assert.is(value(before, 'escrow_audit_chain_valid'), 1);
  assert.is(value(before, 'escrow_lightning_node_up'), 1);
  assert.ok((value(before, 'ldk_local_balance_sats') ?? 0) > 0, 'the sandbox node has channels to send over');

  const listing = await harness.postTask({ amountMsat: AMOUNT });
  await harness.waitForState(listing.id, 'offered');
  const offered = await scrape();
  assert.is(value(offered, 'tasks_by_state{state="offered"}'), 1);
  assert.is(value(offered, 'funding_by_status{status="open"}'), 1);

  const offer = await harness.waitForState(listing.id, 'offered');
  const payment = harness.sandbox.payer.pay({
    bolt11: tagValue(offer, 'bolt11')!,
    maxFeeMsat: 10_000n,
    timeoutSeconds: 60,
  });
  await harness.waitForState(listing.id, 'funded');
  await harness.agent.effects.reconcileAll();
  const funded = await scrape();
  assert.is(value(funded, 'tasks_by_state{state="funded"}'), 1);
  assert.is(value(funded, 'funding_by_status{status="accepted"}'), 1);
  assert.ok(
    (value(funded, 'escrow_blocks_to_nearest_hold_deadline') ?? -1) > 0,
    'a held payment has a deadline',
  );

  // A refused action is counted by its code.
  await harness.act(harness.poster, 'claim', listing.id);
  let refused = await scrape();
  for (
    let tries = 0;
    value(refused, 'escrow_rejections_total{code="OwnTask"}') === undefined && tries < 100;
    tries++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    refused = await scrape();
  }
  assert.is(value(refused, 'escrow_rejections_total{code="OwnTask"}'), 1, 'a poster claiming its own task');

  await harness.submitWork(listing.id, AMOUNT);
  await harness.act(harness.poster, 'approve', listing.id);
  await harness.waitForState(listing.id, 'paid');
  assert.is((await payment).status, 'succeeded');
  await harness.agent.settle();
  await harness.agent.effects.reconcileAll();
  const paid = await scrape();
  assert.is(value(paid, 'tasks_by_state{state="paid"}'), 1);
  assert.is(value(paid, 'tasks_by_state{state="funded"}'), 0);
  assert.is(value(paid, 'funding_by_status{status="settled"}'), 1);
  assert.is(value(paid, 'settlement_duration_seconds_count'), 1, 'one settlement, approval to SETTLED');
  assert.is(value(paid, 'escrow_blocks_to_nearest_hold_deadline'), -1, 'nothing held any more');
  assert.is(value(paid, 'escrow_payouts_in_flight'), 0);
  assert.is(value(paid, 'escrow_outbox_pending'), 0);
  assert.is(value(paid, 'escrow_settled_unpaid_sats'), 0);
  assert.ok((value(paid, `escrow_inbound_events_total{outcome="handled"}`) ?? 0) >= 4);
  assert.is(value(paid, `escrow_relay_connected{relay="${harness.relay.url}"}`), 1);
  assert.is(value(paid, 'escrow_publish_quorum_reachable'), 1);
});

test('maintenance mode: a paused agent refuses new tasks, says so in its announcement, and serves posted ones', async () => {
  const paused = await harness.agent.setMaintenance(true, 'node upgrade');
  assert.ok(paused.changed);
  assert.is(
    (await harness.agent.setMaintenance(true, 'again')).changed,
    false,
    'pausing twice changes nothing',
  );
  await harness.agent.settle();
  const body = await healthBecomes(503);
  assert.equal(body.failing, ['intake']);
  const scraped = await scrape();
  assert.is(value(scraped, 'escrow_intake_paused'), 1);
  const announcements = await collect(harness.client, {
    kinds: [KINDS.handler],
    authors: [harness.agentKey.pubkey],
  });
  const newest = announcements.sort((a, b) => b.created_at - a.created_at)[0]!;
  const parsed = parseAnnouncement(newest);
  assert.ok(parsed.ok && parsed.announcement.policy.acceptingTasks === false, 'the announcement says paused');

  const listing = await harness.postTask({ amountMsat: AMOUNT });
  const rejected = await harness.waitForState(listing.id, 'rejected');
  assert.is(tagValue(rejected, 'code'), 'NotAcceptingTasks');
  assert.is(await harness.store.read((reader) => reader.tasks.get(listing.id)), null, 'no task was made');

  assert.ok((await harness.agent.setMaintenance(false, null)).changed);
  await healthBecomes(200);
  const next = await harness.postTask({ amountMsat: AMOUNT });
  await harness.waitForState(next.id, 'offered');
  assert.is(value(await scrape(), 'escrow_intake_paused'), 0);
});

test('a payout the recipient holds: payouts in flight, their age and the settled-unpaid sats show it', async () => {
  const { listing, payment } = await harness.fundTask(AMOUNT);
  await harness.act(harness.worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  // The worker's node takes the payout's HTLC and holds it: the agent's payment stays in flight.
  const { preimage, paymentHash } = newPreimage();
  const invoice = await harness.sandbox.worker.createHoldInvoice({
    paymentHash,
    amountMsat: AMOUNT - harness.feeFor(AMOUNT),
    description: 'held payout',
    expirySeconds: 3600,
    finalCltvDelta: 40,
  });
  await harness.act(harness.worker, 'submit', listing.id, {
    tags: [['bolt11', invoice.bolt11]],
    content: 'done',
  });
  await harness.waitForState(listing.id, 'submitted');
  await harness.act(harness.poster, 'approve', listing.id);
  await harness.waitForState(listing.id, 'settled');
  // The settled-unpaid gauge is set by reconcile rounds: the harness runs one every 300 ms, yet a read made without
  // an explicit round once found it still 0 a second after the settle (not explained: see the stop-22/23 notes);
  // so one round after the settle, always, even when the payout is already a second old at the first look.
  await harness.agent.effects.reconcileAll();
  let held = await scrape();
  for (
    let tries = 0;
    (value(held, 'escrow_payout_oldest_in_flight_age_seconds') ?? 0) < 1 && tries < 100;
    tries++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await harness.agent.effects.reconcileAll();
    held = await scrape();
  }
  assert.is(value(held, 'escrow_payouts_in_flight'), 1);
  assert.ok((value(held, 'escrow_payout_oldest_in_flight_age_seconds') ?? 0) >= 1);
  assert.is(value(held, 'escrow_settled_unpaid_sats'), Number((AMOUNT - harness.feeFor(AMOUNT)) / 1000n));
  await harness.sandbox.worker.settle(preimage, paymentHash);
  await harness.waitForState(listing.id, 'paid');
  assert.is((await payment).status, 'succeeded');
  await harness.agent.settle();
  await harness.agent.effects.reconcileAll();
  const done = await scrape();
  assert.is(value(done, 'escrow_payouts_in_flight'), 0);
  assert.is(value(done, 'escrow_settled_unpaid_sats'), 0);
});

test('/health: 503 naming the relays when the relay goes away, 200 when it is back', async () => {
  await healthBecomes(200);
  await harness.relay.halt();
  const body = await healthBecomes(503);
  assert.equal(body.failing, ['relays']);
  assert.is(value(await scrape(), `escrow_relay_connected{relay="${harness.relay.url}"}`), 0);
  // An event queued while no relay takes it waits in the outbox: the backlog and its age show.
  await harness.agent.setMaintenance(true, 'relay test');
  let backlog = await scrape();
  for (
    let tries = 0;
    (value(backlog, 'escrow_outbox_oldest_pending_age_seconds') ?? 0) < 1 && tries < 100;
    tries++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    backlog = await scrape();
  }
  assert.ok((value(backlog, 'escrow_outbox_pending') ?? 0) >= 1);
  assert.ok((value(backlog, 'escrow_outbox_oldest_pending_age_seconds') ?? 0) >= 1);
  await harness.agent.setMaintenance(false, null);
  await harness.relay.resume();
  await healthBecomes(200);
  await harness.agent.settle();
  let drained = await scrape();
  for (let tries = 0; value(drained, 'escrow_outbox_pending') !== 0 && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    drained = await scrape();
  }
  assert.is(value(drained, 'escrow_outbox_pending'), 0, 'the backlog is delivered once the relay is back');
  assert.is(value(drained, 'escrow_outbox_oldest_pending_age_seconds'), 0);
});

test('/health: 503 naming the database while another process holds its write lock, 200 once released', async () => {
  await healthBecomes(200);
  const other = new Database(harness.storeUrl.slice('sqlite:'.length));
  other.exec('BEGIN EXCLUSIVE');
  try {
    const body = await healthBecomes(503);
    assert.ok(body.failing.includes('database'), JSON.stringify(body));
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  await healthBecomes(200);
});

test('/health: 503 naming the Lightning node when it stops, 200 with the node and agent started again', async () => {
  await healthBecomes(200);
  await harness.sandbox.stop();
  const body = await healthBecomes(503);
  assert.ok(body.failing.includes('lightning'), JSON.stringify(body));
  assert.is(value(await scrape(), 'escrow_lightning_node_up'), 0);
  // The nodes listen on their former ports again: on a busy machine one may be taken for a moment by another suite.
  for (let attempt = 1; ; attempt++) {
    try {
      await harness.sandbox.restart(true);
      break;
    } catch (error) {
      if (attempt === 10 || !/cannot listen/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  await http.stop();
  await harness.restartAgent({ lightning: harness.sandbox.agent });
  await startServer();
  await healthBecomes(200);
});

test('every metric the agent registers moved during the lifecycle, or counts trouble and is set by the code', async () => {
  await scrape();
  const families = (await harness.agent.ctx.metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);
  assert.ok(families.length > 30);
  const still: string[] = [];
  for (const family of families) {
    const values = seen.get(family) ?? new Set();
    const moved = [...values].some((sample) => !sample.endsWith(' 0'));
    if (!moved && !TROUBLE_ONLY.has(family)) still.push(family);
  }
  assert.equal(still, [], `registered metrics that never moved: ${still.join(', ')}`);
  // The trouble-only ones: each is registered, and set by the code somewhere (a property the agent's code calls,
  // a gauge read from the relay pool, or the stuck-holds count read at scrape time).
  const properties = new Map<string, string>();
  for (const [key, metric] of Object.entries(harness.agent.ctx.metrics)) {
    const name = (metric as { name?: unknown } | null)?.name;
    if (typeof name === 'string') properties.set(name, key);
  }
  const files = listSources(join(ROOT, 'src')).filter((file) => !file.endsWith('engine/metrics.ts'));
  const code = files.map((file) => readFileSync(file, 'utf8')).join('\n');
  for (const name of TROUBLE_ONLY) {
    assert.ok(families.includes(name), `${name} is registered`);
    if (READ_FROM_POOL.test(name) || name === 'escrow_stuck_holds_count') continue;
    const key = properties.get(name);
    assert.ok(key, `${name} is a property of the agent's metrics`);
    assert.ok(code.includes(`metrics.${key}.`), `${name} (metrics.${key}) is set somewhere in src/`);
  }
});

test.run();
