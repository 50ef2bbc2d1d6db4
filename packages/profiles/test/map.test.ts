import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createScheduler } from '@fanout/scheduler';
import { adaptersFromConfig, buildCodebaseMap, type CodebaseMap, exploreCodebase, renderCodebaseMap } from '../src/index.js';
import { dirOf, joinPath, pageRank } from '../src/map/graph.js';

// Golden-shape tests: five small repositories, one per ecosystem, explored for real (globs,
// searches, analyses over temp directories) and mapped. The shape is checked, not the bytes:
// the right packages, entry points, test framework and languages are named, the text fits
// its budget, and no absolute path appears.

const ECOSYSTEMS: Record<string, Record<string, string>> = {
  npm: {
    'package.json': JSON.stringify({ name: 'shop', private: true, workspaces: ['packages/*'], scripts: { test: 'vitest run', build: 'tsc -b' }, devDependencies: { vitest: '^4.0.0' } }, null, 2),
    'README.md': '# shop\n\n[![ci](badge.svg)](x)\n\nA tiny shop: a core library and a command line.\n\n## Use\n\nRun it.\n',
    'packages/core/package.json': JSON.stringify({ name: '@shop/core', version: '1.2.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
    'packages/core/src/index.ts': "export { price } from './price.js';\nexport { Cart } from './cart.js';\n",
    'packages/core/src/price.ts': '/** A price in cents. */\nexport function price(cents: number): string {\n  return (cents / 100).toFixed(2);\n}\n',
    'packages/core/src/cart.ts': "import { price } from './price.js';\n\nexport class Cart {\n  total(): string {\n    return price(0);\n  }\n}\n",
    'packages/core/test/cart.test.ts':
      "import { describe, it, expect } from 'vitest';\nimport { Cart } from '../src/cart.js';\ndescribe('Cart', () => {\n  it('totals', () => {\n    expect(new Cart().total()).toBe('0.00');\n  });\n});\n",
    'packages/cli/package.json': JSON.stringify({ name: '@shop/cli', version: '0.1.0', bin: { shop: './dist/main.js' } }),
    'packages/cli/src/main.ts': "#!/usr/bin/env node\nimport { Cart } from '@shop/core';\n\nconst token = process.env.SHOP_TOKEN;\nconsole.log(new Cart().total(), token);\n",
    '.github/workflows/ci.yml': 'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n',
  },
  cargo: {
    'Cargo.toml': '[workspace]\nmembers = [\n  "crates/*",\n]\nresolver = "2"\n',
    'README.md': '# finder\n\nfinder searches files fast, one crate for the engine and one for the binary.\n',
    'crates/engine/Cargo.toml': '[package]\nname = "finder-engine"\nversion = "0.3.0"\ndescription = "The search engine"\n',
    'crates/engine/src/lib.rs': '//! The engine.\npub mod search;\n\npub use search::Searcher;\n\npub fn version() -> &\'static str {\n    "0.3.0"\n}\n',
    'crates/engine/src/search.rs':
      'pub struct Searcher {\n    pattern: String,\n}\n\nimpl Searcher {\n    pub fn new(pattern: &str) -> Self {\n        Searcher { pattern: pattern.into() }\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn builds() {}\n}\n',
    'crates/cli/Cargo.toml': '[package]\nname = "finder"\nversion = "0.3.0"\n\n[[bin]]\nname = "fnd"\npath = "src/main.rs"\n',
    'crates/cli/src/main.rs': 'use finder_engine::search::Searcher;\nuse std::env;\n\nfn main() {\n    let _config = env::var("FND_CONFIG");\n    let _s = Searcher::new("x");\n}\n',
  },
  go: {
    'go.mod': 'module example.com/srv\n\ngo 1.22\n',
    'README.md': '# srv\n\nsrv serves an HTTP API.\n',
    'cmd/srv/main.go': 'package main\n\nimport (\n\t"net/http"\n\t"os"\n\n\t"example.com/srv/internal/api"\n)\n\nfunc main() {\n\thttp.ListenAndServe(os.Getenv("SRV_ADDR"), api.Handler())\n}\n',
    'internal/api/api.go': 'package api\n\nimport "net/http"\n\n// Handler serves the API.\nfunc Handler() http.Handler {\n\treturn http.NewServeMux()\n}\n\nfunc helper() {}\n',
    'internal/api/api_test.go': 'package api\n\nimport "testing"\n\nfunc TestHandler(t *testing.T) {\n\tif Handler() == nil {\n\t\tt.Fatal("nil")\n\t}\n}\n',
  },
  python: {
    'pyproject.toml':
      '[project]\nname = "tally"\nversion = "2.0.1"\ndescription = "Counts things"\ndependencies = [\n  "click>=8",\n]\n\n[project.scripts]\ntally = "tally.cli:main"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    'README.md': 'tally\n=====\n\nTally counts words in files and prints a table.\n',
    'src/tally/__init__.py': '"""Tally."""\nfrom .core import count\n\n__all__ = ["count"]\n',
    'src/tally/core.py': 'import collections\n\n\ndef count(words):\n    return collections.Counter(words)\n\n\ndef _normalise(word):\n    return word.lower()\n',
    'src/tally/cli.py': 'import os\n\nfrom .core import count\n\n\ndef main():\n    print(count(os.environ.get("TALLY_INPUT", "").split()))\n\n\nif __name__ == "__main__":\n    main()\n',
    'tests/test_core.py': 'from tally.core import count\n\n\ndef test_count():\n    assert count(["a"])["a"] == 1\n',
  },
  polyglot: {
    'package.json': JSON.stringify({ name: 'poly', version: '1.0.0', scripts: { start: 'node server/index.js', test: 'jest' }, devDependencies: { jest: '^29.0.0' } }),
    'README.md': '# poly\n\nA web server in JavaScript with a Python report job and a Go helper.\n',
    'server/index.js': "const routes = require('./routes');\nconst port = process.env.PORT || 3000;\nmodule.exports = routes(port);\n",
    'server/routes.js': 'module.exports = function routes(port) {\n  return port;\n};\n',
    'server/routes.test.js': "const routes = require('./routes');\ntest('routes', () => {\n  expect(routes(1)).toBe(1);\n});\n",
    'jobs/report.py': 'import sys\n\n\ndef report():\n    return sys.argv\n\n\nif __name__ == "__main__":\n    report()\n',
    'tools/helper/main.go': 'package main\n\nfunc main() {}\n',
    Makefile: 'build:\n\tgo build ./tools/helper\n\nreport:\n\tpython jobs/report.py\n',
    'scripts/deploy.sh': '#!/bin/sh\n# deploy\necho deploy\n',
  },
};

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function explore(files: Record<string, string>): Promise<{ root: string; map: CodebaseMap }> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'fanout-map-')));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const configured = await adaptersFromConfig({ roots: [root] }, ['glob', 'grep', 'read', 'analyze']);
  try {
    const countFiles = async (at: string, limit: number): Promise<{ count: number; files: string[] }> => {
      const counted = await createScheduler({ adapters: configured.adapters }).execute({ operations: [{ id: 'n', kind: 'glob', input: { pattern: '**', cwd: at, maxResults: limit } }] });
      return counted.get('n')!.output as { count: number; files: string[] };
    };
    const { plan } = await exploreCodebase(root, { countFiles });
    const result = await createScheduler({ adapters: configured.adapters }).execute(plan);
    const failed = [...result.operations()].filter((op) => op.state !== 'succeeded').map((op) => `${op.id}: ${(op.error as Error | undefined)?.message}`);
    expect(failed).toEqual([]);
    return { root, map: buildCodebaseMap(root, [...result.operations()]) };
  } finally {
    await configured.close();
  }
}

