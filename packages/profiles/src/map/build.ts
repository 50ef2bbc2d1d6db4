/**
 * The codebase map: the explore-codebase run's outputs correlated into the sections a
 * newcomer asks about — overview, languages, structure, entry points, key files, tests /
 * build / CI, configuration, markers, heads. Every path is relative to the explored root,
 * and every section names the operations (by id) its facts come from, so a claim can be
 * checked without repeating any pattern. Pure: it reads outputs, never the disk.
 */
import { posix, relative, resolve, sep } from 'node:path';
import type { FileFacts, FileSymbol, MapOutput, MarkersOutput, StatsOutput } from '@fanout/adapters/analyze';
import { importEdges, pageRank } from './graph.js';
import { firstParagraph, makeTargets, parseGoMod, parseGradleSettings, parsePackageJson, parsePom, tomlSections, tomlString, tomlStrings, workspaceGlobs } from './manifests.js';

/** One operation of the run, as the map reads it. */
export interface MapOperation {
  id: string;
  kind: string;
  state: string;
  output?: unknown;
}

/** The operation ids a section's facts come from. */
type Ops = string[];

export interface LanguageRow {
  language: string;
  files: number;
  blank: number;
  comment: number;
  code: number;
}

export interface Workspace {
  /** `npm`, `pnpm`, `yarn`, `cargo`, `go`, `python`, `maven`, `gradle`. */
  kind: string;
  /** The manifest that declares it. */
  manifest: string;
  members: { name: string; path: string; version?: string; description?: string }[];
}

export interface EntryPoint {
  path: string;
  /** `bin`, `main`, `exports`, `script`, `main function`, `server`. */
  kind: string;
  name?: string;
  /** The manifest that declares it, or the file's own `main`. */
  from: string;
}

export interface KeyFile {
  path: string;
  language: string;
  /** PageRank score over the import graph. */
  score: number;
  importedBy: number;
  imports: number;
  lines: number;
  /** Matches of the language's export search in this file (see the section's ops). */
  exportMatches?: number;
  symbols: FileSymbol[];
}

/** The map of a codebase (what `--json` prints; the text is a budgeted rendering of it). */
export interface CodebaseMap {
  name: string;
  overview: { description?: string; descriptionFrom?: string; files: number; bytes: number; lines: number; binaryFiles: number; truncated: boolean; ops: Ops };
  languages: { rows: LanguageRow[]; ops: Ops };
  structure: { workspaces: Workspace[]; layout: { path: string; files: number; language?: string }[]; ops: Ops };
  entryPoints: { items: EntryPoint[]; ops: Ops };
  keyFiles: { items: KeyFile[]; edges: number; method: string; ops: Ops };
  tests: { frameworks: { name: string; from: string }[]; files: number; cases: number; dirs: { path: string; files: number }[]; ops: Ops };
  build: { scripts: { manifest: string; name: string; command: string }[]; makeTargets: string[]; ci: string[]; ops: Ops };
  configuration: { env: { name: string; files: string[] }[]; files: string[]; ops: Ops };
  markers: { counts: Record<string, number>; total: number; truncated: boolean; top: { path: string; count: number }[]; examples: { path: string; line: number; kind: string; text: string }[]; ops: Ops };
  heads: { items: { path: string; lines: string[] }[]; ops: Ops };
  /** Matches of the user's own patterns (`--pattern`), by operation. */
  patterns: { id: string; matches: { path: string; line: number; text: string }[]; total: number }[];
  /** Operations that failed or were skipped: the map may miss what they would have found. */
  problems: { id: string; state: string }[];
}

