// Octokit's throttling kept in Redis (REDIS_URL) is Bottleneck's Redis datastore. Its scripts answer
// a limiter Redis no longer knows (Redis restarted without its data, a process stalled past the
// heartbeat) with SETTINGS_KEY_NOT_FOUND or UNKNOWN_CLIENT, and Bottleneck registers again on those
// words; but Redis 7 prefixes a script's error with "ERR ", Bottleneck 2.19.5 compares the whole
// message, and every later call of that process fails for good (SGrondin/bottleneck#205, #212, #219:
// open, no release since 2019). The callback each script reply goes through is wrapped here to give
// Bottleneck the words it checks, so it registers again as it was written to.
import { createRequire } from 'node:module';

const RECOVERABLE = /^ERR (SETTINGS_KEY_NOT_FOUND|UNKNOWN_CLIENT)$/;
let patched = false;

type ScriptCallback = (error: Error | null, replies: unknown) => void;

/** Makes Bottleneck's Redis datastore recover on Redis 7 as it does on Redis 6; idempotent. */
export function recoverableRedisThrottling(): void {
  if (patched) return;
  patched = true;
  // The same module instance Probot's throttling plugin loads (CommonJS caches it by path).
  const require = createRequire(import.meta.url);
  const connection = require('bottleneck/lib/IORedisConnection.js') as { prototype: { __scriptArgs__: (name: string, id: string, args: unknown[], cb: ScriptCallback) => unknown[] } };
  const scriptArgs = connection.prototype.__scriptArgs__;
  // Another Bottleneck than 2.19.5 (pinned in package.json) may not have it: left alone then.
  if (typeof scriptArgs !== 'function') return;
  connection.prototype.__scriptArgs__ = function (name, id, args, cb) {
    const answer: ScriptCallback = (error, replies) => {
      if (error && RECOVERABLE.test(error.message)) error.message = error.message.slice('ERR '.length);
      cb(error, replies);
    };
    return scriptArgs.call(this, name, id, args, answer);
  };
}
