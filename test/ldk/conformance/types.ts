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
  /** What the agent charges to forward `amountMsat` from the payer to the worker. */
  forwardingFeeMsat(amountMsat: bigint): bigint;
  close(): Promise<void>;
}

export type HarnessAccess = () => ConformanceHarness;
export type ConformanceTest = Test<Record<string, never>>;
