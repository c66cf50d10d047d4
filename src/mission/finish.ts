// Finish (PRODUCT.md §1 step 7): every assertion passed, so the pull request is marked ready for
// review (GitHub's GraphQL mutation; REST has none) and a summary says what was built, the contract
// with its evidence, the rounds, the time and the cost by role.
import { replies } from '../github/replies.ts';
import type { GitHub } from '../github/repository.ts';
import { formatDuration } from '../github/replies.ts';
import type { Mission } from '../store/missions.ts';
import { showBoard } from './board.ts';
import type { MissionContext } from './context.ts';
import type { Plan } from './plan.ts';

export async function finishMission(ctx: MissionContext, gh: GitHub, mission: Mission): Promise<void> {
  const { store } = ctx;
  const ref = { owner: mission.owner, repo: mission.repo };
  const plan = mission.contract as Plan;
  const verdicts = await store.latestVerdicts(mission.id);
  // Never done while an assertion failed or was not checked.
  const unchecked = plan.assertions.filter((a) => verdicts.get(a.id)?.status !== 'pass').map((a) => a.id);
  if (unchecked.length) throw new Error(`finish reached with assertions not passed: ${unchecked.join(', ')}`);
  const { data: pr } = await gh.rest.pulls.get({ ...ref, pull_number: mission.pr_number! });
  if (pr.draft) {
    await gh.graphql(`mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }`, { id: pr.node_id });
  }
  const features = await store.features(mission.id);
  const runs = await store.validationRuns(mission.id);
  const costs = await store.costByRole(mission.id);
  const elapsed = formatDuration(Date.now() - new Date(mission.approved_at!).getTime());
  // Once per finish: a step that died after posting it finds it (a /fix finishes again, with more rounds).
  const marker = `<!-- missions:summary mission=${mission.id} rounds=${runs.length} -->`;
  const posted = (await gh.paginate(gh.rest.issues.listComments, { ...ref, issue_number: mission.pr_number!, per_page: 100 })).some((c) => c.body?.includes(marker));
  if (!posted) await gh.rest.issues.createComment({
    ...ref,
    issue_number: mission.pr_number!,
    body: marker + '\n' + replies.finished({
      plan,
      features: features.map((f) => ({ id: f.id, title: f.title, commit: f.commit_sha ?? '', fix: !!f.fix_for })),
      evidence: plan.assertions.map((a) => {
        const verdict = verdicts.get(a.id)!;
        const review = runs.find((r) => r.milestone === verdict.milestone && r.round === verdict.round)?.review_id;
        return { id: a.id, statement: a.statement, evidence: verdict.evidence, ...(review && mission.pr_url ? { link: `${mission.pr_url}#pullrequestreview-${review}` } : {}) };
      }),
      rounds: runs.length,
      elapsed,
      costs,
    }),
  });
  await store.markDone(mission.id);
  await showBoard(gh, store, mission.id);
  ctx.log.info({ missionId: mission.id }, 'mission done');
}
