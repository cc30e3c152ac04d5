// Verify figures (issue #12): how long anyone takes to check the agent's tasks from relay history alone, over the
// history bench/rebuild.ts generates and publishes to a local relay (the same relay when `npm run bench` runs both
// sections; see loadRelay there).
//   - one task: `escrow-agent verify TASK` as the command runs it (runVerify in this process, JSON output), and the
//     same work split in two: fetching the task's events (fetchAll with the filters verify asks: the agent's labels
//     on the task, the payout invoices given for it, the listing, then the actions its transitions name) and
//     checking them (verifyTask). Median over a spread of tasks (paid, refunded, expired, disputed).
//   - --all: the built command (bin/escrow-agent.js verify --all) as a child process over every lifecycle: total
//     seconds, tasks per second, and its peak RSS (the child's own getrusage, printed as it exits).
//   - the page: dist/verify.html built afresh into a temporary folder and opened from disk in headless Chromium
//     (/usr/bin/chromium driven by playwright-core, as test/web/verify-page.test.ts does); the page's own time to a
//     verdict (data-elapsed-ms) and the time from the click, median of a few runs on different tasks. Skipped, with
//     the reason, when Chromium is missing.
// Nothing here is asserted; a run whose verdict is not "verified" is an error, not a figure.
//
//   npx tsx bench/verify.ts [--lifecycles N]   (default 10 000, --all with them; adds "verify" to bench/latest.json)
//   npm run bench                               (1 000 with --quick)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { npubEncode } from 'nostr-tools/nip19';
import { loadConfig } from '../src/agent/config.ts';
import { DEFAULT_LIMITS, runVerify } from '../src/cli/commands/verify.ts';
import { fetchAll } from '../src/cli/relay-fetch.ts';
import { verifySchnorr } from '../src/crypto/schnorr.ts';
import { KINDS } from '../src/protocol/constants.ts';
import { useSchnorrVerifier } from '../src/protocol/verify-event.ts';
import { verifyTask } from '../src/protocol/verify-task.ts';
import { BIN, cleanEnvironment, ensureBuiltCli, ROOT } from '../test/fakes/built-cli.ts';
import { type LoadedRelay, loadRelay } from './rebuild.ts';
import { summarise } from './stats.ts';

const CHROMIUM = '/usr/bin/chromium';
/** The announcement's `d` (docs/protocol.md §3), as verify asks for it. */
const ANNOUNCEMENT_D = 'nostr-escrow';

export interface VerifyBenchOptions {
  lifecycles: number;
  /** Tasks timed one by one (command, fetch, verifyTask). */
  singleTasks?: number;
  /** Runs of the page. */
  pageRuns?: number;
  /** The relay the rebuild section loaded (left running); without it one is generated and stopped here. */
  loaded?: LoadedRelay;
}

