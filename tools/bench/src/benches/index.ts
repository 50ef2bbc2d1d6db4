import type { Bench } from '../types.js';
import { agentsFleet } from './agents.js';
import { aggregateBenches } from './aggregate.js';
import { distributedScale } from './distributed.js';
import { cliBenches } from './cli.js';
import { fsBenches } from './fs.js';
import { grepBenches } from './grep.js';
import { grepCliBenches } from './grep-cli.js';
import { mapBenches } from './map.js';
import { mcpBenches } from './mcp.js';
import { monitorBenches } from './monitor.js';
import { realTreeBenches } from './real-trees.js';
import { schedulerDag } from './scheduler-dag.js';
import { schedulerIo } from './scheduler-io.js';
import { schedulerNoop } from './scheduler-noop.js';
import { serverBenches } from './server.js';
import { shellBenches } from './shell.js';
import { webBenches } from './web.js';

/** Every benchmark, in the order they run. Each group file is owned by the work it measures. */
export const BENCHES: readonly Bench[] = [
  schedulerNoop,
  schedulerDag,
  schedulerIo,
  ...fsBenches,
  ...grepBenches,
  ...grepCliBenches,
  ...shellBenches,
  ...webBenches,
  ...monitorBenches,
  ...aggregateBenches,
  ...cliBenches,
  ...realTreeBenches,
  ...mapBenches,
  ...mcpBenches,
  ...serverBenches,
  agentsFleet,
  distributedScale,
];
