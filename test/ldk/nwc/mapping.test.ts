// The NWC adapter's pure parts, table-driven: the connection URI, NIP-47 transactions and errors to the port's
// types (with and without our service's extension fields), and the start-up capability check.
import type { NostrEvent } from 'nostr-tools/pure';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { paymentHashOf } from '../../../src/ldk/nwc/hex.ts';
import {
  holdStateOf,
  type MappingContext,
  toHoldInvoice,
  toPaymentResult,
} from '../../../src/ldk/nwc/map-transaction.ts';
import { payFailureReasonOf, toLightningError } from '../../../src/ldk/nwc/map-wallet-error.ts';
import type { Nip47Transaction } from '../../../src/ldk/nwc/nip47-schemas.ts';
import { formatNwcUri, NwcUriError, parseNwcUri, redactNwcUri } from '../../../src/ldk/nwc/nwc-uri.ts';
import {
  chooseEncryption,
  findMissing,
  missingCapabilitiesError,
  readInfoEvent,
} from '../../../src/ldk/nwc/wallet-capabilities.ts';
import { newPreimage } from '../../fakes/ldk-wait.ts';

const WALLET = getPublicKey(generateSecretKey());
const SECRET = 'ab'.repeat(32);

// ------------------------------------------------------------------------------------------------ the URI

const uri = suite('NWC connection URI');

uri('a URI with two relays, a secret and a lud16 is read', () => {
  const text = `nostr+walletconnect://${WALLET}?relay=wss%3A%2F%2Fone.example&relay=ws://127.0.0.1:7000&secret=${SECRET}&lud16=a@b.c`;
  const connection = parseNwcUri(text);
  assert.is(connection.walletPubkey, WALLET);
  assert.equal(connection.relays, ['wss://one.example', 'ws://127.0.0.1:7000']);
  assert.is(connection.clientPubkey, getPublicKey(Buffer.from(SECRET, 'hex')));
  assert.is(connection.lud16, 'a@b.c');
  assert.equal(parseNwcUri(formatNwcUri(connection)).relays, connection.relays);
  assert.is(
    parseNwcUri(`nostr+walletconnect:${WALLET}?relay=wss://x.example&secret=${SECRET}`).walletPubkey,
    WALLET,
  );
  assert.is(redactNwcUri(text).includes(SECRET), false);
});

const BAD_URIS: [string, string, RegExp][] = [
  ['empty', '', /is empty/],
  [
    'another scheme',
    `https://${WALLET}?relay=wss://x&secret=${SECRET}`,
    /must start with nostr\+walletconnect/,
  ],
  [
    'an npub for the wallet',
    `nostr+walletconnect://npub1xyz?relay=wss://x&secret=${SECRET}`,
    /64 lowercase hex/,
  ],
  ['no query', `nostr+walletconnect://${WALLET}`, /no \?relay=/],
  ['no relay', `nostr+walletconnect://${WALLET}?secret=${SECRET}`, /names no relay/],
  [
    'an http relay',
    `nostr+walletconnect://${WALLET}?relay=https://x.example&secret=${SECRET}`,
    /ws:\/\/ or wss:\/\//,
  ],
  ['a relay that is no URL', `nostr+walletconnect://${WALLET}?relay=nope&secret=${SECRET}`, /not a URL/],
  ['no secret', `nostr+walletconnect://${WALLET}?relay=wss://x.example`, /has no secret/],
  [
    'two secrets',
    `nostr+walletconnect://${WALLET}?relay=wss://x.example&secret=${SECRET}&secret=${SECRET}`,
    /more than one/,
  ],
  ['a short secret', `nostr+walletconnect://${WALLET}?relay=wss://x.example&secret=abcd`, /64 lowercase hex/],
  [
    'an uppercase secret',
    `nostr+walletconnect://${WALLET}?relay=wss://x.example&secret=${SECRET.toUpperCase()}`,
    /64 lowercase hex/,
  ],
  [
    'a zero secret',
    `nostr+walletconnect://${WALLET}?relay=wss://x.example&secret=${'00'.repeat(32)}`,
    /not a valid secp256k1/,
  ],
];

for (const [what, text, message] of BAD_URIS) {
  uri(`a URI with ${what} is refused with a message that says so, and never the secret`, () => {
    try {
      parseNwcUri(text);
      assert.unreachable('parsed');
    } catch (error) {
      assert.instance(error, NwcUriError);
      assert.match((error as Error).message, message);
      assert.is((error as Error).message.includes(SECRET), false);
    }
  });
}

uri('a secret that is the wallet service’s own key is refused', () => {
  const walletSecret = generateSecretKey();
  const text = `nostr+walletconnect://${getPublicKey(walletSecret)}?relay=wss://x.example&secret=${Buffer.from(walletSecret).toString('hex')}`;
  assert.throws(() => parseNwcUri(text), /belongs to the wallet service itself/);
});

