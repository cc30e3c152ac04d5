// The task board page (dist/board.html, src/board/): built by scripts/build-board-page.mjs (into a folder of its
// own), driven in headless Chromium (Debian's /usr/bin/chromium through playwright-core) against a real agent
// (test/fakes/agent-harness.ts: the LDK sandbox's three nodes, SQLite, an embedded relay) and NIP-47 wallet
// services for the sandbox's payer and worker nodes on the same relay (src/ldk/nwc-service/people-wallets.ts, what
// `escrow-agent start` runs).
//
// A poster (one browser context, a throwaway key, the page served by the agent's HTTP server) posts a task and pays
// its hold invoice through the pasted payer wallet connection; it tries to claim its own task and sees the agent's
// refusal (OwnTask) with its reason. The relay is restarted; then a worker (a second context, a second throwaway
// key, the page opened from disk) claims, makes its payout invoice with the worker wallet's make_invoice for
// amount − fee, and submits; the poster approves; both pages show `paid` and a verified timeline, and the worker's
// node received amount − fee. The lifecycle's wall time is printed (measured, not asserted).
// UPDATE_SCREENSHOTS=1 rewrites docs/board-*.png. Without /usr/bin/chromium the browser cases are skipped, with
// one SKIP line.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { npubEncode } from 'nostr-tools/nip19';
import { getConversationKey, decrypt as nip44Decrypt, encrypt as nip44Encrypt } from 'nostr-tools/nip44';
import { type EventTemplate, finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { decodeQR } from 'qr/decode.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { EXAMPLE_KEYS } from '../../scripts/examples/fixtures.ts';
import { type HttpServer, startHttpServer } from '../../src/agent/http-server.ts';
import { invoiceQrText } from '../../src/board/qr.ts';
import { RelayLink, resumed } from '../../src/board/relay-link.ts';
import { TaskBook } from '../../src/board/task-book.ts';
import { readWalletUri, WalletConnection } from '../../src/board/wallet-connection.ts';
import { tryDecodeBolt11 } from '../../src/ldk/bolt11/index.ts';
import { type PeopleWallets, startPeopleWallets } from '../../src/ldk/nwc-service/people-wallets.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import type { OpenSocket, SocketLike } from '../../src/web/browser.ts';
import { type Harness, startHarness, tagValue } from '../fakes/agent-harness.ts';
import { BIN, cleanEnvironment, ensureBuiltCli } from '../fakes/built-cli.ts';
import { connectRawClient, startTestRelay } from '../fakes/relay.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Built for this run into a folder of its own (dist/ is rebuilt by `npm run build` whenever anyone runs it). */
const PAGE_FOLDER = mkdtempSync(join(tmpdir(), 'board-page-test-'));
const PAGE = join(PAGE_FOLDER, 'board.html');
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.log(
    `SKIP the task board in a browser: ${CHROMIUM} is missing (.ci/run installs Debian's chromium with apt-get when it can)`,
  );
}
const browserTest = haveChromium ? test : test.skip;
const updateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';

const EXAMPLES = join(ROOT, 'docs/examples');
const example = (name: string): NostrEvent =>
  JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), 'utf8')) as NostrEvent;
const nodeSocket: OpenSocket = (url) => new WebSocket(url) as unknown as SocketLike;

// --------------------------------------------------------------------------------------- Node: the parts

test('a pasted wallet connection is read strictly, and a refusal never repeats its secret', () => {
  const secret = 'ab'.repeat(32);
  const wallet = 'cd'.repeat(32);
  const read = readWalletUri(
    `nostr+walletconnect://${wallet}?relay=ws%3A%2F%2F127.0.0.1%3A7777&secret=${secret}`,
  );
  assert.ok(read.ok);
  if (read.ok) {
    assert.is(read.value.walletPubkey, wallet);
    assert.equal(read.value.relays, ['ws://127.0.0.1:7777/']);
    assert.is(Buffer.from(read.value.secret).toString('hex'), secret);
  }
  for (const bad of [
    `https://${wallet}?relay=wss://r.example&secret=${secret}`,
    `nostr+walletconnect://${wallet.toUpperCase()}?relay=wss://r.example&secret=${secret}`,
    `nostr+walletconnect://${wallet}?secret=${secret}`,
    `nostr+walletconnect://${wallet}?relay=https://r.example&secret=${secret}`,
    `nostr+walletconnect://${wallet}?relay=wss://r.example&secret=${secret.slice(2)}`,
  ]) {
    const refused = readWalletUri(bad);
    assert.not.ok(refused.ok, bad);
    if (!refused.ok) assert.not.match(refused.error, secret.slice(0, 16));
  }
});

