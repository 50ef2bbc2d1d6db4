import { loadConfig, type Config, type LoadedConfig } from '@fanout/profiles';

/**
 * Loads configuration the usual way, with what the command line says on top. Settings the
 * trust policy set aside (a configuration found upward may not widen what fanout touches)
 * are said on stderr, once each, so that nobody wonders why they do not apply.
 */
export async function loadSettings(options: { configFile?: string | undefined; overrides?: Config }): Promise<LoadedConfig> {
  const loaded = await loadConfig({ configFile: options.configFile, overrides: options.overrides });
  for (const issue of loaded.refused) process.stderr.write(`fanout: ${issue.source}: ${issue.key}: ${issue.message}\n`);
  return loaded;
}
