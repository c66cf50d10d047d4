// A GitHub issue thread that behaves like one: comments posted and edited through the API are what
// later reads return. Mounted on a GitHubMock, so every request is still checked against OpenAPI.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { GitHubMock } from './github.ts';
import { commitTo, ISSUE, OWNER, REPO, REPO_ID } from './harness.ts';
import { dirname, join } from 'node:path';

export interface ThreadComment {
  id: number;
  body: string;
  user: { login: string; type: 'User' | 'Bot' };
  created_at?: string;
  updated_at?: string;
}

export interface RepoSetup {
  cloneUrl: string;
  /** The bare repository behind `cloneUrl`, when that is served over HTTP (git-http.ts). */
  gitDir?: string;
  permissions?: Record<string, string>;
  /** Raw YAML of .github/missions.yml, committed to the repository's default branch too; absent means no file. */
  config?: string;
  issue?: { title?: string; body?: string; author?: string };
  /** Another repository of the owner than the default (several missions at once, each in its own). */
  repo?: { name: string; id: number };
  /** Keeps the thread in this file, so a thread outlives a process that is killed. */
  stateFile?: string;
}

export interface FakeReview {
  /** Who wrote it: the app's bot unless a test plants one. */
  user?: string;
  commit_id: string;
  event: string;
  body: string;
  comments: { path: string; line: number; side: string; body: string }[];
}

export interface FakeCheckRun {
  name: string;
  external_id?: string;
  head_sha: string;
  conclusion: string;
  output: { title: string; summary: string; annotations?: { path: string; start_line: number; annotation_level: string; title: string }[] };
}

export interface FakePullRequest {
  number: number;
  /** Who opened it: the app's bot unless a test plants one. */
  user?: string;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  /** Comments on the pull request's conversation (replies to commands given there). */
  comments: ThreadComment[];
}

/** The number GitHub gives the mission's pull request in these tests. */
export const PR_NUMBER = 2;

/** A file's text, or null when there is none. */
const readRegular = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : null);

export class IssueThread {
  comments: ThreadComment[] = [];
  reactions: string[] = [];
  pulls: FakePullRequest[] = [];
  reviews: FakeReview[] = [];
  /** Each GraphQL change of a pull request's draft state, in order. */
  draftChanges: string[] = [];
  /** Refuse every inline review comment (as GitHub does for a line it places differently). */
  refuseInlineComments = false;
  checkRuns: FakeCheckRun[] = [];
  /** Other apps' CI on every commit, as GitHub would list it. */
  ci: { checkRuns: { name: string; status: string; conclusion: string | null }[]; statuses: { context: string; state: string; description?: string }[] } = { checkRuns: [], statuses: [] };
  #next = 9000;
  #nodePrefix = 'PR_node_';
  #repoName: string;
  /** The repository's path prefix, when the thread is in a repository other than the default. */
  #scope: RegExp | undefined;

