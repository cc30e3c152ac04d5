// STAND-IN LND (test double, not LND): a gRPC server built from LND's own proto files (the ones the
// `lightning` package ships in node_modules/lightning/grpc/protos) with @grpc/grpc-js, on 127.0.0.1 with a
// self-signed TLS certificate, that checks the `macaroon` metadata header on every call and implements only
// what the LND adapter calls: GetInfo, ListChannels, LookupInvoice, ListInvoices, DeletePayment (Lightning),
// AddHoldInvoice, SettleInvoice, CancelInvoice, SubscribeSingleInvoice (Invoices), SendPaymentV2 and
// TrackPaymentV2 (Router). Any other method answers UNIMPLEMENTED. Its macaroons are random tokens with a
// permission list, not real macaroons; the refusals use LND's messages.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LndRpcError } from './standin-errors.ts';
import type { StandinLndNode } from './standin-lnd-node.ts';
import { channelMessage, invoiceMessage, paymentMessage } from './standin-messages.ts';

const require = createRequire(import.meta.url);
const PROTOS = join(dirname(require.resolve('lightning/package.json')), 'grpc', 'protos');

/** Macaroon (hex) -> the permissions it grants, e.g. 'invoices:write'. */
export type MacaroonPermissions = Map<string, ReadonlySet<string>>;

