// Benchmark of the LDK sandbox (three real LDK nodes in this process): start-up cost, hold latencies and
// payment throughput. `benchLdk()` returns the figures as an object for `npm run bench`; run this file
// directly (`npx tsx bench/ldk.ts [payments]`) to print them as JSON.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import type { LightningEvent } from '../src/ldk/port.ts';
import { until } from './stats.ts';

export interface LdkBenchResult {
  /** Importing the bindings (a 70k-line module) and instantiating the WASM, in this process. */
  importMs: number;
  wasmInitMs: number;
  /** Three fresh nodes, two channels opened and confirmed (6 blocks), all usable. */
  threeNodeStartMs: number;
  /** The same three nodes restarted from their folder, channels usable again. */
  threeNodeRestartMs: number;
  rssMbAfterStart: number;
  rssMbAfterRun: number;
  payments: number;
  /** payer.pay() called -> the agent reports hold_accepted. */
  holdAcceptedMs: Percentiles;
  /** agent.settle() called -> it resolves (LDK's PaymentClaimed recorded). */
  settleMs: Percentiles;
  /** agent.settle() called -> the payer's pay() resolves with the preimage. */
  settleSeenByPayerMs: Percentiles;
  /** Plain invoices of the worker paid by the payer, routed through the agent (two hops, no gossip). */
  routedPaymentsPerSecond: { sequential: number; concurrent: number; concurrency: number };
  /** The agent paying the worker over their direct channel. */
  directPaymentsPerSecond: { sequential: number; concurrent: number; concurrency: number };
  notes: string[];
}

export interface Percentiles {
  median: number;
  p95: number;
  max: number;
}

export async function benchLdk(
  options: { payments?: number; concurrency?: number } = {},
): Promise<LdkBenchResult> {
  const payments = options.payments ?? 200;
  const concurrency = options.concurrency ?? 10;
  const directory = mkdtempSync(join(tmpdir(), 'escrow-ldk-bench-'));
  try {
    let began = performance.now();
    const ldk = await import('../src/ldk/sandbox/load-ldk.ts');
    const { Sandbox } = await import('../src/ldk/sandbox/sandbox.ts');
    const importMs = performance.now() - began;
    began = performance.now();
    await ldk.loadLdk();
    const wasmInitMs = performance.now() - began;

    began = performance.now();
    const sandbox = await Sandbox.start({ directory, channelCapacitySat: 16_000_000n });
    const threeNodeStartMs = performance.now() - began;
    const rssMbAfterStart = process.memoryUsage().rss / 1e6;
    began = performance.now();
    await sandbox.restart(true);
    const threeNodeRestartMs = performance.now() - began;

    const accepted = new Map<string, number>();
    const unsubscribe = sandbox.agent.subscribe((event: LightningEvent) => {
      if (event.type === 'hold_accepted' && !accepted.has(event.paymentHash)) {
        accepted.set(event.paymentHash, performance.now());
      }
    });
    const acceptedMs: number[] = [];
    const settleMs: number[] = [];
    const seenMs: number[] = [];
    for (let index = 0; index < payments; index++) {
      const preimage = randomBytes(32);
      const paymentHash = Buffer.from(sha256(preimage)).toString('hex');
      const invoice = await sandbox.agent.createHoldInvoice({
        paymentHash,
        amountMsat: 10_000_000n,
        description: `bench ${index}`,
        expirySeconds: 3600,
        finalCltvDelta: 144,
      });
      const paidAt = performance.now();
      const paying = sandbox.payer.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });
      const acceptedAt = await until(() => accepted.get(paymentHash));
      acceptedMs.push(acceptedAt - paidAt);
      const settleAt = performance.now();
      await sandbox.agent.settle(preimage.toString('hex'), paymentHash);
      settleMs.push(performance.now() - settleAt);
      const result = await paying;
      if (result.status !== 'succeeded') throw new Error(`bench payment ${index} ended ${result.status}`);
      seenMs.push(performance.now() - settleAt);
    }
    unsubscribe();

    const routed = await throughput(payments, concurrency, () => sandbox.payer, sandbox, 10_000n);
    const direct = await throughput(payments, concurrency, () => sandbox.agent, sandbox, 0n);
    const rssMbAfterRun = process.memoryUsage().rss / 1e6;
    await sandbox.stop();
    return {
      importMs: round(importMs),
      wasmInitMs: round(wasmInitMs),
      threeNodeStartMs: round(threeNodeStartMs),
      threeNodeRestartMs: round(threeNodeRestartMs),
      rssMbAfterStart: round(rssMbAfterStart),
      rssMbAfterRun: round(rssMbAfterRun),
      payments,
      holdAcceptedMs: percentiles(acceptedMs),
      settleMs: percentiles(settleMs),
      settleSeenByPayerMs: percentiles(seenMs),
      routedPaymentsPerSecond: { ...routed, concurrency },
      directPaymentsPerSecond: { ...direct, concurrency },
      notes: [
        'payer -> agent -> worker is a real two-hop route without gossip: the worker invoice carries a route hint',
        'monitors and the manager are fsynced on every channel update; figures depend on the disk',
      ],
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

type SandboxLike = Awaited<ReturnType<typeof import('../src/ldk/sandbox/sandbox.ts').Sandbox.start>>;
type Payer = SandboxLike['payer'];

/** Worker invoices paid by `payer()`, first one at a time, then `concurrency` at a time. */
async function throughput(
  payments: number,
  concurrency: number,
  payer: () => Payer,
  sandbox: SandboxLike,
  maxFeeMsat: bigint,
): Promise<{ sequential: number; concurrent: number }> {
  const payOne = async (index: number) => {
    const invoice = await sandbox.worker.createInvoice({
      amountMsat: 5_000_000n,
      description: `t${index}`,
      expirySeconds: 3600,
    });
    const result = await payer().pay({ bolt11: invoice.bolt11, maxFeeMsat, timeoutSeconds: 60 });
    if (result.status !== 'succeeded') throw new Error(`throughput payment ${index} ended ${result.status}`);
  };
  let began = performance.now();
  for (let index = 0; index < payments; index++) await payOne(index);
  const sequential = payments / ((performance.now() - began) / 1000);
  began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < payments) await payOne(next++);
    }),
  );
  const concurrent = payments / ((performance.now() - began) / 1000);
  return { sequential: round(sequential), concurrent: round(concurrent) };
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((left, right) => left - right);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
  return { median: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1) ?? 0) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchLdk({ payments: Number(process.argv[2] ?? 200) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
