// The LDK sandbox's own thread (started by sandbox-thread.ts): the three nodes, their regtest chain, the control
// socket of `escrow-agent ln` and the board's NIP-47 wallets run here, so that LDK's WebAssembly (route finding,
// commitment signing, every node's persistence) never holds the agent's event loop. The agent's node is reached by
// messages: a call names a HoldInvoiceBackend method and its arguments (structured clone keeps bigints), the answer
// is its value or its error; every node event is forwarded. Warnings from the sandbox and its wallets are sent to
// the agent's logger (which redacts), never printed here.
import { parentPort, workerData } from 'node:worker_threads';
import type { HoldInvoiceBackend, LightningEvent } from '../ldk/port.ts';
import type { SandboxThreadCall, SandboxThreadReply, SandboxThreadStart } from './sandbox-thread.ts';

const port = parentPort;
if (!port) throw new Error('sandbox-thread-worker runs as a worker thread');
const options = workerData as SandboxThreadStart;
const send = (message: SandboxThreadReply) => port.postMessage(message);
const forwardLog = (level: 'warn' | 'error', fields: Record<string, unknown>, message: string) =>
  send({
    type: 'log',
    level,
    fields: JSON.parse(
      JSON.stringify(fields ?? {}, (_key, value) => (typeof value === 'bigint' ? `${value}` : value)),
    ),
    message,
  });

/** Only the port's methods may be called from the agent's side. */
const CALLABLE: ReadonlySet<string> = new Set([
  'createHoldInvoice',
  'settle',
  'cancel',
  'lookup',
  'list',
  'pay',
  'paymentStatus',
  'getInfo',
]);

function describeError(error: unknown) {
  const failure = error instanceof Error ? error : new Error(String(error));
  return {
    name: failure.name,
    message: failure.message,
    code: (failure as { code?: unknown }).code as string | undefined,
  };
}

try {
  const [{ Sandbox }, { startControlServer }, { startBoardWallets }] = await Promise.all([
    import('../ldk/sandbox/sandbox.ts'),
    import('../ldk/sandbox-control/control-server.ts'),
    import('./sandbox-wallets.ts'),
  ]);
  const sandbox = await Sandbox.start({
    directory: options.folder,
    blockIntervalMs: options.blockIntervalMs,
    log: (entry) => {
      if (entry.level === 'error') forwardLog('error', { node: entry.node }, `LDK: ${entry.message}`);
    },
  });
  const control = await startControlServer(sandbox, options.folder);
  const wallets =
    options.walletRelays.length > 0
      ? await startBoardWallets(sandbox, options.folder, options.walletRelays, {
          warn: (fields, message) => forwardLog('warn', { component: 'sandbox-wallets', ...fields }, message),
          error: (fields, message) =>
            forwardLog('error', { component: 'sandbox-wallets', ...fields }, message),
        }).catch((error: Error) => {
          forwardLog('warn', { err: error.message }, 'the sandbox wallets for the task board did not start');
          return null;
        })
      : null;

  const node: HoldInvoiceBackend = sandbox.agent;
  const unsubscribe = node.subscribe((event: LightningEvent) => send({ type: 'event', event }));

  port.on('message', (message: SandboxThreadCall) => {
    if (message.type === 'stop') {
      void (async () => {
        unsubscribe();
        await wallets?.stop().catch(() => {});
        await control.close().catch(() => {});
        await sandbox.stop();
        send({ type: 'stopped' });
        port.close();
      })();
      return;
    }
    if (!CALLABLE.has(message.method)) {
      send({
        type: 'error',
        id: message.id,
        error: { name: 'Error', message: `no such call: ${message.method}` },
      });
      return;
    }
    const method = node[message.method as keyof HoldInvoiceBackend] as (
      ...args: unknown[]
    ) => Promise<unknown>;
    method.apply(node, message.args).then(
      (value) => send({ type: 'result', id: message.id, value }),
      (error: unknown) => send({ type: 'error', id: message.id, error: describeError(error) }),
    );
  });
  send({
    type: 'ready',
    describe: `LDK sandbox in ${options.folder} (regtest, a block every ${options.blockIntervalMs / 1000} s, on its own thread)`,
    wallets: wallets?.files ?? null,
  });
} catch (error) {
  send({ type: 'failed', error: describeError(error) });
  port.close();
}
