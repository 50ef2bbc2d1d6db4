import { adaptersFromConfig, type Config, type ConfiguredAdapters } from '@fanout/profiles';

/** The built-in adapters for a command, from configuration (only the families it needs). */
export function builtinAdapters(config: Config, kinds?: Parameters<typeof adaptersFromConfig>[1]): Promise<ConfiguredAdapters> {
  return adaptersFromConfig(config, kinds);
}
