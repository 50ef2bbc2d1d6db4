import { basename, extname } from 'node:path';

/** The language of files whose name or extension the table does not know. */
export const OTHER_LANGUAGE = 'Other';

// Names follow GitHub Linguist's where they agree with common use; the table covers what a
// code base usually holds, not every language (an unknown extension counts as "Other").
const BY_EXTENSION: Readonly<Record<string, string>> = {
  ts: 'TypeScript', mts: 'TypeScript', cts: 'TypeScript', tsx: 'TypeScript',
  js: 'JavaScript', mjs: 'JavaScript', cjs: 'JavaScript', jsx: 'JavaScript',
  json: 'JSON', jsonc: 'JSON', json5: 'JSON',
  md: 'Markdown', markdown: 'Markdown', mdx: 'MDX',
  yml: 'YAML', yaml: 'YAML',
  toml: 'TOML',
  ini: 'INI', cfg: 'INI',
  xml: 'XML', xsd: 'XML', xsl: 'XML', plist: 'XML',
  svg: 'SVG',
  html: 'HTML', htm: 'HTML',
  css: 'CSS', scss: 'SCSS', sass: 'Sass', less: 'Less',
  vue: 'Vue', svelte: 'Svelte', astro: 'Astro',
  py: 'Python', pyi: 'Python', pyw: 'Python',
  rs: 'Rust',
  go: 'Go',
  java: 'Java',
  kt: 'Kotlin', kts: 'Kotlin',
  scala: 'Scala', sc: 'Scala',
  groovy: 'Groovy', gradle: 'Groovy',
  swift: 'Swift',
  c: 'C', h: 'C',
  cc: 'C++', cpp: 'C++', cxx: 'C++', 'c++': 'C++', hh: 'C++', hpp: 'C++', hxx: 'C++', ipp: 'C++',
  m: 'Objective-C', mm: 'Objective-C++',
  cs: 'C#', csx: 'C#',
  fs: 'F#', fsi: 'F#', fsx: 'F#',
  vb: 'Visual Basic',
  rb: 'Ruby', rake: 'Ruby', gemspec: 'Ruby',
  php: 'PHP',
  pl: 'Perl', pm: 'Perl',
  lua: 'Lua',
  r: 'R',
  jl: 'Julia',
  dart: 'Dart',
  ex: 'Elixir', exs: 'Elixir',
  erl: 'Erlang', hrl: 'Erlang',
  hs: 'Haskell', lhs: 'Haskell',
  ml: 'OCaml', mli: 'OCaml',
  clj: 'Clojure', cljs: 'Clojure', cljc: 'Clojure', edn: 'Clojure',
  el: 'Emacs Lisp',
  vim: 'Vim Script',
  zig: 'Zig',
  nim: 'Nim',
  sol: 'Solidity',
  sh: 'Shell', bash: 'Shell', zsh: 'Shell', fish: 'Shell', ksh: 'Shell',
  ps1: 'PowerShell', psm1: 'PowerShell', psd1: 'PowerShell',
  bat: 'Batchfile', cmd: 'Batchfile',
  sql: 'SQL',
  graphql: 'GraphQL', gql: 'GraphQL',
  proto: 'Protocol Buffer',
  tf: 'HCL', tfvars: 'HCL', hcl: 'HCL',
  mk: 'Makefile', mak: 'Makefile',
  cmake: 'CMake',
  dockerfile: 'Dockerfile',
  s: 'Assembly', asm: 'Assembly',
  tex: 'TeX', sty: 'TeX',
  rst: 'reStructuredText',
  adoc: 'AsciiDoc',
  txt: 'Text',
  csv: 'CSV', tsv: 'TSV',
  lock: 'Lockfile',
};

const BY_NAME: Readonly<Record<string, string>> = {
  makefile: 'Makefile',
  gnumakefile: 'Makefile',
  dockerfile: 'Dockerfile',
  containerfile: 'Dockerfile',
  'cmakelists.txt': 'CMake',
  rakefile: 'Ruby',
  gemfile: 'Ruby',
  jenkinsfile: 'Groovy',
  'go.mod': 'Go Module',
  'go.sum': 'Go Checksums',
};

/**
 * The language of a file, from its name (`Makefile`, `Dockerfile`) or else its extension,
 * compared without case (`.TS` is TypeScript). Files the table does not know are `"Other"`.
 *
 * @example
 * languageOf('/repo/src/index.ts'); // 'TypeScript'
 */
export function languageOf(path: string): string {
  const name = basename(path).toLowerCase();
  const byName = BY_NAME[name];
  if (byName !== undefined) return byName;
  const extension = extname(name).slice(1);
  return (extension !== '' && Object.hasOwn(BY_EXTENSION, extension) ? BY_EXTENSION[extension] : undefined) ?? OTHER_LANGUAGE;
}
