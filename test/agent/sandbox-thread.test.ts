// The LDK sandbox on its own worker thread (src/agent/sandbox-thread.ts), as `escrow-agent start` runs it: the
// agent's node answers by messages with the same values and the same LightningError codes as in the agent's thread;
// node events (a held payment, blocks) arrive; the control socket of `escrow-agent ln` is served from the thread;
// after close() every call fails with NodeUnavailable instead of hanging.
//
// Real parts: three LDK nodes in a worker thread, the payer reached through the control socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type SandboxThread, startSandboxThread } from '../../src/agent/sandbox-thread.ts';
import { isLightningError } from '../../src/ldk/lightning-error.ts';
import type { LightningEvent } from '../../src/ldk/port.ts';
import { callControl } from '../../src/ldk/sandbox-control/control-client.ts';
import { CONTROL_SOCKET } from '../../src/ldk/sandbox-control/control-server.ts';
import { eventually, newPreimage } from '../fakes/ldk-wait.ts';

const folder = mkdtempSync(join(tmpdir(), 'escrow-sandbox-thread-'));
let thread: SandboxThread;
const events: LightningEvent[] = [];

test.before(async () => {
  thread = await startSandboxThread(
    { folder, blockIntervalMs: 3_600_000, walletRelays: [] },
    pino({ level: 'silent' }),
  );
  thread.backend.subscribe((event) => events.push(event));
});

test.after(async () => {
  await thread?.close();
  rmSync(folder, { recursive: true, force: true });
});

const hold = newPreimage;

test('a hold made through the thread is paid, held, settled; node events and blocks arrive', async () => {
  assert.match(thread.describe, 'on its own thread');
  const info = await thread.backend.getInfo();
  assert.match(info.nodeId, /^0[23][0-9a-f]{64}$/);
  const { preimage, paymentHash } = hold();
  const created = await thread.backend.createHoldInvoice({
    paymentHash,
    amountMsat: 5_000_000n,
    description: 'thread test',
    expirySeconds: 600,
    finalCltvDelta: 80,
  });
  assert.is(typeof created.bolt11, 'string');
  assert.is((await thread.backend.lookup(paymentHash))?.state, 'OPEN');
  assert.ok((await thread.backend.list('OPEN')).some((one) => one.paymentHash === paymentHash));

  const socket = join(folder, CONTROL_SOCKET);
  const paying = callControl(socket, 'POST', '/pay', {
    node: 'payer',
    bolt11: created.bolt11,
    timeoutSeconds: 60,
  });
  await eventually('the hold is accepted', async () =>
    events.some((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
  );
  const accepted = await thread.backend.lookup(paymentHash);
  assert.is(accepted?.state, 'ACCEPTED');
  assert.is(accepted?.receivedMsat, 5_000_000n, 'bigints cross the thread as bigints');

  // The node's refusals keep their codes.
  const wrong = await thread.backend.settle(hold().preimage, paymentHash).catch((error: unknown) => error);
  assert.ok(isLightningError(wrong, 'WrongPreimage'), String(wrong));
  const unknown = await thread.backend.cancel(hold().paymentHash).catch((error: unknown) => error);
  assert.ok(isLightningError(unknown, 'UnknownHash'), String(unknown));

  await thread.backend.settle(preimage, paymentHash);
  assert.is((await thread.backend.lookup(paymentHash))?.state, 'SETTLED');
  assert.is((await paying).status, 'succeeded');

  const mined = await callControl(socket, 'POST', '/mine', { blocks: 1 });
  await eventually('the block is reported', async () =>
    events.some((event) => event.type === 'block' && event.height === mined.height),
  );
});

test('after close every call fails with NodeUnavailable, at once', async () => {
  await thread.close();
  const error = await thread.backend.getInfo().catch((failure: unknown) => failure);
  assert.ok(isLightningError(error, 'NodeUnavailable'), String(error));
  await thread.close(); // twice is harmless
});

test.run();
