import { exploreWeb } from '@fanout/profiles';
import { EXIT, parse, RUN_FLAGS, RUN_FLAGS_HELP, UsageError } from '../args.js';
import { runPlanCommand } from '../session.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout explore-web <topic> [--depth simple|complex|comprehensive] [flags]

Searches the web on a topic: a query matrix across categories (primary, technical
documentation, code examples, API documentation, frameworks, performance, security,
community), 8 / 16 / 32 searches by depth, in parallel, with the configured search provider;
then fetches the pages several searches agree on, and prints the aggregated report.

Search providers (any one will do; several make a fallback chain):
  SearXNG  SEARXNG_URL=http://localhost:8888 (with JSON output enabled in its settings.yml)
  Brave    BRAVE_API_KEY=… (or FANOUT_BRAVE_API_KEY)
  Tavily   TAVILY_API_KEY=…
or "search" in fanout.config.json.

      --depth D        simple (8 searches, default), complex (16) or comprehensive (32)
${RUN_FLAGS_HELP}`;

const NOT_CONFIGURED = `no search provider is configured. Configure one of:
  SearXNG (self-hosted, the default): set SEARXNG_URL to its base URL (e.g. http://localhost:8888),
    with JSON output enabled (search.formats: [html, json] in its settings.yml);
  Brave Search: set BRAVE_API_KEY (or FANOUT_BRAVE_API_KEY) to a subscription token;
  Tavily: set TAVILY_API_KEY;
or put them under "search" in fanout.config.json (see "fanout schema config").`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...RUN_FLAGS, depth: { type: 'string' } });
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError('expected a topic');
  const topic = positionals.join(' ');
  const depth = values.depth ?? 'simple';
  if (depth !== 'simple' && depth !== 'complex' && depth !== 'comprehensive') throw new UsageError(`expected --depth simple, complex or comprehensive, got ${JSON.stringify(depth)}`);
  const settings = await loadSettings({ configFile: values.config, overrides: { profile: 'explore-web' } });
  const search = settings.config.search ?? {};
  const env = process.env;
  const configured =
    search.searxng !== undefined ||
    search.brave !== undefined ||
    search.tavily !== undefined ||
    [env.SEARXNG_URL, env.BRAVE_API_KEY, env.FANOUT_BRAVE_API_KEY, env.TAVILY_API_KEY].some((v) => v !== undefined && v !== '');
  if (!configured) throw new UsageError(NOT_CONFIGURED);
  const plan = exploreWeb(topic, { depth });
  return runPlanCommand({ settings, flags: values, kinds: ['search', 'fetch'], build: () => ({ title: plan.name ?? `explore-web ${topic}`, plan }) });
}
