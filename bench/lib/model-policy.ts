// A scripted model that plays every role competently against the three-module plan, with seeded
// misbehaviour at given rates per agent run (none for a benchmark that measures the app itself):
// shared by bench/unruly-model.ts and bench/scale-out.ts.
import { createHash } from 'node:crypto';
import type { MessagesRequest, Script, ScriptedTurn } from '../../test/helpers/model-server.ts';

export interface Rates {
  noFinish: number;
  cutOff: number;
  refusal: number;
  firstBuildWrong: number;
}
export const NO_MISBEHAVIOUR: Rates = { noFinish: 0, cutOff: 0, refusal: 0, firstBuildWrong: 0 };
const FEATURES = 3;

/** A number in [0, 1) from a label: the same label draws the same number in every run (on either tree, for unruly-model). */
const draw = (label: string) => createHash('sha256').update(label).digest().readUInt32BE(0) / 2 ** 32;

const plan = {
  title: 'Three answers',
  summary: 'Three modules, each exporting the answer.',
  assertions: Array.from({ length: FEATURES }, (_, i) => ({ id: `VAL-00${i + 1}`, statement: `\`node -p "require('./f${i + 1}.js')"\` prints \`42\`` })),
  features: Array.from({ length: FEATURES }, (_, i) => ({
    id: `F${i + 1}`,
    title: `module f${i + 1}`,
    description: `Write f${i + 1}.js exporting 42.`,
    milestone: i < 2 ? 'M1' : 'M2',
    assertion_ids: [`VAL-00${i + 1}`],
  })),
};

const tool = (name: string, input: unknown): ScriptedTurn => ({ content: [{ type: 'tool_use', name, input }] });
const say = (text: string): ScriptedTurn => ({ content: [{ type: 'text', text }] });
const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content));

