import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { OperationSpec, Plan } from '@fanout/scheduler';
import { codebaseSize, profileSize, type ProfileSize } from '../profiles.js';

/** A discovery glob: what it looks for. */
interface Discovery {
  id: string;
  patterns: string[];
  dot?: boolean;
}

const SOURCE = '**/*.{ts,tsx,js,jsx,mjs,cjs,py,go,rs,java,kt,rb,php,c,h,cc,cpp,hpp,cs,swift,scala}';

/** Discovery globs, most useful first; a size takes as many as it has glob operations. */
const DISCOVERIES: readonly Discovery[] = [
  { id: 'source', patterns: [SOURCE] },
  {
    id: 'config',
    patterns: [
      '**/{package.json,tsconfig*.json,pyproject.toml,setup.py,setup.cfg,Cargo.toml,go.mod,pom.xml,build.gradle,build.gradle.kts,Gemfile,composer.json,Makefile,CMakeLists.txt,Dockerfile,nx.json,turbo.json}',
      '**/*.config.{js,cjs,mjs,ts}',
    ],
  },
  { id: 'docs', patterns: ['**/*.{md,mdx,rst,adoc}'] },
  { id: 'tests', patterns: ['**/{test,tests,__tests__,spec}/**/*', '**/*.{test,spec}.*', '**/test_*.py', '**/*_test.go'] },
  { id: 'entry-points', patterns: ['**/{index,main,app,server,cli,__main__}.*', '**/bin/*'] },
  { id: 'types', patterns: ['**/*.d.ts', '**/*.pyi'] },
  { id: 'ci', patterns: ['.github/workflows/*', '.gitlab-ci.yml', '.circleci/*', 'Jenkinsfile', '.ci/**'], dot: true },
  { id: 'scripts', patterns: ['**/*.{sh,bash,ps1}', 'scripts/**'] },
  { id: 'typescript', patterns: ['**/*.{ts,tsx,mts,cts}'] },
  { id: 'javascript', patterns: ['**/*.{js,jsx,mjs,cjs}'] },
  { id: 'python', patterns: ['**/*.py'] },
  { id: 'go', patterns: ['**/*.go'] },
  { id: 'rust', patterns: ['**/*.rs'] },
  { id: 'jvm', patterns: ['**/*.{java,kt,scala}'] },
  { id: 'c-family', patterns: ['**/*.{c,h,cc,cpp,hpp,cs}'] },
  { id: 'data', patterns: ['**/*.{json,yaml,yml,toml,xml,csv}'] },
];

/** The discovery globs the codebase map reads (the configuration files and CI), for `mapOnly`. */
const MAP_DISCOVERIES: ReadonlySet<string> = new Set(['config', 'ci']);

/** What the searches look for (the profile's patterns), before the user's own. */
export const SEARCHES: readonly { id: string; pattern: string; ignoreCase?: boolean }[] = [
  { id: 'entry-points', pattern: String.raw`^\s*(export\s+default\b|module\.exports\b|if\s+__name__\s*==|func\s+main\s*\(|fn\s+main\s*\(|public\s+static\s+void\s+main\b)` },
  { id: 'exports', pattern: String.raw`^\s*(export\s+(async\s+)?(function|class|const|let|interface|type|enum|default)\b|def\s+[A-Za-z_]\w*\s*\(|pub\s+(fn|struct|enum|trait)\b|func\s+[A-Z]\w*)` },
  { id: 'markers', pattern: String.raw`\b(TODO|FIXME|HACK|XXX)\b` },
  { id: 'tests', pattern: String.raw`\b(describe|it|test)\s*\(|\bdef\s+test_|\bfunc\s+Test[A-Z]|#\[test\]` },
  { id: 'configuration', pattern: String.raw`process\.env\b|os\.environ|\bgetenv\s*\(|import\.meta\.env\b` },
  { id: 'imports', pattern: String.raw`^\s*(import\s.+\sfrom\s|import\s+['"]|from\s+\S+\s+import\s|const\s+\w+\s*=\s*require\(|use\s+[a-z_]+::)` },
];

