// Attack 10 of issue 9, the partial ones: a model stream cut in the middle of a reply once failed
// planning outright (the SDK retries a request that never started; a turn that broke halfway is now
// asked again from the history before it), and a 502 on push threw away a committed feature.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp } from '../helpers/harness.ts';
import { pushedCommits } from '../helpers/git.ts';
import { serveGitHttp } from '../helpers/git-http.ts';
import { firstFeatures, greetingPlan } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission } from '../helpers/scenario.ts';
import { buildsFeature, passingValidation, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

describe('outages', () => {
  it('asks a turn again when its stream is cut mid-reply, and plans', async () => {
    const scenario = await startMission({
      turns: [
        { cut: true },
        (request) => {
          // The same conversation as before the cut: nothing of the broken reply is in it.
          expect(request.messages).toHaveLength(1);
          return toolTurn({ name: 'submit_plan', input: greetingPlan });
        },
      ],
    });
    app = scenario.app;
    await missionReaches(app, 'awaiting_approval', 1);
    expect(app.model.requests).toHaveLength(2);
    expect(scenario.thread.missionComment()!.body).toContain('## Mission plan');
  });
});

describe('a push GitHub answers with 502', () => {
  it('is pushed again, and the committed feature is not thrown away', async () => {
    const git = await serveGitHttp({ failPushes: 2 });
    const origin = bareRepository({ 'cli.js': '' });
    try {
      const scenario = await startMission({
        repo: { cloneUrl: git.urlOf(origin), gitDir: origin },
        turns: [
          toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
          ...buildsFeature('F1', { 'cli.js': 'console.log("Hello, Ada!");\n' }),
          ...passingValidation('VAL-001'),
        ],
      });
      app = scenario.app;
      await approvePlan(scenario);
      await missionReaches(app, 'done');
      expect(git.refusedPushes).toBe(2);
      expect(pushedCommits(origin, 'missions/1-greeting-command').map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command']);
      // One worker run: nothing was built twice.
      expect((await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM transcripts WHERE role = 'worker'`))[0]!.n).toBe(1);
    } finally {
      await git.close();
    }
  });
});
