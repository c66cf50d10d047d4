// `npm run demo`: one whole mission, offline. The real app runs against the test fakes (GitHub
// through nock with OpenAPI checks, a local Messages API server playing a scripted model), on a real
// local git repository, where the first worker plants a bug that the validators catch. It prints the
// issue thread and the pull request as a maintainer would read them.
import { fileURLToPath } from 'node:url';
import { bareRepository, labeledPayload, createTestApp, waitFor, type TestApp } from '../test/helpers/harness.ts';
import { git, pushedCommits } from '../test/helpers/git.ts';
import { IssueThread } from '../test/helpers/issue-thread.ts';
import type { PromptCache, ScriptedTurn } from '../test/helpers/model-server.ts';
import { stackPlan } from '../test/helpers/plans.ts';
import { commentOn } from '../test/helpers/scenario.ts';
import { approveTurn, handoffTurn, toolTurn, validatorTurns, verdictsTurn, type passingValidation } from '../test/helpers/workers.ts';

const buggy = 'const name = process.argv[3];\nconsole.log(`Hello, ${name}`);\n';
const fixed = 'const name = process.argv[3];\nconsole.log(`Hello, ${name}!`);\n';
const greets = "node cli.js hello Ada | grep -qx 'Hello, Ada!'";
const shouting = 'const name = process.argv[3];\nconst greeting = `Hello, ${name}!`;\nconsole.log(process.argv.includes(\'--shout\') ? greeting.toUpperCase() : greeting);\n';
const shouts = "node cli.js hello Ada --shout | grep -qx 'HELLO, ADA!'";

/** The demo's plan: the three-feature stack, with how each assertion is checked and notes for every role, as a planner writes them. */
const demoPlan = {
  ...stackPlan,
  notes: 'cli.js is the whole CLI: `node cli.js <command> [args]`, argv[2] is the command. There is no test runner; test.js is run with `node test.js` and fails by throwing.',
  assertions: stackPlan.assertions.map((a) => ({ ...a, verify: { 'VAL-001': greets, 'VAL-002': 'node test.js', 'VAL-003': shouts }[a.id] })),
};

/** The scripted model: a planner, three workers (the first plants a bug), validators, triage, a fix. */
export function demoTurns(title = demoPlan.title): (ScriptedTurn | ReturnType<typeof passingValidation>[number])[] {
  return [
    toolTurn({ name: 'glob', input: { pattern: '**/*' } }),
    toolTurn({ name: 'submit_plan', input: { ...demoPlan, title } }),
    toolTurn({ name: 'read', input: { file_path: 'cli.js' } }),
    toolTurn({ name: 'write', input: { file_path: 'cli.js', content: buggy } }),
    handoffTurn('Added the hello command to cli.js.', { commands_run: [{ command: 'node cli.js hello Ada', exit_code: 0, observation: 'Hello, Ada' }] }),
    toolTurn({ name: 'write', input: { file_path: 'test.js', content: 'const assert = require("assert");\nassert.ok(require("fs").existsSync("cli.js"));\n' } }),
    handoffTurn('Added test.js.', { commands_run: [{ command: 'node test.js', exit_code: 0 }] }),
    ...validatorTurns({
      'user-testing': [
        toolTurn({ name: 'bash', input: { command: 'node cli.js hello Ada' } }),
        verdictsTurn([
          { assertion_id: 'VAL-001', status: 'fail', evidence: '$ node cli.js hello Ada\nHello, Ada\n(expected `Hello, Ada!`)' },
          { assertion_id: 'VAL-002', status: 'pass', evidence: '$ node test.js\n(exit 0)', command: 'node test.js' },
        ]),
      ],
      scrutiny: [
        toolTurn({ name: 'bash', input: { command: 'node test.js; echo "exit $?"' } }),
        toolTurn({
          name: 'submit_review',
          input: {
            verdict: 'request_changes',
            summary: 'Ran `node test.js`: exit 0, but the test only checks that cli.js exists. The greeting is missing its `!`.',
            findings: [
              { severity: 'blocker', path: 'cli.js', line: 2, title: 'The greeting lacks its "!"', detail: '`node cli.js hello Ada` prints `Hello, Ada`; VAL-001 requires `Hello, Ada!`.' },
              { severity: 'major', path: 'test.js', line: 2, title: 'The test checks nothing about the greeting', detail: 'It only asserts that cli.js exists.' },
              { severity: 'minor', path: 'README.md', line: 1, title: 'README does not mention `hello`', detail: 'Document the command.' },
            ],
          },
        }),
      ],
    }),
    toolTurn({
      name: 'submit_triage',
      input: {
        decision: 'fix',
        rationale: 'VAL-001 fails: the greeting has no "!"; one fix repairs it and S1. The test and README findings are outside this contract.',
        fix_features: [
          {
            title: 'Add the missing "!" to the greeting',
            description: 'cli.js prints `Hello, <name>`; it must print `Hello, <name>!` (VAL-001).',
            assertion_ids: ['VAL-001'],
            addresses: ['VAL-001', 'S1'],
          },
        ],
        dispositions: [
          { item: 'VAL-001', action: 'fix', reason: 'The greeting has no "!".' },
          { item: 'S1', action: 'fix', reason: 'The cause of VAL-001.' },
          { item: 'S2', action: 'defer', reason: 'VAL-002 asks only that `node test.js` passes; a test of the greeting itself belongs in a follow-up issue.' },
          { item: 'S3', action: 'dismiss', reason: 'The README documents no commands at all; documenting hello is outside this contract.' },
        ],
      },
    }),
    toolTurn({ name: 'write', input: { file_path: 'cli.js', content: fixed } }),
    handoffTurn('Added the "!" to the greeting.', { commands_run: [{ command: greets, exit_code: 0 }] }),
    ...validatorTurns({
      'user-testing': [
        verdictsTurn([
          { assertion_id: 'VAL-001', status: 'pass', evidence: 'prints Hello, Ada!', command: greets },
          { assertion_id: 'VAL-002', status: 'pass', command: 'node test.js' },
        ]),
      ],
      scrutiny: [approveTurn('Ran `node test.js`: exit 0. The greeting now ends with "!".')],
    }),
    toolTurn({ name: 'write', input: { file_path: 'cli.js', content: shouting } }),
    handoffTurn('Added --shout, which upper-cases the greeting.', { commands_run: [{ command: shouts, exit_code: 0 }] }),
    ...validatorTurns({
      'user-testing': [verdictsTurn([{ assertion_id: 'VAL-003', status: 'pass', evidence: 'prints HELLO, ADA!', command: shouts }])],
      scrutiny: [approveTurn('Ran `node test.js`: exit 0. `--shout` upper-cases the whole greeting.')],
    }),
  ];
}

