// Commands: the first word of a comment (PRODUCT.md §2), parsed with zod at the boundary.
import { z } from 'zod';

export const COMMANDS = ['approve', 'cancel', 'pause', 'resume', 'retry', 'status', 'fix'] as const;
export type CommandName = (typeof COMMANDS)[number];

const commandSchema = z.object({
  name: z.string(),
  args: z.string(),
});

export type ParsedCommand = { known: true; name: CommandName; args: string } | { known: false; name: string; args: string };

/** The command a comment starts with, or null when it is not a command (it may be feedback). */
export function parseCommand(body: string): ParsedCommand | null {
  const match = /^\s*\/([A-Za-z][\w-]*)\b[ \t]*([\s\S]*)$/.exec(body);
  if (!match) return null;
  const { name, args } = commandSchema.parse({ name: match[1]!.toLowerCase(), args: match[2]!.trim() });
  return (COMMANDS as readonly string[]).includes(name) ? { known: true, name: name as CommandName, args } : { known: false, name, args };
}