/**
 * The `exports` search per language: what a module exposes is spelt differently in each, and
 * a search for all spellings in every file fills its cap with noise (`def` in Rust comments,
 * `export` in shell scripts). With the languages of the tree known, the plan searches each
 * present language for its own spelling, in its own files only.
 */
export const EXPORT_SEARCHES: Readonly<Record<string, { id: string; pattern: string; include: string[] }>> = {
  TypeScript: {
    id: 'exports-js',
    pattern: String.raw`^\s*export\s+(default\s+)?(declare\s+)?(async\s+)?(function|class|abstract\s+class|const|let|interface|type|enum|namespace)\b|^\s*module\.exports\b`,
    include: ['*.{ts,tsx,mts,cts,js,jsx,mjs,cjs}'],
  },
  Rust: { id: 'exports-rust', pattern: String.raw`^\s*pub(\([^)]*\))?\s+(async\s+)?(unsafe\s+)?(fn|struct|enum|trait|type|const|static|mod|use|union)\b|^\s*#\[macro_export\]`, include: ['*.rs'] },
  Go: { id: 'exports-go', pattern: String.raw`^(func\s+(\([^)]*\)\s*)?|type\s+|var\s+|const\s+)[A-Z]\w*`, include: ['*.go'] },
  Python: { id: 'exports-python', pattern: String.raw`^(__all__\s*[:=]|(async\s+)?def\s+[A-Za-z]\w*\s*\(|class\s+[A-Za-z]\w*)`, include: ['*.py', '*.pyi'] },
  Java: { id: 'exports-jvm', pattern: String.raw`^\s*public\s+((abstract|final|static|sealed)\s+)*(class|interface|enum|record)\s+\w+`, include: ['*.java', '*.kt', '*.scala'] },
  Ruby: { id: 'exports-ruby', pattern: String.raw`^\s*(class|module)\s+[A-Z]\w*|^\s*def\s+(self\.)?\w+`, include: ['*.rb'] },
};
// JavaScript shares TypeScript's search; Kotlin and Scala share Java's.
const EXPORT_ALIASES: Readonly<Record<string, string>> = { JavaScript: 'TypeScript', Kotlin: 'Java', Scala: 'Java' };

/** Options of {@link exploreCodebasePlan}. */
export interface ExploreCodebaseOptions {
  /** The size to plan for; counted from the tree when absent (see {@link exploreCodebase}). */
  size?: 'small' | 'medium' | 'large';
  /** Extra patterns to search for (regular expressions, as grep takes them). */
  patterns?: readonly string[];
  /** Lines read from the top of each file chosen. @default 120 */
  readLines?: number;
  /** Files chosen for reading, per read operation. @default 5 */
  filesPerRead?: number;
  /**
   * Add the codebase map's operations (`analyze-map`: line kinds, imports, outlines,
   * manifests; `discover-ci`), which `buildCodebaseMap` turns into the report. @default true
   */
  map?: boolean;
  /**
   * On the large size, with the map: plan only the operations whose results the codebase map
   * reads — the `config` and `ci` discovery globs, the `exports` searches (each language its
   * own, over the same parts of the tree and with the same caps as in the whole plan, so the
   * key files' export matches do not change), the user's patterns and the analyses — and none
   * of the other discovery globs, searches, the ranking and the reads, whose results only the
   * aggregated report (`map: false`) shows. On Babel (27,700 files) they were a quarter of
   * the command's CPU time; on the smaller sizes they cost little, and those keep the whole
   * plan. @default false
   */
  mapOnly?: boolean;
  /**
   * The languages of the tree (names as `languageOf` gives them). When known, the `exports`
   * search becomes one per language present (see {@link EXPORT_SEARCHES}).
   */
  languages?: readonly string[];
}

/**
 * Splits the top-level entries of a tree into `groups` sets of paths, so each search runs as
 * `groups` operations over a part of the tree, so one search keeps several workers busy.
 */
