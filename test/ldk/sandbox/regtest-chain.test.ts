// The sandbox's synthetic regtest chain: well-formed blocks, wall-clock header times, and a log that a crash
// mid-append cannot corrupt.
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ldk from 'lightningdevkit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileAtomic } from '../../../src/ldk/sandbox/atomic-file.ts';
import {
  doubleSha256,
  fundingTransaction,
  headerPreviousHash,
  headerTime,
  meetsTarget,
  merkleRoot,
  REGTEST_BITS,
  REGTEST_GENESIS_HASH,
  transactionId,
} from '../../../src/ldk/sandbox/bitcoin-encoding.ts';
import { concatBytes, equalBytes, toHex, uint32LE, uint64LE } from '../../../src/ldk/sandbox/bytes.ts';
import { loadLdk } from '../../../src/ldk/sandbox/load-ldk.ts';
import { RegtestChain } from '../../../src/ldk/sandbox/regtest-chain.ts';

const folders: string[] = [];
function folder(): string {
  const path = mkdtempSync(join(tmpdir(), 'escrow-regtest-chain-'));
  folders.push(path);
  return path;
}
test.after(() => {
  for (const path of folders) rmSync(path, { recursive: true, force: true });
});

test('the genesis hash the chain starts from is the one LDK knows for regtest', async () => {
  await loadLdk();
  const best = ldk.BestBlock.constructor_from_network(ldk.Network.LDKNetwork_Regtest);
  assert.ok(equalBytes(best.get_block_hash(), REGTEST_GENESIS_HASH));
  assert.is(best.get_height(), 0);
});

test('every block links to the one before, commits to its transactions and meets the regtest target', () => {
  const chain = RegtestChain.open(folder());
  chain.broadcast([
    fundingTransaction(Uint8Array.of(0x00, 0x20, ...new Uint8Array(32)), 50_000n, new Uint8Array(32).fill(7)),
  ]);
  const blocks = chain.mine(5);
  assert.equal(
    blocks.map((block) => block.height),
    [1, 2, 3, 4, 5],
  );
  let previous: Uint8Array = REGTEST_GENESIS_HASH;
  for (const block of blocks) {
    assert.ok(equalBytes(headerPreviousHash(block.header), previous), `block ${block.height} links`);
    assert.ok(equalBytes(block.header.subarray(36, 68), merkleRoot(block.transactions.map(transactionId))));
    assert.ok(meetsTarget(doubleSha256(block.header), REGTEST_BITS));
    previous = block.hash;
  }
  assert.is(blocks[0]!.transactions.length, 2, 'the first block takes the mempool');
  assert.is(blocks[1]!.transactions.length, 1, 'later blocks hold only their coinbase');
  assert.is(chain.pendingTransactionCount(), 0);
});

test('header times follow the wall clock and never fall back to or below the median of the last eleven', () => {
  const chain = RegtestChain.open(folder());
  const now = Date.UTC(2026, 0, 1);
  const first = chain.mine(1, now)[0]!;
  assert.is(headerTime(first.header), now / 1000);
  const burst = chain.mine(30, now);
  const times = burst.map((block) => headerTime(block.header));
  for (const [index, time] of times.entries()) {
    const earlier = [first, ...burst.slice(0, index)].slice(-11).map((block) => headerTime(block.header));
    const median = [...earlier].sort((left, right) => left - right)[Math.floor(earlier.length / 2)]!;
    assert.ok(time > median, `block ${index + 2} time ${time} > median ${median}`);
  }
  assert.ok(times.at(-1)! - now / 1000 < 30, 'a burst of blocks stays near the wall clock');
  const later = chain.mine(1, now + 600_000)[0]!;
  assert.is(headerTime(later.header), now / 1000 + 600);
});

test('a transaction broadcast again, queued or already mined, is mined only once', () => {
  const chain = RegtestChain.open(folder());
  const transaction = fundingTransaction(
    Uint8Array.of(0x00, 0x20, ...new Uint8Array(32)),
    1000n,
    new Uint8Array(32).fill(1),
  );
  chain.broadcast([transaction, transaction]);
  assert.is(chain.pendingTransactionCount(), 1);
  chain.mine(1);
  chain.broadcast([transaction]);
  assert.is(chain.pendingTransactionCount(), 0);
  assert.ok(chain.isConfirmed(transaction));
});

test('the txid of a segwit transaction does not depend on its witness', () => {
  const script = Uint8Array.of(0x00, 0x20, ...new Uint8Array(32).fill(9));
  const input = new Uint8Array(32).fill(3);
  const withWitness = fundingTransaction(script, 21_000n, input);
  const legacy = concatBytes(
    uint32LE(2),
    Uint8Array.of(1),
    input,
    uint32LE(0),
    Uint8Array.of(0),
    uint32LE(0xfffffffd),
    Uint8Array.of(1),
    uint64LE(21_000n),
    Uint8Array.of(script.length),
    script,
    uint32LE(0),
  );
  assert.is(toHex(transactionId(withWitness)), toHex(doubleSha256(legacy)));
});

test('a chain reopened from its folder has the same blocks, mempool included', () => {
  const path = folder();
  const chain = RegtestChain.open(path);
  chain.mine(3);
  chain.broadcast([fundingTransaction(Uint8Array.of(0x51), 1000n, new Uint8Array(32).fill(2))]);
  const reopened = RegtestChain.open(path);
  assert.is(reopened.height, 3);
  assert.ok(equalBytes(reopened.tipHash(), chain.tipHash()));
  assert.is(reopened.pendingTransactionCount(), 1);
});

test('a torn last record in the chain log is dropped on reopen, and the blocks before it survive', () => {
  const path = folder();
  const chain = RegtestChain.open(path);
  chain.mine(4);
  const intact = statSync(join(path, 'chain.log')).size;
  // A crash mid-append: a length prefix promising more bytes than were written.
  appendFileSync(join(path, 'chain.log'), concatBytes(uint32LE(5000), new Uint8Array(40)));

  const reopened = RegtestChain.open(path);

  assert.is(reopened.height, 4);
  assert.ok(equalBytes(reopened.tipHash(), chain.tipHash()));
  assert.is(statSync(join(path, 'chain.log')).size, intact);
  assert.is(reopened.mine(1)[0]!.height, 5);
  assert.is(RegtestChain.open(path).height, 5);
});

test('an atomic write leaves the new content and no temporary file behind', () => {
  const path = folder();
  writeFileAtomic(join(path, 'state.bin'), Uint8Array.of(1, 2, 3));
  writeFileAtomic(join(path, 'state.bin'), 'second');
  assert.equal(readdirSync(path), ['state.bin']);
  assert.is(statSync(join(path, 'state.bin')).size, 'second'.length);
});

test.run();
