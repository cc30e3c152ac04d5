// The LND adapter's pure mappings, table-driven: LND invoice -> port hold (states, HTLC expiry, claim
// deadline from the configured auto-cancel delta, cancel reasons), LND errors -> typed LightningErrors,
// LND payment outcomes -> PaymentResult, and the configuration checks with their messages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isLightningError } from '../../../src/ldk/lightning-error.ts';
import { type LndInvoice, toHoldInvoice } from '../../../src/ldk/lnd/hold-invoice-view.ts';
import {
  DEFAULT_HOLD_EXPIRY_DELTA,
  DEFAULT_MAX_FINAL_CLTV_DELTA,
  lndConfigFromEnv,
  lndConfigFromUrl,
  lndSettings,
} from '../../../src/ldk/lnd/index.ts';
import { toLightningError } from '../../../src/ldk/lnd/lnd-errors.ts';
import {
  failedPayment,
  LND_FAILURE_REASONS,
  LND_PAYMENT_STATUSES,
  paymentFromUpdate,
  succeededPayment,
} from '../../../src/ldk/lnd/payment-outcome.ts';
import { networkOfChains } from '../../../src/ldk/lnd/read-node-info.ts';

const HASH = 'ab'.repeat(32);
const CREATED = '2030-01-01T00:00:00.000Z';
const EXPIRES = '2030-01-01T00:10:00.000Z';
const CREATED_AT = Date.parse(CREATED) / 1000;
const EXPIRES_AT = Date.parse(EXPIRES) / 1000;

function invoice(flags: Partial<LndInvoice>): LndInvoice {
  return {
    id: HASH,
    request: 'lnbcrt1...',
    description: 'task',
    created_at: CREATED,
    expires_at: EXPIRES,
    mtokens: '25000000',
    tokens: 25000,
    is_confirmed: false,
    payments: [],
    ...flags,
  };
}

const htlc = (state: 'held' | 'confirmed' | 'canceled', timeout: number, mtokens = '25000000') => ({
  is_held: state === 'held',
  is_confirmed: state === 'confirmed',
  is_canceled: state === 'canceled',
  mtokens,
  timeout,
});

const context = { holdExpiryDelta: 18, canceledByUs: false, now: CREATED_AT + 1, height: 600 };

test('LND invoice states map onto OPEN / ACCEPTED / SETTLED / CANCELED with expiry and deadline', () => {
  const cases: [string, Partial<LndInvoice>, Partial<typeof context>, Record<string, unknown>][] = [
    ['open', {}, {}, { state: 'OPEN', receivedMsat: 0n, htlcExpiryHeight: null, claimDeadlineHeight: null }],
    [
      'held: the lowest HTLC timeout is the expiry, minus the delta is the deadline',
      { is_held: true, payments: [htlc('held', 700, '20000000'), htlc('held', 690, '5000000')] },
      {},
      { state: 'ACCEPTED', receivedMsat: 25_000_000n, htlcExpiryHeight: 690, claimDeadlineHeight: 672 },
    ],
    [
      'held, with the older delta of 12 from config',
      { is_held: true, payments: [htlc('held', 700)] },
      { holdExpiryDelta: 12 },
      { state: 'ACCEPTED', htlcExpiryHeight: 700, claimDeadlineHeight: 688 },
    ],
    [
      'held: a canceled earlier part does not count',
      { is_held: true, payments: [htlc('canceled', 650, '1000'), htlc('held', 700)] },
      {},
      { state: 'ACCEPTED', receivedMsat: 25_000_000n, htlcExpiryHeight: 700 },
    ],
    [
      'settled',
      { is_confirmed: true, payments: [htlc('confirmed', 700)] },
      {},
      { state: 'SETTLED', receivedMsat: 25_000_000n, htlcExpiryHeight: 700, cancelReason: null },
    ],
    [
      'canceled by this adapter',
      { is_canceled: true, payments: [htlc('canceled', 700)] },
      { canceledByUs: true, height: 690 },
      { state: 'CANCELED', cancelReason: 'requested', claimDeadlineHeight: 682 },
    ],
    [
      "canceled by LND's expiry watcher (height at or past the deadline)",
      { is_canceled: true, payments: [htlc('canceled', 700)] },
      { height: 682 },
      { state: 'CANCELED', cancelReason: 'deadline' },
    ],
    [
      'canceled with HTLCs before the deadline, not by us: taken as requested',
      { is_canceled: true, payments: [htlc('canceled', 700)] },
      { height: 681 },
      { state: 'CANCELED', cancelReason: 'requested' },
    ],
    [
      'canceled without HTLCs after its expiry: expired',
      { is_canceled: true },
      { now: EXPIRES_AT },
      { state: 'CANCELED', cancelReason: 'expired', receivedMsat: 0n },
    ],
    [
      'canceled without HTLCs before its expiry: requested',
      { is_canceled: true },
      {},
      { state: 'CANCELED', cancelReason: 'requested' },
    ],
    [
      'is_confirmed wins over a stale is_held',
      { is_confirmed: true, is_held: true, payments: [htlc('confirmed', 700)] },
      {},
      { state: 'SETTLED' },
    ],
  ];
  for (const [name, flags, overrides, expected] of cases) {
    const hold = toHoldInvoice(invoice(flags), { ...context, ...overrides });
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(hold[key as keyof typeof hold], value, `${name}: ${key}`);
    }
    assert.is(hold.createdAt, CREATED_AT, name);
    assert.is(hold.expiresAt, EXPIRES_AT, name);
    assert.is(hold.amountMsat, 25_000_000n, name);
  }
});

