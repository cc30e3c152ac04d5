// The verification page (dist/verify.html, src/web/): built by scripts/build-verify-page.mjs, opened from disk in
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), pointed at real relays on 127.0.0.1
// that hold the real signed example histories of docs/examples. A good history shows every check green; the same
// history with the `paid` transition's payout changed and re-signed with the example agent's TEST key passes
// the signature check and fails the money check; a copy with a broken signature is set aside and the gap it
// leaves is named. Hostile text is shown as text. The relay fetcher's budgets and timeouts are tested in Node.
// Without /usr/bin/chromium the browser cases are skipped, with one SKIP line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Event } from 'nostr-tools/core';
import { naddrEncode, neventEncode, npubEncode, nsecEncode } from 'nostr-tools/nip19';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import type { BrowserContext, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket, WebSocketServer } from 'ws';
import { EXAMPLE_KEYS, SECRET } from '../../scripts/examples/fixtures.ts';
import { CHECK_NAMES } from '../../src/protocol/verify-task.ts';
import type { OpenSocket, SocketLike } from '../../src/web/browser.ts';
import { collectTask } from '../../src/web/collect.ts';
import { readAgent, readRelays, readTaskReference } from '../../src/web/page-input.ts';
import { FETCH_LIMITS, RelaySession } from '../../src/web/relay-fetch.ts';
import { forgeEvent, type HostileRelay, startHostileRelay } from '../fakes/hostile-relay.ts';
import { connectRawClient, startTestRelay, type TestRelay } from '../fakes/relay.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PAGE = join(ROOT, 'dist', 'verify.html');
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.log(
    `SKIP the verification page in a browser: ${CHROMIUM} is missing (.ci/run installs Debian's chromium with apt-get when it can)`,
  );
}
const browserTest = haveChromium ? test : test.skip;
const updateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';

// ------------------------------------------------------------------------------------------ the examples

const EXAMPLES = join(ROOT, 'docs/examples');
const example = (name: string): Event =>
  JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), 'utf8')) as Event;
/** Every example a relay keeps today: the payment prompt (06) expired with its invoice (NIP-40) and is left out. */
const allExamples: Event[] = readdirSync(EXAMPLES)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Event)
  .filter((event) => !event.tags.some((tag) => tag[0] === 'expiration'));
const AGENT_NPUB = npubEncode(EXAMPLE_KEYS.agent);

/** The example tasks (docs/protocol.md §12): their listing, and how many events the page's timeline shows. */
const TASKS = {
  happy: { listing: '04-task-listing', state: 'paid' },
  refund: { listing: '18-refund-task-listing', state: 'refunded' },
  dispute: { listing: '24-dispute-task-listing', state: 'paid' },
  expire: { listing: '40-expire-task-listing', state: 'expired' },
  cancel: { listing: '44-cancel-task-listing', state: 'cancelled' },
} as const;
const taskId = (name: keyof typeof TASKS) => example(TASKS[name].listing).id;

/**
 * What the page should show for a task: the listing, the agent's labels about it, the actions they name, and the
 * payout invoices given for it.
 */
function expectedTimeline(task: string): string[] {
  const aboutTask = (event: Event) =>
    event.kind === 1985 && event.tags.some((tag) => tag[0] === 'e' && tag[1] === task && tag[3] === 'task');
  const agentLabels = allExamples.filter((event) => event.pubkey === EXAMPLE_KEYS.agent && aboutTask(event));
  const payoutInvoices = allExamples.filter(
    (event) => aboutTask(event) && event.tags.some((tag) => tag[0] === 'l' && tag[1] === 'payout_invoice'),
  );
  const named = new Set(
    agentLabels.flatMap((event) =>
      event.tags
        .filter((tag) => tag[0] === 'e' && ['cause', 'verdict', 'dissent', 'reply'].includes(tag[3] ?? ''))
        .map((tag) => tag[1]!),
    ),
  );
  const ids = [
    task,
    ...agentLabels.map((event) => event.id),
    ...payoutInvoices.map((event) => event.id),
    ...named,
  ];
  return [...new Set(ids)].sort();
}

