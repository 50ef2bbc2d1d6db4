import type { Extractor } from '../extractor.js';
import { analyzeExtractor } from './analyze.js';
import { bashExtractor } from './bash.js';
import { fetchExtractor } from './fetch.js';
import { globExtractor } from './glob.js';
import { grepExtractor } from './grep.js';
import { readExtractor } from './read.js';
import { searchExtractor } from './search.js';
import { writeExtractor } from './write.js';

export { analyzeExtractor, bashExtractor, fetchExtractor, globExtractor, grepExtractor, readExtractor, searchExtractor, writeExtractor };

/** One extractor per adapter kind of `@fanout/adapters`, written against its output contract. */
export const BUILTIN_EXTRACTORS: readonly Extractor[] = [globExtractor, readExtractor, writeExtractor, grepExtractor, bashExtractor, fetchExtractor, searchExtractor, analyzeExtractor];
