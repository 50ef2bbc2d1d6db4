/**
 * Writes `dist/report.schema.json` (published as `@fanout/aggregate/report.schema.json`)
 * from the zod schema of the report. Run by the package's build after `tsc`.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { reportJsonSchema } from './report-schema.js';

const target = fileURLToPath(new URL('./report.schema.json', import.meta.url));
await writeFile(target, `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
