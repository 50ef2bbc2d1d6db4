/**
 * The per-file half of the `map` analyzer: what one file tells about the codebase — its line
 * kinds (blank / comment / code, as `cloc` counts), the modules it imports, its top-level
 * symbols with their signatures (its outline), the environment variables it reads, whether it
 * has a `main`, how many tests it holds, and the text of manifests (package.json, Cargo.toml,
 * go.mod, pyproject.toml…) for the main thread to parse. Imports and symbols come from regular
 * expressions per language (one line each, top level only), not tree-sitter: its WASM grammars
 * would be more exact but are a dependency and a load time of their own (not measured here);
 * these need neither. Like `stats.ts`, it imports nothing heavy: it runs in the scan's worker
 * threads.
 */
import { basename } from 'node:path';
import { BINARY_SNIFF_BYTES } from './binary.js';
import { languageOf, OTHER_LANGUAGE } from './languages.js';
import { lineKinds } from './line-kinds.js';

/** Files larger than this are counted (lines) but not outlined. */
export const MAX_OUTLINE_BYTES = 1024 * 1024;
/** Manifests larger than this are not kept. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** Files larger than this are not read at all for the map (reported as skipped). */
export const MAX_MAP_FILE_BYTES = 16 * 1024 * 1024;
const MAX_SYMBOLS = 40;
const MAX_IMPORTS = 200;
const MAX_SIGNATURE = 120;

/** One top-level symbol of a file. */
export interface FileSymbol {
  name: string;
  /** `function`, `class`, `struct`, `trait`, `type`, `const`… as the language names it. */
  kind: string;
  /** 1-based line. */
  line: number;
  /** The declaration's first line, trimmed, up to its body (at most 120 characters). */
  signature: string;
  /** Visible outside its module (`export`, `pub`, a capital in Go, no leading `_` in Python). */
  exported: boolean;
}

/** What the `map` analyzer learnt about one text file. */
export interface FileFacts {
  /** Absolute path. */
  path: string;
  language: string;
  bytes: number;
  blank: number;
  comment: number;
  code: number;
  /** Module specifiers as written (`./x.js`, `crate::a::b`, `github.com/x/y`, `pkg.mod`); Rust `mod x;` as `mod:x`. */
  imports: string[];
  symbols: FileSymbol[];
  /** Environment variables read by name (`process.env.X`, `os.getenv("X")`, `env::var("X")`…). */
  env: string[];
  /** Has a program entry: `fn main`, `func main`, `if __name__ == "__main__"`, `static void main`, a `#!` line. */
  main: boolean;
  /** Test cases (`it(`/`test(`, `def test_`, `func TestX`, `#[test]`, `@Test`). */
  tests: number;
  /** The text of a manifest or README (see {@link isManifest}), when at most 64 KiB. */
  text?: string;
}

/** What the map analysis got from one file: facts, a binary file, or why it was skipped. */
export type MapFileOutcome = { status: 'facts'; facts: FileFacts } | { status: 'binary'; bytes: number } | { status: 'skipped'; reason: string };

const MANIFESTS = new Set([
  'package.json',
  'pnpm-workspace.yaml',
  'lerna.json',
  'nx.json',
  'turbo.json',
  'cargo.toml',
  'go.mod',
  'go.work',
  'pyproject.toml',
  'setup.py',
  'setup.cfg',
  'requirements.txt',
  'pom.xml',
  'build.gradle',
  'build.gradle.kts',
  'settings.gradle',
  'settings.gradle.kts',
  'makefile',
  'dockerfile',
  'gemfile',
  'composer.json',
  'cmakelists.txt',
  'deno.json',
  'tsconfig.json',
]);

/** Files whose text the map keeps for the main thread: manifests, READMEs and CI workflows. */
export function isManifest(path: string): boolean {
  const name = basename(path).toLowerCase();
  return MANIFESTS.has(name) || /^readme(\.(md|markdown|rst|txt|adoc))?$/.test(name) || /[\\/]\.github[\\/]workflows[\\/][^\\/]+\.ya?ml$/.test(path) || name === '.gitlab-ci.yml';
}

