// A git command's whole answer reaches the app, whatever its event loop and the helper's are doing:
// the secret scan reads a commit's diff this way, and a setup key a tree listing. Completions that
// settled on a timer after git exited once lost the tail of large answers, and whole small ones; the
// helper process (git-spawner.ts) now settles them, busy with six large answers at a time here.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { gitAt } from '../../src/workspace/git.ts';
import { waitFor } from '../helpers/waiting.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Holds the event loop 80 ms at a time from inside the poll phase, as a busy process's I/O callbacks do. */
async function holdTheLoop(): Promise<() => void> {
  // Either end may see the other reset when the test lets go: that is the end, not an error.
  const server = net.createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => {})).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  let stopped = false;
  client.on('data', () => {
    const until = Date.now() + 80;
    while (Date.now() < until);
    if (!stopped) client.write('x');
  });
  client.write('x');
  return () => {
    stopped = true;
    client.destroy();
    server.close();
  };
}

it('gets every git answer whole, large or small, while the event loop is held up', async () => {
  const repo = mkdtempSync(join(tmpdir(), 'missions-answers-'));
  cleanups.push(() => rmSync(repo, { recursive: true, force: true }));
  const big = `${'a secret at the end of a long diff '.repeat(90_000)}TOKEN\n`; // about 3 MB
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' }).toString().trim();
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'big.txt'), big);
  git('add', 'big.txt');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'big');
  const head = git('rev-parse', 'HEAD');
  const release = await holdTheLoop();
  cleanups.push(release);
  const wrong: string[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      // Four rounds: enough to keep the helper busy; each 3 MB answer crosses to the app in 64 kB reads.
      for (let i = 0; i < 4; i++) {
        const [text, sha] = await Promise.all([gitAt(repo).raw(['cat-file', '-p', 'HEAD:big.txt']), gitAt(repo).raw(['rev-parse', '--verify', '--quiet', 'refs/heads/main'])]);
        if (text !== big) wrong.push(`cat-file: ${text.length} of ${big.length} characters`);
        if (sha.trim() !== head) wrong.push(`rev-parse: ${JSON.stringify(sha)}`);
      }
    }),
  );
  expect(wrong).toEqual([]);
});

it('answers for a git command whose pipe a process it started keeps open, without waiting for that process', async () => {
  const repo = mkdtempSync(join(tmpdir(), 'missions-answers-'));
  cleanups.push(() => rmSync(repo, { recursive: true, force: true }));
  execFileSync('git', ['init', '-q', repo]);
  // An alias that leaves a process behind holding git's output, as a background gc or a credential
  // helper can: the command is done when git exits, not when that process lets go of the pipe.
  const started = performance.now();
  const out = await gitAt(repo).raw(['-c', 'alias.hold=!sleep 5 & echo $!', 'hold']);
  const seconds = (performance.now() - started) / 1000;
  process.kill(Number(out.trim()), 'SIGKILL'); // the sleep: nothing is left behind
  expect(seconds).toBeLessThan(4);
});

it('fails the commands under way when the git helper dies, and not those of the helper started after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'missions-helper-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // The helper is the parent of git, which is the parent of an alias's shell.
  const helperPid = async () => Number((await gitAt().raw(['-c', 'alias.helper=!ps -o ppid= -p $PPID', 'helper'])).trim());
  const helper = await helperPid();
  expect(helper).toBeGreaterThan(1);
  // A command surely under way (its shell has started) when the helper is killed.
  const waiting = gitAt(dir).raw(['-c', 'alias.wait=!touch started && exec sleep 2', 'wait']);
  await waitFor(() => existsSync(join(dir, 'started')), 'the command to start', 10_000, 20);
  process.kill(helper, 'SIGKILL');
  await expect(waiting).rejects.toThrow(/the git helper process (exited|closed its channel)/);
  // Sent before the dead helper's last event may have come: it goes to a new helper and is answered.
  const next = gitAt().raw(['-c', 'alias.pause=!sleep 0.3; echo answered', 'pause']);
  expect((await next).trim()).toBe('answered');
  expect(await helperPid()).not.toBe(helper);
});
