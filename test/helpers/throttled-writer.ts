// A process that writes comments through a Probot made as the app makes its own (probotOptions,
// REDIS_URL included): ROUNDS times, it prints `ready`, waits for a line on stdin, and writes two
// comments at once. What each worker process does with its writes.
import { createInterface } from 'node:readline';
import { Probot } from 'probot';
import pino from 'pino';
import { probotOptions } from '../../src/github/probot-options.ts';

const env = process.env;
const probot = new Probot(
  probotOptions({ appId: 1, privateKey: env.PRIVATE_KEY!, githubBaseUrl: env.GITHUB_URL!, ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}) }, pino({ level: 'silent' })),
);
const gh = await probot.auth(1);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
for (let round = 0; round < Number(env.ROUNDS ?? 1); round++) {
  process.stdout.write('ready\n');
  await lines.next();
  await Promise.all([1, 2].map((i) => gh.rest.issues.createComment({ owner: 'o', repo: 'r', issue_number: Number(env.ISSUE), body: `comment ${i}` })));
}
process.exit(0);