uri.run();

// ---------------------------------------------------------------------------------------- transactions

const mapping = suite('NIP-47 transactions to the port');
const NOTHING_CANCELED: MappingContext = { canceledByUs: () => false, height: 700 };

function incoming(overrides: Partial<Nip47Transaction>): Nip47Transaction {
  return {
    type: 'incoming',
    state: 'pending',
    invoice: undefined,
    description: 'task',
    preimage: undefined,
    payment_hash: 'cd'.repeat(32),
    amount: 5000,
    created_at: 1_700_000_000,
    expires_at: 1_700_000_600,
    ...overrides,
  };
}

mapping(
  'lookup_invoice states become OPEN / ACCEPTED / SETTLED / CANCELED, and an unknown one is not guessed',
  () => {
    const table: [string | undefined, number | undefined, string | null][] = [
      ['pending', undefined, 'OPEN'],
      ['accepted', undefined, 'ACCEPTED'],
      ['settled', undefined, 'SETTLED'],
      ['expired', undefined, 'CANCELED'],
      ['failed', undefined, 'CANCELED'],
      ['canceled', undefined, 'CANCELED'],
      ['cancelled', undefined, 'CANCELED'],
      [undefined, 1_700_000_100, 'SETTLED'],
      [undefined, undefined, 'OPEN'],
      ['held', undefined, null],
    ];
    for (const [state, settledAt, expected] of table) {
      assert.is(holdStateOf({ state, settled_at: settledAt }), expected, `${state}`);
    }
    assert.is(toHoldInvoice(incoming({ state: 'held' }), NOTHING_CANCELED), null);
    assert.is(toHoldInvoice(incoming({ type: 'outgoing' }), NOTHING_CANCELED), null);
  },
);

mapping(
  'without extension fields: settle_deadline is the claim deadline and stands in for the HTLC expiry',
  () => {
    const hold = toHoldInvoice(incoming({ state: 'accepted', settle_deadline: 650 }), NOTHING_CANCELED)!;
    assert.is(hold.claimDeadlineHeight, 650);
    assert.is(hold.htlcExpiryHeight, 650);
    assert.is(hold.receivedMsat, 5000n);
    assert.is(hold.cancelReason, null);
    const open = toHoldInvoice(incoming({}), NOTHING_CANCELED)!;
    assert.equal(
      [open.state, open.receivedMsat, open.claimDeadlineHeight, open.htlcExpiryHeight],
      ['OPEN', 0n, null, null],
    );
  },
);

mapping(
  'with extension fields: the HTLC expiry, what the HTLCs carry and the cancel reason are taken as given',
  () => {
    const hold = toHoldInvoice(
      incoming({
        state: 'failed',
        settle_deadline: 650,
        htlc_expiry_height: 671,
        amount_received: 5100,
        cancel_reason: 'htlc_gone',
      }),
      NOTHING_CANCELED,
    )!;
    assert.equal(
      [hold.state, hold.htlcExpiryHeight, hold.claimDeadlineHeight, hold.receivedMsat, hold.cancelReason],
      ['CANCELED', 671, 650, 5100n, 'htlc_gone'],
    );
  },
);

mapping('without a cancel_reason, the reason is read from the state, our own cancels and the height', () => {
  const ours: MappingContext = { canceledByUs: () => true, height: 700 };
  const table: [Partial<Nip47Transaction>, MappingContext, string][] = [
    [{ state: 'expired' }, NOTHING_CANCELED, 'expired'],
    [{ state: 'failed', settle_deadline: 650 }, ours, 'requested'],
    [{ state: 'failed', settle_deadline: 650 }, NOTHING_CANCELED, 'deadline'],
    [{ state: 'failed', settle_deadline: 750 }, NOTHING_CANCELED, 'requested'],
    [{ state: 'failed' }, { canceledByUs: () => false, height: null }, 'requested'],
  ];
  for (const [overrides, context, reason] of table) {
    assert.is(toHoldInvoice(incoming(overrides), context)?.cancelReason, reason, JSON.stringify(overrides));
  }
});

mapping(
  'an outgoing payment is a success only with a preimage of its hash, a failure only when failed',
  () => {
    const { preimage, paymentHash } = newPreimage();
    const outgoing = (overrides: Partial<Nip47Transaction>) =>
      toPaymentResult({
        ...incoming({}),
        type: 'outgoing',
        payment_hash: paymentHash,
        fees_paid: 12,
        ...overrides,
      });
    assert.equal(outgoing({ state: 'settled', preimage }), {
      status: 'succeeded',
      paymentHash,
      preimage,
      amountMsat: 5000n,
      feeMsat: 12n,
    });
    assert.is(outgoing({ state: 'settled', preimage: newPreimage().preimage }).status, 'pending');
    assert.is(outgoing({ state: 'settled' }).status, 'pending');
    assert.is(outgoing({ state: 'pending' }).status, 'pending');
    assert.is(outgoing({ state: 'expired' }).status, 'pending');
    const failed = outgoing({ state: 'failed', failure_reason: 'no_route' });
    assert.is(failed.status === 'failed' && failed.reason, 'no_route');
    const unexplained = outgoing({ state: 'failed', failure_reason: 'cosmic rays' });
    assert.is(unexplained.status === 'failed' && unexplained.reason, 'error');
    assert.is(paymentHashOf(preimage), paymentHash);
  },
);