export async function benchVerify(options: VerifyBenchOptions) {
  useSchnorrVerifier(verifySchnorr); // runVerify runs in this process: verify as the command line's main() does
  const loaded = options.loaded ?? (await loadRelay(options.lifecycles));
  const dir = mkdtempSync(join(tmpdir(), 'escrow-bench-verify-'));
  try {
    const { history, relay } = loaded;
    const ids = history.tasks.map(({ task }) => task.id);
    // A spread of tasks: every lifecycle kind comes round once in 20 (bench/rebuild.ts kindOf).
    const sample = spread(ids, options.singleTasks ?? 20);
    const oneTask = await benchOneTask(dir, relay.url, history.agent, sample);
    const all = await benchAll(dir, relay.url, history.agent, ids.length);
    const page = await benchPage(dir, relay.url, history.agent, spread(ids, options.pageRuns ?? 5));
    return {
      lifecycles: ids.length,
      events: history.events.length,
      oneTask,
      all,
      page,
    };
  } finally {
    if (!options.loaded) await loaded.relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `count` items spread evenly over `items`, offset so that each kind of lifecycle (index mod 20) comes up. */
function spread<T>(items: readonly T[], count: number): T[] {
  const step = Math.max(1, Math.floor(items.length / count));
  const out: T[] = [];
  for (let index = 0; out.length < Math.min(count, items.length); index += 1) {
    out.push(items[(index * step + index) % items.length]!);
  }
  return out;
}

// ------------------------------------------------------------------------------------------- one task

async function benchOneTask(dir: string, relayUrl: string, agent: string, taskIds: string[]) {
  const config = loadConfig({
    env: {
      AGENT_DATA_DIR: join(dir, 'one'),
      NOSTR_RELAYS: relayUrl,
      EMBEDDED_RELAY: 'off',
      LOG_LEVEL: 'warn',
    },
    cwd: dir,
  });
  const command: number[] = [];
  const fetching: number[] = [];
  const verifying: number[] = [];
  let events = 0;
  for (const taskId of taskIds) {
    // The command, end to end (its relay list and announcement fetch included).
    const lines: string[] = [];
    const began = performance.now();
    const code = await runVerify(
      config,
      { out: (line) => lines.push(line), err: (line) => lines.push(line) },
      [taskId, '--agent', agent, '--relay', relayUrl, '--json'],
      { progress: null, limits: DEFAULT_LIMITS },
    );
    command.push(performance.now() - began);
    if (code !== 0) throw new Error(`verify ${taskId} exited ${code}: ${lines.join('\n').slice(0, 2000)}`);

    // The same work in two parts: fetching (as verify's verifyBatch asks, for one task) and checking.
    const fetchStarted = performance.now();
    const fetched = await fetchTask(relayUrl, agent, taskId);
    fetching.push(performance.now() - fetchStarted);
    events += fetched.events.length;
    const verifyStarted = performance.now();
    const verification = verifyTask({
      agentPubkey: agent,
      taskId,
      events: fetched.events,
      announcement: fetched.announcement,
    });
    verifying.push(performance.now() - verifyStarted);
    if (!verification.ok) throw new Error(`task ${taskId}: ${verification.problems.join('; ')}`);
  }
  return {
    tasks: taskIds.length,
    eventsPerTask: Math.round((events / taskIds.length) * 10) / 10,
    commandMs: summarise(command),
    fetchMs: summarise(fetching),
    verifyTaskMs: summarise(verifying),
    notes: [
      'commandMs: runVerify (escrow-agent verify TASK --json) in this process, from the relay list to the report',
      'fetchMs: fetchAll of the announcement, then the filters verify asks for one task, in its two rounds; verifyTaskMs: verifyTask on what came back',
    ],
  };
}

async function fetchTask(relayUrl: string, agent: string, taskId: string) {
  const options = {
    pageSize: DEFAULT_LIMITS.pageSize,
    maxEvents: DEFAULT_LIMITS.maxEvents,
    timeoutMs: 10_000,
  };
  const identity = await fetchAll(
    [relayUrl],
    [
      { kinds: [KINDS.relayList], authors: [agent] },
      { kinds: [KINDS.handler], authors: [agent], '#d': [ANNOUNCEMENT_D] },
    ],
    options,
  );
  const announcement =
    identity.events
      .filter((event) => event.kind === KINDS.handler)
      .sort((a, b) => b.created_at - a.created_at)[0] ?? null;
  const first = await fetchAll(
    [relayUrl],
    [
      { kinds: [KINDS.label], authors: [agent], '#e': [taskId] },
      { kinds: [KINDS.label], '#e': [taskId], '#l': ['payout_invoice'] },
      { ids: [taskId] },
    ],
    options,
  );
  const have = new Set(first.events.map((event) => event.id));
  const named = new Set<string>();
  for (const event of first.events) {
    if (event.pubkey !== agent) continue;
    for (const tag of event.tags) {
      if (tag[0] === 'e' && ['cause', 'verdict', 'dissent'].includes(tag[3] ?? '') && !have.has(tag[1]!)) {
        named.add(tag[1]!);
      }
    }
  }
  const second = named.size > 0 ? await fetchAll([relayUrl], [{ ids: [...named] }], options) : null;
  return { events: [...first.events, ...(second?.events ?? [])], announcement };
}

// ------------------------------------------------------------------------------------------- --all

/** Printed by the child as it exits: its peak resident set (getrusage's maxrss, KiB on Linux). */
const PEAK_RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => writeSync(2, "\\npeak-rss-kib " + process.resourceUsage().maxRSS + "\\n"));',
)}`;

async function benchAll(dir: string, relayUrl: string, agent: string, tasks: number) {
  ensureBuiltCli();
  const env = cleanEnvironment({
    AGENT_DATA_DIR: join(dir, 'all'),
    NOSTR_RELAYS: relayUrl,
    EMBEDDED_RELAY: 'off',
    LOG_LEVEL: 'warn',
  });
  const args = ['verify', '--all', '--agent', npubEncode(agent), '--relay', relayUrl];
  const began = performance.now();
  // Asynchronous: the relay answering it runs in this process.
  const ended = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, ['--import', PEAK_RSS_HOOK, BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
  const seconds = (performance.now() - began) / 1000;
  const verdict = ended.stdout.trim().split('\n').at(-1) ?? '';
  if (ended.code !== 0 || !verdict.startsWith(`VERIFIED: all ${tasks} tasks`)) {
    throw new Error(`verify --all exited ${ended.code}: ${verdict}\n${ended.stderr.slice(0, 2000)}`);
  }
  const peakKib = Number(/peak-rss-kib (\d+)/.exec(ended.stderr)?.[1] ?? Number.NaN);
  return {
    command: `escrow-agent ${args.join(' ').replace(relayUrl, '<the local relay>')}`,
    tasks,
    totalSeconds: Math.round(seconds * 10) / 10,
    tasksPerSecond: Math.round((tasks / seconds) * 10) / 10,
    peakRssMb: Math.round(peakKib / 1024),
    notes: ['the built command as a child process; its time includes starting Node (about 0.2 s)'],
  };
}

// ------------------------------------------------------------------------------------------- the page

async function benchPage(dir: string, relayUrl: string, agent: string, taskIds: string[]) {
  if (!existsSync(CHROMIUM)) {
    return { skipped: `${CHROMIUM} is missing (Debian: apt-get install -y chromium)` };
  }
  const page = join(dir, 'verify.html');
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-verify-page.mjs'), '--out', page], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`the page build failed: ${built.stderr}`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  const inPage: number[] = [];
  const fromClick: number[] = [];
  try {
    const tab = await browser.newPage();
    for (const taskId of taskIds) {
      await tab.goto(pathToFileURL(page).href);
      await tab.fill('#task', taskId);
      await tab.fill('#agent', npubEncode(agent));
      await tab.fill('#relays', relayUrl);
      const began = performance.now();
      await tab.click('#verify');
      const verdict = await tab.waitForSelector('#result:not([hidden]) #verdict[data-verdict]', {
        timeout: 60_000,
      });
      fromClick.push(performance.now() - began);
      const state = await verdict.getAttribute('data-verdict');
      if (state !== 'verified') {
        throw new Error(`the page says ${state} for task ${taskId}: ${await verdict.textContent()}`);
      }
      inPage.push(Number(await verdict.getAttribute('data-elapsed-ms')));
    }
  } finally {
    await browser.close();
  }
  return {
    runs: taskIds.length,
    verdictInPageMs: summarise(inPage),
    clickToVerdictMs: summarise(fromClick),
    notes: [
      'dist/verify.html opened from disk in headless Chromium, one relay on 127.0.0.1 holding every lifecycle; in the page: from pressing Verify to the verdict drawn (data-elapsed-ms)',
    ],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const at = process.argv.indexOf('--lifecycles');
  const lifecycles = at > 0 ? Number(process.argv[at + 1]) : 10_000;
  const figures = await benchVerify({ lifecycles });
  console.log('verify:', JSON.stringify(figures, null, 2));
  const file = new URL('./latest.json', import.meta.url);
  const report = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
    : {
        date: new Date().toISOString(),
        node: process.version,
        machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
      };
  report.verify = { date: new Date().toISOString(), ...figures };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log('wrote "verify" into bench/latest.json');
  process.exit(0);
}
