// The planning step of a mission: run the planner over the issue thread and the repository, store
// the outcome as a revision, then show it. Every outcome a maintainer should see ends up in the
// mission comment, errors included, and nothing is shown before it is stored.
import { runPlanner, type ThreadEntry } from '../agents/planner.ts';
import { writtenBy } from '../github/authorship.ts';
import { appQuestions, findOrPostQuestions } from '../github/questions.ts';
import { loadConfig, permissionCache, TRUSTED, type GitHub } from '../github/repository.ts';
import type { Mission, Revision } from '../store/missions.ts';
import { ConfigInvalid, describeFailure } from './failures.ts';
import { agentRuntime, appBot, type MissionContext } from './context.ts';
import { ensureMissionComment, latestPlanView, missionThread, showMission } from './mission-comment.ts';
import type { Plan } from './plan.ts';
import { describeChange } from './revision-change.ts';
import { repoCommands } from '../workspace/repo-commands.ts';

export async function planningStep(ctx: MissionContext, missionId: number): Promise<void> {
  const { store, log } = ctx;
  const mission = await store.get(missionId);
  const gh = await ctx.github(mission.installation_id);
  // 1. A revision stored by a run that died before showing it is shown now.
  if (mission.rendered_revision < mission.revision) {
    await publish(ctx, gh, mission, (await store.revision(mission.id, mission.revision))!);
  }
  // 2. Only a mission with planning to do goes on (feedback, an answer, a new mission, /retry).
  if (mission.state !== 'planning') {
    log.info({ missionId, state: mission.state }, 'planning step: nothing to plan in this state');
    return;
  }
  try {
    await plan(ctx, gh, mission);
  } catch (error) {
    const what = describeFailure(error, 'planning');
    log.error({ err: error, missionId }, `planning failed: ${what}`);
    await store.fail(mission.id, what);
    await showMission(ctx, gh, mission, { kind: 'failed', missionId: mission.id, what, ...(await latestPlanView(store, mission)) });
  }
}

async function plan(ctx: MissionContext, gh: GitHub, mission: Mission): Promise<void> {
  const { store } = ctx;
  const ref = { owner: mission.owner, repo: mission.repo };
  // 3. Config first: an invalid file stops everything with the reason.
  const config = await loadConfig(gh, ref);
  if (!config.ok) throw new ConfigInvalid(config.problems);
  await ensureMissionComment(ctx, gh, mission);
  // 4. The thread as it stands, each entry marked trusted or not.
  const plannedSeq = mission.feedback_seq;
  const [{ data: repository }, { data: issue }, comments] = await Promise.all([
    gh.rest.repos.get(ref),
    gh.rest.issues.get({ ...ref, issue_number: mission.issue_number }),
    gh.paginate(gh.rest.issues.listComments, { ...ref, issue_number: mission.issue_number, per_page: 100 }),
  ]);
  const permission = permissionCache(gh, ref);
  const trusted = async (login: string) => TRUSTED.includes(await permission(login));
  const bot = await appBot(ctx);
  const thread: ThreadEntry[] = [];
  for (const c of comments) {
    const body = c.body ?? '';
    const author = c.user?.login ?? 'ghost';
    if (writtenBy(bot)(c)) {
      // The app's own questions are the planner's earlier words; its mission comment and replies are not.
      const questions = appQuestions(bot, mission.id, c);
      if (questions) thread.push({ author, body: questions, trusted: true, fromApp: true });
      continue;
    }
    // Everyone else's words: trusted for people with write access; other bots' never (markers or not).
    thread.push({ author, body, trusted: c.user?.type !== 'Bot' && (await trusted(author)) });
  }
  const issueAuthor = issue.user?.login ?? 'ghost';
  // 5. A checkout of the default branch, cloned with the installation token.
  const { token } = (await gh.auth({ type: 'installation' })) as { token: string };
  const checkout = await ctx.workspaces.checkoutDefaultBranch({
    repoId: repository.id,
    missionId: mission.id,
    cloneUrl: repository.clone_url,
    token,
    defaultBranch: repository.default_branch,
  });
  const previous = await store.latestPlan(mission.id);
  const outcome = await runPlanner(
    {
      owner: mission.owner,
      repo: mission.repo,
      issue: { number: issue.number, title: issue.title, body: issue.body ?? '', author: issueAuthor, trusted: issue.user?.type !== 'Bot' && (await trusted(issueAuthor)) },
      comments: thread,
      ...(previous ? { previous: { revision: previous.number, plan: previous.body as Plan } } : {}),
      checkout,
      environment: {
        commands: repoCommands(checkout, config.config.commands),
        network: config.config.sandbox.network,
        budget: config.config.budget,
        maxFixRounds: config.config.validation.max_fix_rounds,
      },
    },
    agentRuntime(ctx, mission.id, 'planner', config.config, `revision ${mission.revision + 1}`),
  );
  // 6. Stored, then shown.
  const revision = await store.addRevision(
    mission.id,
    plannedSeq,
    outcome.kind === 'plan' ?
      { kind: 'plan', body: outcome.plan, change: describeChange(previous?.body as Plan | undefined, outcome.plan) }
    : { kind: 'questions', body: { questions: outcome.questions }, change: `asked ${outcome.questions.length} question(s)` },
  );
  if (!revision) {
    ctx.log.info({ missionId: mission.id }, 'mission left planning while the planner ran; its outcome is dropped');
    return;
  }
  const fresh = await store.get(mission.id);
  await publish(ctx, gh, fresh, revision);
  // More feedback arrived while planning: its step is already queued and will revise again.
}

async function publish(ctx: MissionContext, gh: GitHub, mission: Mission, revision: Revision): Promise<void> {
  const { store } = ctx;
  // What a maintainer can see is what they can approve: the revision counts once its edit is sent.
  await store.markShowing(mission.id, revision.number);
  if (revision.kind === 'questions') {
    const commentId =
      revision.comment_id ??
      (await findOrPostQuestions(gh, await missionThread(ctx, mission), mission.id, revision.number, (revision.body as { questions: string[] }).questions));
    await store.setRevisionComment(mission.id, revision.number, commentId);
    const url = `https://github.com/${mission.owner}/${mission.repo}/issues/${mission.issue_number}#issuecomment-${commentId}`;
    await showMission(ctx, gh, mission, { kind: 'questions', missionId: mission.id, questionsUrl: url, revision: revision.number });
  } else {
    await showMission(ctx, gh, mission, {
      kind: 'plan',
      missionId: mission.id,
      revision: revision.number,
      change: revision.change,
      plan: revision.body as Plan,
    });
  }
  await store.markRendered(mission.id, revision.number);
}

