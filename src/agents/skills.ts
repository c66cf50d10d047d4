// Skills are markdown, one per role, in the app's skills/ folder. A repository may override a role's
// skill, or add skills every role reads, in .github/missions/skills/ (same layout). The repository's
// files come from its default branch, which only people with write access can change.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_SKILLS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'skills');
export const REPO_SKILLS_DIR = join('.github', 'missions', 'skills');
const ROLE_SKILLS = ['planner', 'worker', 'scrutiny', 'user-testing', 'triage'];

export interface LoadedSkills {
  /** The role's skill, from the repository when it overrides it. */
  role: { name: string; source: 'app' | 'repository'; text: string };
  /** Extra skills the repository adds, in name order. */
  extra: { name: string; text: string }[];
}

export function loadSkills(role: string, checkout?: string): LoadedSkills {
  const repoDir = checkout ? join(checkout, REPO_SKILLS_DIR) : undefined;
  const repoFile = repoDir && join(repoDir, `${role}.md`);
  const role_ =
    repoFile && existsSync(repoFile) ?
      { name: role, source: 'repository' as const, text: readFileSync(repoFile, 'utf8') }
    : { name: role, source: 'app' as const, text: readFileSync(join(APP_SKILLS_DIR, `${role}.md`), 'utf8') };
  const extra =
    repoDir && existsSync(repoDir) ?
      readdirSync(repoDir)
        .filter((f) => f.endsWith('.md') && !ROLE_SKILLS.includes(f.slice(0, -3)))
        .sort()
        .map((f) => ({ name: f.slice(0, -3), text: readFileSync(join(repoDir, f), 'utf8') }))
    : [];
  return { role: role_, extra };
}

export function renderSkills(skills: LoadedSkills): string {
  const parts = [skills.role.text.trim()];
  for (const s of skills.extra) parts.push(`# Repository skill: ${s.name}\n\n${s.text.trim()}`);
  return parts.join('\n\n');
}
