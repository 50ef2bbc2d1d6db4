/**
 * The errors of `@fanout/mcp`. A tool call that cannot start (an invalid request, a kind the
 * server was not started to allow, a handle that is unknown) answers with one of these as an
 * `isError` result listing every problem with its path; a failed operation never does (it is
 * one entry of a successful result).
 */
import { FanoutError, type FanoutErrorOptions } from '@fanout/scheduler';

/**
 * Stable error codes of `@fanout/mcp`. Match on `code`, never on the message. Codes that
 * mean what another package's code already means are that code: a batch that is not a valid
 * plan is `FANOUT_PLAN_INVALID` (as from `@fanout/scheduler`), arguments that fail a tool's
 * schema `FANOUT_INPUT_INVALID`, a directory outside the roots `FANOUT_PATH_OUTSIDE_ROOT`,
 * explore-web without a search provider `FANOUT_SEARCH_NOT_CONFIGURED`, a bad server option
 * `FANOUT_OPTION_INVALID`.
 */
export type McpErrorCode =
  /** The tool does not run this kind: `write` and `bash` need `--allow-write` / `--allow-shell`, web kinds go to `fanout_web`. */
  | 'FANOUT_MCP_KIND_NOT_ALLOWED'
  /** No run has this handle (never started here, or finished long enough ago to be forgotten). */
  | 'FANOUT_MCP_RUN_NOT_FOUND'
  /** The server is closing and starts no new run. */
  | 'FANOUT_MCP_CLOSED'
  | 'FANOUT_PLAN_INVALID'
  | 'FANOUT_INPUT_INVALID'
  | 'FANOUT_OPTION_INVALID'
  | 'FANOUT_PATH_OUTSIDE_ROOT'
  | 'FANOUT_SEARCH_NOT_CONFIGURED';

/** One problem of a request: where in the tool's arguments, what was expected and what was got. */
export interface McpIssue {
  /** Path in the arguments, e.g. `operations[3].input.pattern`; `""` for the arguments as a whole. */
  path: string;
  code: string;
  message: string;
}

/**
 * Base class of the errors of this package: a stable `code`, the `path` in the tool's
 * arguments, the `cause`, and for a request with several problems, all of them in `issues`.
 *
 * @example
 * throw new FanoutMcpError('FANOUT_MCP_RUN_NOT_FOUND', 'expected the handle of a run of this server, got "r-1"', { path: 'handle' });
 */
export class FanoutMcpError extends FanoutError<McpErrorCode> {
  override name = 'FanoutMcpError';
  readonly issues: readonly McpIssue[];

  constructor(code: McpErrorCode, message: string, options: FanoutErrorOptions & { issues?: readonly McpIssue[] } = {}) {
    super(code, message, options);
    this.issues = options.issues ?? [{ path: options.path ?? '', code, message }];
  }
}

/**
 * A request with problems, all of them: `FANOUT_PLAN_INVALID` for a batch (it is a plan),
 * `FANOUT_INPUT_INVALID` for other tools' arguments. Nothing ran.
 */
export function invalidRequest(code: 'FANOUT_PLAN_INVALID' | 'FANOUT_INPUT_INVALID', tool: string, issues: readonly McpIssue[]): FanoutMcpError {
  const head = issues
    .slice(0, 50)
    .map((issue) => `  - ${issue.path === '' ? '(arguments)' : issue.path}: ${issue.message} [${issue.code}]`)
    .join('\n');
  const more = issues.length > 50 ? `\n  … and ${issues.length - 50} more` : '';
  const problems = `${issues.length} problem${issues.length === 1 ? '' : 's'}`;
  return new FanoutMcpError(code, `${tool}: the request has ${problems}; nothing ran. Fix them all and call again:\n${head}${more}`, { issues, path: issues[0]?.path ?? '' });
}
