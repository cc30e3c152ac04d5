// The embedded relay's own thread (started by relay-thread.ts): the WebSocket server, the signature checks, the
// SQLite event store and the live subscriptions run here, off the agent's event loop. The agent's side hears of
// the relay by messages: ready (its address) or failed (the error, its code kept), each change of the open
// connection count, every log line (details made JSON-safe) and, after a stop, stopped.
import { parentPort, workerData } from 'node:worker_threads';
import type { RelayLogger } from './relay-logger.ts';
import type {
  RelayLogLevel,
  RelayThreadCommand,
  RelayThreadOptions,
  RelayThreadReply,
  SerializedRelayError,
} from './relay-thread.ts';
import { type EmbeddedRelay, startEmbeddedRelay } from './start-embedded-relay.ts';

if (!parentPort) throw new Error('relay-thread-worker runs as a worker thread');
const port = parentPort;
const options = workerData as RelayThreadOptions;
const send = (message: RelayThreadReply) => port.postMessage(message);

/** Plain data only: bigints as strings, errors as their name and message. */
function jsonSafe(details: object): Record<string, unknown> {
  try {
    return JSON.parse(
      JSON.stringify(details ?? {}, (_key, value: unknown) => {
        if (typeof value === 'bigint') return `${value}`;
        if (value instanceof Error) return { message: value.message, name: value.name };
        return value;
      }),
    ) as Record<string, unknown>;
  } catch {
    return { details: 'not serializable' };
  }
}

const forward =
  (level: RelayLogLevel) =>
  (details: object, message: string): void =>
    send({ type: 'log', level, details: jsonSafe(details), message });

const logger: RelayLogger = {
  debug: forward('debug'),
  info: forward('info'),
  warn: forward('warn'),
  error: forward('error'),
};

function describeError(error: unknown): SerializedRelayError {
  const failure = error instanceof Error ? error : new Error(String(error));
  const code = (failure as NodeJS.ErrnoException).code;
  return { name: failure.name, message: failure.message, ...(typeof code === 'string' ? { code } : {}) };
}

async function run(): Promise<void> {
  let relay: EmbeddedRelay;
  try {
    relay = await startEmbeddedRelay({
      ...options,
      logger,
      onConnectionsChanged: (count) => send({ type: 'connections', count }),
    });
  } catch (error) {
    send({ type: 'failed', error: describeError(error) });
    port.close();
    return;
  }
  port.on('message', (message: RelayThreadCommand) => {
    if (message.type !== 'stop') return;
    void relay
      .stop()
      .catch((error: unknown) => logger.error({ err: error }, 'the embedded relay did not stop cleanly'))
      .finally(() => {
        send({ type: 'stopped' });
        port.close();
      });
  });
  send({ type: 'ready', url: relay.url, host: relay.host, port: relay.port });
}

await run();
