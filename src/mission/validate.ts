// A milestone's validation (PRODUCT.md §1 step 6): the scrutiny and user-testing validators in
// parallel, each on a throwaway checkout of the milestone's commit; the app replays every `pass`
// that names a command on a clean checkout (once per distinct command); triage gives every item of the round a
// disposition and decides proceed, fix (fix features) or stop. The round is stored in one transaction before anything is shown, so a step
// that dies is run again from the start and a round is never recorded twice.
import { runTriage, type Triage } from '../agents/triage.ts';
import { runScrutiny, type Review } from '../agents/scrutiny.ts';
import { runUserTesting, type Verdicts } from '../agents/user-testing.ts';
import { replayEvidence } from './replay-evidence.ts';
import { dispositionTable, featuresOfRound, fixesOf, previousFindings, roundItems } from './round-items.ts';
import { CONTRACT_CHECK, postCheckRun, readCi, SCRUTINY_CHECK } from '../github/check-runs.ts';
import { replies, reply } from '../github/replies.ts';
import { diffLines, findOrPostReview, renderReview } from '../github/review.ts';
import type { GitHub } from '../github/repository.ts';
import type { MissionsConfig } from '../config.ts';
import type { FeatureRow, Mission, RoundItem, ValidationRun } from '../store/missions.ts';
import type { MissionBranch } from '../workspace/branch.ts';
import { repoCommands, setupMayUseNetwork } from '../workspace/repo-commands.ts';
import { Sandbox, type CommandResult } from '../workspace/sandbox.ts';
import { redactSecrets } from '../secrets.ts';
import { inert, unmention } from '../github/untrusted.ts';
import { showBoard } from './board.ts';
import { describeFailure, ValidationFailed, worthAnotherRun } from './failures.ts';
import { runSetup } from './setup.ts';
import { AgentStopped, type Role } from '../agents/runtime.ts';
import { cancelledNow, type Cancellation } from './cancellation.ts';
import { agentRuntime, appBot, type MissionContext } from './context.ts';
import type { Plan } from './plan.ts';

const REPLAY_TIMEOUT_MS = 10 * 60_000;

export interface MilestoneToValidate {
  milestone: string;
  round: number;
  /** Rounds of this milestone that ended in fix features so far. */
  fixRounds: number;
  /** The milestone's commit: its last feature's (or fix's) commit. */
  head: string;
  /** Where the milestone's diff starts: the commit before its first feature. */
  from: string;
  features: FeatureRow[];
}

export interface ValidationContext {
  mission: Mission;
  branch: MissionBranch;
  config: MissionsConfig;
  cachePath: string;
  /** Redacted from anything a validator wrote before it is posted. */
  secrets: string[];
  base: string;
  /** Kills setup and replays when the mission is cancelled. */
  cancellation: Cancellation;
}

export type ValidationOutcome = 'passed' | 'fixing' | 'stopped';

/** Why a round stopped the mission: its rounds (or triage) said so, or a run of it failed. */
export interface RoundStop {
  kind: NonNullable<ValidationRun['stop_kind']>;
  note: string;
}

