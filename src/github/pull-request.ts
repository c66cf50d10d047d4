// The mission's draft pull request: its title and body are rendered here (PRODUCT.md §1 step 5),
// and found again by head branch, so a run that died after opening it never opens a second.
import { contractChecklist, stackTable, type AssertionResult, type StackEntry } from './mission-comment.ts';
import { writtenBy } from './authorship.ts';
import type { GitHub, RepoRef } from './repository.ts';
import type { Plan } from '../mission/plan.ts';

export const PULL_REQUEST_MARKER = 'missions:pull-request';

export interface PullRequestView {
  missionId: number;
  issueNumber: number;
  plan: Plan;
  features: StackEntry[];
  status: string;
  results?: Map<string, AssertionResult>;
}

export const pullRequestTitle = (issueNumber: number, title: string) => `Mission #${issueNumber}: ${title}`;

export function renderPullRequestBody(view: PullRequestView): string {
  return [
    `<!-- ${PULL_REQUEST_MARKER} mission=${view.missionId} -->`,
    view.plan.summary.trim(),
    '',
    `**Status:** ${view.status}`,
    '',
    '### Stack',
    '',
    'One commit per feature, in build order.',
    '',
    ...stackTable(view.features),
    '',
    '### Validation contract',
    '',
    ...contractChecklist(view.plan, view.results),
    '',
    `Closes #${view.issueNumber}`,
  ].join('\n');
}

/**
 * This mission's draft pull request from `branch`: the one a run that died had opened (the app's
 * own, open or closed), or a new one.
 */
export async function findOrOpenPullRequest(
  gh: GitHub,
  ref: RepoRef & { bot: string },
  open: { branch: string; base: string; title: string; view: PullRequestView },
): Promise<{ number: number; html_url: string }> {
  const { bot, ...repo } = ref;
  const { data } = await gh.rest.pulls.list({ ...repo, head: `${repo.owner}:${open.branch}`, state: 'all', per_page: 10 });
  const marker = `<!-- ${PULL_REQUEST_MARKER} mission=${open.view.missionId} -->`;
  const ours = data.find((pr) => writtenBy(bot)(pr) && (pr.body ?? '').startsWith(marker));
  if (ours) return { number: ours.number, html_url: ours.html_url };
  const { data: pr } = await gh.rest.pulls.create({ ...repo, title: open.title, head: open.branch, base: open.base, draft: true, body: renderPullRequestBody(open.view) });
  return { number: pr.number, html_url: pr.html_url };
}

/** The body only: a maintainer may retitle the pull request. */
export async function editPullRequestBody(gh: GitHub, ref: RepoRef, pullNumber: number, view: PullRequestView): Promise<void> {
  await gh.rest.pulls.update({ ...ref, pull_number: pullNumber, body: renderPullRequestBody(view) });
}
