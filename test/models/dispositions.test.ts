// Triage's finish tool as the model meets it (PRODUCT.md §4 "Triage dispositions"): every item of the
// round gets exactly one disposition, fix items are addressed by a fix feature, a failed assertion is
// fixed unless the mission stops, a reason says why, and a round with no fix round left cannot fix.
import { describe, expect, it } from 'vitest';
import { submitTriage, type Triage, type TriageInput } from '../../src/agents/triage.ts';
import { dispositionTable } from '../../src/mission/round-items.ts';
import { redactSecrets } from '../../src/secrets.ts';
import type { RoundItem } from '../../src/store/missions.ts';

const items: RoundItem[] = [
  { id: 'S1', kind: 'finding', title: '(major) `cli.js:1` no "!"', evidence: 'prints Hello, Ada' },
  { id: 'W1', kind: 'worker', title: "F1's worker left undone: a usage message", evidence: '' },
  { id: 'VAL-001', kind: 'assertion', title: 'greets: fail', evidence: 'prints Hello, Ada' },
];
const round: Pick<TriageInput, 'failing' | 'repairable' | 'items' | 'fixRoundLeft' | 'maxRounds'> = { failing: ['VAL-001'], repairable: ['VAL-001'], items, fixRoundLeft: true, maxRounds: 3 };
const REASON = 'A usage message is not in the contract; it belongs in a follow-up issue.';
const fixFeature = { title: 'Add the "!"', description: 'Print `Hello, <name>!`.', assertion_ids: ['VAL-001'], addresses: ['S1', 'VAL-001'] };
const valid: Triage = {
  decision: 'fix',
  rationale: 'The greeting lacks its "!".',
  fix_features: [fixFeature],
  dispositions: [
    { item: 'S1', action: 'fix', reason: 'same cause as VAL-001' },
    { item: 'W1', action: 'defer', reason: REASON },
    { item: 'VAL-001', action: 'fix', reason: 'prints no "!"' },
  ],
};

