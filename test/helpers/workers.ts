// Scripted model turns for workers: write files (or run commands), then hand off.
import { expect } from 'vitest';
import type { Script, ScriptedTurn } from './model-server.ts';
import type { Handoff } from '../../src/agents/worker.ts';

export const toolTurn = (...calls: { name: string; input: unknown }[]): ScriptedTurn => ({
  content: calls.map((c) => ({ type: 'tool_use' as const, name: c.name, input: c.input })),
});

export const handoffTurn = (summary: string, extra: Partial<Handoff> = {}): ScriptedTurn =>
  toolTurn({ name: 'submit_handoff', input: { status: 'complete', summary, commands_run: [], left_undone: [], issues_found: [], ...extra } });

/** The text of the first user message: the worker's task. */
export const taskOf = (request: { messages: { content: unknown }[] }) => JSON.stringify(request.messages[0]!.content);

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
