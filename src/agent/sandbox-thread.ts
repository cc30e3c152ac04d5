// The embedded LDK sandbox on a worker thread of its own (sandbox-thread-worker.ts runs it), seen from the agent's
// thread as a HoldInvoiceBackend: each call is a message, each answer resolves it, node events arrive as messages.
// The sandbox is three LDK nodes in WebAssembly plus a chain: their work (a payment's routing and commitment
// signing, every channel update's persistence) used to run on the agent's event loop and delay its relays, its
// intake and its timers by tens of milliseconds at a time (bench: approval -> `settled` on the relay).
//
// A thread that dies fails every waiting call (LightningError NodeUnavailable) and every later one: the agent's node
// probe reports the node down (escrow_lightning_node_up 0) and the reconciler retries once it is back, which for
// the embedded sandbox means a restart of the agent.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { LightningError } from '../ldk/lightning-error.ts';
import type { PersonWalletName } from '../ldk/nwc-service/people-wallets.ts';
import type { HoldInvoiceBackend, LightningEvent, LightningListener } from '../ldk/port.ts';

export interface SandboxThreadStart {
  folder: string;
  blockIntervalMs: number;
  walletRelays: readonly string[];
}

export type SandboxThreadCall =
  | { type: 'call'; id: number; method: string; args: unknown[] }
  | { type: 'stop' };

interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

export type SandboxThreadReply =
  | { type: 'ready'; describe: string; wallets: Record<PersonWalletName, string> | null }
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'event'; event: LightningEvent }
  | { type: 'log'; level: 'warn' | 'error'; fields: Record<string, unknown>; message: string }
  | { type: 'stopped' };

const EXTENSION = extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./sandbox-thread-worker${EXTENSION}`, import.meta.url);

/**
 * The thread's young generation is kept small (4 MB; V8's default is larger): LDK's state lives in WebAssembly
 * memory, and the thread's JavaScript garbage is short-lived messages, so a larger nursery only holds RSS (about
 * 20 MB in bench memory).
 */
const LIMITS = { maxYoungGenerationSizeMb: 4 };

/** A worker does not inherit tsx's loader: where the sources run as TypeScript, it registers tsx first. */
function startWorker(start: SandboxThreadStart): Worker {
  if (EXTENSION !== '.ts') return new Worker(WORKER_URL, { workerData: start, resourceLimits: LIMITS });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, workerData: start, resourceLimits: LIMITS });
}

/** The error as the node's side threw it: a LightningError keeps its code, so callers tell the cases apart. */
function rebuild(error: SerializedError): Error {
  if (error.name === 'LightningError' && error.code) {
    const lightning = new LightningError(error.code as LightningError['code'], '');
    lightning.message = error.message;
    return lightning;
  }
  const other = new Error(error.message);
  other.name = error.name;
  return other;
}

export interface SandboxThread {
  backend: HoldInvoiceBackend;
  describe: string;
  wallets: Record<PersonWalletName, string> | null;
  close(): Promise<void>;
}

export async function startSandboxThread(start: SandboxThreadStart, log: Logger): Promise<SandboxThread> {
  const worker = startWorker(start);
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Set<LightningListener>();
  let nextId = 0;
  let gone: Error | null = null;
  let stopped: (() => void) | null = null;
  let ready: (reply: Extract<SandboxThreadReply, { type: 'ready' }>) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const started = new Promise<Extract<SandboxThreadReply, { type: 'ready' }>>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });

  worker.on('message', (reply: SandboxThreadReply) => {
    switch (reply.type) {
      case 'ready':
        return ready(reply);
      case 'failed':
        return failed(rebuild(reply.error));
      case 'result':
      case 'error': {
        const call = waiting.get(reply.id);
        waiting.delete(reply.id);
        if (reply.type === 'result') call?.resolve(reply.value);
        else call?.reject(rebuild(reply.error));
        return;
      }
      case 'event':
        for (const listener of listeners) listener(reply.event);
        return;
      case 'log':
        log[reply.level]({ component: 'sandbox', ...reply.fields }, reply.message);
        return;
      case 'stopped':
        stopped?.();
        return;
    }
  });
  const die = (error: Error) => {
    if (gone) return;
    gone = new LightningError('NodeUnavailable', `the sandbox thread ended: ${error.message}`);
    for (const call of waiting.values()) call.reject(gone);
    waiting.clear();
    failed(error);
    const closing = stopped;
    stopped?.();
    if (!closing) log.error({ err: error.message }, 'the LDK sandbox thread ended');
  };
  worker.on('error', die);
  worker.on('exit', (code) => die(new Error(`exit code ${code}`)));

  const call = (method: string, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'call', id, method, args } satisfies SandboxThreadCall);
    });

  const backend: HoldInvoiceBackend = {
    createHoldInvoice: (request) => call('createHoldInvoice', [request]) as never,
    settle: (preimage, expectedPaymentHash) => call('settle', [preimage, expectedPaymentHash]) as never,
    cancel: (paymentHash) => call('cancel', [paymentHash]) as never,
    lookup: (paymentHash) => call('lookup', [paymentHash]) as never,
    list: (state) => call('list', [state]) as never,
    pay: (request) => call('pay', [request]) as never,
    paymentStatus: (paymentHash) => call('paymentStatus', [paymentHash]) as never,
    getInfo: () => call('getInfo', []) as never,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  let opened: Extract<SandboxThreadReply, { type: 'ready' }>;
  try {
    opened = await started;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    backend,
    describe: opened.describe,
    wallets: opened.wallets,
    async close() {
      if (gone) return;
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
      });
      worker.postMessage({ type: 'stop' } satisfies SandboxThreadCall);
      await done;
      await worker.terminate();
    },
  };
}