test('the task book follows a task from the agent-signed examples, and ignores look-alikes', () => {
  const book = new TaskBook(EXAMPLE_KEYS.agent);
  const listing = example('04-task-listing');
  book.ensure(listing.id);
  const files = readdirSync(EXAMPLES).filter((file) => /^(0[4-9]|1[0-7])-/.test(file));
  // Relays send the newest first: the book must not depend on the order.
  for (const file of files.reverse()) book.add(JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')));
  const view = book.view(listing.id)!;
  assert.is(view.state, 'paid');
  assert.is(view.poster, EXAMPLE_KEYS.poster);
  assert.is(view.worker, EXAMPLE_KEYS.worker);
  assert.is(view.amountMsat, BigInt(tagValue(example('05-offered'), 'amount')!));
  assert.is(view.feeMsat, BigInt(tagValue(example('05-offered'), 'fee')!));
  assert.is(view.title, tagValue(listing, 'title'));
  assert.equal(
    view.transitions.map((transition) => transition.state),
    ['offered', 'funded', 'claimed', 'submitted', 'settling', 'settled', 'paid'],
  );
  const [refusal] = book.refusalsOfTask(listing.id);
  assert.is(refusal?.code, 'NotYourTask');
  assert.is(refusal?.reason, 'blocked: only the poster can approve');
  assert.is(refusal?.author, EXAMPLE_KEYS.worker);

  // A transition label signed by anyone but the agent is not a transition.
  const impostor = generateSecretKey();
  const fake = finalizeEvent(
    { kind: 1985, created_at: 1_750_100_000, tags: example('17-paid').tags, content: '' },
    impostor,
  );
  const other = new TaskBook(EXAMPLE_KEYS.agent);
  other.ensure(listing.id);
  assert.is(other.add(fake), null);
  assert.is(other.view(listing.id)?.state, 'posted');
});

test('a resumed subscription asks from shortly before the newest event seen; an ids filter is asked whole', () => {
  const filters = [{ kinds: [1985], '#e': ['a'.repeat(64)] }, { ids: ['b'.repeat(64)] }];
  assert.equal(resumed({ filters, newest: 0 }, 2_000, 120), filters);
  assert.equal(resumed({ filters, newest: 1_000 }, 2_000, 120), [
    { kinds: [1985], '#e': ['a'.repeat(64)], since: 880 },
    { ids: ['b'.repeat(64)] },
  ]);
  // A relay's event from the future does not push `since` past now.
  assert.equal(resumed({ filters: [{ kinds: [1] }], newest: 9_999 }, 2_000, 120), [
    { kinds: [1], since: 1_880 },
  ]);
});

test('a relay link comes back after its relay restarts: it resubscribes, and an event published while it was down is sent', async () => {
  const relay = await startTestRelay();
  const seen: NostrEvent[] = [];
  const states: string[] = [];
  const link = new RelayLink(
    relay.url,
    nodeSocket,
    {
      event: (_subscription, event) => seen.push(event),
      eose: () => {},
      change: (status) => {
        if (states.at(-1) !== status.state) states.push(status.state);
      },
    },
    {
      maxFrameBytes: 256 * 1024,
      maxEventsPerSubscription: 100,
      connectTimeoutMs: 2_000,
      publishTimeoutMs: 10_000,
      backoff: { initialMs: 50, maxMs: 200 },
      resumeSlackSeconds: 5,
    },
  );
  try {
    const key = generateSecretKey();
    const note = (content: string) =>
      finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content }, key);
    link.subscribe('notes', [{ kinds: [1], authors: [getPublicKey(key)] }]);
    link.start();
    const first = note('before');
    assert.equal(await link.publish(first), { url: relay.url, ok: true, message: '' });
    await until(() => seen.some((event) => event.id === first.id), 'the first note');

    await relay.halt();
    await until(() => link.status.state !== 'open', 'the link to see the relay go');
    const second = note('while down');
    const published = link.publish(second);
    await relay.resume();
    assert.ok((await published).ok, 'published once the relay is back');
    await until(() => seen.some((event) => event.id === second.id), 'the note sent while the relay was down');
    assert.is(link.status.reconnects, 1);
    assert.ok(states.includes('waiting'), states.join(' -> '));
    // The first note came again only if the relay sent it again: it is the caller's job to drop duplicates.
    assert.ok(seen.filter((event) => event.id === second.id).length >= 1);
  } finally {
    link.close();
    await relay.stop();
  }
});

