// Building one LDK node's parts, fresh or from its folder (LDK's restart steps: read the monitors, catch them
// up with the chain, read the manager with them, catch it up, hand the monitors to the ChainMonitor).
import { randomBytes } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ldk from 'lightningdevkit';
import { readFileIfExists, writeFileAtomic } from './atomic-file.ts';
import { equalBytes } from './bytes.ts';
import { MonitorPersister } from './monitor-persister.ts';
import { FEE_RATE_SAT_PER_KW, sandboxUserConfig } from './node-config.ts';
import { type LdkNodeOptions, LOG_LEVELS } from './node-options.ts';
import { readManager, readMonitor } from './read-node-state.ts';
import type { RegtestChain } from './regtest-chain.ts';

export interface NodeParts {
  manager: ldk.ChannelManager;
  chainMonitor: ldk.ChainMonitor;
  keys: ldk.KeysManager;
  persister: MonitorPersister;
  logger: ldk.Logger;
  retained: unknown[];
}

export function buildParts(options: LdkNodeOptions): NodeParts {
  const { chain, directory, name } = options;
  const minimum = LOG_LEVELS.indexOf(options.logLevel);
  const logger = ldk.Logger.new_impl({
    log: (record) => {
      const level = LOG_LEVELS[record.get_level()] ?? 'error';
      if (LOG_LEVELS.indexOf(level) >= minimum)
        options.log({ node: name, level, message: record.get_args() });
    },
  });
  const feeEstimator = ldk.FeeEstimator.new_impl({ get_est_sat_per_1000_weight: () => FEE_RATE_SAT_PER_KW });
  const broadcaster = ldk.BroadcasterInterface.new_impl({
    broadcast_transactions: (transactions) => chain.broadcast(transactions),
  });
  const persister = new MonitorPersister(
    directory,
    (error) =>
      options.log({
        node: name,
        level: 'error',
        message: `cannot write a channel monitor: ${String(error)}`,
      }),
    () => options.afterWrite?.('monitor'),
  );
  const chainMonitor = ldk.ChainMonitor.constructor_new(
    ldk.Option_FilterZ.constructor_none(),
    broadcaster,
    logger,
    feeEstimator,
    persister.persist,
  );
  const seed = loadOrCreateSeed(directory);
  const now = Date.now();
  // The starting time must differ between runs with the same seed: it salts the keys LDK derives per channel.
  const keys = ldk.KeysManager.constructor_new(
    seed,
    BigInt(Math.floor(now / 1000)),
    (now % 1000) * 1_000_000,
  );
  const graph = ldk.NetworkGraph.constructor_new(ldk.Network.LDKNetwork_Regtest, logger);
  const scorer = ldk.ProbabilisticScorer.constructor_new(
    ldk.ProbabilisticScoringDecayParameters.constructor_default(),
    graph,
    logger,
  );
  const score = ldk.MultiThreadedLockableScore.constructor_new(scorer.as_Score());
  const router = ldk.DefaultRouter.constructor_new(
    graph,
    logger,
    keys.as_EntropySource(),
    score.as_LockableScore(),
    ldk.ProbabilisticScoringFeeParameters.constructor_default(),
  );
  const messageRouter = ldk.DefaultMessageRouter.constructor_new(graph, keys.as_EntropySource());
  const config = sandboxUserConfig();
  const shared = { keys, feeEstimator, chainMonitor, broadcaster, router, messageRouter, logger, config };
  const savedManager = readFileIfExists(join(directory, 'manager.bin'));
  let manager: ldk.ChannelManager;
  if (savedManager) {
    const monitors = persister.readAll().map((bytes) => readMonitor(bytes, keys));
    for (const monitor of monitors) catchUpMonitor(monitor, chain, broadcaster, feeEstimator, logger);
    manager = readManager(savedManager, shared, monitors);
    catchUpManager(manager, chain);
    for (const monitor of monitors) {
      const watched = chainMonitor.as_Watch().watch_channel(monitor.get_funding_txo().get_a(), monitor);
      if (!watched.is_ok()) throw new Error(`${name}: LDK refused to watch a restored channel monitor`);
    }
  } else {
    if (persister.hasMonitors()) {
      // Starting fresh here would forget channels that hold money: refuse, a human must look.
      throw new Error(`${name}: ${directory} has channel monitors but no channel manager`);
    }
    const bestBlock = ldk.BestBlock.constructor_new(chain.tipHash(), chain.height);
    manager = ldk.ChannelManager.constructor_new(
      feeEstimator,
      chainMonitor.as_Watch(),
      broadcaster,
      router.as_Router(),
      messageRouter.as_MessageRouter(),
      logger,
      keys.as_EntropySource(),
      keys.as_NodeSigner(),
      keys.as_SignerProvider(),
      config,
      ldk.ChainParameters.constructor_new(ldk.Network.LDKNetwork_Regtest, bestBlock),
      Math.floor(now / 1000),
    );
    writeFileAtomic(join(directory, 'manager.bin'), manager.write());
  }
  return {
    manager,
    chainMonitor,
    keys,
    persister,
    logger,
    retained: [logger, feeEstimator, broadcaster, graph, scorer, score, router, messageRouter, config],
  };
}

function loadOrCreateSeed(directory: string): Uint8Array {
  const path = join(directory, 'seed');
  const existing = readFileIfExists(path);
  if (existing) {
    if (existing.length !== 32) throw new Error(`${path} is not a 32-byte seed`);
    // A seed written before seeds were 0600 (writeFileAtomic) is made the owner's alone.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return existing;
  }
  const seed = new Uint8Array(randomBytes(32));
  writeFileAtomic(path, seed);
  return seed;
}

/** Replays the blocks a restored monitor has not seen, before the manager is read (LDK's restart steps). */
function catchUpMonitor(
  monitor: ldk.ChannelMonitor,
  chain: RegtestChain,
  broadcaster: ldk.BroadcasterInterface,
  feeEstimator: ldk.FeeEstimator,
  logger: ldk.Logger,
): void {
  const best = monitor.current_best_block();
  assertOnChain(chain, best, 'a channel monitor');
  for (let height = best.get_height() + 1; height <= chain.height; height++) {
    const block = chain.blockAt(height);
    const transactions = block.transactions.map((transaction, index) =>
      ldk.TwoTuple_usizeTransactionZ.constructor_new(index, transaction),
    );
    monitor.transactions_confirmed(block.header, transactions, height, broadcaster, feeEstimator, logger);
    monitor.best_block_updated(block.header, height, broadcaster, feeEstimator, logger);
  }
}

function catchUpManager(manager: ldk.ChannelManager, chain: RegtestChain): void {
  const best = manager.current_best_block();
  assertOnChain(chain, best, 'the channel manager');
  const confirm = manager.as_Confirm();
  for (let height = best.get_height() + 1; height <= chain.height; height++) {
    const block = chain.blockAt(height);
    const transactions = block.transactions.map((transaction, index) =>
      ldk.TwoTuple_usizeTransactionZ.constructor_new(index, transaction),
    );
    confirm.transactions_confirmed(block.header, transactions, height);
    confirm.best_block_updated(block.header, height);
  }
}

/** The chain is fsynced before any node hears of a block, so a node can never be ahead of it or off it. */
function assertOnChain(chain: RegtestChain, best: ldk.BestBlock, what: string): void {
  const expected = chain.hashAt(best.get_height());
  if (!expected || !equalBytes(expected, best.get_block_hash())) {
    throw new Error(`${what} has seen block ${best.get_height()} that is not on the sandbox chain`);
  }
}
