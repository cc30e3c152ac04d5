// What every command shares with the command line: where it prints, its signature, and the configuration type.
// Commands import this module, never cli.ts (cli.ts loads the commands, so the other way round would be a circle).
import type { AgentConfig } from '../agent/config.ts';

export type { AgentConfig } from '../agent/config.ts';

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A command's exit code: 0 done, 1 it ran and found a problem (or failed), 2 something to change first. */
export type Command = (config: AgentConfig, output: Output, args: string[]) => Promise<number>;
