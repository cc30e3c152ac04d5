// Connecting the LND adapter, against a STAND-IN LND gRPC server (test/fakes/lnd-standin, not a real LND):
// each thing an operator can get wrong is refused at start-up with a message that names it and says what
// to change. A wrong certificate, a macaroon this node did not bake, a macaroon missing any one permission
// the port uses, a socket nobody listens on, a node not synced to the chain.
//
// Kept on the stand-in for a node not synced to the chain (real LND would need a chain behind it) and a socket
// nobody listens on, and as the fallback where real LND is missing; a macaroon lacking each documented
// permission and a certificate that is not LND's are also refused by real LND in real-conformance.test.ts,
// whose agent runs on a macaroon baked with exactly those permissions.
import { createServer } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LndBackend, LndConnectionError } from '../../../src/ldk/lnd/index.ts';
import { thrown } from '../../fakes/ldk-wait.ts';
import { ADAPTER_PERMISSIONS, LndStandin } from '../../fakes/lnd-standin/lnd-standin.ts';
import { createStandinTls, opensslAvailable } from '../../fakes/lnd-standin/standin-tls.ts';

const standinTest = opensslAvailable() ? test : test.skip;
if (!opensslAvailable()) {
  console.log(
    'SKIP LND connection tests: the stand-in LND needs the openssl command to make its TLS certificate',
  );
}

let standin: LndStandin | null = null;
const running = () => standin!;

test.before(async () => {
  if (opensslAvailable()) standin = await LndStandin.start();
});

test.after(async () => {
  await standin?.stop();
});

async function refusal(config: Parameters<typeof LndBackend.connect>[0]): Promise<LndConnectionError> {
  const started = Date.now();
  const error = await thrown(() => LndBackend.connect(config));
  assert.ok(error instanceof LndConnectionError, String(error));
  assert.ok(Date.now() - started < 5000, 'refused quickly');
  return error;
}

standinTest('the right certificate, macaroon and socket connect', async () => {
  const backend = await LndBackend.connect(running().adapterConfig());
  assert.is(backend.nodeId, running().node.nodeKey.nodeId);
  assert.is(backend.settings.holdExpiryDelta, 18);
  backend.close();
});

standinTest('a certificate that is not LND’s is refused, naming LND_CERT', async () => {
  const other = Buffer.from(createStandinTls('somebody-else').certPem).toString('base64');
  const error = await refusal(running().adapterConfig({ cert: other }));
  assert.is(error.problem, 'tls');
  assert.match(error.message, /TLS certificate does not match: set LND_CERT\/LND_CERT_PATH/);
  assert.match(error.message, new RegExp(running().socket));
});

standinTest('a macaroon this LND did not bake is refused, naming LND_MACAROON', async () => {
  const error = await refusal(running().adapterConfig({ macaroon: 'ab'.repeat(48) }));
  assert.is(error.problem, 'macaroon');
  assert.match(error.message, /refused the macaroon: set LND_MACAROON\/LND_MACAROON_PATH/);
  assert.match(error.message, /verification failed/);
});

standinTest(
  'a macaroon missing any one permission the port uses is refused, naming that permission',
  async () => {
    for (const missing of ADAPTER_PERMISSIONS) {
      const macaroon = running().bakeMacaroon(
        ADAPTER_PERMISSIONS.filter((permission) => permission !== missing),
      );
      const error = await refusal(running().adapterConfig({ macaroon }));
      assert.is(error.problem, 'permission', missing);
      assert.match(error.message, new RegExp(`lacks ${missing} \\(needed for `), error.message);
      assert.match(
        error.message,
        /lncli bakemacaroon invoices:read invoices:write offchain:read offchain:write info:read/,
      );
    }
  },
);

standinTest('a socket nobody listens on is refused quickly, naming LND_SOCKET', async () => {
  const closedPort = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const error = await refusal(running().adapterConfig({ socket: `127.0.0.1:${closedPort}` }));
  assert.is(error.problem, 'unreachable');
  assert.match(error.message, /LND is not reachable: check LND_SOCKET/);
  assert.match(error.message, /ECONNREFUSED/);
});

standinTest(
  'an LND not synced to the chain is refused: deadlines would come from a stale height',
  async () => {
    running().node.syncedToChain = false;
    try {
      const error = await refusal(running().adapterConfig());
      assert.is(error.problem, 'not_synced');
      assert.match(error.message, /not synced to the chain \(height 500\)/);
    } finally {
      running().node.syncedToChain = true;
    }
  },
);

standinTest('settings LND cannot honour are refused before connecting', async () => {
  const error = await thrown(() => LndBackend.connect(running().adapterConfig({ maxFinalCltvDelta: 3000 })));
  assert.match(String(error), /maxFinalCltvDelta 3000: must be 24\.\.2012/);
});

test.run();