test('a held invoice whose deadline LND does not give is refused, never reported without a deadline', () => {
  const noTimeout = invoice({ is_held: true, payments: [{ ...htlc('held', 700), timeout: undefined }] });
  assert.throws(() => toHoldInvoice(noTimeout, context), /expiry height/);
  const noHtlc = invoice({ is_held: true, payments: [htlc('canceled', 700)] });
  assert.throws(() => toHoldInvoice(noHtlc, context), /ACCEPTED without a held HTLC/);
});

test("LND's errors map onto the port's typed errors, by operation", () => {
  const grpc = (details: string, code = 2) => [503, 'UnexpectedLndError', { err: { code, details } }];
  const cases: [Parameters<typeof toLightningError>[0], unknown, string][] = [
    ['settle', [402, 'CannotSettleHtlcBeforeHtlcReceived'], 'NotAccepted'],
    ['settle', [404, 'SecretDoesNotMatchAnyExistingHodlInvoice'], 'UnknownHash'],
    ['settle', grpc('invoice already canceled'), 'AlreadyCanceled'],
    ['settle', [400, 'ExpectedPaymentPreimageToSettleHodlInvoice'], 'WrongPreimage'],
    ['cancel', grpc('invoice already settled'), 'AlreadySettled'],
    ['cancel', grpc('unable to locate invoice'), 'UnknownHash'],
    ['create', grpc('invoice with payment hash already exists'), 'HashReused'],
    ['create', grpc('CLTV delta of 10 must be greater than minimum of 24'), 'CltvInvalid'],
    ['create', grpc('CLTV delta of 70000 is too large, max accepted is: 65535'), 'CltvInvalid'],
    ['create', grpc('payments of negative value are not allowed, value is -1'), 'AmountInvalid'],
    [
      'create',
      grpc('expiry of 99999999 seconds greater than max expiry of 31536000 seconds'),
      'ExpiryInvalid',
    ],
    ['create', grpc('memo too large: 2000 bytes (maxsize=1024)'), 'InvalidArgument'],
    ['settle', grpc('permission denied'), 'NodeUnavailable'],
    ['cancel', grpc('verification failed: signature mismatch after caveat verification'), 'NodeUnavailable'],
    ['create', grpc('wallet locked, unlock it to enable full RPC access'), 'NodeUnavailable'],
    [
      'settle',
      grpc('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1', 14),
      'NodeUnavailable',
    ],
    ['settle', grpc('Connection dropped', 14), 'Timeout'],
    ['cancel', grpc('Deadline exceeded', 4), 'Timeout'],
    ['settle', grpc('something LND never said before'), 'Timeout'],
    // The same message means different things to different operations.
    ['cancel', grpc('invoice already canceled'), 'Timeout'],
  ];
  for (const [operation, error, code] of cases) {
    const mapped = toLightningError(operation, error);
    assert.ok(isLightningError(mapped), `${operation} ${JSON.stringify(error)}`);
    assert.is(mapped.code, code, `${operation}: ${mapped.message}`);
  }
});

