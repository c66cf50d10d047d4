// The mission's draft pull request: its title and body are rendered here (PRODUCT.md §1 step 5),
// and found again by head branch, so a run that died after opening it never opens a second.
import { contractChecklist, stackTable, type AssertionResult, type StackEntry } from './mission-comment.ts';
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

/** This mission's pull request (open or closed) from `branch`, if a run that died had opened it. */
export async function findPullRequest(gh: GitHub, ref: RepoRef, branch: string, missionId: number): Promise<{ number: number; html_url: string } | null> {
  const { data } = await gh.rest.pulls.list({ ...ref, head: `${ref.owner}:${branch}`, state: 'all', per_page: 10 });
  const ours = data.find((pr) => pr.body?.includes(`<!-- ${PULL_REQUEST_MARKER} mission=${missionId} -->`));
  return ours ? { number: ours.number, html_url: ours.html_url } : null;
}
