import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, createTestApp, labeledPayload, type TestApp, waitFor } from '../helpers/harness.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import { greetingPlan } from '../helpers/plans.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

describe('label → plan', () => {
  it('turns a real issues.labeled payload into the rendered contract comment', async () => {
    const cloneUrl = bareRepository({ 'cli.js': 'console.log("hi")\n', 'AGENTS.md': 'Run `npm test` before committing.\n' });
    app = await createTestApp({
      turns: [
        { content: [{ type: 'text', text: 'Looking around.' }, { type: 'tool_use', name: 'glob', input: { pattern: '**/*.js' } }] },
        (request) => {
          // The glob ran in the checkout of the repository.
          const result = JSON.stringify(request.messages.at(-1)!.content);
          expect(result).toContain('cli.js');
          return { content: [{ type: 'tool_use', name: 'read', input: { file_path: 'cli.js' } }] };
        },
        { content: [{ type: 'tool_use', name: 'submit_plan', input: greetingPlan }] },
      ],
    });
    const thread = new IssueThread(app.github, { cloneUrl });

    await app.receive('issues', labeledPayload());

    const comment = await waitFor(() => thread.missionComment()?.body.includes('Mission plan') && thread.missionComment(), 'the plan');
    expect(thread.reactions).toEqual(['eyes']);
    expect(thread.comments).toHaveLength(1);
    expect(comment && comment.body).toBe(
      [
        '<!-- missions:mission-comment mission=1 revision=1 -->',
        '## Mission plan: Greeting command',
        '',
        '**Revision 1** — first plan: 2 features, 3 assertions',
        '',
        'Add a `hello <name>` command to the CLI, with a friendly error when the name is missing.',
        '',
        '### Features',
        '',
        '**Milestone M1**',
        '',
        '- **F1** hello command _(VAL-001, VAL-002)_',
        '  Parse `hello <name>` in cli.js and print the greeting.',
        '- **F2** tests for hello _(VAL-003)_',
        '  Add tests under test/ for both cases.',
        '',
        '### Validation contract',
        '',
        '- [ ] **VAL-001** `node cli.js hello Ada` prints `Hello, Ada!` and exits 0 — _F1_',
        '- [ ] **VAL-002** `node cli.js hello` without a name exits 2 with a usage message on stderr — _F1_',
        '- [ ] **VAL-003** `npm test` passes with tests for both cases — _F2_',
        '',
        'Reply `/approve` to start, or reply with what should change.',
      ].join('\n'),
    );
    const mission = await waitFor(async () => {
      const m = await app.store.get(1);
      return m.rendered_revision === 1 && m;
    }, 'the revision to be recorded as shown');
    expect(mission.state).toBe('awaiting_approval');
    // The planner saw AGENTS.md and the issue; its skill is in the cached system prompt.
    const first = app.model.requests[0]!;
    expect(JSON.stringify(first.messages[0])).toContain('Run `npm test` before committing.');
    expect(JSON.stringify(first.system)).toContain('validation contract');
    expect(first.tools!.map((t) => t.name).sort()).toEqual(['ask_questions', 'glob', 'grep', 'read', 'submit_plan']);
    // Usage per turn, with cache reads after the first turn.
    const [usage] = await app.store.costByRole(1);
    expect(usage!.role).toBe('planner');
    expect(usage!.cache_read_tokens).toBeGreaterThan(0);
    expect(usage!.usd).toBeGreaterThan(0);
    const transcripts = await app.db.query<{ outcome: string }>('SELECT outcome FROM transcripts WHERE mission_id = 1');
    expect(transcripts.map((t) => t.outcome)).toEqual(['finished:submit_plan']);
  });
});
