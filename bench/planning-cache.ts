// Prompt-cache read share of input tokens over a scripted 20-turn planning run, with caching on and
// off, against the local Messages API server (which reports cache reads the way the API does).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import pino from 'pino';
import { runPlanner } from '../src/agents/planner.ts';
import { addUsage, NO_USAGE, type TokenUsage } from '../src/agents/pricing.ts';
import { greetingPlan } from '../test/helpers/plans.ts';
import { startModelServer } from '../test/helpers/model-server.ts';

const checkout = mkdtempSync(join(tmpdir(), 'missions-bench-'));
for (let i = 0; i < 20; i++) writeFileSync(join(checkout, `module${i}.js`), `export const value${i} = ${i};\n`.repeat(40));

async function run(caching: boolean) {
  const turns = [
    ...Array.from({ length: 19 }, (_, i) => ({ content: [{ type: 'tool_use' as const, name: 'read', input: { file_path: `module${i}.js` } }] })),
    { content: [{ type: 'tool_use' as const, name: 'submit_plan', input: greetingPlan }] },
  ];
  const server = await startModelServer(turns);
  let total: TokenUsage = NO_USAGE;
  let usd = 0;
  const result = await runPlanner(
    { owner: 'o', repo: 'r', issue: { number: 1, title: 'Greeting', body: 'Add hello.', author: 'm', trusted: true }, comments: [], checkout, environment: { commands: { test: 'npm test' }, network: false, budget: { max_usd: 25, max_hours: 48 }, maxFixRounds: 3 } },
    {
      client: new Anthropic({ apiKey: 'bench', baseURL: server.url }),
      recorder: { startRun: async () => 0, recordUsage: async (e) => void ((total = addUsage(total, e.usage)), (usd += e.usd)), saveTranscript: async () => {} },
      log: pino({ level: 'silent' }),
      missionId: 1,
      model: 'claude-opus-5-5',
      maxTurns: 25,
      caching,
    },
  );
  await server.close();
  const input = total.input_tokens + total.cache_read_tokens + total.cache_write_tokens;
  return { kind: result.kind, turns: server.requests.length, input, readShare: total.cache_read_tokens / input, usd };
}

const on = await run(true);
const off = await run(false);
console.log(`20-turn planning run, caching on:  ${on.turns} turns, ${on.input} input tokens, cache read share ${(on.readShare * 100).toFixed(1)}%, est. $${on.usd.toFixed(4)}`);
console.log(`20-turn planning run, caching off: ${off.turns} turns, ${off.input} input tokens, cache read share ${(off.readShare * 100).toFixed(1)}%, est. $${off.usd.toFixed(4)}`);
console.log(`cost ratio on/off: ${(on.usd / off.usd).toFixed(3)}`);
