// A process that writes two comments through Probot's Octokit when told to (a line on stdin, after it
// printed `ready`), with its throttling shared through REDIS_URL when set: what each worker process
// does with its writes.
import { createInterface } from 'node:readline';
import { Probot } from 'probot';
import pino from 'pino';

const env = process.env;
const probot = new Probot({ appId: 1, privateKey: env.PRIVATE_KEY!, baseUrl: env.GITHUB_URL!, log: pino({ level: 'silent' }), ...(env.REDIS_URL ? { redisConfig: env.REDIS_URL } : {}) });
const gh = await probot.auth(1);
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await new Promise((resolve) => lines.once('line', resolve));
await Promise.all([1, 2].map((i) => gh.rest.issues.createComment({ owner: 'o', repo: 'r', issue_number: Number(env.ISSUE), body: `comment ${i}` })));
process.exit(0);
