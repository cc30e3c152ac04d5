// A worker thread of the verification pool (verify-pool.ts): it receives batches of (signature, message,
// x-only key) as hex strings, three per item, and answers with one byte per item, 1 when the BIP-340 signature
// verifies. Nothing else runs here; a malformed item is an item that does not verify.
import { parentPort } from 'node:worker_threads';
import { verifySchnorr } from './schnorr.ts';

interface Batch {
  seq: number;
  items: string[];
}

parentPort?.on('message', ({ seq, items }: Batch) => {
  const verdicts = new Uint8Array(items.length / 3);
  for (let index = 0; index < verdicts.length; index++) {
    const at = index * 3;
    verdicts[index] = verifySchnorr(items[at] ?? '', items[at + 1] ?? '', items[at + 2] ?? '') ? 1 : 0;
  }
  parentPort?.postMessage({ seq, verdicts }, [verdicts.buffer]);
});
