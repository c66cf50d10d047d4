// A step that was running when its process died runs again after a restart (embedded store).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { JobQueue } from '../../src/store/queue.ts';
import { waitFor } from '../helpers/harness.ts';
import { killed, startNode } from '../helpers/processes.ts';

it('runs a step again after its process was killed mid-step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'missions-restart-'));
  const dataDir = join(dir, 'db');
  const started = join(dir, 'started');
  const child = startNode(new URL('../fixtures/queue-child.ts', import.meta.url), [dataDir, started]);
  await waitFor(() => existsSync(started), 'the child to start the step', 120_000);
  await killed(child);

  const db = await openDatabase({ dataDir });
  const queue = new JobQueue(db, { log: pino({ level: 'silent' }), pollingIntervalSeconds: 0.5, retryDelaySeconds: 1 });
  await queue.start();
  expect(await queue.recoverInterrupted()).toBe(1);
  const ran: number[] = [];
  await queue.work({ intake: async () => {}, step: async ({ missionId }) => void ran.push(missionId) });
  await waitFor(() => ran.length === 1, 'the interrupted step to run again');
  expect(ran).toEqual([7]);
  await queue.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});
