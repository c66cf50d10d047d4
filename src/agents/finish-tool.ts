// A role's finish tool: a zod schema the model sees as the tool's input schema, plus the app's own
// rules. Input that fails either goes back to the model as a tool error naming what is wrong.
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import type { BetaRunnableTool } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import { z } from 'zod';

export interface Finish<T = unknown> {
  tool: string;
  value: T;
}

export interface FinishTool<T> {
  name: string;
  /** Built per run: `onFinish` receives the accepted input. */
  build(onFinish: (finish: Finish<T>) => void): BetaRunnableTool<T>;
}

export function finishTool<S extends z.ZodObject>(options: {
  name: string;
  description: string;
  schema: S;
  /** The app's rules beyond the schema; each string is one problem shown to the model. */
  check?: (value: z.infer<S>) => string[];
}): FinishTool<z.infer<S>> {
  const { name, description, schema, check } = options;
  return {
    name,
    build(onFinish) {
      const tool = betaZodTool({
        name,
        description,
        inputSchema: schema,
        run: (value) => {
          onFinish({ tool: name, value });
          return `${name} accepted.`;
        },
      });
      tool.parse = (input: unknown) => {
        const parsed = schema.safeParse(input);
        if (!parsed.success) {
          throw new ToolError(`${name} input is invalid:\n${z.prettifyError(parsed.error)}\nCorrect it and call ${name} again.`);
        }
        const problems = check?.(parsed.data) ?? [];
        if (problems.length) {
          throw new ToolError(`${name} was not accepted:\n- ${problems.join('\n- ')}\nCorrect it and call ${name} again.`);
        }
        return parsed.data;
      };
      return tool;
    },
  };
}
