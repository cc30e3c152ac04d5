export type { RelayLogger } from './relay-logger.ts';
export { type RelayThreadOptions, startRelayThread } from './relay-thread.ts';
export {
  type EmbeddedRelay,
  type EmbeddedRelayOptions,
  SUPPORTED_NIPS,
  startEmbeddedRelay,
} from './start-embedded-relay.ts';
