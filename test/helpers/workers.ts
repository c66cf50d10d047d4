// Scripted model turns for workers: write files (or run commands), then hand off.
import { expect } from 'vitest';
import type { Script, ScriptedTurn } from './model-server.ts';
import type { Handoff } from '../../src/agents/worker.ts';

export const toolTurn = (...calls: { name: string; input: unknown }[]): ScriptedTurn => ({
  content: calls.map((c) => ({ type: 'tool_use' as const, name: c.name, input: c.input })),
});

export const handoffTurn = (summary: string, extra: Partial<Handoff> = {}): ScriptedTurn =>
  toolTurn({ name: 'submit_handoff', input: { status: 'complete', summary, commands_run: [], left_undone: [], issues_found: [], ...extra } });

/** The text of the first user message: the agent's context and task. */
export const taskOf = (request: { messages: { content: unknown }[] }) => {
  const content = request.messages[0]!.content;
  if (typeof content === 'string') return content;
  return (content as { type: string; text?: string }[]).map((b) => (b.type === 'text' ? b.text : JSON.stringify(b))).join('\n\n');
};

/** A worker that checks it was given `featureId`, writes `files`, and hands off `complete`. */
export function buildsFeature(featureId: string, files: Record<string, string>, summary = `Built ${featureId}.`): (Script | ScriptedTurn)[] {
  return [
    (request) => {
      expect(taskOf(request)).toContain(`# Your feature: ${featureId}`);
      return toolTurn(...Object.entries(files).map(([file_path, content]) => ({ name: 'write', input: { file_path, content } })));
    },
    handoffTurn(summary, { commands_run: [{ command: 'node cli.js hello Ada', exit_code: 0, observation: 'Hello, Ada!' }] }),
  ];
}

type Role = 'scrutiny' | 'user-testing';

/**
 * The two validators run at once, so their requests reach the model in either order: each returned
 * script serves whichever validator asked (told apart by its finish tool) from that role's own turns.
 */
export function validatorTurns(turns: Record<Role, (ScriptedTurn | Script)[]>): Script[] {
  const queues: Record<Role, (ScriptedTurn | Script)[]> = { scrutiny: [...turns.scrutiny], 'user-testing': [...turns['user-testing']] };
  const total = queues.scrutiny.length + queues['user-testing'].length;
  return Array.from({ length: total }, () => (request, index) => {
    const names = (request.tools ?? []).map((t) => t.name);
    const role: Role = names.includes('submit_review') ? 'scrutiny' : names.includes('submit_verdicts') ? 'user-testing' : (() => {
      throw new Error(`expected a validator, got a request with tools ${names.join(', ')}`);
    })();
    const next = queues[role].shift();
    if (!next) throw new Error(`no ${role} turn left`);
    return typeof next === 'function' ? next(request, index) : next;
  });
}

export const approveTurn = (summary = 'Ran the tests: exit 0. Nothing to change.') =>
  toolTurn({ name: 'submit_review', input: { verdict: 'approve', summary, findings: [] } });

export const verdictsTurn = (results: { assertion_id: string; status: 'pass' | 'fail' | 'blocked'; evidence?: string; command?: string }[]) =>
  toolTurn({ name: 'submit_verdicts', input: { results: results.map((r) => ({ evidence: `checked ${r.assertion_id}`, ...r })) } });

/** A milestone that passes at once: scrutiny approves, every assertion passes (no command to replay). */
export const passingValidation = (...assertionIds: string[]) =>
  validatorTurns({ scrutiny: [approveTurn()], 'user-testing': [verdictsTurn(assertionIds.map((assertion_id) => ({ assertion_id, status: 'pass' })))] });
