/** Build step: writes the JSON Schema of the configuration next to the compiled package. */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from './schema.js';

writeFileSync(new URL('./config.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
