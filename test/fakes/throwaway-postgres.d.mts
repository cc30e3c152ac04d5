// Types of throwaway-postgres.mjs (plain JS: scripts/run-tests.mjs imports it without tsx).
export interface ThrowawayPostgres {
  url: string;
  /** Stops the server (every connection dropped), awaits `whileDown`, starts it again on the same data. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export function startThrowawayPostgres(options?: { persistent?: boolean }): Promise<ThrowawayPostgres>;
