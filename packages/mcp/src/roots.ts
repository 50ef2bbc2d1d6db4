/**
 * Which directories a tool call may touch: the configuration's roots, else the client's
 * `roots`, else the working directory. The client's roots are asked for the way the
 * 2026-07-28 protocol does it (an `input_required` result the client fulfils, then calls
 * again), which the SDK also carries out on 2025-era connections by sending `roots/list`
 * itself; they are kept until the client says they changed.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_CAPABILITIES_META_KEY, inputRequired, type InputRequiredResult, type McpServer, type ServerContext } from '@modelcontextprotocol/server';

/** The key of the embedded `roots/list` request in an `input_required` result. */
const ROOTS_INPUT = 'fanout_roots';

/** Where a call's roots came from (said in every result, so nobody wonders). */
export type RootsSource = 'configuration' | 'client' | 'working directory';

/** The roots of a call. */
export interface CallRoots {
  roots: string[];
  source: RootsSource;
  /** Why the client's roots were not used although it offered some. */
  note?: string;
}

/** The client's roots as a `roots/list` result holds them: `file://` URIs become paths; anything else is left out, and said. */
export function rootsFromList(result: unknown): { roots: string[]; skipped: string[] } {
  const list = (result as { roots?: unknown } | null)?.roots;
  const roots: string[] = [];
  const skipped: string[] = [];
  if (!Array.isArray(list)) return { roots, skipped };
  for (const entry of list) {
    const uri = (entry as { uri?: unknown } | null)?.uri;
    if (typeof uri !== 'string') continue;
    try {
      const url = new URL(uri);
      if (url.protocol !== 'file:') throw new TypeError('not a file URI');
      roots.push(fileURLToPath(url));
    } catch {
      skipped.push(uri);
    }
  }
  return { roots: [...new Set(roots)], skipped };
}

/**
 * The roots of one connection. `configured` (the configuration's, already resolved) win;
 * without them the client is asked once, when it declared the `roots` capability, and its
 * answer kept until `notifications/roots/list_changed`.
 */
export class RootsResolver {
  readonly #configured: string[] | undefined;
  readonly #cwd: string;
  readonly #server: McpServer;
  #client: CallRoots | undefined;

  constructor(server: McpServer, configured: readonly string[] | undefined, cwd: string) {
    this.#server = server;
    this.#cwd = cwd;
    this.#configured = configured === undefined || configured.length === 0 ? undefined : configured.map((root) => resolve(cwd, root));
    if (this.#configured === undefined) {
      server.server.setNotificationHandler('notifications/roots/list_changed', () => {
        this.#client = undefined;
      });
    }
  }

  /**
   * The roots for this call, or the `input_required` result that asks the client for its
   * roots (return it from the handler; the call comes back with the answer).
   */
  resolve(ctx: ServerContext): CallRoots | InputRequiredResult {
    if (this.#configured !== undefined) return { roots: this.#configured, source: 'configuration' };
    if (this.#client !== undefined) return this.#client;
    const answer = ctx.mcpReq.inputResponses?.[ROOTS_INPUT];
    if (answer !== undefined) {
      const { roots, skipped } = rootsFromList(answer);
      const note = skipped.length > 0 ? `client roots that are not local directories were left out: ${skipped.join(', ')}` : undefined;
      this.#client = roots.length > 0 ? { roots, source: 'client', ...(note === undefined ? {} : { note }) } : { roots: [this.#cwd], source: 'working directory', note: note ?? 'the client listed no roots' };
      return this.#client;
    }
    if (this.#clientHasRoots(ctx)) return inputRequired({ inputRequests: { [ROOTS_INPUT]: inputRequired.listRoots() } });
    return { roots: [this.#cwd], source: 'working directory' };
  }

  #clientHasRoots(ctx: ServerContext): boolean {
    // 2026-07-28 carries the client's capabilities on every request; 2025-era connections declared them at initialize.
    const perRequest = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as { roots?: unknown } | undefined;
    // getClientCapabilities is deprecated for the 2026 era only, where the envelope answers first.
    const declared = perRequest ?? this.#server.server.getClientCapabilities();
    return declared?.roots !== undefined;
  }
}
