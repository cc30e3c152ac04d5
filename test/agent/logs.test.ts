// The agent's log lines: one logger factory (src/agent/logger.ts) whose redaction holds in JSON and in pretty
// output; one INFO line per committed transition (task, from -> to, cause); one INFO line per refused input (code,
// reason, event id, author), limited so that a flood is counted, not written.
import { finalizeEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createIntakeMemory, intakeEvent } from '../../src/agent/intake.ts';
import { createLogger } from '../../src/agent/logger.ts';
import { createRateGate } from '../../src/agent/rate-gate.ts';
import { KINDS, LABEL_NAMESPACE } from '../../src/protocol/constants.ts';
import { type Harness, startHarness } from '../fakes/agent-harness.ts';

const AGENT_HEX = '5e'.repeat(31) + '01';
const NWC_SECRET = 'beef'.repeat(16);
const NWC_URI = `nostr+walletconnect://${'3b'.repeat(32)}?relay=ws://127.0.0.1:9&secret=${NWC_SECRET}`;
const PREIMAGE = 'a1'.repeat(32);

/** A destination that keeps every line it is given. */
function capture(isTTY = false) {
  const lines: string[] = [];
  return { lines, destination: { isTTY, write: (line: string) => lines.push(line) } };
}

function logSecrets(log: ReturnType<typeof createLogger>) {
  log.info({ secretKey: AGENT_HEX, preimage: PREIMAGE }, 'identity');
  log.warn({ lightning: NWC_URI }, `connecting to ${NWC_URI}`);
  log.error({ err: new Error(`secret key ${AGENT_HEX} refused`) }, 'failed');
}

test('pretty output (with and without colours) keeps the redaction: the JSON line is redacted before it is formatted', () => {
  for (const colorize of [false, true]) {
    const { lines, destination } = capture();
    logSecrets(createLogger({ level: 'trace', format: 'pretty', destination, colorize }));
    const text = lines.join('');
    assert.is(lines.length, 3);
    for (const secret of [AGENT_HEX, NWC_SECRET, PREIMAGE]) {
      assert.not.ok(text.includes(secret), `pretty (colorize ${colorize}) shows a secret:\n${text}`);
    }
    assert.not.ok(text.trimStart().startsWith('{'), 'pretty, not JSON');
    assert.match(text, 'INFO');
    assert.match(text, '[Redacted]');
    assert.match(text, 'secret=***');
    assert.is(text.includes('\u001b['), colorize, `colours only when asked (colorize ${colorize})`);
  }
});

test('auto: pretty on a terminal, JSON lines otherwise; json and pretty are what they say', () => {
  const write = (format: 'auto' | 'json' | 'pretty', isTTY: boolean) => {
    const { lines, destination } = capture(isTTY);
    createLogger({ level: 'info', format, destination }).info({ n: 1 }, 'hello');
    return lines.join('');
  };
  const isJson = (text: string) => {
    try {
      return JSON.parse(text).msg === 'hello';
    } catch {
      return false;
    }
  };
  assert.ok(isJson(write('auto', false)), 'auto, not a terminal: JSON');
  assert.not.ok(isJson(write('auto', true)), 'auto, a terminal: pretty');
  assert.ok(isJson(write('json', true)), 'json even on a terminal');
  assert.not.ok(isJson(write('pretty', false)), 'pretty even into a pipe');
  const { lines, destination } = capture();
  logSecrets(createLogger({ level: 'trace', format: 'json', destination }));
  const text = lines.join('');
  for (const secret of [AGENT_HEX, NWC_SECRET, PREIMAGE]) assert.not.ok(text.includes(secret), text);
});

let harness: Harness;
const logged: Array<Record<string, unknown>> = [];

