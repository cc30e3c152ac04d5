// The embedded relay on a worker thread of its own (relay-thread-worker.ts runs it), seen from the agent's thread as
// the same EmbeddedRelay that startEmbeddedRelay returns. The relay's work (parsing every frame, checking every
// event's signature, storing each one in SQLite with an fsync, matching the live subscriptions) used to run on the
// agent's event loop: during a burst of listings it dominated the agent's approval latency (bench agent).
//
// The thread's log lines arrive as messages and go to the caller's logger; the open connection count is kept here,
// updated by a message on every open and close, so connectionCount() stays synchronous. A thread that dies is
// logged as an error; stop() then resolves at once (there is nothing left to stop).
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type RelayLogger, silentLogger } from './relay-logger.ts';
import type { EmbeddedRelay, EmbeddedRelayOptions } from './start-embedded-relay.ts';

/** What of EmbeddedRelayOptions can cross to the thread: no clock and no logger (functions do not). */
export type RelayThreadOptions = Pick<
  EmbeddedRelayOptions,
  'host' | 'port' | 'dbPath' | 'maxSubscriptionsPerClient' | 'maxMessageBytes' | 'defaultLimit' | 'maxLimit'
>;

export type RelayThreadCommand = { type: 'stop' };

export interface SerializedRelayError {
  name: string;
  message: string;
  code?: string;
}

export type RelayLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type RelayThreadReply =
  | { type: 'ready'; url: string; host: string; port: number }
  | { type: 'failed'; error: SerializedRelayError }
  | { type: 'connections'; count: number }
  | { type: 'log'; level: RelayLogLevel; details: Record<string, unknown>; message: string }
  | { type: 'stopped' };

const EXTENSION = extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./relay-thread-worker${EXTENSION}`, import.meta.url);

/**
 * The thread's young generation is kept small (8 MB; V8 grows it to 48 MB under load, 32 MB of it two semi-spaces
 * held for good): the relay's garbage is per message (frames, parsed events, rows), dead before the next scavenge.
 * With V8's default the thread's heap held 52.5 MB with 12 MB live after 400 lifecycles (bench memory, --trace-gc).
 */
const LIMITS = { maxYoungGenerationSizeMb: 8 };

/** A worker does not inherit tsx's loader: where the sources run as TypeScript, it registers tsx first. */
function startWorker(options: RelayThreadOptions): Worker {
  if (EXTENSION !== '.ts') return new Worker(WORKER_URL, { workerData: options, resourceLimits: LIMITS });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, workerData: options, resourceLimits: LIMITS });
}

/** The error as the thread saw it, its code kept (EADDRINUSE: the CLI says which port is taken). */
function rebuild(error: SerializedRelayError): Error {
  const rebuilt = new Error(error.message) as NodeJS.ErrnoException;
  rebuilt.name = error.name;
  if (error.code !== undefined) rebuilt.code = error.code;
  return rebuilt;
}

export async function startRelayThread(
  options: RelayThreadOptions,
  logger: RelayLogger = silentLogger,
): Promise<EmbeddedRelay> {
  // Only the fields that belong here: a caller's object may carry more (a clock, a logger) that cannot be cloned.
  const start: RelayThreadOptions = {
    host: options.host,
    port: options.port,
    dbPath: options.dbPath,
    maxSubscriptionsPerClient: options.maxSubscriptionsPerClient,
    maxMessageBytes: options.maxMessageBytes,
    defaultLimit: options.defaultLimit,
    maxLimit: options.maxLimit,
  };
  const worker = startWorker(start);
  let connections = 0;
  let gone = false;
  let stopping = false;
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  let ready: (reply: Extract<RelayThreadReply, { type: 'ready' }>) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const started = new Promise<Extract<RelayThreadReply, { type: 'ready' }>>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  let isStarted = false;

  worker.on('message', (reply: RelayThreadReply) => {
    switch (reply.type) {
      case 'ready':
        isStarted = true;
        return ready(reply);
      case 'failed':
        return failed(rebuild(reply.error));
      case 'connections':
        connections = reply.count;
        return;
      case 'log':
        logger[reply.level](reply.details, reply.message);
        return;
      case 'stopped':
        connections = 0;
        stopped();
        return;
    }
  });
  const die = (error: Error) => {
    if (gone) return;
    gone = true;
    connections = 0;
    failed(error);
    stopped();
    // Only the error's own words: the thread holds no secrets, and no event's contents are ever logged.
    if (isStarted && !stopping) {
      logger.error({ err: { name: error.name, message: error.message } }, 'the embedded relay thread ended');
    }
  };
  worker.on('error', die);
  worker.on('exit', (code) => die(new Error(`the embedded relay thread exited (code ${code})`)));

  let opened: Extract<RelayThreadReply, { type: 'ready' }>;
  try {
    opened = await started;
  } catch (error) {
    gone = true;
    await worker.terminate();
    throw error;
  }

  let stopCall: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopCall ??= (async () => {
      stopping = true;
      if (!gone) worker.postMessage({ type: 'stop' } satisfies RelayThreadCommand);
      await done;
      await worker.terminate();
    })();
    return stopCall;
  };

  return {
    url: opened.url,
    host: opened.host,
    port: opened.port,
    dbPath: options.dbPath,
    connectionCount: () => connections,
    stop,
  };
}