test('the page build is one file: inline script and style, pinned by hash, connections to ws/wss only', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'board-page-')), 'board.html');
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-board-page.mjs'), '--out', out], {
    encoding: 'utf8',
  });
  assert.is(built.status, 0, built.stderr);
  const html = readFileSync(out, 'utf8');
  rmSync(join(out, '..'), { recursive: true, force: true });
  assert.is((html.match(/<script/g) ?? []).length, 1);
  const outsideScript = html.replace(/<script>[\s\S]*<\/script>/, '');
  assert.not.match(outsideScript, /\ssrc=|\shref=|@import|url\(/i);
  const policy = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1] ?? '';
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
  assert.match(policy, /connect-src ws: wss:(;|$)/);
  assert.match(policy, /img-src 'none'/);
});

test('src/board writes no event text as HTML and keeps no secret in storage but the one the user ticks', () => {
  const board = join(ROOT, 'src/board');
  for (const file of readdirSync(board).filter((name) => name.endsWith('.ts'))) {
    const code = readFileSync(join(board, file), 'utf8');
    assert.not.match(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|srcdoc/, file);
    const stored = [...code.matchAll(/\.setItem\(([^,]+),/g)].map((match) => match[1]);
    assert.ok(
      stored.every((key) => key === 'REMEMBERED_WALLET'),
      `${file} stores ${stored.join(', ')}`,
    );
  }
});

test('escrow-agent start runs NIP-47 wallets on the sandbox payer and worker (URIs in 0600 files, only the paths printed) and serves /board.html', async () => {
  ensureBuiltCli();
  const dir = mkdtempSync(join(tmpdir(), 'escrow-start-board-'));
  const port = await freePort();
  const env = cleanEnvironment({
    AGENT_DATA_DIR: join(dir, 'data'),
    EMBEDDED_RELAY: `127.0.0.1:${port}`,
    NOSTR_RELAYS: `ws://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
  });
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: dir, env });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const connections: WalletConnection[] = [];
  try {
    await until(() => output.includes('next:') || child.exitCode !== null, 'start to come up', 90_000);
    const sandbox = join(dir, 'data', 'sandbox');
    const files = { payer: join(sandbox, 'payer.nwc'), worker: join(sandbox, 'worker.nwc') };
    assert.match(output, `wallets:   ${files.payer} (pays offers), ${files.worker} (makes payout invoices)`);
    const board = output.match(/^board: +(http:\/\/\S+\/board\.html)#agent=(npub1\w+)&relays=(\S+) /m);
    assert.ok(board, `start printed:\n${output}`);
    assert.is(board![3], `ws://127.0.0.1:${port}`);
    const page = await fetch(board![1]!);
    assert.is(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', 'text/html');
    assert.match(await page.text(), '<title>Escrow task board</title>');

    for (const name of ['payer', 'worker'] as const) {
      assert.is((statSync(files[name]).mode & 0o777).toString(8), '600', name);
      const uri = readWalletUri(readFileSync(files[name], 'utf8'));
      assert.ok(uri.ok, name);
      if (!uri.ok) continue;
      // The secret is in the file, never in what start printed.
      assert.not.match(output, Buffer.from(uri.value.secret).toString('hex'));
      assert.not.match(output, 'walletconnect');
      assert.equal(uri.value.relays, [`ws://127.0.0.1:${port}/`]);
      const connection = await WalletConnection.connect(uri.value, nodeSocket);
      connections.push(connection);
      for (const method of ['pay_invoice', 'make_invoice', 'get_balance'])
        assert.ok(connection.offers(method), method);
      const info = await connection.call('get_info', {}, 15_000);
      assert.ok(info.ok && info.result.network === 'regtest', JSON.stringify(info));
    }
    const invoice = await connections[1]!.call(
      'make_invoice',
      { amount: 1_234_000, description: 'a payout' },
      15_000,
    );
    assert.ok(invoice.ok, JSON.stringify(invoice));
    if (invoice.ok) {
      const decoded = tryDecodeBolt11(String(invoice.result.invoice));
      assert.ok(
        decoded.ok && decoded.invoice.amountMsat === 1_234_000n,
        'an invoice for exactly the amount asked',
      );
    }
  } finally {
    for (const connection of connections) connection.close();
    child.kill('SIGTERM');
    assert.is(await exited, 0, output);
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------------------ the whole lifecycle

const AMOUNT_SATS = 21_000n;
const AMOUNT = AMOUNT_SATS * 1000n;

let harness: Harness | null = null;
let wallets: PeopleWallets | null = null;
let http: HttpServer | null = null;
let browser: Browser | null = null;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
const requests: string[] = [];

test.before(async () => {
  if (!haveChromium) return;
  try {
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-board-page.mjs'), '--out', PAGE], {
      encoding: 'utf8',
    });
    if (built.status !== 0) throw new Error(`the page build failed: ${built.stderr}`);
    harness = await startHarness();
    const keys = () => ({ wallet: generateSecretKey(), client: generateSecretKey() });
    wallets = await startPeopleWallets({
      nodes: { payer: harness.sandbox.payer, worker: harness.sandbox.worker },
      relays: [harness.relay.url],
      keys: { payer: keys(), worker: keys() },
    });
    http = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      agent: harness.agent,
      log: pino({ level: 'silent' }),
      verifyPage: null,
      boardPage: PAGE,
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-sync',
      ],
    });
  } catch (error) {
    // uvu does not print an error thrown by a hook: say it here, then fail the suite.
    console.error('the browser cases could not be set up:', error);
    throw error;
  }
});

test.after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await http?.stop();
  await wallets?.stop();
  await harness?.stop();
  rmSync(PAGE_FOLDER, { recursive: true, force: true });
});

