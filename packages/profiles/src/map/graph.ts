/**
 * The import graph of a repository and its centrality: each file's imports (as the `map`
 * analyzer read them with per-language regular expressions) resolved to files of the tree,
 * then PageRank over the edges — aider's repository map ranks files the same way, over
 * tree-sitter tags instead. An import that names no file of the tree (a library, the
 * standard library) is no edge.
 */
import { posix } from 'node:path';

/** A file of the graph: its path relative to the root (with `/`), its language and imports. */
export interface GraphFile {
  path: string;
  language: string;
  imports: readonly string[];
}

/** What resolving needs beyond the files: workspace packages and modules by name. */
export interface GraphContext {
  /** npm package name → its directory (relative). */
  npmPackages: ReadonlyMap<string, { dir: string; entry?: string | undefined }>;
  /** Cargo crate name (with `_` for `-`) → its directory. */
  crates: ReadonlyMap<string, string>;
  /** Go module path → its directory. */
  goModules: ReadonlyMap<string, string>;
}

const JS_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

/** Resolves imports to files of the tree: the edges `from → to` (no self-loops, no duplicates). */
export function importEdges(files: readonly GraphFile[], context: GraphContext): Map<string, Set<string>> {
  const known = new Set(files.map((f) => f.path));
  const byDir = new Map<string, string[]>();
  for (const f of files) {
    const dir = posix.dirname(f.path);
    let list = byDir.get(dir);
    if (list === undefined) byDir.set(dir, (list = []));
    list.push(f.path);
  }
  const pyModules = pythonModules(files);
  const suffixes = jvmSuffixes(files);
  const edges = new Map<string, Set<string>>();

  const first = (...candidates: string[]): string | undefined => candidates.find((c) => known.has(c));
  const jsFile = (base: string): string | undefined => {
    const stripped = base.replace(/\.(m|c)?jsx?$/, '');
    return first(base, ...JS_EXTENSIONS.map((e) => stripped + e), ...JS_EXTENSIONS.map((e) => `${base}/index${e}`));
  };
  const rustModule = (srcDir: string, segments: readonly string[]): string | undefined => {
    for (let n = segments.length; n > 0; n--) {
      const base = posix.join(srcDir, ...segments.slice(0, n));
      const hit = first(`${base}.rs`, `${base}/mod.rs`);
      if (hit !== undefined) return hit;
    }
    return first(posix.join(srcDir, 'lib.rs'), posix.join(srcDir, 'main.rs'));
  };
  // A crate's sources: the deepest `src` directory above the file.
  const crateSrc = (path: string): string | undefined => {
    const parts = posix.dirname(path).split('/');
    const at = parts.lastIndexOf('src');
    return at === -1 ? undefined : parts.slice(0, at + 1).join('/');
  };

  for (const file of files) {
    const out = new Set<string>();
    const dir = posix.dirname(file.path);
    for (const spec of file.imports) {
      let targets: (string | undefined)[] = [];
      switch (file.language) {
        case 'TypeScript':
        case 'JavaScript': {
          if (spec.startsWith('.')) targets = [jsFile(posix.normalize(posix.join(dir, spec)))];
          else {
            const parts = spec.split('/');
            const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
            const pkg = context.npmPackages.get(name);
            if (pkg !== undefined) {
              const sub = spec.slice(name.length + 1);
              targets = [
                sub === '' ? (pkg.entry ?? jsFile(posix.join(pkg.dir, 'src/index'))) : (jsFile(posix.join(pkg.dir, 'src', sub)) ?? jsFile(posix.join(pkg.dir, sub)) ?? jsFile(posix.join(pkg.dir, 'src', sub, 'index'))),
              ];
            }
          }
          break;
        }
        case 'Python': {
          let name = spec;
          if (spec.startsWith('.')) {
            const dots = /^\.+/.exec(spec)![0].length;
            let base = dir;
            for (let i = 1; i < dots; i++) base = posix.dirname(base);
            const rest = spec.slice(dots);
            targets = [first(posix.join(base, `${rest.replaceAll('.', '/')}.py`), posix.join(base, rest.replaceAll('.', '/'), '__init__.py'))];
            break;
          }
          for (; name !== ''; name = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '') {
            const hit = pyModules.get(name);
            if (hit !== undefined) {
              targets = [hit];
              break;
            }
          }
          break;
        }
        case 'Go': {
          for (const [module, moduleDir] of context.goModules) {
            if (spec !== module && !spec.startsWith(`${module}/`)) continue;
            const target = posix.normalize(posix.join(moduleDir, spec.slice(module.length + 1)));
            targets = (byDir.get(target) ?? []).filter((p) => p.endsWith('.go') && !p.endsWith('_test.go'));
          }
          break;
        }
        case 'Rust': {
          const src = crateSrc(file.path);
          if (spec.startsWith('mod:')) {
            const name = spec.slice(4);
            const stem = posix.basename(file.path, '.rs');
            const base = ['main', 'lib', 'mod'].includes(stem) ? dir : posix.join(dir, stem);
            targets = [first(posix.join(base, `${name}.rs`), posix.join(base, name, 'mod.rs'))];
            break;
          }
          const segments = spec.replace(/^::/, '').split('::');
          const head = segments[0]!;
          if (head === 'crate' && src !== undefined) targets = [rustModule(src, segments.slice(1))];
          else if (head === 'super' || head === 'self') targets = [];
          else {
            const crateDir = context.crates.get(head);
            if (crateDir !== undefined) targets = [rustModule(posix.join(crateDir, 'src'), segments.slice(1))];
          }
          break;
        }
        case 'Java':
        case 'Kotlin':
        case 'Scala':
          targets = [suffixes.get(spec.replaceAll('.', '/'))];
          break;
        case 'C':
        case 'C++':
          targets = [first(posix.normalize(posix.join(dir, spec))) ?? suffixes.get(spec)];
          break;
        case 'Ruby':
          targets = [first(posix.normalize(posix.join(dir, spec.endsWith('.rb') ? spec : `${spec}.rb`)), `lib/${spec}.rb`)];
          break;
      }
      for (const t of targets) if (t !== undefined && t !== file.path) out.add(t);
    }
    if (out.size > 0) edges.set(file.path, out);
  }
  return edges;
}

