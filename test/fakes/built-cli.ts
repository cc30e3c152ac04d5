// The bin (bin/escrow-agent.js) runs the compiled CLI in dist/ when it is at least as new as src/, else the sources
// through tsx. Child-process tests that must run what `npm start` runs call ensureBuiltCli() first: it builds only
// when dist/ is missing or stale, and never while another test process is building (`npm run build` empties dist/
// first, so two suites building at once would pull the files out from under each other's running commands).
// `npm test` builds once before the suites (scripts/run-tests.mjs), so there this only checks.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The product's command, as `npm start` and `npx escrow-agent` run it. */
export const BIN = join(ROOT, 'bin', 'escrow-agent.js');

/** Every environment variable the agent's configuration reads (docs/configuration.md), LND's included. */
export const CONFIG_VARIABLES = [
  'DATABASE_URL',
  'NOSTR_RELAYS',
  'LIGHTNING_BACKEND',
  'LIGHTNING_URL',
  'AGENT_DATA_DIR',
  'AGENT_KEY_FILE',
  'AGENT_SECRET_KEY',
  'ESCROW_CONFIG',
  'EMBEDDED_RELAY',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'HTTP_PORT',
  'LND_SOCKET',
  'LND_CERT',
  'LND_CERT_PATH',
  'LND_MACAROON',
  'LND_MACAROON_PATH',
] as const;

/** This process's environment without any of the agent's configuration variables, plus `extra`: a command run
 * with it sees only what the test gives it, whatever the shell running the tests has set. */
export function cleanEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of CONFIG_VARIABLES) delete env[key];
  // Suites run side by side: an agent started by a test listens on any free port, not on the default 8080.
  return { ...env, HTTP_PORT: '0', ...extra };
}
const STAMP = join(ROOT, 'dist', '.built');
const LOCK = join(ROOT, '.tmp', 'build.lock');

function newestChange(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The same rule as the bin's: dist/ is used when its stamp is at least as new as every file in src/. */
export function builtCliIsFresh(): boolean {
  return existsSync(STAMP) && statSync(STAMP).mtimeMs >= newestChange(join(ROOT, 'src'));
}

function sleep(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function ensureBuiltCli(): void {
  if (builtCliIsFresh()) return;
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const deadline = Date.now() + 180_000;
  // mkdir is atomic: whoever creates the lock folder builds; the others wait for it and then find dist/ fresh.
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than a build can take was left by a killed process.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 180_000) rmdirSync(LOCK);
      if (Date.now() > deadline) throw new Error(`ensureBuiltCli: ${LOCK} held for over 3 minutes`);
      sleep(200);
    }
  }
  try {
    if (builtCliIsFresh()) return;
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  } finally {
    rmdirSync(LOCK);
  }
}
