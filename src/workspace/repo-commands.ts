// The repository's commands (setup, test, lint, typecheck): from `commands` in the config, else
// detected from the checkout (npm scripts, a Makefile). The checkout is a worker's: its files are
// read only as regular files of bounded size (a link to /dev/zero once froze the process here).
import type { MissionsConfig } from '../config.ts';
import { isRegularFile, readRegularFile } from './repo-files.ts';

export type RepoCommands = Partial<Record<'setup' | 'test' | 'lint' | 'typecheck', string>>;

export function repoCommands(checkout: string, configured: MissionsConfig['commands']): RepoCommands {
  return { ...detect(checkout), ...Object.fromEntries(Object.entries(configured).filter(([, v]) => v)) };
}

function detect(checkout: string): RepoCommands {
  const found: RepoCommands = {};
  const pkg = readRegularFile(checkout, 'package.json');
  if (pkg !== null) {
    let scripts: Record<string, string> = {};
    try {
      scripts = (JSON.parse(pkg) as { scripts?: Record<string, string> }).scripts ?? {};
    } catch {
      // An unreadable package.json: the worker will find out; nothing to detect.
    }
    found.setup = isRegularFile(checkout, 'package-lock.json') ? 'npm ci' : 'npm install';
    if (scripts.test) found.test = 'npm test';
    if (scripts.lint) found.lint = 'npm run lint';
    if (scripts.typecheck) found.typecheck = 'npm run typecheck';
    return found;
  }
  const makefile = readRegularFile(checkout, 'Makefile');
  if (makefile !== null) {
    for (const target of ['test', 'lint', 'typecheck'] as const) if (new RegExp(`^${target}:`, 'm').test(makefile)) found[target] = `make ${target}`;
  }
  return found;
}
