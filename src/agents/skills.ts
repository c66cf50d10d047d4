// Skills are markdown, one per role, in the app's skills/ folder. A repository may override a role's
// skill, or add skills every role reads, in .github/missions/skills/ (same layout). The planner reads
// them from the default branch it plans on; workers from the commit the mission branch started from,
// so nothing a worker writes becomes a later worker's instructions.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RepoFiles } from '../workspace/repo-files.ts';

export const APP_SKILLS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'skills');
export const REPO_SKILLS_DIR = '.github/missions/skills';
const ROLE_SKILLS = ['planner', 'worker', 'scrutiny', 'user-testing', 'triage'];

export interface LoadedSkills {
  /** The role's skill, from the repository when it overrides it. */
  role: { name: string; source: 'app' | 'repository'; text: string };
  /** Extra skills the repository adds, in name order. */
  extra: { name: string; text: string }[];
}

export async function loadSkills(role: string, repository?: RepoFiles): Promise<LoadedSkills> {
  const override = repository ? await repository.read(`${REPO_SKILLS_DIR}/${role}.md`) : null;
  const roleSkill =
    override !== null ?
      { name: role, source: 'repository' as const, text: override }
    : { name: role, source: 'app' as const, text: readFileSync(join(APP_SKILLS_DIR, `${role}.md`), 'utf8') };
  const extra: LoadedSkills['extra'] = [];
  if (repository) {
    const names = (await repository.list(REPO_SKILLS_DIR)).filter((f) => f.endsWith('.md') && !ROLE_SKILLS.includes(f.slice(0, -3))).sort();
    for (const f of names) {
      const text = await repository.read(`${REPO_SKILLS_DIR}/${f}`);
      if (text !== null) extra.push({ name: f.slice(0, -3), text });
    }
  }
  return { role: roleSkill, extra };
}

export function renderSkills(skills: LoadedSkills): string {
  const parts = [skills.role.text.trim()];
  for (const s of skills.extra) parts.push(`# Repository skill: ${s.name}\n\n${s.text.trim()}`);
  return parts.join('\n\n');
}
