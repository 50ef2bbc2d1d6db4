/**
 * The profiles as tools: `fanout_explore_codebase` (discovery globs, the profile's searches,
 * a ranking of what they found, reads of the highest-ranked files, language and marker
 * analyses — sized by counting the files) and `fanout_explore_web` (a query matrix across
 * categories, then the pages several searches agree on). The plans come from
 * `@fanout/profiles`, as for `fanout explore-codebase` and `fanout explore-web`.
 */
import { isInputRequiredResult, type McpServer } from '@modelcontextprotocol/server';
import { AllowedRoots } from '@fanout/adapters';
import { exploreCodebase, exploreWeb } from '@fanout/profiles';
import { createScheduler, type Adapter } from '@fanout/scheduler';
import { answer, errorResult, startRun } from '../call.js';
import { FanoutMcpError, invalidRequest } from '../errors.js';
import { codebaseMapRenderer } from '../render-explore.js';
import { Paths, renderRunText, type TextRenderer } from '../render.js';
import type { RootsResolver } from '../roots.js';
import type { FanoutMcpRuntime } from '../runtime.js';
import { argumentIssues, exploreCodebaseArgs, exploreWebArgs, jsonOf, listedOnly, runResultOutput } from '../tool-schemas.js';

/** Renderers of the explore tools' text (a codebase map can replace the default). */
export interface ExploreRenderers {
  /** @default the codebase map of the explored directory (see `codebaseMapRenderer`) */
  exploreCodebase?: TextRenderer;
  /** @default renderRunText */
  exploreWeb?: TextRenderer;
}

/** Counts files under `root` (up to `limit`) with a glob operation, as the CLI does; the paths say which languages to search. */
function fileCounter(adapters: Adapter[]): (root: string, limit: number) => Promise<{ count: number; files: string[] }> {
  return async (root, limit) => {
    const result = await createScheduler({ adapters }).execute({ operations: [{ id: 'count', kind: 'glob', input: { pattern: '**', cwd: root, maxResults: limit } }] });
    const op = result.get('count')!;
    if (op.state !== 'succeeded') throw (op.error as Error | undefined) ?? new Error(`could not count the files of ${root}: ${op.state}`);
    return op.output as { count: number; files: string[] };
  };
}

