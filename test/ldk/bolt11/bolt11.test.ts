// Every BOLT11 test vector (test/fixtures/bolt11-vectors.json, the spec's "Examples"): valid invoices decode
// to the fields the spec's breakdown gives and re-encode to the same string, re-signed with the spec's key;
// invalid ones are refused for the reason their title names.
import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type Bolt11ErrorCode,
  type DecodedInvoice,
  decodeBolt11,
  encodeBolt11,
  type TaggedField,
  tryDecodeBolt11,
} from '../../../src/ldk/bolt11/index.ts';
import { signingHash } from '../../../src/ldk/bolt11/signature.ts';
import { wordsToPaddedBytes } from '../../../src/ldk/bolt11/words.ts';

interface Vector {
  title: string;
  invoice: string;
}
const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/bolt11-vectors.json', import.meta.url), 'utf8'),
) as { valid: Vector[]; invalid: Vector[] };

/** "NB: all the following examples are signed with priv_key=e126f68f…" (BOLT11, Examples). */
const SPEC_PRIVATE_KEY = hexToBytes('e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734');
const SPEC_PAYEE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad';
/** What the high-S vector's signature recovers to: see the tests at the end of this file. */
const HIGH_S_RECOVERED_PAYEE = '02d0139ce7427d6dfffd26a326c18be754ef1e64672b42694ba5b23ef6e6e7803d';
const HIGH_S_TITLE = 'Public-key recovery with high-S signature';

const CAKE_HASH = '3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1';
const COMMON = {
  network: 'bitcoin',
  currencyPrefix: 'bc',
  timestamp: 1496314658,
  paymentHash: '0001020304050607080900010203040506070809000102030405060708090102',
  paymentSecret: '11'.repeat(32),
  payeeNodeId: SPEC_PAYEE,
  payeeNodeIdSource: 'recovered',
  expirySeconds: 3600,
  minFinalCltvExpiryDelta: 18,
  description: null,
  descriptionHash: null,
  fallbackAddresses: [],
  routeHints: [],
  features: [8, 14],
  metadata: null,
} as const;
type Expected = Record<string, unknown> & { amountMsat: bigint | null };

function expected(overrides: Partial<Expected> & { amountMsat: bigint | null }): Expected {
  return { ...COMMON, ...overrides };
}
function fallback(version: number, program: string, address: string) {
  return [{ version, program, address }];
}
const coffee = { amountMsat: 2_500_000_000n, description: 'coffee beans', features: [8, 14, 99] };

/** From each example's "Breakdown" in BOLT11, plus the addresses and amounts its title names. */
const EXPECTED_VALID: Record<string, Expected> = {
  'Please make a donation of any amount using payment_hash 0001020304050607080900010203040506070809000102030405060708090102 to me @03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad':
    expected({ amountMsat: null, description: 'Please consider supporting this project' }),
  'Please send $3 for a cup of coffee to the same peer, within one minute': expected({
    amountMsat: 250_000_000n,
    description: '1 cup coffee',
    expirySeconds: 60,
  }),
  'Please send 0.0025 BTC for a cup of nonsense (ナンセンス 1杯) to the same peer, within one minute':
    expected({
      amountMsat: 250_000_000n,
      description: 'ナンセンス 1杯',
      expirySeconds: 60,
    }),
  'Now send $24 for an entire list of things (hashed)': expected({
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
  }),
  'The same, on testnet, with a fallback address mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP': expected({
    network: 'testnet',
    currencyPrefix: 'tb',
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: fallback(
      17,
      '3172b5654f6683c8fb146959d347ce303cae4ca7',
      'mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP',
    ),
  }),
  'On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T with extra routing info to go via nodes 029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255 then 039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255':
    expected({
      amountMsat: 2_000_000_000n,
      descriptionHash: CAKE_HASH,
      fallbackAddresses: fallback(
        17,
        '04b61f7dc1ea0dc99424464cc4064dc564d91e89',
        '1RustyRX2oai4EYYDpQGWvEL62BBGqN9T',
      ),
      routeHints: [
        [
          {
            nodeId: '029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255',
            shortChannelId: '66051x263430x1800',
            feeBaseMsat: 1,
            feeProportionalMillionths: 20,
            cltvExpiryDelta: 3,
          },
          {
            nodeId: '039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255',
            shortChannelId: '197637x395016x2314',
            feeBaseMsat: 2,
            feeProportionalMillionths: 30,
            cltvExpiryDelta: 4,
          },
        ],
      ],
    }),
  'On mainnet, with fallback (P2SH) address 3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX': expected({
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: fallback(
      18,
      '8f55563b9a19f321c211e9b9f38cdf686ea07845',
      '3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX',
    ),
  }),
  'On mainnet, with fallback (P2WPKH) address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4': expected({
    amountMsat: 2_000_000_000n,
    descriptionHash: CAKE_HASH,
    fallbackAddresses: fallback(
      0,
      '751e76e8199196d454941c45d1b3a323f1433bd6',
      'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
    ),
  }),
  'On mainnet, with fallback (P2WSH) address bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3':
    expected({
      amountMsat: 2_000_000_000n,
      descriptionHash: CAKE_HASH,
      fallbackAddresses: fallback(
        0,
        '1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
        'bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3',
      ),
    }),
  'On mainnet, with fallback (P2TR) address bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm':
    expected({
      amountMsat: 2_000_000_000n,
      descriptionHash: CAKE_HASH,
      fallbackAddresses: fallback(
        1,
        '0adac43daa9c8a5a68e09ea10692b82226ee190e572db9b90e17a410484ab405',
        'bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm',
      ),
    }),
  'Please send 0.00967878534 BTC for a list of items within one week, amount in pico-BTC': expected({
    amountMsat: 967_878_534n,
    timestamp: 1572468703,
    paymentHash: '462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f',
    description:
      'Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, "Back In My Day" Sticker x 2, "I Got Lightning Working" Sticker x 2 and 1 more items',
    expirySeconds: 604800,
    minFinalCltvExpiryDelta: 10,
    routeHints: [
      [
        {
          nodeId: '03d06758583bb5154774a6eb221b1276c9e82d65bbaceca806d90e20c108f4b1c7',
          shortChannelId: '589390x3312x1',
          feeBaseMsat: 1000,
          feeProportionalMillionths: 2500,
          cltvExpiryDelta: 40,
        },
      ],
    ],
  }),
  'Please send $30 for coffee beans to the same peer, which supports features 8, 14 and 99, using secret 0x1111111111111111111111111111111111111111111111111111111111111111':
    expected(coffee),
  'Same, but all upper case.': expected(coffee),
  'Same, but including fields which must be ignored.': expected(coffee),
  'Please send 0.01 BTC with payment metadata 0x01fafaf0': expected({
    amountMsat: 1_000_000_000n,
    description: 'payment metadata inside',
    features: [8, 14, 48],
    metadata: '01fafaf0',
  }),
  [HIGH_S_TITLE]: expected({
    amountMsat: null,
    description: 'Please consider supporting this project',
    payeeNodeId: HIGH_S_RECOVERED_PAYEE,
  }),
};

