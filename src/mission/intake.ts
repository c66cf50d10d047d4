// The intake job: what a webhook handler recorded, verified with GitHub (who is asking, with what
// permission, under which config) and acted on. Labels start missions; comments are commands or
// plan feedback. Every path ends in a visible answer or a logged reason for doing nothing.
import { applyContractEdits } from './contract.ts';
import { parseContract, readMissionComment, readMissionMarker } from '../github/mission-comment.ts';
import { setDraft } from '../github/pull-request.ts';
import { replies, reply } from '../github/replies.ts';
import { loadConfig, permissionOf, TRUSTED, type GitHub } from '../github/repository.ts';
import type { Mission } from '../store/missions.ts';
import { isPlanning } from '../store/missions.ts';
import { showBoard } from './board.ts';
import { formatDuration, nowLine } from './lifecycle.ts';
import type { IntakeJob } from '../store/queue.ts';
import { parseCommand, type ParsedCommand } from './commands.ts';
import type { MissionContext } from './context.ts';
import { ensureMissionComment, latestPlanView, missionThread, showMission } from './mission-comment.ts';
import { withoutControls, type Plan } from './plan.ts';

export async function intake(ctx: MissionContext, job: IntakeJob): Promise<void> {
  const key = intakeKey(job);
  if (await ctx.store.isProcessed(key)) {
    ctx.log.info({ key }, 'intake: already handled (redelivered)');
    return;
  }
  const gh = await ctx.github(job.installationId);
  if (job.kind === 'label') await onLabel(ctx, gh, job, key);
  else await onComment(ctx, gh, job);
  await ctx.store.markProcessed(key);
}

const intakeKey = (job: IntakeJob) => (job.kind === 'label' ? `label:${job.deliveryId}` : `comment:${job.commentId}`);

async function onLabel(ctx: MissionContext, gh: GitHub, job: Extract<IntakeJob, { kind: 'label' }>, origin: string): Promise<void> {
  const ref = { owner: job.owner, repo: job.repo };
  // 1. The config says which label starts a mission (an invalid file names it where it can).
  const config = await loadConfig(gh, ref);
  const label = config.ok ? config.config.label : config.label;
  if (job.label !== label) return;
  // 2. Only users with write access start missions, or hear why one cannot start.
  const permission = await permissionOf(gh, ref, job.actor);
  if (!TRUSTED.includes(permission)) {
    ctx.log.info({ actor: job.actor, permission }, 'label ignored: the user has no write access');
    return;
  }
  if (!config.ok) {
    await reply(gh, ref, job.issueNumber, replies.invalidConfig(config.problems));
    return;
  }
  // 3. One mission per issue at a time. A retry of this job finds the mission it created itself.
  const mission = (await ctx.store.create(job, job.actor, origin)) ?? (await ctx.store.live(job.repoId, job.issueNumber));
  if (!mission) return;
  if (mission.origin !== origin) {
    ctx.log.info({ missionId: mission.id }, 'label ignored: the issue already has a live mission');
    return;
  }
  // 4. 👀 and the mission comment, then the planner.
  await ensureMissionComment(ctx, gh, mission);
  await ctx.queue.requestStep({ missionId: mission.id });
}

async function onComment(ctx: MissionContext, gh: GitHub, job: Extract<IntakeJob, { kind: 'comment' }>): Promise<void> {
  // The thread is the mission's issue or its pull request.
  const onIssue = await ctx.store.latest(job.repoId, job.issueNumber);
  const mission = onIssue ?? (await ctx.store.byPullRequest(job.repoId, job.issueNumber));
  if (!mission) return;
  const ref = { owner: job.owner, repo: job.repo };
  const command = parseCommand(job.body);
  // A plain comment once the plan is closed (or on the PR) is conversation, not feedback.
  if (!command && (!onIssue || !isPlanning(mission))) return;
  const permission = await permissionOf(gh, ref, job.actor);
  const trusted = TRUSTED.includes(permission);
  if (!command) {
    // Feedback (or an answer) from a trusted user while the plan is open sends the planner back.
    if (trusted && (await ctx.store.requestPlanning(mission.id))) await ctx.queue.requestStep({ missionId: mission.id });
    return;
  }
  if (!trusted) {
    // Once per user and mission: an outsider's flood of commands must not become a flood of replies.
    if (await ctx.store.markProcessed(`refused:${mission.id}:${job.actor}`)) await reply(gh, ref, job.issueNumber, replies.untrusted(job.actor, command.name));
    else ctx.log.info({ actor: job.actor, missionId: mission.id }, 'command from a user without write access: refused before, not answered again');
    return;
  }
  await runCommand(ctx, gh, mission, job, command, permission, !onIssue);
}

