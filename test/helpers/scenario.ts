// The usual start of a planning scenario: the app, an issue thread on a repository, and a label.
import { bareRepository, commentPayload, createTestApp, labeledPayload, waitFor, type TestApp, type TestAppOptions } from './harness.ts';
import { IssueThread, PR_NUMBER, type RepoSetup } from './issue-thread.ts';
import type { Mission } from '../../src/store/missions.ts';

export interface Scenario {
  app: TestApp;
  thread: IssueThread;
}

/** Creates the app and the thread, then labels the issue (unless `label` is false). */
export async function startMission(
  options: TestAppOptions & { repo?: Partial<RepoSetup>; label?: boolean } = {},
): Promise<Scenario> {
  const app = await createTestApp(options);
  const thread = new IssueThread(app.github, { cloneUrl: bareRepository({ 'cli.js': '' }), ...options.repo });
  if (options.label !== false) await app.receive('issues', labeledPayload());
  return { app, thread };
}

/** Waits for mission 1 to reach `state` (and, if given, to show `revision`). */
export function missionReaches(app: TestApp, state: Mission['state'], revision?: number): Promise<Mission> {
  return waitFor(async () => {
    const m = await app.store.get(1);
    return m.state === state && (revision === undefined || m.rendered_revision === revision) && m;
  }, `mission ${state}${revision ? ` at revision ${revision}` : ''}`);
}

/** A person's comment: added to the thread, then delivered as GitHub would. */
export async function commentOn({ app, thread }: Scenario, body: string, author = 'maintainer') {
  const c = thread.add(body, author);
  await app.receive('issue_comment', commentPayload(body, { author, id: c.id }));
  return c;
}

/** Waits for the first plan, then approves it as the maintainer. */
export async function approvePlan(scenario: Scenario): Promise<void> {
  await missionReaches(scenario.app, 'awaiting_approval', 1);
  await commentOn(scenario, '/approve');
}

/** A comment on the mission's pull request, delivered as GitHub would (issue_comment on a PR). */
export async function commentOnPullRequest(scenario: Scenario, body: string, author = 'maintainer', number = PR_NUMBER) {
  const payload = commentPayload(body, { author });
  payload.issue.number = number;
  payload.issue.pull_request = { url: `https://api.github.com/repos/Codertocat/Hello-World/pulls/${number}` };
  await scenario.app.receive('issue_comment', payload);
}
