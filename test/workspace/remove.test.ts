// A directory a sandboxed command locked (`chmod 000`), or an overlay's work directory, is removed
// all the same: otherwise the next checkout of that name (the next round's validator) fails for good.
// Root ignores permissions, so as root the removal runs in a child process as `nobody`.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';

const NOBODY = 65534;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('removes a tree whose directories its owner cannot open or write, and opens nothing a link in it points to', () => {
  const root = mkdtempSync(join(tmpdir(), 'missions-remove-'));
  dirs.push(root);
  const [tree, outside] = [join(root, 'tree'), join(root, 'outside')];
  // Made and removed by the same user, as a sandbox's files are by the app.
  const script = `
    import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
    import { removeTree } from ${JSON.stringify(new URL('../../src/workspace/remove.ts', import.meta.url).pathname)};
    const [tree, outside] = ${JSON.stringify([tree, outside])};
    mkdirSync(outside, { mode: 0o500 });
    mkdirSync(tree + '/open/locked/deeper', { recursive: true });
    writeFileSync(tree + '/open/locked/deeper/file', 'x');
    writeFileSync(tree + '/open/locked/file', 'x');
    symlinkSync(outside, tree + '/open/locked/link');
    chmodSync(tree + '/open/locked/deeper', 0o000);
    chmodSync(tree + '/open/locked', 0o000);
    chmodSync(tree + '/open', 0o500);
    removeTree(tree);
  `;
  const args = ['--input-type=module', '-e', script];
  if (process.getuid?.() === 0) {
    chmodSync(root, 0o777);
    execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, ...args], { stdio: 'pipe' });
  } else {
    execFileSync(process.execPath, args, { stdio: 'pipe' });
  }
  expect(existsSync(tree)).toBe(false);
  expect(statSync(outside).mode & 0o777).toBe(0o500);
});
