// A crash at every point where the agent's node makes channel state durable: the folder is copied at each
// monitor write and each manager write during a few hold lifecycles and a payout, then every copy is started
// again. None may fail to start. A copy taken right after a manager write is always consistent; one taken
// between a monitor write and the manager write that follows makes LDK force-close that channel (money safe
// on chain, the channel lost): that gap is the price of synchronous monitor persistence, counted here.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LdkNode } from '../../../src/ldk/sandbox/ldk-node.ts';
import { RegtestChain } from '../../../src/ldk/sandbox/regtest-chain.ts';
import { Sandbox } from '../../../src/ldk/sandbox/sandbox.ts';
import { eventually, newPreimage } from '../../fakes/ldk-wait.ts';

test('a crash at any write of channel state leaves a node that starts, and only a monitor-ahead one force-closes', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-ldk-crash-points-'));
  const copies = join(folder, 'copies');
  let recording = false;
  let count = 0;
  const sandbox = await Sandbox.start({
    directory: join(folder, 'sandbox'),
    afterWrite: (node, what) => {
      if (!recording || node !== 'agent') return;
      cpSync(join(folder, 'sandbox', 'agent'), join(copies, `${String(count++).padStart(4, '0')}-${what}`), {
        recursive: true,
      });
    },
  });
  try {
    recording = true;
    for (const settle of [true, false, true]) {
      const { preimage, paymentHash } = newPreimage();
      const invoice = await sandbox.agent.createHoldInvoice({
        paymentHash,
        amountMsat: 20_000_000n,
        description: 'crash points',
        expirySeconds: 600,
        finalCltvDelta: 144,
      });
      const paying = sandbox.payer.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });
      await eventually('held', async () => (await sandbox.agent.lookup(paymentHash))?.state === 'ACCEPTED');
      if (settle) await sandbox.agent.settle(preimage, paymentHash);
      else await sandbox.agent.cancel(paymentHash);
      await paying;
    }
    const payout = await sandbox.worker.createInvoice({
      amountMsat: 15_000_000n,
      description: 'payout',
      expirySeconds: 600,
    });
    assert.is(
      (await sandbox.agent.pay({ bolt11: payout.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 })).status,
      'succeeded',
    );
    sandbox.mine(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    recording = false;
  } finally {
    await sandbox.stop();
  }

  const points = readdirSync(copies).sort();
  assert.ok(points.length > 20, `${points.length} crash points`);
  const forceClosedAt: string[] = [];
  for (const point of points) {
    // Each start gets its own copy of the chain: a force close broadcasts into the mempool.
    cpSync(join(folder, 'sandbox', 'chain'), join(copies, point, 'chain'), { recursive: true });
    let forceClosed = false;
    const node = LdkNode.open({
      name: 'agent',
      directory: join(copies, point),
      chain: RegtestChain.open(join(copies, point, 'chain')),
      logLevel: 'error',
      log: (entry) => {
        if (entry.message.includes('is stale compared to the current ChannelMonitor')) forceClosed = true;
      },
    });
    node.stop(false);
    if (forceClosed) forceClosedAt.push(point);
  }
  assert.equal(
    forceClosedAt.filter((point) => point.endsWith('manager')),
    [],
    'a node crashed right after writing its manager is consistent',
  );
  assert.ok(forceClosedAt.length < points.length / 2, 'most crash points need no force close');
  console.log(
    `crash points: ${forceClosedAt.length} of ${points.length} force-close a channel (all right after a monitor write)`,
  );
  rmSync(folder, { recursive: true, force: true });
});

test.run();
