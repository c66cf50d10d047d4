// Finish (PRODUCT.md §1 step 7): every assertion passed, so the pull request is marked ready for
// review (GitHub's GraphQL mutation; REST has none) and a summary says what was built, the contract
// with its evidence, the rounds, the time and the cost by role.
import { setDraft } from '../github/pull-request.ts';
import type { GitHub } from '../github/repository.ts';
import { findOrPostSummary, renderSummary } from '../github/summary.ts';
import type { Mission } from '../store/missions.ts';
import { showBoard } from './board.ts';
import { formatDuration } from './lifecycle.ts';
import { appBot, missionPageUrl, type MissionContext } from './context.ts';
import type { Plan } from './plan.ts';
import type { Triage } from '../agents/triage.ts';
import { dispositionTable, fixesOf } from './round-items.ts';
import { redactSecrets, secretValues } from '../secrets.ts';

export async function finishMission(ctx: MissionContext, gh: GitHub, mission: Mission): Promise<void> {
  const { store } = ctx;
  const ref = { owner: mission.owner, repo: mission.repo };
  const plan = mission.contract as Plan;
  const verdicts = await store.latestVerdicts(mission.id);
  // Never done while an assertion failed or was not checked.
  const unchecked = plan.assertions.filter((a) => verdicts.get(a.id)?.status !== 'pass').map((a) => a.id);
  if (unchecked.length) throw new Error(`finish reached with assertions not passed: ${unchecked.join(', ')}`);
  await setDraft(gh, ref, mission.pr_number!, false);
  const features = await store.features(mission.id);
  const runs = await store.validationRuns(mission.id);
  const costs = await store.costByRole(mission.id);
  const secrets = secretValues(process.env);
  const elapsed = formatDuration(Date.now() - new Date(mission.approved_at!).getTime());
  await findOrPostSummary(gh, { ...ref, bot: await appBot(ctx) }, mission.pr_number!, { missionId: mission.id, rounds: runs.length }, () =>
    renderSummary({
      plan,
      features: features.map((f) => ({ id: f.id, title: f.title, commit: f.commit_sha ?? '', fix: !!f.fix_for })),
      evidence: plan.assertions.map((a) => {
        const verdict = verdicts.get(a.id)!;
        const review = runs.find((r) => r.milestone === verdict.milestone && r.round === verdict.round)?.review_id;
        return { id: a.id, statement: a.statement, evidence: verdict.evidence, ...(review && mission.pr_url ? { link: `${mission.pr_url}#pullrequestreview-${review}` } : {}) };
      }),
      rounds: runs.length,
      findings: runs
        .filter((r) => r.items?.length)
        .map((r) => ({
          label: `Milestone ${r.milestone}, round ${r.round}: ${r.items!.length} item(s)${r.triage ? `, triage: ${(r.triage as Triage).decision}` : ''}`,
          table: dispositionTable(r.items!, r.triage as Triage | null, fixesOf(features, r), (text) => redactSecrets(text, secrets)),
        })),
      elapsed,
      costs,
      page: missionPageUrl(ctx, mission.id),
    }),
  );
  await store.markDone(mission.id);
  // Its kept setups (prepared.ts) and throwaway checkouts free their disk; a reopened mission installs once more.
  ctx.workspaces.release(mission.id);
  await showBoard(ctx, gh, mission.id);
  ctx.log.info({ missionId: mission.id }, 'mission done');
}
