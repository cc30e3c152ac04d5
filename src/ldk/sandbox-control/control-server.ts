// A control socket for a running sandbox, so that `escrow-agent ln ...` can use the payer and worker nodes while
// `escrow-agent start` (or the sandbox's own process) holds them. HTTP over a Unix socket in the sandbox folder:
// nothing listens on the network, and only users who can open the folder can reach it.
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { isLightningError } from '../lightning-error.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { toJson } from './json.ts';

export const CONTROL_SOCKET = 'control.sock';
const NODES = ['agent', 'payer', 'worker'] as const;
type NodeName = (typeof NODES)[number];

export async function startControlServer(
  sandbox: Sandbox,
  folder: string,
): Promise<{ path: string; close(): Promise<void> }> {
  const path = join(folder, CONTROL_SOCKET);
  if (existsSync(path)) unlinkSync(path); // left by a process that died; only one sandbox can hold the folder
  const server = createServer((request, response) => {
    handle(sandbox, request, response).catch((error: Error) => send(response, 500, { error: error.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(sandbox: Sandbox, request: IncomingMessage, response: ServerResponse) {
  const body = request.method === 'POST' ? await readJson(request) : {};
  const node = (name: unknown): NodeName => {
    if (typeof name === 'string' && (NODES as readonly string[]).includes(name)) return name as NodeName;
    throw new RequestError(`node must be one of ${NODES.join(', ')}`);
  };
  try {
    switch (`${request.method} ${request.url}`) {
      case 'GET /info': {
        const infos = await Promise.all(
          NODES.map(async (name) => [name, await sandbox[name].getInfo()] as const),
        );
        return send(response, 200, { height: sandbox.height, nodes: Object.fromEntries(infos) });
      }
      case 'POST /mine': {
        const blocks = Number(body.blocks);
        if (!Number.isInteger(blocks) || blocks < 1 || blocks > 10_000)
          throw new RequestError('blocks must be a whole number from 1 to 10000');
        return send(response, 200, { height: sandbox.mine(blocks) });
      }
      case 'POST /pay': {
        if (typeof body.bolt11 !== 'string') throw new RequestError('bolt11 is required');
        const result = await sandbox[node(body.node ?? 'payer')].pay({
          bolt11: body.bolt11,
          maxFeeMsat: BigInt(String(body.maxFeeMsat ?? 10_000)),
          timeoutSeconds: Number(body.timeoutSeconds ?? 5),
        });
        return send(response, 200, result);
      }
      case 'POST /invoice': {
        const amount = String(body.amountMsat ?? '');
        if (!/^[1-9]\d*$/.test(amount))
          throw new RequestError('amountMsat must be a positive whole number of msat');
        const invoice = await sandbox[node(body.node ?? 'worker')].createInvoice({
          amountMsat: BigInt(amount),
          description: String(body.description ?? 'sandbox invoice'),
          expirySeconds: Number(body.expirySeconds ?? 3600),
        });
        return send(response, 200, invoice);
      }
      default:
        return send(response, 404, { error: `no such command: ${request.method} ${request.url}` });
    }
  } catch (error) {
    if (error instanceof RequestError || isLightningError(error))
      return send(response, 400, { error: (error as Error).message });
    throw error;
  }
}

class RequestError extends Error {}

function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.on('data', (chunk) => {
      text += chunk;
      if (text.length > 65_536) request.destroy(new Error('request too large'));
    });
    request.on('end', () => {
      try {
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch {
        reject(new RequestError('the request is not JSON'));
      }
    });
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, value: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(toJson(value));
}
