import { FanoutError } from '@fanout/scheduler';

/** One bad value: where it came from, which key, what was expected and what was found. */
export interface ConfigIssue {
  /** A file path, `env FANOUT_…`, `options` or `profile <name>`. */
  source: string;
  /** Dotted key, e.g. `limits.grep.max`. */
  key: string;
  message: string;
}

/** Thrown when configuration is invalid; lists every problem with its source and key. */
export class ConfigError extends FanoutError {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.source}: ${issue.key === '' ? '' : `${issue.key}: `}${issue.message}`);
    super('FANOUT_CONFIG_INVALID', `The configuration has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${lines.join('\n')}`);
    this.issues = issues;
  }
}
