// The `9` field: feature bits, big-endian, bit 0 = the least significant bit of the last word.
// "It's OK to be odd": an unknown odd (optional) bit is ignored, an unknown even (required) bit means we
// cannot pay. Known: the BOLT 9 invoice features every payer handles. Also marked `9` in BOLT 9 but left
// out on purpose: option_route_blinding (24) and option_attribution_data (36); an invoice that requires
// either is refused rather than handed to a payer that may not honour it.
// Dependencies: basic_mpp needs payment_secret, which BOLT 9 now lists as ASSUMED (and the `s` field is
// mandatory), so no dependency can be missing among the known bits.

export const KNOWN_INVOICE_FEATURES: Readonly<Record<number, string>> = {
  8: 'var_onion_optin',
  14: 'payment_secret',
  16: 'basic_mpp',
  48: 'option_payment_metadata',
};

/** Bit numbers that are set, ascending. */
export function wordsToFeatureBits(words: readonly number[]): number[] {
  const bits: number[] = [];
  for (let index = words.length - 1; index >= 0; index -= 1) {
    const word = words[index]!;
    const base = (words.length - 1 - index) * 5;
    for (let bit = 0; bit < 5; bit += 1) if ((word >> bit) & 1) bits.push(base + bit);
  }
  return bits;
}

/** The minimal encoding: as many words as the highest bit needs, none when no bit is set. */
export function featureBitsToWords(bits: readonly number[]): number[] {
  if (bits.length === 0) return [];
  const highest = Math.max(...bits);
  const words = new Array<number>(Math.floor(highest / 5) + 1).fill(0);
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0) throw new RangeError(`invalid feature bit ${bit}`);
    const index = words.length - 1 - Math.floor(bit / 5);
    words[index] = words[index]! | (1 << (bit % 5));
  }
  return words;
}

/** Even bits we do not know: the payee requires something we cannot do. */
export function unknownRequiredFeatures(bits: readonly number[]): number[] {
  return bits.filter((bit) => bit % 2 === 0 && KNOWN_INVOICE_FEATURES[bit] === undefined);
}
