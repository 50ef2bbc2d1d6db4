import { describe, expect, it } from 'vitest';
import { KIND_INPUT_SCHEMAS } from '../src/kind-schemas.js';
// @ts-expect-error: a plain ESM script (it runs before anything is built), without types.
import { generate } from '../scripts/kind-schemas.mjs';

describe('the kinds’ input schemas the tools list', () => {
  it('are generated from the adapters’ own schemas and up to date (else: npm run generate -w @fanout/mcp)', async () => {
    const fresh = (await generate()) as string;
    // Compared as data: the workspace's formatter lays the committed file out its own way.
    const literal = fresh.slice(fresh.indexOf('= {') + 2, fresh.lastIndexOf('}') + 1).replace(/,\s*}$/, '}');
    expect(KIND_INPUT_SCHEMAS).toEqual(JSON.parse(literal));
  });

  it('list every field of each kind', () => {
    expect(Object.keys(KIND_INPUT_SCHEMAS)).toEqual(['glob', 'grep', 'read', 'analyze', 'fetch', 'search', 'write', 'bash']);
    const props = (kind: string) => Object.keys((KIND_INPUT_SCHEMAS[kind] as { properties: Record<string, unknown> }).properties);
    expect(props('grep')).toEqual(expect.arrayContaining(['pattern', 'paths', 'fixedStrings', 'ignoreCase', 'include', 'exclude', 'mode', 'context']));
    expect(props('read')).toEqual(expect.arrayContaining(['path', 'paths', 'head', 'tail', 'from', 'to']));
    expect(props('write')).toEqual(expect.arrayContaining(['path', 'content', 'mode']));
  });
});
