// What a maintainer pays for input: a role's later runs in a mission read the mission's context from
// the prompt cache instead of writing it again, and a run whose turns grow slow keeps its
// conversation in the 1-hour cache, so a long test suite does not cost the whole prefix again.
import Anthropic from '@anthropic-ai/sdk';
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { finishTool } from '../../src/agents/finish-tool.ts';
import { NO_USAGE, addUsage, type TokenUsage } from '../../src/agents/pricing.ts';
import { runAgent } from '../../src/agents/runtime.ts';
import { scrutinyBriefing } from '../../src/agents/scrutiny.ts';
import { triageBriefing } from '../../src/agents/triage.ts';
import { userTestingBriefing } from '../../src/agents/user-testing.ts';
import { workerBriefing } from '../../src/agents/worker.ts';
import type { RoundItem } from '../../src/store/missions.ts';
import { checkoutFiles } from '../../src/workspace/repo-files.ts';
import type { Sandbox } from '../../src/workspace/sandbox.ts';
import { stackPlan } from '../helpers/plans.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromptCache, startModelServer, type ModelServer, type ScriptedTurn } from '../helpers/model-server.ts';

let server: ModelServer | undefined;
afterEach(async () => {
  const errors = server?.scriptErrors ?? [];
  await server?.close();
  server = undefined;
  expect(errors).toEqual([]);
});

const done = finishTool({ name: 'finish', description: 'Finish.', schema: z.object({ summary: z.string() }) });
const finishTurn: ScriptedTurn = { content: [{ type: 'tool_use', name: 'finish', input: { summary: 'done' } }] };
const SYSTEM = 'You are a worker. '.repeat(400);

async function start(cache = new PromptCache()) {
  server = await startModelServer([], { cache });
  const client = new Anthropic({ apiKey: 'test', baseURL: server.url, maxRetries: 0 });
  /** One run; the usage of each of its turns. */
  const run = async (context: string, prompt: string, turns: ScriptedTurn[], extra: { tools?: any[]; clock?: () => number } = {}) => {
    const usage: TokenUsage[] = [];
    server!.enqueue(...turns);
    await runAgent({
      client,
      recorder: { startRun: async () => 0, recordUsage: async (e) => void usage.push(e.usage), saveTranscript: async () => {} },
      log: pino({ level: 'silent' }),
      missionId: 1,
      role: 'worker',
      model: 'claude-sonnet-5-5',
      system: SYSTEM,
      context,
      prompt,
      tools: extra.tools ?? [],
      finishTools: [done],
      maxTurns: 10,
      ...(extra.clock ? { clock: extra.clock } : {}),
    });
    return usage;
  };
  return { run };
}

