/**
 * The text of `fanout_explore_codebase`: one function, so that a codebase map can take its
 * place (pass `renderers.exploreCodebase`) without touching how the run, the budget or the
 * result work. Today it is the run's report ordered for orientation: files ranked across the
 * searches first, then markers and statistics, then the heads of the highest-ranked files;
 * the operations list (the patterns searched) comes last, since nobody asked for them.
 */
import { cutNotice, collectHeads, failures, groups, header, headsSection, operationsList, Paths, type TextRenderer } from './render.js';

const ORDER = ['file', 'stats', 'marker', 'match'] as const;

/** The default text of `fanout_explore_codebase`. */
export const renderExploreCodebaseText: TextRenderer = (input, view, spill) => {
  const paths = new Paths(input.roots);
  const heads = collectHeads(input, paths);
  return [
    ...header(input, paths, `explore-codebase ${input.title}`.trim()),
    ...failures(input, paths, view),
    ...groups(input, paths, view, ORDER),
    ...headsSection(heads, view, 'Highest-ranked files (heads)', input),
    ...operationsList(input, paths, view),
    ...cutNotice(input, view, heads, spill),
  ]
    .join('\n')
    .trimEnd()
    .concat('\n');
};
