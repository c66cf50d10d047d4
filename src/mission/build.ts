// The build step of a mission: one feature per step, in plan order. The code holds what must never
// bend (order, one commit per feature, budgets, who may go on); how a feature is approached lives in
// the worker's skill. The pushed branch is the truth about what is built: every step starts by
// reading it, so a step that died anywhere is simply run again.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { AgentGaveUp, AgentStopped } from '../agents/runtime.ts';
import { runWorker, type Handoff } from '../agents/worker.ts';
import { findOrOpenPullRequest, pullRequestTitle } from '../github/pull-request.ts';
import { replies, reply } from '../github/replies.ts';
import { loadConfigAt, type GitHub } from '../github/repository.ts';
import { unmention } from '../github/untrusted.ts';
import { redactSecrets, secretValues } from '../secrets.ts';
import type { FeatureRow, LastAttempt, Mission, ValidationRun } from '../store/missions.ts';
import { branchName, MissionBranch, type GitIdentity } from '../workspace/branch.ts';
import { repoCommands, setupMayUseNetwork } from '../workspace/repo-commands.ts';
import { Sandbox } from '../workspace/sandbox.ts';
import { showBoard, stackOf } from './board.ts';
import { buildStatus } from './lifecycle.ts';
import { agentRuntime, appBot, missionPageUrl, type MissionContext } from './context.ts';
import { ConfigInvalid, describeFailure, turnCapHint, worthAnotherRun } from './failures.ts';
import { runSetup } from './setup.ts';
import { cancelledNow, watchCancellation, type Cancellation } from './cancellation.ts';
import { finishMission } from './finish.ts';
import { publishRound, validateMilestone, type MilestoneToValidate } from './validate.ts';
import type { Plan } from './plan.ts';
import { itemsToFix } from './round-items.ts';

export async function buildStep(ctx: MissionContext, missionId: number): Promise<void> {
  const mission = await ctx.store.get(missionId);
  // Only a building mission goes on; paused, cancelled and built ones wait for a command. A round
  // whose stop paused the mission before the step died is still shown (build() shows it, then stops).
  const unshown = mission.state === 'paused' && (await ctx.store.validationRuns(missionId)).some((r) => r.review_id === null);
  if (mission.state !== 'building' && !unshown) {
    ctx.log.info({ missionId, state: mission.state }, 'build step: nothing to build in this state');
    return;
  }
  ctx.log.debug({ missionId }, 'build step');
  const gh = await ctx.github(mission.installation_id);
  const cancellation = watchCancellation(ctx.store, missionId);
  try {
    await build(ctx, gh, mission, cancellation);
  } catch (error) {
    if (error instanceof AgentStopped) {
      ctx.log.info({ missionId, reason: error.message }, 'worker stopped');
      await showBoard(ctx, gh, missionId);
      return;
    }
    const what = describeFailure(error, 'building');
    ctx.log.error({ err: error, missionId }, `build step failed: ${what}`);
    await ctx.store.fail(missionId, what);
    await ctx.store.setActivity(missionId, null);
    await showBoard(ctx, gh, missionId);
    // Said plainly in the thread too, with the command that goes on.
    await reply(gh, mission, mission.issue_number, replies.buildFailed(what));
  } finally {
    cancellation.dispose();
  }
}

