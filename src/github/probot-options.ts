// What every Probot of a process is made with, in one place: the app process and the tests that stand
// for several processes build theirs alike.
import type { RunSettings } from '../start/environment.ts';
import { recoverableRedisThrottling } from './bottleneck-redis7.ts';

/** What every Probot of the process is made with: the app, GitHub (or GHE), and Octokit's throttling in Redis when REDIS_URL is set. */
export function probotOptions<L>(settings: Pick<RunSettings, 'appId' | 'privateKey' | 'githubBaseUrl' | 'redisUrl'>, log: L) {
  if (settings.redisUrl) recoverableRedisThrottling();
  return {
    appId: settings.appId,
    privateKey: settings.privateKey,
    log,
    ...(settings.githubBaseUrl ? { baseUrl: settings.githubBaseUrl } : {}),
    // One schedule for every process's GitHub writes.
    ...(settings.redisUrl ? { redisConfig: settings.redisUrl } : {}),
  };
}

