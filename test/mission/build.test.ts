// Building: an approved plan becomes one commit per feature, stacked on the mission branch and
// pushed after each feature, with a draft pull request that shows the stack.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { git, pushedCommits } from '../helpers/git.ts';
import { PR_NUMBER } from '../helpers/issue-thread.ts';
import { stackPlan } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission, type Scenario } from '../helpers/scenario.ts';
import { buildsFeature, handoffTurn, passingValidation, taskOf, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const BOT = 'missions[bot] <41898282+missions[bot]@users.noreply.github.com>';
const submitPlan = toolTurn({ name: 'submit_plan', input: stackPlan });

async function approve(scenario: Scenario) {
  app = scenario.app;
  await approvePlan(scenario);
}

describe('building', () => {
  it('turns an approved three-feature plan into three stacked, pushed commits and a draft pull request', async () => {
    const origin = bareRepository({ 'cli.js': '// the CLI\n', 'AGENTS.md': 'Keep it small.\n' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        submitPlan,
        ...buildsFeature('F1', { 'cli.js': 'console.log(`Hello, ${process.argv[3]}!`);\n' }, 'Added the hello command to cli.js.'),
        // F2's worker commits on its own, twice; the app folds both into the feature's one commit.
        (request) => {
          // A fresh context that knows F1's handoff and the repository's AGENTS.md.
          expect(request.messages).toHaveLength(1);
          expect(taskOf(request)).toContain('# Your feature: F2 tests for hello');
          expect(taskOf(request)).toContain('Added the hello command to cli.js.');
          expect(taskOf(request)).toContain('Keep it small.');
          return toolTurn(
            { name: 'write', input: { file_path: 'test.js', content: 'require("assert").ok(true);\n' } },
            { name: 'bash', input: { command: 'git add -A && git -c user.name=w -c user.email=w@example.com commit -qm "wip 1" && echo more >> test.js && git -c user.name=w -c user.email=w@example.com commit -qam "wip 2" && git log --oneline | wc -l' } },
          );
        },
        (request) => {
          const result = JSON.stringify(request.messages.at(-1)!.content);
          expect(result).not.toContain('is_error":true');
          return handoffTurn('Added test.js.');
        },
        ...passingValidation('VAL-001', 'VAL-002'),
        ...buildsFeature('F3', { 'shout.js': 'module.exports = (s) => s.toUpperCase();\n' }, 'Added --shout.'),
        ...passingValidation('VAL-003'),
      ],
    });
    const { thread } = scenario;
    await approve(scenario);

    const mission = await missionReaches(app, 'done');
    expect(mission.branch).toBe(BRANCH);
    // Three linear commits on main, one per feature, authored by the app, with the trailers.
    const commits = pushedCommits(origin, BRANCH);
    expect(commits.map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command', 'feat(F2): tests for hello', 'feat(F3): shout flag']);
    expect(commits[0]!.parents).toEqual([git(origin, 'rev-parse', 'main')]);
    expect(commits[1]!.parents).toEqual([commits[0]!.sha]);
    expect(commits[2]!.parents).toEqual([commits[1]!.sha]);
    expect(commits.map((c) => c.author)).toEqual([BOT, BOT, BOT]);
    expect(commits[0]!.message).toBe('feat(F1): hello command\n\nAdded the hello command to cli.js.\n\nMission-Feature: F1\nMission-Assertions: VAL-001');
    expect(commits[1]!.message).toContain('Added test.js.\n\nMission-Feature: F2\nMission-Assertions: VAL-002');
    expect(commits.map((c) => c.files)).toEqual([['cli.js'], ['test.js'], ['shout.js']]);
    expect(git(origin, 'show', `${BRANCH}:test.js`)).toBe('require("assert").ok(true);\nmore');
    expect(git(origin, 'show', `${BRANCH}:cli.js`)).toContain('Hello, ${process.argv[3]}!');

    // One draft pull request, opened after the first commit, showing the whole stack now.
    expect(thread.pulls).toHaveLength(1);
    const pr = thread.pulls[0]!;
    // Opened as a draft; ready for review once every assertion passed.
    expect(pr).toMatchObject({ number: PR_NUMBER, title: 'Mission #1: Greeting command', head: BRANCH, base: 'main', draft: false });
    expect(app.github.requests.find((r) => r.method === 'POST' && r.path.endsWith('/pulls'))!.body.draft).toBe(true);
    await waitFor(() => pr.body.includes('✅ done'), 'the pull request to show the mission done');
    for (const c of commits) expect(pr.body).toContain(c.sha.slice(0, 7));
    expect(pr.body).toContain('| ✅ | **F3** shout flag | M2 |');
    expect(pr.body).toContain('- [x] **VAL-003** `node cli.js hello Ada --shout` prints `HELLO, ADA!` — _F3_');
    expect(pr.body).toMatch(/Closes #1$/);
    const opened = app.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pulls')).map((r) => r.body);
    expect(opened).toHaveLength(1);
    expect(opened[0].body).toContain('| ✅ | **F1** hello command | M1 |');
    expect(opened[0].body).toContain('| ⏳ | **F3** shout flag | M2 |');

    // The mission comment is the status board, edited in place: still one comment, plus the approval reply.
    const board = await waitFor(() => thread.missionComment()!.body.includes('**Status:** ✅ done') && thread.missionComment()!.body, 'the board to show the mission done');
    expect(board).toContain('- [x] **VAL-001**');
    expect(board).toContain(`Pull request: [#${PR_NUMBER}](https://github.com/Codertocat/Hello-World/pull/${PR_NUMBER}) ·`);
    expect(board).toContain(`| ✅ | **F2** tests for hello | M1 | ${commits[1]!.sha.slice(0, 7)} |`);
    expect(thread.comments.filter((c) => c.user.type === 'Bot')).toHaveLength(2);

    // Workers had the repository tools; every role's usage is on the mission.
    const workerRequest = app.model.requests[1]!;
    expect(workerRequest.tools!.map((t) => t.name).sort()).toEqual(['bash', 'edit', 'glob', 'grep', 'read', 'submit_handoff', 'write']);
    expect((await app.store.costByRole(1)).map((c) => c.role)).toEqual(['planner', 'scrutiny', 'user-testing', 'worker']);
    // One review and two check runs per milestone, on the milestone's commit.
    expect(thread.reviews.map((r) => [r.commit_id, r.event])).toEqual([[commits[1]!.sha, 'COMMENT'], [commits[2]!.sha, 'COMMENT']]);
    expect(thread.checkRuns.map((c) => [c.name, c.head_sha, c.conclusion])).toEqual([
      ['Missions: scrutiny', commits[1]!.sha, 'success'],
      ['Missions: contract', commits[1]!.sha, 'success'],
      ['Missions: scrutiny', commits[2]!.sha, 'success'],
      ['Missions: contract', commits[2]!.sha, 'success'],
    ]);
    const summary = pr.comments.find((c) => c.body.includes('Mission done'))!.body;
    expect(summary).toContain('Every assertion of the contract passed');
    expect(summary).toContain(`${commits[2]!.sha.slice(0, 7)} **F3** shout flag`);
    expect(summary).toMatch(/\| worker \| `claude-sonnet-5-5` \| [\d,]+ \/ [\d,]+ \/ [\d,]+ \/ [\d,]+ \| \$\d+\.\d\d \|/);
    const features = await app.store.features(1);
    expect(features.map((f) => [f.id, f.state, f.commit_sha, f.attempts])).toEqual(commits.map((c, i) => [`F${i + 1}`, 'committed', c.sha, 1]));
  });
});
