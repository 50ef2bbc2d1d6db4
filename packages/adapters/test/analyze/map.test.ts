import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from '@fanout/scheduler';
import { analyzeAdapter, lineKinds, type MapOutput } from '../../src/analyze/index.js';
import { factsOf, forEachMatch, linesOf, mapPatterns, type Pattern } from '../../src/analyze/facts.js';

// Each fixture's counts were made by hand, line by line (the comments say which is which), and
// checked with cloc 1.96: it agrees on every fixture but one line of TS, where a `/*` inside a
// string fools it (it strips no strings in TypeScript); here a string hides comment markers.
const TS = [
  '// header comment', // comment
  '', // blank
  "import { a } from './a.js';", // code
  '/* block', // comment
  '', // blank (inside a block comment: still blank, as cloc counts)
  '   still block */', // comment
  "const glob = '**/*.ts'; // not a block opener inside a string", // code
  'const x = 1; /* trailing */', // code
  '/** doc */ export function f(): void {}', // code
  '   ', // blank
  '}', // code
].join('\n');

const PY = [
  '#!/usr/bin/env python3', // code (cloc counts a #! line as code)
  '"""Module docstring', // comment
  'spanning lines.', // comment
  '"""', // comment
  'import os', // code
  '', // blank
  'def f():', // code
  "    '''one-line doc'''", // comment
  '    return "# not a comment"  # but this is', // code
  '# last', // comment (no newline at the end: the last line still counts)
].join('\n');

const RUST = ['//! crate doc', 'use std::env;', '', '/* a', ' * b */', 'pub fn main() {', '    let s = "/* not */";', '}', ''].join('\n');
// comment, code, blank, comment, comment, code, code, code → 1 blank, 3 comment, 4 code (trailing \n ends line 8)

const SHELL = ['#!/bin/sh', '# comment', 'echo "# not" # yes', '', 'exit 0'].join('\n');
// code (#!), comment, code, blank, code

const MARKDOWN = ['# Title', '', '<!-- hidden', 'still -->', 'text'].join('\n');
// code (a heading is text), blank, comment, comment, code

describe('lineKinds', () => {
  it('counts blank, comment and code lines as cloc does, per language (hand-counted fixtures)', () => {
    expect(lineKinds(TS, 'TypeScript')).toEqual({ blank: 3, comment: 3, code: 5 });
    expect(lineKinds(PY, 'Python')).toEqual({ blank: 1, comment: 5, code: 4 });
    expect(lineKinds(RUST, 'Rust')).toEqual({ blank: 1, comment: 3, code: 4 });
    expect(lineKinds(SHELL, 'Shell')).toEqual({ blank: 1, comment: 1, code: 3 });
    expect(lineKinds(MARKDOWN, 'Markdown')).toEqual({ blank: 1, comment: 2, code: 2 });
    expect(lineKinds('{\n  "a": "// b"\n}\n', 'JSON')).toEqual({ blank: 0, comment: 0, code: 3 });
    expect(lineKinds('', 'TypeScript')).toEqual({ blank: 0, comment: 0, code: 0 });
    expect(lineKinds('x\r\n\r\n// y\r\n', 'Go')).toEqual({ blank: 1, comment: 1, code: 1 });
  });
});

