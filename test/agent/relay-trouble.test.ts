// Relay trouble is loud: a deaf start (the relay list points at a closed port) gives one WARN line within the
// configured seconds, one INFO line when a relay is reached again, and not a line per retry; `start` says so when its
// embedded relay is not in the relay list. Real relays on 127.0.0.1, the LDK sandbox, SQLite, the real CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEmbeddedRelay } from '../../src/relay/index.ts';
import { type Harness, startHarness } from '../fakes/agent-harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The environment without the agent's configuration variables (the test sets its own). */
function withoutConfiguration(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(DATABASE_URL|NOSTR_|LIGHTNING_|AGENT_|ESCROW_|EMBEDDED_RELAY|LOG_LEVEL)/.test(key))
      delete env[key];
  }
  return env;
}

let harness: Harness;

test.before(async () => {
  harness = await startHarness();
});

test.after(async () => {
  await harness?.stop();
});

test('a deaf start warns once within the configured seconds, and says so once when a relay is reached', async () => {
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}`;
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  await harness.restartAgent({
    relays: [{ url, read: true, write: true }],
    relayTroubleSeconds: 0.5,
    log,
  });
  const deaf = await eventually('the deaf warning', () =>
    lines.find((line) => line.level === 40 && /no read relay connected/.test(line.msg)),
  );
  assert.equal(deaf.relays, [url], 'the line names the relays it cannot reach');
  const quorum = await eventually('the quorum warning', () =>
    lines.find((line) => line.level === 40 && /fewer write relays than the publish quorum/.test(line.msg)),
  );
  assert.equal(quorum.down, [url]);
  assert.is(quorum.quorum, 1);
  // The pool keeps retrying (DEBUG lines), and no second warning comes of it.
  await eventually('several retries', () =>
    lines.filter((line) => line.msg === 'relay retry').length >= 3 ? true : undefined,
  );
  assert.is(lines.filter((line) => /no read relay connected/.test(line.msg)).length, 1, 'once per change');

  const directory = await mkdtemp(join(tmpdir(), 'escrow-late-relay-'));
  const relay = await startEmbeddedRelay({ dbPath: join(directory, 'relay.sqlite'), port });
  try {
    const hearing = await eventually('the hearing-again line', () =>
      lines.find((line) => line.level === 30 && /a read relay is connected again/.test(line.msg)),
    );
    assert.equal(hearing.relays, [url]);
    await eventually('the quorum line', () =>
      lines.find((line) => line.level === 30 && /write relays take events again/.test(line.msg)),
    );
    assert.is(lines.filter((line) => /no read relay connected/.test(line.msg)).length, 1);
    await harness.stopAgent();
  } finally {
    await relay.stop();
    await rm(directory, { recursive: true, force: true });
  }
});

test('start warns, in its banner and its log, when the embedded relay is not in the relay list', async () => {
  const [embeddedPort, listedPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'escrow-start-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'escrow-agent.js'), 'start'], {
    cwd: dir,
    env: {
      ...withoutConfiguration(),
      EMBEDDED_RELAY: `127.0.0.1:${embeddedPort}`,
      NOSTR_RELAYS: `ws://127.0.0.1:${listedPort}`,
      LOG_LEVEL: 'warn',
      HTTP_PORT: '0',
    },
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await eventually(
      'the banner',
      () => (output.includes('next:') || child.exitCode !== null ? true : undefined),
      90_000,
    );
    assert.match(
      output,
      `warning:   the embedded relay ws://127.0.0.1:${embeddedPort} is not in the relay list`,
      output,
    );
    assert.match(output, /"msg":"the embedded relay is not in the relay list"/);
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
