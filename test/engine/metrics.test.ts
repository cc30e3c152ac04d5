// The relay gauges are read from the relay pool at scrape time: what the pool says of each relay is what an
// operator's Prometheus sees, with nothing kept twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMetrics, type RelayHealthReading } from '../../src/engine/metrics.ts';

function reading(url: string, overrides: Partial<RelayHealthReading> = {}): RelayHealthReading {
  return {
    url,
    misbehaviour: null,
    reqsSent: 0,
    eventsReceived: 0,
    droppedByReason: {},
    eventsOverBudget: 0,
    unexpectedFrames: 0,
    notices: 0,
    eventsBuffered: 0,
    bytesBuffered: 0,
    ...overrides,
  };
}

test('a misbehaving relay, its dropped frames by reason and its REQs are exported per relay at scrape time', async () => {
  const metrics = createMetrics();
  let relays = [
    reading('ws://honest', { reqsSent: 3, eventsReceived: 10 }),
    reading('ws://liar', {
      misbehaviour: 'ignores until',
      reqsSent: 50,
      droppedByReason: { too_deep: 2, not_json: 1 },
      notices: 10_000,
    }),
  ];
  metrics.watchRelays(() => relays);
  const text = await metrics.registry.metrics();
  assert.match(text, 'escrow_relay_misbehaving{relay="ws://honest"} 0');
  assert.match(text, 'escrow_relay_misbehaving{relay="ws://liar"} 1');
  assert.match(text, 'escrow_relay_reqs_sent{relay="ws://liar"} 50');
  assert.match(text, 'escrow_relay_frames_dropped{relay="ws://liar",reason="too_deep"} 2');
  assert.match(text, 'escrow_relay_notices{relay="ws://liar"} 10000');
  // The next scrape reads again: a relay that behaves again is 0, one no longer listed is gone.
  relays = [reading('ws://liar', { reqsSent: 51 })];
  const later = await metrics.registry.metrics();
  assert.match(later, 'escrow_relay_misbehaving{relay="ws://liar"} 0');
  assert.not.match(later, 'ws://honest');
});

test('without a relay pool the relay gauges are empty, not an error', async () => {
  const text = await createMetrics().registry.metrics();
  assert.not.match(text, 'escrow_relay_misbehaving{');
});

test.run();