function checkText(root: string, map: CodebaseMap): string {
  const { text, tokens } = renderCodebaseMap(map);
  expect(tokens).toBeLessThanOrEqual(8000);
  expect(text).not.toContain(root);
  expect(text).not.toContain(tmpdir());
  for (const section of ['## Languages', '## Structure', '## Entry points', '## Key files', '## Tests, build and CI', '## Configuration', '## Markers', '## Heads']) expect(text).toContain(section);
  // Every section heading names the operations behind it, by id.
  expect(text).toMatch(/^## Languages \[analyze-map, analyze-languages\]$/m);
  // A small budget: the text still fits, and says what it left out.
  const small = renderCodebaseMap(map, { budgetTokens: 300 });
  expect(small.text.length).toBeLessThanOrEqual(1200);
  expect(small.omitted.length).toBeGreaterThan(0);
  expect(small.text).not.toContain(root);
  return text;
}

const languages = (map: CodebaseMap): string[] => map.languages.rows.map((r) => r.language);
const entries = (map: CodebaseMap): string[] => map.entryPoints.items.map((e) => `${e.path} ${e.kind}${e.name === undefined ? '' : ` ${e.name}`}`);

describe('the codebase map of five ecosystems', () => {
  it('npm workspaces: members, bin and exports from the manifests, vitest, key files by imports, env, CI', async () => {
    const { root, map } = await explore(ECOSYSTEMS.npm!);
    expect(map.name).toBe('shop');
    expect(map.overview.description).toBe('A tiny shop: a core library and a command line.');
    expect(map.overview.descriptionFrom).toBe('README.md');
    expect(map.structure.workspaces).toEqual([
      {
        kind: 'npm',
        manifest: 'package.json',
        members: [
          { name: '@shop/cli', path: 'packages/cli', version: '0.1.0' },
          { name: '@shop/core', path: 'packages/core', version: '1.2.0' },
        ],
      },
    ]);
    expect(entries(map)).toEqual(expect.arrayContaining(['packages/cli/src/main.ts bin shop', 'packages/core/src/index.ts exports @shop/core']));
    expect(map.tests.frameworks.map((f) => f.name)).toEqual(['vitest']);
    expect(map.tests.files).toBe(1);
    expect(map.tests.cases).toBe(1);
    expect(languages(map)).toContain('TypeScript');
    // price.ts is imported by cart.ts and index.ts (which the CLI imports through the package name).
    expect(map.keyFiles.items[0]!.path).toBe('packages/core/src/price.ts');
    expect(map.keyFiles.items.find((f) => f.path === 'packages/core/src/index.ts')!.importedBy).toBe(1);
    expect(map.configuration.env).toEqual([{ name: 'SHOP_TOKEN', files: ['packages/cli/src/main.ts'] }]);
    expect(map.build.ci).toEqual(['.github/workflows/ci.yml']);
    expect(map.build.scripts.map((s) => s.name)).toEqual(['test', 'build']);
    const text = checkText(root, map);
    expect(text).toContain('- packages/cli/src/main.ts — bin `shop` (packages/cli/package.json)');
    expect(text).toMatch(/^ {3}- L2 `export function price\(cents: number\): string`$/m);
  });

  it('manifests of the wild: fields of the wrong type (`"main": false`, a `bin` list) are passed over, not the end of the map', async () => {
    const { root, map } = await explore({
      'package.json': JSON.stringify({ name: 'odd', main: false, module: 7, bin: ['x'], scripts: { test: 'node t.js', bad: 1 }, workspaces: ['libs/*', 3] }),
      'libs/a/package.json': JSON.stringify({ name: 'a', main: './index.js', exports: { '.': false }, bin: { a: false, tool: './cli.js' } }),
      'libs/a/index.js': 'module.exports = 1;\n',
      'libs/a/cli.js': "require('./index.js');\n",
    });
    expect(map.structure.workspaces[0]!.members).toEqual([{ name: 'a', path: 'libs/a' }]);
    expect(entries(map)).toEqual(expect.arrayContaining(['libs/a/cli.js bin tool', 'libs/a/index.js main a']));
    expect(map.build.scripts.map((s) => s.name)).toEqual(['test']);
    checkText(root, map);
  });

  it('a Cargo workspace: members from the glob, the [[bin]], the lib, cargo test, the crate graph', async () => {
    const { root, map } = await explore(ECOSYSTEMS.cargo!);
    expect(map.structure.workspaces).toEqual([
      {
        kind: 'cargo',
        manifest: 'Cargo.toml',
        members: [
          { name: 'finder', path: 'crates/cli', version: '0.3.0' },
          { name: 'finder-engine', path: 'crates/engine', version: '0.3.0', description: 'The search engine' },
        ],
      },
    ]);
    expect(entries(map)).toEqual(expect.arrayContaining(['crates/cli/src/main.rs bin finder', 'crates/cli/src/main.rs bin fnd', 'crates/engine/src/lib.rs exports finder-engine']));
    expect(map.tests.frameworks.map((f) => f.name)).toEqual(['cargo test']);
    expect(languages(map)).toEqual(expect.arrayContaining(['Rust', 'TOML']));
    // search.rs: named by `pub mod search;` in lib.rs and used from the other crate.
    expect(map.keyFiles.items[0]!.path).toBe('crates/engine/src/search.rs');
    expect(map.keyFiles.items[0]!.importedBy).toBe(2);
    expect(map.keyFiles.items[0]!.exportMatches).toBe(2); // pub struct, pub fn: the Rust export search
    expect(map.keyFiles.ops).toContain('search-exports-rust');
    expect(map.configuration.env.map((e) => e.name)).toEqual(['FND_CONFIG']);
    checkText(root, map);
  });

  it('a Go module: the module, main packages, go test, imports resolved through the module path', async () => {
    const { root, map } = await explore(ECOSYSTEMS.go!);
    expect(map.name).toBe('example.com/srv');
    expect(map.structure.workspaces).toEqual([{ kind: 'go', manifest: 'go.mod', members: [{ name: 'example.com/srv', path: '.', version: 'go 1.22' }] }]);
    expect(entries(map)).toEqual(['cmd/srv/main.go main function']);
    expect(map.tests.frameworks.map((f) => f.name)).toEqual(['go test']);
    expect(map.tests.cases).toBe(1);
    expect(languages(map)).toContain('Go');
    expect(map.keyFiles.items[0]).toMatchObject({ path: 'internal/api/api.go', importedBy: 1 });
    expect(map.keyFiles.items[0]!.symbols.map((s) => s.name)).toEqual(['Handler', 'helper']);
    expect(map.configuration.env.map((e) => e.name)).toEqual(['SRV_ADDR']);
    checkText(root, map);
  });

  it('a Python package: pyproject, the src layout package, the console script, pytest', async () => {
    const { root, map } = await explore(ECOSYSTEMS.python!);
    expect(map.name).toBe('tally');
    expect(map.overview.description).toBe('Tally counts words in files and prints a table.');
    expect(map.structure.workspaces).toEqual([
      {
        kind: 'python',
        manifest: 'pyproject.toml',
        members: [
          { name: 'tally', path: '.', version: '2.0.1' },
          { name: 'tally', path: 'src/tally', description: 'Python package' },
        ],
      },
    ]);
    expect(entries(map)).toEqual(expect.arrayContaining(['src/tally/cli.py bin tally']));
    expect(map.tests.frameworks.map((f) => f.name)).toEqual(['pytest']);
    expect(map.tests.dirs).toEqual([{ path: 'tests', files: 1 }]);
    expect(languages(map)).toEqual(expect.arrayContaining(['Python', 'TOML', 'Markdown']));
    expect(map.keyFiles.items[0]!.path).toBe('src/tally/core.py');
    expect(map.keyFiles.ops).toContain('search-exports-python');
    expect(map.configuration.env.map((e) => e.name)).toEqual(['TALLY_INPUT']);
    checkText(root, map);
  });

  it('a polyglot repository: every language named, the start script, jest, Make targets, mains in Python and Go', async () => {
    const { root, map } = await explore(ECOSYSTEMS.polyglot!);
    expect(languages(map)).toEqual(expect.arrayContaining(['JavaScript', 'Python', 'Go', 'Makefile', 'Shell', 'JSON', 'Markdown']));
    expect(languages(map)).not.toContain('Other');
    expect(entries(map)).toEqual(expect.arrayContaining(['server/index.js script npm run start', 'jobs/report.py main function', 'tools/helper/main.go main function']));
    expect(map.tests.frameworks.map((f) => f.name)).toEqual(['jest']);
    expect(map.build.makeTargets).toEqual(['build', 'report']);
    expect(map.keyFiles.items[0]).toMatchObject({ path: 'server/routes.js', importedBy: 2 }); // the server and its test
    expect(map.configuration.env.map((e) => e.name)).toEqual(['PORT']);
    // Exports are searched per language present: JavaScript, Python and Go each their own way.
    expect(map.keyFiles.ops).toEqual(expect.arrayContaining(['search-exports-js', 'search-exports-go', 'search-exports-python']));
    checkText(root, map);
  });
});

describe('the import graph', () => {
  it('joins and takes directories of relative paths exactly as node:path (posix) does', () => {
    const dirs = ['.', 'a', 'a/b', 'a/b/c', 'src/x.y', '..', '../a'];
    const specs = ['./x', '../x', '../../x', '../../../../x', './x/', '../', '.', '..', 'x/./y', 'x//y', './x.js', 'x/../../y', '', 'a/..', 'a/../', '/abs/x', '.hidden/x'];
    for (const dir of dirs) {
      for (const spec of specs) {
        expect(joinPath(dir, spec), `${dir} + ${spec}`).toBe(posix.join(dir, spec));
        expect(joinPath(dir, 'src', spec, 'index'), `${dir} + src + ${spec} + index`).toBe(posix.join(dir, 'src', spec, 'index'));
      }
      expect(dirOf(`${dir}/f.ts`)).toBe(posix.dirname(`${dir}/f.ts`));
    }
    for (const path of ['f.ts', 'a/f.ts', '/f.ts', 'a/b/f']) expect(dirOf(path)).toBe(posix.dirname(path));
  });

  it('ranks by PageRank: scores add up to 1, the most imported file first, files importing nothing spread evenly', () => {
    const nodes = ['a', 'b', 'c', 'd'];
    // a, b and c import d; d imports c; b also imports c.
    const edges = new Map([
      ['a', new Set(['d'])],
      ['b', new Set(['d', 'c'])],
      ['c', new Set(['d', 'outside'])],
      ['d', new Set(['c'])],
    ]);
    const scores = pageRank(nodes, edges);
    expect([...scores.values()].reduce((sum, s) => sum + s, 0)).toBeCloseTo(1, 12);
    expect([...scores].sort((x, y) => y[1] - x[1]).map(([node]) => node)).toEqual(['d', 'c', 'a', 'b']);
    expect(scores.get('a')).toBe(scores.get('b'));
    const lone = pageRank(['x', 'y'], new Map());
    expect(lone.get('x')).toBeCloseTo(0.5, 12);
    expect(lone.get('y')).toBe(lone.get('x'));
  });
});
