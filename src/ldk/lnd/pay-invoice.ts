// pay(bolt11) with SendPaymentV2 under a fee cap (fee_limit_msat) and a timelock cap (cltv_limit), and
// paymentStatus(hash) with TrackPaymentV2, both called on `lightning`'s gRPC client directly:
// - `lightning`'s subscribeToPayViaRequest sends `cancelable: true`, and LND then fails the payment with
//   FAILURE_REASON_CANCELED when the call's context ends; real LND 0.21 did so after the payment had already
//   failed for another reason (insufficient balance) or while its HTLC was held, so the same payment read
//   CANCELED later (issue #17). This adapter never cancels a payment, so it sends `cancelable: false`.
// - `lightning`'s getPayment ignores an INITIATED update and an IN_FLIGHT one without HTLCs and waits for the
//   next, which may not come before the call times out; here the first update answers (payment-outcome.ts).
//
// Money rules: a hash LND already paid is never sent again (the first success is returned); a hash still in
// flight is waited on, not re-sent; an outcome that is not known when the wait ends is 'pending', never
// 'failed' (an HTLC may still be in flight and succeed). 'failed' is said only when LND says so or when the
// payment provably never left (refused before LND recorded it).

import { Bolt11Error, decodeBolt11 } from '../bolt11/index.ts';
import { checkPaymentHash } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import { paymentEventOf } from '../payment-event.ts';
import type { PaymentResult, PayRequest } from '../port.ts';
import type { LndContext } from './lnd-context.ts';
import { connectionProblem, describeLndError, isOutcomeUnknown } from './lnd-errors.ts';
import { type LndPaymentUpdate, paymentFromUpdate, refusedPayment } from './payment-outcome.ts';

/** LND's answers to SendPaymentV2 for a hash it already knows. */
const KNOWN_PAYMENT = /invoice is already paid|payment is in transition|payment already exists/;

/** A server stream of lnrpc.Payment updates (grpc-js ClientReadableStream). */
interface PaymentStream {
  on(event: 'data', listener: (update: LndPaymentUpdate) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(): unknown;
  cancel(): void;
}

interface RouterClient {
  sendPaymentV2(request: Record<string, unknown>): PaymentStream;
  trackPaymentV2(request: Record<string, unknown>): PaymentStream;
}

function router(context: LndContext): RouterClient {
  return (context.lnd as unknown as { router: RouterClient }).router;
}

/** Stops listening to a stream; a later error of it must not go unhandled. */
function letGo(stream: PaymentStream): void {
  stream.removeAllListeners();
  stream.on('error', () => {});
}

export async function payInvoice(context: LndContext, request: PayRequest): Promise<PaymentResult> {
  const { bolt11, maxFeeMsat, timeoutSeconds } = request;
  if (typeof maxFeeMsat !== 'bigint' || maxFeeMsat < 0n) {
    throw new LightningError('AmountInvalid', 'maxFeeMsat must be a non-negative bigint');
  }
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new LightningError('InvalidArgument', 'timeoutSeconds must be positive');
  }
  const invoice = decodeForPayment(bolt11);
  if (invoice.network !== context.network) {
    throw new LightningError(
      'WrongNetwork',
      `the invoice is for ${invoice.network}, this LND is on ${context.network}`,
    );
  }
  const paymentHash = invoice.paymentHash;
  const previous = await paymentStatus(context, paymentHash);
  if (previous?.status === 'succeeded') return previous;
  if (previous?.status === 'pending') return awaitOutcome(context, paymentHash, timeoutSeconds * 1000);
  if (invoice.expiresAt <= Date.now() / 1000) {
    return refusedPayment(paymentHash, 'invoice_expired', `the invoice expired at ${invoice.expiresAt}`);
  }
  let payment: PaymentStream;
  try {
    payment = router(context).sendPaymentV2({
      payment_request: bolt11,
      fee_limit_msat: maxFeeMsat.toString(),
      cltv_limit: context.settings.maxPaymentTimelockBlocks,
      timeout_seconds: Math.max(1, Math.ceil(timeoutSeconds)),
      max_parts: 1,
      no_inflight_updates: true,
      cancelable: false,
    });
  } catch (error) {
    // The client checks the request before anything is sent.
    throw new LightningError('InvoiceInvalid', `the invoice was refused before sending (${String(error)})`);
  }
  return followPayment(context, paymentHash, payment, timeoutSeconds * 1000);
}

