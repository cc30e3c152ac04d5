// The conformance suite through the NWC adapter: the agent's backend is an NwcBackend talking NIP-47 over a
// real relay on 127.0.0.1 to the sandbox's wallet service, which fronts the sandbox's agent node (real LDK).
// The payer and the worker are the sandbox's other two nodes, used directly.
import { startNwcHarness } from '../../fakes/nwc-sandbox.ts';
import { runConformanceSuite } from '../conformance.ts';

runConformanceSuite('nwc (NIP-47 over a local relay to the sandbox wallet service)', startNwcHarness);