/** What the model is told when it calls submit_triage with `input`: null when accepted. */
function answer(input: unknown, context = round): string | null {
  const tool = submitTriage(context).build(() => {});
  try {
    tool.parse!(input);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

const withDispositions = (dispositions: Triage['dispositions'], change: Partial<Triage> = {}): Triage => ({ ...valid, ...change, dispositions });

describe('triage dispositions', () => {
  it('accepts a triage that disposes of every item once', () => {
    expect(answer(valid)).toBeNull();
  });

  it('names the items left without a disposition, and ids that are not items of the round', () => {
    const said = answer(withDispositions([valid.dispositions![0]!, valid.dispositions![2]!, { item: 'S9', action: 'dismiss', reason: REASON }]));
    expect(said).toContain('W1 has no disposition');
    expect(said).toContain('S9 is not an item of this round (the items are S1, W1, VAL-001)');
  });

  it('refuses two dispositions of one item', () => {
    expect(answer(withDispositions([...valid.dispositions!, { item: 'W1', action: 'dismiss', reason: REASON }]))).toContain('W1 has 2 dispositions');
  });

  it('refuses a fix item that no fix feature addresses', () => {
    const said = answer({ ...valid, fix_features: [{ ...fixFeature, addresses: ['VAL-001'] }] });
    expect(said).toContain('S1 is marked fix, but no fix feature names it in addresses');
  });

  it('refuses a failed assertion deferred while the mission goes on', () => {
    const said = answer(withDispositions([valid.dispositions![0]!, valid.dispositions![1]!, { item: 'VAL-001', action: 'defer', reason: REASON }]));
    expect(said).toContain('VAL-001 did not pass: a failed assertion can only be fixed (or the mission stopped), not deferred');
  });

  it('refuses proceed with fix items, and proceed while an assertion fails', () => {
    const said = answer({ ...valid, decision: 'proceed' });
    expect(said).toContain('VAL-001 did not pass: proceed is only for findings that need no change');
    expect(said).toContain('S1 is marked fix, but the decision is proceed');
  });

  it('refuses reasons that only rate the item, however they are dressed up', () => {
    for (const reason of ['low priority', 'Minor nit.', 'not important', 'LOW\u200b PRIORITY', 'trivial, low priority, fine', 'nit', 'Out of scope.', 'This is low priority and can be done later', 'won’t fix', 'out-of-scope, later', 'not worth fixing', 'Not urgent right now', 'doesn’t matter', 'N/A N/A', 'S2 S3', 'VAL-002 W1', 'Non-blocking.', 'Follow-up.', 'Tech debt', 'Low priority at this time', 'Outside the scope', 'Out of scope of the mission', 'Deferred deferred', 'Not relevant here', 'Noted, deferring']) {
      const said = answer(withDispositions([valid.dispositions![0]!, { item: 'W1', action: 'dismiss', reason }, valid.dispositions![2]!]));
      expect(said, reason).toContain(`W1: "${reason}" is not a reason`);
    }
    for (const reason of ['Duplicate of S1.', 'Covered by F2 already', 'pre-existing behaviour, see README', 'Not in the contract.', 'Pre-existing.', 'Passes VAL-002', 'Not reproducible', 'Cannot reproduce']) {
      expect(answer(withDispositions([valid.dispositions![0]!, { item: 'W1', action: 'dismiss', reason }, valid.dispositions![2]!])), reason).toBeNull();
    }
  });

  it('refuses fix when no fix round is left, and accepts proceed with every item deferred or dismissed', () => {
    const spent = { failing: [], repairable: ['VAL-001'], items: items.slice(0, 2), fixRoundLeft: false, maxRounds: 3 };
    const fix = answer({ ...valid, dispositions: valid.dispositions!.slice(0, 2) }, spent);
    expect(fix).toContain('No fix round is left (3 used): decide proceed or stop');
    const proceed: Triage = {
      decision: 'proceed',
      rationale: 'Every assertion passed; what is left is outside the contract.',
      fix_features: [],
      dispositions: [
        { item: 'S1', action: 'defer', reason: 'The "!" is not asked by the contract; filed for the next mission.' },
        { item: 'W1', action: 'defer', reason: REASON },
      ],
    };
    expect(answer(proceed, spent)).toBeNull();
  });

  it('shows each item with its disposition in the review, the models’ words unable to ping anyone or open HTML', () => {
    const hostile: Triage = withDispositions([valid.dispositions![0]!, { item: 'W1', action: 'dismiss', reason: 'Asked by @octocat | see <img src=x onerror=alert(1)>, not the contract' }, valid.dispositions![2]!]);
    const table = dispositionTable(items, hostile, new Map([['S1', ['F2']], ['VAL-001', ['F2']]]), (text) => text).join('\n');
    expect(table).toContain('| S1 | (major) `cli.js:1` no "!" | 🔧 fix (F2) |');
    expect(table).toContain('| W1 | F1\'s worker left undone: a usage message | 🚫 dismissed: Asked by @\u2060octocat \\| see &lt;img src=x onerror=alert(1)&gt;, not the contract |');
    expect(table).not.toContain('@octocat');
    expect(table).not.toContain('<img');
  });

  it('redacts a secret holding an `@` before making the cell inert, so it never shows', () => {
    // The `!` before the `@` makes it look like a mention to inert(), which would break the secret up.
    const secret = 'postgres://missions:hunter2!@db.internal:5432/missions';
    const leaky = withDispositions([valid.dispositions![0]!, { item: 'W1', action: 'dismiss', reason: `The worker printed ${secret}, which is only the test database.` }, valid.dispositions![2]!]);
    const table = dispositionTable(items, leaky, new Map(), (text) => redactSecrets(text, [secret])).join('\n');
    expect(table).toContain('The worker printed [redacted], which is only the test database.');
    expect(table).not.toContain('hunter2');
  });
});