export async function paymentStatus(context: LndContext, paymentHash: string): Promise<PaymentResult | null> {
  checkPaymentHash(paymentHash);
  try {
    return await context.call('pay', () => firstUpdate(context, paymentHash));
  } catch (error) {
    if (error instanceof LightningError) throw error;
    const failure = describeLndError(error);
    if (failure.status === 404 || /payment isn't initiated/.test(failure.details)) return null;
    throw new LightningError(
      connectionProblem(failure) ? 'NodeUnavailable' : 'Timeout',
      `LND could not report payment ${paymentHash} (${failure.details || failure.name})`,
    );
  }
}

/** TrackPaymentV2's first update: LND sends the payment's current state first. */
function firstUpdate(context: LndContext, paymentHash: string): Promise<PaymentResult> {
  const tracking = router(context).trackPaymentV2({
    payment_hash: Buffer.from(paymentHash, 'hex'),
    no_inflight_updates: false,
  });
  return new Promise((resolve, reject) => {
    const finish = (answer: () => void) => {
      letGo(tracking);
      tracking.cancel();
      answer();
    };
    tracking.on('data', (update) => finish(() => resolve(paymentFromUpdate(paymentHash, update))));
    tracking.on('error', (error) => finish(() => reject(error)));
    tracking.on('end', () => finish(() => reject(new Error('LND ended TrackPaymentV2 without an update'))));
  });
}

/** Resolves with the outcome, or 'pending' when the wait ends first; the outcome is still reported later. */
function followPayment(
  context: LndContext,
  paymentHash: string,
  payment: PaymentStream,
  waitMs: number,
): Promise<PaymentResult> {
  return new Promise((resolve) => {
    let answered = false;
    let ended = false;
    const answer = (result: PaymentResult) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      resolve(result);
    };
    const end = (result: PaymentResult) => {
      if (ended) return;
      ended = true;
      letGo(payment);
      announce(context, result);
      answer(result);
    };
    const timer = setTimeout(() => answer({ status: 'pending', paymentHash }), waitMs);
    payment.on('data', (update) => {
      const result = paymentFromUpdate(paymentHash, update);
      if (result.status !== 'pending') end(result);
    });
    payment.on('error', (error) => {
      if (ended) return;
      ended = true;
      letGo(payment);
      outcomeAfterError(context, paymentHash, error, waitMs)
        .catch((): PaymentResult => ({ status: 'pending', paymentHash }))
        .then((result) => {
          if (result.status !== 'pending') announce(context, result);
          answer(result);
        });
    });
    payment.on('end', () => {
      if (ended) return;
      // The stream ended without a final update: ask where the payment stands.
      ended = true;
      letGo(payment);
      outcomeAfterError(context, paymentHash, new Error('SendPaymentV2 ended'), waitMs)
        .catch((): PaymentResult => ({ status: 'pending', paymentHash }))
        .then((result) => {
          if (result.status !== 'pending') announce(context, result);
          answer(result);
        });
    });
  });
}

/** The stream broke or LND refused: say 'failed' only when the payment provably never left. */
async function outcomeAfterError(
  context: LndContext,
  paymentHash: string,
  error: unknown,
  waitMs: number,
): Promise<PaymentResult> {
  const failure = describeLndError(error);
  const said = failure.details || failure.name;
  if (/invoice expired/.test(failure.details))
    return refusedPayment(paymentHash, 'invoice_expired', `LND: ${said}`);
  if (
    failure.name === 'MaxTimeoutTooNearCurrentHeightToMakePayment' ||
    /cltv limit|CLTV limit|exceeds maximum cltv/i.test(failure.details)
  ) {
    return refusedPayment(
      paymentHash,
      'no_route',
      'the invoice asks a longer timelock than maxPaymentTimelockBlocks',
    );
  }
  const problem = connectionProblem(failure);
  if (problem !== null) {
    // The call never reached LND, or LND refused the call itself (credentials, permission, not ready):
    // nothing was recorded or sent.
    return refusedPayment(paymentHash, 'error', `the payment was not sent: ${said}`);
  }
  let known: PaymentResult | null;
  try {
    known = await paymentStatus(context, paymentHash);
  } catch {
    return { status: 'pending', paymentHash };
  }
  if (known?.status === 'pending') return awaitOutcome(context, paymentHash, waitMs);
  if (known) return known;
  if (KNOWN_PAYMENT.test(failure.details) || isOutcomeUnknown(failure)) {
    // LND may record it a moment later: unknown, so pending.
    return { status: 'pending', paymentHash };
  }
  return refusedPayment(paymentHash, 'error', `LND refused the payment (${said})`);
}

/** Waits on a payment LND already tracks (TrackPaymentV2); 'pending' when the wait ends first. */
function awaitOutcome(context: LndContext, paymentHash: string, waitMs: number): Promise<PaymentResult> {
  const tracking = router(context).trackPaymentV2({
    payment_hash: Buffer.from(paymentHash, 'hex'),
    no_inflight_updates: true,
  });
  return new Promise((resolve) => {
    const finish = (result: PaymentResult) => {
      clearTimeout(timer);
      letGo(tracking);
      tracking.cancel();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'pending', paymentHash }), waitMs);
    tracking.on('data', (update) => {
      const result = paymentFromUpdate(paymentHash, update);
      if (result.status !== 'pending') finish(result);
    });
    tracking.on('error', () => finish({ status: 'pending', paymentHash }));
    tracking.on('end', () => finish({ status: 'pending', paymentHash }));
  });
}

function announce(context: LndContext, result: PaymentResult): void {
  const event = paymentEventOf(result);
  if (event) context.emit(event);
}

function decodeForPayment(bolt11: string) {
  try {
    const invoice = decodeBolt11(bolt11);
    if (invoice.amountMsat === null || invoice.amountMsat <= 0n) {
      throw new LightningError(
        'InvoiceInvalid',
        'the invoice has no amount; this node pays only invoices with one',
      );
    }
    return invoice;
  } catch (error) {
    if (error instanceof Bolt11Error) throw new LightningError('InvoiceInvalid', error.message);
    throw error;
  }
}
