import { loadConfig, type Config, type LoadedConfig } from '@fanout/profiles';

/** Loads configuration the usual way, with what the command line says on top. */
export function loadSettings(options: { configFile?: string | undefined; overrides?: Config }): Promise<LoadedConfig> {
  return loadConfig({
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
    ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
  });
}
