// `npm run bench:hostile -- [--minutes N] [--lifecycles N] [--closed-at latest|other]` (issue #9, closing note):
// an agent (harness: real LDK sandbox, SQLite, an honest embedded relay) next to our adversarial relay, for
// `--minutes` (default 10). The hostile relay runs in a child process (this file with --relay-child), so its own
// memory is not counted in this process's RSS; it reports its REQ counts over its stdout once a second.
//   Phase A: `--lifecycles` (default 10) whole lifecycles with the honest relay only (approve -> paid times).
//   Phase B: the agent restarted on the same store and nodes with the hostile relay added (every misbehaviour on,
//   floods for the whole phase); lifecycles loop until the time is up (approve -> paid times).
// Sampled every second: this process's RSS and CPU (process.cpuUsage() delta / wall time), the relay's REQs.
// Printed and written to bench/hostile-relays.json (git-ignored). Nothing is asserted; the loop is bounded in
// count and time and stops by itself; everything listens on 127.0.0.1. `--closed-at latest` (default) floods
// CLOSED at the connection's latest subscription (mostly the live one), `other` at an id the agent never opened.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { NostrEvent } from 'nostr-tools/pure';
import { type Harness, startHarness, tagValue } from '../test/fakes/agent-harness.ts';
import type { FloodSpec, HostileRelayOptions } from '../test/fakes/hostile-relay.ts';
import { publishOnce } from '../test/fakes/relay.ts';
import { summarise } from './stats.ts';

const CHILD_FLAG = '--relay-child';
const MAX_LIFECYCLES = 2000;
const AMOUNT = 2_000_000n; // 2,000 sat: thousands of lifecycles fit in the sandbox's channels

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function hostileOptions(closedAt: string): HostileRelayOptions {
  const floods: FloodSpec[] = [
    { type: 'NOTICE', perSecond: 200 },
    { type: 'CLOSED', perSecond: 50, ...(closedAt === 'other' ? { subscriptionId: 'flood' } : {}) },
    { type: 'EOSE', perSecond: 100 },
    { type: 'OK', perSecond: 100 },
    { type: 'AUTH', perSecond: 50 },
  ];
  return {
    ignoreUntil: true,
    ignoreLimit: true,
    replayForever: true,
    replay: true,
    echo: true,
    forgeries: true,
    forgeryPlacement: 'before',
    poison: true,
    floods,
  };
}

// ---- the child: the hostile relay, reporting its counters once a second ----

async function relayChild(): Promise<void> {
  const { startHostileRelay } = await import('../test/fakes/hostile-relay.ts');
  const relay = await startHostileRelay(hostileOptions(argument('--closed-at') ?? 'latest'));
  const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
  say({ type: 'ready', url: relay.url, forgerPubkey: relay.forgerPubkey });
  const report = () => {
    const stats = relay.stats();
    const byKind: Record<string, number> = {};
    for (const [id, count] of Object.entries(stats.reqsBySubscription)) {
      const kind = id.split(':')[0] ?? id;
      byKind[kind] = (byKind[kind] ?? 0) + count;
    }
    say({
      type: 'stats',
      at: Date.now(),
      reqs: stats.reqs,
      reqsByKind: byKind,
      connections: stats.connections,
      eventsStored: relay.events().length,
      framesSent: stats.framesSent,
      bytesSent: stats.bytesSent,
      floodFramesSent: stats.floodFramesSent,
      rssBytes: process.memoryUsage().rss,
    });
  };
  const timer = setInterval(report, 1000);
  const stop = async () => {
    clearInterval(timer);
    report();
    await relay.stop();
    process.exit(0);
  };
  // The parent closes our stdin when it is done (or dies); a hard cap besides.
  process.stdin.on('end', () => void stop());
  process.stdin.on('error', () => void stop());
  process.stdin.resume();
  setTimeout(() => void stop(), Number(argument('--lifetime-ms') ?? 3_600_000)).unref();
}

// ---- the parent: the agent, the lifecycles, the samples ----

interface RelaySample {
  at: number;
  reqs: number;
  reqsByKind: Record<string, number>;
  connections: number;
  eventsStored: number;
  framesSent: number;
  bytesSent: number;
  floodFramesSent: number;
  rssBytes: number;
}

interface Sample {
  at: number;
  phase: 'A' | 'B';
  rssBytes: number;
  cpuPercent: number;
}

