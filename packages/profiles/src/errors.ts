import { IssuesError } from '@fanout/scheduler';

/** One bad value: where it came from, which key, what was expected and what was found. */
export interface ConfigIssue {
  /** A file path, `env FANOUT_…`, `options` or `profile <name>`. */
  source: string;
  /** Dotted key, e.g. `limits.grep.max`. */
  key: string;
  message: string;
}

/** Thrown when configuration is invalid; lists every problem with its source and key. */
export class ConfigError extends IssuesError<'FANOUT_CONFIG_INVALID', ConfigIssue> {
  override name = 'ConfigError';

  constructor(issues: readonly ConfigIssue[]) {
    super('FANOUT_CONFIG_INVALID', 'The configuration', issues, (issue) => `${issue.source}: ${issue.key === '' ? '' : `${issue.key}: `}${issue.message}`);
  }
}
