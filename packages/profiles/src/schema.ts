import { z } from 'zod';
import { configSchemas } from './config-schemas.js';

/** The adapter kinds fanout ships. Configuration may name others (user adapters). */
export const KNOWN_KINDS = ['glob', 'grep', 'read', 'write', 'bash', 'fetch', 'search', 'analyze'] as const;

// The schemas are built in config-schemas.ts, where loading finds them without this module:
// a bundle that uses `loadConfig` alone leaves this one out (the package has no side
// effects) and builds them only when there is a layer to check.
const schemas = configSchemas();

/** Limits of one kind's pool. */
export const kindLimitSchema = schemas.kindLimitSchema;

/** Resource thresholds, as shares of capacity (0–1) and a response time; the defaults are in profiles.ts. */
export const thresholdsSchema = schemas.thresholdsSchema;

export const retrySchema = schemas.retrySchema;

export const outputSchema = schemas.outputSchema;

export const searchSchema = schemas.searchSchema;

/**
 * All of fanout's configuration: one schema, the single source of truth. The JSON Schema
 * shipped for editors (`@fanout/profiles/config.schema.json`) is generated from it.
 */
export const configSchema = schemas.configSchema;

/** fanout's configuration, every field optional; {@link ResolvedConfig} has the defaults filled in. */
export type Config = z.infer<typeof configSchema>;

/** The JSON Schema of `fanout.config.json`. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input' }),
    title: 'fanout configuration',
    description: 'fanout.config.json, or the "fanout" key of package.json. Lowest precedence first: built-in profile, this file, FANOUT_* environment variables, options.',
  };
}