  /** A path pattern narrowed to this thread's repository (other threads' repositories have their own). */
  #own(pattern: RegExp): RegExp {
    return this.#scope ? new RegExp(`${this.#scope.source}${pattern.source}`) : pattern;
  }
  /** Comment edits GitHub has received and not answered yet (see holdEdits). */
  editsInFlight: string[] = [];
  #editGate: Promise<void> = Promise.resolve();
  #appliedBeforeAnswer = false;

  readonly #stateFile: string | undefined;

  readonly #cloneUrl: string;

  constructor(github: GitHubMock, setup: RepoSetup) {
    this.#stateFile = setup.stateFile;
    this.#cloneUrl = setup.gitDir ?? setup.cloneUrl;
    // The repository holds the config GitHub serves: a build step reads it from its clone. (Once: a
    // thread made again after a restart finds it committed.)
    const work = join(dirname(this.#cloneUrl), 'work');
    if (setup.config !== undefined && existsSync(work) && readRegular(join(work, '.github/missions.yml')) !== setup.config) {
      commitTo(this.#cloneUrl, { '.github/missions.yml': setup.config });
    }
    if (setup.stateFile && existsSync(setup.stateFile)) {
      Object.assign(this, JSON.parse(readFileSync(setup.stateFile, 'utf8')));
      this.#next = Math.max(this.#next, ...this.comments.map((c) => c.id));
    }
    const name = setup.repo?.name ?? REPO;
    const base = `/repos/${OWNER}/${name}`;
    this.#repoName = name;
    if (setup.repo) {
      // Another repository's thread shares the mock: its paths, comment and pull request ids are its own.
      this.#scope = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}`);
      this.#nodePrefix = `PR_node_${name}_`;
      this.#next = 9000 + setup.repo.id * 1000;
    }
    const permissions = { maintainer: 'write', admin: 'admin', reader: 'read', ...setup.permissions };
    github
      .get(`${base}/contents/.github%2Fmissions.yml`)
      .reply(github.conditional(() => (setup.config === undefined ? [404, { message: 'Not Found' }] : [200, setup.config, { 'content-type': 'text/plain; charset=utf-8' }])))
      .persist();
    // Probot's config loader falls back to the owner's `.github` repository.
    github.get(`/repos/${OWNER}/.github/contents/.github%2Fmissions.yml`).reply(404, { message: 'Not Found' }).persist();
    for (const [login, role] of Object.entries(permissions)) {
      const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
      github.get(`${base}/collaborators/${login}/permission`).reply(200, { permission, role_name: role, user: { login } }).persist();
    }
    github
      .get(`${base}`)
      .reply(github.conditional(() => [200, { id: setup.repo?.id ?? REPO_ID, name, full_name: `${OWNER}/${name}`, owner: { login: OWNER }, clone_url: setup.cloneUrl, default_branch: 'main' }]))
      .persist();
    const issue = setup.issue ?? {};
    github
      .get(`${base}/issues/${ISSUE}`)
      .reply(200, {
        number: ISSUE,
        title: issue.title ?? 'Add a greeting command',
        body: issue.body ?? 'The CLI should print a friendly greeting with `hello <name>`.',
        user: { login: issue.author ?? 'maintainer', type: 'User' },
        state: 'open',
      })
      .persist();
    github
      .get(`${base}/issues/${ISSUE}/comments?per_page=100`)
      .reply(github.conditional(() => [200, this.comments.map((c) => ({ ...c, html_url: `https://github.com/x/${c.id}` }))]))
      .persist();
    github
      .post(`${base}/issues/${ISSUE}/reactions`)
      .reply(async (req: Request) => {
        const body = await req.json();
        this.reactions.push(body.content);
        this.#save();
        return [201, { id: 1, content: body.content }];
      })
      .persist();
    github
      .post(`${base}/issues/${ISSUE}/comments`)
      .reply(async (req: Request) => {
        const body = await req.json();
        const now = new Date().toISOString();
        const comment = { id: ++this.#next, body: body.body, user: { login: 'missions[bot]', type: 'Bot' as const }, created_at: now, updated_at: now };
        this.comments.push(comment);
        this.#save();
        return [201, comment];
      })
      .persist();
    github
      .intercept('PATCH', `${base}/issues/comments/1`, this.#own(/\/issues\/comments\/\d+$/))
      .reply(async (req: Request) => {
        const body = await req.json();
        const comment = this.comments.find((c) => new URL(req.url).pathname.endsWith(`/${c.id}`));
        if (!comment) return [404, { message: 'Not Found' }];
        // A held edit is applied before the hold (GitHub shows it, its answer is slow) or after it (not applied yet).
        const apply = () => Object.assign(comment, { body: body.body, updated_at: new Date().toISOString() });
        if (this.#appliedBeforeAnswer) apply();
        this.editsInFlight.push(body.body);
        await this.#editGate;
        this.editsInFlight.splice(this.editsInFlight.indexOf(body.body), 1);
        if (!this.#appliedBeforeAnswer) apply();
        this.#save();
        return [200, comment];
      })
      .persist();
    this.#mockPulls(github, base);
    this.#mockValidation(github, base);
    github
      .intercept('GET', `${base}/issues/comments/1`, this.#own(/\/issues\/comments\/\d+$/))
      .reply((req: Request) => {
        const comment = this.comments.find((c) => new URL(req.url).pathname.endsWith(`/${c.id}`));
        return comment ? [200, comment] : [404, { message: 'Not Found' }];
      })
      .persist();
  }

  #save() {
    if (this.#stateFile) writeFileSync(this.#stateFile, JSON.stringify({ comments: this.comments, reactions: this.reactions, pulls: this.pulls }));
  }

  /** Pull requests: listed by head, created (as draft), updated; comments on the PR thread. */
  #mockPulls(github: GitHubMock, base: string) {
    github
      .intercept('GET', `${base}/pulls?head=x&state=all&per_page=10`, this.#own(/\/pulls\?/))
      .reply((req: Request) => {
        const head = new URL(req.url).searchParams.get('head')!.split(':')[1];
        return [200, this.pulls.filter((p) => p.head === head).map((p) => this.#pullJson(p))];
      })
      .persist();
    github
      .post(`${base}/pulls`)
      .reply(async (req: Request) => {
        const body = await req.json();
        if (this.pulls.some((p) => p.head === body.head)) return [422, { message: 'Validation Failed', errors: [{ message: `A pull request already exists for ${body.head}.` }] }];
        const pull = { number: PR_NUMBER + this.pulls.length, title: body.title, body: body.body ?? '', head: body.head, base: body.base, draft: !!body.draft, comments: [] };
        this.pulls.push(pull);
        this.#save();
        return [201, this.#pullJson(pull)];
      })
      .persist();
    github
      .intercept('PATCH', `${base}/pulls/${PR_NUMBER}`, this.#own(/\/pulls\/\d+$/))
      .reply(async (req: Request) => {
        const body = await req.json();
        const pull = this.pulls.find((p) => new URL(req.url).pathname.endsWith(`/pulls/${p.number}`));
        if (!pull) return [404, { message: 'Not Found' }];
        Object.assign(pull, Object.fromEntries(Object.entries(body).filter(([k]) => ['title', 'body'].includes(k))));
        this.#save();
        return [200, this.#pullJson(pull)];
      })
      .persist();
    github
      .intercept('POST', `${base}/issues/${PR_NUMBER}/comments`, this.#own(/\/issues\/([2-9]|\d\d+)\/comments$/))
      .reply(async (req: Request) => {
        const body = await req.json();
        const comment = { id: ++this.#next, body: body.body, user: { login: 'missions[bot]', type: 'Bot' as const } };
        const number = Number(/\/issues\/(\d+)\/comments/.exec(new URL(req.url).pathname)![1]);
        const pull = this.pulls.find((p) => p.number === number);
        if (!pull) return [404, { message: 'Not Found' }];
        pull.comments.push(comment);
        this.#save();
        return [201, comment];
      })
      .persist();
  }

  #pullJson(p: FakePullRequest) {
    return {
      number: p.number,
      node_id: `${this.#nodePrefix}${p.number}`,
      title: p.title,
      body: p.body,
      draft: p.draft,
      state: 'open',
      html_url: `https://github.com/${OWNER}/${this.#repoName}/pull/${p.number}`,
      head: { ref: p.head },
      base: { ref: p.base },
      user: { login: p.user ?? 'missions[bot]', type: p.user ? 'User' : 'Bot' },
    };
  }

  /** Reviews, check runs, CI reads and the GraphQL mutation that marks a PR ready. */
  #mockValidation(github: GitHubMock, base: string) {
    github
      .intercept('POST', `${base}/pulls/${PR_NUMBER}/reviews`, this.#own(/\/pulls\/\d+\/reviews$/))
      .reply(async (req: Request) => {
        const body = await req.json();
        // As GitHub does: an inline comment must sit on a line of the pull request's diff.
        const lines = prDiffLines(this.#cloneUrl, body.commit_id);
        const outside = (body.comments ?? []).filter((c: { path: string; line: number }) => this.refuseInlineComments || !lines.get(c.path)?.has(c.line));
        if (outside.length) return [422, { message: 'Unprocessable Entity', errors: ['Pull request review thread line must be part of the diff'] }];
        if (body.event !== 'COMMENT') return [422, { message: 'Unprocessable Entity', errors: ['Can not approve or request changes on your own pull request'] }];
        this.reviews.push({ commit_id: body.commit_id, event: body.event, body: body.body, comments: body.comments ?? [] });
        this.#save();
        return [200, { id: 7000 + this.reviews.length, body: body.body, state: 'COMMENTED', commit_id: body.commit_id, user: { login: 'missions[bot]', type: 'Bot' } }];
      })
      .persist();
    github
      .intercept('GET', `${base}/pulls/${PR_NUMBER}/reviews?per_page=100`, this.#own(/\/pulls\/\d+\/reviews\?/))
      .reply(() => [200, this.reviews.map((r, i) => ({ id: 7001 + i, body: r.body, state: 'COMMENTED', commit_id: r.commit_id, user: { login: r.user ?? 'missions[bot]', type: r.user ? 'User' : 'Bot' } }))])
      .persist();
    github
      .intercept('GET', `${base}/issues/${PR_NUMBER}/comments?per_page=100`, this.#own(/\/issues\/([2-9]|\d\d+)\/comments\?/))
      .reply((req: Request) => {
        const number = Number(/\/issues\/(\d+)\/comments/.exec(new URL(req.url).pathname)![1]);
        return [200, this.pulls.find((p) => p.number === number)?.comments ?? []];
      })
      .persist();
    github
      .post(`${base}/check-runs`)
      .reply(async (req: Request) => {
        const body = await req.json();
        this.checkRuns.push(body);
        this.#save();
        return [201, { id: 8000 + this.checkRuns.length, name: body.name, head_sha: body.head_sha, status: body.status, conclusion: body.conclusion }];
      })
      .persist();
    github
      .intercept('GET', `${base}/commits/abc/check-runs?per_page=100`, this.#own(/\/commits\/[0-9a-f]+\/check-runs/))
      .reply((req: Request) => {
        // Other apps' CI, and the app's own runs on that commit (filtered by name, as GitHub does).
        const url = new URL(req.url);
        const sha = /\/commits\/([0-9a-f]+)\//.exec(url.pathname)![1];
        const name = url.searchParams.get('check_name');
        const runs = [
          ...this.ci.checkRuns.map((c) => ({ ...c, app: { slug: 'other-ci' } })),
          ...this.checkRuns.filter((c) => c.head_sha === sha).map((c) => ({ ...c, status: 'completed', app: { slug: 'missions' } })),
        ].filter((c) => !name || c.name === name);
        return [200, { total_count: runs.length, check_runs: runs.map((c, i) => ({ id: i + 1, ...c })) }];
      })
      .persist();
    github
      .intercept('GET', `${base}/commits/abc/status?per_page=100`, this.#own(/\/commits\/[0-9a-f]+\/status/))
      .reply(() => [200, { state: 'success', statuses: this.ci.statuses, total_count: this.ci.statuses.length }])
      .persist();
    github
      .intercept('GET', `${base}/pulls/${PR_NUMBER}`, this.#own(/\/pulls\/\d+$/))
      .reply((req: Request) => {
        const pull = this.pulls.find((p) => new URL(req.url).pathname.endsWith(`/pulls/${p.number}`));
        return pull ? [200, this.#pullJson(pull)] : [404, { message: 'Not Found' }];
      })
      .persist();
    // GraphQL is not in the REST description: the mutation is checked here by hand.
    github.scope
      .post('/graphql', this.#scope ? (body: { variables?: { id?: string } }) => String(body?.variables?.id ?? '').startsWith(this.#nodePrefix) : undefined)
      .reply(async (req: Request) => {
        const body = await req.json();
        const pull = this.pulls.find((p) => `${this.#nodePrefix}${p.number}` === body.variables?.id);
        const mutation = /(markPullRequestReadyForReview|convertPullRequestToDraft)/.exec(body.query)?.[1];
        if (!mutation || !pull) return [200, { errors: [{ message: `unexpected GraphQL: ${body.query}` }] }];
        pull.draft = mutation === 'convertPullRequestToDraft';
        this.draftChanges.push(pull.draft ? 'draft' : 'ready');
        this.#save();
        return [200, { data: { [mutation]: { pullRequest: { isDraft: pull.draft } } } }];
      })
      .persist();
  }

  /** A review someone else wrote on a pull request (an outsider can review any public one). */
  addReview(body: string, login: string, commit_id = 'main'): void {
    this.reviews.push({ user: login, commit_id, event: 'COMMENT', body, comments: [] });
  }

  /** A comment a person wrote on the pull request's conversation. */
  addPullComment(number: number, body: string, login: string): void {
    this.pulls.find((p) => p.number === number)!.comments.push({ id: ++this.#next, body, user: { login, type: 'User' } });
  }

  /** A comment a person wrote (as GitHub would show it in the thread). */
  add(body: string, login = 'maintainer'): ThreadComment {
    const comment = { id: ++this.#next, body, user: { login, type: 'User' as const } };
    this.comments.push(comment);
    return comment;
  }

  /**
   * Holds every comment edit in flight until the returned function is called (a slow GitHub):
   * `applied` edits show at once and only their answer waits; otherwise they land on release.
   */
  holdEdits(options: { applied: boolean }): () => void {
    let release!: () => void;
    this.#appliedBeforeAnswer = options.applied;
    this.#editGate = new Promise((resolve) => (release = resolve));
    return () => {
      this.#editGate = Promise.resolve();
      release();
    };
  }

  /** The app's own mission comment (a planted look-alike is not it). */
  missionComment(): ThreadComment | undefined {
    return this.comments.find((c) => c.user.login === 'missions[bot]' && c.body.includes('missions:mission-comment'));
  }

  replies(): string[] {
    return this.comments.filter((c) => c.user.login === 'missions[bot]' && c.body.includes('missions:reply')).map((c) => c.body);
  }
}

/** The new-side lines each file's hunks cover in the pull request's diff (main...commit), as GitHub sees it. */
function prDiffLines(bare: string, commit: string): Map<string, Set<number>> {
  const diff = execFileSync('git', ['--git-dir', bare, 'diff', `main...${commit}`], { encoding: 'utf8' });
  const lines = new Map<string, Set<number>>();
  let current: Set<number> | undefined;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ b/')) lines.set(line.slice(6), (current = new Set()));
    const m = /^@@ -\S+ \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (m && current) for (let n = Number(m[1]); n < Number(m[1]) + Number(m[2] ?? 1); n++) current.add(n);
  }
  return lines;
}
