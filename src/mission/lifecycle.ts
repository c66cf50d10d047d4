// A mission's life in one place: which event moves a mission from which state to which (the store
// runs every change through `transition` with this table, and records the event with its time), and
// the words a state is shown in: the board, the pull request, /status, the replies and Mission
// Control all read them from here.
import { unmention } from '../github/untrusted.ts';
import type { FeatureRow, Mission } from '../store/missions.ts';

export type MissionState =
  | 'planning' // the planner has work to do (new mission, feedback, an answer)
  | 'questions' // waiting for the maintainer's answers
  | 'awaiting_approval' // a plan is shown; /approve or feedback
  | 'building' // workers build the features, one step per feature
  | 'paused' // held before the next step: /pause, a blocked worker, the budget; /resume or /retry goes on
  | 'failed' // a step failed after retries; /retry (or, while planning, a comment) goes on
  | 'cancelled'
  | 'done';

export const STATES: MissionState[] = ['planning', 'questions', 'awaiting_approval', 'building', 'paused', 'failed', 'cancelled', 'done'];
/** States in which issue comments by trusted users are feedback to the planner (before approval). */
export const PLANNING_STATES: MissionState[] = ['planning', 'questions', 'awaiting_approval', 'failed'];
/** Every state but the two that end a mission (only `reopened`, a /fix, leaves done). */
export const LIVE_STATES: MissionState[] = ['planning', 'questions', 'awaiting_approval', 'building', 'paused', 'failed'];

interface Move {
  /** The states the event may happen in; any other leaves the mission as it is. */
  from: readonly MissionState[];
  /** Where it leads; null for events that are recorded and move nothing. */
  to: MissionState | null;
  /** What the mission's story says (Mission Control's list of events). */
  words: string;
}

/** The transition table. */
export const TRANSITIONS = {
  labelled: { from: [], to: 'planning', words: 'labelled: a mission starts' },
  feedback: { from: PLANNING_STATES, to: 'planning', words: 'feedback or an answer for the planner' },
  planned: { from: PLANNING_STATES, to: 'awaiting_approval', words: 'the first plan is shown' },
  revised: { from: PLANNING_STATES, to: 'awaiting_approval', words: 'a revised plan is shown' },
  asked: { from: PLANNING_STATES, to: 'questions', words: 'the planner asks questions' },
  superseded: { from: PLANNING_STATES, to: 'planning', words: 'a revision is kept; more feedback waits for the planner' },
  approved: { from: ['awaiting_approval'], to: 'building', words: 'the contract is approved and locked' },
  feature_started: { from: STATES, to: null, words: 'a worker starts a feature' },
  feature_failed: { from: STATES, to: null, words: 'a worker run ends without a complete handoff' },
  feature_committed: { from: STATES, to: null, words: 'a feature is committed' },
  round_started: { from: STATES, to: null, words: 'validators check a milestone' },
  triaged: { from: STATES, to: null, words: 'the round is triaged' },
  round_shown: { from: STATES, to: null, words: 'the round is posted as a review' },
  fix_requested: { from: STATES, to: null, words: 'a maintainer asks for a fix' },
  paused_by_user: { from: ['building'], to: 'paused', words: 'paused by a maintainer' },
  paused: { from: ['building', 'paused'], to: 'paused', words: 'paused' },
  resumed: { from: ['paused', 'failed'], to: 'building', words: 'resumed' },
  reopened: { from: ['done', 'failed'], to: 'building', words: 'reopened for a fix' },
  done: { from: ['building'], to: 'done', words: 'done: every assertion passed' },
  failed: { from: LIVE_STATES, to: 'failed', words: 'a step failed' },
  cancelled: { from: LIVE_STATES, to: 'cancelled', words: 'cancelled' },
} as const satisfies Record<string, Move>;

export type LifecycleEvent = keyof typeof TRANSITIONS;
/** The events that move nothing: the only ones recorded on their own (the others come with their change). */
export type RecordedEvent = { [E in LifecycleEvent]: (typeof TRANSITIONS)[E]['to'] extends null ? E : never }[LifecycleEvent];

/** An event as recorded. */
export interface MissionEvent {
  id: number;
  event: LifecycleEvent;
  from_state: MissionState | null;
  to_state: MissionState;
  detail: Record<string, unknown> | null;
  created_at: Date;
}

/** The state in a few words, for a sentence ("there is nothing to approve: …"). */
export function describeState(mission: Mission): string {
  switch (mission.state) {
    case 'planning':
      return mission.revision ? `the planner is preparing revision ${mission.revision + 1}` : 'the planner is preparing the first plan';
    case 'questions':
      return 'the planner is waiting for answers to its questions';
    case 'awaiting_approval':
      return `revision ${mission.rendered_revision} of the plan awaits \`/approve\``;
    case 'building':
      return `revision ${mission.approved_revision} was approved by @${mission.approved_by}; the features are being built`;
    case 'paused':
      return `the mission is paused: ${mission.stop_note ?? 'held before its next step'}`;
    case 'failed':
      return `the last step failed (${mission.error ?? 'unknown error'}); \`/retry\` tries again`;
    case 'cancelled':
      return 'the mission was cancelled';
    case 'done':
      return 'the mission is done';
  }
}

/** One line on where a mission with a contract stands, and the command that goes on when it is stopped (Markdown). */
export function buildStatus(mission: Mission, features: FeatureRow[]): string {
  const next = features.find((f) => f.state !== 'committed');
  const position = next ? `${features.indexOf(next) + 1} of ${features.length}` : '';
  switch (mission.state) {
    case 'building':
      if (mission.activity) return `🔎 ${mission.activity}`;
      return next ?
          `🔨 building **${next.id}** ${unmention(next.title)} (${position})`
        : `🔨 all ${features.length} features are committed`;
    case 'paused': {
      const before = next ? ` before **${next.id}** ${unmention(next.title)} (${position})` : '';
      const how = mission.pause_reason === 'user' ? '`/resume` goes on' : '`/retry` goes on';
      return `⏸️ paused${before}: ${mission.stop_note ?? 'held'}. ${how}.`;
    }
    case 'done':
      return '✅ done: every assertion of the contract passed; the pull request is ready for review';
    case 'failed':
      return `⚠️ stopped${next ? ` at **${next.id}**` : ''}: ${mission.error ?? 'an error'} \`/retry\` goes on.`;
    case 'cancelled':
      return '✋ cancelled; the branch and the pull request stay as they are';
    default:
      return mission.state;
  }
}

/** Where the mission stands now, in one line: the board's status once there is a contract, else the state in words. */
export function nowLine(mission: Mission, features: FeatureRow[]): string {
  return mission.contract ? buildStatus(mission, features) : describeState(mission);
}

/** A span of time as people read it: 9s, 5m, 1h 5m. */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)}s`;
  const h = Math.floor(minutes / 60);
  return h ? `${h}h ${minutes % 60}m` : `${minutes}m`;
}

/** The state's name as people read it ("awaiting approval"). */
export const stateName = (state: MissionState) => state.replace('_', ' ');
