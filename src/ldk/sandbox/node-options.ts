// What a sandbox node is opened with, and how it logs.
import type { RegtestChain } from './regtest-chain.ts';

export type LogLevel = 'gossip' | 'trace' | 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['gossip', 'trace', 'debug', 'info', 'warn', 'error'];

export type NodeLog = (entry: { node: string; level: LogLevel; message: string }) => void;

export interface LdkNodeOptions {
  name: string;
  directory: string;
  chain: RegtestChain;
  log: NodeLog;
  /** LDK records below this level are dropped before they cross from WASM (they are many). */
  logLevel: LogLevel;
  /**
   * Called after each durable write of the node's channel state, before anything else runs: the points at
   * which a crash can happen. For crash tests; leave unset otherwise.
   */
  afterWrite?: (what: 'monitor' | 'manager') => void;
}