/** A new browser context on the page; `prepare` runs on the context first (e.g. to give it a NIP-07 extension). */
async function newBoardPage(
  url: string,
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1100, height: 1000 } });
  contexts.push(context);
  await prepare?.(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    // Chromium logs each refused WebSocket connection itself (the relay restart); anything else is the page's fault.
    if (message.type() === 'error' && !/^WebSocket connection to .* failed/.test(message.text())) {
      pageErrors.push(message.text());
    }
  });
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/** The page connected to the agent, signing with a throwaway key. */
async function openBoard(url: string): Promise<Page> {
  const page = await newBoardPage(url);
  await page.waitForSelector('#relay-status li[data-state="open"]');
  await page.click('#use-throwaway');
  await page.waitForSelector('#my-npub');
  return page;
}

async function connectWallet(page: Page, uri: string): Promise<void> {
  await page.fill('#nwc-uri', uri);
  await page.click('#nwc-connect');
  await page.waitForSelector('#nwc-status[data-connected="true"]', { timeout: 20_000 });
}

const stateIs = (page: Page, state: string, timeout = 60_000) =>
  page.waitForSelector(`#task-state[data-state="${state}"]`, { timeout });

/** The QR code the page draws, read back into its modules and decoded by the `qr` package's own reader. */
async function decodeShownQr(page: Page): Promise<string> {
  const { size, path } = (await page.evaluate(`(() => {
    const svg = document.querySelector('#pay-qr svg');
    return { size: Number(svg.getAttribute('viewBox').split(' ')[2]), path: svg.querySelector('path').getAttribute('d') };
  })()`)) as { size: number; path: string };
  const scale = 4;
  const width = size * scale;
  const data = new Uint8Array(width * width * 4).fill(255);
  for (const match of path.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
    const x = Number(match[1]);
    const y = Number(match[2]);
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const at = ((y * scale + dy) * width + x * scale + dx) * 4;
        data[at] = 0;
        data[at + 1] = 0;
        data[at + 2] = 0;
      }
    }
  }
  return decodeQR({ width, height: width, data });
}

interface ReadTask {
  verdict: string;
  headline: string;
  timeline: string[];
  refusals: Array<{ code: string; text: string }>;
  messages: Array<{ kind: string; code: string; text: string }>;
}

const READ_TASK = `(() => {
  const all = (selector) => Array.from(document.querySelectorAll(selector));
  const verdict = document.querySelector('#task-verdict');
  return {
    verdict: verdict.getAttribute('data-verdict') || '',
    headline: verdict.querySelector('.headline') ? verdict.querySelector('.headline').textContent : '',
    timeline: all('#task-timeline details.event .label').map((node) => node.textContent),
    refusals: all('#task-refusals .refusal').map((node) => ({ code: node.getAttribute('data-code'), text: node.textContent })),
    messages: all('#messages li').map((node) => ({ kind: node.getAttribute('data-kind'), code: node.getAttribute('data-code') || '', text: node.textContent })),
  };
})()`;

