// Every expected operator error, as the operator meets it: the real command (bin/escrow-agent.js, on the compiled
// dist/) in a fresh folder, one row per case: its exit code, the key words of its one message, and never a stack
// trace. Rows run as child processes, several at a time, each with a deadline (a command that hangs fails its row).
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, cleanEnvironment, ensureBuiltCli } from '../fakes/built-cli.ts';

const STACK_FRAME = /^\s+at /m;
const CONCURRENCY = 6;
const DEADLINE_MS = 15_000;
const TEST_DATABASE_URL = process.env.DATABASE_URL; // the throwaway PostgreSQL of scripts/run-tests.mjs, if any
/** Relays that refuse at once and no embedded relay: start stops on its first problem without waiting. */
const OFFLINE = { EMBEDDED_RELAY: 'off', NOSTR_RELAYS: 'ws://127.0.0.1:9' };
const NWC_SECRET = 'c0ffee'.repeat(10) + 'c0ff';

interface Row {
  name: string;
  args: string[];
  env?: Record<string, string>;
  prepare?: (dir: string) => void | Promise<void>;
  code: number;
  /** Words the message (stderr, or stdout for a success) must hold. */
  says: Array<string | RegExp>;
  /** Read stdout instead of stderr. */
  stdout?: boolean;
  /** Close the command's stdout before it writes (as `| head` does once it has its lines). */
  closeStdout?: boolean;
  /** Checked after the run, with the folder. */
  after?: (dir: string, run: Run) => void;
  skip?: string;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runRow(row: Row, dir: string): Promise<Run> {
  const clean = cleanEnvironment();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...row.args], { cwd: dir, env: { ...clean, ...row.env } });
    let stdout = '';
    let stderr = '';
    if (row.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, DEADLINE_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** A stand-in for the sandbox's control socket: `ln` asks it for the nodes and to mine; it records the calls. */
async function fakeControlSocket(
  dir: string,
  workerCanReceiveMsat: string,
): Promise<Server & { calls: string[] }> {
  const folder = join(dir, 'data', 'sandbox');
  mkdirSync(folder, { recursive: true });
  const calls: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      calls.push(`${request.method} ${request.url} ${body}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      if (request.url === '/info') {
        const node = { nodeId: '02'.padEnd(66, '0'), localBalanceMsat: '0', channels: [] };
        response.end(
          JSON.stringify({
            height: 101,
            nodes: { worker: { ...node, remoteBalanceMsat: workerCanReceiveMsat } },
          }),
        );
      } else if (request.url === '/mine') response.end(JSON.stringify({ height: 102 }));
      else response.end(JSON.stringify({ bolt11: 'lnbcrt1fake' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(join(folder, 'control.sock'), resolve));
  return Object.assign(server, { calls });
}

const servers: Server[] = [];
const isRoot = process.getuid?.() === 0;

const ROWS: Row[] = [
  {
    name: 'a bad NOSTR_RELAYS names the variable, the entry and the rule',
    args: ['check-config'],
    env: { NOSTR_RELAYS: 'ws://ok.example,http://x' },
    code: 2,
    says: ['nostr.relays', 'NOSTR_RELAYS entry 2: "http://x"', 'ws:// or wss://'],
  },
  {
    name: 'NOSTR_RELAYS with credentials in a URL: start refuses, and the password is not printed',
    args: ['start'],
    env: { EMBEDDED_RELAY: 'off', NOSTR_RELAYS: 'ws://alice:hunter2@relay.example' },
    code: 2,
    says: ['NOSTR_RELAYS', 'must not contain a user name or password'],
    after: (_dir, run) => assert.not.match(run.stderr, 'hunter2'),
  },
  {
    name: 'an agent key file readable by others: the chmod to run',
    args: ['start'],
    env: OFFLINE,
    prepare: (dir) => {
      mkdirSync(join(dir, 'data'), { mode: 0o700 });
      writeFileSync(join(dir, 'data', 'agent.key'), `${'ab'.repeat(32)}\n`, { mode: 0o644 });
      chmodSync(join(dir, 'data', 'agent.key'), 0o644);
    },
    code: 2,
    says: ['agent.key', 'chmod 600'],
  },
  {
    name: 'an agent key file that is not a key: what it must hold',
    args: ['start'],
    env: OFFLINE,
    prepare: (dir) => {
      mkdirSync(join(dir, 'data'), { mode: 0o700 });
      writeFileSync(join(dir, 'data', 'agent.key'), 'not a key\n', { mode: 0o600 });
    },
    code: 2,
    says: ['agent.key', '64 lowercase hex'],
  },
  {
    name: 'an agent key path that is a folder: what to put there',
    args: ['start'],
    env: OFFLINE,
    prepare: (dir) => {
      mkdirSync(join(dir, 'data', 'agent.key'), { recursive: true, mode: 0o700 });
    },
    code: 2,
    says: ['agent.key', 'is not a file'],
  },
  {
    name: 'a data folder that is a file',
    args: ['start'],
    env: { ...OFFLINE, AGENT_DATA_DIR: 'data' },
    prepare: (dir) => writeFileSync(join(dir, 'data'), ''),
    code: 2,
    says: ['data folder', 'is a file, not a folder', 'AGENT_DATA_DIR'],
  },
  {
    name: 'a data folder inside a file',
    args: ['migrate'],
    env: { AGENT_DATA_DIR: 'file/data' },
    prepare: (dir) => writeFileSync(join(dir, 'file'), ''),
    code: 2,
    says: ['data folder', 'cannot be created', 'is a file, not a folder', 'AGENT_DATA_DIR'],
  },
  {
    name: 'a data folder this user cannot write',
    skip: isRoot
      ? 'root writes every folder (the /proc row covers a folder that cannot hold files)'
      : undefined,
    args: ['migrate'],
    env: { AGENT_DATA_DIR: 'locked/data' },
    prepare: (dir) => mkdirSync(join(dir, 'locked'), { mode: 0o500 }),
    code: 2,
    says: ['data folder', 'not writable (EACCES)', 'AGENT_DATA_DIR'],
  },
  {
    name: 'a data folder under /proc fails at once instead of hanging',
    args: ['migrate'],
    env: { AGENT_DATA_DIR: '/proc/escrow-agent-test' },
    code: 2,
    says: ['/proc/escrow-agent-test', 'pseudo-filesystem', 'AGENT_DATA_DIR'],
  },
  {
    name: 'PostgreSQL that refuses the connection (nothing listening)',
    args: ['migrate'],
    env: { DATABASE_URL: 'postgres://escrow:hunter2@127.0.0.1:9/escrow' },
    code: 2,
    says: ['cannot reach PostgreSQL at 127.0.0.1:9/escrow (ECONNREFUSED)', 'start the server'],
    after: (_dir, run) => assert.not.match(run.stderr, 'hunter2'),
  },
  {
    name: 'PostgreSQL that refuses the login (a wrong password)',
    skip: TEST_DATABASE_URL?.startsWith('postgres') ? undefined : 'no PostgreSQL server for this run',
    args: ['migrate'],
    env: {
      DATABASE_URL: (TEST_DATABASE_URL ?? '').replace(/\/\/([^:/@]+)(:[^@]*)?@/, '//$1:wrong-Passw0rd@'),
    },
    code: 2,
    says: ['refused the connection', 'correct the user, password or database name'],
    after: (_dir, run) => assert.not.match(run.stderr, 'wrong-Passw0rd'),
  },
  {
    name: 'an @ in the database password: percent-encode it',
    args: ['migrate'],
    env: { DATABASE_URL: 'postgres://escrow:p@ss@127.0.0.1:9/escrow' },
    code: 2,
    says: ['database.url', 'contains "@"', '%40', '(DATABASE_URL)'],
    after: (_dir, run) => assert.not.match(run.stderr, 'p@ss@'),
  },
  {
    name: 'EMBEDDED_RELAY with a port out of range',
    args: ['start'],
    env: { EMBEDDED_RELAY: '127.0.0.1:99999', NOSTR_RELAYS: 'ws://127.0.0.1:9' },
    code: 2,
    says: ['nostr.embedded_relay', 'from 1 to 65535', 'EMBEDDED_RELAY="127.0.0.1:99999"'],
  },
  {
    name: 'AGENT_SECRET_KEY that is not a valid nsec: start',
    args: ['start'],
    env: { ...OFFLINE, AGENT_SECRET_KEY: 'nsec1bogusbogusbogus' },
    code: 2,
    says: ['AGENT_SECRET_KEY is not a usable secret key', 'nsec1', 'value is not shown'],
    after: (dir, run) => {
      assert.not.match(run.stderr, 'bogusbogus');
      assert.throws(() => statSync(join(dir, 'data')), /ENOENT/, 'nothing is created');
    },
  },
  {
    name: 'AGENT_SECRET_KEY that is not a usable key: check-config too',
    args: ['check-config'],
    env: { NOSTR_RELAYS: 'ws://127.0.0.1:9', AGENT_SECRET_KEY: '00'.repeat(32) },
    code: 2,
    says: ['AGENT_SECRET_KEY is not a usable secret key'],
  },
  {
    name: 'output piped into a reader that stopped (| head): ends quietly with the exit code',
    args: ['check-config'],
    env: { NOSTR_RELAYS: 'ws://127.0.0.1:9' },
    closeStdout: true,
    code: 0,
    says: [],
    after: (_dir, run) => assert.is(run.stderr, ''),
  },
  {
    name: 'a TOML syntax error keeps the line, the column and the caret',
    args: ['check-config', '--config', 'bad.toml'],
    prepare: (dir) => writeFileSync(join(dir, 'bad.toml'), '[policy]\nfee_ppm = = 3\n'),
    code: 2,
    says: ['bad.toml is not valid TOML at line 2, column 11', 'fee_ppm = = 3', /\n\s+\^/],
  },
  {
    name: 'check-config refuses an NWC URI that start would refuse',
    args: ['check-config'],
    env: {
      NOSTR_RELAYS: 'ws://127.0.0.1:9',
      LIGHTNING_BACKEND: 'nwc',
      LIGHTNING_URL: 'nostr+walletconnect://nope',
    },
    code: 2,
    says: ['lightning (nwc): the NWC connection URI', 'public key'],
  },
  {
    name: 'check-config refuses an NWC URI without a valid secret, and never prints it',
    args: ['check-config'],
    env: {
      NOSTR_RELAYS: 'ws://127.0.0.1:9',
      LIGHTNING_BACKEND: 'nwc',
      LIGHTNING_URL: `nostr+walletconnect://${'b'.repeat(64)}?relay=wss://r.example&secret=${NWC_SECRET}zz`,
    },
    code: 2,
    says: ['lightning (nwc)', 'secret must be 64 lowercase hex'],
    after: (_dir, run) => assert.not.match(run.stderr + run.stdout, NWC_SECRET),
  },
  {
    name: 'check-config refuses LND settings without a socket',
    args: ['check-config'],
    env: { NOSTR_RELAYS: 'ws://127.0.0.1:9', LIGHTNING_BACKEND: 'lnd' },
    code: 2,
    says: ['lightning (lnd)', 'LND_SOCKET'],
  },
  {
    name: 'check-config refuses an LND macaroon that is neither base64 nor hex',
    args: ['check-config'],
    env: {
      NOSTR_RELAYS: 'ws://127.0.0.1:9',
      LIGHTNING_BACKEND: 'lnd',
      LND_SOCKET: '127.0.0.1:10009',
      LND_MACAROON: 'not a macaroon!',
    },
    code: 2,
    says: ['lightning (lnd)', 'neither base64 nor hex'],
  },
  {
    name: 'check-config refuses an LND macaroon file that cannot be read',
    args: ['check-config'],
    env: {
      NOSTR_RELAYS: 'ws://127.0.0.1:9',
      LIGHTNING_BACKEND: 'lnd',
      LND_SOCKET: '127.0.0.1:10009',
      LND_MACAROON_PATH: '/nonexistent/admin.macaroon',
    },
    code: 2,
    says: ['lightning (lnd)', 'LND_MACAROON_PATH', 'cannot be read (ENOENT)'],
  },
  {
    name: 'check-config on a good configuration says what it did not check',
    args: ['check-config'],
    env: {
      NOSTR_RELAYS: 'ws://127.0.0.1:9',
      LIGHTNING_BACKEND: 'lnd',
      LND_SOCKET: '127.0.0.1:10009',
      LND_MACAROON: '0201036c6e6402f801',
    },
    code: 0,
    stdout: true,
    says: ['LND settings parsed: socket 127.0.0.1:10009', 'configuration OK', 'not checked:', 'reachable'],
    after: (_dir, run) => assert.not.match(run.stdout, '0201036c6e64'),
  },
  {
    name: "relative paths in the file resolve against the file's folder",
    args: ['check-config', '--config', 'etc/escrow-agent.toml'],
    prepare: (dir) => {
      mkdirSync(join(dir, 'etc'));
      writeFileSync(
        join(dir, 'etc', 'escrow-agent.toml'),
        '[agent]\ndata_dir = "state"\n[nostr]\nrelays_file = "relays.json"\n',
      );
      writeFileSync(join(dir, 'etc', 'relays.json'), '{"relays":[{"url":"wss://relay.example"}]}');
    },
    code: 0,
    stdout: true,
    says: [
      /data folder: +\S+\/etc\/state /,
      /relays: +wss:\/\/relay\.example \(read\+write\) from \S+\/etc\/relays\.json/,
    ],
  },
  {
    name: 'relative paths from the environment resolve against the working folder',
    args: ['check-config', '--config', 'etc/escrow-agent.toml'],
    env: { AGENT_DATA_DIR: 'here' },
    prepare: (dir) => {
      mkdirSync(join(dir, 'etc'));
      writeFileSync(join(dir, 'etc', 'escrow-agent.toml'), '[agent]\ndata_dir = "state"\n');
      writeFileSync(join(dir, 'relays.json'), '{"relays":[{"url":"wss://relay.example"}]}');
    },
    code: 0,
    stdout: true,
    says: [/data folder: +\/\S+\/here /],
    after: (_dir, run) => assert.not.match(run.stdout, '/etc/here'),
  },
  {
    name: 'verify-db on a folder with no database refuses, and creates nothing',
    args: ['verify-db'],
    code: 2,
    says: ['no database at', 'escrow.db', 'check --config / AGENT_DATA_DIR'],
    after: (dir) => assert.throws(() => statSync(join(dir, 'data')), /ENOENT/),
  },
  {
    name: 'ln mine takes plain digits only: 1e3 is refused, nothing is mined',
    args: ['ln', 'mine', '1e3'],
    prepare: async (dir) => {
      servers.push(await fakeControlSocket(dir, '1000000000'));
    },
    code: 2,
    says: ['mine takes a whole number of blocks from 1 to 10000'],
    after: () =>
      assert.not.ok(
        servers.some((server) =>
          (server as Server & { calls: string[] }).calls.some((call) => call.startsWith('POST /mine')),
        ),
        'nothing mined',
      ),
  },
  {
    name: 'ln mine has an upper bound',
    args: ['ln', 'mine', '100001'],
    prepare: async (dir) => {
      servers.push(await fakeControlSocket(dir, '1000000000'));
    },
    code: 2,
    says: ['from 1 to 10000'],
  },
  {
    name: 'ln invoice above what the worker node can receive: the limit',
    args: ['ln', 'invoice', '2000000'],
    prepare: async (dir) => {
      servers.push(await fakeControlSocket(dir, '1500000000'));
    },
    code: 2,
    says: ['the worker node can receive at most 1500000 sat', 'inbound capacity'],
  },
  {
    name: 'ln on a stale control socket: no sandbox is running, exit 2',
    args: ['ln', 'info'],
    prepare: (dir) => {
      mkdirSync(join(dir, 'data', 'sandbox'), { recursive: true });
      writeFileSync(join(dir, 'data', 'sandbox', 'control.sock'), '');
    },
    code: 2,
    says: ['no sandbox is running', 'escrow-agent start'],
  },
];

