import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  conservationViolation,
  emptyLedger,
  feeFor,
  formatMsat,
  splitShares,
} from '../../src/domain/money.ts';

test('the fee is base plus ppm of the amount, rounded down to the msat', () => {
  assert.is(feeFor(21_000_000n, { baseMsat: 1000n, ppm: 10_000 }), 211_000n);
  assert.is(feeFor(999n, { baseMsat: 0n, ppm: 1 }), 0n);
  assert.is(feeFor(0n, { baseMsat: 5n, ppm: 500_000 }), 5n);
});

test('a split never creates or loses a msat', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 2_100_000_000_000_000_000n }),
      fc.integer({ min: 0, max: 10_000 }),
      (net, bps) => {
        const { worker, poster } = splitShares(net, bps);
        assert.is(worker + poster, net);
        assert.ok(worker >= 0n && poster >= 0n);
      },
    ),
  );
});

test('the worker share of a split rounds down', () => {
  assert.equal(splitShares(1001n, 5000), { worker: 500n, poster: 501n });
});

test('the conservation check accepts a balanced ledger and names what is off in an unbalanced one', () => {
  const ledger = { ...emptyLedger(), receivedMsat: 100n, paidToWorkerMsat: 89n, feeMsat: 11n };
  assert.is(conservationViolation(ledger), null);
  assert.match(
    conservationViolation({ ...ledger, paidToWorkerMsat: 90n }) ?? '',
    'received 100 msat but accounted 101 msat',
  );
  assert.match(
    conservationViolation({ ...ledger, heldMsat: -1n, feeMsat: 12n }) ?? '',
    'heldMsat is negative',
  );
});

test('amounts print as sats when whole, msat otherwise', () => {
  assert.is(formatMsat(21_000n), '21 sat');
  assert.is(formatMsat(21_001n), '21001 msat');
});

test.run();
