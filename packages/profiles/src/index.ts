export { configSchema, configJsonSchema, kindLimitSchema, thresholdsSchema, KNOWN_KINDS, type Config } from './schema.js';
export { loadConfig, mergeConfig, findConfigFile, checkLayer, type LoadConfigOptions, type LoadedConfig } from './load.js';
export { configFromEnv, CONTROL_VARIABLES, ENV_ALIASES } from './env.js';
export { ConfigError, type ConfigIssue } from './errors.js';
export { PROFILES, WEB_CATEGORIES, codebaseSize, profileSize, type Profile, type ProfileSize } from './profiles.js';
export { schedulerOptions, runOptions, outputBudgetChars, type ConfiguredSchedulerOptions } from './options.js';