test("connection problems say what to change, and LND's message is kept", () => {
  const grpc = (details: string, code = 2) => [503, 'X', { err: { code, details } }];
  const cases: [unknown, RegExp][] = [
    [grpc('permission denied'), /lacks a permission.*bakemacaroon invoices:read invoices:write/],
    [
      grpc('verification failed: signature mismatch after caveat verification'),
      /LND_MACAROON.*signature mismatch/,
    ],
    [grpc('No connection established. Last error: self-signed certificate', 14), /LND_CERT/],
    [grpc('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:9', 14), /LND_SOCKET/],
  ];
  for (const [error, message] of cases) assert.match(toLightningError('info', error).message, message);
});

test('payment outcomes read the same from pay() and paymentStatus(), failures by LND reason', () => {
  assert.equal(
    succeededPayment(HASH, { secret: 'cd'.repeat(32), mtokens: '10001010', fee_mtokens: '1010' }),
    {
      status: 'succeeded',
      paymentHash: HASH,
      preimage: 'cd'.repeat(32),
      amountMsat: 10_000_000n,
      feeMsat: 1010n,
    },
  );
  const cases: [Parameters<typeof failedPayment>[1], string, string][] = [
    [{ is_insufficient_balance: true }, 'insufficient_balance', 'LND FAILURE_REASON_INSUFFICIENT_BALANCE'],
    [{ is_route_not_found: true }, 'no_route', 'LND FAILURE_REASON_NO_ROUTE'],
    [{ is_pathfinding_timeout: true }, 'timeout', 'LND FAILURE_REASON_TIMEOUT'],
    [{ is_invalid_payment: true }, 'rejected', 'LND FAILURE_REASON_INCORRECT_PAYMENT_DETAILS'],
    [{ is_canceled: true }, 'error', 'LND FAILURE_REASON_CANCELED'],
    [{}, 'error', 'LND FAILURE_REASON_ERROR'],
  ];
  for (const [flags, reason, detail] of cases) {
    assert.equal(failedPayment(HASH, flags), { status: 'failed', paymentHash: HASH, reason, detail });
  }
});

test('every payment status of LND 0.16..0.21 is known: INITIATED and UNKNOWN and IN_FLIGHT are pending, never failed', () => {
  for (const status of ['INITIATED', 'IN_FLIGHT', 'UNKNOWN', 'A_STATUS_OF_A_LATER_LND']) {
    assert.equal(paymentFromUpdate(HASH, { status, failure_reason: 'FAILURE_REASON_NONE' }), {
      status: 'pending',
      paymentHash: HASH,
    });
  }
  assert.equal(
    paymentFromUpdate(HASH, {
      status: 'SUCCEEDED',
      value_msat: '10000000',
      fee_msat: '1010',
      payment_preimage: 'cd'.repeat(32),
    }),
    {
      status: 'succeeded',
      paymentHash: HASH,
      preimage: 'cd'.repeat(32),
      amountMsat: 10_000_000n,
      feeMsat: 1010n,
    },
  );
  for (const { lndReason, reason } of LND_FAILURE_REASONS) {
    assert.equal(paymentFromUpdate(HASH, { status: 'FAILED', failure_reason: lndReason }), {
      status: 'failed',
      paymentHash: HASH,
      reason,
      detail: `LND ${lndReason}`,
    });
  }
  assert.equal(paymentFromUpdate(HASH, { status: 'FAILED', failure_reason: 'FAILURE_REASON_ERROR' }), {
    status: 'failed',
    paymentHash: HASH,
    reason: 'error',
    detail: 'LND FAILURE_REASON_ERROR',
  });
  assert.equal(Object.keys(LND_PAYMENT_STATUSES).sort(), [
    'FAILED',
    'INITIATED',
    'IN_FLIGHT',
    'SUCCEEDED',
    'UNKNOWN',
  ]);
});

