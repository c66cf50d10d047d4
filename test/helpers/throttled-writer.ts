// A process that writes two comments through a Probot made as the app makes its own (probotOptions,
// REDIS_URL included) when told to: a line on stdin, after it printed `ready`. What each worker
// process does with its writes.
import { createInterface } from 'node:readline';
import { Probot } from 'probot';
import pino from 'pino';
import { probotOptions } from '../../src/start/environment.ts';

const env = process.env;
const probot = new Probot(
  probotOptions({ appId: 1, privateKey: env.PRIVATE_KEY!, githubBaseUrl: env.GITHUB_URL!, ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}) }, pino({ level: 'silent' })),
);
const gh = await probot.auth(1);
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await new Promise((resolve) => lines.once('line', resolve));
await Promise.all([1, 2].map((i) => gh.rest.issues.createComment({ owner: 'o', repo: 'r', issue_number: Number(env.ISSUE), body: `comment ${i}` })));
process.exit(0);
