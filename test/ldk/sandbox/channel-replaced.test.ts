// The embedded set-up survives a SIGKILL (issue #16): a crash between a channel monitor's write and the manager's
// makes LDK 0.1 force-close that channel when the sandbox starts again (crash-points.test.ts counts how often).
// The whole sandbox folder is copied at each of the agent node's monitor writes while a hold is paid, as a kill of
// the process at that moment would leave it; the copies are started in turn until one comes up with a channel LDK
// closed. The sandbox must then have mined the close and opened a fresh channel, say so in one line even at the
// default `error` level, and take the next hold on the new channel: paid, held, settled. A kill while the sandbox
// opens (or replaces) its channels, between a funding broadcast and its confirmations, must not leave a channel
// that never becomes usable either: every such copy starts, both channels usable, and takes a hold.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LogLevel } from '../../../src/ldk/sandbox/node-options.ts';
import { Sandbox } from '../../../src/ldk/sandbox/sandbox.ts';
import { eventually, newPreimage } from '../../fakes/ldk-wait.ts';

/** Starting a copy takes a few seconds: at most this many are tried. */
const MAX_STARTS = 12;

async function holdLifecycle(sandbox: Sandbox, settle: boolean): Promise<void> {
  const { preimage, paymentHash } = newPreimage();
  const invoice = await sandbox.agent.createHoldInvoice({
    paymentHash,
    amountMsat: 20_000_000n,
    description: 'channel replaced',
    expirySeconds: 600,
    finalCltvDelta: 144,
  });
  const paying = sandbox.payer.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });
  await eventually('held', async () => (await sandbox.agent.lookup(paymentHash))?.state === 'ACCEPTED');
  if (settle) await sandbox.agent.settle(preimage, paymentHash);
  else await sandbox.agent.cancel(paymentHash);
  assert.is((await paying).status, settle ? 'succeeded' : 'failed');
}

test('a channel LDK force-closes after a crash is replaced, said in one line at the error level, and the next hold works', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-ldk-replaced-'));
  const copies = join(folder, 'copies');
  let recording = false;
  let count = 0;
  const original = await Sandbox.start({
    directory: join(folder, 'sandbox'),
    afterWrite: (node, what) => {
      if (!recording || node !== 'agent' || what !== 'monitor') return;
      cpSync(join(folder, 'sandbox'), join(copies, String(count++).padStart(4, '0')), { recursive: true });
    },
  });
  try {
    recording = true;
    await holdLifecycle(original, true);
    recording = false;
  } finally {
    await original.stop();
  }

  const points = readdirSync(copies).sort();
  assert.ok(points.length > 2, `${points.length} monitor writes`);
  let replaced: string[] | null = null;
  for (const point of points.slice(0, MAX_STARTS)) {
    const lines: Array<{ node: string; level: LogLevel; message: string }> = [];
    const sandbox = await Sandbox.start({
      directory: join(copies, point),
      logLevel: 'error',
      log: (entry) => lines.push(entry),
    });
    try {
      const replacing = lines.filter(
        (line) => line.node === 'sandbox' && line.message.startsWith('replacing'),
      );
      if (replacing.length === 0) continue;
      replaced = replacing.map((line) => line.message);
      assert.is(replacing.length, 1, 'one line');
      assert.is(replacing[0]!.level, 'warn');
      assert.match(replacing[0]!.message, 'mined the close and opened a fresh channel');
      const info = await sandbox.agent.getInfo();
      assert.is(info.channels.filter((channel) => channel.usable).length, 2, 'both channels usable again');
      await holdLifecycle(sandbox, true);
      await holdLifecycle(sandbox, false);
      break;
    } finally {
      await sandbox.stop();
    }
  }
  assert.ok(
    replaced,
    `none of the first ${Math.min(points.length, MAX_STARTS)} crash copies force-closed a channel`,
  );
  console.log(`channel replaced: ${replaced!.join(' | ').slice(0, 160)}…`);
  rmSync(folder, { recursive: true, force: true });
});

test('a crash while the channels are being opened leaves a sandbox that starts with both channels usable', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-ldk-opening-'));
  const copies = join(folder, 'copies');
  let count = 0;
  // Every monitor write of any node while the first start opens the channels: a kill at that moment.
  const first = await Sandbox.start({
    directory: join(folder, 'sandbox'),
    afterWrite: (_node, what) => {
      if (what !== 'monitor') return;
      cpSync(join(folder, 'sandbox'), join(copies, String(count++).padStart(4, '0')), { recursive: true });
    },
  });
  await first.stop();
  const points = readdirSync(copies).sort();
  assert.ok(points.length >= 2, `${points.length} monitor writes while opening`);
  const failed: string[] = [];
  for (const point of points.slice(0, MAX_STARTS)) {
    const sandbox = await Sandbox.start({ directory: join(copies, point) }).catch((error: Error) => {
      failed.push(`${point}: ${error.message}`);
      return null;
    });
    if (!sandbox) continue;
    try {
      const info = await sandbox.agent.getInfo();
      assert.is(
        info.channels.filter((channel) => channel.usable).length,
        2,
        `${point}: both channels usable`,
      );
      await holdLifecycle(sandbox, true);
    } finally {
      await sandbox.stop();
    }
  }
  console.log(`opening crash points: ${points.length}; failed to start: ${failed.length}`);
  assert.equal(failed, []);
  rmSync(folder, { recursive: true, force: true });
});

test.run();