browserTest(
  'a poster and a worker run a task to paid through the page: pay and payout invoice through NIP-47 wallets, a refusal shown, the relay restarted midway',
  async () => {
    const { sandbox, relay, agentKey } = harness!;
    const hash = `#agent=${npubEncode(agentKey.pubkey)}&relays=${relay.url}`;
    const canReceiveBefore = (await sandbox.worker.getInfo()).remoteBalanceMsat;

    // The poster: the page from the agent's HTTP server.
    const poster = await openBoard(`${http!.url}/board.html${hash}`);
    await poster.waitForSelector('#policy dd[data-fact="fee"]');
    const fee = harness!.feeFor(AMOUNT);
    await connectWallet(poster, wallets!.uris.payer);

    const began = Date.now();
    await poster.fill('#post-title', 'Translate the README into Esperanto');
    await poster.fill('#post-amount', AMOUNT_SATS.toString());
    await poster.fill('#post-description', 'All of it, headings included. Markdown, please.');
    assert.match(
      (await poster.textContent('#post-fee')) ?? '',
      new RegExp(`the worker receives ${Number((AMOUNT - fee) / 1000n).toLocaleString('en')}`),
    );
    await poster.click('#post');
    await stateIs(poster, 'offered');
    const taskId = (await poster.getAttribute('#task', 'data-task-id'))!;
    const offered = await harness!.waitForState(taskId, 'offered');
    const bolt11 = tagValue(offered, 'bolt11')!;
    assert.is(await poster.inputValue('#pay-bolt11'), bolt11);
    assert.is(await decodeShownQr(poster), invoiceQrText(bolt11));
    if (updateScreenshots)
      await poster.screenshot({ path: join(ROOT, 'docs/board-pay.png'), fullPage: true });

    await poster.click('#pay-nwc');
    await stateIs(poster, 'funded');

    // A refusal, shown with its code and reason: the poster tries to claim its own task.
    await poster.click('#claim');
    await poster.waitForSelector('#task-refusals .refusal[data-code="OwnTask"]');
    const refused = (await poster.evaluate(READ_TASK)) as ReadTask;
    assert.match(refused.refusals[0]!.text, /^OwnTask: blocked: /);
    assert.ok(
      refused.messages.some(
        (message) => message.kind === 'refusal' && message.code === 'OwnTask' && /claim/.test(message.text),
      ),
      JSON.stringify(refused.messages),
    );

    // The worker: the page from disk; then the relay restarts under both pages, the agent and the wallets.
    const worker = await openBoard(`${pathToFileURL(PAGE).href}${hash}`);
    await worker.waitForSelector(`#open-tasks li[data-task-id="${taskId}"]`);
    const restartedAt = Math.floor(Date.now() / 1000);
    await relay.restart();
    for (const page of [poster, worker]) {
      await page.waitForSelector('#relay-status li[data-state="open"][data-reconnects="1"]', {
        timeout: 20_000,
      });
    }
    // The wallet services are back once they published their info event again.
    await walletsBack(relay.url, restartedAt);

    await connectWallet(worker, wallets!.uris.worker);
    await worker.click(`#open-tasks li[data-task-id="${taskId}"] button.open-task`);
    await stateIs(worker, 'funded');
    await worker.click('#claim');
    await stateIs(worker, 'claimed');
    await worker.fill('#submit-delivery', 'La tuta README, en Esperanto: https://example.org/readme-eo.md');
    await worker.click('#make-invoice');
    // Polled from here: the page's Content-Security-Policy forbids the eval a string predicate would need.
    await until(
      async () => (await worker.inputValue('#submit-invoice')).startsWith('lnbcrt'),
      'the payout invoice',
      40_000,
    );
    if (updateScreenshots)
      await worker.screenshot({ path: join(ROOT, 'docs/board-worker.png'), fullPage: true });
    await worker.click('#submit');
    await stateIs(worker, 'submitted');

    await stateIs(poster, 'submitted');
    await poster.click('#approve');
    await stateIs(poster, 'paid');
    const wallMs = Date.now() - began;
    await stateIs(worker, 'paid');

    const canReceiveAfter = (await sandbox.worker.getInfo()).remoteBalanceMsat;
    assert.is(canReceiveBefore - canReceiveAfter, AMOUNT - fee, "the worker's node received amount - fee");

    for (const page of [poster, worker]) {
      await page
        .waitForSelector('#task-verdict[data-verdict="verified"]', { timeout: 10_000 })
        .catch(async (error) => {
          console.log(await page.textContent('#task-verdict'), await page.textContent('#task-checks'));
          throw error;
        });
      const shown = (await page.evaluate(READ_TASK)) as ReadTask;
      assert.is(shown.headline, '✓ Verified: the task is paid');
      for (const label of [
        'listing',
        'offered',
        'funded',
        'claim',
        'claimed',
        'submit',
        'submitted',
        'approve',
        'paid',
      ]) {
        assert.ok(shown.timeline.includes(label), `${label} in ${shown.timeline.join(', ')}`);
      }
    }
    // The harness's own client lost its connection with the restart: read the agent's `paid` over a fresh one.
    const paid = await agentTransition(relay.url, agentKey.pubkey, taskId, 'paid');
    const payout = paid.tags.find((tag) => tag[0] === 'payout');
    assert.is(payout?.[2], (AMOUNT - fee).toString());
    if (updateScreenshots)
      await poster.screenshot({ path: join(ROOT, 'docs/board-paid.png'), fullPage: true });
    console.log(
      `board.html: the lifecycle from the poster's "Post" to "paid" in the browser took ${(wallMs / 1000).toFixed(1)} s (two contexts, a relay restart midway)`,
    );
  },
);

