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

// node:path's posix functions walk their input a character at a time in JavaScript; run once
// per import of a large tree, before the JIT has compiled them, they were most of the graph's
// cost. Paths here are relative and normalized (the map's `rel`), which these two rely on.

/** `posix.dirname` of a relative path. */
export function dirOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at === -1 ? '.' : at === 0 ? '/' : path.slice(0, at);
}

/** `posix.join(...parts)` (which normalizes) for relative parts. */
export function joinPath(...parts: string[]): string {
  const path = parts.filter((part) => part !== '').join('/');
  if (path.startsWith('/')) return posix.normalize(path);
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') out.push(segment);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push('..');
  }
  const joined = out.join('/');
  // posix.normalize keeps a trailing slash; nothing left is `.`.
  if (path.endsWith('/')) return `${joined === '' ? '.' : joined}/`;
  return joined === '' ? '.' : joined;
}

/** Resolves imports to files of the tree: the edges `from → to` (no self-loops, no duplicates). */
export function importEdges(files: readonly GraphFile[], context: GraphContext): Map<string, Set<string>> {
  const known = new Set(files.map((f) => f.path));
  const byDir = new Map<string, string[]>();
  for (const f of files) {
    const dir = dirOf(f.path);
    let list = byDir.get(dir);
    if (list === undefined) byDir.set(dir, (list = []));
    list.push(f.path);
  }
  const pyModules = pythonModules(files);
  const suffixes = jvmSuffixes(files);
  const edges = new Map<string, Set<string>>();

  const first = (...candidates: string[]): string | undefined => candidates.find((c) => known.has(c));
  // The file a JS/TS specifier names: itself, with an extension (`./x.js` is `./x.ts` in a
  // TypeScript tree), or a directory's index. Tried in that order, without building the list.
  const jsFile = (base: string): string | undefined => {
    if (known.has(base)) return base;
    const stripped = base.replace(/\.(m|c)?jsx?$/, '');
    for (const e of JS_EXTENSIONS) if (known.has(stripped + e)) return stripped + e;
    for (const e of JS_EXTENSIONS) if (known.has(`${base}/index${e}`)) return `${base}/index${e}`;
    return undefined;
  };
  // A JS/TS import resolves the same from every file of a directory (relative) or of the tree
  // (a package name): resolved once. Trees import the same few modules thousands of times.
  const jsResolved = new Map<string, string | undefined>();
  const jsTarget = (dir: string, spec: string): string | undefined => {
    const key = spec.startsWith('.') ? `${dir}\u0000${spec}` : spec;
    if (jsResolved.has(key)) return jsResolved.get(key);
    let target: string | undefined;
    if (spec.startsWith('.')) target = jsFile(joinPath(dir, spec));
    else {
      const parts = spec.split('/');
      const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
      const pkg = context.npmPackages.get(name);
      if (pkg !== undefined) {
        const sub = spec.slice(name.length + 1);
        target = sub === '' ? (pkg.entry ?? jsFile(joinPath(pkg.dir, 'src/index'))) : (jsFile(joinPath(pkg.dir, 'src', sub)) ?? jsFile(joinPath(pkg.dir, sub)) ?? jsFile(joinPath(pkg.dir, 'src', sub, 'index')));
      }
    }
    jsResolved.set(key, target);
    return target;
  };
  const rustModule = (srcDir: string, segments: readonly string[]): string | undefined => {
    for (let n = segments.length; n > 0; n--) {
      const base = joinPath(srcDir, ...segments.slice(0, n));
      const hit = first(`${base}.rs`, `${base}/mod.rs`);
      if (hit !== undefined) return hit;
    }
    return first(joinPath(srcDir, 'lib.rs'), joinPath(srcDir, 'main.rs'));
  };
  // A crate's sources: the deepest `src` directory above the file.
  const crateSrc = (path: string): string | undefined => {
    const parts = dirOf(path).split('/');
    const at = parts.lastIndexOf('src');
    return at === -1 ? undefined : parts.slice(0, at + 1).join('/');
  };

  for (const file of files) {
    const out = new Set<string>();
    const dir = dirOf(file.path);
    for (const spec of file.imports) {
      let targets: (string | undefined)[] = [];
      switch (file.language) {
        case 'TypeScript':
        case 'JavaScript':
          targets = [jsTarget(dir, spec)];
          break;
        case 'Python': {
          let name = spec;
          if (spec.startsWith('.')) {
            const dots = /^\.+/.exec(spec)![0].length;
            let base = dir;
            for (let i = 1; i < dots; i++) base = dirOf(base);
            const rest = spec.slice(dots);
            targets = [first(joinPath(base, `${rest.replaceAll('.', '/')}.py`), joinPath(base, rest.replaceAll('.', '/'), '__init__.py'))];
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
            const target = joinPath(moduleDir, spec.slice(module.length + 1));
            targets = (byDir.get(target) ?? []).filter((p) => p.endsWith('.go') && !p.endsWith('_test.go'));
          }
          break;
        }
        case 'Rust': {
          const src = crateSrc(file.path);
          if (spec.startsWith('mod:')) {
            const name = spec.slice(4);
            const stem = posix.basename(file.path, '.rs');
            const base = ['main', 'lib', 'mod'].includes(stem) ? dir : joinPath(dir, stem);
            targets = [first(joinPath(base, `${name}.rs`), joinPath(base, name, 'mod.rs'))];
            break;
          }
          const segments = spec.replace(/^::/, '').split('::');
          const head = segments[0]!;
          if (head === 'crate' && src !== undefined) targets = [rustModule(src, segments.slice(1))];
          else if (head === 'super' || head === 'self') targets = [];
          else {
            const crateDir = context.crates.get(head);
            if (crateDir !== undefined) targets = [rustModule(joinPath(crateDir, 'src'), segments.slice(1))];
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
          targets = [first(joinPath(dir, spec)) ?? suffixes.get(spec)];
          break;
        case 'Ruby':
          targets = [first(joinPath(dir, spec.endsWith('.rb') ? spec : `${spec}.rb`), `lib/${spec}.rb`)];
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
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) index.set(nodes[i]!, i);
  // The edges as flat arrays (node i's targets are targets[start[i]] … targets[start[i + 1] - 1]):
  // an iteration is one pass over numbers, linear in nodes + edges.
  const start = new Int32Array(n + 1);
  const flat: number[] = [];
  for (let i = 0; i < n; i++) {
    start[i] = flat.length;
    const out = edges.get(nodes[i]!);
    if (out !== undefined)
      for (const t of out) {
        const at = index.get(t);
        if (at !== undefined) flat.push(at);
      }
  }
  start[n] = flat.length;
  const targets = Int32Array.from(flat);
  let rank = new Float64Array(n).fill(1 / Math.max(1, n));
  let next = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    next.fill((1 - damping) / n);
    let dangling = 0;
    for (let i = 0; i < n; i++) {
      const from = start[i]!;
      const to = start[i + 1]!;
      if (from === to) {
        dangling += rank[i]!;
        continue;
      }
      const share = (damping * rank[i]!) / (to - from);
      for (let k = from; k < to; k++) next[targets[k]!]! += share;
    }
    for (let i = 0; i < n; i++) next[i]! += (damping * dangling) / n;
    [rank, next] = [next, rank];
  }
  const scores = new Map<string, number>();
  for (let i = 0; i < n; i++) scores.set(nodes[i]!, rank[i]!);
  return scores;
}
