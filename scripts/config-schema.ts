// Writes missions.schema.json from the config's zod schema (`npm run schema`); a test keeps it current.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config.ts';

writeFileSync(new URL('../missions.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
