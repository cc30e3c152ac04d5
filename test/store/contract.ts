// The store's contract, written once and run against every database (test/store/sqlite.test.ts,
// test/store/postgres.test.ts). Each test gets an empty database of its own.
import type { Test } from 'uvu';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { registerArbitratorContract } from './contract-arbitrators.ts';
import { registerAuditContract } from './contract-audit.ts';
import { registerHeadsContract } from './contract-heads.ts';
import { registerKeyRecordContract } from './contract-keys.ts';
import { registerLeaseContract } from './contract-leases.ts';
import { registerMessagingContract } from './contract-messaging.ts';
import { registerMoneyContract } from './contract-money.ts';
import { registerPayoutRetryContract } from './contract-payout-retry.ts';
import { registerTaskContract } from './contract-tasks.ts';
import { registerTransactionContract } from './contract-transactions.ts';

export function registerStoreContract(test: Test, databases: TestDatabases): void {
  registerTransactionContract(test, databases);
  registerTaskContract(test, databases);
  registerMoneyContract(test, databases);
  registerPayoutRetryContract(test, databases);
  registerMessagingContract(test, databases);
  registerAuditContract(test, databases);
  registerKeyRecordContract(test, databases);
  registerArbitratorContract(test, databases);
  registerHeadsContract(test, databases);
  registerLeaseContract(test, databases);
  test.after(() => databases.dispose());
}