mapping('NIP-47 errors become typed errors: the port code in the message first, then the NIP-47 code', () => {
  const table: [string, string, string][] = [
    ['NOT_FOUND', 'not found', 'UnknownHash'],
    ['OTHER', 'HashReused: an invoice for ab was created before', 'HashReused'],
    ['OTHER', 'AlreadyCanceled: hold ab was canceled', 'AlreadyCanceled'],
    ['INTERNAL', 'Timeout: LDK did not confirm', 'Timeout'],
    ['OTHER', 'something odd', 'InvalidArgument'],
    ['BAD_REQUEST', 'payment_hash is required', 'InvalidArgument'],
    ['INSUFFICIENT_BALANCE', 'not enough', 'AmountInvalid'],
    ['INTERNAL', 'database locked', 'NodeUnavailable'],
    ['RATE_LIMITED', 'slow down', 'NodeUnavailable'],
    ['UNAUTHORIZED', 'no wallet', 'NodeUnavailable'],
    ['SomethingNew', 'Unheard: of', 'NodeUnavailable'],
  ];
  for (const [code, message, expected] of table) {
    const error = toLightningError('settle_hold_invoice', { code, message });
    assert.is(error.code, expected, `${code} ${message}`);
    assert.match(error.message, `settle_hold_invoice: the wallet service answered ${code}`);
  }
  assert.is(payFailureReasonOf({ code: 'INSUFFICIENT_BALANCE', message: 'x' }), 'insufficient_balance');
  assert.is(payFailureReasonOf({ code: 'PAYMENT_FAILED', message: 'no_route: no path' }), 'no_route');
  assert.is(payFailureReasonOf({ code: 'PAYMENT_FAILED', message: 'Route not found' }), 'error');
});

mapping.run();

// ------------------------------------------------------------------------------------------- capabilities

const capabilities = suite('NWC wallet capabilities');

function infoEvent(content: string, tags: string[][]): NostrEvent {
  return finalizeEvent({ kind: 13194, created_at: 1, tags, content }, generateSecretKey());
}

capabilities('the info event gives methods (spaces or commas), notifications and encryptions', () => {
  const read = readInfoEvent(
    infoEvent('pay_invoice,get_info make_hold_invoice notifications', [
      ['notifications', 'hold_invoice_accepted payment_sent'],
      ['encryption', 'nip44_v2 nip04'],
    ]),
  );
  assert.equal(read.methods, ['pay_invoice', 'get_info', 'make_hold_invoice']);
  assert.equal(read.notifications, ['hold_invoice_accepted', 'payment_sent']);
  assert.is(chooseEncryption(read.encryptions), 'nip44_v2');
  // NIP-47: no encryption tag means a wallet that speaks NIP-04 only.
  assert.is(chooseEncryption(readInfoEvent(infoEvent('get_info', [])).encryptions), 'nip04');
  assert.is(chooseEncryption(['nip44_v3']), null);
});

capabilities('what is missing is named with where it is missing, in a message that says what to do', () => {
  const event = readInfoEvent(
    infoEvent(
      'get_info get_balance make_hold_invoice settle_hold_invoice cancel_hold_invoice lookup_invoice pay_invoice',
      [['notifications', 'payment_received']],
    ),
  );
  const missing = findMissing(event, {
    methods: [
      'get_info',
      'get_balance',
      'make_hold_invoice',
      'cancel_hold_invoice',
      'lookup_invoice',
      'pay_invoice',
    ],
    notifications: ['hold_invoice_accepted'],
  });
  assert.equal(missing, {
    methods: [{ name: 'settle_hold_invoice', where: ['get_info of this connection'] }],
    notifications: [{ name: 'hold_invoice_accepted', where: ['info event (kind 13194)'] }],
  });
  const error = missingCapabilitiesError(WALLET, missing);
  assert.equal(error.missingMethods, ['settle_hold_invoice']);
  assert.equal(error.missingNotifications, ['hold_invoice_accepted']);
  assert.match(
    error.message,
    `the NWC wallet service ${WALLET} is missing method settle_hold_invoice (not in the get_info of this connection); and notification hold_invoice_accepted (not in the info event (kind 13194))`,
  );
  assert.equal(findMissing(readInfoEvent(infoEvent('get_info', [])), null).methods.length, 6);
});

capabilities.run();
