/**
 * The text of `fanout_explore_codebase`: the codebase map (`@fanout/profiles`'
 * `buildCodebaseMap` and `renderCodebaseMap`, the renderer `fanout explore-codebase` prints
 * with) when the run has the map's analysis, else the run's report ordered for orientation:
 * files ranked across the searches first, then markers and statistics, then the heads of the
 * highest-ranked files; the operations list (the patterns searched) comes last.
 */
import { buildCodebaseMap, DEFAULT_MAP_BUDGET_TOKENS, renderCodebaseMap } from '@fanout/profiles';
import { cutNotice, collectHeads, endWithNewline, failures, groups, header, headsSection, operationsList, Paths, type TextRenderer } from './render.js';

const ORDER = ['file', 'stats', 'marker', 'match'] as const;

/** The default text of `fanout_explore_codebase`. */
export const renderExploreCodebaseText: TextRenderer = (input, view, spill) => {
  const paths = new Paths(input.roots);
  const heads = collectHeads(input, paths);
  return endWithNewline(
    [
      ...header(input, paths, `explore-codebase ${input.title}`.trim()),
      ...failures(input, paths, view),
      ...groups(input, paths, view, ORDER),
      ...headsSection(heads, view, 'Highest-ranked files (heads)', input),
      ...operationsList(input, paths, view),
      ...cutNotice(input, view, heads, spill),
    ].join('\n'),
  );
};

/**
 * The codebase map of a run over `dir` as the tool's text. The result's budget fitting hands
 * a smaller view when the whole does not fit: the map's own budget shrinks with it (the
 * share of the report's entries the view keeps), from {@link DEFAULT_MAP_BUDGET_TOKENS}.
 */
export function codebaseMapRenderer(dir: string): TextRenderer {
  return (input, view, spill) => {
    if (!input.operations.some((op) => op.id === 'analyze-map')) return renderExploreCodebaseText(input, view, spill);
    const full = Math.max(0, ...input.report.groups.map((g) => g.entries.length));
    const share = full === 0 ? 1 : Math.min(1, view.entries / full);
    const map = buildCodebaseMap(dir, input.operations);
    const rendered = renderCodebaseMap(map, { budgetTokens: Math.max(200, Math.round(DEFAULT_MAP_BUDGET_TOKENS * share)) });
    const paths = new Paths(input.roots);
    const status = input.done ? '' : `\n(still running: ${input.pending.length} operations pending; handle ${input.handle})\n`;
    return `${rendered.text}${status}${spill === undefined ? '' : `\nFull results: ${paths.rel(spill.results)}\n`}`;
  };
}
