// The verdicts as check runs on the milestone commit (PRODUCT.md §1 step 6), so branch protection can
// require them: `Missions: scrutiny` and `Missions: contract`, with annotations on faulted lines.
import type { Finding } from '../agents/scrutiny.ts';
import type { GitHub, RepoRef } from './repository.ts';

export const SCRUTINY_CHECK = 'Missions: scrutiny';
export const CONTRACT_CHECK = 'Missions: contract';

const LEVEL = { blocker: 'failure', major: 'warning', minor: 'notice' } as const;

/**
 * Posts a check run once: a round shown again (a step that died after posting) finds the app's own
 * run by its `external_id` instead of stacking a second one on the commit.
 */
export async function postCheckRun(
  gh: GitHub,
  ref: RepoRef & { slug: string },
  run: { name: string; externalId: string; headSha: string; success: boolean; title: string; summary: string; findings?: Finding[] },
): Promise<void> {
  const { slug, ...repo } = ref;
  const existing = await gh.paginate(gh.rest.checks.listForRef, { ...repo, ref: run.headSha, check_name: run.name, per_page: 100 });
  if (existing.some((c) => c.app?.slug === slug && c.external_id === run.externalId)) return;
  const annotations = (run.findings ?? [])
    .filter((f) => f.line !== undefined)
    .slice(0, 50) // GitHub takes at most 50 per request
    .map((f) => ({ path: f.path, start_line: f.line!, end_line: f.line!, annotation_level: LEVEL[f.severity], title: f.title.slice(0, 255), message: f.detail.slice(0, 64_000) }));
  await gh.rest.checks.create({
    ...repo,
    name: run.name,
    external_id: run.externalId,
    head_sha: run.headSha,
    status: 'completed',
    conclusion: run.success ? 'success' : 'failure',
    output: { title: run.title.slice(0, 255), summary: run.summary.slice(0, 65_000), ...(annotations.length ? { annotations } : {}) },
  });
}

/** The repository's own CI on a commit (other apps' check runs and commit statuses), in words for validators. */
export interface CiReport {
  text: string;
  pending: string[];
  awaitingApproval: string[];
}

export async function readCi(gh: GitHub, ref: RepoRef & { slug: string }, sha: string, options: { timeoutMs: number; pollMs?: number }): Promise<CiReport> {
  const { slug, ...repo } = ref;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const [checkRuns, { data: status }] = await Promise.all([
      gh.paginate(gh.rest.checks.listForRef, { ...repo, ref: sha, per_page: 100 }),
      gh.rest.repos.getCombinedStatusForRef({ ...repo, ref: sha, per_page: 100 }),
    ]);
    // The app's own verdicts are not the repository's CI (by the app that posted them, not by name).
    const runs = checkRuns.filter((c) => c.app?.slug !== slug);
    // A run waiting for a maintainer to approve it (a workflow from a fork, a protected environment).
    const awaitingApproval = runs.filter((c) => c.conclusion === 'action_required' || (c.status as string) === 'waiting').map((c) => c.name);
    const pending = [
      ...runs.filter((c) => c.status !== 'completed' && !awaitingApproval.includes(c.name)).map((c) => c.name),
      ...status.statuses.filter((s) => s.state === 'pending').map((s) => s.context),
    ];
    // A run waiting for approval will not move on its own: only pending runs are worth waiting for.
    if (pending.length === 0 || Date.now() >= deadline) {
      const lines = [
        ...runs.filter((c) => c.status === 'completed' && !awaitingApproval.includes(c.name)).map((c) => `- check run \`${c.name}\`: ${c.conclusion}`),
        ...status.statuses.filter((s) => s.state !== 'pending').map((s) => `- status \`${s.context}\`: ${s.state}${s.description ? ` (${s.description})` : ''}`),
        ...pending.map((name) => `- \`${name}\`: still pending after the ${Math.round(options.timeoutMs / 60_000)}-minute wait (not passed)`),
        ...awaitingApproval.map((name) => `- \`${name}\`: waiting for a maintainer to approve the run (not passed)`),
      ];
      return { text: lines.length ? lines.join('\n') : '(no CI reported on this commit)', pending, awaitingApproval };
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 15_000));
  }
}
