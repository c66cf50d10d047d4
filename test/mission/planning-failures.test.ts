// What a maintainer sees when the model misbehaves or is down: corrections, retries, clear errors.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, expectCleanEdges } from '../helpers/harness.ts';
import { greetingPlan } from '../helpers/plans.ts';
import { commentOn, missionReaches, startMission, type Scenario } from '../helpers/scenario.ts';

let s: Scenario;
afterEach(async () => {
  expectCleanEdges(s.app);
  await s.app.close();
});

const overloaded = { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' }, retryAfterMs: 5 };
const submit = (plan: unknown) => ({ content: [{ type: 'tool_use' as const, name: 'submit_plan', input: plan }] });
const banner = () => waitFor(() => s.thread.missionComment()!.body.includes('[!WARNING]') && s.thread.missionComment()!.body, 'the failure banner');

describe('planning failures', () => {
  it('sends an invalid submit_plan back as a tool error, and takes the corrected plan', async () => {
    const invalid = { ...greetingPlan, features: [{ ...greetingPlan.features[0]!, assertion_ids: ['VAL-001', 'VAL-009'] }, greetingPlan.features[1]!] };
    s = await startMission({
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
    await missionReaches(s.app, 'awaiting_approval');
    await waitFor(() => s.thread.missionComment()!.body.includes('**VAL-002**'), 'the plan');
    expect(s.app.model.requests).toHaveLength(2);
  });

  it('retries an overloaded model API and goes on when it answers', async () => {
    s = await startMission({ turns: [overloaded, overloaded, submit(greetingPlan)] });
    await missionReaches(s.app, 'awaiting_approval');
    await waitFor(() => s.thread.missionComment()!.body.includes('Mission plan'), 'the plan');
    expect(s.app.model.requests).toHaveLength(3);
  });

  it('says so in the mission comment when the model API stays down, and /retry plans again', async () => {
    s = await startMission({ turns: [overloaded, overloaded, overloaded] });
    await missionReaches(s.app, 'failed');
    const body = await banner();
    expect(body).toContain('The model API failed for the planner on `claude-opus-5-5` (529 overloaded_error: `Overloaded`), even after retries.');
    expect(body).toContain('Reply `/retry` (or add a comment) to try again.');

    s.app.model.enqueue(submit(greetingPlan));
    await commentOn(s, '/retry');
    await missionReaches(s.app, 'awaiting_approval');
    await waitFor(() => s.thread.missionComment()!.body.includes('**Revision 1**'), 'the plan after retry');
    expect(s.thread.missionComment()!.body).not.toContain('[!WARNING]');
  });

  it('reports a plan the model cannot make valid within its turns', async () => {
    const invalid = { ...greetingPlan, features: [] };
    s = await startMission({ turns: [submit(invalid), submit(invalid), submit(invalid)], plannerTurns: 3 });
    await missionReaches(s.app, 'failed');
    expect(await banner()).toContain(
      'The planner could not produce a valid plan: it used all 3 turns without a valid submit_plan or ask_questions. If the work needs more turns, raise `MISSIONS_PLANNER_TURNS` where the app runs.',
    );
  });

  it('keeps the API’s own words for a mistyped model id and names the key that fixes it', async () => {
    s = await startMission({ turns: [], repo: { config: 'models:\n  orchestrator: claude-opus-5.5\n' } });
    await missionReaches(s.app, 'failed');
    expect(await banner()).toContain(
      'The model `claude-opus-5.5` of the planner was not found (404 not_found_error: `model: claude-opus-5.5`). Check `models.orchestrator` in `.github/missions.yml`.',
    );
    // Not found is not retried.
    expect(s.app.model.requests).toHaveLength(1);
  });

  it('reports a repository that cannot be cloned, without the token', async () => {
    s = await startMission({ turns: [], repo: { cloneUrl: '/nonexistent/origin.git' } });
    await missionReaches(s.app, 'failed');
    const body = await banner();
    expect(body).toContain('The repository could not be read: could not clone /nonexistent/origin.git');
    expect(body).not.toContain('ghs_');
  });
});