test('a whole lifecycle writes one INFO "transition" line per committed state change: task, from, to, cause', async () => {
  const log = createLogger({
    level: 'info',
    format: 'json',
    destination: { write: (line: string) => logged.push(JSON.parse(line)) },
  });
  harness = await startHarness({ agent: { log } });
  const amount = 30_000_000n;
  const { listing } = await harness.fundTask(amount);
  await harness.submitWork(listing.id, amount);
  const approve = await harness.act(harness.poster, 'approve', listing.id);
  await harness.waitForState(listing.id, 'paid');
  const lines = logged.filter((line) => line.msg === 'transition' && line.task === listing.id);
  assert.ok(
    lines.every((line) => line.level === 30),
    'INFO',
  );
  const path = lines.map((line) => `${line.from ?? '-'}>${line.to}`);
  for (const step of [
    '->posted',
    'posted>offered',
    'offered>funded',
    'funded>claimed',
    'claimed>submitted',
    'submitted>settling',
    'settling>settled',
    'settled>paid',
  ]) {
    assert.ok(path.includes(step), `a line for ${step}: ${path.join(' ')}`);
  }
  const approved = lines.find((line) => line.from === 'submitted' && line.to === 'settling');
  assert.is(approved?.cause, 'approve');
  assert.is(approved?.event, approve.id, 'the inbound event that caused it');
  assert.is(approved?.author, harness.poster.pubkey);
  assert.is(approved?.reason, 'approved');
  const funded = lines.find((line) => line.to === 'funded');
  assert.is(funded?.cause, 'hold_accepted', "the node's answer");
  assert.is(funded?.event, undefined, 'no inbound event');
  assert.is(lines.length, new Set(lines.map((line) => `${line.from}>${line.to}`)).size, 'each once');
});

function action(name: string, taskId: string, content: string) {
  return finalizeEvent(
    {
      kind: KINDS.label,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['L', LABEL_NAMESPACE],
        ['l', name, LABEL_NAMESPACE],
        ['e', taskId, '', 'task'],
        ['p', harness.agentKey.pubkey],
      ],
      content,
    },
    harness.worker.secretKey,
  );
}

test('a refused input is one INFO line (code, reason, event id, author); a flood is limited and counted', async () => {
  // Through the running agent: a claim on a task it does not know.
  const unknown = 'ab'.repeat(32);
  const claim = await harness.act(harness.worker, 'claim', unknown);
  const deadline = Date.now() + 20_000;
  let line: Record<string, unknown> | undefined;
  while (!line && Date.now() < deadline) {
    line = logged.find((one) => one.msg === 'inbound event refused' && one.eventId === claim.id);
    if (!line) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(line, 'the refusal was logged');
  assert.is(line?.level, 30, 'INFO');
  assert.is(line?.code, 'UnknownTask');
  assert.is(line?.author, harness.worker.pubkey);
  assert.match(String(line?.reason), 'no task with this id');

  // A flood from one relay: 3 lines, the rest counted, and one summary when the window ends (flushed here, as stop()
  // does: a window long enough that a slow machine cannot end it mid-flood).
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: 'info',
    format: 'json',
    destination: { write: (text: string) => lines.push(JSON.parse(text)) },
  });
  const ctx = { ...harness.agent.ctx, log };
  const memory = createIntakeMemory({ log, logBurst: 3, logWindowMs: 600_000 });
  const gate = createRateGate({ perMinute: 6000, burst: 1000 });
  for (let index = 0; index < 12; index++) {
    const outcome = await intakeEvent(
      ctx,
      gate,
      action('claim', unknown, `flood ${index}`),
      'ws://flood',
      memory,
    );
    assert.is(outcome.status, 'refused');
  }
  assert.is(lines.length, 3, 'three lines, nine suppressed');
  memory.logs.flush();
  const summary = lines[3];
  assert.ok(summary, 'the summary came when the window ended');
  assert.is(summary?.suppressed, 9);
  assert.match(String(summary?.msg), /^inbound event refused \(suppressed 9 similar in the last \d+ s\)$/);
});

test.after(async () => {
  await harness?.stop();
});

test.run();
