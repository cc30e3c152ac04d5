// Property tests: nothing makes the decoder throw anything but a Bolt11Error, whatever it is fed; every
// invoice the encoder writes decodes to what went in, signed by its key; one changed character is caught.
import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type CurrencyPrefix,
  decodeBolt11,
  encodeBolt11,
  type InvoiceToEncode,
  MAX_AMOUNT_MSAT,
  type TaggedField,
  tryDecodeBolt11,
} from '../../../src/ldk/bolt11/index.ts';

const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/bolt11-vectors.json', import.meta.url), 'utf8'),
) as { valid: { title: string; invoice: string }[] };

const ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const word = fc.integer({ min: 0, max: 31 });
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
const privateKey = fc
  .bigInt({ min: 1n, max: secp256k1.Point.Fn.ORDER - 1n })
  .map((scalar) => secp256k1.Point.Fn.toBytes(scalar));
const NODE_IDS = [1n, 2n, 3n].map((scalar) => secp256k1.Point.BASE.multiply(scalar).toHex(true));

/** Decoding never throws: tryDecodeBolt11 rethrows anything that is not a Bolt11Error. */
function decodesOrRefuses(text: string): void {
  tryDecodeBolt11(text);
}

test('no string makes the decoder throw anything but a Bolt11Error', () => {
  const invoiceLike = fc
    .tuple(
      fc.constantFrom('ln', 'lnbc', 'lnbcrt', 'lntbs', 'LNBC', 'bc'),
      fc.string({ maxLength: 8 }),
      fc.string({ maxLength: 300 }),
    )
    .map(([prefix, amount, data]) => `${prefix}${amount}1${data}`);
  fc.assert(
    fc.property(
      fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 400 }), invoiceLike),
      decodesOrRefuses,
    ),
    {
      numRuns: 2000,
    },
  );
});

test('random data under a valid checksum never makes the decoder throw anything but a Bolt11Error', () => {
  const humanReadablePart = fc.constantFrom(
    'lnbc',
    'lnbcrt',
    'lntb',
    'lntbs',
    'lnsb',
    'lnbc2500u',
    'lnbcrt10p',
    'lnbc1',
  );
  const field = fc.record({ tag: word, words: fc.array(word, { maxLength: 120 }) });
  // Shaped like an invoice (timestamp, fields, 104 signature words) so that runs reach the field decoders and
  // the signature checks, plus pure noise.
  const shaped = fc
    .tuple(
      fc.array(word, { minLength: 7, maxLength: 7 }),
      fc.array(field, { maxLength: 8 }),
      fc.array(word, { minLength: 104, maxLength: 104 }),
    )
    .map(([timestamp, fields, signature]) => [
      ...timestamp,
      ...fields.flatMap(({ tag, words }) => [tag, words.length >> 5, words.length & 31, ...words]),
      ...signature,
    ]);
  const noise = fc.array(word, { maxLength: 700 });
  fc.assert(
    fc.property(humanReadablePart, fc.oneof(shaped, noise), (prefix, words) => {
      decodesOrRefuses(bech32.encode(prefix, words, false));
    }),
    { numRuns: 1000 },
  );
});

const fallbackField = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(
  (program): TaggedField => ({
    kind: 'fallback_address',
    fallback: { version: 0, program: bytesToHex(program), address: '' },
  }),
);
const routeHintField = fc
  .array(
    fc
      .record({
        nodeId: fc.constantFrom(...NODE_IDS),
        shortChannelId: fc
          .tuple(fc.nat(2 ** 24 - 1), fc.nat(2 ** 24 - 1), fc.nat(2 ** 16 - 1))
          .map((parts) => parts.join('x')),
        feeBaseMsat: fc.nat(2 ** 32 - 1),
        feeProportionalMillionths: fc.nat(2 ** 32 - 1),
        cltvExpiryDelta: fc.nat(2 ** 16 - 1),
      })
      .map((hop) => ({ ...hop })), // fc.record makes null-prototype objects; decoded hops are plain ones
    { minLength: 1, maxLength: 3 },
  )
  .map((hops): TaggedField => ({ kind: 'route_hint', hops }));
const featureBits = fc.uniqueArray(fc.constantFrom(8, 9, 14, 15, 16, 17, 48, 49, 99, 101, 255), {
  maxLength: 5,
});

