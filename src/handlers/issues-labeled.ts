// issues.labeled: verify, record, enqueue. Who labelled it and whether the label is the mission
// label is checked with GitHub by the intake job, off the webhook path.
import type { Context } from 'probot';
import type { IntakeQueue } from './intake-queue.ts';
import { expectPayload, issuesLabeled } from './payloads.ts';

export async function handleIssuesLabeled(context: Context<'issues.labeled'>, intake: IntakeQueue): Promise<void> {
  const payload = expectPayload('issues.labeled', issuesLabeled, context.payload);
  // 1. Bots (this app included) start nothing.
  if (payload.sender.type === 'Bot') return context.log.info({ sender: payload.sender.login }, 'labeled: ignored, sender is a bot');
  // 2. A label without an installation cannot be acted on.
  if (!payload.installation || !payload.label) return context.log.info('labeled: ignored, no installation or label');
  // 3. Hand it to the intake queue, once per delivery.
  await intake.enqueueOnce(context.id, {
    kind: 'label',
    deliveryId: context.id,
    label: payload.label.name,
    installationId: payload.installation.id,
    repoId: payload.repository.id,
    owner: payload.repository.owner.login,
    repo: payload.repository.name,
    issueNumber: payload.issue.number,
    ...(payload.issue.title === undefined ? {} : { issueTitle: payload.issue.title.slice(0, 1_000) }),
    actor: payload.sender.login,
  });
}
