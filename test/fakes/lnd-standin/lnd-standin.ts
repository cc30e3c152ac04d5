// STAND-IN LND (test double, not LND): no real LND can run in this repository's tests, so the LND adapter is
// tested against this stand-in: a gRPC server built from LND's own proto files, speaking TLS with a
// self-signed certificate and checking macaroons, that implements the few calls the adapter makes with
// LND's documented semantics (see standin-invoices.ts and standin-payments.ts for what is and is not
// modelled), on a small simulated network (standin-network.ts) with a chain tests mine, a payer that pays
// the agent's holds and a worker that receives payouts.
//
//   const standin = await LndStandin.start({ holdExpiryDelta: 18 });
//   const backend = await LndBackend.connect(standin.adapterConfig());
//   ... standin.mine(1); await standin.restart(); ... await standin.stop();
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LndConfig } from '../../../src/ldk/lnd/index.ts';
import { type MacaroonPermissions, StandinGrpcServer } from './standin-grpc-server.ts';
import { testNodeKey } from './standin-keys.ts';
import { StandinLndNode } from './standin-lnd-node.ts';
import { StandinNetwork } from './standin-network.ts';
import { createStandinTls, type StandinTls } from './standin-tls.ts';
import { SimulatedWallet } from './standin-wallet.ts';

/** Every permission the LND adapter needs (what an operator bakes for the agent). */
export const ADAPTER_PERMISSIONS = [
  'info:read',
  'offchain:read',
  'offchain:write',
  'invoices:read',
  'invoices:write',
] as const;

export interface LndStandinOptions {
  /** LND's invoices.holdexpirydelta (18 by default, as LND 0.21's). */
  holdExpiryDelta?: number;
  startHeight?: number;
}

export class LndStandin {
  readonly payer: SimulatedWallet;
  readonly worker: SimulatedWallet;
  /** The macaroon (hex) with every permission the adapter needs. */
  readonly macaroon: string;
  private readonly macaroons: MacaroonPermissions = new Map();
  private currentNode: StandinLndNode;
  private server: StandinGrpcServer | null = null;
  private port = 0;

  private constructor(
    readonly network: StandinNetwork,
    readonly tls: StandinTls,
    readonly directory: string,
    readonly holdExpiryDelta: number,
  ) {
    this.currentNode = this.openNode();
    this.payer = new SimulatedWallet('payer', network, testNodeKey('payer'));
    this.worker = new SimulatedWallet('worker', network, testNodeKey('worker'));
    this.macaroon = this.bakeMacaroon(ADAPTER_PERMISSIONS);
  }

  static async start(options: LndStandinOptions = {}): Promise<LndStandin> {
    const network = new StandinNetwork({
      nodeIds: {
        payer: testNodeKey('payer').nodeId,
        agent: testNodeKey('agent').nodeId,
        worker: testNodeKey('worker').nodeId,
      },
      startHeight: options.startHeight ?? 500,
      capacitySat: 10_000_000n,
      payerFundsSat: 5_000_000n,
      agentFundsSat: 5_000_000n,
    });
    const directory = mkdtempSync(join(tmpdir(), 'lnd-standin-'));
    const standin = new LndStandin(network, createStandinTls(), directory, options.holdExpiryDelta ?? 18);
    await standin.listen();
    return standin;
  }

  /** The stand-in LND node as it is now (a new object after each restart). */
  get node(): StandinLndNode {
    return this.currentNode;
  }

  get socket(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** LND's tls.cert as LND_CERT carries it: base64 of the PEM file. */
  get certBase64(): string {
    return Buffer.from(this.tls.certPem).toString('base64');
  }

  /** What an operator would configure for this node. */
  adapterConfig(overrides: Partial<LndConfig> = {}): LndConfig {
    return {
      socket: this.socket,
      cert: this.certBase64,
      macaroon: this.macaroon,
      holdExpiryDelta: this.holdExpiryDelta,
      pollIntervalMs: 50,
      callTimeoutMs: 5000,
      ...overrides,
    };
  }

  /** A macaroon this stand-in accepts, carrying just these permissions. */
  bakeMacaroon(permissions: readonly string[]): string {
    const macaroon = randomBytes(48).toString('hex');
    this.macaroons.set(macaroon, new Set(permissions));
    return macaroon;
  }

  mine(blocks: number): number {
    return this.network.mine(blocks);
  }

  /**
   * Stops the node as a crash would (open streams break, HTLCs stay where they are) and starts a new one
   * from what it wrote, on the same socket.
   */
  async restart(): Promise<void> {
    this.crash();
    await this.recover();
  }

  /** The first half of restart(): the node is down (calls fail, the network sees it offline). */
  crash(): void {
    this.server?.stop();
    this.server = null;
    this.currentNode.stop();
  }

  /** The second half of restart(): a new node from what the old one wrote, on the same socket. */
  async recover(): Promise<void> {
    this.currentNode = this.openNode();
    await this.listen();
  }

  async stop(): Promise<void> {
    this.server?.stop();
    this.server = null;
    this.currentNode.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }

  private openNode(): StandinLndNode {
    return new StandinLndNode({
      directory: this.directory,
      network: this.network,
      nodeKey: testNodeKey('agent'),
      holdExpiryDelta: this.holdExpiryDelta,
    });
  }

  private async listen(): Promise<void> {
    const { server, port } = await StandinGrpcServer.start({
      node: () => this.currentNode,
      macaroons: this.macaroons,
      tls: this.tls,
      port: this.port,
    });
    this.server = server;
    this.port = port;
  }
}