describe('factsOf', () => {
  const facts = (path: string, text: string) => {
    const outcome = factsOf(path, Buffer.from(text), Buffer.byteLength(text));
    if (outcome.status !== 'facts') throw new Error(`expected facts, got ${outcome.status}`);
    return outcome.facts;
  };

  it('reads TypeScript imports, top-level symbols (members are not), env variables and tests', () => {
    const f = facts(
      '/r/src/index.ts',
      [
        "import { a } from './a.js';",
        "export { b } from '@scope/b';",
        "import './side-effect.js';",
        "const c = require('c');",
        'export async function run(argv: string[]): Promise<number> {',
        '  const inner = 1;',
        '  return Number(process.env.PORT ?? process.env["HOST_NAME"]);',
        '}',
        'class Hidden {}',
        "it('works', () => {});",
      ].join('\n'),
    );
    expect(f.imports.sort()).toEqual(['./a.js', './side-effect.js', '@scope/b', 'c']);
    expect(f.symbols.map((s) => [s.name, s.kind, s.line, s.exported])).toEqual([
      ['c', 'const', 4, false],
      ['run', 'function', 5, true],
      ['Hidden', 'class', 9, false],
    ]);
    expect(f.symbols[1]!.signature).toBe('export async function run(argv: string[]): Promise<number>');
    expect(f.env).toEqual(['HOST_NAME', 'PORT']);
    expect(f.tests).toBe(1);
    expect(f.main).toBe(false);
  });

  it('reads Python, Go and Rust the way each spells modules, exports, main and tests', () => {
    const py = facts('/r/pkg/cli.py', "import os, sys\nfrom .core import run\n__all__ = ['main']\n\ndef main():\n    os.getenv('APP_MODE')\n\ndef _private():\n    pass\n\nif __name__ == '__main__':\n    main()\n");
    expect(py.imports).toEqual(['os', 'sys', '.core']);
    expect(py.symbols.map((s) => [s.name, s.exported])).toEqual([
      ['__all__', true],
      ['main', true],
      ['_private', false],
    ]);
    expect(py.env).toEqual(['APP_MODE']);
    expect(py.main).toBe(true);

    const go = facts(
      '/r/cmd/app/main.go',
      'package main\n\nimport (\n\t"fmt"\n\tcore "example.com/app/internal/core"\n)\n\nfunc main() {\n\tfmt.Println(os.Getenv("APP_PORT"))\n}\n\nfunc Helper() {}\n\ntype Server struct{}\n',
    );
    expect(go.imports).toEqual(['fmt', 'example.com/app/internal/core']);
    expect(go.symbols.map((s) => [s.name, s.kind, s.exported])).toEqual([
      ['main', 'func', false],
      ['Helper', 'func', true],
      ['Server', 'struct', true],
    ]);
    expect(go.main).toBe(true);
    expect(go.env).toEqual(['APP_PORT']);

    const rs = facts(
      '/r/src/lib.rs',
      'mod parse;\npub mod run;\nuse crate::parse::Parser;\nuse other_crate::Thing;\n\npub struct Config;\nfn helper() {}\nimpl Config {\n    pub fn new() -> Self { Config }\n}\n#[test]\nfn t() {}\n',
    );
    expect(rs.imports).toEqual(['crate::parse::Parser', 'other_crate::Thing', 'mod:parse', 'mod:run']);
    expect(rs.symbols.map((s) => [s.name, s.kind, s.exported])).toEqual([
      ['parse', 'mod', false],
      ['run', 'mod', true],
      ['Config', 'struct', true],
      ['helper', 'fn', false],
      ['Config', 'impl', false],
      ['t', 'fn', false],
    ]);
    expect(rs.tests).toBe(1);
  });

  it('names a script without an extension by its #! line; a word starting with a keyword is no Rust item', () => {
    expect(facts('/r/ci/install', '#!/usr/bin/env bash\necho hi\n').language).toBe('Shell');
    expect(facts('/r/bin/tool', '#!/usr/bin/python3\nprint(1)\n').language).toBe('Python');
    expect(facts('/r/LICENSE', 'MIT\n').language).toBe('Other');
    expect(facts('/r/src/lib.rs', '/*!\nmodeled after grep\n*/\nmod real;\n').symbols.map((s) => s.name)).toEqual(['real']);
  });

  it('keeps the text of manifests and READMEs, not of sources; a binary file is only counted', () => {
    expect(facts('/r/Cargo.toml', '[package]\nname = "x"\n').text).toBe('[package]\nname = "x"\n');
    expect(facts('/r/README.md', '# x\n').text).toBe('# x\n');
    expect(facts('/r/src/a.ts', 'x\n').text).toBeUndefined();
    expect(factsOf('/r/a.png', Buffer.from([0, 1, 2]), 3)).toEqual({ status: 'binary', bytes: 3 });
  });

  // The scan tries each expression only where it can match (a line's first column or first
  // non-blank character, or where its literal is); the expression run as written over the
  // whole text is the reference (`forEachMatch` without lines). Same matches, same captures,
  // same order — on this repository's own sources and on snippets of every language with
  // the whitespace that could trip a line scan (indents, blank lines, CRLF, a BOM, NBSP, tabs).
  it('finds, line by line, exactly what each expression finds over the whole text', () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile() && /\.(ts|js)$/.test(entry.name))
        .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'));
    const repo = sources(join(dirname(new URL(import.meta.url).pathname), '../../src'));
    expect(repo.length).toBeGreaterThan(50);
    const snippets = [
      TS,
      PY,
      RUST,
      "import a from 'a';\n\n\n   import   'side';\n\texport { b } from \"./b.js\";\nconst c = require( './c' );\nawait import('./d.js');\n",
      "\uFEFFimport x from 'bom';\nexport default function main() {}\nexport async function* gen() {}\nexport abstract class A {}\ndeclare namespace N {}\n",
      "describe('x', () => {\n  it('a', () => {});\n  it.each([\n    [1, 2],\n  ])('b %s', () => {});\n  test(`c`, () => {});\n\u00A0 it('nbsp', () => {});\n});\n",
      "const a = process.env.A_B + process.env['C'] + import.meta.env.VITE_D + Deno.env.get('E');\nprocess.env.\nprocess.envX.Y\n",
      'import a\r\nfrom . import b\r\nfrom ..c.d import e\r\nimport f.g, h\r\n\r\n\r\nasync def run():\r\n    pass\r\ndef test_x():\r\n    pass\r\nclass _Hidden:\r\n__all__ = ["a"]\r\nif __name__ == "__main__":\r\n    run()\r\n',
      'package main\n\nimport (\n\t"fmt"\n\tio "io"\n)\nimport "os"\nimport x "example.com/x"\n\nfunc main() {\n\tfmt.Println(os.Getenv("HOME"), os.LookupEnv("PATH"))\n}\nfunc (s *S) Method() {}\ntype S struct{}\ntype F func()\nvar V = 1\nconst c = 2\nfunc TestX(t *testing.T) {}\n',
      'use std::env;\npub(crate) use crate::a::b;\n  mod inner;\npub mod outer;\nextern crate serde;\npub async unsafe fn f() {}\nconst fn g() {}\nmacro_rules! m {}\nimpl<T> Trait for S<T> where T: X {}\npub unsafe impl Send for S {}\n#[test]\nfn t() { env::var("A"); env!("B"); option_env!("C"); }\n#[tokio::test]\nasync fn main() {}\n',
      'import java.util.List;\nimport static org.junit.Assert.*;\npublic final class App {\n  public static void main(String[] args) { System.getenv("X"); }\n  @Test void t() {}\n}\ndata class D(val x: Int)\nfun main() {}\n',
      '#include "local.h"\n  #  include "other.h"\n#include <stdio.h>\nint main(void) { return getenv("HOME") != 0; }\n',
      "require 'a'\nrequire_relative('b')\nclass Foo::Bar\nmodule M\ndef self.x?\nit 'works'\ntest \"this\"\nENV['A'] + ENV.fetch('B')\nif __FILE__ == $0\n",
    ];
    const matches = (pattern: Pattern, text: string, lines: ReturnType<typeof linesOf>): string[] => {
      const found: string[] = [];
      // A `^\s*` match may begin on a blank line above (the expression) or at its first
      // character (the scan): compare where it ends and what it captured.
      forEachMatch(pattern, text, lines, (m) => void found.push(JSON.stringify([m.index + m[0].length, ...m.slice(1)])));
      return found;
    };
    let compared = 0;
    for (const text of [...repo, ...snippets]) {
      const lines = linesOf(text);
      expect(lines).toBeDefined();
      for (const { name, pattern } of mapPatterns()) {
        const scanned = matches(pattern, text, lines);
        expect(scanned, name).toEqual(matches(pattern, text, undefined));
        compared += scanned.length;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('runs the expressions as written when a text has line ends other than \\n and \\r\\n', () => {
    expect(linesOf('a\rimport x from "y"\n')).toBeUndefined();
    expect(linesOf('a\u2028b')).toBeUndefined();
    expect(facts('/r/a.ts', "const a = 1;\rimport x from 'lone-cr';\n").imports).toEqual(['lone-cr']);
  });
});

describe("analyze { analyzer: 'map' }", () => {
  let root: string;
  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'fanout-map-')));
    const files: Record<string, string> = { 'src/a.ts': TS, 'tool.py': PY, 'src/main.rs': RUST, 'run.sh': SHELL, 'README.md': MARKDOWN, 'node_modules/x/index.js': 'x\n', 'image.bin': '\u0000\u0001' };
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('adds the files up per language in the shared scan, binary files apart, node_modules skipped', async () => {
    const adapter = analyzeAdapter({ roots: [root] });
    try {
      const result = await createScheduler({ adapters: [adapter] }).execute({ operations: [{ id: 'map', kind: 'analyze', input: { analyzer: 'map' } }] });
      const op = result.get('map')!;
      expect(op.state).toBe('succeeded');
      const output = op.output as MapOutput;
      expect(output.languages).toEqual({
        Markdown: { files: 1, blank: 1, comment: 2, code: 2, bytes: MARKDOWN.length },
        Python: { files: 1, blank: 1, comment: 5, code: 4, bytes: PY.length },
        Rust: { files: 1, blank: 1, comment: 3, code: 4, bytes: RUST.length },
        Shell: { files: 1, blank: 1, comment: 1, code: 3, bytes: SHELL.length },
        TypeScript: { files: 1, blank: 3, comment: 3, code: 5, bytes: TS.length },
      });
      expect(output.binary).toEqual({ files: 1, bytes: 2 });
      expect(output.files.map((f) => f.path)).toEqual(['README.md', 'run.sh', 'src/a.ts', 'src/main.rs', 'tool.py'].map((p) => join(root, p)));
      expect(output.files.find((f) => f.path.endsWith('main.rs'))!.main).toBe(true);
      expect(output.truncated).toBe(false);
    } finally {
      await adapter.close();
    }
  });
});
