import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizePath, resolveRealPaths } from '../src/index.js';

describe('normalizePath', () => {
  it.each([
    ['/a/b/c.ts', '/a/b/c.ts'],
    ['/a//b/./c.ts', '/a/b/c.ts'],
    ['/a/b/../c.ts', '/a/c.ts'],
    ['/a/b/', '/a/b'],
    ['/', '/'],
    ['/a/.hidden/x', '/a/.hidden/x'],
    ['/a/..b/x', '/a/..b/x'],
    ['./a', 'a'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });

  it('agrees with path.normalize, without the trailing separator (property)', () => {
    const part = fc.constantFrom('a', 'b', '.', '..', '', '.x', '..y', 'z.');
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 8 }), fc.boolean(), (parts, absolute) => {
        const path = `${absolute ? '/' : ''}${parts.join('/')}`;
        if (path === '') return;
        const expected = normalize(path);
        expect(normalizePath(path)).toBe(expected.length > 1 && expected.endsWith('/') ? expected.slice(0, -1) : expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('resolveRealPaths', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fanout-aggregate-paths-'));
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'a.ts'), 'export const a = 1;\n');
    await symlink(join(dir, 'src'), join(dir, 'link'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves symlinks and keeps paths it cannot resolve as they are', async () => {
    const { realpath } = await import('node:fs/promises');
    const real = await realpath(join(dir, 'src', 'a.ts'));
    const resolved = await resolveRealPaths([join(dir, 'link', 'a.ts'), join(dir, 'src', 'a.ts'), join(dir, 'gone.ts')], 2);
    expect(resolved.get(join(dir, 'link', 'a.ts'))).toBe(real);
    expect(resolved.get(join(dir, 'src', 'a.ts'))).toBe(real);
    expect(resolved.get(join(dir, 'gone.ts'))).toBe(join(dir, 'gone.ts'));
  });

  it('stops when aborted', async () => {
    await expect(resolveRealPaths([join(dir, 'src')], 1, AbortSignal.abort())).rejects.toThrow();
  });
});