test("LND's chains map onto the port's networks (testnet4 reads as testnet, its invoices use tb)", () => {
  assert.is(networkOfChains(['6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000']), 'bitcoin');
  assert.is(networkOfChains(['06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f']), 'regtest');
  assert.is(networkOfChains(['43f08bdab050e35b567c864b91f47f50ae725ae2de53bcfbbaf284da00000000']), 'testnet');
  assert.is(networkOfChains(['e2bf047e7e5a191aa4ef34d314979dc9986e0f19251edaba5940fd1fe365a712']), null);
});

test('the auto-cancel delta defaults to the larger of LND’s two (18), and CLTV bounds follow it', () => {
  const base = { socket: '127.0.0.1:10009', macaroon: 'ab' };
  assert.is(DEFAULT_HOLD_EXPIRY_DELTA, 18);
  assert.equal(lndSettings(base).holdExpiryDelta, 18);
  assert.equal(lndSettings({ ...base, holdExpiryDelta: 12 }).holdExpiryDelta, 12);
  assert.is(lndSettings(base).minFinalCltvDelta, 24);
  assert.is(lndSettings({ ...base, holdExpiryDelta: 30 }).minFinalCltvDelta, 31);
  assert.is(lndSettings(base).maxFinalCltvDelta, DEFAULT_MAX_FINAL_CLTV_DELTA);
  assert.is(DEFAULT_MAX_FINAL_CLTV_DELTA, 2012);
  assert.throws(
    () => lndSettings({ ...base, maxFinalCltvDelta: 2013 }),
    /maxFinalCltvDelta 2013: must be 24\.\.2012/,
  );
  assert.throws(() => lndSettings({ ...base, holdExpiryDelta: 0 }), /holdexpirydelta/);
});

test('configuration from the environment and from an lndconnect URL, with messages naming the setting', () => {
  const env = { LND_SOCKET: '127.0.0.1:10009', LND_MACAROON: '0201036c6e64', LND_CERT: 'LS0tLS1CRUdJTg==' };
  assert.equal(lndConfigFromEnv(env), {
    socket: '127.0.0.1:10009',
    cert: 'LS0tLS1CRUdJTg==',
    macaroon: '0201036c6e64',
  });
  assert.is(lndConfigFromEnv({ ...env, LND_HOLD_EXPIRY_DELTA: '12' }).holdExpiryDelta, 12);
  assert.throws(() => lndConfigFromEnv({ ...env, LND_SOCKET: '' }), /LND_SOCKET/);
  assert.throws(() => lndConfigFromEnv({ ...env, LND_SOCKET: 'localhost' }), /not host:port/);
  assert.throws(() => lndConfigFromEnv({ LND_SOCKET: '127.0.0.1:10009' }), /LND_MACAROON.*invoices:write/);
  assert.throws(
    () =>
      lndConfigFromEnv({ LND_SOCKET: '127.0.0.1:10009', LND_MACAROON_PATH: '/nonexistent/admin.macaroon' }),
    /LND_MACAROON_PATH=\/nonexistent\/admin.macaroon cannot be read \(ENOENT\)/,
  );
  assert.throws(
    () => lndConfigFromEnv({ ...env, LND_HOLD_EXPIRY_DELTA: 'eighteen' }),
    /LND_HOLD_EXPIRY_DELTA/,
  );
  const der = Buffer.from('not really a certificate');
  const url = `lndconnect://10.0.0.5:10009?cert=${der.toString('base64url')}&macaroon=${Buffer.from([2, 1, 3]).toString('base64url')}`;
  const fromUrl = lndConfigFromUrl(url);
  assert.is(fromUrl.socket, '10.0.0.5:10009');
  assert.is(fromUrl.macaroon, '020103');
  assert.match(Buffer.from(fromUrl.cert!, 'base64').toString(), /^-----BEGIN CERTIFICATE-----\n/);
  assert.throws(() => lndConfigFromUrl('https://10.0.0.5:10009'), /expected lndconnect/);
  assert.throws(() => lndConfigFromUrl('lndconnect://10.0.0.5:10009?cert=abc'), /no macaroon/);
});

test.run();