/** A NIP-07 extension in a context: window.nostr signs with `key` (through a binding to this process). */
function extension(key: Uint8Array, alter = false) {
  return async (context: BrowserContext) => {
    await context.exposeBinding('testNip07Sign', (_source, template: EventTemplate) =>
      finalizeEvent(
        alter ? { ...template, content: `${template.content} (and a little more)` } : template,
        key,
      ),
    );
    await context.addInitScript(
      `window.nostr = { getPublicKey: async () => '${getPublicKey(key)}', signEvent: (template) => window.testNip07Sign(template) };`,
    );
  };
}

async function postTask(page: Page, title: string): Promise<void> {
  await page.fill('#post-title', title);
  await page.fill('#post-amount', '5000');
  await page.click('#post');
}

async function listingsBy(relayUrl: string, author: string): Promise<NostrEvent[]> {
  const client = await connectRawClient(relayUrl);
  try {
    return (await client.request('listings', { kinds: [30402], authors: [author] })) as NostrEvent[];
  } finally {
    await client.close();
  }
}

browserTest(
  'the agent found from its announcement; signing with a NIP-07 extension or a NIP-46 remote signer; an extension that alters the event is refused before anything is sent',
  async () => {
    const { relay, agentKey } = harness!;

    // Only relays given: the agent is found from its NIP-89 announcement; the key sits in an extension.
    const key = generateSecretKey();
    const page = await newBoardPage(`${pathToFileURL(PAGE).href}#relays=${relay.url}`, extension(key));
    await page.click('#find-agents');
    await page.click(`#agent-list button[data-pubkey="${agentKey.pubkey}"]`);
    await page.waitForSelector('#relay-status li[data-state="open"]');
    assert.is(await page.inputValue('#agent'), npubEncode(agentKey.pubkey));
    await page.click('#use-extension');
    await page.waitForSelector('#whoami[data-method="extension"]');
    assert.is(await page.textContent('#my-npub'), npubEncode(getPublicKey(key)));
    await postTask(page, 'Signed by an extension');
    await stateIs(page, 'offered');
    assert.is((await listingsBy(relay.url, getPublicKey(key))).length, 1);

    // An extension that signs something else than it was asked: nothing is sent.
    const sly = generateSecretKey();
    const tampered = await newBoardPage(
      `${pathToFileURL(PAGE).href}#agent=${npubEncode(agentKey.pubkey)}&relays=${relay.url}`,
      extension(sly, true),
    );
    await tampered.click('#use-extension');
    await tampered.waitForSelector('#whoami[data-method="extension"]');
    await postTask(tampered, 'Altered by the extension');
    await tampered.waitForSelector('#messages li[data-kind="error"]');
    assert.match(
      (await tampered.textContent('#messages li[data-kind="error"]')) ?? '',
      'Not posted: the signer changed the event it was asked to sign: it was not sent',
    );
    assert.is((await listingsBy(relay.url, getPublicKey(sly))).length, 0);

    // A NIP-46 remote signer, from its bunker:// URL.
    const bunker = await startTestBunker(relay.url);
    try {
      const remote = await newBoardPage(
        `${pathToFileURL(PAGE).href}#agent=${npubEncode(agentKey.pubkey)}&relays=${relay.url}`,
      );
      await remote.fill('#bunker-url', bunker.url);
      await remote.click('#use-bunker');
      await remote.waitForSelector('#whoami[data-method="bunker"]', { timeout: 20_000 });
      assert.is(await remote.textContent('#my-npub'), npubEncode(bunker.pubkey));
      await postTask(remote, 'Signed by a remote signer');
      await stateIs(remote, 'offered');
      assert.is((await listingsBy(relay.url, bunker.pubkey)).length, 1);
      assert.equal(bunker.methods, ['connect', 'get_public_key', 'sign_event']);
    } finally {
      await bunker.stop();
    }
  },
);

