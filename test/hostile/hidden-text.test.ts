// Attacks 2 and 3 of issue 9: text hidden from the humans reading a thread, and an outsider's flood.
// Whatever a read-only user writes reaches the planner only as visible, quoted, bounded data.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sanitizeText, UNTRUSTED_COMMENT_MAX, UNTRUSTED_THREAD_MAX } from '../../src/github/untrusted.ts';
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
  // Found by a review: more HTML an HTML parser turns into comments, and link definitions in disguise.
  'a <![CDATA[ SECRET ]]> b',
  'a <? SECRET ?> b',
  'a <!DOCTYPE SECRET> b',
  'a <!X SECRET> b',
  '[x]:\n/url\n"SECRET\nmore"',
  '[SECRET\nignore]: /u',
  '[x]: /u\n  "SECRET"',
  '> [x]: /u "SECRET"',
  '- [x]: /u "SECRET"',
  '1. [x]: /u "SECRET"',
  'a <span title="SECRET">b</span> <img alt="SECRET" src="x.png">',
  '[a](https://x.y "SECRET")',
  '<script>SECRET</script><style>SECRET</style>',
  'ok <a href="x" title="a>SECRET">link</a> <img src="x" alt="b>SECRET" title="x">',
];
const INVISIBLES = ['\u061C', '\uFE0F', '\u{E0100}', '\u{E01EF}', '\u3164', '\u034F', '\u115F', '\u1160', '\uFFA0', '\u200B', '\u2066', '\u{E0041}', '\u00AD', '\u180E', '\u001E'];

describe('hidden text', () => {
  it('removes every reported bypass and invisible character', () => {
    for (const text of BYPASSES) expect(sanitizeText(text), JSON.stringify(text)).not.toContain('SECRET');
    for (const ch of INVISIBLES) expect(sanitizeText(`a${ch}b`), `U+${ch.codePointAt(0)!.toString(16)}`).toBe('ab');
    // What people see stays: text, code, emoji without their selectors, links.
    expect(sanitizeText('Use `a < b`, `a <b` and **bold** ❤\uFE0F [docs](https://x.y) <b>ok</b>')).toBe('Use `a < b`, `a <b` and **bold** ❤ [docs](https://x.y) ok');
  });

  it('takes no time worth mentioning on inputs built to make a pattern backtrack', () => {
    // Each of these ran for minutes or hours under an earlier link-definition pattern (a nested
    // quantifier); a regression shows as this test timing out.
    // The last one needed a pass per layer, each slowed by the link lines: 10 s before passes were capped.
    const layered = `${'<'.repeat(400)}<b>${'!>'.repeat(400)}\n${'[\n'.repeat(8_000)}`;
    for (const input of [`${' '.repeat(40)}x`, '- > * + '.repeat(4_000), '['.repeat(16_000), `${'  '.repeat(8_000)}[x`, layered, `${'](' .repeat(8_000)} "`]) {
      expect(sanitizeText(input).length).toBeLessThanOrEqual(input.length);
    }
  });

  it('reaches a fixed point on generated inputs: nothing hidden is left, and sanitising again changes nothing', () => {
    const pieces = ['<', '!', '-', '--', '>', '<!--', '-->', '<?', '<![CDATA[', ']]>', '[', ']', ':', '//', '#', ' ', '\n', 'a', 'SECRET', ...INVISIBLES];
    const text = fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((p) => p.join(''));
    fc.assert(
      fc.property(text, (input) => {
        const out = sanitizeText(input);
        expect(sanitizeText(out)).toBe(out);
        expect(out).not.toContain('<!--');
        expect(out).not.toContain('<?');
        expect(out).not.toContain('<![CDATA[');
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

  it('quotes an outsider’s hidden text and flood to the planner visibly and within bounds, and answers their commands once', async () => {
    let prompt = '';
    const scenario = await startMission({
      label: false,
      repo: { permissions: { 'sock-puppet': 'read', 'emoji-fan': 'read', reporter: 'read', ...Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`writer${i}`, 'read'])) } },
      turns: [
        (request) => {
          prompt = taskOf(request);
          return toolTurn({ name: 'submit_plan', input: greetingPlan });
        },
      ],
    });
    app = scenario.app;
    const { thread } = scenario;
    // 30 comments of 60 kB each: 1.8 MB of words by one read-only user; 2,000 comments that are
    // nothing once sanitised; hidden text; emoji, two UTF-16 units each.
    for (let i = 0; i < 30; i++) thread.add(`flood ${i} ${'x'.repeat(60_000)}`, 'reader');
    for (let i = 0; i < 2_000; i++) thread.add('<!---->', 'sock-puppet');
    for (const text of BYPASSES) thread.add(`visible\n${text}`, 'reader');
    thread.add('🙂'.repeat(10_000), 'emoji-fan');
    // Five more outsiders with long comments: together they ask for more than the thread's allowance.
    for (let i = 1; i <= 5; i++) thread.add(`essay ${i} ${'y'.repeat(5_000)}`, `writer${i}`);
    // Someone else's answer after the flood still reaches the planner.
    thread.add('The reporter here: the name may contain spaces.', 'reporter');
    thread.add('Please also print a newline.', 'maintainer');
    await app.receive('issues', labeledPayload());
    await missionReaches(app, 'awaiting_approval', 1);
    expect(prompt).toContain('visible\na');
    expect(prompt).not.toContain('SECRET');
    expect(prompt).toContain('Please also print a newline.');
    expect(prompt).toContain('the name may contain spaces');
    expect(prompt).toMatch(/\[cut here: the rest (of this comment )?was left out/);
    expect(prompt).not.toContain('flood 0');
    expect(prompt).toMatch(/\(\d+ comment\(s\) by users without write access \(@reader, @sock-puppet\) were left out/);
    // The quoted text stays within the thread's allowance (in code points), which binds here: the
    // writers share what is left fairly, each cut to the same length, and the short answers are whole.
    const quoted = [...prompt.matchAll(/<untrusted author="([^"]+)">\n([\s\S]*?)\n<\/untrusted>/g)].map((m) => ({ author: m[1]!, text: m[2]! }));
    const total = quoted.reduce((sum, q) => sum + [...q.text].length, 0);
    expect(total).toBeLessThanOrEqual(UNTRUSTED_THREAD_MAX);
    expect(total).toBeGreaterThan(UNTRUSTED_THREAD_MAX - 100 * quoted.length);
    const essays = quoted.filter((q) => q.author.startsWith('writer')).map((q) => q.text.match(/y+/)![0].length);
    expect(essays).toHaveLength(5);
    expect(new Set(essays).size).toBe(1);
    expect(essays[0]).toBeLessThan(UNTRUSTED_COMMENT_MAX);
    expect([...quoted.find((q) => q.author === 'emoji-fan')!.text.matchAll(/🙂/g)].length).toBeGreaterThan(essays[0]!);

    // Three commands from the outsider: one refusal in all.
    for (const command of ['/approve', '/cancel', '/approve']) await commentOn(scenario, command, 'reader');
    await commentOn(scenario, '/status');
    await waitFor(() => thread.replies().some((r) => r.includes('@maintainer **Mission status**')), 'the maintainer’s status');
    expect(thread.replies().filter((r) => r.includes('@reader'))).toEqual([expect.stringContaining('@reader `/approve` needs write access')]);
    expect((await app.store.get(1)).state).toBe('awaiting_approval');
  });
});