/** Languages whose imports the map analyzer reads: the nodes of the import graph. */
const GRAPH_LANGUAGES = new Set(['TypeScript', 'JavaScript', 'Python', 'Go', 'Rust', 'Java', 'Kotlin', 'Scala', 'C', 'C++', 'Ruby']);
const TEST_FRAMEWORKS = ['vitest', 'jest', 'mocha', 'ava', 'tap', 'uvu', '@playwright/test', 'cypress', 'jasmine', 'karma'];
const TEST_PATH = /(^|\/)(tests?|__tests__|spec)\/|(\.|_)(test|spec)\.[^/]+$|(^|\/)test_[^/]+\.py$|_test\.go$/;
/** The names of a test directory (`/^(tests?|__tests__|spec)$/`). */
const TEST_DIRS: ReadonlySet<string> = new Set(['test', 'tests', '__tests__', 'spec']);

/**
 * A file's facts as the map reads them: its path relative to the root, and whether that path
 * is a test's (asked of most files two or three times). Copied field by field: a spread of
 * each of a large tree's 27,000 facts objects (and the map of them built from pairs) was a
 * fifth of the map's time on Babel.
 */
interface Fact extends Omit<FileFacts, 'text'> {
  rel: string;
  testPath: boolean;
  /** Always present (undefined when the file has none), so that every fact has one shape. */
  text: string | undefined;
}

function factOf(f: FileFacts, rel: string): Fact {
  return {
    path: f.path,
    rel,
    testPath: TEST_PATH.test(rel),
    language: f.language,
    bytes: f.bytes,
    blank: f.blank,
    comment: f.comment,
    code: f.code,
    imports: f.imports,
    symbols: f.symbols,
    env: f.env,
    main: f.main,
    tests: f.tests,
    text: f.text,
  };
}