/**
 * A per-file expression, written as the global, multi-line regular expression it stands for,
 * and how to find its matches without running it over every character of the file:
 *
 * - `line`: it starts with `^` (a line's first column) or `^\s*` (a line's first non-blank
 *   character), and `starts` lists the characters a match can begin with there. Only the lines
 *   that begin so are tried, with a sticky copy at that one place. An anchored expression run
 *   over a whole file tests every position for a line start: that was most of the map's cost.
 * - `literal`: every match begins with `literal` (after a `\b`), so the sticky copy is tried
 *   only where `indexOf` finds it; most files hold none and cost one search for it.
 * - `plain`: run as is, and only when the file holds `needs` (a string every match contains).
 *
 * Each finds the same matches, with the same captures, in the same order as the expression's
 * own global search (see `forEachMatch`; a test compares the two on real sources).
 */
export type Pattern =
  | { kind: 'line'; re: RegExp; sticky: RegExp; indent: boolean; starts: Uint8Array }
  | { kind: 'literal'; re: RegExp; sticky: RegExp; literal: string }
  | { kind: 'plain'; re: RegExp; needs: string | undefined };

function stickyOf(source: string, flags: string): RegExp {
  return new RegExp(source, `${flags.replace(/[gy]/g, '')}y`);
}

/** `re` (`^…` or `^\s*…`) tried at the lines whose first (non-blank) character is one of `starts`. */
function line(re: RegExp, starts: string): Pattern {
  const indent = re.source.startsWith(String.raw`^\s*`);
  if (!indent && !re.source.startsWith('^')) throw new Error(`expected a line expression to start with ^ or ^\\s*, got /${re.source}/`);
  const table = new Uint8Array(128);
  for (const c of starts) table[c.charCodeAt(0)] = 1;
  return { kind: 'line', re: globalOf(re), sticky: stickyOf(re.source.slice(indent ? 4 : 1), re.flags), indent, starts: table };
}

/** `re`, whose every match begins with `literal` (its first characters after an optional `\b`). */
function literal(re: RegExp, text: string): Pattern {
  const source = re.source.replace(/^\\b/, '');
  if (!source.startsWith(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))) throw new Error(`expected /${re.source}/ to start with ${JSON.stringify(text)}`);
  return { kind: 'literal', re: globalOf(re), sticky: stickyOf(re.source, re.flags), literal: text };
}

/** `re` run over the whole text, when the text holds `needs`. */
function plain(re: RegExp, needs?: string): Pattern {
  return { kind: 'plain', re: globalOf(re), needs };
}

function globalOf(re: RegExp): RegExp {
  return re.global ? re : new RegExp(re.source, `${re.flags}g`);
}

interface SymbolRule {
  pattern: Pattern;
  kind: (m: RegExpExecArray) => string;
  name: (m: RegExpExecArray) => string;
  exported: (m: RegExpExecArray) => boolean;
}

interface Rules {
  imports: readonly Pattern[];
  symbols: readonly SymbolRule[];
  env: readonly Pattern[];
  main: Pattern | undefined;
  tests: Pattern | undefined;
}