/** The dispute task's `paid` with the worker's payout 1,000 sat higher, re-signed with the agent's TEST key. */
function tamperedPaid(): { event: Event; original: Event } {
  const original = example('39-dispute-paid');
  const tags = original.tags.map((tag) =>
    tag[0] === 'payout' && tag[1] === 'worker'
      ? [...tag.slice(0, 2), String(Number(tag[2]) + 1_000_000), ...tag.slice(3)]
      : [...tag],
  );
  const event = finalizeEvent(
    { kind: original.kind, created_at: original.created_at, tags, content: original.content },
    SECRET.agent,
  );
  return { event: plain(event), original };
}

function plain(event: Event): Event {
  const { id, pubkey, created_at, kind, tags, content, sig } = event;
  return { id, pubkey, created_at, kind, tags, content, sig };
}

// --------------------------------------------------------------------------------- Node: what is pasted

test('the page reads a task id, note, nevent or naddr, an npub, and relay URLs, and refuses an nsec', () => {
  const id = taskId('dispute');
  assert.equal(readTaskReference(id), { ok: true, value: { kind: 'id', taskId: id } });
  assert.equal(readTaskReference(`nostr:${neventEncode({ id })}`), {
    ok: true,
    value: { kind: 'id', taskId: id },
  });
  const listing = example(TASKS.dispute.listing);
  const d = listing.tags.find((tag) => tag[0] === 'd')![1]!;
  assert.equal(readTaskReference(naddrEncode({ kind: 30402, pubkey: listing.pubkey, identifier: d })), {
    ok: true,
    value: { kind: 'address', address: `30402:${listing.pubkey}:${d}` },
  });
  assert.not.ok(readTaskReference(id.toUpperCase()).ok);
  assert.not.ok(readTaskReference(naddrEncode({ kind: 1, pubkey: listing.pubkey, identifier: d })).ok);
  assert.equal(readAgent(AGENT_NPUB), { ok: true, value: EXAMPLE_KEYS.agent });
  const secret = readAgent(nsecEncode(SECRET.agent));
  assert.ok(!secret.ok && secret.error.includes('secret key'));
  assert.equal(readRelays('wss://relay.example.com\n\n ws://127.0.0.1:7000 \nwss://relay.example.com'), {
    ok: true,
    value: ['wss://relay.example.com/', 'ws://127.0.0.1:7000/'],
  });
  assert.not.ok(readRelays('https://relay.example.com').ok);
  assert.not.ok(readRelays('wss://user:pass@relay.example.com').ok);
  assert.not.ok(readRelays('').ok);
});

// ------------------------------------------------------------------------------ Node: the relay fetcher

const nodeSocket: OpenSocket = (url) => new WebSocket(url) as unknown as SocketLike;

test('the fetcher keeps a relay to its event budget and says so', async () => {
  const hostile = await startHostileRelay();
  try {
    const key = generateSecretKey();
    const task = taskId('happy');
    for (let index = 0; index < 60; index += 1) {
      hostile.add(
        finalizeEvent(
          {
            kind: 1985,
            created_at: 1_750_000_000 + index,
            tags: [['e', task, '', 'task']],
            content: `${index}`,
          },
          key,
        ),
      );
    }
    const session = new RelaySession(hostile.url, nodeSocket, { ...FETCH_LIMITS, maxEvents: 50 });
    assert.ok(await session.open());
    const events = await session.request([{ kinds: [1985], '#e': [task] }]);
    session.close();
    assert.is(events.length, 50);
    assert.is(session.status.state, 'over budget');
    assert.ok(session.status.notes.some((note) => note.includes('50 events')));
  } finally {
    await hostile.stop();
  }
});