async function startRelayChild(closedAt: string, lifetimeMs: number) {
  const file = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', file, CHILD_FLAG, '--closed-at', closedAt, '--lifetime-ms', String(lifetimeMs)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const samples: RelaySample[] = [];
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<{ url: string; forgerPubkey: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the relay child exited (${code})`)));
    lines.on('line', (line) => {
      let message: { type?: string } & Record<string, unknown>;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.type === 'ready') resolve(message as never);
      else if (message.type === 'stats') samples.push(message as unknown as RelaySample);
    });
  });
  return { child, samples, ...(await ready) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Publishes to one relay over a socket of our own; true once it said OK (false without, after 5 s). */
async function publishTo(url: string, event: NostrEvent): Promise<boolean> {
  return publishOnce(url, event).then(
    ([, , accepted]) => accepted,
    () => false,
  );
}

async function waitForLabel(harness: Harness, taskId: string, label: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await harness.agentEvents(taskId);
    if (events.some((event) => event.tags.some((tag) => tag[0] === 'l' && tag[1] === label))) return;
    if (Date.now() > deadline) throw new Error(`no ${label} for ${taskId.slice(0, 8)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One lifecycle; the people's events also go to `hostileUrl` (the claim only once the agent took it). Returns
 * the approve -> paid time in ms. */
async function lifecycle(
  harness: Harness,
  amount: bigint,
  hostileUrl: string | null,
  genuine: Set<string>,
): Promise<number> {
  const { sandbox, poster, worker } = harness;
  const copy = async (event: NostrEvent) => {
    genuine.add(event.id);
    if (hostileUrl) await publishTo(hostileUrl, event);
  };
  const listing = await harness.postTask({ amountMsat: amount });
  await copy(listing);
  const offered = await harness.waitForState(listing.id, 'offered');
  const payment = sandbox.payer.pay({
    bolt11: tagValue(offered, 'bolt11')!,
    maxFeeMsat: 10_000n,
    timeoutSeconds: 120,
  });
  await harness.waitForState(listing.id, 'funded');
  const claim = await harness.act(worker, 'claim', listing.id);
  await harness.waitForState(listing.id, 'claimed');
  await copy(claim);
  const invoice = await sandbox.worker.createInvoice({
    amountMsat: amount - harness.feeFor(amount),
    description: 'bench',
    expirySeconds: 3600,
  });
  const submit = await harness.act(worker, 'submit', listing.id, {
    tags: [['bolt11', invoice.bolt11]],
    content: 'done',
  });
  await copy(submit);
  await harness.waitForState(listing.id, 'submitted');
  const approved = performance.now();
  const approve = await harness.act(poster, 'approve', listing.id);
  const paid = waitForLabel(harness, listing.id, 'paid');
  await copy(approve);
  await paid;
  const elapsed = performance.now() - approved;
  await payment;
  return elapsed;
}

function median(values: number[]): number {
  return summarise(values).median;
}

function windows(samples: Sample[], size: number): number[] {
  const result: number[] = [];
  for (let index = 0; index + size <= samples.length; index += size) {
    const slice = samples.slice(index, index + size);
    result.push(slice.reduce((sum, sample) => sum + sample.cpuPercent, 0) / slice.length);
  }
  return result;
}

function resources(samples: Sample[]) {
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const rss = samples.map((sample) => sample.rssBytes);
  const cpu = windows(samples, 10);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    seconds: samples.length,
    rssPeakMB: mb(Math.max(...rss)),
    rssMedianMB: mb(median(rss)),
    rssFirstMB: mb(rss[0] ?? Number.NaN),
    rssLastMB: mb(rss.at(-1) ?? Number.NaN),
    cpuPercentPer10s: {
      windows: cpu.length,
      mean: round(cpu.reduce((sum, value) => sum + value, 0) / Math.max(1, cpu.length)),
      max: round(Math.max(...cpu)),
    },
  };
}

function perMinute(samples: RelaySample[], from: number) {
  const minutes: Array<{ minute: number; reqs: number; byKind: Record<string, number> }> = [];
  let start = samples.find((sample) => sample.at >= from);
  if (!start) return { minutes, max: 0 };
  for (let minute = 1; ; minute++) {
    const end = [...samples].reverse().find((sample) => sample.at <= from + minute * 60_000);
    if (!end || end.at <= start.at) break;
    const byKind: Record<string, number> = {};
    for (const [kind, count] of Object.entries(end.reqsByKind))
      byKind[kind] = count - (start.reqsByKind[kind] ?? 0);
    minutes.push({ minute, reqs: end.reqs - start.reqs, byKind });
    if (end === samples.at(-1)) break;
    start = end;
  }
  return { minutes, max: Math.max(0, ...minutes.map((entry) => entry.reqs)) };
}

async function metricsOf(harness: Harness) {
  const json = await harness.agent.ctx.metrics.registry.getMetricsAsJSON();
  const byLabel = (name: string, label: string) => {
    const metric = json.find((entry) => entry.name === name) as
      | { values: Array<{ value: number; labels: Record<string, string | number> }> }
      | undefined;
    const result: Record<string, number> = {};
    for (const value of metric?.values ?? []) result[String(value.labels[label])] = value.value;
    return result;
  };
  return {
    inboundByOutcome: byLabel('escrow_inbound_events_total', 'outcome'),
    refusedByCode: byLabel('escrow_rejections_total', 'code'),
    invalidSignaturesByRelay: byLabel('escrow_invalid_signatures_total', 'relay'),
  };
}

async function main(): Promise<void> {
  const minutes = Number(argument('--minutes') ?? 10);
  const lifecyclesA = Number(argument('--lifecycles') ?? 10);
  const closedAt = argument('--closed-at') ?? 'latest';
  const phaseMs = minutes * 60_000;
  // A watchdog: whatever happens, this process ends.
  setTimeout(
    () => {
      console.error('bench: watchdog, giving up');
      process.exit(2);
    },
    phaseMs + 10 * 60_000,
  ).unref();

  const folder = mkdtempSync(join(tmpdir(), 'escrow-hostile-bench-'));
  const databasePath = join(folder, 'escrow.db');
  // The pool's production settings (no `pool` option: default backoff and budgets).
  const harness = await startHarness({ databaseUrl: `sqlite:${databasePath}`, agent: { pool: {} } });
  const samples: Sample[] = [];
  let phase: Sample['phase'] = 'A';
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  const sampler = setInterval(() => {
    const cpu = process.cpuUsage(lastCpu);
    const now = performance.now();
    samples.push({
      at: Date.now(),
      phase,
      rssBytes: process.memoryUsage().rss,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (now - lastAt)) * 100,
    });
    lastCpu = process.cpuUsage();
    lastAt = now;
  }, 1000);

  const genuine = new Set<string>();
  const without: number[] = [];
  const withBad: number[] = [];
  const failures: string[] = [];
  let relayChildHandle: Awaited<ReturnType<typeof startRelayChild>> | null = null;
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    minutes,
    closedFloodAt: closedAt,
  };
  try {
    console.log(`phase A: ${lifecyclesA} lifecycles, honest relay only`);
    for (let index = 0; index < lifecyclesA; index++) {
      without.push(await lifecycle(harness, AMOUNT + BigInt(index), null, genuine));
    }
    const phaseAInbound = await metricsOf(harness);

    relayChildHandle = await startRelayChild(closedAt, phaseMs + 5 * 60_000);
    const hostileUrl = relayChildHandle.url;
    console.log(
      `phase B: ${minutes} min with the hostile relay ${hostileUrl} (child pid ${relayChildHandle.child.pid})`,
    );
    await harness.restartAgent({
      relays: [
        { url: harness.relay.url, read: true, write: true },
        { url: hostileUrl, read: true, write: true },
      ],
    });
    phase = 'B';
    const phaseStart = Date.now();
    const deadline = phaseStart + phaseMs;
    let lastPrint = phaseStart;
    for (let index = 0; index < MAX_LIFECYCLES && Date.now() < deadline; index++) {
      try {
        withBad.push(await lifecycle(harness, AMOUNT + 10_000n + BigInt(index), hostileUrl, genuine));
      } catch (error) {
        failures.push((error as Error).message);
        if (failures.length > 20) break;
      }
      if (Date.now() - lastPrint > 60_000) {
        lastPrint = Date.now();
        const last = samples.at(-1);
        console.log(
          `  ${Math.round((Date.now() - phaseStart) / 1000)} s: ${withBad.length} lifecycles, rss ${Math.round((last?.rssBytes ?? 0) / 2 ** 20)} MB, relay REQs ${relayChildHandle.samples.at(-1)?.reqs}`,
        );
      }
    }
    await harness.agent.settle();
    // A last second of relay samples, then the relay goes.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const health = harness.agent.pool.relayHealth();
    const metrics = await metricsOf(harness);
    const database = new Database(databasePath, { readonly: true, fileMustExist: true });
    const inbound = database
      .prepare('SELECT status, pubkey, COUNT(*) AS count FROM inbound_events GROUP BY status, pubkey')
      .all() as Array<{ status: string; pubkey: string; count: number }>;
    const handledIds = new Set(
      (
        database.prepare("SELECT id FROM inbound_events WHERE status = 'handled'").all() as Array<{
          id: string;
        }>
      ).map((row) => row.id),
    );
    database.close();
    const people = new Set([harness.poster.pubkey, harness.worker.pubkey]);
    const count = (predicate: (row: { status: string; pubkey: string }) => boolean) =>
      inbound.filter(predicate).reduce((sum, row) => sum + row.count, 0);
    const hostileHealth = health.find((entry) => entry.url === hostileUrl) ?? null;
    const honestHealth = health.find((entry) => entry.url !== hostileUrl) ?? null;
    const reqs = perMinute(relayChildHandle.samples, phaseStart);
    const medianA = summarise(without);
    const medianB = summarise(withBad);
    const phaseB = samples.filter((sample) => sample.phase === 'B');
    Object.assign(report, {
      summary: {
        reqsToBadRelayPerMinute: { max: reqs.max, each: reqs.minutes.map((entry) => entry.reqs) },
        agentRss: {
          phaseB: { peakMB: resources(phaseB).rssPeakMB, medianMB: resources(phaseB).rssMedianMB },
        },
        agentCpuPercentPer10s: resources(phaseB).cpuPercentPer10s,
        eventsRefusedByClass: metrics.refusedByCode,
        inboundByOutcome: metrics.inboundByOutcome,
        genuineEventsHandled: {
          recordsHandled: count((row) => row.status === 'handled'),
          recordsHandledOfPeople: count((row) => row.status === 'handled' && people.has(row.pubkey)),
          genuineSent: genuine.size,
          genuineRecordedHandled: [...genuine].filter((id) => handledIds.has(id)).length,
        },
        approveToPaidMs: {
          withoutBadRelay: medianA,
          withBadRelay: medianB,
          ratioMedian: Math.round((medianB.median / medianA.median) * 100) / 100,
          ratioP95: Math.round((medianB.p95 / medianA.p95) * 100) / 100,
        },
        lifecycles: { phaseA: without.length, phaseB: withBad.length, failed: failures.length },
      },
      reqsToBadRelayPerMinute: reqs,
      resources: {
        phaseA: resources(samples.filter((sample) => sample.phase === 'A')),
        phaseB: resources(phaseB),
      },
      metrics: { phaseA: phaseAInbound, phaseB: metrics },
      inboundRecords: inbound.map((row) => ({
        status: row.status,
        who: people.has(row.pubkey)
          ? 'poster/worker'
          : row.pubkey === relayChildHandle?.forgerPubkey
            ? 'hostile relay key (re-signed copies)'
            : row.pubkey,
        count: row.count,
      })),
      relayHealth: { hostile: hostileHealth, honest: honestHealth },
      hostileRelayProcess: relayChildHandle.samples.at(-1) ?? null,
      failures,
      note: 'one run on a shared machine. Phase A: honest relay only; phase B: the agent restarted on the same store and nodes with the hostile relay added (child process, every misbehaviour, floods throughout). approve -> paid: from the honest relay accepting the approval to the paid label readable there (polled every 20 ms). RSS/CPU: this process (agent, honest relay, LDK nodes, clients), not the hostile relay',
    });
  } catch (error) {
    report.error = (error as Error).stack ?? String(error);
  } finally {
    clearInterval(sampler);
    if (relayChildHandle) await stopChild(relayChildHandle.child);
    await harness.stop().catch(() => {});
    rmSync(folder, { recursive: true, force: true });
  }
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(new URL('./hostile-relays.json', import.meta.url), text);
  console.log(JSON.stringify(report.summary ?? report, null, 2));
  console.log('wrote bench/hostile-relays.json');
  process.exit(0);
}

if (process.argv.includes(CHILD_FLAG)) await relayChild();
else await main();
