// Attack 5 of issue 9: a git repository a worker leaves inside the checkout (a clone, a `git init`)
// was pushed as a bare gitlink, and its files vanished from the branch. They are committed as files.
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp } from '../helpers/harness.ts';
import { git, pushedCommits } from '../helpers/git.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission } from '../helpers/scenario.ts';
import { handoffTurn, passingValidation, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const commitIn = (dir: string) => `(cd ${dir} && git init -q && git add -A && git -c user.name=w -c user.email=w@example.com commit -qm vendored)`;

describe('nested repositories', () => {
  it('commits the files of repositories the worker left in the checkout, committed or not, nested or not', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({
          name: 'bash',
          input: {
            command: [
              'mkdir -p vendor/lib/inner draft',
              'echo "module.exports = 1;" > vendor/lib/index.js',
              'echo "module.exports = 2;" > vendor/lib/inner/deep.js',
              commitIn('vendor/lib/inner'),
              commitIn('vendor/lib'),
              // A repository with no commit at all: `git add` used to fail on it outright.
              '(cd draft && git init -q && echo "notes" > notes.md)',
              'echo "console.log(1);" > cli.js',
            ].join(' && '),
          },
        }),
        handoffTurn('Vendored the library.'),
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    const [commit] = pushedCommits(origin, BRANCH);
    expect(commit!.files.sort()).toEqual(['cli.js', 'draft/notes.md', 'vendor/lib/index.js', 'vendor/lib/inner/deep.js']);
    // Regular files (mode 100644), no gitlink (160000) anywhere in the tree.
    expect(git(origin, 'ls-tree', '-r', commit!.sha)).not.toContain('160000');
    expect(git(origin, 'show', `${commit!.sha}:vendor/lib/inner/deep.js`)).toBe('module.exports = 2;');
  });
});
