import { PROFILES, WEB_CATEGORIES } from '@fanout/profiles';
import { EXIT, parse, UsageError } from '../args.js';
import { writeOut } from '../io.js';

const HELP = `Usage: fanout profiles [name] [--json]

Lists the built-in profiles, or shows one: its limits, thresholds and sizes (with each
size's operation counts and time target).`;

function ms(value: number): string {
  return value >= 60_000 ? `${value / 60_000} min` : `${value / 1000} s`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help === true) {
    await writeOut(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one profile name, got ${positionals.length}`);
  const name = positionals[0];
  if (name === undefined) {
    if (values.json === true) await writeOut(`${JSON.stringify(PROFILES, null, 2)}\n`);
    else {
      const width = Math.max(...Object.keys(PROFILES).map((n) => n.length));
      await writeOut(
        `${Object.values(PROFILES)
          .map((p) => `${p.name.padEnd(width)}  ${p.description}`)
          .join('\n')}\n`,
      );
    }
    return EXIT.ok;
  }
  const profile = PROFILES[name];
  if (profile === undefined) throw new UsageError(`unknown profile "${name}"; expected one of: ${Object.keys(PROFILES).join(', ')}`);
  if (values.json === true) {
    await writeOut(`${JSON.stringify(profile, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [`${profile.name}: ${profile.description}`, '', 'limits (max / optimal):'];
  for (const [kind, limit] of Object.entries(profile.config.limits ?? {})) lines.push(`  ${kind.padEnd(8)} ${limit.max ?? '-'} / ${limit.optimal ?? '-'}`);
  const t = profile.config.thresholds ?? {};
  lines.push(
    '',
    `thresholds: cpu ${(t.cpu ?? 0) * 100}%, memory ${(t.memory ?? 0) * 100}%, network ${(t.network ?? 0) * 100}%, disk ${(t.disk ?? 0) * 100}%, failure rate ${(t.failureRate ?? 0) * 100}%, slow response ${ms(t.slowResponseMs ?? 0)}`,
  );
  if (profile.sizes.length > 0) {
    lines.push('', 'sizes:');
    for (const size of profile.sizes) {
      const ops = Object.entries(size.operations)
        .map(([kind, n]) => `${n} ${kind}`)
        .join(', ');
      lines.push(`  ${size.name.padEnd(14)} ${size.description}${ops ? `: ${ops}` : ''}${size.targetMs === undefined ? '' : ` (original target < ${ms(size.targetMs)})`}`);
    }
  }
  if (profile.name === 'explore-web') lines.push('', `comprehensive batches: ${WEB_CATEGORIES.map((c) => `${c.name} ${c.searches}`).join(', ')}`);
  await writeOut(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
