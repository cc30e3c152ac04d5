// STAND-IN LND (test double, not LND): the stand-in's outgoing payments (LND's router and control tower),
// with LND's documented answers to SendPaymentV2 and TrackPaymentV2:
//   an expired invoice -> "invoice expired. Valid until ..."; a CLTV limit not above the final CLTV + 3
//   -> "cltv limit X should be greater than Y"; a hash already paid -> AlreadyExists "invoice is already
//   paid"; a hash in flight -> AlreadyExists "payment is in transition"; a failed hash may be paid again.
//   A payment is recorded IN_FLIGHT before anything is sent; it ends SUCCEEDED (with the preimage and fee)
//   or FAILED with LND's failure reason (NO_ROUTE when no route fits the fee and CLTV limits,
//   INSUFFICIENT_BALANCE when the channels cannot carry it, INCORRECT_PAYMENT_DETAILS when the payee fails
//   it). TrackPaymentV2 of an unknown hash -> "payment isn't initiated".
// Not modelled: retries over other routes (there is one route or none), multi-path payments, LND's
// pathfinding timeout (the stand-in's attempts never wait for a route).
import { Bolt11Error, decodeBolt11 } from '../../../src/ldk/bolt11/index.ts';
import { LndRpcError } from './standin-errors.ts';
import type { PaymentOutcome, Route, StandinNetwork } from './standin-network.ts';
import { BLOCK_PADDING } from './standin-network.ts';
import type { PaymentRecord, RouteRecord } from './standin-records.ts';
import type { StandinStore } from './standin-store.ts';

const DEFAULT_CLTV_LIMIT = 2016;

type PaymentListener = (payment: PaymentRecord) => void;

export class StandinPayments {
  private readonly listeners = new Map<string, Set<PaymentListener>>();

  constructor(
    private readonly store: StandinStore,
    private readonly network: StandinNetwork,
  ) {}

  /** SendPaymentV2. Throws what LND refuses before recording; otherwise streams every update to `listener`. */
  send(
    request: { paymentRequest: string; feeLimitMsat: bigint; cltvLimit: number },
    listener: PaymentListener,
  ) {
    let invoice: ReturnType<typeof decodeBolt11>;
    try {
      invoice = decodeBolt11(request.paymentRequest);
    } catch (error) {
      if (error instanceof Bolt11Error) throw new LndRpcError(2, `invalid payment request: ${error.message}`);
      throw error;
    }
    if (invoice.network !== 'regtest')
      throw new LndRpcError(2, "invoice not for current active network 'regtest'");
    if (invoice.amountMsat === null)
      throw new LndRpcError(2, 'amount must be specified when paying a zero amount invoice');
    if (invoice.expiresAt * 1000 < Date.now()) {
      throw new LndRpcError(
        2,
        `invoice expired. Valid until ${new Date(invoice.expiresAt * 1000).toISOString()}`,
      );
    }
    const cltvLimit = request.cltvLimit > 0 ? request.cltvLimit : DEFAULT_CLTV_LIMIT;
    const finalDelta = invoice.minFinalCltvExpiryDelta + BLOCK_PADDING;
    if (cltvLimit <= finalDelta)
      throw new LndRpcError(2, `cltv limit ${cltvLimit} should be greater than ${finalDelta}`);
    const existing = this.store.state.payments[invoice.paymentHash];
    if (existing?.status === 'SUCCEEDED') throw new LndRpcError(6, 'invoice is already paid');
    if (existing?.status === 'IN_FLIGHT') throw new LndRpcError(6, 'payment is in transition');
    const now = nanoseconds();
    const record: PaymentRecord = {
      hash: invoice.paymentHash,
      bolt11: request.paymentRequest,
      valueMsat: invoice.amountMsat.toString(),
      feeMsat: '0',
      status: 'IN_FLIGHT',
      failureReason: 'FAILURE_REASON_NONE',
      preimage: '',
      creationTimeNs: now,
      paymentIndex: ++this.store.state.lastPaymentIndex,
      attempt: null,
    };
    this.store.state.payments[record.hash] = record;
    this.store.save();
    const unsubscribe = this.track(record.hash, listener);
    const sent = this.network.send('agent', invoice, { maxFeeMsat: request.feeLimitMsat, cltvLimit });
    if (!sent.ok) {
      record.status = 'FAILED';
      record.failureReason = `FAILURE_REASON_${sent.reason}`;
    } else {
      record.attempt = {
        attemptId: record.paymentIndex,
        status: 'IN_FLIGHT',
        route: routeRecord(sent.route),
        attemptTimeNs: now,
        resolveTimeNs: '0',
      };
    }
    this.store.save();
    this.notify(record);
    return unsubscribe;
  }

  /** TrackPaymentV2: the current state at once, then every update until the payment ends. */
  track(hash: string, listener: PaymentListener): () => void {
    const record = this.store.state.payments[hash];
    if (!record) throw new LndRpcError(5, "payment isn't initiated");
    const set = this.listeners.get(hash) ?? new Set();
    set.add(listener);
    this.listeners.set(hash, set);
    listener(record);
    return () => set.delete(listener);
  }

  /**
   * DeletePayment: only its permission check matters to the adapter (it probes with a random hash). An
   * unknown hash gets the answer of LND's default (bbolt) payment store; its SQL store says "payment isn't
   * initiated".
   */
  delete(hash: string): void {
    const record = this.store.state.payments[hash];
    if (!record) throw new LndRpcError(2, 'non bucket element in payments bucket');
    if (record.attempt?.status === 'FAILED') record.attempt = null;
    this.store.save();
  }

  /** The network's answer for an HTLC this node sent (delivered late if the node was down). */
  resolved(hash: string, outcome: PaymentOutcome): void {
    const record = this.store.state.payments[hash];
    if (record?.status !== 'IN_FLIGHT') return;
    const now = nanoseconds();
    if (outcome.ok) {
      record.status = 'SUCCEEDED';
      record.preimage = outcome.preimage;
      record.feeMsat = outcome.feeMsat.toString();
    } else {
      record.status = 'FAILED';
      record.failureReason = `FAILURE_REASON_${outcome.reason}`;
    }
    if (record.attempt) Object.assign(record.attempt, { status: record.status, resolveTimeNs: now });
    this.store.save();
    this.notify(record);
  }

  private notify(record: PaymentRecord): void {
    for (const listener of [...(this.listeners.get(record.hash) ?? [])]) listener(record);
    if (record.status !== 'IN_FLIGHT') this.listeners.delete(record.hash);
  }
}

function routeRecord(route: Route): RouteRecord {
  return {
    totalTimeLock: route.totalTimeLock,
    totalFeesMsat: route.totalFeesMsat.toString(),
    totalAmtMsat: route.totalAmountMsat.toString(),
    hops: route.hops.map((hop) => ({
      chanId: hop.channelId,
      chanCapacity: hop.capacitySat.toString(),
      amtToForwardMsat: hop.amountToForwardMsat.toString(),
      feeMsat: hop.feeMsat.toString(),
      expiry: hop.expiry,
      pubKey: hop.nodeId,
    })),
  };
}

function nanoseconds(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}
