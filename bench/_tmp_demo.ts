import { playDemo } from '../demo/mission.ts';
const run = await playDemo({});
const rows = await (run.app.store as any).db.query('SELECT role, input_tokens, cache_read_tokens, cache_write_tokens FROM usage ORDER BY id');
for (const r of rows) console.log(r.role.padEnd(14), r.input_tokens, r.cache_read_tokens, r.cache_write_tokens);
await run.app.close();
process.exit(0);