/** Python modules by dotted name: every suffix of each file's path, shallower files first. */
function pythonModules(files: readonly GraphFile[]): Map<string, string> {
  const modules = new Map<string, string>();
  const python = files.filter((f) => f.language === 'Python').sort((a, b) => a.path.split('/').length - b.path.split('/').length || (a.path < b.path ? -1 : 1));
  for (const f of python) {
    const parts = f.path.replace(/\.pyi?$/, '').split('/');
    if (parts.at(-1) === '__init__') parts.pop();
    for (let i = 0; i < parts.length; i++) {
      const key = parts.slice(i).join('.');
      if (key !== '' && !modules.has(key)) modules.set(key, f.path);
    }
  }
  return modules;
}

/** JVM and C files by every path suffix without extension (`a/b/C` → `src/main/java/a/b/C.java`). */
function jvmSuffixes(files: readonly GraphFile[]): Map<string, string> {
  const suffixes = new Map<string, string>();
  for (const f of files) {
    const jvm = f.language === 'Java' || f.language === 'Kotlin' || f.language === 'Scala';
    if (!jvm && f.language !== 'C' && f.language !== 'C++') continue;
    const parts = (jvm ? f.path.replace(/\.\w+$/, '') : f.path).split('/');
    for (let i = 0; i < parts.length; i++) {
      const key = parts.slice(i).join('/');
      if (!suffixes.has(key)) suffixes.set(key, f.path);
    }
  }
  return suffixes;
}

/**
 * PageRank (damping 0.85, 40 iterations) over `edges`: a file imported by files that are
 * themselves imported a lot ranks high. The mass of files that import nothing is spread
 * evenly, so scores add up to 1.
 */
export function pageRank(nodes: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>, damping = 0.85, iterations = 40): Map<string, number> {
  const n = nodes.length;
  const index = new Map(nodes.map((node, i) => [node, i]));
  const out: number[][] = nodes.map((node) => [...(edges.get(node) ?? [])].map((t) => index.get(t)).filter((i): i is number => i !== undefined));
  let rank = new Float64Array(n).fill(1 / Math.max(1, n));
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(n).fill((1 - damping) / n);
    let dangling = 0;
    for (let i = 0; i < n; i++) {
      const targets = out[i]!;
      if (targets.length === 0) dangling += rank[i]!;
      else for (const t of targets) next[t]! += (damping * rank[i]!) / targets.length;
    }
    for (let i = 0; i < n; i++) next[i]! += (damping * dangling) / n;
    rank = next;
  }
  return new Map(nodes.map((node, i) => [node, rank[i]!]));
}
