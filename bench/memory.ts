// Memory after start (issue #15, "only what is used is loaded"): the resident set of `escrow-agent start` as a
// child process, on each kind of backend, next to the three LDK nodes alone. Each child runs the compiled CLI
// (dist/, built first when stale), is read from /proc/<pid>/status a few seconds after its banner's last line (RSS
// now, and its peak VmHWM), then stopped with SIGINT.
//   - sandbox: the defaults: the embedded relay, the LDK sandbox (three LDK nodes in WebAssembly), SQLite.
//   - remoteBackend: lightning.backend = "nwc" against the sandbox's NIP-47 wallet service, which runs in this
//     process (as bench/nwc.ts does) with a relay of its own; the agent runs no embedded relay and no LDK.
//   - ldkOnly: the three LDK nodes alone, the same way the sandbox backend starts them (on their own worker thread,
//     src/agent/sandbox-thread.ts), by bench/ldk-only.mjs.
// Then the same three after `lifecycles` paid lifecycles (default 1,000, driven by the crash-torture harness without
// kills): `afterLifecycles`, read when the driving is done (atEndOfLoadMb) and again after 60 s with nothing driven
// (rssMb: what the agent keeps; V8 gives its nursery and old-space slack back only once allocation stays low). The
// amounts are 2,000 to 8,000 sat (the torture's --amounts), not its default 2,000 to 40,000: the sandbox's payer has
// one channel of 10 M sat, which those pay out after about 470 lifecycles (a run of 1,000 stalled at 466). ldkOnly's lifecycles are the node work alone (bench/ldk-only.mjs: hold invoice, paid, settled,
// the worker paid), so the sandbox's goal after the lifecycles compares it with the nodes after the same payments.
// Goals: remoteBackend <= 150 MB; sandbox <= ldkOnly + 80 MB, after start and after the lifecycles. Nothing here is
// asserted.
//
//   npx tsx bench/memory.ts [--lifecycles N]   (or `npm run bench -- --only memory`)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSandboxWallet } from '../src/ldk/nwc-service/start-sandbox-wallet.ts';
import { startEmbeddedRelay } from '../src/relay/index.ts';
import { cleanEnvironment, ensureBuiltCli, ROOT } from '../test/fakes/built-cli.ts';

interface ChildMemory {
  rssMb: number;
  peakRssMb: number;
  /** From spawn to the banner's last line (or "ready"). */
  startSeconds: number;
}

