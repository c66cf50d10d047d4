// Runs that end badly, as real models end them (PRODUCT.md §4 "Runs that end badly are recovered"):
// a worker that writes "Done" and stops without its finish tool, a reply cut off at max_tokens in the
// middle of a write, a refused turn, a run near its turn cap. The model server plays them as the API
// does, thinking blocks bound to their conversation included.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { branchExists, git, pushedCommits } from '../helpers/git.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission } from '../helpers/scenario.ts';
import { approveTurn, handoffTurn, passingValidation, taskOf, toolTurn, validatorTurns, verdictsTurn } from '../helpers/workers.ts';
import type { MessagesRequest, ScriptedBlock } from '../helpers/model-server.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const greeting = 'console.log(`Hello, ${process.argv[3]}!`);\n';
const lastUserText = (request: MessagesRequest) => JSON.stringify(request.messages.at(-1));

describe('runs that end badly', () => {
  it('asks a worker that ends its turn without submit_handoff to call it, and the mission completes; each role runs at its effort, never forced to a tool', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'write', input: { file_path: 'cli.js', content: greeting } }),
        // What real models do: the work is done, so they end the turn with nothing but a blank line
        // (which the API refuses to be sent back), or say so in text.
        { content: [{ type: 'text', text: '\n\n' }] },
        (request) => {
          expect(lastUserText(request)).toContain('without calling `submit_handoff`');
          return { content: [{ type: 'text', text: 'Done. Summary: cli.js now prints the greeting.' }] };
        },
        (request) => {
          expect(lastUserText(request)).toContain('without calling `submit_handoff`');
          // A call after the accepted handoff, in the same reply, would change what the handoff describes: not run.
          const handoff = handoffTurn('cli.js prints the greeting.') as { content: ScriptedBlock[] };
          return { content: [...handoff.content, { type: 'tool_use', name: 'write', input: { file_path: 'late.js', content: 'after the handoff\n' } }] };
        },
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(app.model.pending()).toBe(0);
    expect(pushedCommits(origin, BRANCH).map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command']);
    expect(git(origin, 'ls-tree', '--name-only', BRANCH)).not.toContain('late.js');

    // Effort per role from the defaults (orchestrator and validator high, worker medium), max_tokens
    // sized for thinking, and no request that forces a tool (Opus 5.5 answers those with a 400).
    const byFinish = (name: string) => app.model.requests.filter((r) => (r.tools ?? []).some((t) => t.name === name));
    expect(byFinish('submit_plan').map((r) => r.output_config)).toEqual([{ effort: 'high' }]);
    expect(new Set(byFinish('submit_handoff').map((r) => JSON.stringify(r.output_config)))).toEqual(new Set([JSON.stringify({ effort: 'medium' })]));
    expect(byFinish('submit_review')[0]!.output_config).toEqual({ effort: 'high' });
    expect(byFinish('submit_handoff')[0]!.max_tokens).toBe(64_000);
    expect(byFinish('submit_review')[0]!.max_tokens).toBe(32_000);
    expect(app.model.requests.filter((r) => r.tool_choice !== undefined && (r.tool_choice as { type: string }).type !== 'auto')).toEqual([]);

    // The summary's USD is the list price of the tokens used: per million, Opus 5.5 $4 in, $20 out,
    // $5 cache write (5 minutes), $8 for the 1-hour cache, $0.20 cache read; Sonnet 5.5 $2, $10, $2.50, $4, $0.20.
    const LIST: Record<string, number[]> = { 'claude-opus-5-5': [4, 20, 5, 8, 0.2], 'claude-sonnet-5-5': [2, 10, 2.5, 4, 0.2] };
    const rows = await app.db.query<{ model: string; i: number; o: number; w: number; h: number; r: number }>(
      'SELECT model, input_tokens::float8 AS i, output_tokens::float8 AS o, cache_write_tokens::float8 AS w, cache_write_1h_tokens::float8 AS h, cache_read_tokens::float8 AS r FROM usage WHERE mission_id = 1',
    );
    expect(new Set(rows.map((r) => r.model))).toEqual(new Set(['claude-opus-5-5', 'claude-sonnet-5-5']));
    // Both caches were written: the shared prefixes for an hour, the turns for five minutes.
    expect(rows.some((u) => u.h > 0) && rows.some((u) => u.w > u.h)).toBe(true);
    const expected = rows.reduce((sum, u) => {
      const [i, o, w, h, r] = LIST[u.model]!;
      return sum + (u.i * i! + u.o * o! + (u.w - u.h) * w! + u.h * h! + u.r * r!) / 1e6;
    }, 0);
    const summary = scenario.thread.pulls[0]!.comments.map((c) => c.body).find((b) => b.includes('Mission done'))!;
    expect(summary).toContain(`| **total** | | | **$${expected.toFixed(2)}** |`);
    const stored = (await app.store.costByRole(1)).reduce((sum, c) => sum + c.usd, 0);
    expect(stored).toBeCloseTo(expected, 9);
  });

  it('runs none of the tool calls of a reply cut off at max_tokens, and warns the model as its turn cap nears', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      // 5 turns: the warning comes after the third, with two left.
      workerTurns: 5,
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        // The limit falls inside the write: its input stops halfway.
        { content: [{ type: 'tool_use', name: 'write', input: { file_path: 'half.js', content: 'x'.repeat(400) } }], stop_reason: 'max_tokens' },
        (request) => {
          const answer = lastUserText(request);
          expect(answer).toContain('"is_error":true');
          expect(answer).toContain('Not run: the reply was cut off (max_tokens)');
          expect(answer).toContain('Your reply reached max_tokens (64000) and was cut off');
          return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: greeting } });
        },
        // The context window ends a reply inside a call too: the same answer, not a nudge (which would leave the call unanswered: a 400).
        { content: [{ type: 'tool_use', name: 'write', input: { file_path: 'other.js', content: 'y'.repeat(400) } }], stop_reason: 'model_context_window_exceeded' },
        (request) => {
          const answer = lastUserText(request);
          expect(answer).toContain('Not run: the reply was cut off (model_context_window_exceeded)');
          expect(answer).toContain('You have 2 turn(s) left');
          return handoffTurn('cli.js prints the greeting.');
        },
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(app.model.pending()).toBe(0);
    const [commit] = pushedCommits(origin, BRANCH);
    expect(commit!.files).toEqual(['cli.js']);
    expect(git(origin, 'ls-tree', '--name-only', BRANCH)).not.toContain('half.js');
    expect(git(origin, 'ls-tree', '--name-only', BRANCH)).not.toContain('other.js');
  });

  it('asks a refused turn once more; a validator run that fails is run once more in a fresh context', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    let refusedRequest: MessagesRequest | undefined;
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        (request) => {
          refusedRequest = request;
          return { refusal: true };
        },
        (request) => {
          // The same request again: nothing of the refused reply is kept.
          expect(request.messages).toEqual(refusedRequest!.messages);
          return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: greeting } });
        },
        handoffTurn('cli.js prints the greeting.'),
        // Scrutiny refuses twice (its run fails), then a fresh scrutiny run reviews.
        ...validatorTurns({
          scrutiny: [{ refusal: true }, { refusal: true }, (request) => (expect(request.messages).toHaveLength(1), approveTurn())],
          'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass' }])],
        }),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(app.model.pending()).toBe(0);
    expect(scenario.thread.checkRuns.map((c) => `${c.name}: ${c.conclusion}`).sort()).toEqual(['Missions: contract: success', 'Missions: scrutiny: success']);
  });

  it('tries a feature once more with the first attempt’s handoff, then pauses naming the worker’s refusal', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        // Attempt 1 hands off partial; attempt 2 is told so, and its model refuses twice.
        toolTurn({ name: 'write', input: { file_path: 'cli.js', content: 'console.log("Hello");\n' } }),
        handoffTurn('Printed a fixed greeting; the name is not read yet.', { status: 'partial', left_undone: ['read the name from argv'] }),
        (request) => {
          expect(taskOf(request)).toContain('## An earlier attempt at this feature');
          expect(taskOf(request)).toContain('read the name from argv');
          return { refusal: true };
        },
        { refusal: true },
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    const paused = await missionReaches(app, 'paused');
    expect(paused.pause_reason).toBe('worker');
    // Nothing of either attempt was committed.
    expect(branchExists(origin, BRANCH)).toBe(false);
    const said = await waitFor(() => scenario.thread.replies().find((r) => r.includes('Mission paused')), 'the pause reply');
    expect(said).toContain('claude-sonnet-5-5');
    expect(said).toContain('of the worker refused to go on');
    expect(said).toContain('/retry');
    // The maintainer also sees what the first attempt got done, and what it left.
    expect(said).toContain('The attempt before this one handed off `partial`');
    expect(said).toContain('> Printed a fixed greeting; the name is not read yet.');
    expect(said).toContain('- read the name from argv');
    expect(app.model.pending()).toBe(0);
  });
});
