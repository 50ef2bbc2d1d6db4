/**
 * Prints, as a bash script, what a user would run instead of `fanout explore-codebase <tree>`:
 * the plan's listings and searches one after another with ripgrep (the `explore-real`
 * bench's "rg, one after another" subject), for hyperfine or a look by hand:
 *
 *   node tools/bench/dist/explore-rg.js /work/trees/query > /tmp/explore-rg.sh
 *   hyperfine 'node apps/cli/dist/main.js explore-codebase /work/trees/query' 'bash /tmp/explore-rg.sh'
 */
import { resolve } from 'node:path';
import { explorePlan, ripgrepCommands } from './benches/real-trees.js';

const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

const tree = process.argv[2];
if (tree === undefined) {
  process.stderr.write('usage: node tools/bench/dist/explore-rg.js <tree>\n');
  process.exit(2);
}
const commands = ripgrepCommands(await explorePlan(resolve(tree)));
let script = `#!/usr/bin/env bash\n# fanout explore-codebase ${tree}, as ripgrep commands one after another (rg exits 1 when a search finds nothing)\n`;
for (const { args, cwd } of commands) script += `(cd ${quote(cwd)} && rg ${args.map(quote).join(' ')} > /dev/null) || [ $? -eq 1 ]\n`;
process.stdout.write(script);
