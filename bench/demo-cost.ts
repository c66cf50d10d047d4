// The demo mission (npm run demo) with an instant model: total wall time, GitHub REST calls, tokens
// per role and the prompt-cache read share of input tokens; then the same mission with caching off,
// and the ratio of the two token bills.
import { playDemo } from '../demo/mission.ts';

async function measure(caching: boolean) {
  const run = await playDemo({ caching });
  const costs = await run.app.store.costByRole(1);
  const rest = run.app.github.requests.filter((r) => r.path !== '/graphql').length;
  const graphql = run.app.github.requests.length - rest;
  await run.app.close();
  const input = costs.reduce((s, c) => s + c.input_tokens + c.cache_read_tokens + c.cache_write_tokens, 0);
  const read = costs.reduce((s, c) => s + c.cache_read_tokens, 0);
  const usd = costs.reduce((s, c) => s + c.usd, 0);
  return { ms: run.ms, rest, graphql, costs, input, readShare: read / input, usd };
}

const on = await measure(true);
const off = await measure(false);
console.log(`demo mission (4 features incl. 1 fix, 3 validation rounds), instant model`);
console.log(`wall time, label to done: ${(on.ms / 1000).toFixed(1)} s (caching off: ${(off.ms / 1000).toFixed(1)} s)`);
console.log(`GitHub calls: ${on.rest} REST + ${on.graphql} GraphQL`);
console.log('tokens per role (input incl. cache reads and writes / output), caching on:');
for (const c of on.costs) console.log(`  ${c.role.padEnd(13)} ${String(c.input_tokens + c.cache_read_tokens + c.cache_write_tokens).padStart(7)} / ${String(c.output_tokens).padStart(5)}   $${c.usd.toFixed(4)}`);
console.log(`cache read share of input tokens: ${(on.readShare * 100).toFixed(1)}% (caching off: ${(off.readShare * 100).toFixed(1)}%)`);
console.log(`estimated bill: $${on.usd.toFixed(4)} with caching, $${off.usd.toFixed(4)} without; ratio ${(on.usd / off.usd).toFixed(3)}`);
process.exit(0);
