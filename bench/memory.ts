// Memory after start (issue #15, "only what is used is loaded"): the resident set of `escrow-agent start` as a
// child process, on each kind of backend, next to the three LDK nodes alone. Each child runs the compiled CLI
// (dist/, built first when stale), is read from /proc/<pid>/status a few seconds after its banner's last line (RSS
// now, and its peak VmHWM), then stopped with SIGINT.
//   - sandbox: the defaults: the embedded relay, the LDK sandbox (three LDK nodes in WebAssembly), SQLite.
//   - remoteBackend: lightning.backend = "nwc" against the sandbox's NIP-47 wallet service, which runs in this
//     process (as bench/nwc.ts does) with a relay of its own; the agent runs no embedded relay and no LDK.
//   - ldkOnly: the three LDK nodes alone, the same way the sandbox backend starts them (on their own worker thread,
//     src/agent/sandbox-thread.ts).
// Then the same two after `lifecycles` paid lifecycles (default 400, driven by the crash-torture harness without
// kills): `afterLifecycles`, read when the driving is done. Not the 1,000 issue #15 names: the sandbox's payer has
// one channel of 10 M sat and pays 2,000 to 40,000 sat a task (21,000 on average), so its outbound capacity ends
// after about 470 lifecycles (a run of 1,000 stalled at 466 with 4,058 sat left).
// Goals: remoteBackend <= 150 MB; sandbox <= ldkOnly + 80 MB, after start and after the lifecycles. Nothing here is
// asserted.
//
//   npx tsx bench/memory.ts [--lifecycles N]   (or `npm run bench -- --only memory`)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Spawns, waits for `ready` on stdout, lets it settle, reads its memory, stops it (SIGINT, then SIGKILL). */
async function measureChild(
  command: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  settleMs: number,
): Promise<ChildMemory> {
  const started = performance.now();
  const child = spawn(process.execPath, command, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  try {
    const startSeconds = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: no start within 120 s:\n${output}`)), 120_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (ready.test(output)) {
          clearTimeout(timer);
          resolve(Math.round((performance.now() - started) / 100) / 10);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench: exited with ${code} before it started:\n${output}`));
      });
    });
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const pid = child.pid!;
    return { rssMb: mb(statusKb(pid, 'VmRSS')), peakRssMb: mb(statusKb(pid, 'VmHWM')), startSeconds };
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
 * agent's RSS and peak are read from /proc when the harness says driving is done, before it stops the agent.
 */
function afterLifecycles(tasks: number, embedded: boolean) {
  return new Promise<{ rssMb: number; peakRssMb: number; lifecycles: number; failed: number }>(
    (resolve, reject) => {
      const report = join(mkdtempSync(join(tmpdir(), 'escrow-bench-memory-report-')), 'report.json');
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'scripts/torture/run.ts'),
          ...['--kinds', 'paid', '--kill-rate', '0', '--kill-after-approval', '0'],
          ...['--tasks', String(tasks), '--concurrency', '8', '--seed', '1500', '--report', report],
          ...(embedded ? ['--embedded'] : []),
        ],
        { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      let folder: string | null = null;
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
        if (memory === null && /driving done/.test(text)) {
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
        if (memory === null || code !== 0)
          reject(new Error(`bench: the lifecycles run ended with ${code}:\n${output.slice(-3000)}`));
        else resolve({ ...memory, lifecycles, failed });
      });
    },
  );
}

const START = ['bin/escrow-agent.js', 'start'];
const BANNER_DONE = /^next:/m;

export async function benchMemory(options: { settleMs?: number; lifecycles?: number } = {}) {
  const settleMs = options.settleMs ?? 3000;
  const lifecycles = options.lifecycles ?? 400;
  ensureBuiltCli();
  const dir = mkdtempSync(join(tmpdir(), 'escrow-bench-memory-'));
  try {
    // The three LDK nodes alone, as connectLightning starts them: on a worker thread of their own (compiled, like the
    // agent), with their control socket.
    const threadModule = pathToFileURL(join(ROOT, 'dist', 'agent', 'sandbox-thread.js')).href;
    // A file, not `node -e`: a worker thread inherits the process's flags, and --input-type refuses a file entry.
    const ldkScript = join(dir, 'ldk-only.mjs');
    writeFileSync(
      ldkScript,
      `const { startSandboxThread } = await import(${JSON.stringify(threadModule)});
       const log = { warn() {}, error() {} };
       const thread = await startSandboxThread({ folder: process.argv[2], blockIntervalMs: 30_000, walletRelays: [] }, log);
       console.log('ready');
       process.on('SIGINT', () => thread.close().then(() => process.exit(0)));\n`,
    );
    const ldkOnly = await measureChild(
      [ldkScript, join(dir, 'ldk-only')],
      cleanEnvironment(),
      /^ready$/m,
      settleMs,
    );

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
        rssMb: { sandbox: sandboxAfter.rssMb, remoteBackend: remoteAfter.rssMb },
        peakRssMb: { sandbox: sandboxAfter.peakRssMb, remoteBackend: remoteAfter.peakRssMb },
        completed: { sandbox: sandboxAfter.lifecycles, remoteBackend: remoteAfter.lifecycles },
        failed: { sandbox: sandboxAfter.failed, remoteBackend: remoteAfter.failed },
        note: 'the crash-torture harness without kills, paid lifecycles 8 at a time, against one built agent on SQLite (sandbox: the one-process set-up of npm start; remoteBackend: NWC against the harness wallet process); RSS read when the driving is done',
      },
      goals: {
        remoteBackend: goal(remoteBackend.rssMb, 150, '<= 150'),
        sandbox: goal(sandbox.rssMb, ldkOnly.rssMb + 80, '<= ldkOnly + 80'),
        remoteBackendAfterLifecycles: goal(remoteAfter.rssMb, 150, '<= 150'),
        sandboxAfterLifecycles: goal(sandboxAfter.rssMb, ldkOnly.rssMb + 80, '<= ldkOnly + 80'),
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