export interface DemoRun {
  app: TestApp;
  thread: IssueThread;
  origin: string;
  /** From the label to the mission done. */
  ms: number;
}

/** Plays the demo mission; the caller closes `app`. */
export async function playDemo(options: { caching?: boolean; publicUrl?: string; modelCache?: PromptCache; title?: string } = {}): Promise<DemoRun> {
  const app = await createTestApp({ turns: demoTurns(options.title), modelCache: options.modelCache });
  if (options.caching === false) app.ctx.caching = false;
  app.ctx.publicUrl = options.publicUrl;
  const origin = bareRepository({ 'cli.js': '', 'README.md': '# greeter\n' });
  const thread = new IssueThread(app.github, { cloneUrl: origin });
  const started = performance.now();
  await app.receive('issues', labeledPayload());
  await waitFor(async () => (await app.store.get(1)).rendered_revision === 1, 'the plan', 60_000);
  await commentOn({ app, thread }, '/approve');
  await waitFor(async () => (await app.store.get(1)).state === 'done', 'the mission to be done', 300_000);
  await waitFor(() => thread.missionComment()!.body.includes('✅ done'), 'the board', 10_000);
  return { app, thread, origin, ms: performance.now() - started };
}

function print(run: DemoRun): void {
  const { thread, origin } = run;
  const rule = (title: string) => console.log(`\n${'═'.repeat(100)}\n${title}\n${'═'.repeat(100)}`);
  const strip = (body: string) => body.replace(/<!--[\s\S]*?-->\n?/g, '').trim();
  rule('ISSUE #1: Add a greeting command');
  for (const c of thread.comments) console.log(`\n── @${c.user.login} ${'─'.repeat(80)}\n${strip(c.body)}`);
  const pr = thread.pulls[0]!;
  rule(`PULL REQUEST #${pr.number}: ${pr.title}  [${pr.draft ? 'draft' : 'ready for review'}]  ${pr.head} → ${pr.base}`);
  console.log(strip(pr.body));
  rule('COMMITS');
  for (const c of pushedCommits(origin, pr.head)) console.log(`\n${c.sha.slice(0, 7)}  ${c.author}\n${c.message.replace(/^/gm, '    ')}`);
  rule('REVIEWS (event COMMENT: the app authors the PR)');
  for (const r of thread.reviews) {
    console.log(`\n── review on ${r.commit_id.slice(0, 7)} ${'─'.repeat(70)}\n${strip(r.body)}`);
    for (const c of r.comments) console.log(`\n   ┌ inline on ${c.path}:${c.line}\n${c.body.replace(/^/gm, '   │ ')}`);
  }
  rule('CHECK RUNS');
  for (const c of thread.checkRuns) console.log(`${c.head_sha.slice(0, 7)}  ${c.name.padEnd(20)} ${c.conclusion.padEnd(8)} ${c.output.title}`);
  rule('PULL REQUEST CONVERSATION');
  for (const c of pr.comments) console.log(`\n── @${c.user.login} ${'─'.repeat(80)}\n${strip(c.body)}`);
  console.log(`\nfinal cli.js:\n${git(origin, 'show', `${pr.head}:cli.js`)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = await playDemo();
  print(run);
  console.log(`\nThe mission took ${(run.ms / 1000).toFixed(1)} s with an instant model.`);
  await run.app.close();
  process.exit(0);
}
