// Sections more than one role is told in the same words (PRODUCT.md §4 "What each role is told"):
// the mission's shared notes, contract lines with their verify steps, the repository's commands.
// Each role's module decides which of them its context and its task hold, and in what order
// (bench/output/first-requests/ shows each role's first request).
import type { Plan } from '../mission/plan.ts';
import type { RoundItem } from '../store/missions.ts';
import type { RepoCommands } from '../workspace/repo-commands.ts';
import { checkoutFiles, type RepoFiles } from '../workspace/repo-files.ts';

/**
 * What a run is told, in two parts: the context that every run of its role in the mission is told in
 * the same words (for validators the mission and the commands; a worker also gets the whole
 * contract and the repository's AGENTS.md; the planner the issue and the environment), then the
 * task of this run alone. The context goes first, so the role's later runs read it from the prompt
 * cache; it changes only with what it quotes (a fix round's features, an edited AGENTS.md), which
 * costs one cache write.
 */
export interface Briefing {
  context: string;
  prompt: string;
}

/** The mission as the contexts of workers, validators and triage open: its title (and issue), summary and shared notes. */
export function missionSection(plan: Plan, issueNumber?: number): string[] {
  return [`# Mission${issueNumber ? ` for issue #${issueNumber}` : ''}: ${plan.title}`, plan.summary, ...notesSection(plan)];
}

/** The planner's notes, which every worker and validator receives; empty when the plan has none. */
function notesSection(plan: Plan): string[] {
  return plan.notes ? ["# The mission's notes (written by the planner for every worker and validator)", plan.notes.trim()] : [];
}

/** Contract lines for `ids` (every assertion when absent), each with how it is verified. */
export function contractLines(plan: Plan, ids?: string[]): string {
  const byId = new Map(plan.assertions.map((a) => [a.id, a]));
  const claims = new Map(plan.features.flatMap((f) => f.assertion_ids.map((id) => [id, f.id] as const)));
  return (ids ?? plan.assertions.map((a) => a.id))
    .map((id) => {
      const a = byId.get(id);
      if (!a) return `- **${id}** (not in the contract)`;
      return `- **${id}** ${a.statement}${claims.has(id) ? ` — ${claims.get(id)}` : ''}${a.verify ? `\n  Verify: ${a.verify}` : ''}`;
    })
    .join('\n');
}

/** A validation round's items as triage and a fix worker read them: id, what, and the evidence. */
export function itemLines(items: RoundItem[]): string {
  return items.map((i) => `- **${i.id}** ${i.title}${i.evidence ? `\n  ${i.evidence.trim().replace(/\n/g, '\n  ')}` : ''}`).join('\n');
}

/** The repository's commands, configured or detected; `setup` only when asked for. */
export function commandsText(commands: RepoCommands, options: { setup?: boolean } = {}): string {
  const entries = Object.entries(commands).filter(([k]) => options.setup || k !== 'setup');
  return entries.length ? entries.map(([k, v]) => `- ${k}: \`${v}\``).join('\n') : '(none configured or detected)';
}

const CONTEXT_FILES = ['AGENTS.md', 'CLAUDE.md'];
const MAX_CONTEXT_FILE = 20_000;

/** The repository's own instructions for agents (AGENTS.md, CLAUDE.md), as sections. */
export async function contextFiles(files: RepoFiles | string): Promise<string[]> {
  const repo = typeof files === 'string' ? checkoutFiles(files) : files;
  const out: string[] = [];
  for (const name of CONTEXT_FILES) {
    const text = await repo.read(name);
    if (text !== null) out.push(`# ${name} (from the repository)\n\n${text.slice(0, MAX_CONTEXT_FILE)}`);
  }
  return out;
}
