// One StoreTx per transaction: every repository shares the transaction's session, so everything it writes
// commits or rolls back together.
import type { StoreTx } from './port.ts';
import { createArbitratorRepository } from './repositories/arbitrators.ts';
import { createCursorRepository } from './repositories/cursors.ts';
import { createFundingRepository } from './repositories/fundings.ts';
import { createHeadsRepository } from './repositories/heads.ts';
import { createInboundRepository } from './repositories/inbound.ts';
import { createKeyRecordRepository } from './repositories/keys.ts';
import { createLeaseRepository } from './repositories/leases.ts';
import { createOutboxRepository } from './repositories/outbox.ts';
import { createPayoutRepository } from './repositories/payouts.ts';
import { createSettingsRepository } from './repositories/settings.ts';
import { createStatsReader } from './repositories/stats.ts';
import { createTaskRepository } from './repositories/tasks.ts';
import type { RepositoryContext } from './sql-session.ts';

export function createStoreTransaction(context: RepositoryContext): StoreTx {
  return {
    tasks: createTaskRepository(context),
    fundings: createFundingRepository(context),
    payouts: createPayoutRepository(context),
    inbound: createInboundRepository(context),
    outbox: createOutboxRepository(context),
    cursors: createCursorRepository(context),
    keys: createKeyRecordRepository(context),
    arbitrators: createArbitratorRepository(context),
    heads: createHeadsRepository(context),
    settings: createSettingsRepository(context),
    leases: createLeaseRepository(context),
    stats: createStatsReader(context),
  };
}
