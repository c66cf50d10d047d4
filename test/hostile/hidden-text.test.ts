// Attacks 2 and 3 of issue 9: text hidden from the humans reading a thread, and an outsider's flood.
// Whatever a read-only user writes reaches the planner only as visible, quoted, bounded data.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sanitizeText, UNTRUSTED_THREAD_MAX } from '../../src/github/untrusted.ts';
import { checkAndCloseAfterEach, labeledPayload, type TestApp, waitFor } from '../helpers/harness.ts';
import { greetingPlan } from '../helpers/plans.ts';
import { commentOn, missionReaches, startMission } from '../helpers/scenario.ts';
import { taskOf, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

/** Each of these was a live hiding place before: the secret must not survive sanitising. */
const BYPASSES = [
  'a<!-<!-- x -->- SECRET -->b',
  'a<!\u200B-- SECRET -->b',
  'a<!-\uFE0F- SECRET -->b',
  'a\u061C<!-\u{E0101}- SECRET -->',
  'x <!-- SECRET',
  '[//]: # (SECRET)',
  '  [hidden]: https://example.com "SECRET"',
];
const INVISIBLES = ['\u061C', '\uFE0F', '\u{E0100}', '\u{E01EF}', '\u3164', '\u034F', '\u115F', '\u1160', '\uFFA0', '\u200B', '\u2066', '\u{E0041}', '\u00AD', '\u180E', '\u001E'];

describe('hidden text', () => {
  it('removes every reported bypass and invisible character', () => {
    for (const text of BYPASSES) expect(sanitizeText(text), JSON.stringify(text)).not.toContain('SECRET');
    for (const ch of INVISIBLES) expect(sanitizeText(`a${ch}b`), `U+${ch.codePointAt(0)!.toString(16)}`).toBe('ab');
    // What people see stays: text, code, emoji without their selectors, links.
    expect(sanitizeText('Use `a < b` and **bold** ❤\uFE0F [docs](https://x.y) <b>ok</b>')).toBe('Use `a < b` and **bold** ❤ [docs](https://x.y) <b>ok</b>');
  });

  it('reaches a fixed point on generated inputs: nothing hidden is left, and sanitising again changes nothing', () => {
    const pieces = ['<', '!', '-', '--', '>', '<!--', '-->', '[', ']', ':', '//', '#', ' ', '\n', 'a', 'SECRET', ...INVISIBLES];
    const text = fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((p) => p.join(''));
    fc.assert(
      fc.property(text, (input) => {
        const out = sanitizeText(input);
        expect(sanitizeText(out)).toBe(out);
        expect(out).not.toContain('<!--');
        expect(out).not.toMatch(/[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Variation_Selector}]/u);
        expect(out).not.toMatch(/^ {0,3}\[[^\]\n]*\]:/m);
      }),
      { numRuns: 2000 },
    );
    // Visible text without markup passes through unchanged.
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '`', '*', 'é', '→') }), (input) => {
        expect(sanitizeText(input)).toBe(input);
      }),
    );
  });

  it('quotes an outsider’s hidden text and flood to the planner visibly and within bounds, and refuses their commands once', async () => {
    let prompt = '';
    const scenario = await startMission({
      label: false,
      turns: [
        (request) => {
          prompt = taskOf(request);
          return toolTurn({ name: 'submit_plan', input: greetingPlan });
        },
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    for (const text of BYPASSES) thread.add(`visible\n${text}`, 'reader');
    // 30 comments of 60 kB each: 1.8 MB of words by one read-only user.
    for (let i = 0; i < 30; i++) thread.add(`flood ${i} ${'x'.repeat(60_000)}`, 'reader');
    thread.add('Please also print a newline.', 'maintainer');
    await app.receive('issues', labeledPayload());
    await missionReaches(app, 'awaiting_approval', 1);
    expect(prompt).toContain('visible\na');
    expect(prompt).not.toContain('SECRET');
    expect(prompt).toContain('Please also print a newline.');
    expect(prompt).toMatch(/\[cut: \d+ more characters of this comment were left out\]/);
    expect(prompt).toMatch(/\(\d+ more comment\(s\) by users without write access \(@reader; \d+ characters\) were left out/);
    expect(prompt.length).toBeLessThan(UNTRUSTED_THREAD_MAX + 10_000);

    // Three commands from the outsider: one refusal in all.
    for (const command of ['/approve', '/cancel', '/approve']) await commentOn(scenario, command, 'reader');
    await commentOn(scenario, '/status');
    await waitFor(() => thread.replies().some((r) => r.includes('@maintainer **Mission status**')), 'the maintainer’s status');
    expect(thread.replies().filter((r) => r.includes('@reader'))).toEqual([expect.stringContaining('@reader `/approve` needs write access')]);
    expect((await app.store.get(1)).state).toBe('awaiting_approval');
  });
});
