// `escrow-agent task`, the client for posters, workers and arbitrators, from real parts: a real agent (the harness:
// an embedded relay on 127.0.0.1, three LDK nodes, SQLite) and the command run in-process through the command line's
// main(), so the registration, the option parsing and the exit codes are the product's. A whole lifecycle runs
// through it (post with a poster key file, the hold paid from the sandbox's payer node, claim with the worker's key
// in NOSTR_SECRET_KEY, submit with an invoice from the worker node, approve, watch until paid; list and show on the
// way) with every --json output parsed; a refusal, a dispute decided by an arbitrator, bad input, and an agent
// nobody runs (no answer) each get their exit code.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npubEncode, nsecEncode } from 'nostr-tools/nip19';
import { bytesToHex } from 'nostr-tools/utils';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main, type Output } from '../../src/cli/cli.ts';
import type { PaymentResult } from '../../src/ldk/port.ts';
import { type Harness, type Person, person, startHarness } from '../fakes/agent-harness.ts';
import { cleanEnvironment } from '../fakes/built-cli.ts';

const AMOUNT_SATS = 30_000n;
const AMOUNT = AMOUNT_SATS * 1000n;
const ARBITRATOR = person();

let harness: Harness;
let folder: string;
let savedCwd: string;
let savedEnv: NodeJS.ProcessEnv;
let posterKeyFile: string;
let arbitratorKeyFile: string;
const payments: Array<Promise<PaymentResult>> = [];

function capture(): Output & { stdout: string[]; stderr: string[]; text: () => string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    text: () => [...stdout, ...stderr].join('\n'),
  };
}

/** escrow-agent task ARGS, in-process through the command line; NOSTR_SECRET_KEY as given (or unset). */
async function task(args: string[], secret?: string) {
  const io = capture();
  if (secret === undefined) delete process.env.NOSTR_SECRET_KEY;
  else process.env.NOSTR_SECRET_KEY = secret;
  try {
    const code = await main(['task', ...args], io);
    return { code, io, text: io.text() };
  } finally {
    delete process.env.NOSTR_SECRET_KEY;
  }
}

/** The same, with --json: stdout is one JSON document. */
async function taskJson(args: string[], secret?: string) {
  const run = await task([...args, '--json'], secret);
  assert.ok(run.io.stdout.length > 0, `JSON on stdout:\n${run.text}`);
  return { ...run, json: JSON.parse(run.io.stdout.join('\n')) as unknown };
}

/** The value at a dotted path in parsed JSON (array indexes as numbers: `tasks.0.state`). */
function at(value: unknown, path: string): unknown {
  let here = value;
  for (const key of path.split('.')) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<string, unknown>)[key];
  }
  return here;
}

/** The same, as a string (for assert.match). */
function str(value: unknown, path: string): string {
  const found = at(value, path);
  assert.type(found, 'string', `${path} is a string`);
  return found as string;
}

const agentNpub = () => npubEncode(harness.agentKey.pubkey);
const on = () => ['--agent', agentNpub(), '--relay', harness.relay.url];
const hexOf = (someone: Person) => bytesToHex(someone.secretKey);