/** Registers `fanout_explore_codebase` and `fanout_explore_web` on `server`. */
export function registerExploreTools(server: McpServer, runtime: FanoutMcpRuntime, roots: RootsResolver, renderers: ExploreRenderers = {}): void {
  server.registerTool(
    'fanout_explore_codebase',
    {
      title: 'Explore a codebase in one call',
      description:
        'Explore a codebase the way the explore-codebase profile does, all in one parallel run: discovery globs (sources, configuration, docs, tests…), searches for entry points, exports, TODO markers, tests, configuration and imports (plus your patterns), a ranking of the files they found, reads of the highest-ranked files, and language and marker statistics. The size (12, 24 or 52 operations; on a large tree only those the map reads) comes from counting the files. Answers with a codebase map: overview, languages (files, blank, comment, code), structure (workspaces and packages from the manifests), entry points, key files ranked by the import graph with their outlines, tests / build / CI, configuration, markers and heads, each section naming the operations it comes from, within budgetTokens. Use it first in an unfamiliar repository; use fanout_read for targeted batches.',
      inputSchema: listedOnly<Record<string, unknown>>(jsonOf(exploreCodebaseArgs)),
      outputSchema: runResultOutput(),
      annotations: { readOnlyHint: true, openWorldHint: false, destructiveHint: false, idempotentHint: true },
    },
    async (args, ctx) => {
      try {
        runtime.assertOpen();
        const callRoots = roots.resolve(ctx);
        if (isInputRequiredResult(callRoots)) return callRoots;
        const { data, issues } = argumentIssues(exploreCodebaseArgs, args);
        if (issues.length > 0) throw invalidRequest('FANOUT_INPUT_INVALID', 'fanout_explore_codebase', issues);
        const parsed = data as { path?: string; size?: 'small' | 'medium' | 'large'; patterns?: string[]; budgetTokens?: number; deadlineMs?: number };
        let dir: string;
        try {
          dir = (await AllowedRoots.of(callRoots.roots).check(parsed.path ?? callRoots.roots[0]!, 'path')).path;
        } catch (error) {
          throw new FanoutMcpError('FANOUT_PATH_OUTSIDE_ROOT', (error as Error).message, { path: 'path', cause: error });
        }
        const adapters = await runtime.adapters.adapters(callRoots.roots, ['glob', 'grep', 'read', 'analyze']);
        const { plan, size } = await exploreCodebase(dir, {
          // The codebase map reads few of a large plan's operations: with the default renderer,
          // a large tree's plan keeps only those (a renderer of its own may read any of them).
          mapOnly: renderers.exploreCodebase === undefined,
          ...(parsed.size === undefined ? { countFiles: fileCounter(adapters) } : { size: parsed.size }),
          ...(parsed.patterns === undefined ? {} : { patterns: parsed.patterns }),
        });
        const record = startRun(runtime, {
          tool: 'fanout_explore_codebase',
          title: `${new Paths(callRoots.roots).rel(dir)} (${size.name})`,
          plan,
          roots: callRoots,
          principal: ctx.http?.authInfo?.clientId,
          adapters,
          renderer: renderers.exploreCodebase ?? codebaseMapRenderer(dir),
        });
        return await answer(runtime, record, ctx, {
          deadlineMs: parsed.deadlineMs ?? runtime.options.deadlineMs,
          budgetTokens: parsed.budgetTokens ?? runtime.options.budgetTokens,
          cancelOnAbort: true,
        });
      } catch (error) {
        return errorResult(error);
      }
    },
  );

  server.registerTool(
    'fanout_explore_web',
    {
      title: 'Research a topic on the web in one call',
      description:
        'Research a topic the way the explore-web profile does, in one parallel run: a matrix of searches across categories (primary, technical documentation, code examples, API documentation, frameworks, performance, security, community) with the configured search providers, then fetches of the pages several searches agree on. Answers with URLs ranked by how many searches agreed (each with the ids of the searches that found it), domains, and the heads of the fetched pages, within budgetTokens. Needs a search provider (SearXNG, Brave or Tavily) configured on the server.',
      inputSchema: listedOnly<Record<string, unknown>>(jsonOf(exploreWebArgs)),
      outputSchema: runResultOutput(),
      annotations: { readOnlyHint: true, openWorldHint: true, destructiveHint: false, idempotentHint: true },
    },
    async (args, ctx) => {
      try {
        runtime.assertOpen();
        const callRoots = roots.resolve(ctx);
        if (isInputRequiredResult(callRoots)) return callRoots;
        const { data, issues } = argumentIssues(exploreWebArgs, args);
        if (issues.length > 0) throw invalidRequest('FANOUT_INPUT_INVALID', 'fanout_explore_web', issues);
        const parsed = data as { topic: string; depth?: 'simple' | 'complex' | 'comprehensive'; budgetTokens?: number; deadlineMs?: number };
        await requireSearchProvider(runtime);
        const plan = exploreWeb(parsed.topic, { depth: parsed.depth ?? 'simple' });
        const adapters = await runtime.adapters.adapters(callRoots.roots, ['fetch', 'search']);
        const record = startRun(runtime, {
          tool: 'fanout_explore_web',
          title: `"${parsed.topic}" (${parsed.depth ?? 'simple'})`,
          plan,
          roots: callRoots,
          principal: ctx.http?.authInfo?.clientId,
          adapters,
          renderer: renderers.exploreWeb ?? renderRunText,
        });
        return await answer(runtime, record, ctx, {
          deadlineMs: parsed.deadlineMs ?? runtime.options.deadlineMs,
          budgetTokens: parsed.budgetTokens ?? runtime.options.budgetTokens,
          cancelOnAbort: true,
        });
      } catch (error) {
        return errorResult(error);
      }
    },
  );
}

/** Refuses explore-web when no search provider is configured, saying how to configure one. */
async function requireSearchProvider(runtime: FanoutMcpRuntime): Promise<void> {
  const { resolveProviders, notConfiguredError } = await import('@fanout/adapters/web');
  const search = runtime.options.config.search ?? {};
  // Only whether one is usable matters here: the adapter itself is made from the same configuration.
  const key = (value: { apiKey: string } | undefined): { apiKey: string } | undefined => (value === undefined ? undefined : { apiKey: value.apiKey });
  const brave = key(search.brave);
  const tavily = key(search.tavily);
  const resolved = resolveProviders({
    ...(search.searxng === undefined ? {} : { searxng: { url: search.searxng.url } }),
    ...(brave === undefined ? {} : { brave }),
    ...(tavily === undefined ? {} : { tavily }),
  });
  if (resolved.chain.length === 0) {
    const error = notConfiguredError();
    throw new FanoutMcpError(
      'FANOUT_SEARCH_NOT_CONFIGURED',
      `${error.message.replace(/ Options go to searchAdapter\(\{ … \}\)\.$/, '')} (in the server's configuration: "search" in fanout.config.json, or the environment of the server)`,
      { path: 'topic' },
    );
  }
}
