// The relay `npm start` runs beside the agent and every integration test talks to: @nostr-relay/core behind a
// `ws` server, with the event store, the EVENT/REQ handling and the live matching replaced by ours (see
// relay-protocol.ts for why). Binds to 127.0.0.1 unless told otherwise.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NostrRelay } from '@nostr-relay/core';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { LiveSubscriptions } from './live-subscriptions.ts';
import { parseClientMessage } from './parse-client-message.ts';
import { type RelayLogger, silentLogger, toCoreLogger } from './relay-logger.ts';
import { RelayProtocol } from './relay-protocol.ts';
import { SqliteEventStore } from './sqlite-event-store.ts';

export interface EmbeddedRelayOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** SQLite file (created if missing) or ':memory:'. */
  dbPath: string;
  logger?: RelayLogger;
  /** Unix seconds; injected so tests can move time (NIP-40 expiration). */
  now?: () => number;
  maxSubscriptionsPerClient?: number;
  /** Larger frames close the connection (WebSocket status 1009). */
  maxMessageBytes?: number;
  /** Events returned for a filter without `limit`. */
  defaultLimit?: number;
  /** Upper bound on any filter's `limit`. */
  maxLimit?: number;
  /** Called with the number of open connections whenever one opens or closes (relay-thread.ts keeps its count). */
  onConnectionsChanged?: (count: number) => void;
}

export interface EmbeddedRelay {
  /** ws://host:port */
  url: string;
  host: string;
  port: number;
  dbPath: string;
  /** Open client connections. */
  connectionCount(): number;
  /** Closes every connection, the server and the database. Safe to call twice. */
  stop(): Promise<void>;
}

export const SUPPORTED_NIPS = [1, 9, 11, 40] as const;

function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

export async function startEmbeddedRelay(options: EmbeddedRelayOptions): Promise<EmbeddedRelay> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const maxSubscriptionsPerClient = options.maxSubscriptionsPerClient ?? 50;
  const maxMessageBytes = options.maxMessageBytes ?? 256 * 1024;
  const defaultLimit = options.defaultLimit ?? 500;
  const maxLimit = options.maxLimit ?? 5000;

  const store = new SqliteEventStore(options.dbPath, { defaultLimit, maxLimit });
  await store.init();
  const live = new LiveSubscriptions();
  const relay = new NostrRelay(store, {
    logger: toCoreLogger(logger),
    maxSubscriptionsPerClient,
    // Unused since RelayProtocol answers EVENT and REQ, and off in case anything reaches core's own paths.
    filterResultCacheTtl: 0,
    eventHandlingResultCacheTtl: 0,
  });
  relay.register(new RelayProtocol({ store, live, now, logger, maxSubscriptionsPerClient }));

  const information = JSON.stringify({
    name: 'nostr-escrow-agent embedded relay',
    description: 'Local relay of the Nostr Escrow Agent',
    software: 'nostr-escrow-agent (@nostr-relay/core 0.0.40)',
    supported_nips: SUPPORTED_NIPS,
    limitation: {
      max_message_length: maxMessageBytes,
      max_subscriptions: maxSubscriptionsPerClient,
      max_limit: maxLimit,
      default_limit: defaultLimit,
      max_subid_length: 64,
      auth_required: false,
      payment_required: false,
    },
  });
  // NIP-11 information document for plain HTTP GETs with Accept: application/nostr+json.
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' };
    if (request.headers.accept?.includes('application/nostr+json')) {
      response.writeHead(200, { 'content-type': 'application/nostr+json', ...cors }).end(information);
    } else {
      response
        .writeHead(426, { 'content-type': 'text/plain', ...cors })
        .end('This is a Nostr relay: use WebSocket.\n');
    }
  });
  const sockets = new WebSocketServer({ server, maxPayload: maxMessageBytes });

  sockets.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    relay.handleConnection(socket, request.socket.remoteAddress);
    options.onConnectionsChanged?.(sockets.clients.size);
    socket.on('message', (data: RawData) => {
      const parsed = parseClientMessage(frameText(data));
      if (!parsed.ok) {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(parsed.reply));
        return;
      }
      relay.handleMessage(socket, parsed.message).catch((error: unknown) => {
        logger.error({ err: error }, 'relay failed to handle a message');
      });
    });
    socket.on('error', (error: Error) => logger.debug({ err: error }, 'relay connection error'));
    socket.on('close', () => {
      relay.handleDisconnect(socket);
      live.forget(socket);
      // ws has already dropped the socket from sockets.clients (its own close listener comes first).
      options.onConnectionsChanged?.(sockets.clients.size);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, dbPath: options.dbPath }, 'embedded relay listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await relay.destroy();
      await store.destroy();
      logger.info({ url }, 'embedded relay stopped');
    })();
    return stopping;
  };

  return { url, host, port, dbPath: options.dbPath, connectionCount: () => sockets.clients.size, stop };
}