const invoice = fc
  .record({
    currencyPrefix: fc.constantFrom<CurrencyPrefix>('bc', 'tb', 'tbs', 'bcrt', 'sb'),
    amountMsat: fc.option(fc.bigInt({ min: 1n, max: MAX_AMOUNT_MSAT }), { nil: null }),
    timestamp: fc.nat(2 ** 35 - 1),
    paymentHash: hex32,
    paymentSecret: hex32,
    description: fc.oneof(
      fc
        .string({ unit: 'grapheme', maxLength: 60 })
        .map((description): TaggedField => ({ kind: 'description', description })),
      hex32.map((descriptionHash): TaggedField => ({ kind: 'description_hash', descriptionHash })),
    ),
    optional: fc.array(
      fc.oneof(
        fc.nat(2 ** 40).map((seconds): TaggedField => ({ kind: 'expiry', seconds })),
        fc.nat(2 ** 20).map((blocks): TaggedField => ({ kind: 'min_final_cltv_expiry_delta', blocks })),
        featureBits.map((bits): TaggedField => ({ kind: 'features', bits: [...bits].sort((a, b) => a - b) })),
        fc
          .uint8Array({ maxLength: 40 })
          .map((bytes): TaggedField => ({ kind: 'metadata', metadata: bytesToHex(bytes) })),
      ),
      { maxLength: 4 },
    ),
    repeatable: fc.array(fc.oneof(fallbackField, routeHintField), { maxLength: 3 }),
    namesPayee: fc.boolean(),
    key: privateKey,
  })
  // at most one field of each non-repeatable kind
  .filter(({ optional }) => new Set(optional.map((field) => field.kind)).size === optional.length)
  .chain((parts) => {
    const payee = bytesToHex(secp256k1.getPublicKey(parts.key, true));
    const fields: TaggedField[] = [
      { kind: 'payment_hash', paymentHash: parts.paymentHash },
      { kind: 'payment_secret', paymentSecret: parts.paymentSecret },
      parts.description,
      ...parts.optional,
      ...parts.repeatable,
      ...(parts.namesPayee ? [{ kind: 'payee', nodeId: payee } as TaggedField] : []),
    ];
    return fc
      .shuffledSubarray(fields, { minLength: fields.length })
      .map((shuffled) => ({ ...parts, payee, fields: shuffled }));
  });

test('every invoice the encoder writes decodes to the same fields, with its signer as payee', () => {
  fc.assert(
    fc.property(invoice, (generated) => {
      const toEncode: InvoiceToEncode = {
        currencyPrefix: generated.currencyPrefix,
        amountMsat: generated.amountMsat,
        timestamp: generated.timestamp,
        fields: generated.fields,
      };
      const text = encodeBolt11(toEncode, { privateKey: generated.key });
      const decoded = decodeBolt11(text);
      assert.is(decoded.payeeNodeId, generated.payee);
      assert.is(decoded.payeeNodeIdSource, generated.namesPayee ? 'n-field' : 'recovered');
      assert.is(decoded.amountMsat, generated.amountMsat);
      assert.is(decoded.timestamp, generated.timestamp);
      assert.is(decoded.paymentHash, generated.paymentHash);
      assert.is(decoded.paymentSecret, generated.paymentSecret);
      assert.equal(
        decoded.fields.map((field) =>
          field.kind === 'fallback_address'
            ? { ...field, fallback: { ...field.fallback, address: '' } }
            : field,
        ),
        generated.fields,
      );
      assert.is(encodeBolt11(decoded, { signature: decoded.signature }), text);
    }),
    { numRuns: 150 },
  );
});

test('changing any one character of a valid vector gets it refused', () => {
  const texts = vectors.valid.map((vector) => vector.invoice.toLowerCase());
  fc.assert(
    fc.property(
      fc.constantFrom(...texts),
      fc.nat(),
      fc.constantFrom(...ALPHABET, 'Q'),
      (text, at, replacement) => {
        const index = at % text.length;
        fc.pre(text[index] !== replacement);
        const changed = `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
        assert.is(tryDecodeBolt11(changed).ok, false);
      },
    ),
    { numRuns: 2000 },
  );
});

test.run();