/** The reason each invalid example is invalid, from its title (and the spec text above it). */
const EXPECTED_INVALID: Record<string, Bolt11ErrorCode> = {
  // Untitled in the vectors file; in BOLT11 it is "Same, but adding invalid unknown feature 100".
  '(untitled)': 'UnknownRequiredFeature',
  'Bech32 checksum is invalid.': 'BadChecksum',
  'Malformed bech32 string (mixed case)': 'MixedCase',
  'Signature is not recoverable.': 'SignatureNotRecoverable',
  'String is too short.': 'TooShort',
  'Invalid multiplier': 'InvalidAmount',
  'Invalid sub-millisatoshi precision.': 'SubMillisatoshiAmount',
  'Missing required `s` field.': 'MissingPaymentSecret',
  "Non canonical signature (high-S) with 'n' field defined": 'HighSSignature',
};

function picked(invoice: DecodedInvoice): Expected {
  const copy: Record<string, unknown> = {};
  for (const key of [...Object.keys(COMMON), 'amountMsat']) copy[key] = invoice[key as keyof DecodedInvoice];
  return copy as Expected;
}

test('the vectors file holds the expected valid and invalid examples, each with an expectation here', () => {
  assert.equal(vectors.valid.map((vector) => vector.title).sort(), Object.keys(EXPECTED_VALID).sort());
  assert.equal(vectors.invalid.map((vector) => vector.title).sort(), Object.keys(EXPECTED_INVALID).sort());
});

for (const vector of vectors.valid) {
  test(`valid vector decodes to the spec's fields: ${vector.title.slice(0, 70)}`, () => {
    const invoice = decodeBolt11(vector.invoice);
    assert.equal(picked(invoice), EXPECTED_VALID[vector.title]);
    assert.is(invoice.expiresAt, invoice.timestamp + invoice.expirySeconds);
  });

  test(`valid vector re-encodes to the same string: ${vector.title.slice(0, 70)}`, () => {
    const invoice = decodeBolt11(vector.invoice);
    assert.is(encodeBolt11(invoice, { signature: invoice.signature }), vector.invoice.toLowerCase());
    // Re-signing (RFC 6979, low-S) reproduces the spec's signature, except for the vector whose signature
    // was made high-S by hand.
    if (vector.title !== HIGH_S_TITLE) {
      assert.is(encodeBolt11(invoice, { privateKey: SPEC_PRIVATE_KEY }), vector.invoice.toLowerCase());
    }
  });
}

for (const vector of vectors.invalid) {
  test(`invalid vector is refused with ${EXPECTED_INVALID[vector.title]}: ${vector.title}`, () => {
    const result = tryDecodeBolt11(vector.invoice);
    assert.is(result.ok, false);
    if (!result.ok) assert.is(result.error.code, EXPECTED_INVALID[vector.title]);
  });
}

