// issue_comment.created: verify, record, enqueue. The comment may be a command or plan feedback;
// the intake job checks the author's permission with GitHub and acts.
import type { Context } from 'probot';
import type { IntakeQueue } from './intake-queue.ts';
import { expectPayload, issueCommentCreated } from './payloads.ts';

export async function handleIssueCommentCreated(context: Context<'issue_comment.created'>, intake: IntakeQueue): Promise<void> {
  const payload = expectPayload('issue_comment.created', issueCommentCreated, context.payload);
  // 1. Bots, this app's own comments included, change nothing.
  if (payload.sender.type === 'Bot' || payload.comment.user?.type === 'Bot') {
    return context.log.info({ sender: payload.sender.login }, 'comment: ignored, author is a bot');
  }
  if (!payload.installation) return context.log.info('comment: ignored, no installation');
  // 2. Only a mission's issue or pull request is ours to answer: other bots' slash commands are left alone.
  const mission = await intake.store.commentTarget(payload.repository.id, payload.issue.number);
  if (!mission) return context.log.info({ issue: payload.issue.number }, 'comment: ignored, no mission on this issue');
  // 3. Hand it to the intake queue, once per delivery, noting which revision the comment answered.
  await intake.enqueueOnce(context.id, {
    kind: 'comment',
    commentId: payload.comment.id,
    body: payload.comment.body,
    shownRevision: mission.showing_revision,
    createdAt: payload.comment.created_at,
    installationId: payload.installation.id,
    repoId: payload.repository.id,
    owner: payload.repository.owner.login,
    repo: payload.repository.name,
    issueNumber: payload.issue.number,
    actor: payload.sender.login,
  });
}
