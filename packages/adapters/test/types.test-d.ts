/**
 * Type tests of the adapters' public surface, checked by `tsc` (the typecheck target of
 * `npm test`): the adapters are scheduler adapters with their own input and output types,
 * their options are checked, and their error codes are a literal union.
 */
import type { Adapter } from '@fanout/scheduler';
import { expectTypeOf } from 'vitest';
import { AdapterError, type AdapterErrorCode } from '../src/index.js';
import { grepAdapter, readAdapter, type GrepAdapterOptions, type GrepInput, type GrepOutput, type ReadInput } from '../src/fs/index.js';
import { fetchAdapter, type FetchAdapterOptions } from '../src/web/index.js';

expectTypeOf(grepAdapter).returns.toEqualTypeOf<Adapter<GrepInput, GrepOutput>>();
expectTypeOf(grepAdapter()).toMatchTypeOf<Adapter>();
expectTypeOf(readAdapter()).toMatchTypeOf<Adapter<ReadInput>>();
expectTypeOf(fetchAdapter().close).toEqualTypeOf<() => Promise<void>>();
expectTypeOf<GrepAdapterOptions['engine']>().toEqualTypeOf<'auto' | 'ripgrep' | 'builtin' | undefined>();
// @ts-expect-error maxConcurrency is a number
const badFetch: FetchAdapterOptions = { maxConcurrency: '8' };
void badFetch;

expectTypeOf(new AdapterError('FANOUT_NOT_FOUND', 'gone').code).toEqualTypeOf<AdapterErrorCode>();
// @ts-expect-error not an adapter code
new AdapterError('FANOUT_GONE', 'a typo');