async function build(ctx: MissionContext, gh: GitHub, initial: Mission, cancellation: Cancellation): Promise<void> {
  const { store, log } = ctx;
  const id = initial.id;
  const ref = { owner: initial.owner, repo: initial.repo };
  const plan = initial.contract as Plan;
  // 1. The default branch, fetched into the clone cache.
  const { data: repository } = await gh.rest.repos.get(ref);
  const { token } = (await gh.auth({ type: 'installation' })) as { token: string };
  const request = { repoId: repository.id, missionId: id, cloneUrl: repository.clone_url, token, defaultBranch: repository.default_branch };
  let branch = new MissionBranch(ctx.workspaces, request, initial.branch ?? branchName(initial.issue_number, plan.title));
  const defaultTip = await branch.refresh();
  // 2. The config of the moment (models, commands, budget and sandbox may change between steps), as
  //    the default branch holds it now.
  const loaded = await loadConfigAt(gh, ref, (path) => branch.fileAt(defaultTip, path));
  if (!loaded.ok) throw new ConfigInvalid(loaded.problems);
  const config = loaded.config;
  // The branch is fixed on the first step: its name and the default-branch commit it starts from.
  if (!initial.branch) {
    // An earlier mission on this issue (cancelled, then labelled again) may have left the branch: never build on it.
    if (await branch.pushedTip()) branch = new MissionBranch(ctx.workspaces, request, `${branch.branch}-m${id}`);
    await store.setBranch(id, branch.branch, defaultTip);
  }
  let mission = await store.get(id);
  if (mission.branch !== branch.branch) branch = new MissionBranch(ctx.workspaces, request, mission.branch!);
  const base = mission.base_sha!;
  // 3. What the pushed branch holds is committed, whatever the store last knew (a step may have
  //    died between its push and its record).
  const pushed = await branch.stack(base);
  const features = await store.features(id);
  for (const commit of pushed) {
    const row = features.find((f) => f.id === commit.featureId);
    if (row && row.commit_sha !== commit.sha) await store.commitFeature(id, row.id, commit.sha, null);
  }
  // 4. The draft pull request exists as soon as a commit does.
  if (pushed.length && !mission.pr_number) await openPullRequest(ctx, gh, mission, repository.default_branch);
  mission = await store.get(id);
  const secrets = secretValues(process.env, [token]);
  const validation = { mission, branch, config, cachePath: ctx.workspaces.cachePath(repository.id), base, secrets, cancellation };
  // A round stored by a step that died before its review was posted is shown now.
  for (const run of await store.validationRuns(id)) if (run.review_id === null) await publishRound(ctx, gh, validation, run);
  mission = await store.get(id);
  if (mission.state !== 'building') return;
  const action = nextAction(await store.features(id), await store.validationRuns(id));
  if (action.kind === 'finish') {
    await finishMission(ctx, gh, mission);
    return;
  }
  // 5. The budget is checked before every feature and every validation, never in the middle of one.
  const over = await budgetReached(ctx, mission, config.budget, action.kind === 'build' ? action.feature.id : `validating milestone ${action.target.milestone}`);
  if (over) {
    if (await store.pause(id, 'budget', over.status)) {
      await showBoard(ctx, gh, id);
      await reply(gh, ref, mission.issue_number, over.message);
    }
    return;
  }
  if (action.kind === 'validate') {
    const outcome = await validateMilestone(ctx, gh, { ...validation, mission }, action.target);
    if (outcome !== 'stopped' && (await store.stateOf(id)) === 'building') await ctx.queue.requestStep({ missionId: id });
    return;
  }
  const next = action.feature;
  // 6. A clean checkout of the pushed tip, set up once (or given a copy of a kept setup: prepared.ts).
  const identity = await botIdentity(ctx, gh);
  const checkout = await branch.checkoutTip(base, identity);
  const sandbox = new Sandbox(checkout.dir, { hide: ctx.hiddenPaths, readOnly: [ctx.workspaces.cachePath(repository.id)], log });
  const commands = repoCommands(checkout.dir, config.commands);
  const setupNetwork = async (setup: string) =>
    setupMayUseNetwork(config.sandbox.network, await branch.changedPaths(base, checkout.head), setup, branch.files(base), branch.files(checkout.head));
  await setUp(sandbox, commands.setup, { fresh: checkout.fresh, network: setupNetwork, cancellation, branch, head: checkout.head, log });
  // 7. A fresh worker for the feature.
  await store.startFeature(id, next.id);
  await showBoard(ctx, gh, id, { pullRequest: false });
  const done = (await store.features(id)).filter((f) => f.state === 'committed');
  // Where a retry starts from, in the words of the replies.
  const from = pushed.length || done.length ? `the last pushed commit (${checkout.head.slice(0, 7)})` : `the default branch (${checkout.head.slice(0, 7)})`;
  let handoff: Handoff;
  try {
    ({ handoff } = await runWorker(
      {
        owner: mission.owner,
        repo: mission.repo,
        issueNumber: mission.issue_number,
        contract: plan,
        feature: { id: next.id, title: next.title, description: next.description, milestone: next.milestone, assertion_ids: next.assertion_ids, fixFor: next.fix_for },
        lastAttempt: next.last_attempt,
        // A fix feature is shown what its round found, with the evidence, not told to look elsewhere.
        ...(next.fix_for ? { fixing: itemsToFix((await store.validationRuns(id)).find((r) => `${r.milestone}#${r.round}` === next.fix_for), next) } : {}),
        features: (await store.features(id)).map((f) => ({ id: f.id, title: f.title })),
        previous: done.map((f) => ({ featureId: f.id, title: f.title, handoff: (f.handoff as Handoff | null) ?? null })),
        commands,
        network: config.sandbox.network,
        sandbox,
        base: branch.files(base),
      },
      agentRuntime(ctx, id, 'worker', config, next.id, log),
    ));
  } catch (error) {
    if (!worthAnotherRun(error)) throw error;
    const said = error instanceof AgentGaveUp ? error.message : describeFailure(error, 'building').replace(/\.$/, '');
    const lastWords = error instanceof AgentGaveUp && error.lastWords ? ` Its last words: ${error.lastWords}` : '';
    await retryOrPause(ctx, gh, mission, next, { status: 'failed', summary: `The worker stopped without a handoff (${said}).${lastWords}`, left_undone: [], issues_found: [] }, {
      status: `the worker of ${next.id} stopped without a handoff (${said})`,
      message: error instanceof AgentGaveUp ? replies.workerGaveUp(next.id, next.title, error.message, from, turnCapHint(error)) : replies.workerGaveUp(next.id, next.title, said, from, ''),
    }, secrets);
    return;
  }
  // 8. Only a complete handoff is committed; anything else is tried once more, then pauses with the worker's own words.
  if (handoff.status !== 'complete') {
    await retryOrPause(ctx, gh, mission, next, { status: handoff.status, summary: handoff.summary, left_undone: handoff.left_undone, issues_found: handoff.issues_found }, {
      status: `${next.id}'s worker handed off \`${handoff.status}\``,
      message: replies.workerStopped(next.id, next.title, handoff, from),
    }, secrets);
    return;
  }
  const cancelled = async () => (await cancelledNow(store, id)) !== null;
  if (await cancelled()) {
    log.info({ missionId: id, feature: next.id }, 'cancelled while the worker ran: nothing is committed');
    return;
  }
  const sha = await branch.commit(
    checkout.head,
    { featureId: next.id, title: next.title, summary: handoff.summary, assertionIds: next.assertion_ids },
    identity,
    secrets,
  );
  if (await cancelled()) return;
  await branch.push(sha);
  await store.commitFeature(id, next.id, sha, handoff);
  log.info({ missionId: id, feature: next.id, sha }, 'feature committed and pushed');
  // 9. The stack on GitHub, then the next feature unless the mission was paused or cancelled meanwhile.
  mission = await store.get(id);
  if (!mission.pr_number && mission.state !== 'cancelled') await openPullRequest(ctx, gh, mission, repository.default_branch);
  // Still building: the next step starts at once and shows the board with this commit and what it
  // does next, so here only the pull request's stack is updated (one board edit per feature, not two).
  // Paused or cancelled meanwhile: the board says so now.
  if ((await store.stateOf(id)) === 'building') {
    await showBoard(ctx, gh, id, { board: false });
    await ctx.queue.requestStep({ missionId: id });
  } else {
    await showBoard(ctx, gh, id);
  }
}

