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

interface Rules {
  imports: readonly RegExp[];
  symbols: readonly { re: RegExp; kind: (m: RegExpExecArray) => string; name: (m: RegExpExecArray) => string; exported: (m: RegExpExecArray) => boolean }[];
  env: readonly RegExp[];
  main: RegExp | undefined;
  tests: RegExp | undefined;
}

// Every expression is per line (flag m), anchored at the line start for declarations: an
// indented declaration is a member, not a top-level symbol (Python, Go, Rust, TS alike).
const JS: Rules = {
  imports: [/^\s*(?:import|export)\s[^'"\n;]*?\sfrom\s*['"]([^'"\n]+)['"]/gm, /^\s*import\s*['"]([^'"\n]+)['"]/gm, /\brequire\(\s*['"]([^'"\n]+)['"]\s*\)/gm, /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/gm],
  symbols: [
    {
      re: /^(export\s+(?:default\s+)?)?(?:declare\s+)?(?:async\s+)?(function\*?|class|abstract\s+class|interface|type|enum|const|let|var|namespace)\s+([A-Za-z_$][\w$]*)/gm,
      kind: (m) => m[2]!.replace(/\s+/g, ' ').replace('function*', 'function'),
      name: (m) => m[3]!,
      exported: (m) => m[1] !== undefined,
    },
  ],
  env: [/\bprocess\.env\.([A-Za-z_][A-Za-z0-9_]*)/g, /\bprocess\.env\[\s*['"]([^'"]+)['"]\s*\]/g, /\bimport\.meta\.env\.([A-Za-z_][A-Za-z0-9_]*)/g, /\bDeno\.env\.get\(\s*['"]([^'"]+)['"]/g],
  main: undefined,
  tests: /^\s*(?:it|test|it\.each\([^)]*\)|test\.each\([^)]*\))\s*\(\s*['"`]/gm,
};

const PY: Rules = {
  imports: [/^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)/gm, /^\s*from\s+(\.*[\w.]*)\s+import\b/gm],
  symbols: [
    { re: /^(async\s+def|def|class)\s+([A-Za-z_]\w*)/gm, kind: (m) => (m[1]!.endsWith('def') ? 'def' : 'class'), name: (m) => m[2]!, exported: (m) => !m[2]!.startsWith('_') },
    { re: /^(__all__)\s*[:=]/gm, kind: () => '__all__', name: () => '__all__', exported: () => true },
  ],
  env: [/\bos\.environ\[\s*['"]([^'"]+)['"]\s*\]/g, /\bos\.environ\.get\(\s*['"]([^'"]+)['"]/g, /\bos\.getenv\(\s*['"]([^'"]+)['"]/g],
  main: /^if\s+__name__\s*==\s*['"]__main__['"]/m,
  tests: /^\s*(?:async\s+)?def\s+test_\w*\s*\(/gm,
};

const GO: Rules = {
  imports: [/^import\s+(?:[\w.]+\s+)?"([^"\n]+)"/gm, /^\s+(?:[\w.]+\s+)?"([^"\n]+)"\s*$/gm],
  symbols: [
    { re: /^func\s+(\([^)]*\)\s*)?([A-Za-z_]\w*)/gm, kind: (m) => (m[1] === undefined ? 'func' : 'method'), name: (m) => m[2]!, exported: (m) => /^[A-Z]/.test(m[2]!) },
    { re: /^type\s+([A-Za-z_]\w*)\s+(struct|interface|func|\S+)/gm, kind: (m) => (m[2] === 'struct' || m[2] === 'interface' ? m[2] : 'type'), name: (m) => m[1]!, exported: (m) => /^[A-Z]/.test(m[1]!) },
    { re: /^(var|const)\s+([A-Za-z_]\w*)/gm, kind: (m) => m[1]!, name: (m) => m[2]!, exported: (m) => /^[A-Z]/.test(m[2]!) },
  ],
  env: [/\bos\.(?:Getenv|LookupEnv)\(\s*"([^"]+)"/g],
  main: /^func\s+main\s*\(\s*\)/m,
  tests: /^func\s+Test[A-Z_]\w*\s*\(/gm,
};

const RUST: Rules = {
  imports: [/^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+((?:::)?[\w]+(?:::[\w]+)*)/gm, /^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;/gm, /^\s*extern\s+crate\s+(\w+)/gm],
  symbols: [
    {
      re: /^(pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:const\s+(?=fn))?(?:unsafe\s+)?(?:extern\s+"[^"]*"\s+)?(fn\s|struct\s|enum\s|trait\s|type\s|const\s|static\s|mod\s|union\s|macro_rules!)\s*([A-Za-z_]\w*)/gm,
      kind: (m) => m[2]!.replace('!', '').trim(),
      name: (m) => m[3]!,
      exported: (m) => m[1] !== undefined,
    },
    { re: /^(pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?impl(?:<[^>]*>)?\s+([\w:<>, ]+?)\s*(?:\{|where|$)/gm, kind: () => 'impl', name: (m) => m[2]!.trim(), exported: () => false },
  ],
  env: [/\benv::var(?:_os)?\(\s*"([^"]+)"/g, /\benv!\(\s*"([^"]+)"/g, /\boption_env!\(\s*"([^"]+)"/g],
  main: /^(?:pub\s+)?(?:async\s+)?fn\s+main\s*\(/m,
  tests: /#\[(?:tokio::)?test\]/g,
};

const JVM: Rules = {
  imports: [/^import\s+(?:static\s+)?([\w.]+)/gm],
  symbols: [
    {
      re: /^(public\s+|protected\s+|private\s+)?(?:(?:abstract|final|sealed|data|open|static)\s+)*(class|interface|enum|record|object|fun)\s+([A-Za-z_]\w*)/gm,
      kind: (m) => m[2]!,
      name: (m) => m[3]!,
      exported: (m) => m[1] === undefined || m[1].startsWith('public'),
    },
  ],
  env: [/\bSystem\.getenv\(\s*"([^"]+)"/g],
  main: /\bstatic\s+void\s+main\s*\(|^fun\s+main\s*\(/m,
  tests: /@Test\b/g,
};

const C: Rules = {
  imports: [/^\s*#\s*include\s+"([^"\n]+)"/gm],
  symbols: [],
  env: [/\bgetenv\(\s*"([^"]+)"/g],
  main: /^\s*int\s+main\s*\(/m,
  tests: undefined,
};

const RUBY: Rules = {
  imports: [/^\s*require(?:_relative)?\s*\(?\s*['"]([^'"\n]+)['"]/gm],
  symbols: [{ re: /^(class|module|def)\s+([\w:.?!]+)/gm, kind: (m) => m[1]!, name: (m) => m[2]!, exported: () => true }],
  env: [/\bENV\[\s*['"]([^'"]+)['"]\s*\]/g, /\bENV\.fetch\(\s*['"]([^'"]+)['"]/g],
  main: /^if\s+__FILE__\s*==\s*\$0/m,
  tests: /^\s*(?:it|test)\s+['"]/gm,
};

const SHELL: Rules = { imports: [], symbols: [], env: [], main: undefined, tests: undefined };

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

function count(re: RegExp | undefined, text: string): number {
  if (re === undefined) return 0;
  if (!re.global) return re.test(text) ? 1 : 0;
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
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

  const imports = new Set<string>();
  for (const re of rules.imports) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null && imports.size < MAX_IMPORTS; m = re.exec(text)) {
      const spec = m[1]!;
      if (language === 'Python' && spec.includes(',')) for (const part of spec.split(',')) imports.add(part.trim());
      else if (language === 'Rust' && re === rules.imports[1]) imports.add(`mod:${spec}`);
      else imports.add(spec);
    }
  }
  // Go's import blocks: the second expression also matches indented strings elsewhere, so
  // only lines inside `import ( … )` count.
  if (language === 'Go') {
    imports.clear();
    for (const block of text.matchAll(/^import\s*\(([\s\S]*?)^\)/gm)) for (const m of block[1]!.matchAll(/"([^"\n]+)"/g)) imports.add(m[1]!);
    for (const m of text.matchAll(/^import\s+(?:[\w.]+\s+)?"([^"\n]+)"/gm)) imports.add(m[1]!);
  }
  facts.imports = [...imports];

  const found: FileSymbol[] = [];
  for (const rule of rules.symbols) {
    rule.re.lastIndex = 0;
    const cursor = { index: 0, line: 1 };
    for (let m = rule.re.exec(text); m !== null; m = rule.re.exec(text)) {
      found.push({ name: rule.name(m), kind: rule.kind(m), line: lineAt(text, m.index, cursor), signature: signatureAt(text, m.index), exported: rule.exported(m) });
    }
  }
  found.sort((a, b) => a.line - b.line);
  facts.symbols = found.length > MAX_SYMBOLS ? [...found.filter((s) => s.exported), ...found.filter((s) => !s.exported)].slice(0, MAX_SYMBOLS).sort((a, b) => a.line - b.line) : found;

  const env = new Set<string>();
  for (const re of rules.env) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) env.add(m[1]!);
  }
  facts.env = [...env].sort();
  if (!facts.main && rules.main?.test(text) === true) facts.main = true;
  facts.tests = count(rules.tests, text);
  return { status: 'facts', facts };
}
