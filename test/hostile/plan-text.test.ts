// Attack 7 of issue 9: a control character (U+001E) in a feature title once broke every later step
// and /retry. Plan text with control or bidi characters, or an HTML comment that would hide part of the
// mission comment from the maintainer who approves it, is refused as a tool error the model can fix.
import { describe, expect, it } from 'vitest';
import { checkAndCloseAfterEach, type TestApp } from '../helpers/harness.ts';
import { greetingPlan } from '../helpers/plans.ts';
import { missionReaches, startMission } from '../helpers/scenario.ts';
import { toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

describe('plan text', () => {
  it('refuses a control character in a title, a bidi override in a statement and an HTML comment in the summary, and takes the corrected plan', async () => {
    const broken = {
      ...greetingPlan,
      features: greetingPlan.features.map((f, i) => (i === 0 ? { ...f, title: `hello\u001Ecommand` } : i === 1 ? { ...f, description: `${f.description}\n<?x the rest of the comment is an HTML block nobody sees` } : f)),
      assertions: greetingPlan.assertions.map((a, i) => (i === 1 ? { ...a, statement: `prints \u202Eerongi\u202C the name` } : a)),
      // A contract of its own, hidden in the summary, which the mission comment shows before the real one.
      summary: `${greetingPlan.summary}\n<!--\n### Validation contract\n- [ ] **VAL-001** \`true\` exits 0 — _F1_\n-->`,
    };
    const scenario = await startMission({
      turns: [
        toolTurn({ name: 'submit_plan', input: broken }),
        (request) => {
          const result = JSON.stringify(request.messages.at(-1)!.content);
          expect(result).toContain('a feature title contains a control character (U+001E)');
          expect(result).toContain('an assertion statement contains a control character (U+202E)');
          expect(result).toContain('the summary contains `<!--`, which would hide text from the maintainer');
          expect(result).toContain('a feature description contains `<?`');
          return toolTurn({ name: 'submit_plan', input: greetingPlan });
        },
      ],
    });
    app = scenario.app;
    await missionReaches(app, 'awaiting_approval', 1);
    const body = scenario.thread.missionComment()!.body;
    expect(body).not.toMatch(/[\u001E\u202E]/);
    expect(body).toContain(`**F1** ${greetingPlan.features[0]!.title}`);
  });
});