// Every expression is per line (flag m), anchored at the line start for declarations: an
// indented declaration is a member, not a top-level symbol (Python, Go, Rust, TS alike).
const JS: Rules = {
  imports: [
    line(/^\s*(?:import|export)\s[^'"\n;]*?\sfrom\s*['"]([^'"\n]+)['"]/gm, 'ie'),
    line(/^\s*import\s*['"]([^'"\n]+)['"]/gm, 'i'),
    literal(/\brequire\(\s*['"]([^'"\n]+)['"]\s*\)/gm, 'require('),
    literal(/\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/gm, 'import('),
  ],
  symbols: [
    {
      pattern: line(/^(export\s+(?:default\s+)?)?(?:declare\s+)?(?:async\s+)?(function\*?|class|abstract\s+class|interface|type|enum|const|let|var|namespace)\s+([A-Za-z_$][\w$]*)/gm, 'edafcitlvn'),
      kind: (m) => m[2]!.replace(/\s+/g, ' ').replace('function*', 'function'),
      name: (m) => m[3]!,
      exported: (m) => m[1] !== undefined,
    },
  ],
  env: [
    literal(/\bprocess\.env\.([A-Za-z_][A-Za-z0-9_]*)/g, 'process.env.'),
    literal(/\bprocess\.env\[\s*['"]([^'"]+)['"]\s*\]/g, 'process.env['),
    literal(/\bimport\.meta\.env\.([A-Za-z_][A-Za-z0-9_]*)/g, 'import.meta.env.'),
    literal(/\bDeno\.env\.get\(\s*['"]([^'"]+)['"]/g, 'Deno.env.get('),
  ],
  main: undefined,
  tests: line(/^\s*(?:it|test|it\.each\([^)]*\)|test\.each\([^)]*\))\s*\(\s*['"`]/gm, 'it'),
};

const PY: Rules = {
  imports: [line(/^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)/gm, 'i'), line(/^\s*from\s+(\.*[\w.]*)\s+import\b/gm, 'f')],
  symbols: [
    { pattern: line(/^(async\s+def|def|class)\s+([A-Za-z_]\w*)/gm, 'adc'), kind: (m) => (m[1]!.endsWith('def') ? 'def' : 'class'), name: (m) => m[2]!, exported: (m) => !m[2]!.startsWith('_') },
    { pattern: line(/^(__all__)\s*[:=]/gm, '_'), kind: () => '__all__', name: () => '__all__', exported: () => true },
  ],
  env: [literal(/\bos\.environ\[\s*['"]([^'"]+)['"]\s*\]/g, 'os.environ['), literal(/\bos\.environ\.get\(\s*['"]([^'"]+)['"]/g, 'os.environ.get('), literal(/\bos\.getenv\(\s*['"]([^'"]+)['"]/g, 'os.getenv(')],
  main: line(/^if\s+__name__\s*==\s*['"]__main__['"]/m, 'i'),
  tests: line(/^\s*(?:async\s+)?def\s+test_\w*\s*\(/gm, 'ad'),
};

// Go's imports come from its import blocks and lines (see `goImports`), not from rules.
const GO: Rules = {
  imports: [],
  symbols: [
    { pattern: line(/^func\s+(\([^)]*\)\s*)?([A-Za-z_]\w*)/gm, 'f'), kind: (m) => (m[1] === undefined ? 'func' : 'method'), name: (m) => m[2]!, exported: (m) => /^[A-Z]/.test(m[2]!) },
    {
      pattern: line(/^type\s+([A-Za-z_]\w*)\s+(struct|interface|func|\S+)/gm, 't'),
      kind: (m) => (m[2] === 'struct' || m[2] === 'interface' ? m[2] : 'type'),
      name: (m) => m[1]!,
      exported: (m) => /^[A-Z]/.test(m[1]!),
    },
    { pattern: line(/^(var|const)\s+([A-Za-z_]\w*)/gm, 'vc'), kind: (m) => m[1]!, name: (m) => m[2]!, exported: (m) => /^[A-Z]/.test(m[2]!) },
  ],
  env: [literal(/\bos\.(?:Getenv|LookupEnv)\(\s*"([^"]+)"/g, 'os.')],
  main: line(/^func\s+main\s*\(\s*\)/m, 'f'),
  tests: line(/^func\s+Test[A-Z_]\w*\s*\(/gm, 'f'),
};
const GO_IMPORT_BLOCK = line(/^import\s*\(([\s\S]*?)^\)/gm, 'i');
const GO_IMPORT_LINE = line(/^import\s+(?:[\w.]+\s+)?"([^"\n]+)"/gm, 'i');

const RUST_MOD = line(/^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;/gm, 'pm');
const RUST: Rules = {
  imports: [line(/^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+((?:::)?[\w]+(?:::[\w]+)*)/gm, 'pu'), RUST_MOD, line(/^\s*extern\s+crate\s+(\w+)/gm, 'e')],
  symbols: [
    {
      pattern: line(
        /^(pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:const\s+(?=fn))?(?:unsafe\s+)?(?:extern\s+"[^"]*"\s+)?(fn\s|struct\s|enum\s|trait\s|type\s|const\s|static\s|mod\s|union\s|macro_rules!)\s*([A-Za-z_]\w*)/gm,
        'pacuefstm',
      ),
      kind: (m) => m[2]!.replace('!', '').trim(),
      name: (m) => m[3]!,
      exported: (m) => m[1] !== undefined,
    },
    { pattern: line(/^(pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?impl(?:<[^>]*>)?\s+([\w:<>, ]+?)\s*(?:\{|where|$)/gm, 'pui'), kind: () => 'impl', name: (m) => m[2]!.trim(), exported: () => false },
  ],
  env: [literal(/\benv::var(?:_os)?\(\s*"([^"]+)"/g, 'env::var'), literal(/\benv!\(\s*"([^"]+)"/g, 'env!('), literal(/\boption_env!\(\s*"([^"]+)"/g, 'option_env!(')],
  main: line(/^(?:pub\s+)?(?:async\s+)?fn\s+main\s*\(/m, 'paf'),
  tests: literal(/#\[(?:tokio::)?test\]/g, '#['),
};

const JVM: Rules = {
  imports: [line(/^import\s+(?:static\s+)?([\w.]+)/gm, 'i')],
  symbols: [
    {
      pattern: line(/^(public\s+|protected\s+|private\s+)?(?:(?:abstract|final|sealed|data|open|static)\s+)*(class|interface|enum|record|object|fun)\s+([A-Za-z_]\w*)/gm, 'pafsdocier'),
      kind: (m) => m[2]!,
      name: (m) => m[3]!,
      exported: (m) => m[1] === undefined || m[1].startsWith('public'),
    },
  ],
  env: [literal(/\bSystem\.getenv\(\s*"([^"]+)"/g, 'System.getenv(')],
  main: plain(/\bstatic\s+void\s+main\s*\(|^fun\s+main\s*\(/m, 'main'),
  tests: literal(/@Test\b/g, '@Test'),
};

const C: Rules = {
  imports: [line(/^\s*#\s*include\s+"([^"\n]+)"/gm, '#')],
  symbols: [],
  env: [literal(/\bgetenv\(\s*"([^"]+)"/g, 'getenv(')],
  main: line(/^\s*int\s+main\s*\(/m, 'i'),
  tests: undefined,
};

const RUBY: Rules = {
  imports: [line(/^\s*require(?:_relative)?\s*\(?\s*['"]([^'"\n]+)['"]/gm, 'r')],
  symbols: [{ pattern: line(/^(class|module|def)\s+([\w:.?!]+)/gm, 'cmd'), kind: (m) => m[1]!, name: (m) => m[2]!, exported: () => true }],
  env: [literal(/\bENV\[\s*['"]([^'"]+)['"]\s*\]/g, 'ENV['), literal(/\bENV\.fetch\(\s*['"]([^'"]+)['"]/g, 'ENV.fetch(')],
  main: line(/^if\s+__FILE__\s*==\s*\$0/m, 'i'),
  tests: line(/^\s*(?:it|test)\s+['"]/gm, 'it'),
};

const SHELL: Rules = { imports: [], symbols: [], env: [], main: undefined, tests: undefined };

/** Every expression of the map analysis, by language and use: for tests of the scan against the expressions. @internal */
export function mapPatterns(): { name: string; pattern: Pattern }[] {
  const all: { name: string; pattern: Pattern }[] = [
    { name: 'Go import block', pattern: GO_IMPORT_BLOCK },
    { name: 'Go import line', pattern: GO_IMPORT_LINE },
  ];
  for (const [language, rules] of Object.entries({ JS, PY, GO, RUST, JVM, C, RUBY })) {
    for (const [i, pattern] of rules.imports.entries()) all.push({ name: `${language} imports ${i}`, pattern });
    for (const [i, rule] of rules.symbols.entries()) all.push({ name: `${language} symbols ${i}`, pattern: rule.pattern });
    for (const [i, pattern] of rules.env.entries()) all.push({ name: `${language} env ${i}`, pattern });
    if (rules.main !== undefined) all.push({ name: `${language} main`, pattern: rules.main });
    if (rules.tests !== undefined) all.push({ name: `${language} tests`, pattern: rules.tests });
  }
  return all;
}

const RULES: Readonly<Record<string, Rules>> = {
  TypeScript: JS,
  JavaScript: JS,
  Python: PY,
  Go: GO,
  Rust: RUST,
  Java: JVM,
  Kotlin: JVM,
  Scala: JVM,
  C,
  'C++': C,
  Ruby: RUBY,
  Shell: SHELL,
};

const INTERPRETERS: Readonly<Record<string, string>> = {
  sh: 'Shell',
  bash: 'Shell',
  zsh: 'Shell',
  dash: 'Shell',
  ksh: 'Shell',
  fish: 'Shell',
  python: 'Python',
  python3: 'Python',
  ruby: 'Ruby',
  node: 'JavaScript',
  perl: 'Perl',
};

/** The language of a script without an extension, from its `#!` line (as cloc and Linguist do). */
function interpreterLanguage(text: string): string | undefined {
  const m = /^#!\s*(?:\S*\/)?(?:env\s+(?:-\S+\s+)*)?([a-z]+)/.exec(text);
  return m === null ? undefined : INTERPRETERS[m[1]!];
}

function signatureAt(text: string, index: number): string {
  let stop = text.indexOf('\n', index);
  if (stop === -1) stop = text.length;
  let line = text.slice(index, stop).trim();
  const brace = line.search(/\s*(?:\{\s*$|\{\s*\}|=>\s*\{?\s*$|:\s*$)/);
  if (brace > 0) line = line.slice(0, brace);
  return line.length > MAX_SIGNATURE ? `${line.slice(0, MAX_SIGNATURE - 1)}…` : line;
}

/** 1-based line of `index`, counting forward from a known (`from`, `line`) point. */
function lineAt(text: string, index: number, from: { index: number; line: number }): number {
  let line = from.line;
  for (let at = text.indexOf('\n', from.index); at !== -1 && at < index; at = text.indexOf('\n', at + 1)) line++;
  from.index = index;
  from.line = line;
  return line;
}

/** The lines of a text: where each starts, and where its first non-blank character is (-1: none). */
export interface Lines {
  starts: number[];
  firsts: number[];
}

/** JavaScript's `\s`. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The lines of `text`, or undefined when it has line ends other than `\n` and `\r\n` (a lone
 * `\r`, U+2028, U+2029: rare, and then the expressions run as written).
 */
export function linesOf(text: string): Lines | undefined {
  if (text.includes('\u2028') || text.includes('\u2029') || (text.includes('\r') && /\r(?!\n)/.test(text))) return undefined;
  const starts: number[] = [];
  const firsts: number[] = [];
  const length = text.length;
  for (let start = 0; start <= length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = length;
    let at = start;
    while (at < end && isSpace(text.charCodeAt(at))) at++;
    starts.push(start);
    firsts.push(at < end ? at : -1);
    start = end + 1;
  }
  return { starts, firsts };
}

/**
 * Calls `each` with every match of `pattern` in `text` — the matches, captures and order of
 * the expression's own global search — until `each` returns true. `lines` undefined: the
 * expression runs as written.
 *
 * Why the line scan finds the same: a global search resumes where its last match ended and
 * tries each line start from there; `^` fits one place per line, and `^\s*` takes the
 * blanks to the first other character (crossing blank lines: such a match is found here from
 * that character's line, with the same captures and end; its position is that character's,
 * not the blank line's — only symbols use positions, and their expressions have no `\s*`).
 * So trying each line start not inside the last match, at its first column or its first
 * non-blank character, is the same search.
 */
export function forEachMatch(pattern: Pattern, text: string, lines: Lines | undefined, each: (m: RegExpExecArray) => unknown): void {
  if (lines === undefined || pattern.kind === 'plain') {
    if (pattern.kind === 'plain' && pattern.needs !== undefined && !text.includes(pattern.needs)) return;
    const re = pattern.re;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) if (each(m) === true) return;
    return;
  }
  const sticky = pattern.sticky;
  if (pattern.kind === 'literal') {
    for (let at = text.indexOf(pattern.literal); at !== -1; at = text.indexOf(pattern.literal, at)) {
      sticky.lastIndex = at;
      const m = sticky.exec(text);
      if (m === null) at++;
      else {
        if (each(m) === true) return;
        at = Math.max(sticky.lastIndex, at + 1);
      }
    }
    return;
  }
  const { starts, firsts } = lines;
  const table = pattern.starts;
  const places = pattern.indent ? firsts : starts;
  const n = starts.length;
  let end = 0;
  for (let i = 0; i < n; i++) {
    if (starts[i]! < end) continue;
    const at = places[i]!;
    if (at === -1) continue;
    const c = text.charCodeAt(at);
    if (c >= 128 || table[c] === 0) continue;
    sticky.lastIndex = at;
    const m = sticky.exec(text);
    if (m === null) continue;
    if (each(m) === true) return;
    end = Math.max(sticky.lastIndex, at + 1);
  }
}

function count(pattern: Pattern | undefined, text: string, lines: Lines | undefined): number {
  if (pattern === undefined) return 0;
  let n = 0;
  forEachMatch(pattern, text, lines, () => {
    n++;
  });
  return n;
}

function some(pattern: Pattern | undefined, text: string, lines: Lines | undefined): boolean {
  let found = false;
  if (pattern !== undefined) forEachMatch(pattern, text, lines, () => (found = true));
  return found;
}

/**
 * The facts of one file from its bytes (`size` as opened). Binary files (a NUL among the
 * first 8000 bytes, git's rule) are only counted.
 */
export function factsOf(path: string, bytes: Buffer, size: number): MapFileOutcome {
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return { status: 'binary', bytes: size };
  const shebang = bytes[0] === 0x23 && bytes[1] === 0x21;
  const named = languageOf(path);
  const language = named === OTHER_LANGUAGE && shebang ? (interpreterLanguage(bytes.subarray(0, 128).toString('latin1')) ?? OTHER_LANGUAGE) : named;
  // Line kinds straight from the bytes: a large file is never decoded.
  const kinds = lineKinds(bytes, language);
  const facts: FileFacts = { path, language, bytes: bytes.length, ...kinds, imports: [], symbols: [], env: [], main: shebang, tests: 0 };
  if (bytes.length <= MAX_MANIFEST_BYTES && isManifest(path)) facts.text = bytes.toString('utf8');
  const rules = RULES[language];
  if (rules === undefined || bytes.length > MAX_OUTLINE_BYTES) return { status: 'facts', facts };
  const text = facts.text ?? bytes.toString('utf8');
  const lines = linesOf(text);

  const imports = new Set<string>();
  for (const pattern of rules.imports) {
    forEachMatch(pattern, text, lines, (m) => {
      if (imports.size >= MAX_IMPORTS) return true;
      const spec = m[1]!;
      if (language === 'Python' && spec.includes(',')) for (const part of spec.split(',')) imports.add(part.trim());
      else if (pattern === RUST_MOD) imports.add(`mod:${spec}`);
      else imports.add(spec);
      return false;
    });
  }
  // Go's import blocks: only the lines inside `import ( … )` count (an indented string
  // elsewhere is no import), then the one-line imports.
  if (language === 'Go') {
    forEachMatch(GO_IMPORT_BLOCK, text, lines, (block) => {
      for (const m of block[1]!.matchAll(/"([^"\n]+)"/g)) imports.add(m[1]!);
    });
    forEachMatch(GO_IMPORT_LINE, text, lines, (m) => {
      imports.add(m[1]!);
    });
  }
  facts.imports = [...imports];

  const found: FileSymbol[] = [];
  for (const rule of rules.symbols) {
    const cursor = { index: 0, line: 1 };
    forEachMatch(rule.pattern, text, lines, (m) => {
      found.push({ name: rule.name(m), kind: rule.kind(m), line: lineAt(text, m.index, cursor), signature: signatureAt(text, m.index), exported: rule.exported(m) });
    });
  }
  found.sort((a, b) => a.line - b.line);
  facts.symbols = found.length > MAX_SYMBOLS ? [...found.filter((s) => s.exported), ...found.filter((s) => !s.exported)].slice(0, MAX_SYMBOLS).sort((a, b) => a.line - b.line) : found;

  const env = new Set<string>();
  for (const pattern of rules.env) {
    forEachMatch(pattern, text, lines, (m) => {
      env.add(m[1]!);
    });
  }
  facts.env = [...env].sort();
  if (!facts.main && some(rules.main, text, lines)) facts.main = true;
  facts.tests = count(rules.tests, text, lines);
  return { status: 'facts', facts };
}
