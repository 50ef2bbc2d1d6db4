/** Where a command's environment comes from. */
export interface EnvironmentSources {
  /** Start from the parent's whole environment (else from its PATH alone). */
  inherit: boolean;
  /** The adapter's variables, given to every command. */
  base: Readonly<Record<string, string>> | undefined;
  /** The input's variables; `null` removes one. */
  given: Readonly<Record<string, string | null>> | undefined;
  /** @default process.env */
  parent?: NodeJS.ProcessEnv;
}

/**
 * The environment a command gets: explicit, so a plan never hands API keys and tokens of the
 * parent to a command by accident. By default only the parent's PATH (so `git` is found),
 * then the adapter's variables, then the input's (`null` removes one, PATH included);
 * `inherit` starts from the whole parent environment instead. A small environment is also a
 * faster spawn: it is copied into every child (measured in tools/bench `shell-spawn`).
 */
export function buildEnvironment(sources: EnvironmentSources): Record<string, string> {
  const parent = sources.parent ?? process.env;
  const env: Record<string, string> = {};
  if (sources.inherit) {
    for (const [name, value] of Object.entries(parent)) if (value !== undefined) env[name] = value;
  } else if (parent.PATH !== undefined) {
    env.PATH = parent.PATH;
  }
  if (sources.base !== undefined) Object.assign(env, sources.base);
  if (sources.given !== undefined) {
    for (const [name, value] of Object.entries(sources.given)) {
      if (value === null) delete env[name];
      else env[name] = value;
    }
  }
  return env;
}
