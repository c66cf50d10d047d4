// Validation under pressure: a pass that does not replay, the fix rounds running out (the PR stays a
// draft, /retry goes on), validators that try to change the branch, and CI that is pending or waits
// for a human.
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { Sandbox } from '../../src/workspace/sandbox.ts';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { git, pushedCommits } from '../helpers/git.ts';
import { firstFeatures, stackPlan } from '../helpers/plans.ts';
import { approvePlan, commentOn, missionReaches, startMission } from '../helpers/scenario.ts';
import { approveTurn, buildsFeature, handoffTurn, taskOf, toolTurn, validatorTurns, verdictsTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const oneFeature = firstFeatures(1);
const buggy = 'console.log(`Hello, ${process.argv[3]}`);\n';
const fixed = 'console.log(`Hello, ${process.argv[3]}!`);\n';
const greets = "node cli.js hello Ada | grep -qx 'Hello, Ada!'";

describe('validation under pressure', () => {
  it('does not tick a pass whose command fails on replay; with no fix rounds left it stops, and /retry goes on', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin, config: 'validation:\n  max_fix_rounds: 0\n' },
      turns: [
        toolTurn({ name: 'submit_plan', input: oneFeature }),
        ...buildsFeature('F1', { 'cli.js': buggy }),
        // Round 1: the validator claims a pass it cannot back.
        ...validatorTurns({ 'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass', evidence: 'looks right', command: greets }])], scrutiny: [approveTurn()] }),
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);

    const paused = await missionReaches(app, 'paused');
    expect(paused.pause_reason).toBe('rounds');
    const verdict = (await app.store.latestVerdicts(1)).get('VAL-001')!;
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toContain(`The validator reported a pass, but \`${greets}\` exited 1 when the app replayed it on a clean checkout`);
    const report = await waitFor(() => thread.replies().find((r) => r.includes('Mission paused at milestone M1')), 'the report');
    expect(report).toContain('milestone M1 still fails after 0 fix round(s) (VAL-001)');
    expect(report).toContain('Reply `/retry` for one more round of fixes and validation');
    await waitFor(() => thread.missionComment()!.body.includes('VAL-001'), 'the board');
    expect(thread.missionComment()!.body).toMatch(/- \[ \] \*\*VAL-001\*\* .* — _F1_ — ❌ failed: The validator reported a pass, but/);
    expect(thread.pulls[0]!.draft).toBe(true);
    expect(thread.checkRuns.find((c) => c.name === 'Missions: contract')!.conclusion).toBe('failure');
    // No triage ran: the rounds were spent.
    expect((await app.store.costByRole(1)).map((c) => c.role)).not.toContain('triage');

    // /retry: one more round: validated again, triaged into a fix, re-validated, done.
    app.model.enqueue(
      ...validatorTurns({ 'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'fail', evidence: 'prints Hello, Ada' }])], scrutiny: [approveTurn()] }),
      toolTurn({
        name: 'submit_triage',
        input: {
          decision: 'fix',
          rationale: 'The "!" is missing.',
          fix_features: [{ title: 'Add the "!"', description: 'Print `Hello, <name>!`.', assertion_ids: ['VAL-001'], addresses: ['VAL-001'] }],
          dispositions: [{ item: 'VAL-001', action: 'fix', reason: 'prints no "!"' }],
        },
      }),
      toolTurn({ name: 'write', input: { file_path: 'cli.js', content: fixed } }),
      handoffTurn('Added the "!".'),
      ...validatorTurns({ 'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass', command: greets }])], scrutiny: [approveTurn()] }),
    );
    await commentOn(scenario, '/retry');
    await missionReaches(app, 'done');
    expect(pushedCommits(origin, BRANCH).map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command', 'feat(F2): Add the "!"']);
    expect(thread.pulls[0]!.draft).toBe(false);
    expect(thread.pulls[0]!.body).toContain('- [x] **VAL-001**');
  });

  it('replays a command that several passes name once, gives each pass its evidence, and replays none for an assertion the contract lacks', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const runs = vi.spyOn(Sandbox.prototype, 'run');
    onTestFinished(() => runs.mockRestore());
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(2) }),
        ...buildsFeature('F1', { 'cli.js': fixed }),
        ...buildsFeature('F2', { 'test.js': "require('node:assert').ok(true);\n" }),
        ...validatorTurns({
          'user-testing': [
            // Made-up assertions, each a command to replay: refused, so the validator gives the real ones.
            verdictsTurn([
              { assertion_id: 'VAL-001', status: 'pass', evidence: 'greets', command: greets },
              { assertion_id: 'VAL-002', status: 'pass', evidence: 'greets', command: greets },
              ...Array.from({ length: 3 }, (_, i) => ({ assertion_id: `VAL-9${i}`, status: 'pass' as const, evidence: 'made up', command: `echo made-up-${i}` })),
            ]),
            verdictsTurn([
              { assertion_id: 'VAL-001', status: 'pass', evidence: 'greets', command: greets },
              { assertion_id: 'VAL-002', status: 'pass', evidence: 'greets, and the tests pass', command: greets },
            ]),
          ],
          scrutiny: [approveTurn()],
        }),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    const verdicts = await app.store.latestVerdicts(1);
    for (const id of ['VAL-001', 'VAL-002']) {
      expect(verdicts.get(id)!.evidence).toContain(`\`${greets}\` exited 0 when the app replayed it on a clean checkout`);
    }
    expect(runs.mock.calls.filter(([command]) => command === greets)).toHaveLength(1);
    expect(runs.mock.calls.filter(([command]) => command.startsWith('echo made-up'))).toHaveLength(0);
    expect(app.model.pending()).toBe(0);
    expect([...verdicts.keys()].sort()).toEqual(['VAL-001', 'VAL-002']);
  });

  it('shows the round when triage gives up: the review, the check runs and the failing assertion on the board, then pauses saying why', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: oneFeature }),
        ...buildsFeature('F1', { 'cli.js': buggy }),
        ...validatorTurns({
          'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'fail', evidence: '`node cli.js hello Ada` printed `Hello, Ada`: no "!".' }])],
          scrutiny: [
            toolTurn({
              name: 'submit_review',
              input: { verdict: 'request_changes', summary: 'The greeting lacks its "!".', findings: [{ severity: 'blocker', path: 'cli.js', line: 1, title: 'Greeting lacks "!"', detail: 'VAL-001 wants `Hello, Ada!`.' }] },
            }),
          ],
        }),
        // Triage talks, and never calls submit_triage: not when asked twice, not in a second run.
        ...Array.from({ length: 6 }, () => ({ content: [{ type: 'text' as const, text: 'The fix is obvious: add the "!". I am done.' }] })),
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);

    const paused = await missionReaches(app, 'paused');
    expect(paused.stop_note).toBe('Triage gave up: it ended without calling submit_triage, even after being asked 2 times');
    expect(app.model.pending()).toBe(0);
    const report = await waitFor(() => thread.replies().find((r) => r.includes('Mission paused at milestone M1')), 'the report');
    expect(report).toContain('Triage gave up: it ended without calling submit_triage, even after being asked 2 times. Not passed: VAL-001.');
    expect(report).toContain('Reply `/retry` to validate the milestone again');
    // The round as any other: the review with the finding inline and the stop in its body, both check runs failed.
    expect(thread.reviews).toHaveLength(1);
    expect(thread.reviews[0]!.body).toContain('VAL-001');
    expect(thread.reviews[0]!.body).toContain('**Stopped:** Triage gave up: it ended without calling submit_triage, even after being asked 2 times.');
    expect(thread.reviews[0]!.comments.map((c) => [c.path, c.line])).toEqual([['cli.js', 1]]);
    expect(thread.checkRuns.map((c) => [c.name, c.conclusion]).sort()).toEqual([['Missions: contract', 'failure'], ['Missions: scrutiny', 'failure']]);
    await waitFor(() => thread.missionComment()!.body.includes('❌ failed'), 'the board');
    expect(thread.missionComment()!.body).toMatch(/- \[ \] \*\*VAL-001\*\* .* — ❌ failed: `node cli.js hello Ada` printed `Hello, Ada`/);
    expect(thread.missionComment()!.body).toContain('Triage gave up');
    expect(thread.pulls[0]!.draft).toBe(true);
  });

  it('shows the round when one validator gives up: the other’s verdicts ticked, a failed scrutiny check saying why, and a pause naming it', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: oneFeature }),
        ...buildsFeature('F1', { 'cli.js': fixed }),
        ...validatorTurns({
          'user-testing': [verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass', evidence: 'prints Hello, Ada!' }])],
          // Scrutiny talks, and never calls submit_review: not when asked twice, not in a second run.
          scrutiny: Array.from({ length: 6 }, () => ({ content: [{ type: 'text' as const, text: 'Looks fine to me.' }] })),
        }),
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);

    const paused = await missionReaches(app, 'paused');
    expect(paused.pause_reason).toBe('error');
    expect(paused.stop_note).toBe('The scrutiny validator gave up: it ended without calling submit_review, even after being asked 2 times');
    expect(app.model.pending()).toBe(0);
    await waitFor(() => thread.replies().some((r) => r.includes('Mission paused at milestone M1')), 'the report');
    expect(thread.reviews).toHaveLength(1);
    expect(thread.reviews[0]!.body).toContain('No review this round. The scrutiny validator gave up');
    const checks = Object.fromEntries(thread.checkRuns.map((c) => [c.name, c]));
    expect(checks['Missions: scrutiny']!.conclusion).toBe('failure');
    expect(checks['Missions: scrutiny']!.output.title).toBe('Milestone M1: no review (the scrutiny validator failed)');
    expect(checks['Missions: scrutiny']!.output.summary).toContain('The scrutiny validator gave up');
    expect(checks['Missions: contract']!.conclusion).toBe('success');
    await waitFor(() => thread.missionComment()!.body.includes('- [x] **VAL-001**'), 'the tick on the board');
    // No triage ran: the round stopped on the failed run.
    expect((await app.store.costByRole(1)).map((c) => c.role)).not.toContain('triage');
  });

  it('keeps validators off the branch, reports CI that is pending or waiting for approval as not passed, and moves refused inline comments into the review', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin, config: 'validation:\n  ci_timeout_minutes: 0\n' },
      turns: [
        toolTurn({ name: 'submit_plan', input: oneFeature }),
        ...buildsFeature('F1', { 'cli.js': fixed }),
        ...validatorTurns({
          'user-testing': [
            (request) => {
              expect(taskOf(request)).toContain('`build`: still pending after the 0-minute wait (not passed)');
              expect(taskOf(request)).toContain('`deploy-preview`: waiting for a maintainer to approve the run (not passed)');
              expect(taskOf(request)).toContain('status `lint`: success');
              // A validator that edits, commits and pushes.
              return toolTurn({
                name: 'bash',
                input: { command: `echo evil > evil.txt && git add -A && git -c user.name=v -c user.email=v@example.com commit -qm evil && git push origin HEAD:refs/heads/${BRANCH}; echo "push exit $?"` },
              });
            },
            (request) => {
              expect(JSON.stringify(request.messages.at(-1)!.content)).toMatch(/push exit [1-9]/);
              return verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass', command: greets }]);
            },
          ],
          scrutiny: [
            toolTurn({
              name: 'submit_review',
              input: { verdict: 'approve', summary: 'Fine; one nit.', findings: [{ severity: 'minor', path: 'cli.js', line: 1, title: 'Name the variable', detail: 'Use a const.' }] },
            }),
          ],
        }),
        // Even an approving review's nit gets a disposition.
        toolTurn({
          name: 'submit_triage',
          input: {
            decision: 'proceed',
            rationale: 'Everything passed; the nit can wait.',
            fix_features: [],
            dispositions: [{ item: 'S1', action: 'defer', reason: 'Naming is not in the contract; the variable is used once, so it can change with the next edit of cli.js.' }],
          },
        }),
      ],
    });
    app = scenario.app;
    scenario.thread.refuseInlineComments = true;
    scenario.thread.ci = {
      checkRuns: [
        { name: 'build', status: 'in_progress', conclusion: null },
        { name: 'deploy-preview', status: 'completed', conclusion: 'action_required' },
      ],
      statuses: [{ context: 'lint', state: 'success', description: 'clean' }],
    };
    const tipBefore = () => git(origin, 'rev-parse', BRANCH);
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(pushedCommits(origin, BRANCH).map((c) => c.files)).toEqual([['cli.js']]);
    expect(git(origin, 'ls-tree', '-r', '--name-only', tipBefore())).not.toContain('evil.txt');
    // GitHub refused the inline comment once; the review went up with the finding in its body.
    expect(scenario.thread.reviews).toHaveLength(1);
    expect(scenario.thread.reviews[0]!.comments).toEqual([]);
    expect(scenario.thread.reviews[0]!.body).toContain('#### Findings\n\n- `cli.js:1` 💡 **minor: Name the variable**');
    expect(app.github.requests.filter((r) => r.path.endsWith('/reviews'))).toHaveLength(2);
  });

  it('does not hold a milestone up on a verdict about a later milestone’s assertion, which is built later, nor replay one; replays an earlier one’s', async () => {
    const withLaterAssertion = {
      ...stackPlan,
      assertions: [...stackPlan.assertions, { id: 'VAL-004', statement: '`node cli.js hello Ada --shout` exits 0' }],
      features: stackPlan.features.map((f) => (f.id === 'F3' ? { ...f, assertion_ids: [...f.assertion_ids, 'VAL-004'] } : f)),
    };
    const origin = bareRepository({ 'cli.js': '' });
    const runs = vi.spyOn(Sandbox.prototype, 'run');
    onTestFinished(() => runs.mockRestore());
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: withLaterAssertion }),
        ...buildsFeature('F1', { 'cli.js': fixed }),
        ...buildsFeature('F2', { 'test.js': 'require("./cli.js");\n' }),
        // A validator that also reports on M2's assertions: one blocked, since --shout is not built yet,
        // and one passed with a command, which is not replayed (a validator cannot make a round run a
        // command for every assertion of the contract).
        ...validatorTurns({
          'user-testing': [
            verdictsTurn([
              { assertion_id: 'VAL-001', status: 'pass' },
              { assertion_id: 'VAL-002', status: 'pass' },
              { assertion_id: 'VAL-003', status: 'blocked', evidence: '--shout is not implemented yet' },
              { assertion_id: 'VAL-004', status: 'pass', evidence: 'claimed early', command: 'echo later-milestone' },
            ]),
          ],
          scrutiny: [approveTurn()],
        }),
        ...buildsFeature('F3', { 'cli.js': fixed }),
        // An earlier milestone's pass is replayed again (a regression must show).
        ...validatorTurns({
          'user-testing': [verdictsTurn([{ assertion_id: 'VAL-003', status: 'pass' }, { assertion_id: 'VAL-004', status: 'pass' }, { assertion_id: 'VAL-001', status: 'pass', evidence: 'still greets', command: 'echo earlier-milestone' }])],
          scrutiny: [approveTurn()],
        }),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(app.model.pending()).toBe(0);
    expect((await app.store.validationRuns(1)).map((r) => `${r.milestone}#${r.round}: ${r.outcome}`)).toEqual(['M1#1: passed', 'M2#1: passed']);
    expect(runs.mock.calls.filter(([command]) => command === 'echo earlier-milestone')).toHaveLength(1);
    expect(runs.mock.calls.filter(([command]) => command === 'echo later-milestone')).toHaveLength(0);
  });
});
