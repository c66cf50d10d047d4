// How far a long run's context grows with the API's tool-result clearing (clear_tool_uses_20250919,
// with the runtime's trigger, keep and clear_at_least) and without it, and what each costs: a planning
// run that reads a 12 kB file each turn (BENCH_READS, default 39, then the plan), against the local
// Messages API server, which clears as the API documents and caches as it does. Printed per run: the
// largest input of a turn, the last turn's input, the input over the whole run, and the cost at Opus
// 5.5 prices. The server's clearing is an emulation of the documented behaviour, not the API itself.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import pino from 'pino';
import { runPlanner } from '../src/agents/planner.ts';
import { greetingPlan } from '../test/helpers/plans.ts';
import { startModelServer } from '../test/helpers/model-server.ts';

const READS = Number(process.env.BENCH_READS ?? 39);
const checkout = mkdtempSync(join(tmpdir(), 'missions-bench-'));
for (let i = 0; i < READS; i++) writeFileSync(join(checkout, `module${i}.js`), `export const value${i} = ${'"' + 'x'.repeat(60) + '"'}; // line of module ${i}\n`.repeat(130));

async function run(contextManagement: boolean) {
  const turns = [
    ...Array.from({ length: READS }, (_, i) => ({ content: [{ type: 'tool_use' as const, name: 'read', input: { file_path: `module${i}.js` } }] })),
    { content: [{ type: 'tool_use' as const, name: 'submit_plan', input: greetingPlan }] },
  ];
  const server = await startModelServer(turns);
  const inputs: number[] = [];
  let usd = 0;
  let cleared = 0;
  const log = pino({ level: 'info' }, { write: (line: string) => void (line.includes('cleared old tool results') && cleared++) });
  await runPlanner(
    { owner: 'o', repo: 'r', issue: { number: 1, title: 'Greeting', body: 'Add hello.', author: 'm', trusted: true }, comments: [], checkout, environment: { commands: { test: 'npm test' }, network: false, budget: { max_usd: 25, max_hours: 48 }, maxFixRounds: 3 } },
    {
      client: new Anthropic({ apiKey: 'bench', baseURL: server.url }),
      recorder: { startRun: async () => 0, recordUsage: async (e) => void (inputs.push(e.usage.input_tokens + e.usage.cache_read_tokens + e.usage.cache_write_tokens), (usd += e.usd)), saveTranscript: async () => {} },
      log,
      missionId: 1,
      model: 'claude-opus-5-5',
      maxTurns: READS + 5,
      contextManagement,
    },
  );
  await server.close();
  return { turns: inputs.length, peak: Math.max(...inputs), last: inputs.at(-1)!, total: inputs.reduce((a, b) => a + b, 0), usd, cleared };
}

const on = await run(true);
const off = await run(false);
const line = (name: string, r: typeof on) =>
  `${name}: ${r.turns} turns, largest turn input ${r.peak.toLocaleString('en-US')} tokens, last turn ${r.last.toLocaleString('en-US')}, whole run ${r.total.toLocaleString('en-US')}, est. $${r.usd.toFixed(4)}${r.cleared ? ` (cleared on ${r.cleared} turns)` : ''}`;
console.log(line('clearing on ', on));
console.log(line('clearing off', off));
console.log(`largest turn input on/off: ${(on.peak / off.peak).toFixed(3)}; cost on/off: ${(on.usd / off.usd).toFixed(3)}`);
process.exit(0);