/** Builds the map of `root` from the run's operations (see `exploreCodebasePlan`). */
export function buildCodebaseMap(root: string, operations: Iterable<MapOperation>): CodebaseMap {
  const ops = [...operations];
  const ok = (id: string): boolean => ops.some((o) => o.id === id && o.state === 'succeeded');
  const outputOf = <T>(id: string): T | undefined => ops.find((o) => o.id === id && o.state === 'succeeded')?.output as T | undefined;
  const ids = (test: (id: string) => boolean): Ops => ops.filter((o) => o.state === 'succeeded' && test(o.id)).map((o) => o.id);
  // The analyses report paths under the root they were given: cut the prefix (path.relative
  // resolves both paths again on every call, a tenth of a millisecond each on a large tree).
  const base = resolve(root);
  const prefix = base.endsWith(sep) ? base : `${base}${sep}`;
  const rel = (path: string): string => {
    const r = path.startsWith(prefix) ? path.slice(prefix.length) : path === base ? '' : relative(base, path);
    return r === '' ? '.' : sep === '/' ? r : r.split(sep).join('/');
  };

  const mapOut = outputOf<MapOutput>('analyze-map');
  const stats = outputOf<StatsOutput>('analyze-languages');
  const markersOut = outputOf<MarkersOutput>('analyze-markers');
  const facts: Fact[] = [];
  const byPath = new Map<string, Fact>();
  for (const f of mapOut?.files ?? []) {
    const fact = factOf(f, rel(f.path));
    facts.push(fact);
    byPath.set(fact.rel, fact);
  }
  const text = (path: string): string | undefined => byPath.get(path)?.text;
  // Only manifests, READMEs and CI files come with their text: a few of the tree's files.
  const withText = facts.filter((f) => f.text !== undefined);
  const named = (path: string, name: string): boolean => path === name || path.endsWith(`/${name}`);
  const M = ok('analyze-map') ? ['analyze-map'] : [];

  // ── Manifests ──────────────────────────────────────────────────────────────────────
  const packageJsons = withText.filter((f) => named(f.rel, 'package.json')).map((f) => ({ path: f.rel, dir: posix.dirname(f.rel), pkg: parsePackageJson(f.text!) }));
  const cargos = withText.filter((f) => named(f.rel, 'Cargo.toml')).map((f) => ({ path: f.rel, dir: posix.dirname(f.rel), toml: tomlSections(f.text!) }));
  const goMods = withText.filter((f) => named(f.rel, 'go.mod')).map((f) => ({ path: f.rel, dir: posix.dirname(f.rel), ...parseGoMod(f.text!) }));
  const pyprojects = withText.filter((f) => named(f.rel, 'pyproject.toml')).map((f) => ({ path: f.rel, dir: posix.dirname(f.rel), toml: tomlSections(f.text!) }));
  const rootPkg = packageJsons.find((p) => p.dir === '.')?.pkg;
  const rootCargo = cargos.find((c) => c.dir === '.');
  const rootPy = pyprojects.find((p) => p.dir === '.');
  const rootGo = goMods.find((g) => g.dir === '.');

  // ── Overview ──────────────────────────────────────────────────────────────────────
  const readme = withText.filter((f) => /^readme(\.\w+)?$/i.test(posix.basename(f.rel))).sort((a, b) => a.rel.split('/').length - b.rel.split('/').length)[0];
  const pyName = tomlString(rootPy?.toml.get('project')?.get('name')) ?? tomlString(rootPy?.toml.get('tool.poetry')?.get('name'));
  const cargoName = tomlString(rootCargo?.toml.get('package')?.get('name'));
  const name = rootPkg?.name ?? cargoName ?? pyName ?? rootGo?.module ?? posix.basename(root.split(sep).join('/'));
  const manifestDescription =
    rootPkg?.description ??
    tomlString(rootCargo?.toml.get('package')?.get('description')) ??
    tomlString(rootPy?.toml.get('project')?.get('description')) ??
    tomlString(rootPy?.toml.get('tool.poetry')?.get('description'));
  const readmeParagraph = readme?.text === undefined ? undefined : firstParagraph(readme.text);
  const description = readmeParagraph ?? manifestDescription;
  const descriptionFrom = readmeParagraph !== undefined ? readme!.rel : manifestDescription !== undefined ? (packageJsons.find((p) => p.dir === '.')?.path ?? rootCargo?.path ?? rootPy?.path) : undefined;
  const languageRows: LanguageRow[] = Object.entries(mapOut?.languages ?? {})
    .map(([language, l]) => ({ language, files: l.files, blank: l.blank, comment: l.comment, code: l.code }))
    .sort((a, b) => b.code - a.code || b.files - a.files || (a.language < b.language ? -1 : 1));
  const totalLines = languageRows.reduce((s, r) => s + r.blank + r.comment + r.code, 0);

  // ── Structure ─────────────────────────────────────────────────────────────────────
  const workspaces: Workspace[] = [];
  const globRe = (glob: string): RegExp =>
    new RegExp(
      `^${glob
        .replace(/^\.\//, '')
        .replace(/\/$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\u0000')
        .replace(/\*/g, '[^/]+')
        .replace(/\u0000/g, '.*')}$`,
    );
  const matchDirs = (globs: readonly string[], dirs: readonly string[]): string[] => {
    const include = globs.filter((g) => !g.startsWith('!')).map(globRe);
    const exclude = globs.filter((g) => g.startsWith('!')).map((g) => globRe(g.slice(1)));
    return dirs.filter((d) => d !== '.' && include.some((re) => re.test(d)) && !exclude.some((re) => re.test(d))).sort();
  };
  const npmGlobs = workspaceGlobs(rootPkg, text('pnpm-workspace.yaml'));
  if (npmGlobs.length > 0) {
    const kind = byPath.has('pnpm-workspace.yaml') ? 'pnpm' : byPath.has('yarn.lock') || byPath.has('.yarnrc.yml') ? 'yarn' : 'npm';
    const members = matchDirs(
      npmGlobs,
      packageJsons.map((p) => p.dir),
    ).map((dir) => {
      const pkg = packageJsons.find((p) => p.dir === dir)?.pkg;
      return { name: pkg?.name ?? dir, path: dir, ...(pkg?.version === undefined ? {} : { version: pkg.version }), ...(pkg?.description === undefined ? {} : { description: pkg.description }) };
    });
    workspaces.push({ kind, manifest: kind === 'pnpm' ? 'pnpm-workspace.yaml' : 'package.json', members });
  }
  const cargoWorkspace = rootCargo?.toml.get('workspace');
  if (cargoWorkspace !== undefined) {
    const globs = [...tomlStrings(cargoWorkspace.get('members')), ...tomlStrings(cargoWorkspace.get('exclude')).map((g) => `!${g}`)];
    const members = matchDirs(
      globs,
      cargos.map((c) => c.dir),
    ).map((dir) => {
      const pkg = cargos.find((c) => c.dir === dir)?.toml.get('package');
      const version = tomlString(pkg?.get('version'));
      const desc = tomlString(pkg?.get('description')) || undefined;
      return { name: tomlString(pkg?.get('name')) ?? dir, path: dir, ...(version === undefined ? {} : { version }), ...(desc === undefined ? {} : { description: desc }) };
    });
    workspaces.push({ kind: 'cargo', manifest: rootCargo!.path, members });
  } else if (cargos.length > 0) {
    const members = cargos.map((c) => ({ name: tomlString(c.toml.get('package')?.get('name')) ?? c.dir, path: c.dir }));
    workspaces.push({ kind: 'cargo', manifest: cargos[0]!.path, members });
  }
  const goWork = text('go.work');
  if (goMods.length > 0) {
    const members = goMods.map((g) => ({ name: g.module ?? g.dir, path: g.dir, ...(g.go === undefined ? {} : { version: `go ${g.go}` }) }));
    workspaces.push({ kind: 'go', manifest: goWork === undefined ? goMods[0]!.path : 'go.work', members });
  }
  for (const py of pyprojects) {
    const project = py.toml.get('project') ?? py.toml.get('tool.poetry');
    const pyVersion = tomlString(project?.get('version'));
    // The importable packages: directories with an __init__.py whose parent has none.
    const packages = facts
      .filter((f) => named(f.rel, '__init__.py') && (py.dir === '.' || f.rel.startsWith(`${py.dir}/`)))
      .map((f) => posix.dirname(f.rel))
      .filter((dir) => !byPath.has(posix.join(posix.dirname(dir), '__init__.py')) && !TEST_PATH.test(`${dir}/`));
    workspaces.push({
      kind: 'python',
      manifest: py.path,
      members: [
        { name: tomlString(project?.get('name')) ?? py.dir, path: py.dir, ...(pyVersion === undefined ? {} : { version: pyVersion }) },
        ...packages.map((dir) => ({ name: dir.split('/').at(-1)!, path: dir, description: 'Python package' })),
      ],
    });
  }
  const pom = text('pom.xml');
  if (pom !== undefined) {
    const parsed = parsePom(pom);
    workspaces.push({ kind: 'maven', manifest: 'pom.xml', members: parsed.modules.map((m) => ({ name: m, path: m })) });
  }
  const gradle = text('settings.gradle') ?? text('settings.gradle.kts');
  if (gradle !== undefined) {
    const parsed = parseGradleSettings(gradle);
    workspaces.push({ kind: 'gradle', manifest: byPath.has('settings.gradle') ? 'settings.gradle' : 'settings.gradle.kts', members: parsed.modules.map((m) => ({ name: m, path: m })) });
  }
  const layoutCounts = new Map<string, { files: number; languages: Map<string, number> }>();
  for (const f of facts) {
    const slash = f.rel.indexOf('/');
    const top = slash === -1 ? f.rel : f.rel.slice(0, slash + 1);
    let entry = layoutCounts.get(top);
    if (entry === undefined) layoutCounts.set(top, (entry = { files: 0, languages: new Map() }));
    entry.files++;
    entry.languages.set(f.language, (entry.languages.get(f.language) ?? 0) + f.code);
  }
  const layout = [...layoutCounts]
    .map(([path, e]) => {
      const language = [...e.languages].sort((a, b) => b[1] - a[1])[0]?.[0];
      return { path, files: e.files, ...(language === undefined || !path.endsWith('/') ? {} : { language }) };
    })
    .sort((a, b) => Number(b.path.endsWith('/')) - Number(a.path.endsWith('/')) || b.files - a.files || (a.path < b.path ? -1 : 1));

  // ── Entry points ──────────────────────────────────────────────────────────────────
  const entries: EntryPoint[] = [];
  const seen = new Set<string>();
  const addEntry = (e: EntryPoint): void => {
    const key = `${e.path}\u0000${e.kind}\u0000${e.name ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    entries.push(e);
  };
  const npmPackages = new Map<string, { dir: string; entry?: string | undefined }>();
  const sourceOf = (dir: string, target: string): string => {
    // A manifest names what is built (dist/x.js); the source is what a reader opens.
    const path = posix.normalize(posix.join(dir, target));
    if (byPath.has(path)) return path;
    const guess = path.replace(/(^|\/)(dist|build|lib|out)\//, '$1src/').replace(/\.(m|c)?js$/, '');
    for (const ext of ['.ts', '.tsx', '.mts', '.js', '.mjs']) if (byPath.has(guess + ext)) return guess + ext;
    return path;
  };
  for (const { path, dir, pkg } of packageJsons) {
    if (pkg === undefined) continue;
    const exportsMain =
      typeof pkg.exports === 'string'
        ? pkg.exports
        : exportTarget(
            (pkg.exports as Record<string, unknown> | undefined)?.['.'] ?? (typeof pkg.exports === 'object' && pkg.exports !== null && !Object.keys(pkg.exports).some((k) => k.startsWith('.')) ? pkg.exports : undefined),
          );
    const main = exportsMain ?? pkg.module ?? pkg.main;
    if (pkg.name !== undefined) npmPackages.set(pkg.name, { dir, entry: main === undefined ? undefined : sourceOf(dir, main) });
    if (typeof pkg.bin === 'string') addEntry({ path: sourceOf(dir, pkg.bin), kind: 'bin', ...(pkg.name === undefined ? {} : { name: pkg.name.replace(/^@[^/]+\//, '') }), from: path });
    else if (pkg.bin !== undefined) for (const [binName, target] of Object.entries(pkg.bin)) if (typeof target === 'string') addEntry({ path: sourceOf(dir, target), kind: 'bin', name: binName, from: path });
    if (main !== undefined) addEntry({ path: sourceOf(dir, main), kind: exportsMain === undefined ? 'main' : 'exports', ...(pkg.name === undefined ? {} : { name: pkg.name }), from: path });
    for (const script of ['start', 'serve', 'dev']) {
      const command = pkg.scripts?.[script];
      const file = command === undefined ? undefined : /\b(?:node|tsx|ts-node|bun|deno run)\s+(?:--\S+\s+)*([\w./-]+\.[cm]?[jt]s)\b/.exec(command)?.[1];
      if (file !== undefined) addEntry({ path: sourceOf(dir, file), kind: 'script', name: `npm run ${script}`, from: path });
    }
  }
  const crates = new Map<string, string>();
  for (const { path, dir, toml } of cargos) {
    const crate = tomlString(toml.get('package')?.get('name'));
    if (crate === undefined) continue;
    crates.set(crate.replaceAll('-', '_'), dir);
    const main = posix.join(dir, 'src/main.rs');
    if (byPath.has(main)) addEntry({ path: main, kind: 'bin', name: crate, from: path });
    for (const [key, section] of toml) {
      if (!key.startsWith('bin#')) continue;
      const binName = tomlString(section.get('name'));
      const binPath = tomlString(section.get('path')) ?? (binName === undefined ? undefined : `src/bin/${binName}.rs`);
      if (binPath !== undefined) addEntry({ path: posix.normalize(posix.join(dir, binPath)), kind: 'bin', ...(binName === undefined ? {} : { name: binName }), from: path });
    }
    const lib = tomlString(toml.get('lib')?.get('path')) ?? 'src/lib.rs';
    if (byPath.has(posix.join(dir, lib))) addEntry({ path: posix.join(dir, lib), kind: 'exports', name: crate, from: path });
  }
  for (const { path, dir, toml } of pyprojects) {
    for (const section of ['project.scripts', 'tool.poetry.scripts']) {
      for (const [script, value] of toml.get(section) ?? []) {
        const target = tomlString(value);
        if (target === undefined) continue;
        const module = target.split(':')[0]!.replaceAll('.', '/');
        const file = [`${module}.py`, `src/${module}.py`, `${module}/__init__.py`, `src/${module}/__init__.py`].map((p) => posix.join(dir, p)).find((p) => byPath.has(p));
        addEntry({ path: file ?? target, kind: 'bin', name: script, from: path });
      }
    }
  }
  const goModules = new Map(goMods.filter((g) => g.module !== undefined).map((g) => [g.module!, g.dir]));
  // Files with a `main` of their own, unless a manifest already named them.
  const declared = new Set(entries.map((e) => e.path));
  for (const f of facts) {
    if (!f.main || f.language === 'Shell' || f.testPath || declared.has(f.rel)) continue;
    addEntry({ path: f.rel, kind: f.text?.startsWith('#!') === true || (f.language !== 'Python' && f.language !== 'Go' && f.language !== 'Rust') ? 'script' : 'main function', from: f.rel });
  }
  for (const f of facts) if (f.rel.endsWith('__main__.py') && named(f.rel, '__main__.py')) addEntry({ path: f.rel, kind: 'main function', name: `python -m ${posix.dirname(f.rel).split('/').at(-1)}`, from: f.rel });
  const entryOps = [...M, ...ids((id) => id.startsWith('search-entry-points') || id === 'discover-entry-points')];

  // ── Key files ─────────────────────────────────────────────────────────────────────
  const code = facts.filter((f) => GRAPH_LANGUAGES.has(f.language));
  const edges = importEdges(
    code.map((f) => ({ path: f.rel, language: f.language, imports: f.imports })),
    { npmPackages, crates, goModules },
  );
  const importedBy = new Map<string, number>();
  let edgeCount = 0;
  for (const targets of edges.values()) {
    for (const t of targets) importedBy.set(t, (importedBy.get(t) ?? 0) + 1);
    edgeCount += targets.size;
  }
  const scores = pageRank(
    code.map((f) => f.rel),
    edges,
  );
  const exportSearches = ops.filter((o) => o.state === 'succeeded' && o.id.startsWith('search-exports'));
  const exportMatches = new Map<string, number>();
  for (const o of exportSearches) {
    for (const m of (o.output as { messages?: { type: string; data?: { path?: { text?: string } } }[] } | undefined)?.messages ?? []) {
      if (m.type !== 'match' || m.data?.path?.text === undefined) continue;
      const p = rel(m.data.path.text);
      exportMatches.set(p, (exportMatches.get(p) ?? 0) + 1);
    }
  }
  const keyFiles: KeyFile[] = code
    .filter((f) => !f.testPath)
    .map((f) => ({
      path: f.rel,
      language: f.language,
      score: scores.get(f.rel) ?? 0,
      importedBy: importedBy.get(f.rel) ?? 0,
      imports: edges.get(f.rel)?.size ?? 0,
      lines: f.blank + f.comment + f.code,
      ...(exportMatches.has(f.rel) ? { exportMatches: exportMatches.get(f.rel)! } : {}),
      symbols: f.symbols,
    }))
    .sort((a, b) => b.score - a.score || b.importedBy - a.importedBy || b.symbols.length - a.symbols.length || (a.path < b.path ? -1 : 1))
    .slice(0, 60);

  // ── Tests, build, CI ──────────────────────────────────────────────────────────────
  const frameworks: { name: string; from: string }[] = [];
  const addFramework = (fw: string, from: string): void => {
    if (!frameworks.some((f) => f.name === fw)) frameworks.push({ name: fw, from });
  };
  for (const { path, pkg } of packageJsons) for (const fw of TEST_FRAMEWORKS) if (pkg?.devDependencies?.[fw] !== undefined || pkg?.dependencies?.[fw] !== undefined) addFramework(fw, path);
  for (const py of pyprojects) if (py.toml.has('tool.pytest.ini_options') || /\bpytest\b/.test(text(py.path) ?? '')) addFramework('pytest', py.path);
  const testFiles = facts.filter((f) => f.tests > 0 || (f.testPath && f.code > 0 && f.language !== 'JSON' && f.language !== 'Markdown'));
  for (const f of testFiles) {
    if (f.language === 'Python' && f.imports.includes('pytest')) addFramework('pytest', f.rel);
    if (f.language === 'Python' && f.imports.includes('unittest')) addFramework('unittest', f.rel);
    if (f.language === 'Go' && f.rel.endsWith('_test.go')) addFramework('go test', f.rel);
    if (f.language === 'Rust' && f.tests > 0) addFramework('cargo test', f.rel);
    if ((f.language === 'TypeScript' || f.language === 'JavaScript') && f.imports.includes('node:test')) addFramework('node:test', f.rel);
    if ((f.language === 'Java' || f.language === 'Kotlin') && f.imports.some((i) => i.startsWith('org.junit'))) addFramework('JUnit', f.rel);
  }
  const testDirs = new Map<string, number>();
  for (const f of testFiles) {
    const parts = f.rel.split('/');
    const at = parts.findIndex((p) => TEST_DIRS.has(p));
    const dir = at >= 0 ? parts.slice(0, at + 1).join('/') : parts.length > 1 ? parts.slice(0, Math.min(2, parts.length - 1)).join('/') : '.';
    testDirs.set(dir, (testDirs.get(dir) ?? 0) + 1);
  }
  const scripts: { manifest: string; name: string; command: string }[] = [];
  for (const { path, pkg } of packageJsons) {
    if (path !== 'package.json' && packageJsons.length > 1) continue;
    for (const [scriptName, command] of Object.entries(pkg?.scripts ?? {})) scripts.push({ manifest: path, name: scriptName, command });
  }
  const makefile = text('Makefile') ?? text('makefile');
  const ciGlob = outputOf<{ files: string[] }>('discover-ci');
  const ci = [...new Set([...(ciGlob?.files ?? []).map(rel), ...facts.filter((f) => f.rel.startsWith('.') && /^\.github\/workflows\/|^\.gitlab-ci\.yml$|^\.circleci\//.test(f.rel)).map((f) => f.rel)])].sort();

  // ── Configuration ─────────────────────────────────────────────────────────────────
  const env = new Map<string, string[]>();
  for (const f of facts) {
    for (const v of f.env) {
      const files = env.get(v);
      if (files === undefined) env.set(v, [f.rel]);
      else files.push(f.rel);
    }
  }
  const configGlob = outputOf<{ files: string[] }>('discover-config');
  const configFiles = (configGlob?.files ?? [])
    .map(rel)
    .filter((p) => !/(^|\/)(package\.json|Cargo\.toml|go\.mod|pyproject\.toml)$/.test(p))
    .sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));

  // ── Markers ───────────────────────────────────────────────────────────────────────
  const counts: Record<string, number> = {};
  const perFile = new Map<string, number>();
  for (const m of markersOut?.markers ?? []) {
    counts[m.kind] = (counts[m.kind] ?? 0) + 1;
    const p = rel(m.path);
    perFile.set(p, (perFile.get(p) ?? 0) + 1);
  }
  const markers = markersOut?.markers ?? [];
  const examples: { path: string; line: number; kind: string; text: string }[] = [];
  const exampleFiles = new Set<string>();
  for (const m of markers) {
    const p = rel(m.path);
    if (exampleFiles.has(p)) continue;
    exampleFiles.add(p);
    examples.push({ path: p, line: m.line, kind: m.kind, text: m.text.length > 100 ? `${m.text.slice(0, 99)}…` : m.text });
  }

  // ── Heads ─────────────────────────────────────────────────────────────────────────
  const heads: { path: string; lines: string[] }[] = [];
  const headOf = (path: string | undefined, lines: number): void => {
    const t = path === undefined ? undefined : text(path);
    if (t !== undefined) heads.push({ path: path!, lines: t.split(/\r?\n/).slice(0, lines) });
  };
  headOf(readme?.rel, 30);
  for (const manifest of ['package.json', 'Cargo.toml', 'go.mod', 'pyproject.toml', 'pom.xml', 'settings.gradle', 'settings.gradle.kts', 'pnpm-workspace.yaml']) headOf(manifest, 40);

  const overviewBytes = stats?.bytes ?? Object.values(mapOut?.languages ?? {}).reduce((sum, l) => sum + l.bytes, 0);
  return {
    name,
    overview: {
      ...(description === undefined ? {} : { description }),
      ...(descriptionFrom === undefined ? {} : { descriptionFrom }),
      files: stats?.files ?? facts.length,
      bytes: overviewBytes,
      lines: totalLines,
      binaryFiles: stats?.binary.files ?? mapOut?.binary.files ?? 0,
      truncated: (mapOut?.truncated ?? false) || (stats?.truncated ?? false),
      ops: [...M, ...ids((id) => id === 'analyze-languages')],
    },
    languages: { rows: languageRows, ops: [...M, ...ids((id) => id === 'analyze-languages')] },
    structure: { workspaces, layout, ops: [...M, ...ids((id) => id === 'discover-config')] },
    entryPoints: { items: entries, ops: entryOps },
    keyFiles: {
      items: keyFiles,
      edges: edgeCount,
      method: 'PageRank over imports parsed per language with regular expressions (top-level lines only)',
      ops: [...M, ...ids((id) => id.startsWith('search-exports') || id.startsWith('search-imports'))],
    },
    tests: {
      frameworks,
      files: testFiles.length,
      cases: testFiles.reduce((s, f) => s + f.tests, 0),
      dirs: [...testDirs].map(([path, files]) => ({ path, files })).sort((a, b) => b.files - a.files || (a.path < b.path ? -1 : 1)),
      ops: [...M, ...ids((id) => id === 'discover-tests' || id.startsWith('search-tests'))],
    },
    build: { scripts, makeTargets: makefile === undefined ? [] : makeTargets(makefile), ci, ops: [...M, ...ids((id) => id === 'discover-ci' || id === 'discover-scripts')] },
    configuration: {
      env: [...env].map(([v, files]) => ({ name: v, files })).sort((a, b) => b.files.length - a.files.length || (a.name < b.name ? -1 : 1)),
      files: configFiles,
      ops: [...M, ...ids((id) => id.startsWith('search-configuration') || id === 'discover-config')],
    },
    markers: {
      counts,
      total: markers.length,
      truncated: markersOut?.truncated ?? false,
      top: [...perFile].map(([path, count]) => ({ path, count })).sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1)),
      examples,
      ops: ids((id) => id === 'analyze-markers' || id.startsWith('search-markers')),
    },
    heads: { items: heads, ops: M },
    patterns: ops
      .filter((o) => o.state === 'succeeded' && o.id.startsWith('search-user-'))
      .map((o) => {
        type Message = { type: string; data?: { path?: { text?: string }; line_number?: number; lines?: { text?: string } } };
        const matches = ((o.output as { messages?: Message[] } | undefined)?.messages ?? [])
          .filter((m) => m.type === 'match' && m.data?.path?.text !== undefined)
          .map((m) => ({ path: rel(m.data!.path!.text!), line: m.data!.line_number ?? 0, text: (m.data!.lines?.text ?? '').trim().slice(0, 120) }));
        return { id: o.id, matches, total: (o.output as { stats?: { matchedLines?: number } } | undefined)?.stats?.matchedLines ?? matches.length };
      }),
    problems: ops.filter((o) => o.state !== 'succeeded').map((o) => ({ id: o.id, state: o.state })),
  };
}

/** The file an `exports` entry points to: a string, or the `import` / `default` / `require` condition. */
function exportTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of ['import', 'default', 'node', 'require']) {
    const target = exportTarget(record[key]);
    if (target !== undefined) return target;
  }
  return undefined;
}
