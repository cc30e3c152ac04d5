// Benchmark of holds on REAL LND next to the LDK sandbox, in the same run (issue #17): for each payment the
// agent's node issues a hold, the payer pays it, and the times are taken from pay() to the agent's
// hold_accepted event, from settle() called to settle() resolved (the node has settled the hold), and from
// settle() called to the payer's pay() resolving with the preimage. LND is v0.21.6-beta on btcd regtest
// (test/fakes/lnd-regtest.ts; the binaries from scripts/build-lnd.mjs), driven through the LND adapter; the
// sandbox is three LDK nodes in this process. `benchLnd()` returns the figures for `npm run bench`; run this
// file directly (`npx tsx bench/lnd.ts [payments]`) to print them as JSON.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import type { HoldInvoiceBackend, LightningEvent, PaymentResult, PayRequest } from '../src/ldk/port.ts';
import { summarise, until } from './stats.ts';

interface HoldTimings {
  payments: number;
  /** payer's pay() called -> the agent's node reports hold_accepted. */
  holdAcceptedMs: ReturnType<typeof summarise>;
  /** hold accepted, settle() called -> settle() resolved: the hold is settled. */
  acceptedToSettledMs: ReturnType<typeof summarise>;
  /** settle() called -> the payer's pay() resolves with the preimage. */
  settleSeenByPayerMs: ReturnType<typeof summarise>;
}

export interface LndBenchResult {
  lnd: HoldTimings | { skipped: string };
  sandbox: HoldTimings;
  notes: string[];
}

async function timeHolds(
  agent: HoldInvoiceBackend,
  payer: { pay(request: PayRequest): Promise<PaymentResult> },
  payments: number,
): Promise<HoldTimings> {
  const accepted = new Map<string, number>();
  const unsubscribe = agent.subscribe((event: LightningEvent) => {
    if (event.type === 'hold_accepted' && !accepted.has(event.paymentHash)) {
      accepted.set(event.paymentHash, performance.now());
    }
  });
  const acceptedMs: number[] = [];
  const settledMs: number[] = [];
  const seenMs: number[] = [];
  try {
    for (let index = 0; index < payments; index++) {
      const preimage = randomBytes(32);
      const paymentHash = Buffer.from(sha256(preimage)).toString('hex');
      const invoice = await agent.createHoldInvoice({
        paymentHash,
        amountMsat: 10_000_000n,
        description: `bench ${index}`,
        expirySeconds: 3600,
        finalCltvDelta: 144,
      });
      const paidAt = performance.now();
      const paying = payer.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });
      const acceptedAt = await until(() => accepted.get(paymentHash), 60_000);
      acceptedMs.push(acceptedAt - paidAt);
      const settleAt = performance.now();
      await agent.settle(preimage.toString('hex'), paymentHash);
      settledMs.push(performance.now() - settleAt);
      const result = await paying;
      if (result.status !== 'succeeded') throw new Error(`bench payment ${index} ended ${result.status}`);
      seenMs.push(performance.now() - settleAt);
    }
  } finally {
    unsubscribe();
  }
  return {
    payments,
    holdAcceptedMs: summarise(acceptedMs),
    acceptedToSettledMs: summarise(settledMs),
    settleSeenByPayerMs: summarise(seenMs),
  };
}

export async function benchLnd(options: { payments?: number } = {}): Promise<LndBenchResult> {
  const payments = options.payments ?? 50;
  const { LndRegtest, lndRegtestUnavailable } = await import('../test/fakes/lnd-regtest.ts');
  const { LndBackend } = await import('../src/ldk/lnd/index.ts');
  const { Sandbox } = await import('../src/ldk/sandbox/sandbox.ts');

  const directory = mkdtempSync(join(tmpdir(), 'escrow-lnd-bench-'));
  let sandboxTimings: HoldTimings;
  try {
    const sandbox = await Sandbox.start({ directory, channelCapacitySat: 16_000_000n });
    try {
      sandboxTimings = await timeHolds(sandbox.agent, sandbox.payer, payments);
    } finally {
      await sandbox.stop();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }

  const missing = lndRegtestUnavailable();
  let lnd: HoldTimings | { skipped: string };
  if (missing !== null) {
    lnd = { skipped: missing };
  } else {
    const net = await LndRegtest.start();
    try {
      const agent = await LndBackend.connect(net.adapterConfig('agent'));
      const payer = await LndBackend.connect(net.adapterConfig('payer'));
      try {
        lnd = await timeHolds(agent, payer, payments);
      } finally {
        agent.close();
        payer.close();
      }
    } finally {
      await net.stop();
    }
  }
  return {
    lnd,
    sandbox: sandboxTimings,
    notes: [
      'same procedure on both, one payment at a time over the direct payer -> agent channel',
      'LND: three lnd processes and btcd on this machine, reached over gRPC + TLS; the sandbox: LDK in this process',
      'hold_accepted on LND comes from SubscribeSingleInvoice through the adapter',
    ],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const payments = Number(process.argv[2] ?? 50);
  console.log(JSON.stringify(await benchLnd({ payments }), null, 2));
}
