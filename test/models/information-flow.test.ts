// What each role is told (PRODUCT.md §4): the planner its environment, every later role the plan's
// notes and verify steps, the fix worker the failing evidence, the next round's scrutiny the previous
// round's findings, triage every item of the round, each to be disposed of.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp } from '../helpers/harness.ts';
import { pushedCommits } from '../helpers/git.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, commentOn, missionReaches, startMission } from '../helpers/scenario.ts';
import { approveTurn, handoffTurn, taskOf, toolTurn, validatorTurns, verdictsTurn } from '../helpers/workers.ts';
import type { Plan } from '../../src/mission/plan.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const buggy = 'console.log(`Hello, ${process.argv[3]}`);\n';
const fixed = 'console.log(`Hello, ${process.argv[3]}!`);\n';
const lastUserText = (request: { messages: { content: unknown }[] }) => JSON.stringify(request.messages.at(-1));

describe('what each role is told', () => {
  it('gives the fix worker the failing evidence, so it converges in one fix round; triage must dispose of every item, workers’ reports included', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const triage = (dispositions: unknown[]) => ({
      name: 'submit_triage',
      input: {
        decision: 'fix',
        rationale: 'VAL-001 fails: the greeting has no "!" (cc &#64;admins). <!--',
        // The description alone does not say what is wrong: the evidence must reach the worker.
        fix_features: [{ title: 'Repair the greeting', description: 'Make VAL-001 pass.', assertion_ids: ['VAL-001'], addresses: ['VAL-001', 'S1'] }],
        dispositions,
      },
    });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'write', input: { file_path: 'cli.js', content: buggy } }),
        // A complete handoff that still reports something: it must reach triage and the maintainer.
        handoffTurn('Added hello.', { issues_found: [{ severity: 'non_blocking', description: 'cli.js prints no usage message when the name is missing' }] }),
        ...validatorTurns({
          'user-testing': [
            verdictsTurn([{ assertion_id: 'VAL-001', status: 'fail', evidence: 'EVIDENCE-7: `node cli.js hello Ada` printed `Hello, Ada`; the statement wants a final `!` (as @octocat asked).' }]),
          ],
          scrutiny: [
            toolTurn({
              name: 'submit_review',
              input: { verdict: 'request_changes', summary: 'The greeting is wrong; ask @octocat, who wrote it.', findings: [{ severity: 'blocker', path: 'cli.js', line: 1, title: 'Greeting lacks "!"', detail: 'The template literal ends without `!`.' }] },
            }),
          ],
        }),
        (request) => {
          const task = taskOf(request);
          for (const item of ['**S1**', '**W1**', '**VAL-001**', 'EVIDENCE-7', 'prints no usage message']) expect(task).toContain(item);
          // W1 forgotten: refused, naming it.
          return toolTurn(triage([{ item: 'VAL-001', action: 'fix', reason: 'fails' }, { item: 'S1', action: 'fix', reason: 'same cause' }]));
        },
        (request) => {
          expect(lastUserText(request)).toContain('W1 has no disposition');
          return toolTurn(triage([{ item: 'VAL-001', action: 'fix', reason: 'fails' }, { item: 'S1', action: 'fix', reason: 'same cause' }, { item: 'W1', action: 'dismiss', reason: 'low priority' }]));
        },
        (request) => {
          expect(lastUserText(request)).toContain('W1: \\"low priority\\" is not a reason');
          return toolTurn(
            triage([
              { item: 'VAL-001', action: 'fix', reason: 'fails' },
              { item: 'S1', action: 'fix', reason: 'same cause' },
              { item: 'W1', action: 'defer', reason: 'A usage message is not in the contract; it belongs in a follow-up issue.' },
            ]),
          );
        },
        // The fix worker: a model that cannot guess what is wrong writes the same bug again.
        (request) => {
          const task = taskOf(request);
          const told = task.includes('EVIDENCE-7') && task.includes('Greeting lacks');
          // The board shows the failed verdict with its evidence by now, pinging nobody.
          expect(scenario.thread.missionComment()!.body).toContain('(as @\u2060octocat asked)');
          return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: told ? fixed : buggy } });
        },
        handoffTurn('Repaired the greeting.'),
        ...validatorTurns({
          scrutiny: [
            (request) => {
              const task = taskOf(request);
              expect(task).toContain("## The previous round's findings");
              expect(task).toContain('S1 (blocker) `cli.js:1` Greeting lacks "!" — to be fixed by F2');
              return approveTurn();
            },
          ],
          // Replayed by the app on a clean checkout: it passes only if the fix is right.
          'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass', command: "node cli.js hello Ada | grep -qx 'Hello, Ada!'" }])],
        }),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(app.model.pending()).toBe(0);
    expect(pushedCommits(origin, BRANCH).map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command', 'feat(F2): Repair the greeting']);
    expect((await app.store.validationRuns(1)).map((r) => r.outcome)).toEqual(['fixing', 'passed']);

    // The maintainer sees every item and its disposition with the round, and again in the summary.
    const first = scenario.thread.reviews[0]!.body;
    // The models' words ping nobody: not a plain mention, not one spelled as an HTML entity.
    expect(first).toContain('ask @\u2060octocat, who wrote it');
    expect(first).toContain('(cc @\u2060admins)');
    // Nor can they open an HTML comment that would hide the table of items after them.
    expect(first).toContain('(cc @\u2060admins). &lt;!--');
    expect(first).not.toContain('<!--\n');
    expect(first).toContain('| W1 | F1\'s worker found (non_blocking): cli.js prints no usage message when the name is missing | ⏭️ deferred: A usage message is not in the contract; it belongs in a follow-up issue. |');
    expect(first).toContain('| S1 | (blocker) `cli.js:1` Greeting lacks "!" | 🔧 fix (F2) |');
    const summary = scenario.thread.pulls[0]!.comments.map((c) => c.body).find((b) => b.includes('Mission done'))!;
    expect(summary).toContain('What validation found');
    expect(summary).toContain('⏭️ deferred: A usage message is not in the contract');
  });

  it('tells the planner its environment, shows verify and notes with the plan, and gives them to every worker and validator', async () => {
    const origin = bareRepository({ 'cli.js': '', 'package.json': JSON.stringify({ name: 'greeter', scripts: { test: 'node test.js' } }) });
    const plan: Plan = {
      ...firstFeatures(1),
      notes: 'NOTES-42: the CLI entry point is cli.js; run it with `node cli.js`.',
      assertions: [{ ...firstFeatures(1).assertions[0]!, verify: "node cli.js hello Ada | grep -qx 'Hello, Ada!'" }],
    };
    const told = (request: { messages: { content: unknown }[] }) => {
      const task = taskOf(request);
      expect(task).toContain('NOTES-42');
      expect(task).toContain("Verify: node cli.js hello Ada | grep -qx 'Hello, Ada!'");
    };
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        (request) => {
          const task = taskOf(request);
          expect(task).toContain('# The environment the mission runs in');
          expect(task).toContain('test: `npm test`');
          expect(task).toContain('**without the network**');
          expect(task).toContain('no browser');
          expect(task).toContain('Budget: $25 and 48 hours');
          expect(task).toContain('at most 3 fix round(s) per milestone');
          return toolTurn({ name: 'submit_plan', input: plan });
        },
        (request) => (told(request), toolTurn({ name: 'write', input: { file_path: 'cli.js', content: fixed } })),
        handoffTurn('Added hello.'),
        ...validatorTurns({
          scrutiny: [(request) => (told(request), approveTurn())],
          'user-testing': [(request) => (told(request), verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass' }]))],
        }),
      ],
    });
    app = scenario.app;
    await missionReaches(app, 'awaiting_approval', 1);
    const comment = scenario.thread.missionComment()!.body;
    expect(comment).toContain("- [ ] **VAL-001** `node cli.js hello Ada` prints `Hello, Ada!` — _F1_\n  _Verify:_ `node cli.js hello Ada | grep -qx 'Hello, Ada!'`");
    expect(comment).toContain('<details><summary>Mission notes');
    expect(comment).toContain('NOTES-42');
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(app.model.pending()).toBe(0);
  });

  it('carries a worker’s report past a round that stopped untriaged, and has it disposed of even with no fix round left', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const report = 'cli.js prints no usage message when the name is missing';
    const scenario = await startMission({
      repo: { cloneUrl: origin, config: 'validation:\n  max_fix_rounds: 0\n' },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'write', input: { file_path: 'cli.js', content: fixed } }),
        handoffTurn('Added hello.', { issues_found: [{ severity: 'non_blocking', description: report }] }),
        // Round 1 stops before triage: the API rejects the scrutiny validator's request (a 400, not worth a rerun).
        ...validatorTurns({
          scrutiny: [{ status: 400, error: { type: 'invalid_request_error', message: 'prompt is too long' } }],
          'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass' }])],
        }),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'paused');
    expect(app.model.requests.filter((r) => (r.tools ?? []).some((t) => t.name === 'submit_review'))).toHaveLength(1);
    expect((await app.store.validationRuns(1)).map((r) => [r.outcome, r.triage])).toEqual([['stopped', null]]);

    // Round 2 passes, with no fix round left: the worker's report is still an item, and triage disposes of it.
    app.model.enqueue(
      ...validatorTurns({ scrutiny: [approveTurn()], 'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass' }])] }),
      (request) => {
        const task = taskOf(request);
        expect(task).toContain('No fix round is left (0 used)');
        expect(task).toContain(`**W1** F1's worker found (non_blocking): ${report}`);
        return toolTurn({
          name: 'submit_triage',
          input: { decision: 'fix', rationale: 'Add a usage message.', fix_features: [{ title: 'Usage', description: 'Print usage.', assertion_ids: [], addresses: ['W1'] }], dispositions: [{ item: 'W1', action: 'fix', reason: 'it is missing' }] },
        });
      },
      (request) => {
        expect(lastUserText(request)).toContain('No fix round is left (0 used)');
        return toolTurn({
          name: 'submit_triage',
          input: { decision: 'proceed', rationale: 'Every assertion passed.', fix_features: [], dispositions: [{ item: 'W1', action: 'defer', reason: 'A usage message is not in the contract; it belongs in a follow-up issue.' }] },
        });
      },
    );
    await commentOn(scenario, '/retry');
    await missionReaches(app, 'done');
    expect(app.model.pending()).toBe(0);
    const summary = scenario.thread.pulls[0]!.comments.map((c) => c.body).find((b) => b.includes('Mission done'))!;
    expect(summary).toContain(`| W1 | F1's worker found (non_blocking): ${report} | ⏭️ deferred: A usage message is not in the contract`);
  });
});
