// 5-bit words (bech32's alphabet) to bytes and integers, and back. Readers are strict: a field's padding
// must be shorter than one word and all zero (BOLT11: "MUST pad field data to a multiple of 5 bits, using
// 0s"), so that every accepted field has exactly one encoding and re-encodes to the same characters.
import { Bolt11Error } from './errors.ts';

/** Packs 5-bit words into `size` bytes, most significant bit first; returns the bits left over. */
function packWords(words: readonly number[], size: number) {
  const bytes = new Uint8Array(size);
  let accumulator = 0;
  let bits = 0;
  let index = 0;
  for (const word of words) {
    accumulator = ((accumulator << 5) | word) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[index++] = (accumulator >> bits) & 0xff;
    }
  }
  return { bytes, accumulator, bits, index };
}

/** Field data to bytes; throws NonZeroPadding when the trailing bits are not a clean zero pad. */
export function wordsToBytes(words: readonly number[], field: string): Uint8Array {
  const { bytes, accumulator, bits } = packWords(words, Math.floor((words.length * 5) / 8));
  if (bits >= 5 || (accumulator & ((1 << bits) - 1)) !== 0) {
    throw new Bolt11Error(
      'NonZeroPadding',
      `the ${field} field does not end in fewer than 5 zero padding bits`,
    );
  }
  return bytes;
}

/** The bytes a signature covers: the words packed into bytes, zero bits appended to the last byte. */
export function wordsToPaddedBytes(words: readonly number[]): Uint8Array {
  const { bytes, accumulator, bits, index } = packWords(words, Math.ceil((words.length * 5) / 8));
  if (bits > 0) bytes[index] = (accumulator << (8 - bits)) & 0xff;
  return bytes;
}

/** Bytes to words, the last word padded with zero bits. */
export function bytesToWords(bytes: Uint8Array): number[] {
  const words: number[] = [];
  let accumulator = 0;
  let bits = 0;
  for (const byte of bytes) {
    accumulator = ((accumulator << 8) | byte) & 0x1fff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push((accumulator >> bits) & 31);
    }
  }
  if (bits > 0) words.push((accumulator << (5 - bits)) & 31);
  return words;
}

/** At most 10 words (50 bits), so every value is a safe integer. */
export const MAX_INTEGER_WORDS = 10;

/** Big-endian unsigned integer; the caller has checked the length. */
export function wordsToInteger(words: readonly number[]): number {
  let value = 0;
  for (const word of words) value = value * 32 + word;
  return value;
}

/** The minimal big-endian encoding (no leading zero word; zero is no words at all). */
export function integerToWords(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a field`);
  const words: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 32)) words.unshift(rest % 32);
  return words;
}

/** Exactly `count` words, big-endian, for the 35-bit timestamp. */
export function integerToFixedWords(value: number, count: number): number[] {
  const words = integerToWords(value);
  if (words.length > count) throw new RangeError(`${value} does not fit in ${count * 5} bits`);
  return [...new Array<number>(count - words.length).fill(0), ...words];
}
