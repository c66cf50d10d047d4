// Plans the scripted planner submits.
import type { Plan } from '../../src/mission/plan.ts';

export const greetingPlan: Plan = {
  title: 'Greeting command',
  summary: 'Add a `hello <name>` command to the CLI, with a friendly error when the name is missing.',
  assertions: [
    { id: 'VAL-001', statement: '`node cli.js hello Ada` prints `Hello, Ada!` and exits 0' },
    { id: 'VAL-002', statement: '`node cli.js hello` without a name exits 2 with a usage message on stderr' },
    { id: 'VAL-003', statement: '`npm test` passes with tests for both cases' },
  ],
  features: [
    { id: 'F1', title: 'hello command', description: 'Parse `hello <name>` in cli.js and print the greeting.', milestone: 'M1', assertion_ids: ['VAL-001', 'VAL-002'] },
    { id: 'F2', title: 'tests for hello', description: 'Add tests under test/ for both cases.', milestone: 'M1', assertion_ids: ['VAL-003'] },
  ],
};

/** Three features over two milestones, for building. */
export const stackPlan: Plan = {
  title: 'Greeting command',
  summary: 'A `hello <name>` command, its tests, and a `--shout` flag.',
  assertions: [
    { id: 'VAL-001', statement: '`node cli.js hello Ada` prints `Hello, Ada!`' },
    { id: 'VAL-002', statement: '`node test.js` passes' },
    { id: 'VAL-003', statement: '`node cli.js hello Ada --shout` prints `HELLO, ADA!`' },
  ],
  features: [
    { id: 'F1', title: 'hello command', description: 'Print the greeting.', milestone: 'M1', assertion_ids: ['VAL-001'] },
    { id: 'F2', title: 'tests for hello', description: 'A test script.', milestone: 'M1', assertion_ids: ['VAL-002'] },
    { id: 'F3', title: 'shout flag', description: 'Upper-case with --shout.', milestone: 'M2', assertion_ids: ['VAL-003'] },
  ],
};

/** The first `n` features of stackPlan, with the assertions they claim. */
export const firstFeatures = (n: number): Plan => ({ ...stackPlan, features: stackPlan.features.slice(0, n), assertions: stackPlan.assertions.slice(0, n) });
