/**
 * Imported first by the bundles of short commands (`grep`, `exec`): zod then builds its
 * schemas without their compiled fast path. With it, the first parse through each object
 * schema writes and compiles a parser with `new Function` (and zod probes `new Function` once
 * more to see whether it may), none of which the V8 code cache can keep: a short command
 * validates its plan once, so every start paid the compiles for a single parse. The setting is
 * this bundle's own (each bundle has its own copy of zod); long-running commands keep the fast path.
 */
import { config } from 'zod';

config({ jitless: true });