export function policy(seed: number, rates: Rates): Script {
  const started = new Map<string, number>();
  const flags = new Map<string, { noFinish: boolean; cutOff: boolean; refusal: boolean }>();
  return (request: MessagesRequest) => {
    const names = (request.tools ?? []).map((t) => t.name);
    const role =
      names.includes('submit_plan') ? 'planner'
      : names.includes('submit_handoff') ? 'worker'
      : names.includes('submit_review') ? 'scrutiny'
      : names.includes('submit_verdicts') ? 'user-testing'
      : 'triage';
    const task = text(request.messages[0]!.content);
    const feature = /# Your feature: (F\d+)/.exec(task)?.[1] ?? '';
    const milestone = /# Milestone (M\d+)/.exec(task)?.[1] ?? '';
    const assistantTurns = request.messages.filter((m) => m.role === 'assistant').length;
    // A run is known by what it works on (never by prompt text, which differs between the trees).
    const base = `${seed}:${role}:${feature}${task.includes('An earlier attempt') ? ':again' : ''}:${milestone}`;
    if (assistantTurns === 0 && !flags.has(`${base}:refusing`)) started.set(base, (started.get(base) ?? 0) + 1);
    const label = `${base}:${started.get(base) ?? 1}`;
    if (!flags.has(label)) flags.set(label, { noFinish: draw(`${label}:nofinish`) < rates.noFinish, cutOff: draw(`${label}:cut`) < rates.cutOff, refusal: draw(`${label}:refusal`) < rates.refusal });
    const f = flags.get(label)!;
    if (assistantTurns === 0 && f.refusal) {
      f.refusal = false;
      flags.set(`${base}:refusing`, f);
      return { refusal: true };
    }
    flags.delete(`${base}:refusing`);
    if (assistantTurns === 0 && f.cutOff) {
      f.cutOff = false;
      return { content: [{ type: 'tool_use', name: role === 'worker' ? 'write' : 'bash', input: role === 'worker' ? { file_path: 'junk.js', content: 'x'.repeat(200) } : { command: 'echo half' } }], stop_reason: 'max_tokens' };
    }
    const finish = (turn: ScriptedTurn): ScriptedTurn => {
      if (!f.noFinish) return turn;
      f.noFinish = false;
      return say('Done: everything is in place.');
    };
    const last = text(request.messages.at(-1)!.content);
    switch (role) {
      case 'planner':
        return finish(tool('submit_plan', plan));
      case 'worker': {
        const fix = /^Repair (VAL-\d+)/m.exec(/# Your feature: F\d+ (.*)/.exec(task)?.[1] ?? '');
        const n = fix ? Number(fix[1]!.slice(4)) : Number(feature.slice(1));
        const wrote = request.messages.some((m) => m.role === 'assistant' && text(m.content).includes(`"file_path":"f${n}.js"`));
        if (!wrote) {
          // The first build is wrong at the seeded rate; a fix is right only if the evidence reached it.
          const right = fix ? task.includes('printed 41') : draw(`${seed}:bug:${feature}`) >= rates.firstBuildWrong;
          return tool('write', { file_path: `f${n}.js`, content: `module.exports = ${right ? 42 : 41};\n` });
        }
        return finish(tool('submit_handoff', { status: 'complete', summary: `Wrote f${n}.js.`, commands_run: [], left_undone: [], issues_found: [] }));
      }
      case 'scrutiny':
        return finish(tool('submit_review', { verdict: 'approve', summary: 'Read the diff: nothing to change.', findings: [] }));
      case 'user-testing': {
        const ids = [...new Set([...task.matchAll(/\*\*(VAL-\d+)\*\*/g)].map((m) => m[1]!))];
        // Runs its checks, and again after a reply of its own was cut off (those calls did not run).
        if (assistantTurns === 0 || !last.includes('tool_result') || last.includes('Not run:')) {
          return { content: ids.map((id) => ({ type: 'tool_use' as const, name: 'bash', input: { command: `node -p "require('./f${Number(id.slice(4))}.js')"` } })) };
        }
        const outputs = (request.messages.at(-1)!.content as { type: string; content?: unknown }[]).filter((b) => b.type === 'tool_result').map((b) => text(b.content));
        return finish(
          tool('submit_verdicts', {
            results: ids.map((id, i) => {
              const n = Number(id.slice(4));
              const printed = /\b(4[12])\b/.exec(outputs[i] ?? '')?.[1];
              return printed === '42' ?
                  { assertion_id: id, status: 'pass', evidence: `\`node -p "require('./f${n}.js')"\` printed 42`, command: `node -e "process.exit(require('./f${n}.js') === 42 ? 0 : 1)"` }
                : { assertion_id: id, status: 'fail', evidence: `\`node -p "require('./f${n}.js')"\` printed ${printed ?? 'an error'}; ${id} wants 42` };
            }),
          }),
        );
      }
      default: {
        const failing = [...(/Not passed: ([^.]*)\./.exec(task)?.[1] ?? '').matchAll(/VAL-\d+/g)].map((m) => m[0]);
        const at = task.indexOf('## The items of this round');
        const listed = at < 0 ? '' : task.slice(at);
        const items = [...listed.matchAll(/^- \*\*((?:S|W)\d+|VAL-\d+)\*\*/gm)].map((m) => m[1]!);
        return finish(
          tool('submit_triage', {
            decision: failing.length ? 'fix' : 'proceed',
            rationale: failing.length ? `${failing.join(', ')} failed.` : 'Everything passed.',
            // Like many a real triage, the description does not restate the evidence.
            fix_features: failing.map((id) => ({ title: `Repair ${id}`, description: `Make ${id} hold.`, assertion_ids: [id], addresses: [id] })),
            dispositions: items.map((item) =>
              failing.includes(item) ? { item, action: 'fix', reason: 'it failed' } : { item, action: 'dismiss', reason: 'It asks for nothing the contract covers, as the verdicts show.' },
            ),
          }),
        );
      }
    }
  };
}

