// The repository's commands (setup, test, lint, typecheck): from `commands` in the config, else
// detected from the checkout (npm scripts, a Makefile).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MissionsConfig } from '../config.ts';

export type RepoCommands = Partial<Record<'setup' | 'test' | 'lint' | 'typecheck', string>>;

export function repoCommands(checkout: string, configured: MissionsConfig['commands']): RepoCommands {
  return { ...detect(checkout), ...Object.fromEntries(Object.entries(configured).filter(([, v]) => v)) };
}

function detect(checkout: string): RepoCommands {
  const found: RepoCommands = {};
  const pkgPath = join(checkout, 'package.json');
  if (existsSync(pkgPath)) {
    let scripts: Record<string, string> = {};
    try {
      scripts = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    } catch {
      // An unreadable package.json: the worker will find out; nothing to detect.
    }
    found.setup = existsSync(join(checkout, 'package-lock.json')) ? 'npm ci' : 'npm install';
    if (scripts.test) found.test = 'npm test';
    if (scripts.lint) found.lint = 'npm run lint';
    if (scripts.typecheck) found.typecheck = 'npm run typecheck';
    return found;
  }
  const makefile = join(checkout, 'Makefile');
  if (existsSync(makefile)) {
    const text = readFileSync(makefile, 'utf8');
    for (const target of ['test', 'lint', 'typecheck'] as const) if (new RegExp(`^${target}:`, 'm').test(text)) found[target] = `make ${target}`;
  }
  return found;
}