test('the fetcher drops oversized, unreadable and unasked-for frames, and stops at its byte budget', async () => {
  const hostile = await startHostileRelay();
  try {
    const listing = example(TASKS.happy.listing);
    hostile.add(listing, example('05-offered'));
    hostile.addRaw('["EVENT", "not json');
    hostile.addRaw((subscription) =>
      JSON.stringify(['EVENT', subscription, { ...listing, kind: 1, extra: 1 }]),
    );
    hostile.addRaw((subscription) => JSON.stringify(['EVENT', subscription, example('07-funded')]));
    hostile.addRaw((subscription) => `["EVENT","${subscription}",{"id":"${'x'.repeat(300_000)}"}]`);
    hostile.addRaw(JSON.stringify(['NOTICE', 'hello <b>there</b>']));
    const session = new RelaySession(hostile.url, nodeSocket, FETCH_LIMITS);
    assert.ok(await session.open());
    const events = await session.request([{ ids: [listing.id] }]);
    assert.equal(
      events.map((event) => event.id),
      [listing.id],
    );
    assert.is(session.status.dropped, 4);
    assert.ok(session.status.notes.includes('NOTICE: hello <b>there</b>'));
    session.close();

    const small = new RelaySession(hostile.url, nodeSocket, { ...FETCH_LIMITS, maxBytes: 100_000 });
    assert.ok(await small.open());
    await small.request([{ ids: [listing.id] }]);
    small.close();
    assert.is(small.status.state, 'over budget');
  } finally {
    await hostile.stop();
  }
});

test('the fetcher gives up on a silent relay and an unreachable one, and keeps what it has', async () => {
  const silent = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => silent.once('listening', () => resolve()));
  const port = (silent.address() as { port: number }).port;
  try {
    const limits = { ...FETCH_LIMITS, requestTimeoutMs: 300, connectTimeoutMs: 1_000 };
    const started = Date.now();
    const collected = await collectTask({
      task: { kind: 'id', taskId: taskId('happy') },
      agentPubkey: EXAMPLE_KEYS.agent,
      relays: [`ws://127.0.0.1:${port}/`, `ws://127.0.0.1:${await closedPort()}/`],
      openSocket: nodeSocket,
      limits,
    });
    assert.ok(Date.now() - started < 3_000, 'bounded by the timeouts');
    assert.equal(collected.events, []);
    assert.equal(
      collected.relays.map((relay) => relay.state),
      ['done', 'failed'],
    );
    assert.ok(collected.relays[0]!.notes.some((note) => note.includes('no EOSE')));
  } finally {
    for (const client of silent.clients) client.terminate();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('the page build is one file: inline script and style, pinned by hash, connections to ws/wss only', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'verify-page-')), 'verify.html');
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-verify-page.mjs'), '--out', out], {
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
  assert.match(html, /issue #13/);
});

test('src/web writes no event text as HTML', () => {
  const web = join(ROOT, 'src/web');
  for (const file of readdirSync(web).filter((name) => name.endsWith('.ts'))) {
    const code = readFileSync(join(web, file), 'utf8');
    assert.not.match(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|srcdoc/, file);
  }
});

// ------------------------------------------------------------------------------- the page in Chromium

let good: TestRelay | null = null;
let tampered: TestRelay | null = null;
let forged: HostileRelay | null = null;
let context: BrowserContext | null = null;
let userDataDir = '';
const pageErrors: string[] = [];
const requests: string[] = [];

async function publishAll(relay: TestRelay, events: readonly Event[]): Promise<void> {
  const client = await connectRawClient(relay.url);
  try {
    for (const event of events) {
      const [, , accepted, message] = await client.publish(event);
      assert.ok(accepted, `${event.id}: ${message}`);
    }
  } finally {
    await client.close();
  }
}

test.before(async () => {
  if (!haveChromium) return;
  try {
    await setUpBrowserCases();
  } catch (error) {
    // uvu does not print an error thrown by a hook: say it here, then fail the suite.
    console.error('the browser cases could not be set up:', error);
    throw error;
  }
});

