/**
 * docs/error-codes.md is the one table of every code: each code the source uses is listed
 * there, and each code listed there is used somewhere, so the table and the code cannot drift.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Environment variables share the prefix but are not codes (the README's configuration section lists them). */
const ENVIRONMENT = new Set(['FANOUT_CONFIG', 'FANOUT_PROFILE', 'FANOUT_BRAVE_API_KEY']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  for (const floor of ['packages', 'apps']) {
    for (const pkg of readdirSync(join(ROOT, floor))) {
      const src = join(ROOT, floor, pkg, 'src');
      if (!statSync(join(ROOT, floor, pkg)).isDirectory()) continue;
      let files: string[];
      try {
        files = sourceFiles(src);
      } catch {
        continue;
      }
      for (const file of files) {
        for (const match of readFileSync(file, 'utf8').matchAll(/'(FANOUT_[A-Z0-9_]+)'/g)) {
          const code = match[1]!;
          if (code.includes('__') || ENVIRONMENT.has(code)) continue;
          if (!found.has(code)) found.set(code, file.slice(ROOT.length + 1));
        }
      }
    }
  }
  return found;
}

function codesInTable(): Set<string> {
  const table = readFileSync(join(ROOT, 'docs', 'error-codes.md'), 'utf8');
  return new Set([...table.matchAll(/^\| `(FANOUT_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
}

describe('docs/error-codes.md', () => {
  it('lists every code the source uses', () => {
    const table = codesInTable();
    const missing = [...codesInSource()].filter(([code]) => !table.has(code)).map(([code, file]) => `${code} (used in ${file})`);
    expect(missing).toEqual([]);
  });

  it('lists no code the source does not use', () => {
    const used = codesInSource();
    expect([...codesInTable()].filter((code) => !used.has(code))).toEqual([]);
  });

  it('has one spelling for an invalid option', () => {
    const used = [...codesInSource().keys()];
    expect(used.filter((code) => /OPTIONS?_INVALID$/.test(code))).toEqual(['FANOUT_OPTION_INVALID']);
  });
});
