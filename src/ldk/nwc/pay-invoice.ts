// pay(bolt11) over NWC: pay_invoice, at most once per payment hash, and never 'failed' unless the wallet said
// so. Before sending, the hash is looked up: a payment the wallet already made (or is making) is returned,
// not sent again. After sending: the wallet's answer within the time allowed is the outcome; no answer, or an
// error that does not say the payment failed, is checked with a lookup, and whatever is still unknown then is
// 'pending' (an HTLC may be in flight; paying again could pay twice).
//
// NIP-47 has no fee cap and no payment timeout: both go as extension fields (max_fee_msat, timeout_seconds)
// that our sandbox service honours and other wallets ignore (their own fee limits apply).

import { tryDecodeBolt11 } from '../bolt11/index.ts';
import { isLightningError, LightningError } from '../lightning-error.ts';
import { paymentEventOf } from '../payment-event.ts';
import type { PaymentResult, PayRequest } from '../port.ts';
import { paymentHashOf } from './hex.ts';
import { lookupTransaction } from './lookup-transaction.ts';
import { toPaymentResult } from './map-transaction.ts';
import { PAY_REFUSAL_CODES, payFailureReasonOf } from './map-wallet-error.ts';
import { EXTENSION_FIELDS, type Nip47Error } from './nip47.ts';
import { payResultSchema } from './nip47-schemas.ts';
import type { NwcContext } from './nwc-context.ts';

/** Time the wallet's answer may take beyond the payment's own timeout (relay hops, the wallet's bookkeeping). */
const ANSWER_GRACE_MS = 10_000;

export async function payInvoice(context: NwcContext, request: PayRequest): Promise<PaymentResult> {
  const { bolt11, maxFeeMsat, timeoutSeconds } = request;
  if (typeof maxFeeMsat !== 'bigint' || maxFeeMsat < 0n || maxFeeMsat > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new LightningError('AmountInvalid', 'maxFeeMsat must be a non-negative bigint below 2^53');
  }
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new LightningError('InvalidArgument', 'timeoutSeconds must be positive');
  }
  const decoded = tryDecodeBolt11(bolt11);
  if (!decoded.ok) throw new LightningError('InvoiceInvalid', decoded.error.message);
  const invoice = decoded.invoice;
  if (invoice.network !== context.wallet.network) {
    throw new LightningError(
      'WrongNetwork',
      `the invoice is for ${invoice.network}; the wallet is on ${context.wallet.network}`,
    );
  }
  if (invoice.amountMsat === null || invoice.amountMsat <= 0n) {
    throw new LightningError(
      'InvoiceInvalid',
      'the invoice has no amount; this adapter pays only invoices with one',
    );
  }
  const paymentHash = invoice.paymentHash;
  // At most once, within this process too: a second call for the same hash waits for the first one's outcome.
  const running = context.paying.get(paymentHash);
  if (running) return running;
  const outcome = payOnce(context, request, paymentHash, invoice.amountMsat);
  context.paying.set(paymentHash, outcome);
  try {
    return await outcome;
  } finally {
    context.paying.delete(paymentHash);
  }
}

async function payOnce(
  context: NwcContext,
  request: PayRequest,
  paymentHash: string,
  amountMsat: bigint,
): Promise<PaymentResult> {
  const { maxFeeMsat } = request;
  // A lookup that fails (Timeout, NodeUnavailable) throws, and nothing is sent.
  const before = await lookupTransaction(context, paymentHash);
  if (before?.type === 'incoming') {
    throw new LightningError(
      'InvoiceInvalid',
      'the invoice is one this wallet issued; it does not pay itself',
    );
  }
  if (before) {
    const earlier = toPaymentResult(before);
    if (earlier.status !== 'failed') return earlier;
  }

  let reply: Awaited<ReturnType<typeof sendPayment>>;
  try {
    reply = await sendPayment(context, request);
  } catch (error) {
    // Sent but unanswered: the outcome is unknown, which is 'pending'. Not sent at all: the caller may retry.
    if (isLightningError(error, 'Timeout')) return outcomeAfterSilence(context, paymentHash);
    throw error;
  }
  if (reply.ok) {
    const { preimage, fees_paid } = reply.result;
    if (paymentHashOf(preimage) !== paymentHash) {
      context.log.error({ paymentHash }, 'the NWC wallet answered a payment with a preimage of another hash');
      return outcomeAfterSilence(context, paymentHash);
    }
    const feeMsat = BigInt(fees_paid ?? 0);
    if (feeMsat > maxFeeMsat) {
      context.log.error(
        { paymentHash, feeMsat: String(feeMsat), maxFeeMsat: String(maxFeeMsat) },
        'the NWC wallet paid more routing fee than allowed',
      );
    }
    const result: PaymentResult = {
      status: 'succeeded',
      paymentHash,
      preimage,
      amountMsat,
      feeMsat,
    };
    context.emit({ type: 'payment_succeeded', paymentHash, preimage, feeMsat });
    return result;
  }
  return outcomeAfterError(context, paymentHash, reply.error);
}

function sendPayment(context: NwcContext, request: PayRequest) {
  return context.client.request(
    'pay_invoice',
    {
      invoice: request.bolt11,
      [EXTENSION_FIELDS.maxFeeMsat]: Number(request.maxFeeMsat),
      [EXTENSION_FIELDS.timeoutSeconds]: request.timeoutSeconds,
    },
    (result) => {
      const parsed = payResultSchema.safeParse(result);
      return parsed.success ? parsed.data : undefined;
    },
    Math.max(
      context.requestTimeoutMs,
      request.timeoutSeconds * 1000 + Math.min(ANSWER_GRACE_MS, context.requestTimeoutMs),
    ),
  );
}

/** The wallet refused or failed: what its own record says, else its error code read conservatively. */
async function outcomeAfterError(
  context: NwcContext,
  paymentHash: string,
  error: Nip47Error,
): Promise<PaymentResult> {
  const recorded = await lookupTransaction(context, paymentHash).catch(() => undefined);
  // The wallet's record wins, even over its own error: a payment it still shows pending may yet succeed.
  if (recorded?.type === 'outgoing') return announce(context, toPaymentResult(recorded));
  if (!PAY_REFUSAL_CODES.has(error.code)) {
    context.log.warn(
      { paymentHash, code: error.code, message: error.message },
      'NWC pay: an error that does not say the payment failed; pending',
    );
    return { status: 'pending', paymentHash };
  }
  return announce(context, {
    status: 'failed',
    paymentHash,
    reason: payFailureReasonOf(error),
    detail: `the wallet service answered ${error.code}: ${error.message}`,
  });
}

async function outcomeAfterSilence(context: NwcContext, paymentHash: string): Promise<PaymentResult> {
  const recorded = await lookupTransaction(context, paymentHash).catch(() => undefined);
  if (recorded?.type === 'outgoing') return announce(context, toPaymentResult(recorded));
  return { status: 'pending', paymentHash };
}

function announce(context: NwcContext, result: PaymentResult): PaymentResult {
  const event = paymentEventOf(result);
  if (event) context.emit(event);
  return result;
}