type NextAction = { kind: 'build'; feature: FeatureRow } | { kind: 'validate'; target: MilestoneToValidate } | { kind: 'finish' };

/**
 * What the mission does next, from the features and the validation rounds: milestones in order, each
 * built (its features, then any fix features) and then validated at its newest commit until a round
 * passes; when every milestone has passed, finish.
 */
export function nextAction(features: FeatureRow[], runs: ValidationRun[]): NextAction {
  const milestones = [...new Set(features.map((f) => f.milestone))];
  for (const milestone of milestones) {
    const own = features.filter((f) => f.milestone === milestone);
    const unbuilt = own.find((f) => f.state !== 'committed');
    if (unbuilt) return { kind: 'build', feature: unbuilt };
    const head = own.at(-1)!.commit_sha!;
    const rounds = runs.filter((r) => r.milestone === milestone);
    const latest = rounds.at(-1);
    if (latest?.commit_sha === head && latest.outcome === 'passed') continue;
    const fixRounds = rounds.filter((r) => r.outcome === 'fixing').length;
    return { kind: 'validate', target: { milestone, round: rounds.length + 1, fixRounds, head, from: `${own[0]!.commit_sha!}^`, features: own } };
  }
  return { kind: 'finish' };
}

/** Opens the draft pull request, or adopts the one a run that died had already opened. */
async function openPullRequest(ctx: MissionContext, gh: GitHub, mission: Mission, defaultBranch: string): Promise<void> {
  const ref = { owner: mission.owner, repo: mission.repo };
  const plan = mission.contract as Plan;
  const features = await ctx.store.features(mission.id);
  const pr = await findOrOpenPullRequest(gh, { ...ref, bot: await appBot(ctx) }, {
    branch: mission.branch!,
    base: defaultBranch,
    title: pullRequestTitle(mission.issue_number, plan.title),
    view: { missionId: mission.id, issueNumber: mission.issue_number, plan, features: stackOf(features, mission), status: buildStatus(mission, features), page: missionPageUrl(ctx, mission.id) },
  });
  await ctx.store.setPullRequest(mission.id, pr.number, pr.html_url);
}

