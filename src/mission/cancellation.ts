// A signal that fires when a mission is cancelled, for the commands the app runs itself (setup,
// replays of claimed passes): /cancel may arrive in another process, so the store is asked every
// 2 s, as the agents' own watchdog does (runtime.ts). A command killed for it ends the step as a stop.
import { AgentStopped } from '../agents/runtime.ts';
import type { MissionStore } from '../store/missions.ts';

const WATCH_MS = 2_000;
const CANCELLED = 'the mission was cancelled';

/** The stop a cancelled mission's step ends with, asked of the store now (no watch to wait for); null while it runs. */
export async function cancelledNow(store: MissionStore, missionId: number): Promise<AgentStopped | null> {
  return (await store.stateOf(missionId)) === 'cancelled' ? new AgentStopped(CANCELLED) : null;
}

export interface Cancellation {
  signal: AbortSignal;
  /** Throws the stop when the mission was cancelled meanwhile. */
  check(): void;
  dispose(): void;
}

export function watchCancellation(store: MissionStore, missionId: number): Cancellation {
  const controller = new AbortController();
  const timer = setInterval(() => {
    store.stateOf(missionId).then(
      (state) => state === 'cancelled' && controller.abort(new AgentStopped(CANCELLED)),
      () => {},
    );
  }, WATCH_MS);
  return {
    signal: controller.signal,
    check() {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
    dispose: () => clearInterval(timer),
  };
}