test('the ignored fields of the "must be ignored" vector are kept as skipped fields, in order', () => {
  const vector = vectors.valid.find(
    (candidate) => candidate.title === 'Same, but including fields which must be ignored.',
  )!;
  const skipped = decodeBolt11(vector.invoice).fields.filter(
    (field): field is Extract<TaggedField, { kind: 'skipped' }> => field.kind === 'skipped',
  );
  // unknown type 10 ("2"), f of version 19, then p, p, h, h, s, s, n, n of the wrong length
  assert.equal(
    skipped.map((field) => [field.tag, field.words.length]),
    [
      [10, 3],
      [9, 33],
      [1, 51],
      [1, 53],
      [23, 51],
      [23, 53],
      [16, 51],
      [16, 53],
      [19, 52],
      [19, 54],
    ],
  );
});

// The high-S vector (lightning/bolts 0cf2151) is the first example with s replaced by N - s, but its
// recovery id was left at 1. Recovery computes Q = r^-1 (s R - e G), R being the point the recovery id
// picks; with N - s it gives Q only if R is negated too, that is if the recovery id's parity is flipped
// (1 -> 0). As published, the signature recovers another key. BOLT11 says to accept high-S signatures on
// recovery, and libsecp256k1 (in LDK, our payer) does, so we decode the invoice and report the key the
// signature really recovers, 02d0139c…, not the spec's signer 03e7156a…; the vector's title names no payee.
// For payouts that is the safe reading: we check the very key our node would route to, and nobody holds
// its private key, so a payment to it could only fail.
test('the high-S vector decodes, and its recovered payee is not the key the spec signed with', () => {
  const vector = vectors.valid.find((candidate) => candidate.title === HIGH_S_TITLE)!;
  const invoice = decodeBolt11(vector.invoice);
  assert.is(invoice.signature.highS, true);
  assert.is(invoice.signature.recoveryId, 1);
  assert.is(invoice.payeeNodeIdSource, 'recovered');
  assert.is(invoice.payeeNodeId, HIGH_S_RECOVERED_PAYEE);
  assert.is.not(invoice.payeeNodeId, SPEC_PAYEE);
});

test('the high-S vector is the first vector with s negated and the recovery id not flipped', () => {
  const highS = decodeBolt11(vectors.valid.find((candidate) => candidate.title === HIGH_S_TITLE)!.invoice);
  const lowSignature = signatureOf(vectors.valid[0]!.invoice);
  const highSignature = signatureOf(encodeBolt11(highS, { signature: highS.signature }));
  assert.is(highSignature.r, lowSignature.r);
  assert.is(highSignature.s, secp256k1.Point.Fn.ORDER - lowSignature.s);
  // With the recovery id flipped, the same (r, s) recovers the spec's key: the invoice re-encoded that
  // way decodes with the expected payee.
  const fixed = encodeBolt11(highS, { signature: { ...highS.signature, recoveryId: 0 } });
  assert.is(decodeBolt11(fixed).payeeNodeId, SPEC_PAYEE);
  assert.is(
    bytesToHex(highSignature.addRecoveryBit(0).recoverPublicKey(signingHashOf(fixed)).toBytes(true)),
    SPEC_PAYEE,
  );
});

// The other high-S vector names its payee in `n`; there high-S must fail. It also carries its `s` field
// twice, a second reason to refuse it: we check the signature first, so it fails as HighSSignature. Once
// normalized to low-S its signature verifies against `n` (else this would be SignatureMismatch), and the
// duplicate `s` is what is left.
test('the high-S vector with an n field fails on its signature, and would fail on its duplicate s once low-S', () => {
  const vector = vectors.invalid.find((candidate) => candidate.title.startsWith('Non canonical signature'))!;
  assert.is(codeOf(vector.invoice), 'HighSSignature');
  const signature = signatureOf(vector.invoice);
  assert.ok(signature.hasHighS());
  const normalized = new secp256k1.Signature(signature.r, secp256k1.Point.Fn.ORDER - signature.s);
  const lowS = rebuildWithSignature(vector.invoice, {
    compact: normalized.toHex('compact'),
    recoveryId: 0,
    highS: false,
  });
  assert.is(codeOf(lowS), 'DuplicateField');
});

// --- helpers reaching below the public API, for the high-S tests ---
function signatureOf(invoice: string): InstanceType<typeof secp256k1.Signature> {
  const words = bech32.decode(invoice.toLowerCase(), false).words;
  return secp256k1.Signature.fromBytes(wordsToPaddedBytes(words.slice(-104)).subarray(0, 64), 'compact');
}
function signingHashOf(invoice: string): Uint8Array {
  const { prefix, words } = bech32.decode(invoice.toLowerCase(), false);
  return signingHash(prefix, words.slice(0, -104));
}
function rebuildWithSignature(
  invoice: string,
  signature: { compact: string; recoveryId: number; highS: boolean },
): string {
  const { prefix, words } = bech32.decode(invoice.toLowerCase(), false);
  const signatureBytes = Uint8Array.of(...hexToBytes(signature.compact), signature.recoveryId);
  return bech32.encode(prefix, [...words.slice(0, -104), ...bech32.toWords(signatureBytes)], false);
}
function codeOf(invoice: string): string {
  const result = tryDecodeBolt11(invoice);
  return result.ok ? 'accepted' : result.error.code;
}

test.run();