/** Worker runs a feature gets before the mission pauses for a maintainer (PRODUCT.md §4: tried once more). */
export const FEATURE_ATTEMPTS = 2;

/**
 * A worker run that did not complete its feature: the feature is built once more by a fresh worker
 * from the last pushed commit, told what this attempt handed off; the second such run pauses.
 */
async function retryOrPause(
  ctx: MissionContext,
  gh: GitHub,
  mission: Mission,
  feature: FeatureRow,
  attempt: LastAttempt,
  pause: { status: string; message: string },
  secrets: string[],
): Promise<void> {
  const failures = await ctx.store.failAttempt(mission.id, feature.id, attempt);
  if (failures >= FEATURE_ATTEMPTS) {
    // The maintainer sees both attempts: the first may have got further than the second.
    const earlier = feature.last_attempt ? `\n\n${replies.firstAttempt(feature.last_attempt)}` : '';
    await pauseForWorker(ctx, gh, mission, feature.id, pause.status, unmention(redactSecrets(pause.message + earlier, secrets)));
    return;
  }
  ctx.log.info({ missionId: mission.id, feature: feature.id, attempt: attempt.status }, 'worker did not complete its feature; trying once more');
  await showBoard(ctx, gh, mission.id, { pullRequest: false });
  if ((await ctx.store.stateOf(mission.id)) === 'building') await ctx.queue.requestStep({ missionId: mission.id });
}

async function pauseForWorker(ctx: MissionContext, gh: GitHub, mission: Mission, featureId: string, status: string, message: string): Promise<void> {
  if (!(await ctx.store.pause(mission.id, 'worker', status))) return; // cancelled meanwhile
  ctx.log.info({ missionId: mission.id, feature: featureId }, 'mission paused by its worker');
  await showBoard(ctx, gh, mission.id);
  await reply(gh, mission, mission.issue_number, message);
}

async function budgetReached(
  ctx: MissionContext,
  mission: Mission,
  budget: { max_usd: number; max_hours: number },
  nextFeature: string,
): Promise<{ status: string; message: string } | null> {
  const spent = await ctx.store.spent(mission.id);
  const hours = (Date.now() - new Date(mission.approved_at!).getTime()) / 3_600_000;
  if (spent >= budget.max_usd) {
    return { status: `budget reached ($${spent.toFixed(2)} of $${budget.max_usd})`, message: replies.budgetReached('usd', spent, hours, budget, nextFeature) };
  }
  if (hours >= budget.max_hours) {
    return { status: `time budget reached (${hours.toFixed(1)} of ${budget.max_hours} hours)`, message: replies.budgetReached('hours', spent, hours, budget, nextFeature) };
  }
  return null;
}

/**
 * The repository's setup command, once per mission and dependency state; with the network unless the mission changed what
 * it reads. A fresh checkout may get a copy of a kept setup instead, and keeps what it made for later
 * checkouts; one that held an earlier feature's files (its first manifest came with a feature, or a
 * step died during setup) runs setup itself and keeps nothing: what the worker left there is not the
 * commit's.
 */
async function setUp(
  sandbox: Sandbox,
  command: string | undefined,
  how: { fresh: boolean; network: (setup: string) => Promise<boolean>; cancellation: Cancellation; branch: MissionBranch; head: string; log: Logger },
): Promise<void> {
  const marker = join(dirname(sandbox.checkout), 'setup.done');
  if (how.fresh) rmSync(marker, { force: true });
  if (!command || existsSync(marker)) return;
  const install = async () => runSetup(sandbox, command, await how.network(command), how.cancellation);
  if (how.fresh) {
    const done = await how.branch.setUp(sandbox, how.head, command, install);
    how.log.info({ missionId: how.branch.missionId, checkout: 'worker', setup: done }, `setup ${done}`);
  } else {
    await install();
  }
  writeFileSync(marker, command);
}

const identities = new Map<string, Promise<GitIdentity>>();

/** `<slug>[bot]` with its noreply address, as GitHub attributes commits to an app. */
function botIdentity(ctx: MissionContext, gh: GitHub): Promise<GitIdentity> {
  return ctx.appSlug().then((slug) => {
    if (!identities.has(slug)) {
      const login = `${slug}[bot]`;
      const lookup = gh.rest.users.getByUsername({ username: login }).then(({ data }) => ({ name: login, email: `${data.id}+${login}@users.noreply.github.com` }));
      lookup.catch(() => identities.delete(slug));
      identities.set(slug, lookup);
    }
    return identities.get(slug)!;
  });
}
