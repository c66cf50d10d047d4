// Setup once per mission and dependency state (issue 12): checkouts of a mission with the same setup
// command and the same files it reads get what the first one installed (a validator's or a replay's
// through overlays, a worker's as a copy), through the real sandbox and real git; a checkout's writes
// never reach another's, and what cannot move is not kept.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MissionBranch } from '../../src/workspace/branch.ts';
import { Workspaces } from '../../src/workspace/checkout.ts';
import { setupKey } from '../../src/workspace/prepared.ts';
import { Sandbox } from '../../src/workspace/sandbox.ts';
import { bareRepository, commitTo } from '../helpers/harness.ts';

const log = pino({ level: 'silent' });
const roots: string[] = [];
const opened: Workspaces[] = [];
afterEach(async () => {
  for (const w of opened.splice(0)) await w.prepared.close();
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

// A miniature `npm ci`: a dependency whose content is random, so two installs never look alike.
const INSTALL = 'mkdir -p node_modules/dep/.bin && head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n" > node_modules/dep/token && ln -sf ../token node_modules/dep/.bin/token';

function mission(files: Record<string, string>) {
  const origin = bareRepository({ '.gitignore': 'node_modules\ndist\n', 'package.json': '{"dependencies":{"dep":"1.0.0"}}\n', ...files });
  const root = mkdtempSync(join(tmpdir(), 'missions-prepared-'));
  roots.push(root);
  const workspaces = new Workspaces(root);
  opened.push(workspaces);
  const branch = new MissionBranch(workspaces, { repoId: 1, missionId: 1, cloneUrl: origin }, 'missions/1-x');
  let installs = 0;
  /**
   * A checkout of `commit` set up with `command`, through the sandbox: as a validator's or a replay's
   * is (under overlays where it reuses a kept setup), or as a worker's (`WORKER`: a copy).
   */
  const checkout = async (commit: string, name: string, command = INSTALL, options: { overlay?: boolean } = { overlay: true }) => {
    const dir = await branch.throwaway(commit, name);
    const sandbox = new Sandbox(dir, { hide: [root], readOnly: [workspaces.cachePath(1)], log });
    const how = await branch.setUp(sandbox, commit, command, async () => {
      installs++;
      const result = await sandbox.run(command, { timeoutMs: 30_000, network: false });
      if (result.exitCode !== 0) throw new Error(result.output);
    }, options);
    return { dir, how, sandbox };
  };
  return { origin, branch, checkout, workspaces, installs: () => installs };
}

const WORKER = { overlay: false };
const token = (dir: string) => readFileSync(join(dir, 'node_modules/dep/token'), 'utf8');
/** The dependency as a command in the checkout's sandbox sees it, through the package's relative link. */
const seen = async (c: { sandbox: Sandbox }) => (await c.sandbox.run('cat node_modules/dep/.bin/token', { timeoutMs: 10_000, network: false })).output;
/** Every kept tree's file at `path`. */
const keptFiles = (root: string, path: string) =>
  readdirSync(join(root, 'prepared', '1')).map((key) => join(root, 'prepared', '1', key, 'tree', path)).filter((file) => existsSync(file));

describe('setup once per mission', () => {
  it("installs once for checkouts with the same dependencies; a validator's sees it through overlays, and its commands' writes stay in its own layer", async () => {
    const m = mission({});
    const base = await m.branch.refresh();
    // Two validators setting up at once, then a replay: one install.
    const [scrutiny, testing] = await Promise.all([m.checkout(base, 'scrutiny'), m.checkout(base, 'user-testing')]);
    const replay = await m.checkout(base, 'replay');
    expect(m.installs()).toBe(1);
    expect([scrutiny.how, testing.how, replay.how].sort()).toEqual(['installed', 'reused', 'reused']);
    expect(m.workspaces.prepared.counts.overlaid, 'overlays work on this machine (Linux 5.11+, bubblewrap, unshare)').toBe(2);
    // Whichever validator took the lock first installed; the other sees its setup.
    const installed = token([scrutiny, testing].find((c) => c.how === 'installed')!.dir);
    const [kept] = keptFiles(m.workspaces.root, 'node_modules/dep/token');
    const overlaid = [scrutiny, testing].find((c) => c.how === 'reused')!;
    // Nothing of the kept tree is in the checkout itself: only the mount point.
    expect(readdirSync(join(overlaid.dir, 'node_modules'))).toEqual([]);
    // Commands see it, the relative link resolving inside this checkout.
    expect(await seen(replay)).toBe(installed);
    expect(await seen(overlaid)).toBe(installed);
    // A command that rewrites a dependency and writes a cache beside it: the next command sees both.
    const write = await overlaid.sandbox.run('echo tampered > node_modules/dep/token && mkdir node_modules/.cache && echo c > node_modules/.cache/x', { timeoutMs: 10_000, network: false });
    expect(write.exitCode).toBe(0);
    expect(await seen(overlaid)).toBe('tampered\n');
    expect((await overlaid.sandbox.run('cat node_modules/.cache/x', { timeoutMs: 10_000, network: false })).output).toBe('c\n');
    // Nothing shared changed: the kept file, the other checkouts.
    expect(readFileSync(kept!, 'utf8')).toBe(installed);
    expect(await seen(replay)).toBe(installed);
    // Nor does emptying the tree in one checkout (the directory itself is where the overlay is mounted).
    expect((await replay.sandbox.run('rm -rf node_modules/* node_modules/.bin && ls -A node_modules', { timeoutMs: 10_000, network: false })).output).toBe('');
    expect(existsSync(kept!)).toBe(true);
    expect(await seen(await m.checkout(base, 'triage'))).toBe(installed);
    expect(m.installs()).toBe(1);
  });

  it('keeps a nested tree out of reach of a command that moves its parent away between two commands', async () => {
    const NESTED = 'mkdir -p sub/node_modules/dep && echo kept > sub/node_modules/dep/index.js';
    const m = mission({ 'sub/index.js': '' });
    const base = await m.branch.refresh();
    await m.checkout(base, 'worker', NESTED, WORKER);
    const validator = await m.checkout(base, 'scrutiny', NESTED);
    expect(validator.how).toBe('reused');
    const [kept] = keptFiles(m.workspaces.root, 'sub/node_modules/dep/index.js');
    // The parent moves, the mount with it; the next command mounts on what is now at the old path.
    const moved = await validator.sandbox.run('mv sub elsewhere && mkdir -p sub/node_modules', { timeoutMs: 10_000, network: false });
    expect(moved.exitCode).toBe(0);
    const write = await validator.sandbox.run('echo poisoned > elsewhere/node_modules/dep/index.js; cat sub/node_modules/dep/index.js', { timeoutMs: 10_000, network: false });
    expect(write.output).toContain('kept');
    expect(readFileSync(kept!, 'utf8')).toBe('kept\n');
    // A link put where the tree belongs is refused: the mount would follow it.
    const linked = await validator.sandbox.run('mv sub gone && ln -s elsewhere sub', { timeoutMs: 10_000, network: false });
    expect(linked.exitCode).toBe(0);
    const refused = await validator.sandbox.run('echo ran', { timeoutMs: 10_000, network: false });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).not.toContain('ran');
    expect(refused.output).toContain('was moved');
    expect(readFileSync(kept!, 'utf8')).toBe('kept\n');
  });

  it("gives a worker's checkout a copy of its own; where overlays work, makes no spare copies", async () => {
    const m = mission({});
    const base = await m.branch.refresh();
    await m.checkout(base, 'worker', INSTALL, WORKER);
    const kept = join(m.workspaces.root, 'prepared', '1');
    const [key] = readdirSync(kept);
    const tree = join(kept, key!, 'tree/node_modules/dep/token');
    await Promise.all([m.checkout(base, 'scrutiny'), m.checkout(base, 'user-testing')]);
    const next = await m.checkout(base, 'worker-2', INSTALL, WORKER);
    expect(next.how).toBe('reused');
    expect(statSync(join(next.dir, 'node_modules/dep/token')).ino).not.toBe(statSync(tree).ino);
    // A write outside any sandbox (a worker's edit tool) stays in its copy.
    writeFileSync(join(next.dir, 'node_modules/dep/token'), 'edited\n');
    expect(readFileSync(tree, 'utf8')).not.toBe('edited\n');
    await m.workspaces.prepared.close();
    expect(readdirSync(join(kept, key!)).filter((n) => n.startsWith('spare-'))).toEqual([]);
    expect(m.installs()).toBe(1);
  });

  it('where overlays do not work, makes spare copies ahead, so each validator is set up by moving one in, a copy of its own', async () => {
    const m = mission({});
    m.workspaces.prepared.overlays = false;
    const base = await m.branch.refresh();
    await m.checkout(base, 'worker', INSTALL, WORKER);
    const kept = join(m.workspaces.root, 'prepared', '1');
    const [key] = readdirSync(kept);
    const spares = () => readdirSync(join(kept, key!)).filter((n) => /^spare-\d+$/.test(n));
    // Made in the background after the install, while a worker would be working.
    await expect.poll(() => spares().length, { timeout: 20_000 }).toBe(2);
    const inodes = spares().map((n) => statSync(join(kept, key!, n, 'node_modules/dep/token')).ino);
    const tree = statSync(join(kept, key!, 'tree/node_modules/dep/token')).ino;
    expect(new Set([...inodes, tree]).size).toBe(3);
    const [a, b] = await Promise.all([m.checkout(base, 'scrutiny'), m.checkout(base, 'user-testing')]);
    expect(m.workspaces.prepared.counts.overlaid).toBe(0);
    const moved = [a, b].map((c) => statSync(join(c.dir, 'node_modules/dep/token')).ino);
    // Both moved in (renamed, not copied): their files are two of the spares'.
    expect(moved.every((ino) => inodes.includes(ino))).toBe(true);
    expect(moved[0]).not.toBe(moved[1]);
    expect(token(a.dir)).toBe(token(b.dir));
    // A command's write stays in its own copy.
    expect((await a.sandbox.run('echo tampered > node_modules/dep/token', { timeoutMs: 10_000, network: false })).exitCode).toBe(0);
    expect(token(b.dir)).not.toBe('tampered\n');
    // And the spares are made again for the replays.
    await expect.poll(() => spares().length, { timeout: 20_000 }).toBe(2);
    await m.workspaces.prepared.close();
  });

  it('keeps a state through a change that installs the same (a test script), and installs again for one that does not (a lockfile)', async () => {
    const m = mission({});
    const base = await m.branch.refresh();
    await m.checkout(base, 'first');
    const scripted = commitTo(m.origin, { 'package.json': '{"dependencies":{"dep":"1.0.0"},"scripts":{"test":"node --test"}}\n', 'src.js': 'x\n' });
    await m.branch.refresh();
    expect((await m.checkout(scripted, 'scripted')).how).toBe('reused');
    const locked = commitTo(m.origin, { 'package-lock.json': '{"lockfileVersion":3}\n' });
    await m.branch.refresh();
    const after = await m.checkout(locked, 'locked');
    expect(after.how).toBe('installed');
    expect(m.installs()).toBe(2);
    // The setup command is part of the state too.
    expect((await m.checkout(locked, 'other-command', `${INSTALL} && true`)).how).toBe('installed');
  });

  it('with an install hook, shares a setup only within a commit (the hook may read any file); installs again for a changed patch', async () => {
    const hooked = mission({ 'package.json': '{"dependencies":{"dep":"1.0.0"},"scripts":{"postinstall":"prisma generate"}}\n', 'schema.prisma': '1\n' });
    const base = await hooked.branch.refresh();
    await hooked.checkout(base, 'first');
    expect((await hooked.checkout(base, 'same-commit')).how).toBe('reused');
    const changed = commitTo(hooked.origin, { 'schema.prisma': '2\n' });
    await hooked.branch.refresh();
    expect((await hooked.checkout(changed, 'changed')).how).toBe('installed');

    const patched = mission({ 'patches/dep+1.0.0.patch': 'a\n' });
    const first = await patched.branch.refresh();
    await patched.checkout(first, 'first');
    const next = commitTo(patched.origin, { 'patches/dep+1.0.0.patch': 'b\n' });
    await patched.branch.refresh();
    expect((await patched.checkout(next, 'next')).how).toBe('installed');
  });

  it('installs again when a script the setup command runs changes (npm ci && npm run codegen)', async () => {
    const command = `${INSTALL} && npm run codegen`;
    const m = mission({ 'package.json': '{"dependencies":{"dep":"1.0.0"},"scripts":{"codegen":"node gen/run.js"}}\n', 'gen/run.js': '1\n' });
    const base = await m.branch.refresh();
    const key = (commit: string) => setupKey(m.workspaces.cachePath(1), commit, command);
    const changed = commitTo(m.origin, { 'gen/run.js': '2\n' });
    await m.branch.refresh();
    expect(await key(changed)).not.toBe(await key(base));
  });

  it('sets up a commit whose tree holds a submodule named package.json: no reuse, no failure', async () => {
    const m = mission({});
    const work = join(dirname(m.origin), 'work');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: work }).toString().trim();
    execFileSync('git', ['update-index', '--add', '--cacheinfo', `160000,${head},vendor/package.json`], { cwd: work });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'submodule'], { cwd: work });
    execFileSync('git', ['push', '-q', m.origin, 'main'], { cwd: work });
    const commit = await m.branch.refresh();
    expect((await m.checkout(commit, 'a')).how).toBe('installed');
    expect((await m.checkout(commit, 'b')).how).toBe('installed');
    expect(m.installs()).toBe(2);
  });

  it('keeps nothing for a setup that made nothing in the checkout: it runs again', async () => {
    const m = mission({});
    const base = await m.branch.refresh();
    expect((await m.checkout(base, 'a', 'true')).how).toBe('installed');
    expect((await m.checkout(base, 'b', 'true')).how).toBe('installed');
  });

  it('never copies into a path the commit holds: through a committed link, the copy would land outside the checkout', async () => {
    const m = mission({});
    const base = await m.branch.refresh();
    await m.checkout(base, 'first');
    // A worker commits node_modules/dep as a link to a directory outside the checkout.
    const victim = mkdtempSync(join(tmpdir(), 'missions-victim-'));
    roots.push(victim);
    const linked = commitTo(m.origin, { '.gitignore': 'node_modules/*\n!node_modules/dep\n', 'node_modules/dep': { symlink: victim } });
    await m.branch.refresh();
    const dir = await m.branch.throwaway(linked, 'linked');
    let installed = false;
    const how = await m.branch.setUp(new Sandbox(dir, { log }), linked, INSTALL, async () => {
      installed = true;
    });
    expect(how).toBe('installed');
    expect(installed).toBe(true);
    expect(readdirSync(victim)).toEqual([]);
  });

  it('never copies through a committed link on the way to a nested dependency tree', async () => {
    const NESTED = 'mkdir -p sub/node_modules/dep && echo 1 > sub/node_modules/dep/token';
    const m = mission({ 'sub/index.js': '' });
    const base = await m.branch.refresh();
    expect((await m.checkout(base, 'first', NESTED)).how).toBe('installed');
    expect((await m.checkout(base, 'second', NESTED)).how).toBe('reused');
    // The worker turns sub/ into a link to a directory outside the checkout.
    const victim = mkdtempSync(join(tmpdir(), 'missions-victim-'));
    roots.push(victim);
    execFileSync('git', ['rm', '-rq', 'sub'], { cwd: join(dirname(m.origin), 'work') });
    const linked = commitTo(m.origin, { sub: { symlink: victim } });
    await m.branch.refresh();
    const dir = await m.branch.throwaway(linked, 'linked');
    const how = await m.branch.setUp(new Sandbox(dir, { log }), linked, NESTED, async () => {});
    expect(how).toBe('installed');
    expect(readdirSync(victim)).toEqual([]);
  });

  it('runs setup in every checkout when it builds (dist/) or changes a tracked file: what it made is not kept', async () => {
    const m = mission({ 'version.txt': '1\n' });
    const base = await m.branch.refresh();
    const building = `${INSTALL} && mkdir -p dist && cp package.json dist/`;
    await m.checkout(base, 'a', building);
    const second = await m.checkout(base, 'b', building);
    expect(second.how).toBe('installed');
    expect(existsSync(join(second.dir, 'dist/package.json'))).toBe(true);
    const rewriting = `${INSTALL} && echo 2 > version.txt`;
    await m.checkout(base, 'c', rewriting);
    expect((await m.checkout(base, 'd', rewriting)).how).toBe('installed');
    expect(m.installs()).toBe(4);
  });

  it('runs no git in a checkout setup could write: a hook planted in its .git does not run', async () => {
    const m = mission({});
    const base = await m.branch.refresh();
    const marker = join(tmpdir(), `missions-fsmonitor-${process.pid}`);
    rmSync(marker, { force: true });
    // What a hostile install script can do to a validator's checkout before the app looks at it.
    const planting = `${INSTALL} && git config core.fsmonitor 'touch ${marker}; false' && printf '#!/bin/sh\\ntouch ${marker}\\n' > .git/hooks/post-index-change && chmod +x .git/hooks/post-index-change`;
    const dir = await m.branch.throwaway(base, 'hostile');
    const sandbox = new Sandbox(dir, { hide: [], readOnly: [], log, bubblewrap: false });
    await m.branch.setUp(sandbox, base, planting, async () => {
      const result = await sandbox.run(planting, { timeoutMs: 30_000, network: false });
      expect(result.exitCode).toBe(0);
    });
    expect(existsSync(marker)).toBe(false);
    rmSync(marker, { force: true });
  });
});
