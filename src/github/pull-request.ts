// The mission's draft pull request: its title and body are rendered here (PRODUCT.md §1 step 5); it
// is found again by head branch, author (the app's bot) and marker, so a run that died after opening
// it never opens a second; its draft state is switched here (GraphQL: REST has no such mutation).
import { contractChecklist, stackTable, type AssertionResult, type StackEntry } from './mission-comment.ts';
import { writtenBy } from './authorship.ts';
import type { GitHub, RepoRef } from './repository.ts';
import type { Plan } from '../mission/plan.ts';

const markerOf = (missionId: number) => `<!-- missions:pull-request mission=${missionId} -->`;

export interface PullRequestView {
  missionId: number;
  issueNumber: number;
  plan: Plan;
  features: StackEntry[];
  status: string;
  results?: Map<string, AssertionResult>;
  /** The mission's page in Mission Control (when MISSIONS_PUBLIC_URL is set). */
  page?: string | undefined;
}

export const pullRequestTitle = (issueNumber: number, title: string) => `Mission #${issueNumber}: ${title}`;

export function renderPullRequestBody(view: PullRequestView): string {
  return [
    markerOf(view.missionId),
    view.plan.summary.trim(),
    '',
    `**Status:** ${view.status}`,
    '',
    ...(view.page ? [`Every agent run, its transcript and each assertion's verdicts: [Mission Control](${view.page}).`, ''] : []),
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
  const ours = data.find((pr) => writtenBy(bot)(pr) && (pr.body ?? '').startsWith(markerOf(open.view.missionId)));
  if (ours) return { number: ours.number, html_url: ours.html_url };
  const { data: pr } = await gh.rest.pulls.create({ ...repo, title: open.title, head: open.branch, base: open.base, draft: true, body: renderPullRequestBody(open.view) });
  return { number: pr.number, html_url: pr.html_url };
}

/** The body only: a maintainer may retitle the pull request. */
export async function editPullRequestBody(gh: GitHub, ref: RepoRef, pullNumber: number, view: PullRequestView): Promise<void> {
  await gh.rest.pulls.update({ ...ref, pull_number: pullNumber, body: renderPullRequestBody(view) });
}

/** Marks the pull request ready for review (`draft: false`) or back to draft; nothing when it already is. */
export async function setDraft(gh: GitHub, ref: RepoRef, pullNumber: number, draft: boolean): Promise<void> {
  const { data: pr } = await gh.rest.pulls.get({ ...ref, pull_number: pullNumber });
  if (pr.draft === draft) return;
  const mutation = draft ? 'convertPullRequestToDraft' : 'markPullRequestReadyForReview';
  await gh.graphql(`mutation($id: ID!) { ${mutation}(input: { pullRequestId: $id }) { pullRequest { isDraft } } }`, { id: pr.node_id });
}