async function runCommand(
  ctx: MissionContext,
  gh: GitHub,
  mission: Mission,
  job: Extract<IntakeJob, { kind: 'comment' }>,
  command: ParsedCommand,
  permission: string,
  onPullRequest: boolean,
): Promise<void> {
  const ref = { owner: job.owner, repo: job.repo };
  const say = (body: string) => reply(gh, ref, job.issueNumber, body);
  if (!command.known) return say(replies.unknown(job.actor, command.name));
  const over = mission.state === 'cancelled' || mission.state === 'done';
  const nextFeature = async () => (await ctx.store.features(mission.id)).find((f) => f.state !== 'committed')?.id;
  switch (command.name) {
    case 'approve':
      if (onPullRequest) return say(replies.approveOnIssue(job.actor));
      return approve(ctx, gh, mission, job, permission);
    case 'cancel': {
      if (over || !(await ctx.store.cancel(mission.id))) return say(replies.alreadyOver(job.actor, 'cancel', mission));
      if (mission.contract) await showBoard(ctx, gh, mission.id);
      else await showMission(ctx, gh, mission, { kind: 'cancelled', missionId: mission.id, by: job.actor, ...(await latestPlanView(ctx.store, mission)) });
      return say(replies.cancelled(job.actor));
    }
    case 'retry': {
      if (mission.contract) {
        // A failed build step, a blocked worker or the budget: go on from the last pushed commit.
        // Already building (this command's first run died after the change): make sure a step comes.
        if (!(await ctx.store.resume(mission.id)) && (await ctx.store.stateOf(mission.id)) !== 'building') {
          return say(replies.nothingToRetry(job.actor, mission));
        }
        await ctx.queue.requestStep({ missionId: mission.id });
        await showBoard(ctx, gh, mission.id);
        return say(replies.retryingBuild(job.actor, await nextFeature()));
      }
      if (mission.state !== 'failed') return say(replies.nothingToRetry(job.actor, mission));
      await ctx.store.requestPlanning(mission.id);
      await ctx.queue.requestStep({ missionId: mission.id });
      return say(replies.retrying(job.actor));
    }
    case 'status': {
      const costs = await ctx.store.costByRole(mission.id);
      const usd = costs.reduce((sum, c) => sum + c.usd, 0);
      const tokens = costs.reduce((sum, c) => sum + c.input_tokens + c.output_tokens + c.cache_read_tokens + c.cache_write_tokens, 0);
      const cost = `$${usd.toFixed(2)} (${tokens.toLocaleString('en-US')} tokens${costs.length ? `; ${costs.map((c) => `${c.role} (${c.model}) $${c.usd.toFixed(2)}`).join(', ')}` : ''})`;
      const now = nowLine(mission, await ctx.store.features(mission.id));
      return say(replies.status(job.actor, mission, now, formatDuration(Date.now() - new Date(mission.created_at).getTime()), cost));
    }
    case 'pause':
      if (over) return say(replies.alreadyOver(job.actor, command.name, mission));
      if (!mission.contract) return say(replies.notWhilePlanning(job.actor, command.name, mission));
      if (!(await ctx.store.pause(mission.id, 'user', `paused by @${job.actor}`))) return say(replies.notPaused(job.actor, command.name, mission));
      await showBoard(ctx, gh, mission.id);
      return say(replies.paused(job.actor));
    case 'resume':
      if (over) return say(replies.alreadyOver(job.actor, command.name, mission));
      if (!mission.contract) return say(replies.notWhilePlanning(job.actor, command.name, mission));
      if (!(await ctx.store.resume(mission.id)) && (await ctx.store.stateOf(mission.id)) !== 'building') {
        return say(replies.notPaused(job.actor, command.name, mission));
      }
      await ctx.queue.requestStep({ missionId: mission.id });
      await showBoard(ctx, gh, mission.id);
      return say(replies.resumed(job.actor, await nextFeature()));
    case 'fix': {
      if (!onPullRequest) return say(replies.fixOnPullRequest(job.actor));
      const text = withoutControls(command.args).trim();
      if (!text) return say(replies.fixNeedsText(job.actor));
      const title = [...text.split('\n')[0]!.trim()].slice(0, 72).join('');
      const featureId = await ctx.store.addRequestedFix(mission.id, { title, description: text, assertion_ids: [] }, job.actor, job.commentId);
      if (!featureId) return say(replies.alreadyOver(job.actor, 'fix', mission));
      // A done mission's pull request goes back to draft until its milestone passes again.
      if (mission.state === 'done' && mission.pr_number) await setDraft(gh, ref, mission.pr_number, true);
      const building = (await ctx.store.stateOf(mission.id)) === 'building';
      if (building) await ctx.queue.requestStep({ missionId: mission.id });
      await showBoard(ctx, gh, mission.id);
      return say(replies.fixAdded(job.actor, featureId, building));
    }
  }
}

