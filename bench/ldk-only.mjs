// The three LDK nodes alone, for bench/memory.ts's ldkOnly: started as connectLightning starts them (on a worker
// thread of their own, with their control socket), from the compiled code in dist/. Plain JavaScript run by node
// without tsx, so that nothing but the nodes and what starts them is loaded: a worker thread inherits its process's
// flags, so this is a file, not `node -e`.
//
//   node bench/ldk-only.mjs FOLDER
//
// Prints "ready" once the nodes run. A line "drive N MIN MAX" on stdin runs N paid lifecycles at the nodes alone,
// 8 at a time, with the node work of the agent's paid lifecycle: the agent node makes a hold invoice of MIN to MAX
// sat, the payer node pays it, the agent settles it once held and pays an invoice of the worker node (the amount
// less 1 sat + 1 %); then it prints "driven OK FAILED". SIGINT stops the nodes.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dist = new URL('../dist/', import.meta.url);
const { startSandboxThread } = await import(new URL('agent/sandbox-thread.js', dist).href);
const { callControl } = await import(new URL('ldk/sandbox-control/control-client.js', dist).href);

const folder = process.argv[2];
if (!folder) {
  console.error('usage: node bench/ldk-only.mjs FOLDER');
  process.exit(2);
}
const thread = await startSandboxThread(
  { folder, blockIntervalMs: 30_000, walletRelays: [] },
  { warn() {}, error() {} },
);
const control = join(folder, 'control.sock');
const node = thread.backend;

/** Hashes whose hold the payer's HTLC reached, and who waits for one. */
const held = new Set();
const waiting = new Map();
node.subscribe((event) => {
  if (event.type !== 'hold_accepted') return;
  held.add(event.paymentHash);
  waiting.get(event.paymentHash)?.();
});
const whenHeld = (hash) =>
  held.has(hash) ? Promise.resolve() : new Promise((resolve) => waiting.set(hash, resolve));

async function lifecycle(minSat, maxSat) {
  const preimage = randomBytes(32);
  const paymentHash = createHash('sha256').update(preimage).digest('hex');
  const amountMsat = BigInt(randomInt(minSat, maxSat + 1)) * 1000n;
  const hold = await node.createHoldInvoice({
    paymentHash,
    amountMsat,
    description: 'bench ldk-only',
    expirySeconds: 3600,
    finalCltvDelta: 144,
  });
  const paying = callControl(control, 'POST', '/pay', {
    node: 'payer',
    bolt11: hold.bolt11,
    timeoutSeconds: 1,
  });
  await whenHeld(paymentHash);
  await node.settle(preimage.toString('hex'), paymentHash);
  await paying;
  held.delete(paymentHash);
  waiting.delete(paymentHash);
  const payoutMsat = amountMsat - 1000n - amountMsat / 100n;
  const invoice = await callControl(control, 'POST', '/invoice', {
    node: 'worker',
    amountMsat: String(payoutMsat),
  });
  const paid = await node.pay({ bolt11: invoice.bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 60 });
  if (paid.status !== 'succeeded') throw new Error(`payout ${paid.status}`);
}

async function drive(count, minSat, maxSat) {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      next += 1;
      try {
        await lifecycle(minSat, maxSat);
        ok += 1;
      } catch (error) {
        failed += 1;
        if (failed <= 3) console.error(`lifecycle failed: ${error.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  console.log(`driven ${ok} ${failed}`);
}

console.log('ready');
createInterface({ input: process.stdin }).on('line', (line) => {
  const match = /^drive (\d+) (\d+) (\d+)$/.exec(line.trim());
  if (match) drive(...match.slice(1).map(Number)).catch((error) => console.error(error.message));
});
process.on('SIGINT', () => thread.close().then(() => process.exit(0)));
