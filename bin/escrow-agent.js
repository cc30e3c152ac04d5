#!/usr/bin/env node
// The product's command. The sources are TypeScript run through tsx (a runtime dependency): no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/cli.ts');
process.exitCode = await main(process.argv.slice(2));
