// A synthetic regtest chain that the sandbox mines itself (no bitcoind). Blocks are linked by previous hash,
// commit to their transactions by merkle root, and carry header times that follow the wall clock: LDK takes
// its notion of "now" (invoice timestamps, invoice expiry) from block header times.
//
// Durability: a block is appended to chain.log and fsynced BEFORE any node hears of it, so after a crash the
// chain is never behind a node (a node ahead of the chain would see a different block at the same height).
// Each record is [length u32][sha256 of payload][payload]; a torn last record is cut off on open.
// The mempool (transactions LDK broadcast) is kept in mempool.bin with atomic writes.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { readFileIfExists, writeFileAtomic } from './atomic-file.ts';
import {
  coinbaseTransaction,
  doubleSha256,
  HEADER_LENGTH,
  headerPreviousHash,
  headerTime,
  merkleRoot,
  mineHeader,
  REGTEST_GENESIS_HASH,
  transactionId,
} from './bitcoin-encoding.ts';
import { concatBytes, equalBytes, readUint32LE, toHex, uint32LE } from './bytes.ts';

export interface ChainBlock {
  height: number;
  header: Uint8Array;
  /** Internal byte order. */
  hash: Uint8Array;
  transactions: Uint8Array[];
}

export class RegtestChain {
  private readonly blocks: ChainBlock[] = [];
  private mempool: Uint8Array[] = [];
  private readonly confirmedIds = new Set<string>();
  private readonly logPath: string;
  private readonly mempoolPath: string;

  private constructor(directory: string) {
    this.logPath = join(directory, 'chain.log');
    this.mempoolPath = join(directory, 'mempool.bin');
  }

  static open(directory: string): RegtestChain {
    mkdirSync(directory, { recursive: true });
    const chain = new RegtestChain(directory);
    chain.load();
    return chain;
  }

  get height(): number {
    return this.blocks.length;
  }

  tipHash(): Uint8Array {
    return this.blocks.at(-1)?.hash ?? REGTEST_GENESIS_HASH;
  }

  tipTime(): number {
    const last = this.blocks.at(-1);
    return last ? headerTime(last.header) : 0;
  }

  /** Heights start at 1 (0 is the regtest genesis block, which nobody needs the body of). */
  blockAt(height: number): ChainBlock {
    const block = this.blocks[height - 1];
    if (!block) throw new Error(`no block at height ${height} (tip ${this.height})`);
    return block;
  }

  /** Hash of the block at a height, genesis included, or null above the tip. */
  hashAt(height: number): Uint8Array | null {
    if (height === 0) return REGTEST_GENESIS_HASH;
    return this.blocks[height - 1]?.hash ?? null;
  }

  /** Queues transactions for the next block; ones already queued or confirmed are ignored (LDK rebroadcasts). */
  broadcast(transactions: readonly Uint8Array[]): void {
    const queued = new Set(this.mempool.map((transaction) => toHex(transactionId(transaction))));
    let changed = false;
    for (const transaction of transactions) {
      const id = toHex(transactionId(transaction));
      if (queued.has(id) || this.confirmedIds.has(id)) continue;
      queued.add(id);
      this.mempool.push(transaction);
      changed = true;
    }
    if (changed) this.saveMempool();
  }

  /** Whether a transaction (its id in hex, as toHex(transactionId(...))) is in the mempool or confirmed. */
  knows(transactionIdHex: string): boolean {
    return (
      this.confirmedIds.has(transactionIdHex) ||
      this.mempool.some((transaction) => toHex(transactionId(transaction)) === transactionIdHex)
    );
  }

  pendingTransactionCount(): number {
    return this.mempool.length;
  }

  isConfirmed(transaction: Uint8Array): boolean {
    return this.confirmedIds.has(toHex(transactionId(transaction)));
  }

  /** Mines `count` blocks, the first one taking the whole mempool. Each block is durable before it returns. */
  mine(count: number, nowMs: number = Date.now()): ChainBlock[] {
    const mined: ChainBlock[] = [];
    for (let index = 0; index < count; index++) {
      const height = this.height + 1;
      const transactions = [coinbaseTransaction(height), ...this.mempool];
      const header = mineHeader({
        previousHash: this.tipHash(),
        merkleRoot: merkleRoot(transactions.map(transactionId)),
        time: Math.max(Math.floor(nowMs / 1000), this.medianTimePast() + 1),
      });
      const block: ChainBlock = { height, header, hash: doubleSha256(header), transactions };
      this.append(block);
      this.accept(block);
      if (this.mempool.length > 0) {
        this.mempool = [];
        this.saveMempool();
      }
      mined.push(block);
    }
    return mined;
  }

  /** Consensus rule: a header's time must exceed the median of the previous 11; keeps times monotone enough. */
  private medianTimePast(): number {
    const times = this.blocks
      .slice(-11)
      .map((block) => headerTime(block.header))
      .sort((left, right) => left - right);
    return times.length === 0 ? 0 : times[Math.floor(times.length / 2)]!;
  }

  private accept(block: ChainBlock): void {
    if (!equalBytes(headerPreviousHash(block.header), this.tipHash())) {
      throw new Error(`block ${block.height} does not link to the tip`);
    }
    this.blocks.push(block);
    for (const transaction of block.transactions) this.confirmedIds.add(toHex(transactionId(transaction)));
  }

  private append(block: ChainBlock): void {
    const parts = [uint32LE(block.height), block.header, uint32LE(block.transactions.length)];
    for (const transaction of block.transactions) parts.push(uint32LE(transaction.length), transaction);
    const payload = concatBytes(...parts);
    const record = concatBytes(uint32LE(payload.length), sha256(payload), payload);
    const file = openSync(this.logPath, 'a');
    try {
      writeSync(file, record);
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
  }

  private load(): void {
    const log = readFileIfExists(this.logPath);
    if (log) {
      let offset = 0;
      while (offset + 36 <= log.length) {
        const length = readUint32LE(log, offset);
        const end = offset + 36 + length;
        if (end > log.length) break;
        const payload = log.subarray(offset + 36, end);
        if (!equalBytes(sha256(payload), log.subarray(offset + 4, offset + 36))) break;
        this.accept(decodeBlock(payload));
        offset = end;
      }
      // A crash mid-append leaves a torn record: no node can have seen that block, so it is dropped.
      if (offset < statSync(this.logPath).size) truncateSync(this.logPath, offset);
    }
    const mempool = readFileIfExists(this.mempoolPath);
    if (mempool) this.mempool = decodeTransactionList(mempool, 0)[0];
  }

  private saveMempool(): void {
    const parts = [uint32LE(this.mempool.length)];
    for (const transaction of this.mempool) parts.push(uint32LE(transaction.length), transaction);
    writeFileAtomic(this.mempoolPath, concatBytes(...parts));
  }

  /** For tests and tools: the raw log file, to check what a crash would leave. */
  readLog(): Uint8Array {
    return new Uint8Array(readFileSync(this.logPath));
  }
}

function decodeBlock(payload: Uint8Array): ChainBlock {
  const height = readUint32LE(payload, 0);
  const header = payload.slice(4, 4 + HEADER_LENGTH);
  const [transactions] = decodeTransactionList(payload, 4 + HEADER_LENGTH);
  return { height, header, hash: doubleSha256(header), transactions };
}

function decodeTransactionList(bytes: Uint8Array, start: number): [Uint8Array[], number] {
  const count = readUint32LE(bytes, start);
  let offset = start + 4;
  const transactions: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const length = readUint32LE(bytes, offset);
    transactions.push(bytes.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return [transactions, offset];
}
