// What goes wrong around a build: a mission cancelled and started again on the same issue, a
// comment GitHub keeps failing on, a mission comment someone deleted.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, labeledPayload, type TestApp, waitFor } from '../helpers/harness.ts';
import { pushedCommits } from '../helpers/git.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, commentOn, missionReaches, startMission } from '../helpers/scenario.ts';
import { buildsFeature, passingValidation, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const oneFeature = firstFeatures(1);
const twoFeatures = firstFeatures(2);

describe('around a build', () => {
  it('gives a mission started again after /cancel a branch and pull request of its own', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: twoFeatures }),
        ...buildsFeature('F1', { 'a.js': '1\n' }),
        // The first mission's F2 worker hands off blocked, so the mission waits; then it is cancelled.
        toolTurn({ name: 'submit_handoff', input: { status: 'blocked', summary: 'Stuck.', commands_run: [], left_undone: [], issues_found: [] } }),
        // Its second attempt, told of the first, is blocked too.
        toolTurn({ name: 'submit_handoff', input: { status: 'blocked', summary: 'Still stuck.', commands_run: [], left_undone: [], issues_found: [] } }),
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);
    await missionReaches(app, 'paused');
    await commentOn(scenario, '/cancel');
    await missionReaches(app, 'cancelled');

    app.model.enqueue(toolTurn({ name: 'submit_plan', input: oneFeature }), ...buildsFeature('F1', { 'b.js': '2\n' }), ...passingValidation('VAL-001'));
    await app.receive('issues', labeledPayload());
    await waitFor(async () => (await app.store.latest(186853002, 1))?.id === 2 && (await app.store.get(2)).rendered_revision === 1, 'the second plan');
    await commentOn(scenario, '/approve');
    await waitFor(async () => (await app.store.get(2)).state === 'done', 'the second mission to be done');

    const second = await app.store.get(2);
    expect(second.branch).toBe('missions/1-greeting-command-m2');
    expect(pushedCommits(origin, 'missions/1-greeting-command').map((c) => c.files)).toEqual([['a.js']]);
    expect(pushedCommits(origin, 'missions/1-greeting-command-m2').map((c) => c.files)).toEqual([['b.js']]);
    expect(thread.pulls.map((p) => p.head)).toEqual(['missions/1-greeting-command', 'missions/1-greeting-command-m2']);
    expect(second.pr_number).toBe(thread.pulls[1]!.number);
  });

  it('lets go of a comment GitHub keeps failing on, so later commands on the issue are still answered', async () => {
    const scenario = await startMission({ turns: [toolTurn({ name: 'submit_plan', input: oneFeature })] });
    app = scenario.app;
    await missionReaches(app, 'awaiting_approval', 1);
    // Every permission lookup for this user fails: the intake job fails on each of its attempts.
    app.github.get('/repos/Codertocat/Hello-World/collaborators/flaky/permission').reply(502, { message: 'Bad Gateway' }).persist();
    await commentOn(scenario, '/status', 'flaky');
    await commentOn(scenario, '/status');
    const status = await waitFor(() => scenario.thread.replies().find((r) => r.includes('Mission status')), 'the later /status to be answered', 120_000);
    expect(status).toContain('@maintainer');
    // Three retries of the failing comment came first.
    expect(app.github.requests.filter((r) => r.path.includes('/collaborators/flaky/permission'))).toHaveLength(4);
  });

  it('posts the board again when someone deleted the mission comment', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: oneFeature }),
        toolTurn({ name: 'submit_handoff', input: { status: 'blocked', summary: 'Need a decision.', commands_run: [], left_undone: [], issues_found: [] } }),
        toolTurn({ name: 'submit_handoff', input: { status: 'blocked', summary: 'Still need a decision.', commands_run: [], left_undone: [], issues_found: [] } }),
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);
    await missionReaches(app, 'paused');
    await waitFor(() => thread.missionComment()!.body.includes('paused before **F1**'), 'the board');
    thread.comments.splice(thread.comments.indexOf(thread.missionComment()!), 1);
    app.model.enqueue(...buildsFeature('F1', { 'a.js': '1\n' }), ...passingValidation('VAL-001'));
    await commentOn(scenario, '/retry');
    await missionReaches(app, 'done');
    await waitFor(() => thread.missionComment()?.body.includes('✅ done'), 'a new board showing the mission done');
    expect(thread.comments.filter((c) => c.body.includes('missions:mission-comment'))).toHaveLength(1);
  });
});
