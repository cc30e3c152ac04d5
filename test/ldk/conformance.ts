// The Lightning port's conformance suite, written once and run against every adapter that can run here
// (test/ldk/sandbox.test.ts runs it on three real LDK nodes). An adapter provides a harness: the agent's
// backend under test, a payer that pays its holds, a worker that receives payouts, a way to mine blocks and
// a way to restart the agent's node as a crash would.
import { suite, type Test } from 'uvu';
import type {
  CreatedHoldInvoice,
  HoldInvoiceBackend,
  NodeInfo,
  PaymentResult,
  PayRequest,
} from '../../src/ldk/port.ts';
import { registerDeadlineCases } from './conformance/deadline-cases.ts';
import { registerHoldCases } from './conformance/hold-cases.ts';
import { registerIdempotencyCases } from './conformance/idempotency-cases.ts';
import { registerPaymentCases } from './conformance/payment-cases.ts';
import { registerRefusalCases } from './conformance/refusal-cases.ts';
import { registerRestartCases } from './conformance/restart-cases.ts';

export interface PayingWallet {
  pay(request: PayRequest): Promise<PaymentResult>;
  paymentStatus(paymentHash: string): Promise<PaymentResult | null>;
  getInfo(): Promise<NodeInfo>;
}

export interface ReceivingWallet extends PayingWallet {
  /** A plain invoice, claimed as soon as it is paid. */
  createInvoice(request: {
    amountMsat: bigint;
    description: string;
    expirySeconds: number;
  }): Promise<CreatedHoldInvoice>;
}

export interface ConformanceHarness {
  /** Getters: after restart() they return the new instances. */
  readonly agent: HoldInvoiceBackend;
  readonly payer: PayingWallet;
  readonly worker: ReceivingWallet;
  /** Mines blocks on the chain all three nodes follow; returns the new height. */
  mine(blocks: number): Promise<number>;
  /** Restarts the agent's node from what it had written, as after a crash; resolves once its channels work. */
  restart(): Promise<void>;
  /** What the agent charges to forward `amountMsat` from the payer to the worker. */
  forwardingFeeMsat(amountMsat: bigint): bigint;
  close(): Promise<void>;
}

export type HarnessAccess = () => ConformanceHarness;
export type ConformanceTest = Test<Record<string, never>>;

export function runConformanceSuite(
  adapterName: string,
  makeHarness: () => Promise<ConformanceHarness>,
): void {
  const cases = suite(`Lightning port conformance: ${adapterName}`) as ConformanceTest;
  let harness: ConformanceHarness | null = null;
  const access: HarnessAccess = () => {
    if (!harness) throw new Error('the harness is not started');
    return harness;
  };
  cases.before(async () => {
    harness = await makeHarness();
  });
  cases.after(async () => {
    await harness?.close();
  });
  registerHoldCases(cases, access);
  registerIdempotencyCases(cases, access);
  registerRefusalCases(cases, access);
  registerPaymentCases(cases, access);
  registerDeadlineCases(cases, access);
  registerRestartCases(cases, access);
  cases.run();
}
