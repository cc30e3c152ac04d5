// The running agent's control socket: `<data_dir>/control.sock`, a Unix socket (mode 0600, in the data folder)
// through which a command line on the same machine asks the agent to run an operation (the runbook commands,
// src/ops) with the agent's own engine, instead of opening its database, which the agent holds locked.
//
// Protocol: one JSON line in, `{"command": "...", "args": {...}}` (at most 64 KiB), one JSON line out,
// `{"ok": true, "result": ...}` or `{"ok": false, "error": "...", "badInput": true|false}`, then the connection ends.
// bigint values travel as decimal strings. Requests run one at a time, in the order they arrive. A stale socket
// file (left by an agent that was killed) is removed at start: only the holder of the data folder's lock starts
// one. The socket file is removed when the server closes.
import { chmodSync, existsSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export const CONTROL_SOCKET_FILE = 'control.sock';
const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that connects and sends no whole request within this long is dropped. */
const REQUEST_TIMEOUT_MS = 10_000;

/** One command's handler: its result is the reply's `result`. */
export type ControlHandler = (args: Record<string, unknown>) => Promise<unknown>;

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

export interface ControlServerOptions {
  log: Logger;
  /** True for an error that is the request's fault (the reply says badInput: the command line exits 2). */
  isBadInput?: (error: unknown) => boolean;
}

export async function startControlSocket(
  path: string,
  handlers: Record<string, ControlHandler>,
  options: ControlServerOptions,
): Promise<ControlServer> {
  removeStale(path);
  const folderMode = statSync(dirname(path)).mode & 0o077;
  if (folderMode !== 0) {
    options.log.warn(
      { folder: dirname(path) },
      'the data folder can be opened by other users: chmod 700 it (the control socket inside is mode 0600)',
    );
  }
  let queue: Promise<unknown> = Promise.resolve();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    let text = '';
    let done = false;
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      if (done) return;
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0 && text.length <= MAX_REQUEST_BYTES) return;
      done = true;
      socket.setTimeout(0);
      if (end < 0 || end > MAX_REQUEST_BYTES) {
        reply(socket, {
          ok: false,
          error: `the request is longer than ${MAX_REQUEST_BYTES} bytes`,
          badInput: true,
        });
        return;
      }
      const line = text.slice(0, end);
      const job = queue.then(() => answer(line));
      queue = job.catch(() => undefined);
      void job.then((response) => reply(socket, response));
    });
  });

  async function answer(line: string): Promise<Record<string, unknown>> {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return { ok: false, error: 'the request is not JSON', badInput: true };
    }
    const { command, args } = (request ?? {}) as { command?: unknown; args?: unknown };
    if (typeof command !== 'string' || !Object.hasOwn(handlers, command)) {
      return {
        ok: false,
        error: `unknown command ${JSON.stringify(command)}: one of ${Object.keys(handlers).join(', ')}`,
        badInput: true,
      };
    }
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      return { ok: false, error: 'args must be a JSON object', badInput: true };
    }
    try {
      // The operator's actions are on the agent's record (the arguments are flags and URLs, never secrets).
      options.log.info({ command, args: args ?? {} }, 'control socket: running an operation');
      const result = await handlers[command]!((args ?? {}) as Record<string, unknown>);
      return { ok: true, result };
    } catch (error) {
      const badInput = options.isBadInput?.(error) ?? false;
      if (!badInput) options.log.error({ err: error, command }, 'control socket: the operation failed');
      return { ok: false, error: (error as Error).message ?? String(error), badInput };
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          if (existsSync(path)) unlinkSync(path);
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** A socket file left by a process that died (the caller holds the folder's lock: nobody else listens there). */
function removeStale(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) {
    throw new Error(
      `${path} exists and is not a socket: move it away (the agent's control socket goes there)`,
    );
  }
  unlinkSync(path);
}

function reply(socket: Socket, response: Record<string, unknown>): void {
  if (socket.destroyed) return;
  socket.end(
    `${JSON.stringify(response, (_, value) => (typeof value === 'bigint' ? value.toString() : value))}\n`,
  );
}

/** The control socket did not answer, or answered with an error. */
export class ControlSocketError extends Error {
  override name = 'ControlSocketError';

  constructor(
    message: string,
    /** The request was refused as bad input (exit 2), not failed by the agent. */
    readonly badInput: boolean,
    /** Nothing listens on the socket (no agent, or one without a control socket). */
    readonly unreachable = false,
    /** The socket is not this user's to open (mode 0600: the agent runs as another user). */
    readonly denied = false,
  ) {
    super(message);
  }
}

/** Sends one request and resolves with the reply's result; rejects with ControlSocketError. */
export function callControlSocket(
  path: string,
  command: string,
  args: Record<string, unknown>,
  timeoutMs = 15 * 60_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    const fail = (error: ControlSocketError) => {
      socket.destroy();
      reject(error);
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () =>
      fail(
        new ControlSocketError(`the agent did not answer within ${Math.round(timeoutMs / 1000)} s`, false),
      ),
    );
    socket.on('connect', () => socket.write(`${JSON.stringify({ command, args })}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const unreachable = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      const denied = error.code === 'EACCES' || error.code === 'EPERM';
      fail(
        new ControlSocketError(
          unreachable
            ? `nothing answers on ${path}`
            : denied
              ? `${path} is not this user's to open: run the command as the user the agent runs as`
              : `the control socket ${path}: ${error.message}`,
          false,
          unreachable,
          denied,
        ),
      );
    });
    socket.on('end', () => {
      let response: { ok?: unknown; result?: unknown; error?: unknown; badInput?: unknown };
      try {
        response = JSON.parse(text.trim());
      } catch {
        fail(new ControlSocketError('the agent answered something that is not JSON', false));
        return;
      }
      socket.destroy();
      if (response.ok === true) resolve(response.result);
      else
        reject(
          new ControlSocketError(String(response.error ?? 'the agent refused'), response.badInput === true),
        );
    });
  });
}
