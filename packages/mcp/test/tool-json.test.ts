import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runResultSchema } from '../src/result-schema.js';
import { TOOL_JSON_SCHEMAS } from '../src/tool-json.js';
import { cancelArgs, exploreCodebaseArgs, exploreWebArgs, jsonOf, runResultOutput, statusArgs } from '../src/tool-schemas.js';

const SCHEMAS = {
  runResult: [runResultSchema, 'output'],
  exploreCodebase: [exploreCodebaseArgs, 'input'],
  exploreWeb: [exploreWebArgs, 'input'],
  status: [statusArgs, 'input'],
  cancel: [cancelArgs, 'input'],
} as const;

describe('the JSON Schemas converted ahead of time', () => {
  it('are what zod converts the schemas to now (else: npm run build -w @fanout/mcp, then npm run generate -w @fanout/mcp)', () => {
    expect(Object.keys(TOOL_JSON_SCHEMAS)).toEqual(Object.keys(SCHEMAS));
    for (const [name, [schema, io]] of Object.entries(SCHEMAS)) {
      const { $schema: _dialect, ...fresh } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
      expect(TOOL_JSON_SCHEMAS[name as keyof typeof SCHEMAS], name).toEqual(fresh);
    }
  });

  it('are the ones the tools list', () => {
    for (const [name, [schema, io]] of Object.entries(SCHEMAS)) expect(jsonOf(schema, io), name).toBe(TOOL_JSON_SCHEMAS[name as keyof typeof SCHEMAS]);
    expect(runResultOutput()['~standard'].jsonSchema.output({ target: 'draft-2020-12' })).toBe(TOOL_JSON_SCHEMAS.runResult);
  });
});
