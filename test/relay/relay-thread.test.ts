// The embedded relay on a worker thread of its own (src/relay/relay-thread.ts), as `escrow-agent start` runs it:
// a real relay on 127.0.0.1, real WebSocket clients, its database on disk.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event } from 'nostr-tools/core';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { type EmbeddedRelay, type RelayLogger, startRelayThread } from '../../src/relay/index.ts';
import { connectRawClient } from '../fakes/relay.ts';

const author = generateSecretKey();
const sign = (content: string): Event =>
  finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content }, author);

interface Line {
  level: string;
  details: Record<string, unknown>;
  message: string;
}

function recordingLogger(): { logger: RelayLogger; lines: Line[] } {
  const lines: Line[] = [];
  const record =
    (level: string) =>
    (details: object, message: string): void => {
      lines.push({ level, details: details as Record<string, unknown>, message });
    };
  return {
    lines,
    logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
  };
}

/** Polls until `check` holds (a bound on the wait only, not an assertion about speed). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.unreachable(`never: ${what}`);
}

/** Resolves with the connection error's code, or 'open' if the connection opened. */
function tryConnect(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function withFolder(body: (folder: string) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'escrow-relay-thread-'));
  try {
    await body(folder);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

test('a relay on its own thread accepts, stores and delivers events, counts its connections and forwards its log lines', async () => {
  await withFolder(async (folder) => {
    const { logger, lines } = recordingLogger();
    const relay = await startRelayThread(
      { host: '127.0.0.1', port: 0, dbPath: join(folder, 'relay.sqlite') },
      logger,
    );
    try {
      assert.ok(relay.port > 0);
      assert.is(relay.host, '127.0.0.1');
      assert.is(relay.url, `ws://127.0.0.1:${relay.port}`);
      assert.is(relay.dbPath, join(folder, 'relay.sqlite'));
      assert.is(relay.connectionCount(), 0);

      const listening = lines.find((line) => line.message === 'embedded relay listening');
      assert.ok(listening, `no listening line among ${JSON.stringify(lines)}`);
      assert.is(listening.level, 'info');
      assert.is(listening.details.url, relay.url);

      const client = await connectRawClient(relay.url);
      await eventually(() => relay.connectionCount() === 1, 'one connection counted');

      const first = sign('first');
      const [, okId, accepted, reason] = await client.publish(first);
      assert.is(okId, first.id);
      assert.ok(accepted, `refused: ${reason}`);

      const stored = await client.request('stored', { kinds: [1] });
      assert.equal(
        stored.map((event) => event.id),
        [first.id],
      );

      const live = await client.request('live', { kinds: [1], since: first.created_at });
      assert.equal(
        live.map((event) => event.id),
        [first.id],
      );
      const second = sign('second');
      const [, , secondAccepted] = await client.publish(second);
      assert.ok(secondAccepted);
      assert.is((await client.nextEvent('live')).id, second.id);

      await client.close();
      await eventually(() => relay.connectionCount() === 0, 'the closed connection uncounted');
    } finally {
      await relay.stop();
    }
    assert.is(relay.connectionCount(), 0);
    assert.ok(lines.some((line) => line.message === 'embedded relay stopped'));
  });
});

test('a taken port rejects with its code; stop() twice is fine and frees the port; the events outlive the thread', async () => {
  await withFolder(async (folder) => {
    const dbPath = join(folder, 'relay.sqlite');
    const relay: EmbeddedRelay = await startRelayThread({ host: '127.0.0.1', port: 0, dbPath });
    const event = sign('kept');
    try {
      const client = await connectRawClient(relay.url);
      const [, , accepted] = await client.publish(event);
      assert.ok(accepted);
      await client.close();

      const taken = await startRelayThread({
        host: '127.0.0.1',
        port: relay.port,
        dbPath: join(folder, 'other.sqlite'),
      }).then(
        async (second): Promise<NodeJS.ErrnoException> => {
          await second.stop();
          return new Error('a second relay started on a taken port');
        },
        (error: NodeJS.ErrnoException) => error,
      );
      assert.instance(taken, Error);
      assert.is(taken.code, 'EADDRINUSE', taken.message);
    } finally {
      await relay.stop();
      await relay.stop();
    }
    assert.is(await tryConnect(relay.url), 'ECONNREFUSED');

    const again = await startRelayThread({ host: '127.0.0.1', port: 0, dbPath });
    try {
      const client = await connectRawClient(again.url);
      const stored = await client.request('stored', { ids: [event.id] });
      assert.equal(
        stored.map((found) => found.id),
        [event.id],
      );
      await client.close();
    } finally {
      await Promise.all([again.stop(), again.stop()]);
    }
  });
});

test.run();
