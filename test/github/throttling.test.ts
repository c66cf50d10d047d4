// GitHub asks integrations to space their writes (a second apart; three for comments, issues and pull
// requests, which notify people) or face its secondary rate limit. Probot's Octokit throttling does
// it per process; with REDIS_URL every process keeps one schedule, so N workers together write no
// faster than one. Two real processes each write two comments at
// the same moment. The Redis case runs where a server is named by MISSIONS_TEST_REDIS_URL (.ci/run
// sets it; a machine without Redis has nothing to share).
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GitHubMock } from '../helpers/github.ts';
import { startGitHubProxy } from '../helpers/github-proxy.ts';
import { exited, startNode } from '../helpers/processes.ts';
import nock from 'nock';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const WRITER = new URL('../helpers/throttled-writer.ts', import.meta.url);

afterEach(() => {
  nock.cleanAll();
});

/** Two processes write two comments each at the same moment; when each write reached GitHub, in order. */
async function writeFromTwoProcesses(redisUrl?: string): Promise<number[]> {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
  const github = new GitHubMock().installationTokens(1);
  const arrived: number[] = [];
  const issue = 1;
  github
    .post(`/repos/o/r/issues/${issue}/comments`)
    .times(4)
    .reply(() => {
      arrived.push(Date.now());
      return [201, { id: arrived.length, body: 'x' }];
    });
  const proxy = await startGitHubProxy();
  const env = { PATH: process.env.PATH!, PRIVATE_KEY: privateKey, GITHUB_URL: proxy.url, ISSUE: String(issue), ...(redisUrl ? { REDIS_URL: redisUrl } : {}) };
  const children = [0, 1].map(() => startNode(WRITER, [], { env, stdio: ['pipe', 'pipe', 'inherit'] }));
  // Both started and authenticated, then told to write at once.
  await Promise.all(children.map((child) => new Promise((resolve) => child.stdout!.once('data', resolve))));
  for (const child of children) child.stdin!.write('go\n');
  expect(await Promise.all(children.map(exited))).toEqual([0, 0]);
  await proxy.close();
  expect(github.violations).toEqual([]);
  return arrived.sort((a, b) => a - b);
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('GitHub write throttling across processes', () => {
  it('lets two processes comment at the same moment without a shared Redis', async () => {
    const times = await writeFromTwoProcesses();
    expect(times).toHaveLength(4);
    expect(Math.min(...gaps(times))).toBeLessThan(500);
  });

  const redis = process.env.MISSIONS_TEST_REDIS_URL;
  if (redis) {
    it('spaces the comments of every process through REDIS_URL, as one process would', async () => {
      const times = await writeFromTwoProcesses(redis);
      expect(times).toHaveLength(4);
      // One schedule for both: each comment about three seconds after the one before, whichever process wrote it.
      expect(Math.min(...gaps(times))).toBeGreaterThan(2_500);
    });
  }
});
