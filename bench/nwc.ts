// Benchmark of the NWC adapter against the in-process sandbox, side by side in one run: the same three LDK
// nodes, the agent's node reached either directly (SandboxBackend) or through NIP-47 over a local relay
// (NwcBackend -> relay -> wallet service -> the same node). Payments alternate between the two paths, so
// both see the same machine load.
//
// Measured per payment, from the moment the agent's node itself accepts the HTLC (its own hold_accepted, in
// this process):
//   acceptedToSettledMs  node accepts -> the backend under test reports hold_accepted -> settle() called at
//                        once -> settle() resolves: the whole "hold accepted -> settle" loop as the agent lives it
//   notifiedMs           node accepts -> the backend under test reports hold_accepted (NWC: a 23197 notification)
//   settleCallMs         settle() called -> resolves (NWC: request and response over the relay)
//   settleSeenByPayerMs  settle() called -> the payer's pay() resolves with the preimage
//
// `benchNwc()` returns the figures for `npm run bench`; run this file directly (`npx tsx bench/nwc.ts
// [payments]`) to print them as JSON.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { NwcBackend } from '../src/ldk/nwc/index.ts';
import { startSandboxWallet } from '../src/ldk/nwc-service/start-sandbox-wallet.ts';
import type { HoldInvoiceBackend, LightningEvent } from '../src/ldk/port.ts';
import { startEmbeddedRelay } from '../src/relay/index.ts';
import { summarise, until } from './stats.ts';

type Summary = ReturnType<typeof summarise>;

export interface PathFigures {
  acceptedToSettledMs: Summary;
  notifiedMs: Summary;
  settleCallMs: Summary;
  settleSeenByPayerMs: Summary;
}

export interface NwcBenchResult {
  payments: number;
  sandbox: PathFigures;
  nwc: PathFigures;
  /** nwc median / sandbox median of acceptedToSettledMs. */
  medianRatio: number;
  /** hold_accepted that reached NwcBackend by notification, out of `payments` (the rest by its poll). */
  nwcAcceptedByNotification: number;
  notes: string[];
}

interface Sample {
  acceptedToSettled: number;
  notified: number;
  settleCall: number;
  settleSeenByPayer: number;
}

export async function benchNwc(options: { payments?: number } = {}): Promise<NwcBenchResult> {
  const payments = options.payments ?? 100;
  const directory = mkdtempSync(join(tmpdir(), 'escrow-nwc-bench-'));
  const relay = await startEmbeddedRelay({ dbPath: join(directory, 'relay.sqlite') });
  try {
    const wallet = await startSandboxWallet({
      directory: join(directory, 'sandbox'),
      relays: [relay.url],
      sandbox: { channelCapacitySat: 16_000_000n, logLevel: 'error' },
    });
    // The poll only backs notifications up; a long interval keeps it out of the figures.
    const nwc = await NwcBackend.connect({ uri: wallet.uri, pollIntervalMs: 60_000 });
    const { sandbox } = wallet;
    const nodeAccepted = new Map<string, number>();
    const stopNode = sandbox.agent.subscribe((event) => {
      if (event.type === 'hold_accepted' && !nodeAccepted.has(event.paymentHash)) {
        nodeAccepted.set(event.paymentHash, performance.now());
      }
    });
    const reported = { sandbox: new Map<string, number>(), nwc: new Map<string, number>() };
    const listen = (map: Map<string, number>) => (event: LightningEvent) => {
      if (event.type === 'hold_accepted' && !map.has(event.paymentHash))
        map.set(event.paymentHash, performance.now());
    };
    const stopSandbox = sandbox.agent.subscribe(listen(reported.sandbox));
    const stopNwc = nwc.subscribe(listen(reported.nwc));

    const samples = { sandbox: [] as Sample[], nwc: [] as Sample[] };
    const once = async (path: 'sandbox' | 'nwc', index: number) => {
      const backend: HoldInvoiceBackend = path === 'nwc' ? nwc : sandbox.agent;
      const preimage = randomBytes(32);
      const paymentHash = Buffer.from(sha256(preimage)).toString('hex');
      const invoice = await backend.createHoldInvoice({
        paymentHash,
        amountMsat: 10_000_000n,
        description: `bench ${path} ${index}`,
        expirySeconds: 3600,
        finalCltvDelta: 144,
      });
      const paying = sandbox.payer.pay({ bolt11: invoice.bolt11, maxFeeMsat: 0n, timeoutSeconds: 60 });
      const reportedAt = await until(() => reported[path].get(paymentHash));
      const settleAt = performance.now();
      await backend.settle(preimage.toString('hex'), paymentHash);
      const settledAt = performance.now();
      const result = await paying;
      if (result.status !== 'succeeded')
        throw new Error(`bench ${path} payment ${index} ended ${result.status}`);
      const seenAt = performance.now();
      const acceptedAt = await until(() => nodeAccepted.get(paymentHash));
      samples[path].push({
        acceptedToSettled: settledAt - acceptedAt,
        notified: reportedAt - acceptedAt,
        settleCall: settledAt - settleAt,
        settleSeenByPayer: seenAt - settleAt,
      });
    };
    // One warm-up each (first requests pay for conversation keys, JIT, relay subscriptions).
    await once('sandbox', -1);
    await once('nwc', -1);
    samples.sandbox.length = 0;
    samples.nwc.length = 0;
    for (let index = 0; index < payments; index++) {
      const order: ('sandbox' | 'nwc')[] = index % 2 === 0 ? ['sandbox', 'nwc'] : ['nwc', 'sandbox'];
      for (const path of order) await once(path, index);
    }
    const byNotification = wallet.service.counters.notificationsSent;
    stopNode();
    stopSandbox();
    stopNwc();
    nwc.close();
    await wallet.stop();

    const figures = (list: Sample[]): PathFigures => ({
      acceptedToSettledMs: summarise(list.map((sample) => sample.acceptedToSettled)),
      notifiedMs: summarise(list.map((sample) => sample.notified)),
      settleCallMs: summarise(list.map((sample) => sample.settleCall)),
      settleSeenByPayerMs: summarise(list.map((sample) => sample.settleSeenByPayer)),
    });
    const sandboxFigures = figures(samples.sandbox);
    const nwcFigures = figures(samples.nwc);
    return {
      payments,
      sandbox: sandboxFigures,
      nwc: nwcFigures,
      medianRatio:
        Math.round(
          (nwcFigures.acceptedToSettledMs.median / Math.max(0.1, sandboxFigures.acceptedToSettledMs.median)) *
            10,
        ) / 10,
      nwcAcceptedByNotification: Math.min(payments, countNotified(samples.nwc)),
      notes: [
        `NWC path: NwcBackend -> embedded relay on 127.0.0.1 -> wallet service -> the sandbox's agent node, NIP-44; ${byNotification} notifications sent`,
        'both paths drive the same three LDK nodes in this process; payments alternate between the paths',
      ],
    };
  } finally {
    await relay.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The poll runs once a minute: a report within a second of the node's acceptance came by notification. */
function countNotified(samples: Sample[]): number {
  return samples.filter((sample) => sample.notified < 1000).length;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchNwc({ payments: Number(process.argv[2] ?? 100) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