type Handler = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>) => unknown;
type StreamHandler = (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => () => void;

interface Services {
  lightning: grpc.ServiceDefinition;
  invoices: grpc.ServiceDefinition;
  router: grpc.ServiceDefinition;
}

let services: Services | null = null;

function loadServices(): Services {
  if (services) return services;
  const definition = protoLoader.loadSync(['lightning.proto', 'invoices.proto', 'router.proto'], {
    includeDirs: [PROTOS],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as Record<
    string,
    Record<string, { service: grpc.ServiceDefinition }>
  >;
  services = {
    lightning: loaded.lnrpc!.Lightning!.service,
    invoices: loaded.invoicesrpc!.Invoices!.service,
    router: loaded.routerrpc!.Router!.service,
  };
  return services;
}

export class StandinGrpcServer {
  private readonly server = new grpc.Server();

  private constructor(
    private readonly node: () => StandinLndNode,
    private readonly macaroons: MacaroonPermissions,
  ) {
    const { lightning, invoices, router } = loadServices();
    this.server.addService(lightning, {
      GetInfo: this.unary('info:read', () => this.info()),
      ListChannels: this.unary('offchain:read', () => this.channels()),
      LookupInvoice: this.unary('invoices:read', (call) =>
        invoiceMessage(this.node().invoices.lookup(hex(call.request.r_hash))),
      ),
      ListInvoices: this.unary('invoices:read', (call) => this.listInvoices(call.request)),
      DeletePayment: this.unary('offchain:write', (call) => {
        this.node().payments.delete(hex(call.request.payment_hash));
        return {};
      }),
    });
    this.server.addService(invoices, {
      AddHoldInvoice: this.unary('invoices:write', (call) => this.addHoldInvoice(call.request)),
      SettleInvoice: this.unary('invoices:write', (call) => {
        this.node().invoices.settle(call.request.preimage as Buffer);
        return {};
      }),
      CancelInvoice: this.unary('invoices:write', (call) => {
        this.node().invoices.cancel(hex(call.request.payment_hash));
        return {};
      }),
      SubscribeSingleInvoice: this.stream('invoices:read', (call) =>
        this.node().invoices.subscribe(hex(call.request.r_hash), (record) => {
          call.write(invoiceMessage(record));
          // LND ends the stream once the invoice is settled or canceled.
          if (record.state === 'SETTLED' || record.state === 'CANCELED') call.end();
        }),
      ),
    });
    this.server.addService(router, {
      SendPaymentV2: this.stream('offchain:write', (call) =>
        this.node().payments.send(
          {
            paymentRequest: String(call.request.payment_request),
            feeLimitMsat: feeLimit(call.request),
            cltvLimit: Number(call.request.cltv_limit ?? 0),
          },
          (record) => this.writePayment(call, record),
        ),
      ),
      TrackPaymentV2: this.stream('offchain:read', (call) =>
        this.node().payments.track(hex(call.request.payment_hash), (record) =>
          this.writePayment(call, record),
        ),
      ),
    });
  }

  static async start(options: {
    node: () => StandinLndNode;
    macaroons: MacaroonPermissions;
    tls: { certPem: string; keyPem: string };
    port: number;
  }): Promise<{ server: StandinGrpcServer; port: number }> {
    const server = new StandinGrpcServer(options.node, options.macaroons);
    const credentials = grpc.ServerCredentials.createSsl(
      null,
      [{ cert_chain: Buffer.from(options.tls.certPem), private_key: Buffer.from(options.tls.keyPem) }],
      false,
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.server.bindAsync(`127.0.0.1:${options.port}`, credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    return { server, port };
  }

  /** Stops at once, as a killed LND would: open streams end with an error on the client side. */
  stop(): void {
    this.server.forceShutdown();
  }

  private unary(permission: string, handle: Handler) {
    return (
      call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      try {
        this.authorize(call.metadata, permission);
        callback(null, handle(call));
      } catch (error) {
        callback(asServiceError(error));
      }
    };
  }

  private stream(permission: string, handle: StreamHandler) {
    return (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => {
      try {
        this.authorize(call.metadata, permission);
        const stop = handle(call);
        call.on('cancelled', stop);
        call.on('close', stop);
      } catch (error) {
        call.emit('error', asServiceError(error));
      }
    };
  }

  /** LND's macaroon checks: one macaroon, one this node baked, carrying the method's permission. */
  private authorize(metadata: grpc.Metadata, permission: string): void {
    const values = metadata.get('macaroon');
    if (values.length !== 1) throw new LndRpcError(2, `expected 1 macaroon, got ${values.length}`);
    const permissions = this.macaroons.get(String(values[0]));
    if (!permissions)
      throw new LndRpcError(2, 'verification failed: signature mismatch after caveat verification');
    if (!permissions.has(permission)) throw new LndRpcError(2, 'permission denied');
  }

  private writePayment(
    call: grpc.ServerWritableStream<Record<string, unknown>, unknown>,
    record: Parameters<typeof paymentMessage>[0],
  ) {
    call.write(paymentMessage(record));
    if (record.status !== 'IN_FLIGHT') call.end();
  }

  private info() {
    const node = this.node();
    const height = node.network.height;
    const channels = node.network.channelsOf('agent');
    return {
      version: '0.21.0-beta (lnd stand-in)',
      commit_hash: '',
      identity_pubkey: node.nodeKey.nodeId,
      alias: 'lnd-standin',
      color: '#3399ff',
      num_pending_channels: 0,
      num_active_channels: channels.filter((channel) => channel.active).length,
      num_inactive_channels: channels.filter((channel) => !channel.active).length,
      num_peers: channels.length,
      block_height: height,
      block_hash: height.toString(16).padStart(64, '0'),
      best_header_timestamp: String(Math.floor(Date.now() / 1000)),
      synced_to_chain: node.syncedToChain,
      synced_to_graph: true,
      testnet: false,
      chains: [{ chain: 'bitcoin', network: 'regtest' }],
      uris: [],
      features: {},
      require_htlc_interceptor: false,
      store_final_htlc_resolutions: false,
    };
  }

  private channels() {
    const node = this.node();
    const channels = node.network
      .channelsOf('agent')
      .map((channel) => channelMessage(channel, node.network.nodeId(channel.peer)));
    return { channels };
  }

  private listInvoices(request: Record<string, unknown>) {
    const invoices = this.node().invoices.list({
      pendingOnly: request.pending_only === true,
      indexOffset: Number(request.index_offset ?? 0),
      max: Number(request.num_max_invoices ?? 0) || 1000,
      reversed: request.reversed === true,
    });
    return {
      invoices: invoices.map(invoiceMessage),
      first_index_offset: String(invoices[0]?.addIndex ?? 0),
      last_index_offset: String(invoices[invoices.length - 1]?.addIndex ?? 0),
    };
  }

  private addHoldInvoice(request: Record<string, unknown>) {
    const valueMsat =
      BigInt(String(request.value_msat ?? '0')) || BigInt(String(request.value ?? '0')) * 1000n;
    const record = this.node().invoices.add({
      hash: request.hash as Buffer,
      memo: String(request.memo ?? ''),
      valueMsat,
      expiry: Number(request.expiry ?? 0),
      cltvExpiry: Number(request.cltv_expiry ?? 0),
    });
    return {
      payment_request: record.bolt11,
      add_index: String(record.addIndex),
      payment_addr: Buffer.from(record.paymentAddr, 'hex'),
    };
  }
}

function feeLimit(request: Record<string, unknown>): bigint {
  const msat = BigInt(String(request.fee_limit_msat ?? '0'));
  const satoshis = BigInt(String(request.fee_limit_sat ?? '0'));
  return msat > 0n ? msat : satoshis * 1000n;
}

function hex(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('hex') : '';
}

function asServiceError(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof LndRpcError) return { code: error.grpcCode, details: error.message };
  return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) };
}