/**
 * A NIP-46 remote signer for the test, on the relay: it answers connect, get_public_key and sign_event (kind 24133,
 * NIP-44) for its user's key. It is the signer app a user would run; the page talks to it with nostr-tools'
 * BunkerSigner.
 */
async function startTestBunker(relayUrl: string) {
  const user = generateSecretKey();
  const pubkey = getPublicKey(user);
  const client = await connectRawClient(relayUrl);
  const methods: string[] = [];
  let running = true;
  await client.request('bunker', {
    kinds: [24133],
    '#p': [pubkey],
    since: Math.floor(Date.now() / 1000) - 5,
  });
  const loop = (async () => {
    while (running) {
      const event = await client.nextEvent('bunker', 500).catch(() => null);
      if (event === null) continue;
      const key = getConversationKey(user, event.pubkey);
      const request = JSON.parse(nip44Decrypt(event.content, key)) as {
        id: string;
        method: string;
        params: string[];
      };
      methods.push(request.method);
      const result =
        request.method === 'connect'
          ? 'ack'
          : request.method === 'get_public_key'
            ? pubkey
            : request.method === 'sign_event'
              ? JSON.stringify(finalizeEvent(JSON.parse(request.params[0]!) as EventTemplate, user))
              : '';
      const answer = finalizeEvent(
        {
          kind: 24133,
          created_at: Math.floor(Date.now() / 1000),
          tags: [['p', event.pubkey]],
          content: nip44Encrypt(JSON.stringify({ id: request.id, result }), key),
        },
        user,
      );
      await client.publish(answer);
    }
  })();
  return {
    url: `bunker://${pubkey}?relay=${encodeURIComponent(relayUrl)}`,
    pubkey,
    methods,
    async stop() {
      running = false;
      await loop;
      await client.close();
    },
  };
}

browserTest(
  'the pages loaded nothing but themselves, and broke no rule of their Content-Security-Policy',
  () => {
    assert.ok(requests.length > 0);
    assert.equal(
      requests.filter((url) => !url.startsWith('file://') && !url.startsWith(`${http!.url}/board.html`)),
      [],
    );
    assert.equal(pageErrors, []);
  },
);

async function walletsBack(relayUrl: string, since: number): Promise<void> {
  const client = await connectRawClient(relayUrl);
  try {
    const authors = [wallets!.services.payer.walletPubkey, wallets!.services.worker.walletPubkey];
    await until(async () => {
      const infos = await client.request(`info-${Date.now()}`, { kinds: [13194], authors, since });
      return new Set(infos.map((event) => event.pubkey)).size === authors.length;
    }, 'the wallet services to publish their info event again');
  } finally {
    await client.close();
  }
}

async function agentTransition(
  relayUrl: string,
  agent: string,
  taskId: string,
  state: string,
): Promise<NostrEvent> {
  const client = await connectRawClient(relayUrl);
  try {
    const events = await client.request('paid', {
      kinds: [1985],
      authors: [agent],
      '#e': [taskId],
      '#l': [state],
    });
    assert.is(events.length, 1, `one ${state} transition`);
    return events[0] as NostrEvent;
  } finally {
    await client.close();
  }
}

/** A port nobody listens on (taken, then given back). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
}

test.run();
