// The types the Lightning port's conformance suite is written against: the harness an adapter provides
// (conformance.ts) and the uvu suite the case groups (conformance/*-cases.ts) register their cases on.
import type { Test } from 'uvu';
import type {
  CreatedHoldInvoice,
  HoldInvoiceBackend,
  NodeInfo,
  PaymentResult,
  PayRequest,
} from '../../../src/ldk/port.ts';

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
  /**
   * The node's facts the cases check, where they differ by backend: the blocks between a hold's claim deadline
   * and its HTLC's expiry (LDK's fail-back buffer, 21, when absent; LND's invoices.holdexpirydelta) and the
   * largest final CLTV delta the agent's backend accepts for a hold (1001, the agent's default, when absent).
   */
  readonly failBackBufferBlocks?: number;
  readonly maxFinalCltvDelta?: number;
  /**
   * What the payer's spendable balance drops by, beyond the amount, while one HTLC of its is in flight: the
   * commitment fee of the HTLC's output, which the channel's opener pays (LND: 172 weight units at the
   * channel's fee rate). 0 when absent.
   */
  readonly htlcCommitFeeMsat?: bigint;
  /** What the agent charges to forward `amountMsat` from the payer to the worker. */
  forwardingFeeMsat(amountMsat: bigint): bigint;
  close(): Promise<void>;
}

export type HarnessAccess = () => ConformanceHarness;
export type ConformanceTest = Test<Record<string, never>>;