const mb = (kilobytes: number) => Math.round(kilobytes / 102.4) / 10;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!match) throw new Error(`bench: no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** How long the agent runs idle after the lifecycles before its memory is read again: V8 gives back its young
 * generation and old-space slack only once allocation has been low for a while (about 30 to 55 s in trial runs). */
const IDLE_SECONDS = 60;

/** Each lifecycle's amount, in sat: the sandbox payer's 10 M sat channel pays 1,000 of these (about 5 M sat). */
const AMOUNTS_SAT = '2000-8000';

/** After the lifecycles: RSS at the end of the load, then RSS and peak after IDLE_SECONDS with nothing driven. */
interface Driven {
  atEndOfLoadMb: number;
  rssMb: number;
  peakRssMb: number;
  lifecycles: number;
  failed: number;
}

/**
 * Spawns, waits for `ready` in its output, lets it settle, reads its memory; with `drive`, then writes
 * "drive N MIN MAX" to its stdin (bench/ldk-only.mjs), waits for "driven OK FAILED", reads its RSS, waits
 * IDLE_SECONDS and reads it again. Stops it (SIGINT, then SIGKILL).
 */
async function measureChild(
  command: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  settleMs: number,
  drive?: number,
): Promise<ChildMemory & { driven?: Driven }> {
  const started = performance.now();
  const child = spawn(process.execPath, command, {
    cwd: ROOT,
    env,
    stdio: [drive === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const seen = (pattern: RegExp, what: string, seconds: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bench: no ${what} within ${seconds} s:\n${output}`)),
        seconds * 1000,
      );
      const exited = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`bench: exited with ${code} before its ${what}:\n${output}`));
      };
      const check = () => {
        const match = pattern.exec(output);
        if (!match) return;
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('exit', exited);
        resolve(match);
      };
      // Both streams: the banner's lines may come on either. Registered after the listeners that collect `output`.
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('exit', exited);
      check();
    });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  try {
    await seen(ready, 'start', 120);
    const startSeconds = Math.round((performance.now() - started) / 100) / 10;
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const pid = child.pid!;
    const memory = { rssMb: mb(statusKb(pid, 'VmRSS')), peakRssMb: mb(statusKb(pid, 'VmHWM')), startSeconds };
    if (drive === undefined) return memory;
    child.stdin?.write(`drive ${drive} ${AMOUNTS_SAT.replace('-', ' ')}\n`);
    const [, ok, failed] = await seen(/^driven (\d+) (\d+)$/m, 'end of driving', 3600);
    const atEndOfLoadMb = mb(statusKb(pid, 'VmRSS'));
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const driven = {
      atEndOfLoadMb,
      rssMb: mb(statusKb(pid, 'VmRSS')),
      peakRssMb: mb(statusKb(pid, 'VmHWM')),
      lifecycles: Number(ok) + Number(failed),
      failed: Number(failed),
    };
    return { ...memory, driven };
  } finally {
    await stop(child);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * The agent's memory after `tasks` lifecycles: the crash-torture harness (scripts/torture/run.ts) without kills,
 * `paid` lifecycles only (post, pay, claim, submit, approve, paid), 8 at a time, against one built `escrow-agent
 * start` on SQLite: with `embedded`, the one-process set-up of `npm start` (embedded relay, LDK sandbox, the board's
 * wallets paying and being paid through it); otherwise the agent on NWC against the harness's wallet process. The
 * agent's RSS is read from /proc when the harness says driving is done, and its RSS and peak after IDLE_SECONDS
 * with nothing driven, before the harness stops it.
 */
function afterLifecycles(tasks: number, embedded: boolean) {
  return new Promise<Driven>((resolve, reject) => {
    const report = join(mkdtempSync(join(tmpdir(), 'escrow-bench-memory-report-')), 'report.json');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'scripts/torture/run.ts'),
        ...['--kinds', 'paid', '--kill-rate', '0', '--kill-after-approval', '0'],
        ...['--tasks', String(tasks), '--concurrency', '8', '--seed', '1500', '--report', report],
        ...['--idle', String(IDLE_SECONDS), '--amounts', AMOUNTS_SAT],
        ...(embedded ? ['--embedded'] : []),
      ],
      { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let folder: string | null = null;
    let atEndOfLoadMb: number | null = null;
    let memory: { rssMb: number; peakRssMb: number } | null = null;
    const agentPid = (): number | null => {
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
          if (folder !== null && cmdline.includes(folder) && cmdline.includes('escrow-agent'))
            return Number(entry);
        } catch {
          // ended meanwhile
        }
      }
      return null;
    };
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      const text = String(chunk);
      output += text;
      folder ??= /folder (\S+)/.exec(text)?.[1] ?? null;
      if (atEndOfLoadMb === null && /driving done/.test(text)) {
        const pid = agentPid();
        if (pid !== null) atEndOfLoadMb = mb(statusKb(pid, 'VmRSS'));
      }
      if (memory === null && /idle done/.test(text)) {
        const pid = agentPid();
        if (pid !== null)
          memory = { rssMb: mb(statusKb(pid, 'VmRSS')), peakRssMb: mb(statusKb(pid, 'VmHWM')) };
      }
    });
    child.on('close', (code) => {
      let lifecycles = 0;
      let failed = 0;
      try {
        const parsed = JSON.parse(readFileSync(report, 'utf8')) as {
          lifecycles: { total: number; failed: number };
        };
        lifecycles = parsed.lifecycles.total;
        failed = parsed.lifecycles.failed;
      } catch {
        // no report: said below
      }
      rmSync(join(report, '..'), { recursive: true, force: true });
      if (memory === null || atEndOfLoadMb === null || code !== 0)
        reject(new Error(`bench: the lifecycles run ended with ${code}:\n${output.slice(-3000)}`));
      else resolve({ ...memory, atEndOfLoadMb, lifecycles, failed });
    });
  });
}

const START = ['bin/escrow-agent.js', 'start'];
const BANNER_DONE = /^next:/m;

