// The demo mission (npm run demo) with an instant model: total wall time, GitHub REST calls, tokens
// per role and the prompt-cache read share of input tokens; then a mission with another plan title
// on the cache the first one left (as a running app's next mission finds it: each role's prompt and
// tools were written by the missions before, within the hour; the mission's own context is new, but
// for the planner's, which is the same issue), then with caching off, and the ratio of the bills.
import { playDemo } from '../demo/mission.ts';
import { createHash } from 'node:crypto';
import { prefixBlocks, PromptCache, type MessagesRequest } from '../test/helpers/model-server.ts';

/**
 * The most any cache could serve: each request's longest block boundary that an earlier request
 * (of this mission or of those before it, in `seen`) also sent, as if every boundary were cached forever.
 */
function ceiling(requests: MessagesRequest[], seen: Set<string>): number {
  let total = 0;
  let best = 0;
  for (const request of requests) {
    const prefixes = prefixBlocks(request).map((b) => b.prefix);
    const keys = prefixes.map((p) => createHash('sha256').update(p).digest('hex'));
    const hit = keys.findLastIndex((k) => seen.has(k));
    total += prefixes.at(-1)!.length;
    best += hit >= 0 ? prefixes[hit]!.length : 0;
    keys.forEach((k) => seen.add(k));
  }
  return best / total;
}
const seen = new Set<string>();

async function measure(caching: boolean, modelCache?: PromptCache, title?: string) {
  const run = await playDemo({ caching, modelCache, title });
  const costs = await run.app.store.costByRole(1);
  const rest = run.app.github.requests.filter((r) => r.path !== '/graphql').length;
  const graphql = run.app.github.requests.length - rest;
  const most = ceiling(run.app.model.requests, seen);
  await run.app.close();
  const input = costs.reduce((s, c) => s + c.input_tokens + c.cache_read_tokens + c.cache_write_tokens, 0);
  const read = costs.reduce((s, c) => s + c.cache_read_tokens, 0);
  const usd = costs.reduce((s, c) => s + c.usd, 0);
  return { ms: run.ms, rest, graphql, costs, input, readShare: read / input, usd, most };
}

const cache = new PromptCache();
const on = await measure(true, cache);
const warm = await measure(true, cache, 'Greeting command, the next mission');
const off = await measure(false);
console.log(`demo mission (4 features incl. 1 fix, 3 validation rounds), instant model`);
console.log(`wall time, label to done: ${(on.ms / 1000).toFixed(1)} s (caching off: ${(off.ms / 1000).toFixed(1)} s)`);
console.log(`GitHub calls: ${on.rest} REST + ${on.graphql} GraphQL`);
console.log('tokens per role (input incl. cache reads and writes / output), caching on:');
for (const c of on.costs) console.log(`  ${c.role.padEnd(13)} ${String(c.input_tokens + c.cache_read_tokens + c.cache_write_tokens).padStart(7)} / ${String(c.output_tokens).padStart(5)}   $${c.usd.toFixed(4)}`);
console.log(`cache read share of input tokens: ${(on.readShare * 100).toFixed(1)}% on an empty cache, ${(warm.readShare * 100).toFixed(1)}% on the cache an earlier mission left (caching off: ${(off.readShare * 100).toFixed(1)}%)`);
console.log(
  `most any cache could serve (every prefix an earlier request sent, kept forever): ${(on.most * 100).toFixed(1)}%, then ${(warm.most * 100).toFixed(1)}%: the rest is what each run newly says (its task, the replies, the tool output)`,
);
console.log(`estimated bill: $${on.usd.toFixed(4)} with caching (then $${warm.usd.toFixed(4)}), $${off.usd.toFixed(4)} without; ratio ${(on.usd / off.usd).toFixed(3)} (then ${(warm.usd / off.usd).toFixed(3)})`);
process.exit(0);
