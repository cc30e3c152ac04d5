// Secrets never shown: every kind of secret an operator can hand the agent (an NWC secret, a database password, an
// LND macaroon in hex, base64 or a file, URL credentials, an nsec, a hex secret key) fed through the redaction, the
// logger, and every command's output and errors (check-config, start's banner, its errors and the logs of a running
// agent, migrate, verify-db, ln on a bad socket); none of them may appear. And a whole task lifecycle run by the
// built CLI's `start` on a real NWC wallet, logged at trace: no line holds the task's preimage, the agent's key, the
// preimage key, the NWC secret or the macaroon of its configuration.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodeNip19, nsecEncode } from 'nostr-tools/nip19';
import { finalizeEvent, generateSecretKey, type NostrEvent } from 'nostr-tools/pure';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/agent/config.ts';
import { loggerOptions, redactSecrets } from '../../src/agent/redact.ts';
import { feeFor } from '../../src/domain/money.ts';
import { actionTemplate } from '../../src/protocol/build-action.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { collect } from '../fakes/agent-harness.ts';
import { BIN, cleanEnvironment, ensureBuiltCli } from '../fakes/built-cli.ts';
import { startNwcSandbox } from '../fakes/nwc-sandbox.ts';
import { connectNostrTools, startTestRelay } from '../fakes/relay.ts';

const AGENT_HEX = '7f'.repeat(31) + '01';
const AGENT_NSEC = nsecEncode(Uint8Array.from(Buffer.from(AGENT_HEX, 'hex')));
const NWC_SECRET = 'c0ffee'.repeat(10) + 'c0ff';
const NWC_WALLET = '3b'.repeat(32);
const DB_PASSWORD = 'Hunter2Pa55word';
const MACAROON_HEX = `0201036c6e6402f801030a10${'9a'.repeat(40)}`;
const MACAROON_B64URL = Buffer.from(MACAROON_HEX, 'hex').toString('base64url');
const RELAY_TOKEN = 'RelayT0kenS3cret';
const URL_PASSWORD = 'UrlPassw0rdX';

/** Each secret, as it must never appear in any output (and the forms it could be printed in). */
const SECRETS: Record<string, string[]> = {
  'agent key (hex)': [AGENT_HEX],
  'agent key (nsec)': [AGENT_NSEC, AGENT_NSEC.slice(0, 20)],
  'NWC secret': [NWC_SECRET],
  'database password': [DB_PASSWORD],
  'LND macaroon': [MACAROON_HEX, MACAROON_B64URL, MACAROON_HEX.slice(12, 40)],
  'relay token': [RELAY_TOKEN],
  'URL password': [URL_PASSWORD],
};

function assertNoSecret(text: string, where: string) {
  for (const [kind, forms] of Object.entries(SECRETS)) {
    for (const form of forms) {
      assert.not.ok(text.includes(form), `${where} shows the ${kind}:\n${text}`);
    }
  }
}