async function setUpBrowserCases(): Promise<void> {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-verify-page.mjs')], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`the page build failed: ${built.stderr}`);

  // Relay 1: every example, as signed. Relay 2: the same, with the dispute task's `paid` tampered and re-signed.
  good = await startTestRelay();
  await publishAll(good, allExamples);
  const { event: paid, original } = tamperedPaid();
  tampered = await startTestRelay();
  await publishAll(tampered, [...allExamples.filter((event) => event.id !== original.id), paid]);
  // Relay 3 stores anything: the dispute task with its `settling` transition's signature broken.
  forged = await startHostileRelay();
  const settling = example('34-dispute-settling');
  forged.add(
    ...allExamples.map((event) =>
      event.id === settling.id ? forgeEvent(event, 'bad-signature', SECRET.agent) : event,
    ),
  );

  const { chromium } = await import('playwright-core');
  userDataDir = mkdtempSync(join(tmpdir(), 'verify-page-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1100, height: 900 },
  });
}

test.after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await good?.stop();
  await tampered?.stop();
  await forged?.stop();
});

interface Shown {
  verdict: string;
  headline: string;
  explanation: string;
  notes: string[];
  elapsedMs: number;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  timeline: Array<{ id: string; role: string; label: string; summary: string }>;
  ignored: string[];
  relays: string[];
}

/**
 * What the page shows, read in the page. A string, not a function: tsx compiles this file with esbuild's
 * keepNames, whose `__name` helper does not exist in the page.
 */
const READ_PAGE = `(() => {
  const text = (node) => (node ? node.textContent : '');
  const verdict = document.querySelector('#verdict');
  const all = (selector) => Array.from(document.querySelectorAll(selector));
  return {
    verdict: verdict.getAttribute('data-verdict') || '',
    headline: text(verdict.querySelector('.headline')),
    explanation: text(verdict.querySelector('.explanation')),
    notes: Array.from(verdict.querySelectorAll('.note')).map((node) => text(node)),
    elapsedMs: Number(verdict.getAttribute('data-elapsed-ms')),
    checks: all('#checks .check').map((item) => ({
      name: item.getAttribute('data-check') || '',
      ok: item.classList.contains('pass'),
      detail: text(item.querySelector('.detail')),
    })),
    timeline: all('#timeline details.event').map((item) => ({
      id: item.getAttribute('data-event-id') || '',
      role: text(item.querySelector('.role')),
      label: text(item.querySelector('.label')),
      summary: text(item.querySelector('.summary')),
    })),
    ignored: all('#ignored li').map((item) => text(item)),
    relays: all('#relay-list li').map((item) => text(item)),
  };
})()`;

async function openPage(): Promise<Page> {
  const page = await context!.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    // A relay that cannot be reached is logged by Chromium itself; anything else is the page's fault.
    if (message.type() === 'error' && !/^WebSocket connection to .* failed/.test(message.text())) {
      pageErrors.push(message.text());
    }
  });
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(PAGE).href);
  return page;
}

async function verifyIn(
  page: Page,
  fields: { task: string; agent?: string; relays: readonly string[] },
): Promise<{ shown: Shown; wallMs: number }> {
  await page.fill('#task', fields.task);
  await page.fill('#agent', fields.agent ?? AGENT_NPUB);
  await page.fill('#relays', fields.relays.join('\n'));
  const began = Date.now();
  await page.click('#verify');
  await page.waitForSelector('#result:not([hidden]) #verdict[data-verdict]', { timeout: 20_000 });
  const wallMs = Date.now() - began;
  const shown = (await page.evaluate(READ_PAGE)) as Shown;
  return { shown, wallMs };
}