export async function validateMilestone(ctx: MissionContext, gh: GitHub, v: ValidationContext, target: MilestoneToValidate): Promise<ValidationOutcome> {
  const { mission, branch, config } = v;
  const { store, log } = ctx;
  const ref = { owner: mission.owner, repo: mission.repo };
  const plan = mission.contract as Plan;
  const maxRounds = config.validation.max_fix_rounds + mission.extra_rounds;
  const claimed = new Set(target.features.flatMap((f) => f.assertion_ids));
  // The milestone's assertions (those its features claim), and any earlier one whose newest verdict
  // is not a pass: a regression that extra evidence showed must be fixed before the mission goes on.
  // A later milestone's verdict is evidence only: its assertion is built later, and cannot hold this one up.
  const mayFix = new Set(repairable(plan, target.milestone));
  const previous = await store.latestVerdicts(mission.id);
  const outstanding = new Set([...previous.values()].filter((p) => p.status !== 'pass' && mayFix.has(p.assertion_id)).map((p) => p.assertion_id));
  const assertionIds = plan.assertions.map((a) => a.id).filter((id) => claimed.has(id) || outstanding.has(id));
  const previousRuns = (await store.validationRuns(mission.id)).filter((r) => r.milestone === target.milestone);
  const previousRun = previousRuns.at(-1);
  await store.setActivity(mission.id, `validating milestone ${target.milestone} (round ${target.round})`);
  await store.record(mission.id, 'round_started', { milestone: target.milestone, round: target.round, commit: target.head });
  await showBoard(ctx, gh, mission.id);

  // 1. What the validators get: the diff, the repository's CI on the commit, their own checkouts.
  const diff = await branch.diff(target.from, target.head);
  const ci = await readCi(gh, { ...ref, slug: await ctx.appSlug() }, target.head, { timeoutMs: config.validation.ci_timeout_minutes * 60_000 });
  const hide = ctx.hiddenPaths;
  // Each checkout is set up like a worker's (dependencies installed); with the network only while
  // the mission has not changed what setup reads (or agents may use the network anyway).
  let commands: ReturnType<typeof repoCommands> | undefined;
  let network: Promise<boolean> | undefined;
  const changed = await branch.changedPaths(v.base, target.head);
  /** A checkout for a validator or a replay, set up. */
  const sandboxFor = async (name: string) => {
    const sandbox = new Sandbox(await branch.throwaway(target.head, name), { hide, readOnly: [v.cachePath], log });
    commands ??= repoCommands(sandbox.checkout, config.commands);
    const setup = commands.setup;
    if (setup) {
      // The same for every checkout of the round: decided once.
      network ??= setupMayUseNetwork(config.sandbox.network, changed, setup, branch.files(v.base), branch.files(target.head));
      // Overlaid where that works: only their sandboxed commands need the dependencies.
      const done = await branch.setUp(sandbox, target.head, setup, async () => runSetup(sandbox, setup, await network!, v.cancellation), { overlay: true });
      log.info({ missionId: mission.id, checkout: name, setup: done }, `setup ${done}`);
    }
    return sandbox;
  };
  const [scrutinySandbox, testingSandbox] = await Promise.all([sandboxFor('scrutiny'), sandboxFor('user-testing')]);
  // Whether a replay's checkout costs no more than a clone (no setup, or the kept one overlaid): then
  // each is made ahead, the first while the validators work. Not when setup must run or be copied:
  // it would compete with them, for a replay that may never come.
  const cheap = !commands!.setup || scrutinySandbox.overlaid || testingSandbox.overlaid;
  const firstReplay = cheap ? sandboxFor('replay-1') : null;
  firstReplay?.catch(() => {}); // a failure is the replay's, when it asks for the checkout
  const runtime = (role: Role) => agentRuntime(ctx, mission.id, role, config, `${target.milestone} round ${target.round}`, log);
  const input = {
    owner: mission.owner,
    repo: mission.repo,
    contract: plan,
    milestone: target.milestone,
    assertionIds,
    diff,
    commands: commands!,
    ci: ci.text,
    network: config.sandbox.network,
    base: branch.files(v.base),
  };
  // A run that fails in a way worth another run (failures.ts) is tried once more, in a fresh context
  // (and a fresh checkout), before it counts.
  const onceMore = async <T>(role: Role, run: (attempt: number) => Promise<T>): Promise<T> => {
    try {
      return await run(1);
    } catch (error) {
      if (!worthAnotherRun(error)) throw error;
      // A mission cancelled meanwhile pays for no rerun.
      const stop = await cancelledNow(store, mission.id);
      if (stop) throw stop;
      log.warn({ err: error, missionId: mission.id, role }, `${role} failed; trying it once more`);
      return run(2);
    }
  };
  // 2. Both validators at once, never beside a worker (this step is the mission's only one).
  // Both settle before either's failure is acted on: no validator is left running (and paying) unseen.
  const features = await store.features(mission.id);
  const [scrutinyRun, testingRun] = await Promise.allSettled([
    onceMore('scrutiny', async (attempt) =>
      runScrutiny(
        { ...input, previousFindings: previousFindings(previousRun, features), sandbox: attempt === 1 ? scrutinySandbox : await sandboxFor('scrutiny-2') },
        runtime('scrutiny'),
      ),
    ),
    onceMore('user-testing', async (attempt) =>
      runUserTesting({ ...input, sandbox: attempt === 1 ? testingSandbox : await sandboxFor('user-testing-2') }, runtime('user-testing')),
    ),
  ]);
  for (const run of [scrutinyRun, testingRun]) if (run.status === 'rejected' && run.reason instanceof AgentStopped) throw run.reason;
  // A run that failed stops the round, which is still shown with the other's word; with neither
  // validator's word there is nothing to show, and the step fails with both reasons.
  const scrutinyFailure = scrutinyRun.status === 'rejected' ? describeFailure(scrutinyRun.reason, 'validating') : null;
  const testingFailure = testingRun.status === 'rejected' ? describeFailure(testingRun.reason, 'validating') : null;
  if (scrutinyFailure && testingFailure) throw new ValidationFailed([scrutinyFailure, testingFailure]);
  // What stands in for the missing word on the pull request: a failed scrutiny check, blocked assertions.
  const review: StoredReview = scrutinyRun.status === 'fulfilled' ? scrutinyRun.value : { verdict: 'request_changes', summary: `No review this round. ${scrutinyFailure}`, findings: [], missing: true };
  const verdicts: Verdicts =
    testingRun.status === 'fulfilled' ?
      testingRun.value
    : { results: assertionIds.map((assertion_id) => ({ assertion_id, status: 'blocked' as const, evidence: `No verdict this round. ${testingFailure}` })) };
  // 3. A pass that names a command stands only if the app sees that command exit 0 too.
  const replayed = await replay(
    verdicts,
    mayFix,
    { checkout: (n) => (n === 1 && firstReplay) || sandboxFor(`replay-${n}`), ahead: cheap, discard: (sandbox) => branch.discard(sandbox.checkout) },
    config.sandbox.network,
    v.cancellation,
  );
  // Verdicts on assertions outside the milestone are kept too, as extra evidence.
  const results = replayed.map((r) => ({ ...r, evidence: redactSecrets(r.evidence, v.secrets) }));
  const byId = new Map(results.map((r) => [r.assertion_id, r]));
  const failing = failingOf(plan, target.milestone, new Set(assertionIds), byId);

  // Every item of the round, with an id: what scrutiny found, what the workers reported, what failed.
  const items = roundItems({ plan, review, features: featuresOfRound(target.features, previousRuns), results, failing });

  // 4. Triage, unless the round is clean (nothing failed, nothing found), an assertion failed with no
  //    fix round left (the round stops), or a run failed (the round stops, shown).
  let outcome: ValidationOutcome;
  let triage: Triage | null = null;
  let stopReason = scrutinyFailure ?? testingFailure;
  const clean = !failing.length && review.verdict === 'approve';
  const fixRoundLeft = target.fixRounds < maxRounds;
  if (stopReason) {
    outcome = 'stopped';
  } else if (clean && !items.length) {
    outcome = 'passed';
  } else if (!fixRoundLeft && failing.length) {
    // No fix round left and an assertion failed: the only possible decision is stop, made without a run.
    outcome = 'stopped';
  } else {
    // With no fix round left, triage still disposes of every item, deciding proceed or stop (fix is refused).
    try {
      triage = await onceMore('triage', async (attempt) =>
        runTriage(
          {
            owner: mission.owner,
            repo: mission.repo,
            contract: plan,
            milestone: target.milestone,
            round: target.fixRounds + 1,
            maxRounds,
            fixRoundLeft,
            items,
            review,
            failing,
            // Fix features may repair this milestone's assertions or earlier ones, never a later milestone's.
            repairable: repairable(plan, target.milestone),
            // A checkout of its own: the scrutiny validator may have changed files in its one.
            checkout: await branch.throwaway(target.head, attempt === 1 ? 'triage' : 'triage-2'),
            base: branch.files(v.base),
          },
          runtime('triage'),
        ),
      );
    } catch (error) {
      if (error instanceof AgentStopped) throw error;
      stopReason = describeFailure(error, 'validating');
    }
    outcome = !triage ? 'stopped' : triage.decision === 'proceed' ? 'passed' : triage.decision === 'fix' ? 'fixing' : 'stopped';
  }

  // 5. Stored with the fix features and the stop (the mission paused in the same transaction: a step
  //    that dies after this never validates the milestone again unasked), then shown.
  const stop: RoundStop | null =
    outcome !== 'stopped' ? null
    : stopReason ? { kind: 'error', note: stopReason.replace(/\.$/, '') }
    : triage ? { kind: 'rounds', note: `triage stopped the mission: ${inert(redactSecrets(triage.rationale, v.secrets)).replace(/\s+/g, ' ')}` }
    : { kind: 'rounds', note: `milestone ${target.milestone} still fails after ${maxRounds} fix round(s) (${failing.join(', ')})` };
  const fixIds = await store.recordValidation(
    mission.id,
    { milestone: target.milestone, round: target.round, commit_sha: target.head, outcome, scrutiny: review, triage, stop_reason: stop?.note ?? null, stop_kind: stop?.kind ?? null, items },
    results.map((r) => ({ assertion_id: r.assertion_id, status: r.status, evidence: r.evidence, command: r.command ?? null })),
    outcome === 'fixing' ? triage!.fix_features : [],
  );
  log.info({ missionId: mission.id, milestone: target.milestone, round: target.round, outcome, failing, fixIds }, 'milestone validated');
  const [run] = (await store.validationRuns(mission.id)).filter((r) => r.milestone === target.milestone && r.round === target.round);
  await publishRound(ctx, gh, v, run!);
  return outcome;
}