const NWC_URI = `nostr+walletconnect://${NWC_WALLET}?relay=ws://127.0.0.1:9&secret=${NWC_SECRET}`;
const PG_URL = `postgres://escrow:${DB_PASSWORD}@127.0.0.1:9/escrow`;
function runBin(args: string[], env: Record<string, string>, prepare?: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-secrets-'));
  prepare?.(dir);
  const clean = cleanEnvironment();
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

test.before(() => {
  ensureBuiltCli();
});

test('redactSecrets masks every kind of secret and keeps what is not one', () => {
  const text = [
    NWC_URI,
    PG_URL,
    `postgres://escrow:${DB_PASSWORD}@x@127.0.0.1/escrow`,
    `lndconnect://127.0.0.1:10009?cert=MIIB&macaroon=${MACAROON_B64URL}`,
    `LND_MACAROON=${MACAROON_HEX}`,
    `the macaroon file holds ${MACAROON_HEX}`,
    `https://user:${URL_PASSWORD}@example.com/path`,
    `ws://127.0.0.1:9/?token=${RELAY_TOKEN}`,
    AGENT_NSEC,
    `AGENT_SECRET_KEY=${AGENT_HEX}`,
    `secret key ${AGENT_HEX}`,
    `{"secretKey":"${AGENT_HEX}"}`,
  ].join('\n');
  const redacted = redactSecrets(text);
  assertNoSecret(redacted, 'redactSecrets');
  // What is not a secret stays: hosts, users, pubkeys, the shape of the URL.
  assert.match(redacted, `nostr+walletconnect://${NWC_WALLET}?relay=ws://127.0.0.1:9&secret=***`);
  assert.match(redacted, 'postgres://escrow:***@127.0.0.1:9/escrow');
  assert.match(redacted, 'https://user:***@example.com/path');
  assert.is(redactSecrets(`pubkey ${'ab'.repeat(32)}`), `pubkey ${'ab'.repeat(32)}`);
  assert.is(
    redactSecrets('the NWC connection URI has no secret (secret=<64 hex characters>)'),
    'the NWC connection URI has no secret (secret=<64 hex characters>)',
  );
  assert.is(redactSecrets('LND_MACAROON_PATH=/x/admin.macaroon'), 'LND_MACAROON_PATH=/x/admin.macaroon');
});

test('the logger censors secret fields and masks secrets in messages, fields and errors', () => {
  const lines: string[] = [];
  const log = pino(loggerOptions('trace'), { write: (line: string) => lines.push(line) });
  log.info({ secretKey: AGENT_HEX, preimage: 'ff'.repeat(32) }, 'identity');
  log.info({ relay: `ws://127.0.0.1:9/?token=${RELAY_TOKEN}` }, 'relay down');
  log.warn({ url: NWC_URI, details: { databaseUrl: PG_URL, nested: [MACAROON_HEX] } }, 'settings');
  log.error({ err: new Error(`cannot connect to ${PG_URL} with ${AGENT_NSEC}`) }, `failed at ${NWC_URI}`);
  log.error(new Error(`macaroon=${MACAROON_B64URL} refused`));
  log.debug(`a message naming https://user:${URL_PASSWORD}@example.com`);
  const text = lines.join('');
  assert.is(lines.length, 6);
  assertNoSecret(text, 'the log');
  assert.match(text, '"secretKey":"[Redacted]"');
  assert.match(text, 'relay down');
  assert.match(text, 'postgres://escrow:***@127.0.0.1:9/escrow');
});

test('check-config prints no secret: NWC, LND macaroon (hex, lndconnect, file), database password, nsec', () => {
  const macaroonDir = mkdtempSync(join(tmpdir(), 'escrow-macaroon-'));
  const macaroonFile = join(macaroonDir, 'admin.macaroon');
  writeFileSync(macaroonFile, Buffer.from(MACAROON_HEX, 'hex'));
  const relays = `ws://127.0.0.1:9/?token=${RELAY_TOKEN}`;
  const runs = [
    runBin(['check-config'], {
      NOSTR_RELAYS: relays,
      LIGHTNING_BACKEND: 'nwc',
      LIGHTNING_URL: NWC_URI,
      DATABASE_URL: PG_URL,
      AGENT_SECRET_KEY: AGENT_NSEC,
    }),
    runBin(['check-config'], {
      NOSTR_RELAYS: relays,
      LIGHTNING_BACKEND: 'lnd',
      LIGHTNING_URL: `lndconnect://127.0.0.1:10009?macaroon=${MACAROON_B64URL}`,
      AGENT_SECRET_KEY: AGENT_HEX,
    }),
    runBin(['check-config'], {
      NOSTR_RELAYS: relays,
      LIGHTNING_BACKEND: 'lnd',
      LND_SOCKET: '127.0.0.1:10009',
      LND_MACAROON: MACAROON_HEX,
    }),
    runBin(['check-config'], {
      NOSTR_RELAYS: relays,
      LIGHTNING_BACKEND: 'lnd',
      LND_SOCKET: '127.0.0.1:10009',
      LND_MACAROON_PATH: macaroonFile,
    }),
  ];
  for (const [index, run] of runs.entries()) {
    assert.is(run.code, 0, run.output);
    assert.match(run.output, 'configuration OK');
    assertNoSecret(run.output, `check-config #${index + 1}`);
  }
  // Refused settings: the message names the problem, not the secret.
  const refused = runBin(['check-config'], {
    NOSTR_RELAYS: `ws://alice:${URL_PASSWORD}@relay.example`,
    DATABASE_URL: `postgres://escrow:${DB_PASSWORD}@x@127.0.0.1/escrow`,
  });
  assert.is(refused.code, 2, refused.output);
  assertNoSecret(refused.output, 'check-config refusing');
});

test("start's errors, migrate, verify-db and ln print no secret", () => {
  const offline = { EMBEDDED_RELAY: 'off', NOSTR_RELAYS: `ws://127.0.0.1:9/?token=${RELAY_TOKEN}` };
  const runs = [
    ['start (unreachable PostgreSQL)', runBin(['start'], { ...offline, DATABASE_URL: PG_URL })],
    [
      'start (unreachable NWC wallet)',
      runBin(['start'], {
        ...offline,
        AGENT_SECRET_KEY: AGENT_NSEC,
        LIGHTNING_BACKEND: 'nwc',
        LIGHTNING_URL: NWC_URI.replace('127.0.0.1:9', '127.0.0.1:9/'),
      }),
    ],
    [
      'start (unreachable LND)',
      runBin(['start'], {
        ...offline,
        AGENT_SECRET_KEY: AGENT_HEX,
        LIGHTNING_BACKEND: 'lnd',
        LIGHTNING_URL: `lndconnect://127.0.0.1:9?macaroon=${MACAROON_B64URL}`,
      }),
    ],
    [
      'start (credentials in a relay URL)',
      runBin(['start'], { EMBEDDED_RELAY: 'off', NOSTR_RELAYS: `ws://alice:${URL_PASSWORD}@relay.example` }),
    ],
    ['start (bad AGENT_SECRET_KEY)', runBin(['start'], { ...offline, AGENT_SECRET_KEY: `${AGENT_HEX}zz` })],
    ['migrate', runBin(['migrate'], { DATABASE_URL: PG_URL })],
    ['migrate (debug)', runBin(['migrate'], { DATABASE_URL: PG_URL, LOG_LEVEL: 'debug' })],
    ['verify-db', runBin(['verify-db'], { DATABASE_URL: PG_URL })],
    [
      'ln (a bad control socket)',
      runBin(['ln', 'info'], { DATABASE_URL: PG_URL, AGENT_SECRET_KEY: AGENT_NSEC }, (dir) => {
        mkdirSync(join(dir, 'data', 'sandbox'), { recursive: true });
        writeFileSync(join(dir, 'data', 'sandbox', 'control.sock'), '');
      }),
    ],
  ] as const;
  for (const [name, run] of runs) {
    assert.ok(run.code === 1 || run.code === 2, `${name}: exit ${run.code}\n${run.output}`);
    assert.ok(run.output.trim() !== '', `${name} says why`);
    assertNoSecret(run.output, name);
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

test('a running agent (banner and debug logs) shows no secret; the banner ln hint carries --config', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-secrets-run-'));
  const port = await freePort();
  mkdirSync(join(dir, 'etc'));
  const configFile = join(dir, 'etc', 'escrow-agent.toml');
  writeFileSync(
    configFile,
    [
      '[agent]',
      'data_dir = "../state"',
      'log_level = "debug"',
      '[nostr]',
      `embedded_relay = "127.0.0.1:${port}"`,
      // A relay with a token in its URL that refuses: the pool logs its failures, with the URL.
      `relays = ["ws://127.0.0.1:${port}", "ws://127.0.0.1:9/?token=${RELAY_TOKEN}"]`,
      'publish_quorum = 1',
    ].join('\n'),
  );
  const clean = cleanEnvironment();
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile], {
    cwd: dir,
    env: { ...clean, AGENT_SECRET_KEY: AGENT_NSEC },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('next:') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Long enough for the refusing relay to be tried and logged.
  const logged = Date.now() + 5_000;
  while (!output.includes('127.0.0.1:9') && Date.now() < logged) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  assert.is(await exited, 0, output);
  assert.match(output, /agent: +npub1/);
  assert.match(output, `npx escrow-agent ln info --config ${configFile}`);
  assert.match(output, `${join(dir, 'state')}`, "data_dir is relative to the file's folder");
  assert.match(output, 'token=***', 'the relay with a token is named, its token masked');
  assertNoSecret(output, 'the running agent');
});

/** Every agent label on a task, until one says `state`. */
async function waitForState(
  client: Awaited<ReturnType<typeof connectNostrTools>>,
  agent: string,
  taskId: string,
  state: string,
  child: { exitCode: number | null },
  output: () => string,
): Promise<NostrEvent> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const events = await collect(client, { kinds: [KINDS.label], authors: [agent], '#e': [taskId] });
    const found = events.find((event) => event.tags.some((tag) => tag[0] === 'l' && tag[1] === state));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`task ${taskId.slice(0, 8)} never reached ${state}:\n${output().slice(-4000)}`);
}

const tagOf = (event: NostrEvent, name: string) => event.tags.find((tag) => tag[0] === name)?.[1];

test('a whole lifecycle (post, fund, claim, submit, approve, paid) logged at trace: no secret in any line', async () => {
  const nwc = await startNwcSandbox();
  const relay = await startTestRelay();
  const client = await connectNostrTools(relay.url);
  const dir = mkdtempSync(join(tmpdir(), 'escrow-secrets-lifecycle-'));
  const configFile = join(dir, 'escrow-agent.toml');
  writeFileSync(
    configFile,
    [
      '[agent]',
      'data_dir = "data"',
      'log_level = "trace"',
      'log_format = "json"',
      '[nostr]',
      'embedded_relay = "off"',
      `relays = ["${relay.url}"]`,
      'publish_quorum = 1',
      '[lightning]',
      'backend = "nwc"',
      `url = "${nwc.uri}"`,
    ].join('\n'),
  );
  const nwcSecret = new URL(nwc.uri).searchParams.get('secret') ?? '';
  assert.match(nwcSecret, /^[0-9a-f]{64}$/, 'the NWC URI carries its secret');
  // A macaroon in the configuration's environment (the nwc backend does not use it: it must not be logged either).
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile], {
    cwd: dir,
    env: cleanEnvironment({ LND_MACAROON: MACAROON_HEX }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = () => `${stdout}${stderr}`;
  try {
    const deadline = Date.now() + 120_000;
    while (!/agent: +npub1/.test(stdout) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const npub = /agent: +(npub1[0-9a-z]+)/.exec(stdout)?.[1];
    assert.ok(npub, `start came up:\n${output().slice(-4000)}`);
    const agent = decodeNip19(npub!).data as string;
    const poster = generateSecretKey();
    const worker = generateSecretKey();
    const act = (by: Uint8Array, name: string, taskId: string, tags: string[][] = []) =>
      client.publish(
        finalizeEvent(
          actionTemplate({
            name,
            taskId,
            agent,
            createdAt: Math.floor(Date.now() / 1000),
            extraTags: tags,
            content: name,
          }),
          by,
        ),
      );
    const amount = 30_000_000n;
    const listing = finalizeEvent(
      buildListing({
        d: `secrets-${randomBytes(4).toString('hex')}`,
        title: 'A task whose logs are searched',
        amountMsat: amount,
        agent,
        content: 'x',
        createdAt: Math.floor(Date.now() / 1000),
      }),
      poster,
    );
    await client.publish(listing);
    const wait = (state: string) => waitForState(client, agent, listing.id, state, child, output);
    const offered = await wait('offered');
    const payment = nwc.wallet.sandbox.payer.pay({
      bolt11: tagOf(offered, 'bolt11')!,
      maxFeeMsat: 10_000n,
      timeoutSeconds: 120,
    });
    await wait('funded');
    await act(worker, 'claim', listing.id);
    await wait('claimed');
    const fee = feeFor(amount, loadConfig({ file: configFile, env: {} }).policy.fee);
    const invoice = await nwc.wallet.sandbox.worker.createInvoice({
      amountMsat: amount - fee,
      description: 'the work',
      expirySeconds: 3600,
    });
    await act(worker, 'submit', listing.id, [['bolt11', invoice.bolt11]]);
    await wait('submitted');
    await act(poster, 'approve', listing.id);
    const settled = await wait('settled');
    await wait('paid');
    assert.is((await payment).status, 'succeeded');

    // The secrets, each known to the test, so that an empty search cannot pass.
    const preimage = tagOf(settled, 'preimage') ?? '';
    assert.match(preimage, /^[0-9a-f]{64}$/);
    assert.is(
      createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex'),
      tagOf(offered, 'payment_hash'),
      'the preimage is the real one',
    );
    const agentKey = readFileSync(join(dir, 'data', 'agent.key'), 'utf8').trim();
    const preimageKey = readFileSync(join(dir, 'data', 'preimage.key'), 'utf8').trim();
    assert.match(agentKey, /^[0-9a-f]{64}$/);
    assert.match(preimageKey, /^[0-9a-f]{64}$/);
    const forms: Record<string, string[]> = {
      'the preimage': [preimage, Buffer.from(preimage, 'hex').toString('base64')],
      "the agent's secret key": [agentKey, nsecEncode(Uint8Array.from(Buffer.from(agentKey, 'hex')))],
      'the preimage key': [preimageKey, Buffer.from(preimageKey, 'hex').toString('base64')],
      'the NWC secret': [nwcSecret],
      'the LND macaroon': [
        MACAROON_HEX,
        MACAROON_B64URL,
        Buffer.from(MACAROON_HEX, 'hex').toString('base64'),
      ],
    };

    child.kill('SIGTERM');
    assert.is(await exited, 0, output().slice(-4000));
    const lines = stdout.split('\n').filter((line) => line.startsWith('{'));
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(
      records.some((record) => typeof record.level === 'number' && record.level <= 20),
      'debug (or trace) lines were written',
    );
    const transitions = records.filter((record) => record.msg === 'transition' && record.task === listing.id);
    assert.ok(transitions.length >= 8, `a line per transition (${transitions.length})`);
    for (const [kind, values] of Object.entries(forms)) {
      for (const value of values) {
        const found = [...lines, ...stderr.split('\n')].find((line) => line.includes(value));
        assert.not.ok(found, `a log line holds ${kind}: ${found}`);
      }
    }
    assertNoSecret(output(), 'the lifecycle logs');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    client.close();
    await relay.stop();
    await nwc.close();
  }
});

test.run();
