// pay(bolt11) with SendPaymentV2 (through `lightning`'s subscribeToPayViaRequest, the streaming form of
// payViaPaymentRequest) under a fee cap (max_fee_mtokens) and a timelock cap (max_timeout_height), and
// paymentStatus(hash) with TrackPaymentV2 (getPayment).
//
// Money rules: a hash LND already paid is never sent again (the first success is returned); a hash still in
// flight is waited on, not re-sent; an outcome that is not known when the wait ends is 'pending', never
// 'failed' (an HTLC may still be in flight and succeed). 'failed' is said only when LND says so or when the
// payment provably never left (refused before LND recorded it).

import { getPayment, subscribeToPastPayment, subscribeToPayViaRequest } from 'lightning';
import { Bolt11Error, decodeBolt11 } from '../bolt11/index.ts';
import { checkPaymentHash } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import { paymentEventOf } from '../payment-event.ts';
import type { PaymentResult, PayRequest } from '../port.ts';
import type { LndContext } from './lnd-context.ts';
import { connectionProblem, describeLndError, isOutcomeUnknown } from './lnd-errors.ts';
import {
  failedPayment,
  type LndConfirmedPayment,
  type LndFailedPayment,
  refusedPayment,
  succeededPayment,
} from './payment-outcome.ts';

/** LND's answers to SendPaymentV2 for a hash it already knows. */
const KNOWN_PAYMENT = /invoice is already paid|payment is in transition|payment already exists/;

interface PaymentEvents {
  on(event: 'confirmed', listener: (payment: LndConfirmedPayment) => void): unknown;
  on(event: 'failed', listener: (failed: LndFailedPayment) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  removeAllListeners(): unknown;
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
  const height = await context.height();
  let payment: PaymentEvents;
  try {
    payment = subscribeToPayViaRequest({
      lnd: context.lnd,
      request: bolt11,
      max_fee_mtokens: maxFeeMsat.toString(),
      max_timeout_height: height + context.settings.maxPaymentTimelockBlocks,
      pathfinding_timeout: Math.ceil(timeoutSeconds * 1000),
    });
  } catch (error) {
    // `lightning` checks the request before anything is sent.
    throw new LightningError('InvoiceInvalid', `the invoice was refused before sending (${String(error)})`);
  }
  return followPayment(context, paymentHash, payment, timeoutSeconds * 1000);
}

export async function paymentStatus(context: LndContext, paymentHash: string): Promise<PaymentResult | null> {
  checkPaymentHash(paymentHash);
  try {
    const status = await context.call('pay', () => getPayment({ lnd: context.lnd, id: paymentHash }));
    if (status.is_confirmed && status.payment) return succeededPayment(paymentHash, status.payment);
    if (status.is_failed && status.failed) return failedPayment(paymentHash, status.failed);
    return { status: 'pending', paymentHash };
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

/** Resolves with the outcome, or 'pending' when the wait ends first; the outcome is still reported later. */
function followPayment(
  context: LndContext,
  paymentHash: string,
  payment: PaymentEvents,
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
      payment.removeAllListeners();
      announce(context, result);
      answer(result);
    };
    const timer = setTimeout(() => answer({ status: 'pending', paymentHash }), waitMs);
    payment.on('confirmed', (confirmed) => end(succeededPayment(paymentHash, confirmed)));
    payment.on('failed', (failed) => end(failedPayment(paymentHash, failed)));
    payment.on('error', (error) => {
      if (ended) return;
      ended = true;
      payment.removeAllListeners();
      outcomeAfterError(context, paymentHash, error, waitMs)
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
  if (failure.name === 'MaxTimeoutTooNearCurrentHeightToMakePayment') {
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
  const tracking: PaymentEvents = subscribeToPastPayment({ lnd: context.lnd, id: paymentHash });
  return new Promise((resolve) => {
    const finish = (result: PaymentResult) => {
      clearTimeout(timer);
      tracking.removeAllListeners();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'pending', paymentHash }), waitMs);
    tracking.on('confirmed', (confirmed) => finish(succeededPayment(paymentHash, confirmed)));
    tracking.on('failed', (failed) => finish(failedPayment(paymentHash, failed)));
    tracking.on('error', () => finish({ status: 'pending', paymentHash }));
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
