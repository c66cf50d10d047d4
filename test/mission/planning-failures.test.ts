// What a maintainer sees when the model misbehaves or is down: corrections, retries, clear errors.
import { afterEach, describe, expect, it } from 'vitest';
import { bareRepository, commentPayload, createTestApp, labeledPayload, waitFor, type TestApp } from '../helpers/harness.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import { greetingPlan } from '../helpers/plans.ts';

let app: TestApp;
afterEach(async () => {
  expect(app.github.violations).toEqual([]);
  expect(app.unmatched).toEqual([]);
  await app.close();
});

const overloaded = { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' }, retryAfterMs: 5 };
const submit = (plan: unknown) => ({ content: [{ type: 'tool_use' as const, name: 'submit_plan', input: plan }] });
const until = (state: string) =>
  waitFor(async () => {
    const m = await app.store.get(1);
    return m.state === state && m;
  }, `mission ${state}`);

describe('planning failures', () => {
  it('sends an invalid submit_plan back as a tool error, and takes the corrected plan', async () => {
    const invalid = { ...greetingPlan, features: [{ ...greetingPlan.features[0]!, assertion_ids: ['VAL-001', 'VAL-009'] }, greetingPlan.features[1]!] };
    app = await createTestApp({
      turns: [
        submit(invalid),
        (request) => {
          const result = (request.messages.at(-1)!.content as any[]).find((b) => b.type === 'tool_result');
          expect(result.is_error).toBe(true);
          expect(JSON.stringify(result.content)).toContain('F1 claims VAL-009, which is not in assertions');
          expect(JSON.stringify(result.content)).toContain('VAL-002 is claimed by no feature');
          return submit(greetingPlan);
        },
      ],
    });
    const thread = new IssueThread(app.github, { cloneUrl: bareRepository({ 'cli.js': '' }) });
    await app.receive('issues', labeledPayload());
    await until('awaiting_approval');
    await waitFor(() => thread.missionComment()!.body.includes('**VAL-002**'), 'the plan');
    expect(app.model.requests).toHaveLength(2);
  });

  it('retries an overloaded model API and goes on when it answers', async () => {
    app = await createTestApp({ turns: [overloaded, overloaded, submit(greetingPlan)] });
    const thread = new IssueThread(app.github, { cloneUrl: bareRepository({ 'cli.js': '' }) });
    await app.receive('issues', labeledPayload());
    await until('awaiting_approval');
    await waitFor(() => thread.missionComment()!.body.includes('Mission plan'), 'the plan');
    expect(app.model.requests).toHaveLength(3);
  });

  it('says so in the mission comment when the model API stays down, and /retry plans again', async () => {
    app = await createTestApp({ turns: [overloaded, overloaded, overloaded] });
    const thread = new IssueThread(app.github, { cloneUrl: bareRepository({ 'cli.js': '' }) });
    await app.receive('issues', labeledPayload());
    await until('failed');
    await waitFor(() => thread.missionComment()!.body.includes('[!WARNING]'), 'the failure banner');
    expect(thread.missionComment()!.body).toContain('The model API failed with 529 (overloaded_error), even after retries.');
    expect(thread.missionComment()!.body).toContain('Reply `/retry` (or add a comment) to try again.');

    app.model.enqueue(submit(greetingPlan));
    const c = thread.add('/retry');
    await app.receive('issue_comment', commentPayload('/retry', { id: c.id }));
    await until('awaiting_approval');
    await waitFor(() => thread.missionComment()!.body.includes('**Revision 1**'), 'the plan after retry');
    expect(thread.missionComment()!.body).not.toContain('[!WARNING]');
  });

  it('reports a plan the model cannot make valid within its turns', async () => {
    const invalid = { ...greetingPlan, features: [] };
    app = await createTestApp({ turns: [submit(invalid), submit(invalid), submit(invalid)], plannerTurns: 3 });
    const thread = new IssueThread(app.github, { cloneUrl: bareRepository({ 'cli.js': '' }) });
    await app.receive('issues', labeledPayload());
    await until('failed');
    await waitFor(() => thread.missionComment()!.body.includes('[!WARNING]'), 'the failure banner');
    expect(thread.missionComment()!.body).toContain('The planner could not produce a valid plan: the planner used all 3 turns without a valid submit_plan or ask_questions.');
  });

  it('reports a repository that cannot be cloned, without the token', async () => {
    app = await createTestApp({ turns: [] });
    const thread = new IssueThread(app.github, { cloneUrl: '/nonexistent/origin.git' });
    await app.receive('issues', labeledPayload());
    await until('failed');
    await waitFor(() => thread.missionComment()!.body.includes('[!WARNING]'), 'the failure banner');
    const body = thread.missionComment()!.body;
    expect(body).toContain('The repository could not be cloned: could not clone /nonexistent/origin.git');
    expect(body).not.toContain('ghs_');
  });
});