/**
 * Shows a stored round on GitHub: the review, the check runs, the ticks, and the stop when there is
 * one. The build step also calls it for a round whose step died before its review was posted.
 */
export async function publishRound(ctx: MissionContext, gh: GitHub, v: ValidationContext, run: ValidationRun): Promise<void> {
  const mission = await ctx.store.get(v.mission.id);
  const features = await ctx.store.features(mission.id);
  const fixIds = features.filter((f) => f.fix_for === `${run.milestone}#${run.round}`).map((f) => f.id);
  const claimed = new Set(features.filter((f) => f.milestone === run.milestone && !fixIds.includes(f.id)).flatMap((f) => f.assertion_ids));
  const results = await ctx.store.roundVerdicts(mission.id, run.milestone, run.round);
  const byId = new Map(results.map((r) => [r.assertion_id, r]));
  const failing = failingOf(mission.contract as Plan, run.milestone, claimed, byId);
  // Inline comments must sit on lines of the pull request's diff as of this commit.
  const prDiff = await v.branch.diff(v.base, run.commit_sha);
  const target = { milestone: run.milestone, round: run.round, head: run.commit_sha };
  const stop = run.stop_reason && run.stop_kind ? { kind: run.stop_kind, note: run.stop_reason } : null;
  await publish(ctx, gh, mission, target, run.scrutiny as StoredReview, results.map((r) => ({ ...r, command: r.command ?? undefined })) as Result[], prDiff, run.triage as Triage | null, stop, fixIds, failing, v.secrets, run.items ?? [], fixesOf(features, run));
}