export async function benchMemory(options: { settleMs?: number; lifecycles?: number } = {}) {
  const settleMs = options.settleMs ?? 3000;
  const lifecycles = options.lifecycles ?? 1000;
  ensureBuiltCli();
  const dir = mkdtempSync(join(tmpdir(), 'escrow-bench-memory-'));
  try {
    // The three LDK nodes alone, as connectLightning starts them (bench/ldk-only.mjs): after start, then after the
    // node work of the same number of paid lifecycles, so the sandbox's goal after the lifecycles compares like with
    // like.
    const ldkOnly = await measureChild(
      [join(ROOT, 'bench', 'ldk-only.mjs'), join(dir, 'ldk-only')],
      cleanEnvironment(),
      /^ready$/m,
      settleMs,
      lifecycles,
    );
    const ldkOnlyAfter = ldkOnly.driven!;

    // The defaults: embedded relay + sandbox (on a free port, listed as the agent's relay).
    const port = await freePort();
    const sandbox = await measureChild(
      START,
      cleanEnvironment({
        AGENT_DATA_DIR: join(dir, 'sandbox-agent'),
        EMBEDDED_RELAY: `127.0.0.1:${port}`,
        NOSTR_RELAYS: `ws://127.0.0.1:${port}`,
      }),
      BANNER_DONE,
      settleMs,
    );

    // A remote backend: NWC against the sandbox's wallet service (in this process), on a relay of its own.
    const relay = await startEmbeddedRelay({ dbPath: join(dir, 'relay.sqlite') });
    const wallet = await startSandboxWallet({
      directory: join(dir, 'wallet-sandbox'),
      relays: [relay.url],
      sandbox: { logLevel: 'error' },
    });
    let remoteBackend: ChildMemory;
    try {
      remoteBackend = await measureChild(
        START,
        cleanEnvironment({
          AGENT_DATA_DIR: join(dir, 'nwc-agent'),
          EMBEDDED_RELAY: 'off',
          NOSTR_RELAYS: relay.url,
          LIGHTNING_BACKEND: 'nwc',
          LIGHTNING_URL: wallet.uri,
        }),
        BANNER_DONE,
        settleMs,
      );
    } finally {
      await wallet.stop();
      await relay.stop();
    }

    const sandboxAfter = await afterLifecycles(lifecycles, true);
    const remoteAfter = await afterLifecycles(lifecycles, false);

    const goal = (figure: number, atMost: number, text: string) =>
      `${figure} MB (goal ${text} = ${Math.round(atMost)} MB: ${figure <= atMost ? 'met' : 'NOT met'})`;
    return {
      rssMb: { sandbox: sandbox.rssMb, remoteBackend: remoteBackend.rssMb, ldkOnly: ldkOnly.rssMb },
      peakRssMb: {
        sandbox: sandbox.peakRssMb,
        remoteBackend: remoteBackend.peakRssMb,
        ldkOnly: ldkOnly.peakRssMb,
      },
      startSeconds: {
        sandbox: sandbox.startSeconds,
        remoteBackend: remoteBackend.startSeconds,
        ldkOnly: ldkOnly.startSeconds,
      },
      afterLifecycles: {
        lifecycles,
        rssMb: { sandbox: sandboxAfter.rssMb, remoteBackend: remoteAfter.rssMb, ldkOnly: ldkOnlyAfter.rssMb },
        atEndOfLoadMb: {
          sandbox: sandboxAfter.atEndOfLoadMb,
          remoteBackend: remoteAfter.atEndOfLoadMb,
          ldkOnly: ldkOnlyAfter.atEndOfLoadMb,
        },
        peakRssMb: {
          sandbox: sandboxAfter.peakRssMb,
          remoteBackend: remoteAfter.peakRssMb,
          ldkOnly: ldkOnlyAfter.peakRssMb,
        },
        completed: {
          sandbox: sandboxAfter.lifecycles,
          remoteBackend: remoteAfter.lifecycles,
          ldkOnly: ldkOnlyAfter.lifecycles,
        },
        failed: {
          sandbox: sandboxAfter.failed,
          remoteBackend: remoteAfter.failed,
          ldkOnly: ldkOnlyAfter.failed,
        },
        note: `the crash-torture harness without kills, paid lifecycles 8 at a time, against one built agent on SQLite (sandbox: the one-process set-up of npm start; remoteBackend: NWC against the harness wallet process; ldkOnly: the same node work at the three LDK nodes alone, bench/ldk-only.mjs); RSS read when the driving is done (atEndOfLoadMb) and ${IDLE_SECONDS} s later with nothing driven (rssMb)`,
      },
      goals: {
        remoteBackend: goal(remoteBackend.rssMb, 150, '<= 150'),
        sandbox: goal(sandbox.rssMb, ldkOnly.rssMb + 80, '<= ldkOnly + 80'),
        remoteBackendAfterLifecycles: `${goal(remoteAfter.rssMb, 150, '<= 150')}; at the end of the load ${remoteAfter.atEndOfLoadMb} MB`,
        sandboxAfterLifecycles: `${goal(sandboxAfter.rssMb, ldkOnlyAfter.rssMb + 80, '<= ldkOnly after the same lifecycles + 80')}; at the end of the load ${sandboxAfter.atEndOfLoadMb} MB against ldkOnly ${ldkOnlyAfter.atEndOfLoadMb} MB`,
      },
      note: `each a child process (node ${process.version}, the compiled CLI), RSS read from /proc ${settleMs / 1000} s after its start-up banner; remoteBackend is lightning.backend = "nwc" against the sandbox's NIP-47 service run by the bench`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--lifecycles');
  const lifecycles = at > 0 ? Number(process.argv[at + 1]) : undefined;
  console.log(JSON.stringify(await benchMemory(lifecycles === undefined ? {} : { lifecycles }), null, 2));
  process.exit(0);
}
