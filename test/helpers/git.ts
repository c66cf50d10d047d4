// Reading what the app pushed to a local bare repository.
import { execFileSync } from 'node:child_process';

export const git = (dir: string, ...args: string[]) => execFileSync('git', ['--git-dir', dir, ...args], { encoding: 'utf8' }).trim();

export interface PushedCommit {
  sha: string;
  parents: string[];
  author: string;
  message: string;
  files: string[];
}

/** The commits on `branch` after `main`, oldest first. */
export function pushedCommits(bare: string, branch: string): PushedCommit[] {
  const shas = git(bare, 'rev-list', '--reverse', `main..${branch}`).split('\n').filter(Boolean);
  return shas.map((sha) => ({
    sha,
    parents: git(bare, 'log', '-1', '--format=%P', sha).split(' ').filter(Boolean),
    author: git(bare, 'log', '-1', '--format=%an <%ae>', sha),
    message: git(bare, 'log', '-1', '--format=%B', sha),
    files: git(bare, 'diff-tree', '--no-commit-id', '--name-only', '-r', sha).split('\n').filter(Boolean),
  }));
}

export const branchExists = (bare: string, branch: string) => git(bare, 'branch', '--list', branch) !== '';