type Result = Verdicts['results'][number];

/** What is stored as the round's review: scrutiny's, or a stand-in that says why there is none. */
type StoredReview = Review & { missing?: boolean };

/**
 * Replays each `pass` on an assertion built so far (`built`: this milestone's and earlier ones') that
 * names a command on a clean checkout (`checkout(n)`: the one for the n-th distinct command); one that
 * fails there becomes a `fail` saying why. A pass with a command on a later milestone's assertion is
 * not replayed: it is kept as blocked, its evidence saying why. A command several passes name
 * runs once: on the same clean checkout it gives the same answer. `ahead`: the next command's
 * checkout is made while one runs; each is discarded once its command ran (a validator may name
 * any number of commands: their checkouts must not pile up on disk).
 */
async function replay(
  verdicts: Verdicts,
  built: Set<string>,
  checkouts: { checkout: (n: number) => Promise<Sandbox>; ahead: boolean; discard: (sandbox: Sandbox) => void },
  network: boolean,
  cancellation: Cancellation,
): Promise<Result[]> {
  // Only passes on assertions built so far (this milestone's and earlier ones', where a regression
  // must show): each replay may take 10 minutes, and a later milestone's are checked in its own round.
  const replayable = (r: Verdicts['results'][number]) => r.status === 'pass' && r.command && built.has(r.assertion_id);
  const commands = [...new Set(verdicts.results.flatMap((r) => (replayable(r) ? [r.command!] : [])))];
  const runs = new Map<string, CommandResult>();
  let next: Promise<Sandbox> | null = null;
  for (const [i, command] of commands.entries()) {
    const sandbox = await (next ?? checkouts.checkout(i + 1));
    next = checkouts.ahead && i + 1 < commands.length ? checkouts.checkout(i + 2) : null;
    next?.catch(() => {}); // awaited on the next turn of the loop, unless this command is cancelled
    try {
      runs.set(command, await sandbox.run(command, { timeoutMs: REPLAY_TIMEOUT_MS, network, signal: cancellation.signal }));
    } finally {
      checkouts.discard(sandbox);
    }
    cancellation.check();
  }
  return verdicts.results.map((r) => {
    // Not replayed, so it does not stand as a pass (PRODUCT §4): its evidence is kept, as blocked.
    if (!replayable(r)) return r.status === 'pass' && r.command ? { ...r, status: 'blocked' as const, evidence: `(Not replayed: a later milestone's assertion, checked in its own round.) ${r.evidence}` } : r;
    const run = runs.get(r.command!);
    if (!run) return r;
    const output = replayEvidence(run.output);
    return run.exitCode === 0 ?
        { ...r, evidence: `\`${r.command}\` exited 0 when the app replayed it on a clean checkout:\n${output}` }
      : {
          ...r,
          status: 'fail',
          evidence: `The validator reported a pass, but \`${r.command}\` ${run.timedOut ? 'timed out' : `exited ${run.exitCode}`} when the app replayed it on a clean checkout:\n${output}`,
        };
  });
}

