// The client side of the sandbox control socket (`escrow-agent ln ...`).
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { CONTROL_SOCKET } from './control-server.ts';

export class ControlError extends Error {}

export function controlSocketPath(folder: string): string | null {
  const path = join(folder, CONTROL_SOCKET);
  return existsSync(path) ? path : null;
}

export function callControl(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const call = request(
      { socketPath, method, path, headers: { 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => {
          const value = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          if ((response.statusCode ?? 500) >= 400)
            reject(new ControlError(String(value.error ?? `HTTP ${response.statusCode}`)));
          else resolve(value);
        });
      },
    );
    call.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ControlError(
          error.code === 'ECONNREFUSED' || error.code === 'ENOENT'
            ? 'no sandbox is running on this data folder: start it with `escrow-agent start`'
            : error.message,
        ),
      ),
    );
    if (body !== undefined) call.write(JSON.stringify(body));
    call.end();
  });
}