/**
 * `/approve` locks the revision the maintainer could see: the one the mission comment shows on
 * GitHub, or, while its edit is still on the way, the revision being shown when the command arrived.
 */
async function approve(ctx: MissionContext, gh: GitHub, mission: Mission, job: Extract<IntakeJob, { kind: 'comment' }>, permission: string) {
  const ref = { owner: job.owner, repo: job.repo };
  const say = (body: string) => reply(gh, ref, job.issueNumber, body);
  const config = await loadConfig(gh, ref);
  if (!config.ok) return say(replies.invalidConfig(config.problems));
  if (!config.config.approvers.includes(permission as never)) return say(replies.notApprover(job.actor, permission, config.config.approvers));
  const sent = job.shownRevision ? await ctx.store.revision(mission.id, job.shownRevision) : null;
  // Only the app's own mission comment holds a contract: a stored id that is not (it cannot be, but
  // it is checked where it matters) shows nothing approvable.
  const comment =
    sent && mission.state === 'awaiting_approval' ? await readMissionComment(gh, await missionThread(ctx, mission), mission.comment_id!, mission.id) : null;
  const onScreen = readMissionMarker(comment?.body ?? '')?.revision ?? 0;
  // An earlier revision the comment still shows wins over a newer one whose edit has not landed (and
  // if that earlier one is questions, there is no plan on screen to approve).
  const earlier = sent && onScreen && onScreen < sent.number ? await ctx.store.revision(mission.id, onScreen) : null;
  const shown = earlier ?? sent;
  if (mission.state !== 'awaiting_approval' || !shown || shown.kind !== 'plan') {
    // A retry of an approval whose first run died after locking: the build must still be under way.
    if (mission.state === 'building') await ctx.queue.requestStep({ missionId: mission.id });
    return say(replies.nothingToApprove(job.actor, mission));
  }
  // The comment changed after the command was written (a new revision landed, or an edit): what it
  // shows now is not what its author saw, so nothing is locked on a guess. GitHub's times are whole
  // seconds: a change in the same second counts as after (nobody reads a plan in under a second).
  if (comment?.updated_at && job.createdAt && Date.parse(comment.updated_at) >= Date.parse(job.createdAt)) {
    return say(replies.approveChangedPlan(job.actor, onScreen));
  }
  // The checklist as the comment stands, hand edits included, when it shows that revision.
  let contract = shown.body as Plan;
  let added: string[] = [];
  if (onScreen === shown.number) {
    const edited = applyContractEdits(contract, parseContract(comment!.body ?? ''));
    if (!edited.ok) return say(replies.approveRejectedEdits(job.actor, edited.problems));
    contract = edited.plan;
    added = edited.added;
  }
  if (!(await ctx.store.approve(mission.id, shown.number, contract, job.actor))) {
    return say(replies.nothingToApprove(job.actor, await ctx.store.get(mission.id)));
  }
  await ctx.queue.requestStep({ missionId: mission.id });
  await showBoard(ctx, gh, mission.id);
  await say(replies.approved(job.actor, shown.number, contract.features.length, contract.assertions.length, added));
  ctx.log.info({ missionId: mission.id, revision: shown.number, by: job.actor }, 'contract approved');
}