describe('prompt cache', () => {
  it('tells each role’s runs in a mission the same context, word for word, whatever their feature, milestone or round', async () => {
    const checkout = mkdtempSync(join(tmpdir(), 'missions-briefing-'));
    writeFileSync(join(checkout, 'AGENTS.md'), 'Run node test.js.\n');
    const base = checkoutFiles(checkout);
    const worker = (featureId: string) =>
      workerBriefing({
        owner: 'o',
        repo: 'r',
        issueNumber: 1,
        contract: stackPlan,
        feature: stackPlan.features.find((f) => f.id === featureId)!,
        features: stackPlan.features,
        previous: featureId === 'F1' ? [] : [{ featureId: 'F1', title: 'hello command', handoff: null }],
        commands: { test: 'node test.js' },
        network: false,
        sandbox: { checkout } as Sandbox,
        base,
      });
    const [f1, f3] = [await worker('F1'), await worker('F3')];
    expect(f1.context).toBe(f3.context);
    expect(f1.prompt).not.toBe(f3.prompt);
    expect(f1.context).toContain('Run node test.js.');
    const validation = (milestone: string, assertionIds: string[]) => ({
      owner: 'o',
      repo: 'r',
      contract: stackPlan,
      milestone,
      assertionIds,
      diff: `diff for ${milestone}`,
      commands: { test: 'node test.js' },
      ci: '(none)',
      network: false,
      sandbox: { checkout } as Sandbox,
      base,
    });
    const [m1, m2] = [validation('M1', ['VAL-001', 'VAL-002']), validation('M2', ['VAL-003'])];
    expect(scrutinyBriefing(m1).context).toBe(scrutinyBriefing({ ...m2, previousFindings: ['S1 fixed'] }).context);
    expect(userTestingBriefing(m1).context).toBe(userTestingBriefing(m2).context);
    const triage = (round: number) =>
      triageBriefing({
        owner: 'o',
        repo: 'r',
        contract: stackPlan,
        milestone: 'M1',
        round,
        maxRounds: 3,
        fixRoundLeft: true,
        items: [{ id: `S${round}`, kind: 'finding', title: 'a finding', evidence: '' } as RoundItem],
        review: { verdict: 'request_changes', summary: `round ${round}` },
        failing: [],
        repairable: ['VAL-001'],
        checkout,
        base,
      });
    expect(triage(1).context).toBe(triage(2).context);
    expect(triage(1).prompt).not.toBe(triage(2).prompt);
    rmSync(checkout, { recursive: true, force: true });
  });

  it('lets a role’s next run in the mission read the mission’s context from the cache, and write only its own task', async () => {
    const { run } = await start();
    const context = '# Mission: Greeting command\n\nThe whole contract, the notes and the commands. '.repeat(60);
    await run(context, 'Build F1 now.', [finishTurn]);
    const [second] = await run(context, 'Build F2 now: a different feature.', [finishTurn]);
    // Another mission's run of the same role shares only the role's tools and prompt.
    const [otherMission] = await run('# Mission: Something else\n\nAnother contract. '.repeat(60), 'Build F2 now: a different feature.', [finishTurn]);
    expect(otherMission!.cache_read_tokens).toBeGreaterThan(0);
    expect(second!.cache_read_tokens).toBeGreaterThan(otherMission!.cache_read_tokens + 500);
    // What the second run wrote is its task, not the context again.
    expect(second!.cache_write_tokens).toBeLessThan(50);
  });

  it('keeps a run’s turns in the 1-hour cache once a turn was slow, so the next turns read them after a long suite', async () => {
    let now = 0;
    const { run } = await start(new PromptCache(() => now));
    const suite = betaZodTool({
      name: 'suite',
      description: 'Run the test suite.',
      inputSchema: z.object({ minutes: z.number() }),
      run: async ({ minutes }) => {
        now += minutes * 60_000;
        return 'ok\n'.repeat(300);
      },
    });
    const call = (minutes: number): ScriptedTurn => ({ content: [{ type: 'tool_use', name: 'suite', input: { minutes } }] });
    const usage = await run('The mission. '.repeat(100), 'Run the suite until it passes.', [call(1), call(8), call(1), call(8), finishTurn], { tools: [suite], clock: () => now });
    const ttls = server!.requests.map((r) => (r.cache_control as { ttl?: string }).ttl);
    // A minute between turns: the 5-minute cache. From the turn after the first 8 minutes: an hour,
    // fast turns included (the next command may be slow again).
    expect(ttls).toEqual(['5m', '5m', '1h', '1h', '1h']);
    // That turn found the previous one expired and read only the shared prefix (tools, system and
    // context, kept an hour); every later turn read all it had sent before, after the second suite too.
    const sent = (i: number) => usage[i]!.input_tokens + usage[i]!.cache_read_tokens + usage[i]!.cache_write_tokens;
    expect(usage[1]!.cache_read_tokens).toBeGreaterThanOrEqual(sent(0));
    expect(usage[2]!.cache_read_tokens).toBeLessThan(sent(1));
    expect(usage[2]!.cache_read_tokens).toBeGreaterThan(usage[0]!.cache_write_tokens - 50);
    expect(usage[3]!.cache_read_tokens).toBeGreaterThanOrEqual(sent(2));
    expect(usage[4]!.cache_read_tokens).toBeGreaterThanOrEqual(sent(3));
    const total = usage.reduce(addUsage, NO_USAGE);
    expect(total.cache_write_1h_tokens).toBeGreaterThan(0);
  });
});
