// Scale figures of replicas (issue #16, item 5): 1, 2 and 3 agent replicas on one PostgreSQL, one after another in
// the same run, each driven by the crash-torture harness without kills (scripts/torture/run.ts --kinds paid
// --kill-rate 0 --kill-after-approval 0): real processes (a relay, the LDK sandbox behind NIP-47 in a wallet
// process, the built `escrow-agent start` replicas, PostgreSQL), `paid` lifecycles only (post, pay, claim, submit,
// approve), `concurrency` at once. For each: lifecycles a minute, approval -> `paid` event (median, p95), whether
// every torture check passed, and the CPU each kind of process used while driving (from /proc, in cores: 1.0 is one
// core busy all the time), which says where the ceiling is on this machine.
//   npx tsx bench/replicas.ts [tasks]      prints the figures as JSON
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = new URL('..', import.meta.url).pathname;
/** Clock ticks a second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS = 100;

interface TortureReport {
  ok: boolean;
  seconds: number;
  lifecycles: { total: number; failed: number };
  throughput: {
    drivingSeconds: number;
    lifecyclesPerMinute: number;
    approvalToPaidMs: { count: number; median: number | null; p95: number | null };
  };
  checks: Array<{ name: string; ok: boolean }>;
}

type ProcessKind = 'agents' | 'wallet (LDK nodes)' | 'relay' | 'postgres' | 'driver';

/** CPU ticks used so far by the processes of one torture run, by kind (each pid's latest cumulative figure). */
function sampleCpu(
  folder: string,
  database: string | null,
  driverPid: number,
  seen: Map<number, [ProcessKind, number]>,
) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let cmdline: string;
    let stat: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    let kind: ProcessKind | null = null;
    if (pid === driverPid) kind = 'driver';
    else if (cmdline.includes(folder) && cmdline.includes('escrow-agent')) kind = 'agents';
    else if (cmdline.includes(folder) && cmdline.includes('wallet-process')) kind = 'wallet (LDK nodes)';
    else if (cmdline.includes(folder) && cmdline.includes('relay-process')) kind = 'relay';
    else if (database !== null && cmdline.startsWith('postgres:') && cmdline.includes(database))
      kind = 'postgres';
    if (kind === null) continue;
    // Fields after the command name in parentheses: utime and stime are the 12th and 13th of the rest.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    seen.set(pid, [kind, Number(fields[11]) + Number(fields[12])]);
  }
}

function runTorture(replicas: number, tasks: number, concurrency: number, reportFile: string) {
  return new Promise<{ code: number | null; output: string; cores: Record<string, number> }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'scripts/torture/run.ts'),
        ...['--db', 'postgres', '--replicas', String(replicas), '--kinds', 'paid'],
        ...['--kill-rate', '0', '--kill-after-approval', '0'],
        ...['--tasks', String(tasks), '--concurrency', String(concurrency), '--seed', '1600'],
        ...['--report', reportFile],
      ],
      { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let folder: string | null = null;
    let database: string | null = null;
    let drivingFrom: Map<number, [ProcessKind, number]> | null = null;
    let drivingTo: Map<number, [ProcessKind, number]> | null = null;
    let drivingStartedAt = 0;
    let drivingSeconds = 0;
    const seen = new Map<number, [ProcessKind, number]>();
    const sampler = setInterval(() => {
      if (folder !== null && child.pid !== undefined && drivingTo === null)
        sampleCpu(folder, database, child.pid, seen);
    }, 500);
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      const text = String(chunk);
      output += text;
      folder ??= /folder (\S+)/.exec(text)?.[1] ?? null;
      database ??= /postgres database (\S+)/.exec(text)?.[1] ?? null;
      // Driving starts once every agent is up, and ends when the last lifecycle ended.
      if (drivingFrom === null && /agent up:/.test(text) && folder !== null && child.pid !== undefined) {
        sampleCpu(folder, database, child.pid, seen);
        drivingFrom = new Map(seen);
        drivingStartedAt = performance.now();
      }
      if (
        drivingTo === null &&
        drivingFrom !== null &&
        /driving done/.test(text) &&
        child.pid !== undefined
      ) {
        sampleCpu(folder!, database, child.pid, seen);
        drivingTo = new Map(seen);
        drivingSeconds = (performance.now() - drivingStartedAt) / 1000;
      }
    });
    child.on('close', (code) => {
      clearInterval(sampler);
      const cores: Record<string, number> = {};
      if (drivingFrom !== null && drivingTo !== null && drivingSeconds > 0) {
        for (const [pid, [kind, ticks]] of drivingTo) {
          const before = drivingFrom.get(pid)?.[1] ?? 0;
          cores[kind] = (cores[kind] ?? 0) + (ticks - before) / TICKS / drivingSeconds;
        }
        for (const kind of Object.keys(cores)) cores[kind] = Math.round(cores[kind]! * 100) / 100;
      }
      resolve({ code, output, cores });
    });
  });
}

export async function benchReplicas(options: { tasks?: number; concurrency?: number } = {}) {
  const tasks = options.tasks ?? 60;
  const concurrency = options.concurrency ?? 12;
  const folder = mkdtempSync(join(tmpdir(), 'escrow-bench-replicas-'));
  const runs: Record<string, unknown> = {};
  try {
    for (const replicas of [1, 2, 3]) {
      const reportFile = join(folder, `replicas-${replicas}.json`);
      const run = await runTorture(replicas, tasks, concurrency, reportFile);
      if (run.code !== 0 && run.code !== 1) {
        runs[`replicas${replicas}`] = { error: `torture exited ${run.code}: ${run.output.slice(-600)}` };
        continue;
      }
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as TortureReport;
      runs[`replicas${replicas}`] = {
        lifecyclesPerMinute: report.throughput.lifecyclesPerMinute,
        approvalToPaidMs: report.throughput.approvalToPaidMs,
        lifecycles: report.lifecycles.total,
        failed: report.lifecycles.failed,
        drivingSeconds: report.throughput.drivingSeconds,
        everyCheckPassed: report.ok,
        failedChecks: report.checks.filter((check) => !check.ok).map((check) => check.name),
        cpuCores: run.cores,
      };
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return {
    ...runs,
    tasks,
    concurrency,
    machineCores: cpus().length,
    note: 'paid lifecycles only (post, pay the hold over NIP-47, claim, submit with a payout invoice, approve), driven by scripts/torture/run.ts without kills; cpuCores: CPU time of each kind of process while driving / driving time (1.0 = one core busy); the wallet process holds the three LDK nodes (agent, payer, worker) and their NIP-47 services',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tasks = Number(process.argv[2] ?? 60);
  console.log(JSON.stringify(await benchReplicas({ tasks }), null, 2));
}
