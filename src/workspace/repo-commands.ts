// The repository's commands (setup, test, lint, typecheck): from `commands` in the config, else
// detected from the checkout (npm scripts, a Makefile). The checkout is a worker's: its files are
// read only as regular files of bounded size (a link to /dev/zero once froze the process here).
import { posix } from 'node:path';
import type { MissionsConfig } from '../config.ts';
import { isRegularFile, readRegularFile, type RepoFiles } from './repo-files.ts';

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

/**
 * Files that decide what a setup command fetches and runs: package manifests, lockfiles and their
 * registry settings, at any depth (workspaces), and the build files setup scripts start from.
 */
const SETUP_INPUTS = new Set([
  'package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'bun.lockb', 'bun.lock',
  '.npmrc', '.yarnrc', '.yarnrc.yml', '.pnpmfile.cjs', 'requirements.txt', 'pyproject.toml', 'poetry.lock', 'uv.lock', 'Pipfile', 'Pipfile.lock',
  'setup.py', 'setup.cfg', 'Gemfile', 'Gemfile.lock', 'go.mod', 'go.sum', 'Cargo.toml', 'Cargo.lock', 'Makefile', 'build.gradle', 'pom.xml', 'binding.gyp',
]);

/**
 * Whether `setup` may use the network on a checkout whose files differ from the default branch in
 * `changed`. With `sandbox.network: true` it always may. Without, agents are offline, and setup only
 * gets the network while nothing it reads is the mission's work: a worker's `preinstall` script, a
 * new dependency or a changed script named in the command would otherwise reach the network
 * through the validators' setup. Once they changed, setup runs offline (from what is cached).
 */
export async function setupMayUseNetwork(network: boolean, changed: string[], setup: string, base: RepoFiles, head: RepoFiles): Promise<boolean> {
  if (network) return true;
  // What setup runs reads too: the files the install hooks and local dependencies of the manifests name.
  const words = commandWords(setup);
  for (const path of ['package.json', ...changed.filter((p) => p.endsWith('/package.json'))]) {
    const text = await head.read(path);
    const dir = path.slice(0, -'package.json'.length);
    if (text !== null) words.push(...installWords(text, dir, dir ? [] : commandWords(setup)));
  }
  for (const path of changed) {
    const name = path.split('/').pop()!;
    // A package.json whose dependencies and install hooks are as they were (a new `test` script,
    // a version bump) installs the same: setup keeps the network.
    if (name === 'package.json' && sameInstall(await base.read(path), await head.read(path))) continue;
    if (setupReads(path, words) || path.startsWith('.github/')) return false;
  }
  return true;
}

/** The words of a shell command that may name a file or directory it reads (`./` dropped). */
export function commandWords(command: string): string[] {
  return command.split(/[\s'"`;&|()<>]+/).map((w) => w.replace(/^\.\/(?=.)/, '')).filter(Boolean);
}

/**
 * Whether a setup command whose words are `words` reads the repository file `path`: a manifest, a
 * lockfile or their settings (SETUP_INPUTS), a patch applied on install (patch-package's `patches/`,
 * Yarn's `.yarn/patches/`), Yarn's own release and plugins, or a file or directory a word names
 * (`.` names them all: `pip install -e .` reads the whole tree).
 */
export function setupReads(path: string, words: string[]): boolean {
  const parts = path.split('/');
  return (
    SETUP_INPUTS.has(parts.at(-1)!) ||
    parts.slice(0, -1).includes('patches') ||
    /^\.yarn\/(releases|plugins)\//.test(path) ||
    words.some((w) => w === '.' || w === path || path.startsWith(`${w.replace(/\/$/, '')}/`) || w.endsWith(`/${path}`))
  );
}

/**
 * The words of a package.json at `dir` ('' or 'packages/a/') that name repository files an install
 * reads, as paths from the repository's root: its install hooks' words (and those of the scripts in
 * `alsoRun`, which the setup command names), following the scripts they call (`npm run x`, `yarn x`,
 * `pnpm x`), and local dependencies (`file:`, `link:`, `portal:`).
 */
export function installWords(text: string, dir: string, alsoRun: string[] = []): string[] {
  let pkg: Record<string, unknown> & { scripts?: Record<string, unknown> };
  try {
    pkg = JSON.parse(text) as typeof pkg;
  } catch {
    return [];
  }
  const scripts = pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts : {};
  const words: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    const script = scripts[name];
    if (seen.has(name) || typeof script !== 'string' || seen.size > 50) return;
    seen.add(name);
    for (const w of commandWords(script)) {
      words.push(posix.normalize(`${dir}${w}`));
      // Any word that names a script may call it (npm run x, yarn x, pnpm x, run-s x).
      visit(w);
    }
  };
  for (const hook of [...INSTALL_SCRIPTS, ...alsoRun]) visit(hook);
  for (const key of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const deps = pkg[key];
    if (!deps || typeof deps !== 'object') continue;
    for (const spec of Object.values(deps as Record<string, unknown>)) {
      const local = typeof spec === 'string' && /^(file|link|portal):(.+)$/.exec(spec);
      if (local) words.push(posix.normalize(`${dir}${local[2]!.replace(/^\.\//, '')}`));
    }
  }
  return words;
}

/** Whether a package.json text has a script npm runs by itself during an install. */
export function hasInstallHook(text: string): boolean {
  try {
    const scripts = (JSON.parse(text) as { scripts?: Record<string, unknown> }).scripts;
    return !!scripts && typeof scripts === 'object' && INSTALL_SCRIPTS.some((k) => scripts[k] !== undefined);
  } catch {
    return false;
  }
}

/** The parts of package.json that decide what `npm ci`/`install` fetches and runs. */
const INSTALL_KEYS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies', 'overrides', 'resolutions', 'workspaces', 'packageManager', 'gypfile', 'pnpm', 'dependenciesMeta', 'peerDependenciesMeta', 'name', 'bin'];
/** Scripts npm runs by itself during an install (and after one that changed node_modules). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare', 'prepublish', 'predependencies', 'dependencies', 'postdependencies'];

/**
 * What in a package.json text decides an install: its dependencies, and either all its scripts or
 * none (an install script may call any other script, so then every script counts; without one, a new
 * `test` script changes nothing an install runs). Null for a text that is not JSON.
 */
export function installSignature(text: string | null): string | null {
  let pkg: Record<string, unknown> & { scripts?: Record<string, unknown> };
  try {
    pkg = JSON.parse(text ?? '') as typeof pkg;
  } catch {
    return null;
  }
  if (!pkg || typeof pkg !== 'object') return null;
  const hooked = INSTALL_SCRIPTS.some((k) => pkg.scripts?.[k] !== undefined);
  return JSON.stringify([INSTALL_KEYS.map((k) => pkg[k] ?? null), hooked ? (pkg.scripts ?? null) : null]);
}

/** Whether two package.json texts install the same. */
function sameInstall(before: string | null, after: string | null): boolean {
  const [a, b] = [installSignature(before), installSignature(after)];
  return a !== null && a === b;
}
