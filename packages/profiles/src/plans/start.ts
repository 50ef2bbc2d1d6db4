import { resolve } from 'node:path';
import type { OperationSpec, Plan } from '@fanout/scheduler';

const MANIFESTS = ['package.json', 'pyproject.toml', 'setup.py', 'Cargo.toml', 'go.mod', 'pom.xml', 'build.gradle', 'build.gradle.kts', 'Gemfile', 'composer.json', '*.csproj'];
const LOCKFILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'Cargo.lock', 'go.sum', 'poetry.lock', 'Gemfile.lock', 'composer.lock'];

/**
 * Project discovery in one parallel plan: 4 structural checks (manifest, README, version
 * control, build configuration), 6 context analyses (languages, dependencies, scripts, tests,
 * documentation, markers) and 3 complexity assessments (size, dependency count, largest files).
 * Only the dependency reading waits (for the manifests the first check found).
 */
export function startPlan(root: string): Plan {
  const cwd = resolve(root);
  const top = { cwd, maxDepth: 1 };
  const operations: OperationSpec[] = [
    // Structural checks.
    { id: 'check-manifest', kind: 'glob', priority: 2, input: { ...top, patterns: MANIFESTS } },
    { id: 'check-readme', kind: 'glob', priority: 2, input: { ...top, patterns: ['README*', 'readme*', 'Readme*'] } },
    { id: 'check-vcs', kind: 'glob', priority: 2, input: { ...top, patterns: ['.git', '.hg', '.svn', '.gitignore'], type: 'all', dot: true, gitignore: false } },
    {
      id: 'check-build',
      kind: 'glob',
      priority: 2,
      input: {
        cwd,
        maxDepth: 3,
        dot: true,
        patterns: ['Makefile', 'CMakeLists.txt', 'tsconfig*.json', 'nx.json', 'turbo.json', '*.config.{js,cjs,mjs,ts}', 'Dockerfile', '.github/workflows/*', '.gitlab-ci.yml', '.ci/*'],
      },
    },
    // Context analyses.
    { id: 'context-languages', kind: 'analyze', priority: 1, input: { analyzer: 'stats', paths: [cwd] } },
    {
      id: 'context-dependencies',
      kind: 'read',
      input: { path: { $item: true }, maxBytes: 256 * 1024 },
      forEach: { $ref: 'check-manifest', path: 'files' },
    },
    {
      id: 'context-scripts',
      kind: 'grep',
      input: {
        // npm scripts, Makefile targets, pyproject scripts, cargo aliases.
        pattern: String.raw`^\s*"(build|test|start|dev|lint|check|format|bench|release|deploy)[\w:-]*"\s*:|^[A-Za-z0-9_.-]+:(\s|$)|^\[(tool\.poetry\.)?scripts\]|^\[alias\]`,
        paths: [cwd],
        include: ['package.json', 'Makefile', 'pyproject.toml', '.cargo/config.toml', 'justfile', 'Taskfile.yml'],
        hidden: true,
        maxMatches: 200,
      },
    },
    { id: 'context-tests', kind: 'glob', input: { cwd, patterns: ['**/{test,tests,__tests__,spec}/**/*', '**/*.{test,spec}.*', '**/test_*.py', '**/*_test.go'], maxResults: 20_000 } },
    { id: 'context-docs', kind: 'glob', input: { cwd, patterns: ['**/*.{md,mdx,rst,adoc}', 'docs/**'], maxResults: 20_000 } },
    { id: 'context-markers', kind: 'analyze', input: { analyzer: 'markers', paths: [cwd], maxMarkers: 200 } },
    // Complexity assessments.
    { id: 'complexity-size', kind: 'glob', input: { cwd, pattern: '**', type: 'all', maxResults: 1_000_000 } },
    {
      id: 'complexity-dependencies',
      kind: 'grep',
      input: {
        // One line per locked package in the usual lockfiles.
        pattern: String.raw`^\s{4}"node_modules/|^\[\[package\]\]|^\S+ v\S+ h1:|^"?[@\w][^\s:]*@[^:]*:?$|^  /?[@\w][^:]*:$`,
        paths: [cwd],
        include: LOCKFILES,
        mode: 'count',
        maxFileSize: 256 * 1024 * 1024,
      },
    },
    { id: 'complexity-largest', kind: 'analyze', input: { analyzer: 'stats', paths: [cwd], nodeModules: false } },
  ];
  return { name: `start ${cwd}`, operations, policy: { failure: 'continue' } };
}
