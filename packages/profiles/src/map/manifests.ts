/**
 * What the manifests of a repository declare, read from their text without a parser per
 * format: JSON for package.json; for TOML (Cargo.toml, pyproject.toml) and the rest, the
 * handful of keys a map needs (names, members, binaries, scripts, test tools), read line by
 * line. Anything malformed yields what could be read, never an error: a map reports what the
 * repository says, and a broken manifest is itself worth seeing in the heads.
 */

/** A TOML file as sections of `key = value` (values kept raw; arrays may span lines). */
export type TomlSections = Map<string, Map<string, string>>;

/** Reads TOML's sections and keys (`[a.b]`, `[[bin]]` as `bin#0`, `bin#1`…), values raw. */
export function tomlSections(text: string): TomlSections {
  const sections: TomlSections = new Map([['', new Map()]]);
  const arrays = new Map<string, number>();
  let current = sections.get('')!;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const table = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(line) ?? undefined;
    if (table !== undefined) {
      const n = arrays.get(table[1]!) ?? 0;
      arrays.set(table[1]!, n + 1);
      current = new Map();
      sections.set(`${table[1]!}#${n}`, current);
      continue;
    }
    const section = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (section !== null) {
      current = sections.get(section[1]!) ?? new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const pair = /^("[^"]+"|[\w.-]+)\s*=\s*(.*)$/.exec(line);
    if (pair === null) continue;
    let value = pair[2]!.trim();
    // A multi-line array or inline table runs until its brackets balance.
    let depth = balance(value);
    while (depth > 0 && i + 1 < lines.length) {
      i++;
      const next = lines[i]!.replace(/#.*$/, '').trim();
      value += ` ${next}`;
      depth += balance(next);
    }
    current.set(pair[1]!.replace(/^"|"$/g, ''), value);
  }
  return sections;
}

function balance(text: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (const c of text) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') break;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth;
}

/** A TOML string value, unquoted (`"x"` → `x`), or undefined. */
export function tomlString(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(value);
  return m === null ? undefined : (m[1] ?? m[2]);
}

/** The strings of a TOML array value (`["a", "b"]`). */
export function tomlStrings(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2]!);
}

/** A package.json, the fields a map reads. */
export interface PackageJson {
  name?: string;
  version?: string;
  description?: string;
  private?: boolean;
  main?: string;
  module?: string;
  type?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  scripts?: Record<string, string>;
  workspaces?: string[] | { packages?: string[] };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * A package.json's fields the map reads, each kept only when it has the type npm documents:
 * manifests in the wild say `"main": false` (dunder-proto, fflate) or `"bin": ["x"]`, and a
 * path built from one must not end the map.
 */
export function parsePackageJson(text: string): PackageJson | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const pkg: PackageJson = {};
  for (const key of ['name', 'version', 'description', 'main', 'module', 'type'] as const) if (typeof value[key] === 'string') pkg[key] = value[key];
  if (typeof value.private === 'boolean') pkg.private = value.private;
  if (typeof value.bin === 'string') pkg.bin = value.bin;
  else if (isRecord(value.bin)) pkg.bin = strings(value.bin);
  if (value.exports !== undefined) pkg.exports = value.exports;
  for (const key of ['scripts', 'dependencies', 'devDependencies'] as const) if (isRecord(value[key])) pkg[key] = strings(value[key]);
  if (Array.isArray(value.workspaces)) pkg.workspaces = value.workspaces.filter((w): w is string => typeof w === 'string');
  else if (isRecord(value.workspaces) && Array.isArray(value.workspaces.packages)) pkg.workspaces = { packages: value.workspaces.packages.filter((w): w is string => typeof w === 'string') };
  return pkg;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The entries of a record whose values are strings. */
function strings(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) if (typeof value === 'string') out[key] = value;
  return out;
}

/** The workspace globs of a package.json (npm / yarn) or a pnpm-workspace.yaml. */
export function workspaceGlobs(pkg: PackageJson | undefined, pnpmYaml: string | undefined): string[] {
  const globs: string[] = [];
  const ws = pkg?.workspaces;
  if (Array.isArray(ws)) globs.push(...ws.filter((w) => typeof w === 'string'));
  else if (ws !== undefined && Array.isArray(ws.packages)) globs.push(...ws.packages.filter((w) => typeof w === 'string'));
  if (pnpmYaml !== undefined) {
    const block = /^packages:\s*\n((?:\s+-.*\n?|\s*#.*\n?)*)/m.exec(pnpmYaml);
    if (block !== null) for (const m of block[1]!.matchAll(/^\s+-\s*['"]?([^'"\n#]+?)['"]?\s*$/gm)) globs.push(m[1]!);
  }
  return globs;
}

/** The module path and Go version of a go.mod. */
export function parseGoMod(text: string): { module?: string; go?: string } {
  const module = /^module\s+(\S+)/m.exec(text)?.[1];
  const go = /^go\s+(\S+)/m.exec(text)?.[1];
  return { ...(module === undefined ? {} : { module }), ...(go === undefined ? {} : { go }) };
}

/** The modules of a Maven pom.xml and its artifactId. */
export function parsePom(text: string): { artifactId?: string; modules: string[] } {
  const withoutParent = text.replace(/<parent>[\s\S]*?<\/parent>/, '');
  const artifactId = /<artifactId>\s*([^<\s]+)\s*<\/artifactId>/.exec(withoutParent)?.[1];
  const modules = [...text.matchAll(/<module>\s*([^<\s]+)\s*<\/module>/g)].map((m) => m[1]!);
  return { ...(artifactId === undefined ? {} : { artifactId }), modules };
}

/** The projects a settings.gradle(.kts) includes (`include(":a", ":b:c")` → `a`, `b/c`). */
export function parseGradleSettings(text: string): { name?: string; modules: string[] } {
  const name = /rootProject\.name\s*=\s*['"]([^'"]+)['"]/.exec(text)?.[1];
  const modules: string[] = [];
  for (const m of text.matchAll(/^\s*include\s*\(?([^)\n]+)\)?/gm)) for (const p of m[1]!.matchAll(/['"]:?([^'"]+)['"]/g)) modules.push(p[1]!.replaceAll(':', '/'));
  return { ...(name === undefined ? {} : { name }), modules };
}

/** The targets a Makefile declares (`name:` at a line start; no pattern rules, no variables). */
export function makeTargets(text: string): string[] {
  const targets = new Set<string>();
  for (const m of text.matchAll(/^([A-Za-z][\w.-]*)\s*:(?!=)/gm)) if (m[1] !== '.PHONY') targets.add(m[1]!);
  return [...targets];
}

/** The first paragraph of a README: its first run of prose lines (no title, badge, HTML, or list). */
export function firstParagraph(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  let paragraph: string[] = [];
  let fence = false;
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    // A setext heading: the line above `===` or `---` is a title, not prose.
    if (/^(=+|-+)$/.test(lines[i + 1]?.trim() ?? '') && line !== '') continue;
    if (line.startsWith('```')) {
      fence = !fence;
      continue;
    }
    if (fence) continue;
    const prose = line !== '' && !/^(#|=+$|-+$|!\[|\[!\[|<|\||>\s*\[!|\*\s|-\s|\d+\.\s|\.\.\s|:)/.test(line);
    if (prose) paragraph.push(line);
    else if (paragraph.length > 0) break;
    if (line === '' && paragraph.length === 0) paragraph = [];
  }
  if (paragraph.length === 0) return undefined;
  const text1 = paragraph.join(' ').replace(/\s+/g, ' ');
  return text1.length > 400 ? `${text1.slice(0, 399)}…` : text1;
}