test.before(() => {
  ensureBuiltCli();
});

test.after(() => {
  for (const server of servers) server.close();
});

test('every operator error: one message with what to fix, the exit code, no stack trace', async () => {
  const failures: string[] = [];
  const queue = ROWS.filter((row) => !row.skip);
  for (const row of ROWS) if (row.skip) console.log(`  skipped: ${row.name} (${row.skip})`);
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      const dir = mkdtempSync(join(tmpdir(), 'escrow-operator-'));
      try {
        await row.prepare?.(dir);
        // dist/ is built once, under a lock, before any suite runs it (test/fakes/built-cli.ts): no retry needed.
        const run = await runRow(row, dir);
        const text = row.stdout ? run.stdout : run.stderr;
        const problems: string[] = [];
        if (run.timedOut) problems.push(`no answer within ${DEADLINE_MS} ms`);
        if (run.code !== row.code) problems.push(`exit ${run.code}, expected ${row.code}`);
        for (const words of row.says) {
          const found = typeof words === 'string' ? text.includes(words) : words.test(text);
          if (!found) problems.push(`does not say ${String(words)}`);
        }
        if (STACK_FRAME.test(run.stderr) || STACK_FRAME.test(run.stdout))
          problems.push('prints a stack trace');
        if (row.code === 2 && run.stderr.trim() !== '' && !run.stderr.startsWith('escrow-agent')) {
          problems.push('the message does not start with the command name');
        }
        try {
          row.after?.(dir, run);
        } catch (error) {
          problems.push((error as Error).message);
        }
        if (problems.length > 0) {
          failures.push(
            `${row.name}: ${problems.join('; ')}\n    stderr: ${run.stderr.trim()}\n    stdout: ${run.stdout.trim().slice(0, 400)}`,
          );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  assert.is(failures.length, 0, `\n${failures.join('\n')}`);
});

test.run();