export async function partitionTree(root: string, groups: number): Promise<string[][]> {
  let names: string[];
  try {
    // What a walk of the tree would skip is skipped here too: hidden entries, node_modules,
    // what .gitignore excludes (a path named explicitly is always searched), and symbolic
    // links, which may lead outside the allowed roots.
    // Imported here: whoever only builds plans (or runs shell commands) never loads the fs stack.
    const { GitignoreFilter } = await import('@fanout/adapters/fs');
    const entries = await new GitignoreFilter({ boundaries: [root] }).filter(root, await readdir(root, { withFileTypes: true }));
    names = entries
      .filter((entry) => !entry.name.startsWith('.') && entry.name !== 'node_modules' && !entry.isSymbolicLink())
      .map((entry) => entry.name)
      .sort();
  } catch {
    names = [];
  }
  if (groups <= 1 || names.length <= 1) return [['.']];
  const parts: string[][] = Array.from({ length: Math.min(groups, names.length) }, () => []);
  for (const [i, name] of names.entries()) parts[i % parts.length]!.push(name);
  return parts;
}

/**
 * The explore-codebase plan for a size: discovery globs, searches (the profile's patterns and
 * the user's, each over every part of the tree), a ranking of the files the searches found,
 * reads of the highest-ranked files, and two analyses (languages and markers). Everything
 * without a dependency runs at once; the reads wait for the ranking, which waits for the
 * searches.
 */
export function exploreCodebasePlan(root: string, size: ProfileSize, parts: readonly string[][], options: ExploreCodebaseOptions = {}): Plan {
  const cwd = resolve(root);
  const globs = size.operations.glob ?? 4;
  const greps = size.operations.grep ?? 6;
  const reads = size.operations.read ?? 2;
  const operations: OperationSpec[] = [];
  const mapOnly = options.mapOnly === true && options.map !== false && size.name === 'large';

  for (const discovery of DISCOVERIES.slice(0, globs)) {
    if (mapOnly && !MAP_DISCOVERIES.has(discovery.id)) continue;
    operations.push({
      id: `discover-${discovery.id}`,
      kind: 'glob',
      priority: 2,
      input: { patterns: discovery.patterns, cwd, maxResults: 20_000, ...(discovery.dot === true ? { dot: true } : {}) },
    });
  }

  // Searches: every pattern over every part of the tree, as many as the size allows.
  const patterns: { id: string; pattern: string; include?: string[] }[] = [];
  for (const search of SEARCHES) {
    const perLanguage = search.id === 'exports' ? exportSearchesFor(options.languages) : undefined;
    if (perLanguage === undefined) patterns.push({ id: search.id, pattern: search.pattern });
    else patterns.push(...perLanguage);
  }
  patterns.push(...(options.patterns ?? []).map((pattern, i) => ({ id: `user-${i + 1}`, pattern })));
  const perPattern = Math.max(1, Math.floor(greps / Math.max(1, Math.min(patterns.length, greps))));
  const groups = parts.slice(0, perPattern);
  const searchIds: string[] = [];
  for (const { id, pattern, include } of patterns) {
    if (mapOnly && !id.startsWith('exports') && !id.startsWith('user-')) continue;
    groups.forEach((paths, g) => {
      const searchId = groups.length === 1 ? `search-${id}` : `search-${id}-${g + 1}`;
      searchIds.push(searchId);
      operations.push({
        id: searchId,
        kind: 'grep',
        priority: 1,
        input: { pattern, paths: paths.map((p) => resolve(cwd, p)), maxCount: 20, maxMatches: 400, maxOutputBytes: 512 * 1024, ...(include === undefined ? {} : { include }) },
      });
    });
  }
  if (!mapOnly) {
    operations.push({
      id: 'rank',
      kind: 'rank-files',
      input: { sources: searchIds.map((id) => ({ $ref: id, optional: true })), limit: reads * (options.filesPerRead ?? 5), groups: reads },
    });
    operations.push({
      id: 'read-top',
      kind: 'read',
      input: { paths: { $item: true }, head: options.readLines ?? 120, maxBytes: 64 * 1024 },
      forEach: { $ref: 'rank', path: 'groups' },
    });
  }
  operations.push({ id: 'analyze-languages', kind: 'analyze', priority: 1, input: { analyzer: 'stats', paths: [cwd] } });
  operations.push({ id: 'analyze-markers', kind: 'analyze', priority: 1, input: { analyzer: 'markers', paths: [cwd], maxMarkers: 200 } });
  if (options.map !== false) {
    // The map reads every file once more in the same scan pass as the statistics and the
    // searches (one walk, one read per file, shared), and looks at CI files the globs above
    // may not have (they are hidden).
    operations.push({ id: 'analyze-map', kind: 'analyze', priority: 1, input: { analyzer: 'map', paths: [cwd] } });
    if (!operations.some((op) => op.id === 'discover-ci')) {
      const ci = DISCOVERIES.find((d) => d.id === 'ci')!;
      operations.push({ id: 'discover-ci', kind: 'glob', priority: 2, input: { patterns: ci.patterns, cwd, maxResults: 20_000, dot: true } });
    }
  }
  // Searches that failed must not hold the reading back: the ranking takes what there is.
  return { name: `explore-codebase (${size.name}) ${cwd}`, operations, policy: { failure: 'continue' } };
}