/** A port nobody listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const failedChecks = (shown: Shown) => shown.checks.filter((check) => !check.ok);

browserTest(
  'every example task verifies: every check green, the whole timeline, one row per event',
  async () => {
    const page = await openPage();
    for (const name of Object.keys(TASKS) as Array<keyof typeof TASKS>) {
      await page.goto(pathToFileURL(PAGE).href);
      const { shown, wallMs } = await verifyIn(page, { task: taskId(name), relays: [good!.url] });
      assert.equal(failedChecks(shown), [], `${name}: ${JSON.stringify(failedChecks(shown))}`);
      assert.is(shown.verdict, 'verified', name);
      assert.is(shown.headline, `✓ Verified: the task is ${TASKS[name].state}`);
      assert.equal(
        shown.checks.map((check) => check.name),
        [...CHECK_NAMES],
      );
      assert.equal(
        shown.timeline.map((row) => row.id).sort(),
        expectedTimeline(taskId(name)),
        `${name}: the timeline`,
      );
      if (name === 'dispute') {
        assert.equal(shown.timeline[0], {
          id: taskId('dispute'),
          role: 'poster',
          label: 'listing',
          summary: shown.timeline[0]!.summary,
        });
        assert.ok(shown.timeline.some((row) => row.role === 'arbitrator' && row.label === 'verdict'));
        assert.ok(shown.timeline.some((row) => row.role === 'worker' && row.label === 'claim'));
        const conservation = shown.checks.find((check) => check.name === 'conservation')!;
        assert.match(conservation.detail, /50000000/);
        assert.ok(
          shown.notes.includes(
            "The agent's announced policy: fee 1 sat + 5000 ppm, rules version 3, 1 arbitrator(s).",
          ),
        );
        console.log(
          `verify.html: time to a verdict for the dispute task (${shown.timeline.length} events, 1 relay): ${shown.elapsedMs} ms in the page, ${wallMs} ms from the click`,
        );
        if (updateScreenshots) {
          await page.screenshot({ path: join(ROOT, 'docs/verify-good.png'), fullPage: true });
        }
      }
    }
    await page.close();
  },
);

browserTest('each event of the timeline opens to its raw JSON, exactly as signed', async () => {
  const page = await openPage();
  await verifyIn(page, { task: taskId('dispute'), relays: [good!.url] });
  const paid = example('39-dispute-paid');
  const row = page.locator(`#timeline details[data-event-id="${paid.id}"]`);
  assert.not.ok(await row.locator('pre.raw').isVisible());
  await row.locator('summary').click();
  assert.ok(await row.locator('pre.raw').isVisible());
  assert.equal(JSON.parse((await row.locator('pre.raw').textContent()) ?? ''), paid);
  await page.close();
});

browserTest(
  'a paid transition with a changed payout, re-signed by the agent key: signatures pass, money fails',
  async () => {
    const page = await openPage();
    const { shown } = await verifyIn(page, { task: taskId('dispute'), relays: [tampered!.url] });
    assert.is(shown.verdict, 'failed');
    assert.is(shown.headline, `✗ Not verified: 2 of ${CHECK_NAMES.length} checks failed`);
    assert.ok(shown.checks.find((check) => check.name === 'signatures')!.ok);
    assert.ok(shown.checks.find((check) => check.name === 'chain')!.ok);
    assert.equal(
      failedChecks(shown).map((check) => check.name),
      ['payouts', 'conservation'],
    );
    const [payouts, conservation] = failedChecks(shown);
    assert.match(payouts!.detail, /the worker was paid 30849400 msat .* which is for 29849400 msat/);
    assert.is(conservation!.detail, 'received 50000000 msat but paid 50749000 + fee 251000 msat');
    assert.match(shown.explanation, /^First failure: Payouts: the worker was paid 30849400 msat/);
    const row = shown.timeline.find((entry) => entry.label === 'paid')!;
    assert.match(row.summary, /30849400/);
    if (updateScreenshots)
      await page.screenshot({ path: join(ROOT, 'docs/verify-tampered.png'), fullPage: true });
    await page.close();
  },
);

browserTest(
  'a transition with a broken signature is set aside, and the gap it leaves fails the task',
  async () => {
    const page = await openPage();
    const settling = example('34-dispute-settling');
    const { shown } = await verifyIn(page, { task: taskId('dispute'), relays: [forged!.url] });
    assert.is(shown.verdict, 'failed');
    const signatures = shown.checks.find((check) => check.name === 'signatures')!;
    assert.not.ok(signatures.ok);
    assert.match(
      signatures.detail,
      new RegExp(`${settling.id}, the prev of payout_pending .* only with a bad id or signature .*signature`),
    );
    assert.ok(failedChecks(shown).some((check) => check.name === 'chain'));
    assert.ok(shown.ignored.some((line) => line.includes(settling.id) && line.includes('signature')));
    await page.close();
  },
);

browserTest('a forged copy served first does not hide the genuine event from another relay', async () => {
  const page = await openPage();
  const { shown } = await verifyIn(page, { task: taskId('dispute'), relays: [forged!.url, good!.url] });
  assert.equal(failedChecks(shown), []);
  assert.is(shown.verdict, 'verified');
  assert.is(shown.relays.length, 2);
  await page.close();
});

browserTest(
  'a naddr finds the task through the agent offer; an unreachable relay is reported, not fatal',
  async () => {
    const page = await openPage();
    const listing = example(TASKS.refund.listing);
    const naddr = naddrEncode({
      kind: 30402,
      pubkey: listing.pubkey,
      identifier: listing.tags.find((tag) => tag[0] === 'd')![1]!,
    });
    const closed = await closedPort();
    const { shown } = await verifyIn(page, { task: naddr, relays: [`ws://127.0.0.1:${closed}`, good!.url] });
    assert.is(shown.verdict, 'verified');
    assert.ok(shown.timeline.some((row) => row.id === listing.id));
    assert.ok(
      shown.relays.some((relay) => relay.startsWith(`ws://127.0.0.1:${closed}/`) && relay.includes('failed')),
    );
    await page.close();
  },
);

browserTest('text from a hostile relay is shown as text, never run or parsed as HTML', async () => {
  const hostile = await startHostileRelay();
  try {
    const attack = '<img src=x onerror="document.title=\'pwned\'"><script>window.pwned=1</script>';
    const task = taskId('cancel');
    // A rejection really signed by the (TEST) agent key, whose text is markup; and relay messages that are markup.
    const rejection = finalizeEvent(
      {
        kind: 1985,
        created_at: 1_750_100_000,
        tags: [
          ['L', 'nostr-escrow/v1'],
          ['l', 'rejected', 'nostr-escrow/v1'],
          ['e', 'a'.repeat(64), '', 'reply'],
          ['e', task, '', 'task'],
          ['p', EXAMPLE_KEYS.poster],
          ['code', 'WrongState'],
        ],
        content: `blocked: ${attack}`,
      },
      SECRET.agent,
    );
    hostile.add(...allExamples, plain(rejection));
    hostile.addRaw(JSON.stringify(['NOTICE', attack]));
    hostile.addRaw((subscription) => JSON.stringify(['CLOSED', `${subscription}x`, attack]));
    const page = await openPage();
    const { shown } = await verifyIn(page, { task, relays: [hostile.url] });
    assert.is(shown.verdict, 'verified');
    const row = shown.timeline.find((entry) => entry.id === rejection.id)!;
    assert.ok(
      row.summary.startsWith('refused') && row.summary.includes('blocked: <img src=x onerror='),
      row.summary,
    );
    assert.ok(shown.relays.some((relay) => relay.includes(`NOTICE: ${attack}`)));
    assert.is(await page.title(), 'Verify an escrow task');
    assert.is(await page.evaluate('typeof window.pwned'), 'undefined');
    assert.is(await page.locator('main img, #result script').count(), 0);
    await page.close();
  } finally {
    await hostile.stop();
  }
});

browserTest('the page loaded nothing but itself, and broke no rule of its Content-Security-Policy', () => {
  assert.ok(requests.length > 0);
  assert.equal(
    requests.filter((url) => !url.startsWith('file://')),
    [],
  );
  assert.equal(pageErrors, []);
});

test.run();
