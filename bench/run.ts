// `npm run bench -- <name>` runs bench/<name>.ts; without a name, every benchmark in turn. Through
// npm the pinned Node 24 (the `node` devDependency) runs it, so it works on any machine's Node.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const here = new URL('.', import.meta.url);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !available.includes(name));
if (unknown.length) {
  process.stderr.write(`no benchmark named ${unknown.join(', ')}; there are: ${available.join(', ')}\n`);
  process.exit(2);
}
// Each in a process of its own: a benchmark measures a fresh process, and one's leftovers never skew the next.
for (const name of asked.length ? asked : available) {
  process.stdout.write(`\n# ${name}\n`);
  const run = spawnSync(process.execPath, [new URL(`${name}.ts`, here).pathname], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
