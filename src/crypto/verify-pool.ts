// BIP-340 verification on worker threads, for when one core is not enough: requests made in one turn of the event
// loop go to a worker as one batch (worker round-robin), so the cost of a message is shared by many signatures.
// The workers are unref'd (they never keep the process alive) and answer only true or false; a worker that dies
// fails its waiting requests (the caller then verifies on its own thread) and is replaced on the next batch.
import { cpus } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

interface Pending {
  resolve: (verdicts: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  waiting: Map<number, Pending>;
}

export interface VerifyPool {
  /** True when `sig` is a valid BIP-340 signature of the 32-byte message `id` by x-only key `pubkey` (all hex). */
  verify(sig: string, id: string, pubkey: string): Promise<boolean>;
  readonly size: number;
  close(): Promise<void>;
}

/** The worker's file next to this one, as .ts under tsx (tests, the bench) and .js once compiled. */
const EXTENSION = extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./verify-worker${EXTENSION}`, import.meta.url);

/**
 * A worker's young generation is kept small (4 MB): its garbage is one batch's messages, dead at once, and V8's
 * default (up to 48 MB a thread under load) would hold tens of MB a worker after a flood of signatures.
 */
const LIMITS = { maxYoungGenerationSizeMb: 4 };

/** A worker does not inherit tsx's loader: where the sources run as TypeScript, it registers tsx first. */
function startWorker(): Worker {
  if (EXTENSION !== '.ts') return new Worker(WORKER_URL, { resourceLimits: LIMITS });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, resourceLimits: LIMITS });
}

export function createVerifyPool(size = Math.max(1, Math.min(4, cpus().length))): VerifyPool {
  const slots: Array<Slot | null> = Array.from({ length: size }, () => null);
  let next = 0;
  let seq = 0;
  let closed = false;
  let batch: {
    items: string[];
    waiters: Array<{ resolve: (ok: boolean) => void; reject: (e: Error) => void }>;
  } | null = null;

  function slot(index: number): Slot {
    const existing = slots[index];
    if (existing) return existing;
    const worker = startWorker();
    worker.unref();
    const created: Slot = { worker, waiting: new Map() };
    worker.on('message', ({ seq: done, verdicts }: { seq: number; verdicts: Uint8Array }) => {
      const pending = created.waiting.get(done);
      created.waiting.delete(done);
      pending?.resolve(verdicts);
    });
    const fail = (error: Error) => {
      if (slots[index] === created) slots[index] = null;
      for (const pending of created.waiting.values()) pending.reject(error);
      created.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a verification worker exited (code ${code})`)));
    slots[index] = created;
    return created;
  }

  function send() {
    const current = batch;
    batch = null;
    if (current === null || current.waiters.length === 0) return;
    const index = next;
    next = (next + 1) % size;
    const target = slot(index);
    const id = seq++;
    target.worker.ref();
    new Promise<Uint8Array>((resolve, reject) => {
      target.waiting.set(id, { resolve, reject });
      target.worker.postMessage({ seq: id, items: current.items });
    })
      .then((verdicts) => {
        for (const [at, waiter] of current.waiters.entries()) waiter.resolve(verdicts[at] === 1);
      })
      .catch((error: Error) => {
        for (const waiter of current.waiters) waiter.reject(error);
      })
      .finally(() => {
        // Idle workers never keep the process alive; a closing pool keeps them referenced until they exit.
        if (!closed && target.waiting.size === 0) target.worker.unref();
      });
  }

  return {
    size,
    verify(sig, id, pubkey) {
      if (closed) return Promise.reject(new Error('the verification pool is closed'));
      return new Promise<boolean>((resolve, reject) => {
        if (batch === null) {
          batch = { items: [], waiters: [] };
          queueMicrotask(send);
        }
        batch.items.push(sig, id, pubkey);
        batch.waiters.push({ resolve, reject });
      });
    },
    async close() {
      closed = true;
      // Referenced again while it stops: an unreferenced worker's exit would not keep the caller's await alive.
      await Promise.all(
        slots.map((one) => {
          one?.worker.ref();
          return one?.worker.terminate();
        }),
      );
    },
  };
}