function writeKey(name: string, text: string, mode = 0o600): string {
  const path = join(folder, name);
  writeFileSync(path, `${text}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

test.before(async () => {
  savedCwd = process.cwd();
  savedEnv = { ...process.env };
  // An empty folder without configuration: no relay list, no agent key.
  folder = mkdtempSync(join(tmpdir(), 'escrow-task-'));
  process.chdir(folder);
  process.env = cleanEnvironment();
  harness = await startHarness({ policy: { arbitrators: [ARBITRATOR.pubkey] } });
  // The poster's key as an nsec in a file (mode 600); the arbitrator's as hex.
  posterKeyFile = writeKey('poster.key', nsecEncode(harness.poster.secretKey));
  arbitratorKeyFile = writeKey('arbitrator.key', hexOf(ARBITRATOR));
});

test.after(async () => {
  await harness?.stop();
  await Promise.allSettled(payments);
  process.chdir(savedCwd);
  process.env = savedEnv;
  rmSync(folder, { recursive: true, force: true });
});

/** Posts a task through the CLI (--json) and pays its hold from the payer node; returns the task id. */
async function postAndFund(title: string): Promise<{ taskId: string; bolt11: string; feeMsat: bigint }> {
  const { code, json, text } = await taskJson([
    'post',
    ...on(),
    '--key',
    posterKeyFile,
    '--amount',
    String(AMOUNT_SATS),
    '--title',
    title,
    '--description',
    'Five, seven, five.',
  ]);
  assert.is(code, 0, text);
  const bolt11 = str(json, 'answer.details.bolt11');
  payments.push(harness.sandbox.payer.pay({ bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 120 }));
  await harness.waitForState(str(json, 'taskId'), 'funded', 60_000);
  return { taskId: str(json, 'taskId'), bolt11, feeMsat: BigInt(str(json, 'answer.details.feeMsat')) };
}

test('a whole lifecycle through the CLI: post, pay, claim, submit, approve, watch until paid; list and show', async () => {
  // post: the listing is published, the agent answers with its offer.
  const posted = await taskJson([
    'post',
    ...on(),
    '--key',
    posterKeyFile,
    '--amount',
    String(AMOUNT_SATS),
    '--title',
    'Write a haiku about escrow',
    '--description',
    'Five, seven, five syllables.',
    '--window',
    'claim=7200',
  ]);
  assert.is(posted.code, 0, posted.text);
  const post = posted.json;
  assert.is(at(post, 'command'), 'post');
  assert.is(at(post, 'outcome'), 'accepted');
  assert.is(at(post, 'signer'), harness.poster.pubkey);
  assert.is(at(post, 'agent'), harness.agentKey.pubkey);
  assert.is(at(post, 'event.kind'), 30402);
  assert.is(at(post, 'taskId'), at(post, 'event.id'), 'the task id is the listing id');
  assert.match(str(post, 'nevent'), /^nevent1/);
  assert.equal(at(post, 'published.accepted'), [harness.relay.url]);
  assert.is(at(post, 'answer.type'), 'transition');
  assert.is(at(post, 'answer.state'), 'offered');
  assert.is(at(post, 'answer.taskId'), at(post, 'taskId'));
  assert.is(at(post, 'answer.details.amountMsat'), AMOUNT.toString(), 'msat as a string');
  const fee = harness.feeFor(AMOUNT);
  assert.is(at(post, 'answer.details.feeMsat'), fee.toString());
  assert.is(at(post, 'answer.details.workerGetsMsat'), (AMOUNT - fee).toString());
  assert.match(str(post, 'answer.details.bolt11'), /^lnbcrt/);
  assert.match(str(post, 'answer.details.paymentHash'), /^[0-9a-f]{64}$/);
  assert.is(at(post, 'answer.details.title'), 'Write a haiku about escrow');
  assert.match(str(post, 'next'), `escrow-agent ln pay ${str(post, 'answer.details.bolt11')}`);
  const taskId = str(post, 'taskId');
  const canReceiveBefore = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;

  // The hold paid from the sandbox's payer node (it stays in flight until the agent settles it).
  payments.push(
    harness.sandbox.payer.pay({
      bolt11: str(post, 'answer.details.bolt11'),
      maxFeeMsat: 10_000n,
      timeoutSeconds: 120,
    }),
  );
  await harness.waitForState(taskId, 'funded', 60_000);

  // list: the funded task is open, found through the agent's NIP-65 relay list on the configured relays.
  process.env.NOSTR_RELAYS = harness.relay.url;
  const listed = await taskJson(['list', '--agent', agentNpub()]);
  delete process.env.NOSTR_RELAYS;
  assert.is(listed.code, 0, listed.text);
  const row = (at(listed.json, 'tasks') as unknown[]).find((one) => at(one, 'taskId') === taskId);
  assert.ok(row, `the task is listed:\n${listed.text}`);
  assert.is(at(row, 'state'), 'funded');
  assert.is(at(row, 'title'), 'Write a haiku about escrow');
  assert.is(at(row, 'amountMsat'), AMOUNT.toString());
  assert.is(at(row, 'workerGetsMsat'), (AMOUNT - fee).toString());
  assert.ok((at(listed.json, 'counts.funded') as number) >= 1);
  assert.equal(at(listed.json, 'relays'), [harness.relay.url]);
  const listText = await task(['list', ...on()]);
  assert.is(listText.code, 0, listText.text);
  assert.match(
    listText.text,
    new RegExp(`^funded .*30000 sat .*claim until .*${taskId}  "Write a haiku about escrow"$`, 'm'),
  );

  // claim, as the worker (the key in NOSTR_SECRET_KEY, as an nsec).
  const claimed = await taskJson(
    ['claim', taskId, ...on(), '--note', 'on it'],
    nsecEncode(harness.worker.secretKey),
  );
  assert.is(claimed.code, 0, claimed.text);
  assert.is(at(claimed.json, 'outcome'), 'accepted');
  assert.is(at(claimed.json, 'stateBefore'), 'funded');
  assert.is(at(claimed.json, 'signer'), harness.worker.pubkey);
  assert.is(at(claimed.json, 'answer.state'), 'claimed');
  assert.is(
    at(claimed.json, 'answer.cause'),
    at(claimed.json, 'event.id'),
    'the transition names the claim as its cause',
  );
  assert.is(at(claimed.json, 'answer.worker'), harness.worker.pubkey);
  assert.match(str(claimed.json, 'next'), `escrow-agent ln invoice ${(AMOUNT - fee) / 1000n}`);

  // submit, with an invoice from the worker node for exactly amount - fee (the key as hex this time).
  const invoice = await harness.sandbox.worker.createInvoice({
    amountMsat: AMOUNT - fee,
    description: 'the haiku',
    expirySeconds: 3600,
  });
  const submitted = await taskJson(
    ['submit', taskId, ...on(), '--invoice', invoice.bolt11, '--note', 'Held in escrow / a hash that waits'],
    hexOf(harness.worker),
  );
  assert.is(submitted.code, 0, submitted.text);
  assert.is(at(submitted.json, 'answer.state'), 'submitted');
  assert.is(at(submitted.json, 'answer.cause'), at(submitted.json, 'event.id'));
  assert.match(str(submitted.json, 'next'), `escrow-agent task approve ${taskId}`);

  // approve, as the poster: the agent settles.
  const approved = await taskJson(['approve', taskId, ...on(), '--key', posterKeyFile]);
  assert.is(approved.code, 0, approved.text);
  assert.is(at(approved.json, 'answer.state'), 'settling');
  assert.is(at(approved.json, 'answer.details.reason'), 'approved');
  assert.equal(at(approved.json, 'answer.details.resolution'), { kind: 'worker' });

  // watch: the history so far, then each new transition, one JSON object per line, until paid.
  const watched = await task(['watch', taskId, ...on(), '--json', '--timeout', '60']);
  assert.is(watched.code, 0, watched.text);
  const lines = watched.io.stdout.map((line) => JSON.parse(line) as unknown);
  assert.equal(
    lines.filter((line) => at(line, 'type') === 'transition').map((line) => at(line, 'state')),
    ['offered', 'funded', 'claimed', 'submitted', 'settling', 'settled', 'paid'],
  );
  const paid = lines.at(-1)!;
  assert.is(at(paid, 'state'), 'paid');
  assert.is(at(paid, 'details.payouts.0.recipient'), 'worker');
  assert.is(at(paid, 'details.payouts.0.amountMsat'), (AMOUNT - fee).toString());
  assert.is(at(paid, 'details.payouts.0.paymentHash'), invoice.paymentHash);
  assert.is(at(paid, 'details.payouts.0.preimage'), undefined, 'no preimage is printed');
  assert.is(at(paid, 'details.payouts.0.proofPublished'), true);
  const settled = lines.find((line) => at(line, 'state') === 'settled');
  assert.is(at(settled, 'details.settlement.preimagePublished'), true);
  assert.is(at(settled, 'details.settlement.preimage'), undefined);
  // The worker node was paid: it can receive that much less.
  const canReceiveAfter = (await harness.sandbox.worker.getInfo()).remoteBalanceMsat;
  assert.is(canReceiveBefore - canReceiveAfter, AMOUNT - fee);

  // watch in text on a finished task: the history, and it ends at once.
  const watchText = await task(['watch', taskId, ...on()]);
  assert.is(watchText.code, 0, watchText.text);
  assert.match(watchText.text, /\d\d:\d\d:\d\dZ {2}paid {2}\(event [0-9a-f]{64}\)/);
  assert.match(watchText.text, new RegExp(`paid to the worker +${(AMOUNT - fee) / 1000n} sat`));
  assert.match(watchText.io.stdout.at(-1)!, 'the task is over: paid');

  // show: verify's timeline and checks, the state now and what next.
  const shown = await taskJson(['show', taskId, ...on()]);
  assert.is(shown.code, 0, shown.text);
  assert.is(at(shown.json, 'state'), 'paid');
  assert.is(at(shown.json, 'verification.ok'), true);
  assert.is(at(shown.json, 'verification.tasks.0.state'), 'paid');
  assert.ok(
    (at(shown.json, 'verification.tasks.0.checks') as Array<{ ok: boolean }>).every((check) => check.ok),
  );
  const showText = await task(['show', taskId, ...on()]);
  assert.is(showText.code, 0);
  assert.match(showText.text, /^timeline:$/m);
  assert.match(showText.text, /VERIFIED: task [0-9a-f]{64} is paid/);
  assert.match(showText.text, /^now:\n {2}\S+ \S+ {2}paid {2}\(event [0-9a-f]{64}\)$/m);
  assert.not.match(showText.text, /^next:/m, 'nothing left to do');
  assert.is(at(shown.json, 'next'), null);
  assert.match(showText.text, /^relays:\n {2}ws:\/\/127\.0\.0\.1:\d+ {2}given with --relay$/m);
  // A finished task is no longer listed.
  const after = await taskJson(['list', ...on()]);
  assert.not.ok((at(after.json, 'tasks') as unknown[]).some((one) => at(one, 'taskId') === taskId));
});

test('post in text: the offer with its invoice, amount, fee and payment hash, and the next step', async () => {
  const { code, text } = await task([
    'post',
    ...on(),
    '--key',
    posterKeyFile,
    '--amount',
    '21000',
    '--title',
    'Proofread a page',
  ]);
  assert.is(code, 0, text);
  assert.match(text, /^ACCEPTED: the task is offered$/m);
  const fee = harness.feeFor(21_000_000n);
  assert.match(text, /^ {2}amount +21000 sat$/m);
  assert.match(text, new RegExp(`^ {2}fee +${fee / 1000n} sat$`, 'm'));
  assert.match(text, new RegExp(`^ {2}worker gets +${21_000n - fee / 1000n} sat \\(amount - fee\\)$`, 'm'));
  assert.match(text, /^ {2}payment hash +[0-9a-f]{64}$/m);
  assert.match(text, /^ {2}hold invoice +lnbcrt\S+$/m);
  assert.match(text, /^next: pay the hold invoice \(21000 sat\) .* escrow-agent ln pay lnbcrt/m);
  assert.not.match(text, /nsec1/, 'the secret is never printed');
});

test('a refusal: the poster claiming their own task exits 1 with the code and the reason', async () => {
  const { taskId } = await postAndFund('Claimed by its own poster');
  const json = await taskJson(['claim', taskId, ...on(), '--key', posterKeyFile]);
  assert.is(json.code, 1, json.text);
  assert.is(at(json.json, 'outcome'), 'refused');
  assert.is(at(json.json, 'answer.type'), 'rejected');
  assert.is(at(json.json, 'answer.code'), 'OwnTask');
  assert.is(at(json.json, 'answer.replyTo'), at(json.json, 'event.id'));
  assert.match(str(json.json, 'answer.reason'), /^blocked: /);
  const text = await task(['claim', taskId, ...on(), '--key', posterKeyFile]);
  assert.is(text.code, 1);
  assert.match(text.text, /^REFUSED by the agent: OwnTask: blocked: .+$/m);
  assert.match(text.text, /^ {2}code {4}OwnTask$/m);
  // A listing the agent's policy refuses: the refusal of the listing itself.
  const small = await taskJson([
    'post',
    ...on(),
    '--key',
    posterKeyFile,
    '--amount',
    '5',
    '--title',
    'Too small',
  ]);
  assert.is(small.code, 1, small.text);
  assert.is(at(small.json, 'answer.code'), 'AmountOutOfPolicy');
  assert.is(at(small.json, 'answer.replyTo'), at(small.json, 'taskId'));
  assert.match(str(small.json, 'answer.reason'), /^invalid: /);
  // A payout invoice (here a Lightning address) while no payout waits for one: refused, with the reason.
  const early = await taskJson([
    'payout-invoice',
    taskId,
    ...on(),
    '--key',
    posterKeyFile,
    '--recipient',
    'poster',
    '--lud16',
    'poster@example.com',
  ]);
  assert.is(early.code, 1, early.text);
  assert.is(at(early.json, 'outcome'), 'refused');
  assert.is(at(early.json, 'answer.code'), 'WrongState');
  assert.match(str(early.json, 'answer.reason'), /^blocked: .*funded/);
  // The task is still funded: the refusal changed nothing.
  const shown = await taskJson(['show', taskId, ...on()]);
  assert.is(at(shown.json, 'state'), 'funded');
  assert.match(str(shown.json, 'next'), `escrow-agent task claim ${taskId}`);
});

test("a dispute and an arbitrator's verdict through the CLI: the worker is paid", async () => {
  const { taskId, feeMsat } = await postAndFund('A disputed haiku');
  const worker = hexOf(harness.worker);
  assert.is((await task(['claim', taskId, ...on()], worker)).code, 0);
  const invoice = await harness.sandbox.worker.createInvoice({
    amountMsat: AMOUNT - feeMsat,
    description: 'the disputed haiku',
    expirySeconds: 3600,
  });
  assert.is(
    (await task(['submit', taskId, ...on(), '--invoice', invoice.bolt11, '--note', 'done'], worker)).code,
    0,
  );
  const disputed = await taskJson([
    'dispute',
    taskId,
    ...on(),
    '--key',
    posterKeyFile,
    '--statement',
    'The haiku has six syllables in its first line.',
  ]);
  assert.is(disputed.code, 0, disputed.text);
  assert.is(at(disputed.json, 'answer.state'), 'disputed');
  assert.is(at(disputed.json, 'answer.details.openedBy'), 'poster');
  assert.equal(at(disputed.json, 'answer.details.arbitrators'), [ARBITRATOR.pubkey]);
  // A split's share must be in range: refused before anything is signed.
  const badShare = await task([
    'verdict',
    taskId,
    ...on(),
    '--key',
    arbitratorKeyFile,
    '--resolution',
    'split',
    '--share',
    '120%',
  ]);
  assert.is(badShare.code, 2);
  assert.match(badShare.text, /--share must be the worker's share/);
  // Someone who is not an arbitrator of the task: NotAnArbitrator.
  const stranger = await task(['verdict', taskId, ...on(), '--resolution', 'worker'], hexOf(person()));
  assert.is(stranger.code, 1, stranger.text);
  assert.match(stranger.text, /REFUSED by the agent: NotAnArbitrator/);
  const verdict = await taskJson([
    'verdict',
    taskId,
    ...on(),
    '--key',
    arbitratorKeyFile,
    '--resolution',
    'worker',
    '--note',
    'Five, seven, five: it is fine.',
  ]);
  assert.is(verdict.code, 0, verdict.text);
  assert.is(at(verdict.json, 'answer.state'), 'settling');
  assert.is(at(verdict.json, 'answer.details.reason'), 'verdict');
  assert.is(at(verdict.json, 'answer.details.verdicts.0.eventId'), at(verdict.json, 'event.id'));
  const watched = await task(['watch', taskId, ...on(), '--timeout', '60']);
  assert.is(watched.code, 0, watched.text);
  assert.match(watched.io.stdout.at(-1)!, 'the task is over: paid');
});

test('cancel before anyone claims: the agent refunds the poster', async () => {
  const { taskId } = await postAndFund('Cancelled before a claim');
  const cancelled = await taskJson([
    'cancel',
    taskId,
    ...on(),
    '--key',
    posterKeyFile,
    '--note',
    'changed my mind',
  ]);
  assert.is(cancelled.code, 0, cancelled.text);
  assert.is(at(cancelled.json, 'answer.state'), 'refunding');
  assert.is(at(cancelled.json, 'answer.details.reason'), 'poster_cancelled');
  // watch --json prints one object per line.
  const run = await task(['watch', taskId, ...on(), '--json', '--timeout', '60']);
  assert.is(run.code, 0, run.text);
  assert.is(at(JSON.parse(run.io.stdout.at(-1)!), 'state'), 'refunded');
});

test('no answer: an agent nobody runs exits 3, saying where the event went and what to run later', async () => {
  const nobody = person();
  const json = await taskJson(
    [
      'post',
      '--agent',
      npubEncode(nobody.pubkey),
      '--relay',
      harness.relay.url,
      '--timeout',
      '2',
      '--amount',
      '1000',
      '--title',
      'Anyone?',
    ],
    hexOf(harness.poster),
  );
  assert.is(json.code, 3, json.text);
  assert.is(at(json.json, 'outcome'), 'no_answer');
  assert.is(at(json.json, 'answer'), null);
  assert.equal(at(json.json, 'published.accepted'), [harness.relay.url]);
  const text = await task(
    [
      'claim',
      str(json.json, 'taskId'),
      '--agent',
      npubEncode(nobody.pubkey),
      '--relay',
      harness.relay.url,
      '--timeout',
      '1',
    ],
    hexOf(harness.worker),
  );
  assert.is(text.code, 3, text.text);
  assert.match(text.text, /NO ANSWER from the agent within 1 s\. The event was published to 1 relay\(s\)/);
  assert.match(text.text, `escrow-agent task show ${at(json.json, 'taskId')}`);
});

test('bad input exits 2 with what to change, before anything is sent, and never echoes a secret', async () => {
  const post = ['post', ...on(), '--amount', '1000', '--title', 'T'];
  // No key.
  const noKey = await task(post);
  assert.is(noKey.code, 2);
  assert.match(noKey.text, /give --key FILE .* or set NOSTR_SECRET_KEY/);
  // A key that is not a key: named by where it came from, its content not shown.
  const secretLooking = 'nsec1notreallyakeybutsecretenough';
  const badEnv = await task(post, secretLooking);
  assert.is(badEnv.code, 2);
  assert.match(badEnv.text, /NOSTR_SECRET_KEY must hold one secret key/);
  assert.not.match(badEnv.text, /notreally/);
  const garbage = writeKey('garbage.key', 'hunter2 is my password');
  const badFile = await task([...post, '--key', garbage]);
  assert.is(badFile.code, 2);
  assert.match(badFile.text, `the key file ${garbage} must hold one secret key`);
  assert.not.match(badFile.text, /hunter2/);
  const npubFile = writeKey('npub.key', npubEncode(harness.poster.pubkey));
  assert.match((await task([...post, '--key', npubFile])).text, /it holds an npub: that is the public half/);
  assert.match(
    (await task([...post, '--key', join(folder, 'missing.key')])).text,
    /cannot be read \(ENOENT\)/,
  );
  // The agent's own key: its events are never input.
  const own = await task(post, hexOf(harness.agentKey));
  assert.is(own.code, 2);
  assert.match(own.text, /the agent's own key/);
  // A bad npub, no agent at all, a bad amount, a bad window, a bad relay, a bad task reference.
  const badAgent = await task(
    ['post', '--agent', 'npub1nope', '--amount', '1000', '--title', 'T'],
    hexOf(harness.poster),
  );
  assert.is(badAgent.code, 2);
  assert.match(badAgent.text, /--agent "npub1nope" is not a pubkey: give the agent's npub/);
  const noAgent = await task(['list', '--relay', harness.relay.url]);
  assert.is(noAgent.code, 2);
  assert.match(noAgent.text, /which agent\? give its npub with --agent NPUB/);
  for (const amount of ['12x', '0', '-5', '1.5', '']) {
    const bad = await task(['post', ...on(), `--amount=${amount}`, '--title', 'T'], hexOf(harness.poster));
    assert.is(bad.code, 2, amount);
    assert.match(bad.text, /--amount must be the task's amount in whole sats/);
  }
  const noAmount = await task(['post', ...on(), '--title', 'T'], hexOf(harness.poster));
  assert.match(noAmount.text, /give the task's amount with --amount SATS/);
  const badWindow = await task([...post, '--window', 'lunch=60'], hexOf(harness.poster));
  assert.is(badWindow.code, 2);
  assert.match(
    badWindow.text,
    /--window "lunch=60": give NAME=SECONDS with NAME one of claim, work, review, dispute/,
  );
  const badRelay = await task(['list', '--agent', agentNpub(), '--relay', 'http://example.com']);
  assert.is(badRelay.code, 2);
  assert.match(badRelay.text, /--relay "http:\/\/example.com" .*give a relay's ws:\/\/ or wss:\/\/ URL/);
  const badRef = await task(['show', 'not-a-task', ...on()]);
  assert.is(badRef.code, 2);
  assert.match(badRef.text, /is not a task reference/);
  const noInvoiceOrAddress = await task(
    ['payout-invoice', 'a'.repeat(64), ...on(), '--recipient', 'poster'],
    hexOf(harness.poster),
  );
  assert.is(noInvoiceOrAddress.code, 2);
  assert.match(noInvoiceOrAddress.text, /give exactly one of --invoice BOLT11 .* and --lud16 NAME@DOMAIN/);
  const submitWithoutNote = await task(['submit', 'a'.repeat(64), ...on()], hexOf(harness.worker));
  assert.is(submitWithoutNote.code, 2);
  assert.match(submitWithoutNote.text, /give the delivery with --note TEXT/);
  const unknown = await task(['frobnicate']);
  assert.is(unknown.code, 2);
  assert.match(unknown.text, /unknown subcommand "frobnicate"/);
  const foreign = await task(['list', '--key', posterKeyFile, ...on()]);
  assert.is(foreign.code, 2);
  assert.match(foreign.text, /Unknown option '--key'/);
  // No relay that answers: exit 2, nothing published.
  const down = await task(
    ['post', '--agent', agentNpub(), '--relay', 'ws://127.0.0.1:9', '--amount', '1000', '--title', 'T'],
    hexOf(harness.poster),
  );
  assert.is(down.code, 2, down.text);
  assert.match(down.text, /no relay could be reached, nothing was published/);
});

test('a key file others can read is used with a warning and the chmod to run; help exits 0', async () => {
  const open = writeKey('open.key', hexOf(harness.poster), 0o644);
  const { code, io } = await task([
    'post',
    '--agent',
    npubEncode(person().pubkey),
    '--relay',
    harness.relay.url,
    '--timeout',
    '1',
    '--amount',
    '1000',
    '--title',
    'T',
    '--key',
    open,
  ]);
  assert.is(code, 3);
  assert.match(
    io.stderr.join('\n'),
    `warning: the key file ${open} can be read by others (mode 644); run: chmod 600 ${open}`,
  );
  const help = await task(['help']);
  assert.is(help.code, 0);
  assert.match(help.text, /^usage: escrow-agent task <subcommand>/);
  const postHelp = await task(['post', '--help']);
  assert.is(postHelp.code, 0);
  assert.match(postHelp.text, /^usage: escrow-agent task post --amount SATS --title TEXT/);
  const none = await task([]);
  assert.is(none.code, 2);
});

test.run();
