// The SDK's file tools (read, write, edit, glob, grep) for one role, confined to the checkout, with
// an empty environment for anything they spawn. Its read returns bare text; ours numbers the lines,
// since scrutiny cites them and workers aim view_range with them. One guard the SDK lacks: its glob expands braces
// synchronously on the event loop, so `{a,b}` repeated two dozen times held the whole process for a
// minute, out of reach of any deadline; a pattern that expands to too many is refused instead.
import { betaAgentToolset20260401 } from '@anthropic-ai/sdk/tools/agent-toolset/node';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import type { BetaRunnableTool } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';

/** At most this many patterns a glob's braces may expand to. */
export const MAX_GLOB_EXPANSION = 256;

export function fileTools(workdir: string, names: string[]): BetaRunnableTool[] {
  return betaAgentToolset20260401({ workdir, env: {} })
    .filter((tool) => names.includes(tool.name))
    .map((tool) =>
      tool.name === 'read' ? numberedRead(tool)
      : tool.name !== 'glob' ? tool
      : (
        ({
          ...tool,
          run: (input: { pattern?: string }, context?: unknown) => {
            const pattern = String(input?.pattern ?? '');
            if (pattern.length > 1_000 || braceExpansion(pattern) > MAX_GLOB_EXPANSION || (pattern.match(/\*\*/g)?.length ?? 0) > 4) {
              throw new ToolError(`glob: the pattern expands to more than ${MAX_GLOB_EXPANSION} patterns; use fewer braces (or grep, or bash with find).`);
            }
            return tool.run(input, context as never);
          },
        }) as BetaRunnableTool
      ),
    );
}

/**
 * How many patterns the braces of `pattern` make: the product of each group's options. Nested
 * groups, ranges (`{1..300}`) and an unclosed `{` count as too many: they are what made the SDK's
 * glob expand for tens of seconds, and a worker can say the same without them.
 */
function braceExpansion(pattern: string): number {
  let total = 1;
  let options = 0;
  let open = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{') {
      if (open) return Infinity;
      open = true;
      options = 1;
    } else if (c === ',' && open) options++;
    else if (c === '.' && open && pattern[i + 1] === '.') return Infinity;
    else if (c === '}' && open) {
      open = false;
      total *= options;
    }
  }
  return open ? Infinity : total;
}

/** `read` with each line numbered as `cat -n` does (from view_range's start), so findings can cite lines. */
function numberedRead(tool: BetaRunnableTool): BetaRunnableTool {
  return {
    ...tool,
    description: `${(tool as { description?: string }).description ?? ''} Lines come numbered ("   12\\t…"); the number and tab are not part of the file.`,
    run: async (input: { view_range?: number[] }, context?: unknown) => {
      const output = await tool.run(input as never, context as never);
      if (typeof output !== 'string') return output;
      const first = Math.max(1, input?.view_range?.[0] ?? 1);
      const lines = output.split('\n');
      if (lines.at(-1) === '') lines.pop();
      return lines.map((line, i) => `${String(first + i).padStart(6)}\t${line}`).join('\n');
    },
  } as BetaRunnableTool;
}
