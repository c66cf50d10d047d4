// What handlers share: the store to look up, and an enqueue that takes each delivery once.
import type { MissionStore } from '../store/missions.ts';
import type { IntakeJob, JobQueue } from '../store/queue.ts';

export class IntakeQueue {
  readonly store: MissionStore;
  readonly #queue: JobQueue;

  constructor(store: MissionStore, queue: JobQueue) {
    this.store = store;
    this.#queue = queue;
  }

  /** Enqueues the job unless this delivery was taken in before (GitHub redelivers with the same id). */
  async enqueueOnce(deliveryId: string, job: IntakeJob): Promise<void> {
    const key = `delivery:${deliveryId}`;
    if (await this.store.isProcessed(key)) return;
    await this.#queue.enqueueIntake(job);
    // Marked after the send: a failure in between makes GitHub's retry enqueue again, and the
    // intake job itself is idempotent per comment and per label delivery.
    await this.store.markProcessed(key);
  }
}
