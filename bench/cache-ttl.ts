// The prompt cache's TTL on long features: a simulated mission (2 milestones of 3 features; a worker
// run per feature, then scrutiny and user-testing per milestone) played through the real runtime
// against the local Messages API server, whose cache expires on a simulated clock that the tools
// advance. Five policies: caching off; 5 minutes everywhere; 1-hour shared prefixes with 5-minute
// turns; the same with turns kept an hour once one is slow (the default); 1 hour everywhere. Each
// is measured on short features (every command under a minute) and long ones (a test suite of 8
// minutes every fifth turn): input tokens read from the cache, and the estimated bill at Opus 5.5's
// list prices against caching off.
import Anthropic from '@anthropic-ai/sdk';
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import pino from 'pino';
import { z } from 'zod';
import { finishTool } from '../src/agents/finish-tool.ts';
import { addUsage, NO_USAGE, type TokenUsage } from '../src/agents/pricing.ts';
import { CACHE_TTL, runAgent, type CacheTtl, type Role } from '../src/agents/runtime.ts';
import { PromptCache, startModelServer, type Script } from '../test/helpers/model-server.ts';

const MODEL = 'claude-opus-5-5';
const MINUTE = 60_000;
/** Simulated time a model turn takes, and the pause between one run and the next step's. */
const TURN_MS = 20_000;
const BETWEEN_RUNS_MS = 30_000;
const TURNS = { worker: 25, validator: 12 };

interface Shape {
  name: string;
  /** Simulated minutes the tool call of turn `i` takes. */
  toolMinutes: (i: number) => number;
}
const SHAPES: Shape[] = [
  { name: 'short features (commands under a minute)', toolMinutes: () => 0.5 },
  { name: 'long features (an 8-minute suite every 5th turn)', toolMinutes: (i) => (i % 5 === 4 ? 8 : 0.5) },
];
const POLICIES: { name: string; caching: false | CacheTtl }[] = [
  { name: 'caching off', caching: false },
  { name: '5m shared, 5m turns', caching: { shared: '5m', turns: '5m' } },
  { name: '1h shared, 5m turns', caching: { shared: '1h', turns: '5m' } },
  { name: '1h shared, turns 5m until one is slow (default)', caching: CACHE_TTL },
  { name: '1h shared, 1h turns', caching: { shared: '1h', turns: '1h' } },
];

// Sizes of a real run, in characters (the server counts 4 per token): a role prompt with skills of
// about 2k tokens, the mission's context about 3k, a command's output about 800, a reply about 150.
const text = (seed: string, chars: number) => Array.from({ length: Math.ceil(chars / seed.length) }, () => seed).join('').slice(0, chars);
const SYSTEM = (role: string) => text(`You are the ${role}. Follow the skill. `, 8_000);
const CONTEXT = text('The mission, its notes, the whole contract and the commands. ', 12_000);

async function play(shape: Shape, caching: false | CacheTtl) {
  let now = 0;
  const cache = new PromptCache(() => now);
  const server = await startModelServer([], { cache });
  const client = new Anthropic({ apiKey: 'bench', baseURL: server.url, maxRetries: 0 });
  let usage: TokenUsage = NO_USAGE;
  let usd = 0;
  const runTool = betaZodTool({
    name: 'run',
    description: 'Run a command.',
    inputSchema: z.object({ minutes: z.number() }),
    run: async ({ minutes }) => {
      now += minutes * MINUTE;
      return text('output line of the command\n', 3_200);
    },
  });
  const done = finishTool({ name: 'finish', description: 'Finish the run.', schema: z.object({ summary: z.string() }) });
  const run = async (role: Role, subject: string, turns: number) => {
    const script: Script[] = Array.from({ length: turns }, (_, i) => () => {
      now += TURN_MS;
      const say = { type: 'text' as const, text: text(`Turn ${i} of ${subject}: reading what came back. `, 600) };
      return i === turns - 1 ?
          { content: [say, { type: 'tool_use', name: 'finish', input: { summary: `${subject} done` } }] }
        : { content: [say, { type: 'tool_use', name: 'run', input: { minutes: shape.toolMinutes(i) } }] };
    });
    server.enqueue(...script);
    await runAgent({
      client,
      recorder: { startRun: async () => 0, recordUsage: async (e) => void ((usage = addUsage(usage, e.usage)), (usd += e.usd)), saveTranscript: async () => {} },
      log: pino({ level: 'silent' }),
      missionId: 1,
      role,
      model: MODEL,
      system: SYSTEM(role),
      context: CONTEXT,
      prompt: `Your task: ${subject}. ${text('Its own details. ', 2_000)}`,
      tools: [runTool],
      finishTools: [done],
      maxTurns: turns + 5,
      contextManagement: false,
      caching,
      clock: () => now,
    });
    now += BETWEEN_RUNS_MS;
  };
  for (const milestone of ['M1', 'M2']) {
    for (let f = 1; f <= 3; f++) await run('worker', `${milestone} feature ${f}`, TURNS.worker);
    await run('scrutiny', `${milestone} review`, TURNS.validator);
    await run('user-testing', `${milestone} verdicts`, TURNS.validator);
  }
  await server.close();
  const input = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
  return { readShare: usage.cache_read_tokens / input, usd, hours: now / 3_600_000 };
}

for (const shape of SHAPES) {
  console.log(`\n${shape.name}`);
  let off = 0;
  for (const policy of POLICIES) {
    const r = await play(shape, policy.caching);
    if (policy.caching === false) off = r.usd;
    console.log(
      `  ${policy.name.padEnd(48)} cache read share ${(r.readShare * 100).toFixed(1).padStart(5)}%   est. $${r.usd.toFixed(3)}   ratio to off ${(r.usd / off).toFixed(3)}   (mission ${r.hours.toFixed(1)} h simulated)`,
    );
  }
}
process.exit(0);
