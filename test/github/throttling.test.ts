// GitHub asks integrations to space their writes (a second apart; three for comments, issues and pull
// requests, which notify people) or face its secondary rate limit. Probot's Octokit throttling does
// it per process; with REDIS_URL every process keeps one schedule, so N workers together write no
// faster than one, and a Redis that lost its data (restarted) is taken up again. Two real processes
// each write two comments at the same moment. The Redis cases run where a server is named by
// MISSIONS_TEST_REDIS_URL (.ci/run sets it, with a database of its own that the test empties).
import { generateKeyPairSync } from 'node:crypto';
import { Redis } from 'ioredis';
import nock from '../helpers/nock.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { GitHubMock } from '../helpers/github.ts';
import { startGitHubProxy } from '../helpers/github-proxy.ts';
import { exited, startNode } from '../helpers/processes.ts';
import { waitFor } from '../helpers/waiting.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const WRITER = new URL('../helpers/throttled-writer.ts', import.meta.url);

afterEach(() => {
  nock.cleanAll();
});

/**
 * Two processes write two comments each at the same moment, `rounds` times (`between` runs between
 * rounds); when each comment reached GitHub, per round, in order.
 */
async function writeFromTwoProcesses(redisUrl?: string, rounds = 1, between: () => Promise<void> = async () => {}): Promise<number[][]> {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
  const github = new GitHubMock().installationTokens(1);
  const arrived: number[][] = Array.from({ length: rounds }, () => []);
  let round = 0;
  github
    .post('/repos/o/r/issues/1/comments')
    .times(4 * rounds)
    .reply(() => {
      arrived[round]!.push(Date.now());
      return [201, { id: 1, body: 'x' }];
    });
  const proxy = await startGitHubProxy();
  const env = { PATH: process.env.PATH!, PRIVATE_KEY: privateKey, GITHUB_URL: proxy.url, ISSUE: '1', ROUNDS: String(rounds), ...(redisUrl ? { REDIS_URL: redisUrl } : {}) };
  const children = [0, 1].map(() => startNode(WRITER, [], { env, stdio: ['pipe', 'pipe', 'inherit'] }));
  const output = children.map((child) => {
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    return () => text;
  });
  for (; round < rounds; round++) {
    if (round > 0) await between();
    // Both ready (started and authenticated, or done with the last round), then told to write at once.
    const readies = round + 1;
    const failed = () => {
      const dead = children.findIndex((c) => c.exitCode !== null && (c.exitCode !== 0 || round < rounds - 1));
      if (dead >= 0) throw new Error(`writer ${dead} exited ${children[dead]!.exitCode}`);
    };
    await waitFor(() => (failed(), output.every((text) => (text().match(/ready/g) ?? []).length >= readies)), `both writers ready for round ${round + 1}`);
    for (const child of children) child.stdin!.write('go\n');
    await waitFor(() => (failed(), arrived[round]!.length === 4), `round ${round + 1}'s four comments`);
  }
  expect(await Promise.all(children.map(exited))).toEqual([0, 0]);
  await proxy.close();
  expect(github.violations).toEqual([]);
  return arrived.map((times) => times.sort((a, b) => a - b));
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('GitHub write throttling across processes', () => {
  it('lets two processes comment at the same moment without REDIS_URL: each spaces only its own', async () => {
    const [times] = await writeFromTwoProcesses();
    expect(times).toHaveLength(4);
    // Each process's two comments three seconds apart; the two processes' side by side.
    expect(Math.min(...gaps(times!))).toBeLessThan(1_500);
  });

  const redis = process.env.MISSIONS_TEST_REDIS_URL;
  if (redis) {
    it('spaces the comments of every process through REDIS_URL, as one process would, and again after Redis lost its data', async () => {
      const rounds = await writeFromTwoProcesses(redis, 2, async () => {
        // What a Redis restarted without its data is to the processes: their limiter's keys gone.
        const client = new Redis(redis);
        await client.flushdb();
        client.disconnect();
      });
      for (const times of rounds) {
        expect(times).toHaveLength(4);
        // One schedule for both: each comment about three seconds after the one before, whichever process wrote it.
        expect(Math.min(...gaps(times))).toBeGreaterThan(2_500);
      }
    });
  }
});
