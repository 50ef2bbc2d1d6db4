#!/usr/bin/env node
/**
 * Checks every published package as npm would ship it: publint (package.json fields, exports,
 * files) and are-the-types-wrong (that the types resolve for ESM consumers under node16 and
 * bundlers; CommonJS and node10 resolution are ignored, as attw's `esm-only` profile does: the
 * packages are ESM only). One `npm pack` of all packages, one process for both tools. Part of
 * `npm test`; exits 1 listing every problem.
 */
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const IGNORED_RESOLUTIONS = new Set(['node10', 'node16-cjs']);
const root = join(import.meta.dirname, '..');
const packages = [];
for (const floor of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, floor)).sort()) {
    const dir = join(root, floor, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (pkg.private !== true) packages.push({ dir, pkg });
  }
}

const out = mkdtempSync(join(tmpdir(), 'fanout-pack-'));
const problems = [];
try {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out, ...packages.map((p) => p.dir)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  for (const [i, { dir, pkg }] of packages.entries()) {
    const found = [];
    const lint = await publint({ pkgDir: dir, pack: false, strict: true });
    for (const message of lint.messages) found.push(`publint ${message.type}: ${formatMessage(message, pkg) ?? message.code}`);
    // A package with nothing to import (the CLI: a bin) has no types to check.
    const importable = typeof pkg.exports === 'object' && pkg.exports !== null && '.' in pkg.exports;
    const analysis = importable ? await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(join(out, packed[i].filename))))) : undefined;
    if (analysis?.types === false) found.push('attw: the package has no types');
    else if (analysis !== undefined) {
      for (const problem of analysis.problems) {
        if ('resolutionKind' in problem && IGNORED_RESOLUTIONS.has(problem.resolutionKind)) continue;
        found.push(`attw ${problem.kind}: ${JSON.stringify(problem)}`);
      }
    }
    process.stdout.write(`${pkg.name}: ${found.length === 0 ? 'publint and attw clean' : `${found.length} problem(s)`}\n`);
    for (const line of found) problems.push(`${pkg.name}: ${line}`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (problems.length > 0) {
  process.stderr.write(`\n${problems.join('\n')}\n`);
  process.exit(1);
}
