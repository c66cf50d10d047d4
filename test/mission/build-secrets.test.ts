// What a worker leaves in the checkout cannot make the app run anything or commit a secret: the app
// rewrites the checkout's git config before committing (no hooks, no filters), and refuses a change
// that holds one of its secrets.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { branchExists, pushedCommits } from '../helpers/git.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission, type Scenario } from '../helpers/scenario.ts';
import { approveTurn, handoffTurn, passingValidation, toolTurn, validatorTurns, verdictsTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const oneFeature = firstFeatures(1);

async function approve(scenario: Scenario) {
  app = scenario.app;
  await approvePlan(scenario);
}

describe('what a worker leaves behind', () => {
  it('cannot make the app run a git hook, filter or fsmonitor when it commits', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'missions-outside-'));
    const hookMarker = join(outside, 'hook-ran');
    const filterMarker = join(outside, 'filter-ran');
    const monitorMarker = join(outside, 'fsmonitor-ran');
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: oneFeature }),
        toolTurn({
          name: 'bash',
          input: {
            command: [
              `printf '#!/bin/sh\\ntouch ${hookMarker}\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit`,
              `git config core.hooksPath .git/hooks`,
              `git config filter.evil.clean 'touch ${filterMarker}; cat'`,
              `echo '* filter=evil' > .gitattributes`,
              // A commondir makes git read its config from elsewhere, past any rewrite of .git/config.
              `printf '#!/bin/sh\\ntouch ${monitorMarker}\\n' > monitor.sh && chmod +x monitor.sh`,
              `mkdir -p .git/evil && printf '[core]\\n\\tfsmonitor = %s/monitor.sh\\n' "$PWD" > .git/evil/config && echo evil > .git/commondir`,
              `echo 'console.log(1)' > cli.js`,
            ].join(' && '),
          },
        }),
        handoffTurn('Changed cli.js.'),
        ...passingValidation('VAL-001'),
      ],
    });
    await approve(scenario);
    await missionReaches(app, 'done');
    expect(pushedCommits(origin, BRANCH).map((c) => c.files)).toEqual([['.gitattributes', 'cli.js', 'monitor.sh']]);
    expect(existsSync(hookMarker)).toBe(false);
    expect(existsSync(filterMarker)).toBe(false);
    expect(existsSync(monitorMarker)).toBe(false);
  });

  it('refuses to commit a change that holds one of the app’s secrets', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: oneFeature }),
        // The installation token of the moment, however the model came by it.
        toolTurn({ name: 'write', input: { file_path: 'leak.txt', content: 'token=ghs_installation_token_for_tests\n' } }),
        handoffTurn('Wrote leak.txt.'),
      ],
    });
    const { thread } = scenario;
    await approve(scenario);
    const failed = await missionReaches(app, 'failed');
    expect(failed.error).toContain("the feature's changes contain one of the app's secrets; nothing was committed or pushed");
    expect(branchExists(origin, BRANCH)).toBe(false);
    const board = await waitFor(() => thread.missionComment()!.body.includes('⚠️ stopped') && thread.missionComment()!.body, 'the board to show the stop');
    expect(board).not.toContain('ghs_installation_token_for_tests');
    expect(board).toContain('`/retry` goes on');
  });

  it('never puts a linked file’s target in a prompt: AGENTS.md and skills are read only as regular files', async () => {
    // A file outside the repository holding a secret, as /proc/self/environ or a key file would.
    const secretFile = join(mkdtempSync(join(tmpdir(), 'missions-secret-')), 'environ');
    writeFileSync(secretFile, 'WEBHOOK_SECRET=whsec-linked-file-never-in-a-prompt\n');
    {
      const origin = bareRepository({
        'cli.js': '',
        'AGENTS.md': { symlink: secretFile },
        '.github/missions/skills/worker.md': { symlink: secretFile },
        '.github/missions/skills/planner.md': { symlink: secretFile },
        '.github/missions/skills/style.md': 'Use tabs.\n',
      });
      const scenario = await startMission({
        repo: { cloneUrl: origin },
        turns: [
          (request) => {
            expect(JSON.stringify(request)).not.toContain('whsec-linked-file-never-in-a-prompt');
            return toolTurn({ name: 'submit_plan', input: oneFeature });
          },
          (request) => {
            expect(JSON.stringify(request)).not.toContain('whsec-linked-file-never-in-a-prompt');
            // The app's own worker skill, plus the repository's regular extra skill.
            expect(JSON.stringify(request.system)).toContain('You build **one feature**');
            expect(JSON.stringify(request.system)).toContain('Use tabs.');
            return handoffTurn('Nothing to do.');
          },
          ...validatorTurns({
            scrutiny: [(request) => (expect(JSON.stringify(request)).not.toContain('whsec-linked-file-never-in-a-prompt'), approveTurn())],
            'user-testing': [(request) => (expect(JSON.stringify(request)).not.toContain('whsec-linked-file-never-in-a-prompt'), verdictsTurn([{ assertion_id: 'VAL-001', status: 'pass' }]))],
          }),
        ],
      });
      await approve(scenario);
      await missionReaches(app, 'done');
    }
  });
});
