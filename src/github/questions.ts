// The planner's questions (PRODUCT.md §1 step 2): one comment per questions revision, rendered and
// found again here. Only the app's own questions are the planner's earlier words; a comment anyone
// else wrote with the same marker is just another person's text.
import { writtenBy } from './authorship.ts';
import type { MissionThread } from './mission-comment.ts';
import type { GitHub } from './repository.ts';

const QUESTIONS_MARKER = 'missions:questions';

const markerOf = (missionId: number, revision: number) => `<!-- ${QUESTIONS_MARKER} mission=${missionId} revision=${revision} -->`;

export function renderQuestions(missionId: number, revision: number, questions: string[]): string {
  return [
    markerOf(missionId, revision),
    '**Before I plan this mission, a few questions:**',
    '',
    ...questions.map((q, i) => `${i + 1}. ${q}`),
    '',
    'Reply in this issue; your answers continue the planning.',
  ].join('\n');
}

/** The questions comment of that revision: found (a run that died had posted it) or posted. */
export async function findOrPostQuestions(gh: GitHub, thread: MissionThread, missionId: number, revision: number, questions: string[]): Promise<number> {
  const { bot, ...ref } = thread;
  const marker = markerOf(missionId, revision);
  const existing = (await gh.paginate(gh.rest.issues.listComments, { ...ref, per_page: 100 })).find((c) => writtenBy(bot)(c) && (c.body ?? '').startsWith(marker));
  if (existing) return existing.id;
  return (await gh.rest.issues.createComment({ ...ref, body: renderQuestions(missionId, revision, questions) })).data.id;
}

/** This mission's questions as the thread shows them, for the planner's next run; null for anything else. */
export function appQuestions(bot: string, missionId: number, comment: { body?: string; user?: { login?: string } | null }): string | null {
  const body = comment.body ?? '';
  const marker = new RegExp(`^<!-- ${QUESTIONS_MARKER} mission=${missionId} revision=\\d+ -->`).exec(body);
  if (!writtenBy(bot)(comment) || !marker) return null;
  return body.slice(marker[0].length).trim();
}
