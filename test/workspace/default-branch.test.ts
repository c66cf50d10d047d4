// The clone cache follows the default branch GitHub names: a build step reads the config and starts
// a mission's branch from it, and a default branch renamed (or switched) on GitHub is followed on the
// next step rather than left on a branch the cache no longer has.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { MissionBranch } from '../../src/workspace/branch.ts';
import { Workspaces } from '../../src/workspace/checkout.ts';
import { bareRepository } from '../helpers/harness.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('reads the config from the default branch GitHub names now, after a rename and after a switch', async () => {
  const origin = bareRepository({ '.github/missions.yml': 'budget:\n  max_usd: 1\n' });
  const root = mkdtempSync(join(tmpdir(), 'missions-default-'));
  dirs.push(root);
  const workspaces = new Workspaces(root);
  const branch = (defaultBranch: string) => new MissionBranch(workspaces, { repoId: 1, missionId: 1, cloneUrl: origin, defaultBranch }, 'missions/1-x');
  const config = async (defaultBranch: string) => {
    const b = branch(defaultBranch);
    const tip = await b.refresh();
    const file = await b.fileAt(tip, '.github/missions.yml');
    return file.kind === 'file' ? file.text : file.kind;
  };
  expect(await config('main')).toContain('max_usd: 1');
  // Renamed on GitHub: the old branch is gone (the fetch prunes it), the new one has a newer config.
  const git = (...args: string[]) => execFileSync('git', ['--git-dir', origin, ...args], { stdio: 'pipe' }).toString().trim();
  git('branch', '-m', 'main', 'trunk');
  git('symbolic-ref', 'HEAD', 'refs/heads/trunk');
  const work = join(origin, '..', 'work');
  execFileSync('git', ['-C', work, 'fetch', '-q', origin, 'trunk'], { stdio: 'pipe' });
  execFileSync('git', ['-C', work, 'checkout', '-q', '-B', 'trunk', 'FETCH_HEAD'], { stdio: 'pipe' });
  execFileSync('sh', ['-c', `printf 'budget:\\n  max_usd: 9\\n' > .github/missions.yml && git add -A && git -c user.name=t -c user.email=t@example.com commit -qm c && git push -q ${origin} trunk`], { cwd: work, stdio: 'pipe' });
  expect(await config('trunk')).toContain('max_usd: 9');
  // Switched back to a branch that still exists: followed too.
  git('branch', 'old', 'trunk~1');
  expect(await config('old')).toContain('max_usd: 1');
});