/** The per-language `exports` searches for `languages`, or undefined when no language of them has one. */
function exportSearchesFor(languages: readonly string[] | undefined): { id: string; pattern: string; include: string[] }[] | undefined {
  if (languages === undefined) return undefined;
  const chosen = new Set<string>();
  for (const language of languages) {
    const key = EXPORT_ALIASES[language] ?? language;
    if (EXPORT_SEARCHES[key] !== undefined) chosen.add(key);
  }
  if (chosen.size === 0) return undefined;
  return Object.keys(EXPORT_SEARCHES)
    .filter((key) => chosen.has(key))
    .map((key) => EXPORT_SEARCHES[key]!);
}

/**
 * Counts up to `limit` files under `root` (the caller's way: a glob operation, or a walk);
 * returning the paths too lets the plan search each language present its own way.
 */
export type FileCounter = (root: string, limit: number) => Promise<number | { count: number; files: readonly string[] }>;

/**
 * Plans an exploration of `root`: the size is the one named, or else chosen by counting the
 * files first (with `countFiles`, up to the large threshold).
 *
 * @example
 * const { plan, size } = await exploreCodebase('.', { countFiles });
 */
export async function exploreCodebase(root: string, options: ExploreCodebaseOptions & { countFiles?: FileCounter } = {}): Promise<{ plan: Plan; size: ProfileSize; files: number | undefined }> {
  let size: ProfileSize | undefined;
  let files: number | undefined;
  if (options.size !== undefined) {
    size = profileSize('explore-codebase', options.size);
    if (size === undefined) throw new RangeError(`expected size small, medium or large, got ${JSON.stringify(options.size)}`);
  } else {
    if (options.countFiles === undefined) throw new TypeError('expected a size, or countFiles to choose one by counting the files');
    const counted = await options.countFiles(root, 10_001);
    files = typeof counted === 'number' ? counted : counted.count;
    if (typeof counted !== 'number' && options.languages === undefined) {
      const { languageOf } = await import('@fanout/adapters/analyze');
      options = { ...options, languages: [...new Set(counted.files.map((f) => languageOf(f)))] };
    }
    size = codebaseSize(files);
  }
  const greps = size.operations.grep ?? 6;
  const patterns = SEARCHES.length + (options.patterns?.length ?? 0);
  const parts = await partitionTree(resolve(root), Math.max(1, Math.floor(greps / Math.max(1, Math.min(patterns, greps)))));
  return { plan: exploreCodebasePlan(root, size, parts, options), size, files };
}
