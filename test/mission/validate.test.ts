// Validation: a two-milestone mission whose first worker plants a bug. The user-testing validator
// fails the assertion it breaks, scrutiny comments on the line, triage adds a fix feature, the re-run
// passes, the second milestone passes, and the pull request ends ready with every line ticked.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { pushedCommits } from '../helpers/git.ts';
import { firstFeatures, stackPlan } from '../helpers/plans.ts';
import { approvePlan, commentOnPullRequest, missionReaches, startMission } from '../helpers/scenario.ts';
import { approveTurn, buildsFeature, passingValidation, taskOf, toolTurn, validatorTurns, verdictsTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const buggy = 'const name = process.argv[3];\nconsole.log(`Hello, ${name}`);\n';
const fixed = 'const name = process.argv[3];\nconsole.log(`Hello, ${name}!`);\n';

describe('validation', () => {
  it('catches a planted bug, fixes it in a new feature, and finishes with every assertion ticked', async () => {
    const origin = bareRepository({ 'cli.js': '', 'README.md': '# greeter\n' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: stackPlan }),
        ...buildsFeature('F1', { 'cli.js': buggy }, 'Added hello (it prints the greeting).'),
        ...buildsFeature('F2', { 'test.js': 'require("assert").ok(true);\n' }),
        // Milestone M1, round 1.
        ...validatorTurns({
          'user-testing': [
            (request) => {
              // A fresh context on the milestone's commit, told only the milestone's assertions.
              expect(request.messages).toHaveLength(1);
              expect(taskOf(request)).toContain('**VAL-001**');
              expect(taskOf(request)).not.toContain('**VAL-003**');
              return toolTurn({ name: 'bash', input: { command: 'node cli.js hello Ada' } });
            },
            (request) => {
              expect(JSON.stringify(request.messages.at(-1)!.content)).toContain('Hello, Ada');
              return verdictsTurn([
                { assertion_id: 'VAL-001', status: 'fail', evidence: '`node cli.js hello Ada` printed `Hello, Ada` (no `!`).' },
                { assertion_id: 'VAL-002', status: 'pass', evidence: '`node test.js` exited 0', command: 'node test.js' },
              ]);
            },
          ],
          scrutiny: [
            (request) => {
              expect(taskOf(request)).toContain('+console.log(`Hello, ${name}`);');
              return toolTurn({
                name: 'submit_review',
                input: {
                  verdict: 'request_changes',
                  summary: 'Ran `node test.js`: exit 0. The greeting lacks its `!`.',
                  findings: [
                    { severity: 'blocker', path: 'cli.js', line: 2, title: 'Greeting lacks "!"', detail: 'Prints `Hello, Ada`; VAL-001 wants `Hello, Ada!`.' },
                    { severity: 'minor', path: 'README.md', line: 1, title: 'README does not mention hello', detail: 'Document the command.' },
                  ],
                },
              });
            },
          ],
        }),
        (request) => {
          // Triage sees the failure and the findings.
          expect(taskOf(request)).toContain('Not passed: VAL-001.');
          expect(taskOf(request)).toContain('Greeting lacks "!"');
          return toolTurn({
            name: 'submit_triage',
            input: {
              decision: 'fix',
              rationale: 'VAL-001 fails: the greeting has no "!". The README note is minor and can wait.',
              fix_features: [
                { title: 'Add the missing "!" to the greeting', description: 'cli.js prints `Hello, <name>` without `!`; print `Hello, <name>!`.', assertion_ids: ['VAL-001'], addresses: ['VAL-001', 'S1'] },
              ],
              dispositions: [
                { item: 'VAL-001', action: 'fix', reason: 'the greeting lacks "!"' },
                { item: 'S1', action: 'fix', reason: 'same cause as VAL-001' },
                { item: 'S2', action: 'defer', reason: 'The README is not part of the contract; documenting hello belongs with the release notes.' },
              ],
            },
          });
        },
        (request) => {
          expect(taskOf(request)).toContain('# Your feature: F4 Add the missing "!" to the greeting (milestone M1)');
          return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: fixed } });
        },
        toolTurn({ name: 'submit_handoff', input: { status: 'complete', summary: 'Added the "!".', commands_run: [], left_undone: [], issues_found: [] } }),
        // Milestone M1, round 2: passes that the app replays.
        ...validatorTurns({
          'user-testing': [
            verdictsTurn([
              { assertion_id: 'VAL-001', status: 'pass', evidence: 'prints Hello, Ada!', command: "node cli.js hello Ada | grep -qx 'Hello, Ada!'" },
              { assertion_id: 'VAL-002', status: 'pass', command: 'node test.js' },
            ]),
          ],
          scrutiny: [approveTurn()],
        }),
        ...buildsFeature('F3', { 'shout.js': 'module.exports = (s) => s.toUpperCase();\n' }),
        ...passingValidation('VAL-003'),
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);
    await missionReaches(app, 'done');

    // The stack: the fix feature went right after milestone M1's features.
    const commits = pushedCommits(origin, BRANCH);
    expect(commits.map((c) => c.message.split('\n')[0])).toEqual([
      'feat(F1): hello command',
      'feat(F2): tests for hello',
      'feat(F4): Add the missing "!" to the greeting',
      'feat(F3): shout flag',
    ]);
    expect(commits[2]!.message).toContain('Mission-Assertions: VAL-001');

    // Round 1: one COMMENT review on the milestone commit, verdict first; the line in the diff is
    // commented inline, the README finding (outside the diff) is in the body; no request failed.
    const [first, second, third] = thread.reviews;
    expect(first!.commit_id).toBe(commits[1]!.sha);
    expect(first!.body).toMatch(/^<!-- missions:review mission=1 milestone=M1 round=1 -->\n❌ \*\*Scrutiny: changes requested\*\* — milestone M1, validation round 1/);
    expect(first!.comments).toEqual([{ path: 'cli.js', line: 2, side: 'RIGHT', body: expect.stringContaining('Greeting lacks "!"') }]);
    expect(first!.body).toContain('#### Findings outside the diff');
    expect(first!.body).toContain('`README.md:1`');
    expect(first!.body).toContain('| **VAL-001** `node cli.js hello Ada` prints `Hello, Ada!` | ❌ fail |');
    expect(first!.body).toContain('**Triage: fix.**');
    expect(first!.body).toContain('Fix features: F4.');
    expect(second!.commit_id).toBe(commits[2]!.sha);
    expect(second!.body).toContain('\n✅ **Scrutiny: approve** — milestone M1, validation round 2');
    expect(third!.commit_id).toBe(commits[3]!.sha);
    expect(app.github.requests.filter((r) => r.path.endsWith('/reviews'))).toHaveLength(3);

    // Check runs on each milestone commit; the failing ones annotate the faulted line.
    const runs = thread.checkRuns.map((c) => [c.name, c.head_sha.slice(0, 7), c.conclusion]);
    expect(runs).toEqual([
      ['Missions: scrutiny', commits[1]!.sha.slice(0, 7), 'failure'],
      ['Missions: contract', commits[1]!.sha.slice(0, 7), 'failure'],
      ['Missions: scrutiny', commits[2]!.sha.slice(0, 7), 'success'],
      ['Missions: contract', commits[2]!.sha.slice(0, 7), 'success'],
      ['Missions: scrutiny', commits[3]!.sha.slice(0, 7), 'success'],
      ['Missions: contract', commits[3]!.sha.slice(0, 7), 'success'],
    ]);
    expect(thread.checkRuns[0]!.output.annotations).toEqual([
      expect.objectContaining({ path: 'cli.js', start_line: 2, annotation_level: 'failure', title: 'Greeting lacks "!"' }),
      expect.objectContaining({ path: 'README.md', start_line: 1, annotation_level: 'notice' }),
    ]);
    expect(thread.checkRuns[1]!.output.title).toBe('Milestone M1: VAL-001 not passed');

    // The replayed pass is the evidence shown.
    const verdicts = await app.store.latestVerdicts(1);
    expect(verdicts.get('VAL-001')!.evidence).toContain("`node cli.js hello Ada | grep -qx 'Hello, Ada!'` exited 0 when the app replayed it on a clean checkout");

    // Done: ready for review, every line ticked on the PR and the board, a summary with the fix.
    const pr = thread.pulls[0]!;
    expect(pr.draft).toBe(false);
    await waitFor(() => thread.missionComment()!.body.includes('✅ done'), 'the board to show the mission done');
    for (const body of [pr.body, thread.missionComment()!.body]) {
      expect(body.match(/- \[x\] \*\*VAL-00\d\*\*/g)).toHaveLength(3);
      expect(body).not.toContain('- [ ]');
    }
    expect(thread.missionComment()!.body).toContain('| ✅ | **F4** Add the missing "!" to the greeting | M1 |');
    const summary = pr.comments.find((c) => c.body.includes('Mission done'))!.body;
    expect(summary).toContain(`${commits[2]!.sha.slice(0, 7)} **F4** Add the missing "!" to the greeting _(fix)_`);
    expect(summary).toContain('Validation rounds: 3.');
    expect(summary).toMatch(/\| triage \| `claude-opus-5-5` \| [\d,]+ \/ [\d,]+ \/ [\d,]+ \/ [\d,]+ \| \$\d+\.\d\d \|/);
    // Every item of the round, with what became of it.
    expect(summary).toContain('| S2 | (minor) `README.md:1` README does not mention hello | ⏭️ deferred: The README is not part of the contract;');
  });

  it('takes /fix on the pull request after completion: a fix feature, built and validated again', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [toolTurn({ name: 'submit_plan', input: firstFeatures(1) }), ...buildsFeature('F1', { 'cli.js': fixed }), ...passingValidation('VAL-001')],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);
    await missionReaches(app, 'done');

    app.model.enqueue(
      (request) => {
        expect(taskOf(request)).toContain('# Your feature: F2 print a newline after the greeting');
        expect(taskOf(request)).toContain('Also handle a missing name.');
        return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: fixed.replace('!`', '!\\n`') } });
      },
      toolTurn({ name: 'submit_handoff', input: { status: 'complete', summary: 'Newline added.', commands_run: [], left_undone: [], issues_found: [] } }),
      ...passingValidation('VAL-001'),
    );
    await commentOnPullRequest(scenario, '/fix', 'maintainer');
    await commentOnPullRequest(scenario, '/fix print a newline after the greeting\nAlso handle a missing name.', 'reader');
    await commentOnPullRequest(scenario, '/fix print a newline after the greeting\nAlso handle a missing name.');
    const pr = thread.pulls[0]!;
    await waitFor(() => pr.comments.filter((c) => c.body.includes('Mission done')).length === 2, 'the mission to be done again');
    expect(pr.comments.map((c) => c.body).filter((b) => !b.includes('Mission done'))).toEqual([
      expect.stringContaining('@maintainer `/fix` needs a description of what to fix'),
      expect.stringContaining('@reader `/fix` needs write access'),
      expect.stringContaining('@maintainer added fix feature **F2**. It is built next'),
    ]);
    expect(pushedCommits(origin, BRANCH).map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command', 'feat(F2): print a newline after the greeting']);
    expect(thread.reviews).toHaveLength(2);
    // The summary is posted just before the mission is marked done.
    await missionReaches(app, 'done');
    // Back to draft while the fix was built and validated, then ready again.
    expect(thread.draftChanges).toEqual(['ready', 'draft', 'ready']);
    expect(pr.draft).toBe(false);
  });

  it('shows a round whose step died after posting its review but before recording it, without posting the review twice', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [toolTurn({ name: 'submit_plan', input: firstFeatures(1) }), ...buildsFeature('F1', { 'cli.js': fixed }), ...passingValidation('VAL-001')],
    });
    app = scenario.app;
    const { thread } = scenario;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(thread.reviews).toHaveLength(1);
    // The store as the step left it: the round recorded, its review and check runs posted, but not
    // the review's id; the mission building.
    await app.db.query('UPDATE validation_runs SET review_id = NULL WHERE mission_id = 1');
    await app.db.query(`UPDATE missions SET state = 'building' WHERE id = 1`);
    const requests = app.model.requests.length;
    await app.queue.requestStep({ missionId: 1 });
    await missionReaches(app, 'done');
    expect(thread.reviews.map((r) => r.body.split('\n')[1])).toEqual(['✅ **Scrutiny: approve** — milestone M1, validation round 1']);
    expect(app.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/reviews'))).toHaveLength(1);
    expect(thread.checkRuns.map((c) => c.name)).toEqual(['Missions: scrutiny', 'Missions: contract']);
    // Finished once more, but the summary for these rounds was already there.
    expect(thread.pulls[0]!.comments.filter((c) => c.body.includes('Mission done'))).toHaveLength(1);
    // Shown from the store: no validator ran again.
    expect(app.model.requests.length).toBe(requests);
  });
});
