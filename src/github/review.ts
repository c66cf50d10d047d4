// The scrutiny review on the pull request (PRODUCT.md §1 step 6): event COMMENT, the verdict first,
// inline comments only on lines GitHub will take (inside the diff's hunks), every other finding in
// the body. Rendered here from the review, the verdicts and the milestone's diff.
import type { Finding, Review } from '../agents/scrutiny.ts';
import { writtenBy } from './authorship.ts';
import type { GitHub, RepoRef } from './repository.ts';

export interface ReviewComment {
  path: string;
  line: number;
  side: 'RIGHT';
  body: string;
}

export interface VerdictLine {
  assertion_id: string;
  statement: string;
  status: 'pass' | 'fail' | 'blocked';
  evidence: string;
}

/** The new-side lines of each file that a unified diff's hunks cover: where inline comments may go. */
export function diffLines(diff: string): Map<string, Set<number>> {
  const lines = new Map<string, Set<number>>();
  let file: Set<number> | undefined;
  for (const line of diff.split('\n')) {
    const path = /^\+\+\+ b\/(.+)$/.exec(line);
    if (path) {
      file = new Set();
      lines.set(path[1]!, file);
      continue;
    }
    if (line.startsWith('+++ ')) file = undefined; // a deleted file
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk && file) {
      const start = Number(hunk[1]);
      const count = hunk[2] === undefined ? 1 : Number(hunk[2]);
      for (let n = start; n < start + count; n++) file.add(n);
    }
  }
  return lines;
}

const ICON = { blocker: '🛑', major: '⚠️', minor: '💡' } as const;
const STATUS = { pass: '✅ pass', fail: '❌ fail', blocked: '⛔ blocked' } as const;

const findingText = (f: Finding) => `${ICON[f.severity]} **${f.severity}: ${f.title}**\n\n${f.detail}`;

export function renderReview(options: {
  milestone: string;
  round: number;
  review: Review;
  verdicts: VerdictLine[];
  diff: Map<string, Set<number>>;
}): { body: string; comments: ReviewComment[] } {
  const { review, diff } = options;
  const inline = review.findings.filter((f) => f.line !== undefined && diff.get(f.path)?.has(f.line));
  const elsewhere = review.findings.filter((f) => !inline.includes(f));
  const verdict = review.verdict === 'approve' ? '✅ **Scrutiny: approve**' : '❌ **Scrutiny: changes requested**';
  const body = [
    `${verdict} — milestone ${options.milestone}, validation round ${options.round}`,
    '',
    review.summary,
    '',
    '#### Contract',
    '',
    '| Assertion | Verdict | Evidence |',
    '| --- | --- | --- |',
    ...options.verdicts.map((v) => `| **${v.assertion_id}** ${cell(v.statement)} | ${STATUS[v.status]} | ${cell(firstLines(v.evidence))} |`),
    ...(elsewhere.length ?
      ['', '#### Findings outside the diff', '', ...elsewhere.map((f) => `- \`${f.path}${f.line ? `:${f.line}` : ''}\` ${findingText(f).replace(/\n\n/g, ' — ')}`)]
    : []),
    ...(inline.length ? ['', `${inline.length} finding(s) are inline below.`] : []),
  ].join('\n');
  return { body, comments: inline.map((f) => ({ path: f.path, line: f.line!, side: 'RIGHT' as const, body: findingText(f) })) };
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, '<br>');
const firstLines = (text: string) => {
  const lines = text.trim().split('\n').map((l) => (l.length > 200 ? `${l.slice(0, 199)}…` : l));
  return lines.length > 6 ? `${lines.slice(0, 6).join('\n')}\n…` : lines.join('\n');
};

/** Under GitHub's 65,536-character limit on a review or comment body. */
const MAX_BODY = 60_000;
const capped = (text: string) => (text.length > MAX_BODY ? `${text.slice(0, MAX_BODY)}\n\n… (cut at ${MAX_BODY} characters)` : text);

export interface ReviewTarget {
  missionId: number;
  pullNumber: number;
  milestone: string;
  round: number;
  /** The commit the review is about. */
  head: string;
}

/**
 * The round's review: found (a step that died after posting it had not recorded its id) or posted,
 * with its inline comments. Only the app's own review of that round counts as posted.
 */
export async function findOrPostReview(
  gh: GitHub,
  ref: RepoRef & { bot: string },
  target: ReviewTarget,
  rendered: { body: string; comments: ReviewComment[]; trailer: string },
  clean: (text: string) => string,
): Promise<number> {
  const { bot, ...repo } = ref;
  const marker = `<!-- missions:review mission=${target.missionId} milestone=${target.milestone} round=${target.round} -->`;
  const earlier = (await gh.paginate(gh.rest.pulls.listReviews, { ...repo, pull_number: target.pullNumber, per_page: 100 })).find(
    (r) => writtenBy(bot)(r) && (r.body ?? '').startsWith(marker),
  );
  if (earlier) return earlier.id;
  const review = { ...repo, pull_number: target.pullNumber, commit_id: target.head, event: 'COMMENT' as const };
  try {
    const comments = rendered.comments.map((c) => ({ ...c, body: capped(clean(c.body)) }));
    return (await gh.rest.pulls.createReview({ ...review, body: capped(`${marker}\n${clean(rendered.body + rendered.trailer)}`), comments })).data.id;
  } catch (error) {
    if ((error as { status?: number }).status !== 422 || !rendered.comments.length) throw error;
    // GitHub refused a line it would not place: every finding goes in the body instead.
    const inline = rendered.comments.map((c) => `- \`${c.path}:${c.line}\` ${c.body.replace(/\n+/g, ' — ')}`).join('\n');
    const body = `${marker}\n${clean(`${rendered.body}\n\n#### Findings\n\n${inline}${rendered.trailer}`)}`;
    return (await gh.rest.pulls.createReview({ ...review, body: capped(body) })).data.id;
  }
}