async function publish(
  ctx: MissionContext,
  gh: GitHub,
  mission: Mission,
  target: Pick<MilestoneToValidate, 'milestone' | 'round' | 'head'>,
  review: StoredReview,
  results: Result[],
  diff: string,
  triage: Triage | null,
  /** What stopped the round (the mission was paused for it when it was stored), or null. */
  stop: RoundStop | null,
  fixIds: string[],
  failing: string[],
  secrets: string[],
  items: RoundItem[],
  fixesByItem: Map<string, string[]>,
): Promise<void> {
  // Model text throughout (summary, findings, evidence, triage's rationale): no secret, no mention.
  const clean = (text: string) => unmention(redactSecrets(text, secrets));
  const ref = { owner: mission.owner, repo: mission.repo };
  const plan = mission.contract as Plan;
  const statement = new Map(plan.assertions.map((a) => [a.id, a.statement]));
  const verdictLines = results.map((r) => ({ assertion_id: r.assertion_id, statement: statement.get(r.assertion_id) ?? '', status: r.status, evidence: r.evidence }));
  const rendered = renderReview({ milestone: target.milestone, round: target.round, review, verdicts: verdictLines, diff: diffLines(diff) });
  // Every item of the round and what became of it: findings, the workers' reports, failed assertions.
  const table = dispositionTable(items, triage, fixesByItem, (text) => redactSecrets(text, secrets));
  const itemsSection = table.length ? `\n\n#### What this round found${triage ? ', and what triage did' : ' (not triaged)'}\n\n${table.join('\n')}` : '';
  const decision =
    (triage ? `\n\n**Triage: ${triage.decision}.** ${inert(redactSecrets(triage.rationale, secrets))}${fixIds.length ? `\n\nFix features: ${fixIds.join(', ')}.` : ''}`
    : stop ? `\n\n**Stopped:** ${stop.note}.`
    : '') + itemsSection;
  const reviewId = await findOrPostReview(
    gh,
    { ...ref, bot: await appBot(ctx) },
    { missionId: mission.id, pullNumber: mission.pr_number!, milestone: target.milestone, round: target.round, head: target.head },
    { ...rendered, trailer: decision },
    clean,
  );
  const checks = { ...ref, slug: await ctx.appSlug() };
  const externalId = `mission-${mission.id}-${target.milestone}-${target.round}`;
  await postCheckRun(gh, checks, {
    name: SCRUTINY_CHECK,
    externalId,
    headSha: target.head,
    success: review.verdict === 'approve',
    title:
      review.missing ? `Milestone ${target.milestone}: no review (the scrutiny validator failed)`
      : review.verdict === 'approve' ? `Milestone ${target.milestone}: approved`
      : `Milestone ${target.milestone}: ${review.findings.length} finding(s)`,
    summary: clean(review.summary),
    findings: review.findings.map((f) => ({ ...f, title: clean(f.title), detail: clean(f.detail) })),
  });
  await postCheckRun(gh, checks, {
    name: CONTRACT_CHECK,
    externalId,
    headSha: target.head,
    success: failing.length === 0,
    title: failing.length ? `Milestone ${target.milestone}: ${failing.join(', ')} not passed` : `Milestone ${target.milestone}: every assertion passed`,
    summary: verdictLines.map((v) => `- ${v.assertion_id}: ${v.status}`).join('\n'),
  });
  await ctx.store.setActivity(mission.id, null);
  await showBoard(ctx, gh, mission.id);
  // The stop is said while the mission still holds for it (not after a /resume or /cancel meanwhile).
  const now = stop ? await ctx.store.get(mission.id) : null;
  if (stop && now?.state === 'paused' && now.stop_note === stop.note) {
    await reply(gh, mission, mission.issue_number, replies.validationStopped(target.milestone, clean(stop.note), failing, mission.pr_url ?? '', stop.kind === 'error'));
  }
  // Recorded last: a step that dies before this shows the round again (the review and check runs
  // are found again, not posted twice); a stop said twice is better than a stop never said.
  await ctx.store.setReviewId(mission.id, target.milestone, target.round, reviewId);
}

/** The assertions claimed by features of `milestone` and the milestones before it. */
/**
 * What did not pass in a round: each assertion it checked without a pass, and any assertion of this
 * milestone or an earlier one that a verdict of the round shows not passing. A later milestone's
 * verdict does not count: that assertion is built later.
 */
function failingOf(plan: Plan, milestone: string, checked: Set<string>, byId: Map<string, { status: string }>): string[] {
  const mayFix = new Set(repairable(plan, milestone));
  const notPassed = (id: string) => byId.get(id)?.status !== 'pass';
  return plan.assertions.map((a) => a.id).filter((id) => (checked.has(id) && notPassed(id)) || (mayFix.has(id) && byId.has(id) && notPassed(id)));
}

function repairable(plan: Plan, milestone: string): string[] {
  const order = [...new Set(plan.features.map((f) => f.milestone))];
  const upTo = new Set(order.slice(0, order.indexOf(milestone) + 1));
  return plan.features.filter((f) => upTo.has(f.milestone)).flatMap((f) => f.assertion_ids);
}
