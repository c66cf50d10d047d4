// The `bash` tool with the agent toolset's name and input schema (PRODUCT.md §4), run in the
// sandbox instead of a shell that would inherit the app's environment.
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import { z } from 'zod';
import type { Sandbox } from '../workspace/sandbox.ts';

export const DEFAULT_TIMEOUT_MS = 120_000;
export const MAX_TIMEOUT_MS = 30 * 60_000;

export function sandboxedBash(sandbox: Sandbox, options: { network: boolean }) {
  return betaZodTool({
    name: 'bash',
    description:
      'Run a bash command in the repository checkout (the working directory). Each call starts a fresh shell at the checkout root, ' +
      'so chain steps with && and cd inside the command. What a call starts ends with it, and calls may run one after another ' +
      `rather than side by side: start a server and query it in the same command. ${options.network ? '' : 'There is no network. '}` +
      `Commands are killed, with their children, after timeout_ms (default ${DEFAULT_TIMEOUT_MS}).`,
    inputSchema: z.object({
      command: z.string().min(1).describe('The command to run'),
      restart: z.boolean().optional().describe('Accepted for compatibility; every call already starts a fresh shell'),
      timeout_ms: z.number().int().positive().max(MAX_TIMEOUT_MS).optional().describe('Per-call timeout in milliseconds'),
    }),
    run: async ({ command, timeout_ms }, context) => {
      const timeoutMs = timeout_ms ?? DEFAULT_TIMEOUT_MS;
      const result = await sandbox.run(command, { timeoutMs, network: options.network, ...(context?.signal ? { signal: context.signal } : {}) });
      if (context?.signal?.aborted) throw new ToolError('stopped: the run was stopped while the command ran; it was killed.');
      if (result.timedOut) throw new ToolError(`timed out after ${timeoutMs} ms; the command and its children were killed.\n${result.output}`);
      if (result.exitCode !== 0) throw new ToolError(`exit code ${result.exitCode ?? 'none'}\n${result.output}`);
      return result.output || '(no output)';
    },
  });
}
