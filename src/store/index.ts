// The store's public surface.
export { GENESIS_HASH, linkHash } from './audit-chain.ts';
export { openStore } from './open-store.ts';
export type * from './port.ts';
export { isStoreError, StoreError, type StoreErrorKind } from './store-error.ts';
export { urgentWrites, writesAreUrgent } from './write-priority.ts';
