// Just enough Bitcoin encoding for a synthetic regtest chain: block headers, transaction ids, merkle roots,
// a coinbase, and the funding transactions LDK asks for. LDK checks neither proof of work nor input scripts,
// but we keep the blocks well-formed anyway (linked, merkle-committed, regtest difficulty met) so that
// a block from this chain reads like a real one in any tool.
import { sha256 } from '@noble/hashes/sha2.js';
import { compactSize, concatBytes, readCompactSize, uint32LE, uint64LE } from './bytes.ts';

export const HEADER_LENGTH = 80;
/** Regtest's compact difficulty target (the easiest there is). */
export const REGTEST_BITS = 0x207fffff;
/** Regtest genesis block hash in internal byte order (displayed reversed: 0f9188f1...466e2206). */
export const REGTEST_GENESIS_HASH = Uint8Array.from(
  Buffer.from('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206', 'hex').reverse(),
);

export function doubleSha256(bytes: Uint8Array): Uint8Array {
  return sha256(sha256(bytes));
}

/** Block and transaction hashes are shown byte-reversed. */
export function displayHash(internal: Uint8Array): string {
  return Buffer.from(internal).reverse().toString('hex');
}

/** The txid hashes the transaction without its witness (BIP 144). */
export function transactionId(transaction: Uint8Array): Uint8Array {
  const hasWitness = transaction[4] === 0 && transaction[5] === 1;
  return doubleSha256(hasWitness ? stripWitness(transaction) : transaction);
}

function stripWitness(transaction: Uint8Array): Uint8Array {
  let offset = 6;
  const bodyStart = offset;
  const [inputCount, inputCountLength] = readCompactSize(transaction, offset);
  offset += inputCountLength;
  for (let index = 0; index < inputCount; index++) {
    offset += 36;
    const [scriptLength, lengthBytes] = readCompactSize(transaction, offset);
    offset += lengthBytes + scriptLength + 4;
  }
  const [outputCount, outputCountLength] = readCompactSize(transaction, offset);
  offset += outputCountLength;
  for (let index = 0; index < outputCount; index++) {
    offset += 8;
    const [scriptLength, lengthBytes] = readCompactSize(transaction, offset);
    offset += lengthBytes + scriptLength;
  }
  return concatBytes(
    transaction.subarray(0, 4),
    transaction.subarray(bodyStart, offset),
    transaction.subarray(transaction.length - 4),
  );
}

export function merkleRoot(transactionIds: Uint8Array[]): Uint8Array {
  if (transactionIds.length === 0) throw new Error('a block has at least its coinbase');
  let level = transactionIds;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let index = 0; index < level.length; index += 2) {
      const left = level[index]!;
      next.push(doubleSha256(concatBytes(left, level[index + 1] ?? left)));
    }
    level = next;
  }
  return level[0]!;
}

/** A coinbase paying nothing to OP_TRUE; the height in its script (BIP 34) makes every coinbase unique. */
export function coinbaseTransaction(height: number): Uint8Array {
  const heightPush = concatBytes(Uint8Array.of(4), uint32LE(height));
  return concatBytes(
    uint32LE(1),
    compactSize(1),
    new Uint8Array(32),
    uint32LE(0xffffffff),
    compactSize(heightPush.length),
    heightPush,
    uint32LE(0xffffffff),
    compactSize(1),
    uint64LE(0n),
    Uint8Array.of(1, 0x51),
    uint32LE(0),
  );
}

/**
 * A funding transaction for LDK: one segwit input spending an outpoint that exists nowhere (LDK requires every
 * input to carry a witness but does not look at what it spends), one output paying the channel's script.
 */
export function fundingTransaction(
  outputScript: Uint8Array,
  valueSat: bigint,
  uniqueInput: Uint8Array,
): Uint8Array {
  if (uniqueInput.length !== 32) throw new Error('the dummy input is a 32-byte txid');
  return concatBytes(
    uint32LE(2),
    Uint8Array.of(0, 1),
    compactSize(1),
    uniqueInput,
    uint32LE(0),
    compactSize(0),
    uint32LE(0xfffffffd),
    compactSize(1),
    uint64LE(valueSat),
    compactSize(outputScript.length),
    outputScript,
    compactSize(1),
    compactSize(1),
    Uint8Array.of(0x01),
    uint32LE(0),
  );
}

export interface HeaderFields {
  previousHash: Uint8Array;
  merkleRoot: Uint8Array;
  time: number;
}

/** Builds a header and finds a nonce that meets the regtest target (about two tries on average). */
export function mineHeader(fields: HeaderFields): Uint8Array {
  for (let nonce = 0; nonce <= 0xffffffff; nonce++) {
    const header = concatBytes(
      uint32LE(0x20000000),
      fields.previousHash,
      fields.merkleRoot,
      uint32LE(fields.time),
      uint32LE(REGTEST_BITS),
      uint32LE(nonce),
    );
    if (meetsTarget(doubleSha256(header), REGTEST_BITS)) return header;
  }
  throw new Error('no nonce meets the target');
}

export function meetsTarget(blockHash: Uint8Array, bits: number): boolean {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  const target = mantissa << BigInt(8 * (exponent - 3));
  const value = BigInt(`0x${displayHash(blockHash)}`);
  return value <= target;
}

export function headerPreviousHash(header: Uint8Array): Uint8Array {
  return header.subarray(4, 36);
}

export function headerTime(header: Uint8Array): number {
  return new DataView(header.buffer, header.byteOffset).getUint32(68, true);
}
