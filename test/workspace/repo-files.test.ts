// Reading files of a commit from the app's git directory: answers about a commit named by its hash
// are kept (a commit never changes, and every step reads its base's skills and config again), but a
// failed read is not: a commit not fetched yet is read once it is.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { commitFiles, fileAt } from '../../src/workspace/repo-files.ts';
import { bareRepository, commitTo } from '../helpers/harness.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('reads a commit fetched after a first read failed, and answers again for it without git', async () => {
  const origin = bareRepository({ 'README.md': '# r\n' });
  const cache = join(mkdtempSync(join(tmpdir(), 'missions-files-')), 'cache.git');
  dirs.push(cache);
  execFileSync('git', ['clone', '-q', '--bare', origin, cache]);
  const later = commitTo(origin, { '.github/missions.yml': 'budget:\n  usd: 5\n', '.github/missions/skills/worker.md': 'Be brief.\n' });
  // Not in the cache yet: the read fails, and is not kept as the answer.
  await expect(fileAt(cache, later, '.github/missions.yml')).rejects.toThrow();
  execFileSync('git', ['fetch', '-q', origin, '+refs/heads/*:refs/heads/*'], { cwd: cache });
  expect(await fileAt(cache, later, '.github/missions.yml')).toEqual({ kind: 'file', text: 'budget:\n  usd: 5\n' });
  expect(await commitFiles(cache, later).list('.github/missions/skills')).toEqual(['worker.md']);
  expect(await commitFiles(cache, later).read('.github/missions/skills/worker.md')).toBe('Be brief.\n');
  // The same questions about the same commit are answered without git: the directory is gone.
  rmSync(cache, { recursive: true, force: true });
  expect(await fileAt(cache, later, '.github/missions.yml')).toEqual({ kind: 'file', text: 'budget:\n  usd: 5\n' });
  expect(await commitFiles(cache, later).list('.github/missions/skills')).toEqual(['worker.md']);
  expect(await commitFiles(cache, later).read('.github/missions/skills/worker.md')).toBe('Be brief.\n');
  // A name that is not a hash is asked every time.
  await expect(fileAt(cache, 'main', '.github/missions.yml')).rejects.toThrow();
});
