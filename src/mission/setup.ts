// The repository's setup command on a checkout (the worker's, each validator's, a replay's): one run,
// killed on /cancel, and a failure that gives its exit (or that it was killed) and the end of its
// output, and, when it ran offline, why.
import type { Sandbox } from '../workspace/sandbox.ts';
import type { Cancellation } from './cancellation.ts';
import { SetupFailed } from './failures.ts';

const SETUP_TIMEOUT_MS = 20 * 60_000;

export async function runSetup(sandbox: Sandbox, command: string, network: boolean, cancellation: Cancellation): Promise<void> {
  const result = await sandbox.run(command, { timeoutMs: SETUP_TIMEOUT_MS, network, signal: cancellation.signal });
  cancellation.check();
  if (result.exitCode !== 0) throw new SetupFailed(command, result.exitCode, result.output.trim().split('\n').slice(-15).join('\n'), network);
}
