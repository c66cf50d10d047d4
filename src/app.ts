// The Probot app: routes events to handlers, nothing else.
import type { ApplicationFunction } from 'probot';
import { handleIssueCommentCreated } from './handlers/issue-comment-created.ts';
import { handleIssuesLabeled } from './handlers/issues-labeled.ts';
import type { IntakeQueue } from './handlers/intake-queue.ts';

export function missionsApp(intake: IntakeQueue): ApplicationFunction {
  return (app) => {
    app.on('issues.labeled', (context) => handleIssuesLabeled(context, intake));
    app.on('issue_comment.created', (context) => handleIssueCommentCreated(context, intake));
  };
}
