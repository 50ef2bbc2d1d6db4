import { normalizeUrl, type Extractor } from '@fanout/aggregate';
import { defineAdapter, type Adapter } from '@fanout/scheduler';
import { z } from 'zod';

/**
 * Small pure steps the plan builders put between real operations: they read other
 * operations' outputs (through `$ref`) and decide what to do next, so that a plan stays data
 * and every step is accounted for like any operation.
 */

interface GrepLike {
  messages?: { type: string; data?: { path?: { text?: string }; stats?: { matches?: number; matched_lines?: number } } }[];
}

const rankFilesInput = z.object({
  /** Outputs of grep operations. */
  sources: z.array(z.unknown()),
  /** How many files to keep. */
  limit: z.number().int().min(1),
  /** How many groups to split them into (one read operation each). @default 1 */
  groups: z.number().int().min(1).default(1),
});

/** The files the searches rank highest: found by more patterns first, then by more matches. */
export interface RankFilesOutput {
  files: string[];
  groups: string[][];
  scores: { path: string; patterns: number; matches: number }[];
}

/** `rank-files`: ranks files by how many of the given grep outputs found them, and how often. */
export const rankFilesAdapter: Adapter<z.output<typeof rankFilesInput>, RankFilesOutput> = defineAdapter({
  kind: 'rank-files',
  input: rankFilesInput,
  defaults: { maxConcurrency: 4, optimalConcurrency: 4, idempotent: true },
  run({ sources, limit, groups }) {
    const scores = new Map<string, { patterns: number; matches: number }>();
    for (const source of sources) {
      if (source === null || typeof source !== 'object') continue;
      const seen = new Set<string>();
      for (const message of (source as GrepLike).messages ?? []) {
        const path = message.data?.path?.text;
        if (path === undefined) continue;
        const score = scores.get(path) ?? { patterns: 0, matches: 0 };
        if (!seen.has(path)) {
          seen.add(path);
          score.patterns++;
        }
        if (message.type === 'match') score.matches++;
        else if (message.type === 'end') score.matches = Math.max(score.matches, message.data?.stats?.matched_lines ?? message.data?.stats?.matches ?? 0);
        scores.set(path, score);
      }
    }
    const ranked = [...scores]
      .map(([path, s]) => ({ path, ...s }))
      .sort((a, b) => b.patterns - a.patterns || b.matches - a.matches || (a.path < b.path ? -1 : 1))
      .slice(0, limit);
    const files = ranked.map((r) => r.path);
    // Never an empty group: each becomes a read operation, and a read needs a file (an empty
    // or tiny tree has fewer files than groups).
    const split: string[][] = Array.from({ length: Math.min(groups, files.length) }, () => []);
    files.forEach((file, i) => {
      split[i % split.length]!.push(file);
    });
    return { files, groups: split, scores: ranked };
  },
});

interface SearchLike {
  results?: { url?: string; rank?: number }[];
}

const agreeInput = z.object({
  /** Outputs of search operations. */
  sources: z.array(z.unknown()),
  /** Searches that must agree on a URL. @default 2 */
  min: z.number().int().min(1).default(2),
  limit: z.number().int().min(1),
});

/** URLs several searches agree on, best agreed first. */
export interface AgreeUrlsOutput {
  urls: string[];
  agreement: { url: string; searches: number; bestRank: number }[];
}

/** `agree-urls`: the URLs (normalised) that at least `min` searches returned, most agreed first. */
export const agreeUrlsAdapter: Adapter<z.output<typeof agreeInput>, AgreeUrlsOutput> = defineAdapter({
  kind: 'agree-urls',
  input: agreeInput,
  defaults: { maxConcurrency: 4, optimalConcurrency: 4, idempotent: true },
  run({ sources, min, limit }) {
    const seen = new Map<string, { url: string; searches: number; bestRank: number }>();
    for (const source of sources) {
      if (source === null || typeof source !== 'object') continue;
      const inThis = new Set<string>();
      for (const result of (source as SearchLike).results ?? []) {
        if (typeof result.url !== 'string') continue;
        let key: string;
        try {
          key = normalizeUrl(result.url);
        } catch {
          continue;
        }
        const entry = seen.get(key) ?? { url: result.url, searches: 0, bestRank: Infinity };
        if (!inThis.has(key)) {
          inThis.add(key);
          entry.searches++;
        }
        entry.bestRank = Math.min(entry.bestRank, result.rank ?? Infinity);
        seen.set(key, entry);
      }
    }
    const agreement = [...seen.values()]
      .filter((e) => e.searches >= min)
      .sort((a, b) => b.searches - a.searches || a.bestRank - b.bestRank || (a.url < b.url ? -1 : 1))
      .slice(0, limit);
    return { urls: agreement.map((e) => e.url), agreement };
  },
});

/** The steps plan builders use; register them with the scheduler next to the real adapters. */
export const PLAN_STEPS: readonly Adapter[] = [rankFilesAdapter as Adapter, agreeUrlsAdapter as Adapter];

/**
 * How the report reads the steps' outputs: the ranking and the agreement, each entry saying
 * why it stands where it does. Pass them to `aggregate` with the plans that use the steps.
 */
export const STEP_EXTRACTORS: readonly Extractor[] = [
  {
    kind: 'rank-files',
    extract(output, sink) {
      for (const score of (output as RankFilesOutput).scores ?? []) {
        const searches = `${score.patterns} search${score.patterns === 1 ? '' : 'es'}`;
        sink.item({ type: 'ranked files', key: score.path, label: `${score.path} — found by ${searches}, ${score.matches} matching line${score.matches === 1 ? '' : 's'}`, data: { ...score } });
      }
    },
    describe: (input, output) => {
      const sources = (input as { sources?: unknown[] } | undefined)?.sources;
      const files = (output as RankFilesOutput | undefined)?.files;
      return `${files === undefined ? 'the' : `the top ${files.length}`} files${Array.isArray(sources) ? ` of ${sources.length} searches` : ''}`;
    },
  },
  {
    kind: 'agree-urls',
    extract(output, sink) {
      for (const agreed of (output as AgreeUrlsOutput).agreement ?? []) {
        sink.item({ type: 'agreed URLs', key: agreed.url, label: `${agreed.url} — ${agreed.searches} searches agree, best rank ${agreed.bestRank}`, data: { ...agreed } });
      }
    },
    describe: (input, output) => {
      const min = (input as { min?: unknown } | undefined)?.min;
      const urls = (output as AgreeUrlsOutput | undefined)?.urls;
      return `${urls === undefined ? 'URLs' : `${urls.length} URLs`} at least ${typeof min === 'number' ? min : 2} searches agree on`;
    },
  },
];
