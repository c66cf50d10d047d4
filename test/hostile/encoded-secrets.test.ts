// Attack 6 of issue 9: the installation token, encoded so that a plain search misses it, in a file or
// in the commit message a worker's handoff becomes. Every form is refused with a clear stop, and
// nothing is committed or pushed.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp } from '../helpers/harness.ts';
import { branchExists } from '../helpers/git.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission } from '../helpers/scenario.ts';
import { handoffTurn, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
/** The installation token the test GitHub hands out (test/helpers/github.ts). */
const TOKEN = 'ghs_installation_token_for_tests';

const encodings: Record<string, { file?: string; summary?: string }> = {
  'base64 in a file': { file: `x=${Buffer.from(`token: ${TOKEN}\n`).toString('base64')}\n` },
  'hex in a file': { file: Buffer.from(TOKEN).toString('hex').toUpperCase() },
  'URL-encoded in a file': { file: [...Buffer.from(TOKEN)].map((b) => `%${b.toString(16)}`).join('') },
  'split across lines in a file': { file: `const a = "${TOKEN.slice(0, 12)}" +\n  "${TOKEN.slice(12)}";\n` },
  'spaced out in the commit message': { summary: `Done. ${TOKEN.split('').join(' ')}` },
  'base64 in the commit message': { summary: `Done.\n${Buffer.from(TOKEN).toString('base64')}` },
};

describe('encoded secrets', () => {
  it.each(Object.entries(encodings))('refuses the token %s', async (_, leak) => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'write', input: { file_path: 'cli.js', content: leak.file ?? 'console.log(1);\n' } }),
        handoffTurn(leak.summary ?? 'Done.'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    const failed = await missionReaches(app, 'failed');
    expect(failed.error).toContain("the feature's changes contain one of the app's secrets; nothing was committed or pushed");
    expect(branchExists(origin, BRANCH)).toBe(false);
  });
});
