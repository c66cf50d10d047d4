// The mission plan and its validation contract, and the rules the app enforces on every plan
// (PRODUCT.md §4): ids unique, every assertion claimed by exactly one feature, every claim exists,
// features in build order, milestones in order.
import { z } from 'zod';
import { hidingConstruct } from '../github/untrusted.ts';

// Control characters (U+001E in a title once broke every later step) and the bidi controls that
// make text read differently from what it is ("Trojan Source") are refused, so the model can fix them.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/u;
const noControl = (what: string) => (s: string) => !CONTROL.test(s) || `${what} contains a control character (U+${s.match(CONTROL)![0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}); use plain text`;

/** `s` without control characters: for text a person wrote that becomes plan text (`/fix`). */
export const withoutControls = (s: string) => s.replace(new RegExp(CONTROL.source, 'gu'), '');

const oneLine = (what: string) =>
  z
    .string()
    .trim()
    .min(1, `${what} must not be empty`)
    .refine((s) => !/[\r\n\t]/.test(s), `${what} must be a single line`)
    .check(refineText(what));

const text = (what: string) => z.string().trim().min(1, `${what} must not be empty`).check(refineText(what));

function refineText(what: string) {
  return z.superRefine((s: string, ctx) => {
    const problem = noControl(what)(s);
    if (problem !== true) ctx.addIssue({ code: 'custom', message: problem });
    // An HTML comment (or any HTML block, link definition or invisible character) in the mission
    // comment hides what follows from the maintainer who approves it, while /approve would still read it.
    const hiding = problem === true ? hidingConstruct(s) : null;
    if (hiding) ctx.addIssue({ code: 'custom', message: `${what} contains \`${hiding}\`, which would hide text from the maintainer who approves the plan; describe it in words instead` });
  });
}

export const assertionSchema = z.object({
  id: z.string().regex(/^VAL-\d{3,}$/, 'assertion ids look like VAL-001'),
  statement: oneLine('an assertion statement').describe('one checkable behaviour, observable from outside the code'),
  verify: oneLine('a verify line')
    .max(500, 'a verify line must be at most 500 characters')
    .optional()
    .describe('how an independent party checks it: a command that exits 0 when it holds, or steps through the real entry points'),
});

export const featureSchema = z.object({
  id: z.string().regex(/^F\d+$/, 'feature ids look like F1'),
  title: oneLine('a feature title'),
  description: text('a feature description'),
  milestone: z.string().regex(/^M\d+$/, 'milestones look like M1'),
  assertion_ids: z.array(z.string()).describe('the assertions this feature completes'),
});

export const planSchema = z.object({
  title: oneLine('the title'),
  summary: text('the summary'),
  notes: text('the notes')
    .max(8_000, 'the notes must be at most 8,000 characters')
    .optional()
    .describe("the mission's shared notes, which every worker and validator receives: architecture, conventions, how to run and test things"),
  assertions: z.array(assertionSchema).min(1),
  features: z.array(featureSchema).min(1),
});

export type Assertion = z.infer<typeof assertionSchema>;
export type Feature = z.infer<typeof featureSchema>;
export type Plan = z.infer<typeof planSchema>;

const num = (id: string) => Number(id.replace(/^\D+/, ''));

/** Every way `plan` breaks the plan rules, one sentence each; empty when it is valid. */
export function planProblems(plan: Plan): string[] {
  const problems: string[] = [];
  const assertionIds = new Set<string>();
  for (const a of plan.assertions) {
    if (assertionIds.has(a.id)) problems.push(`assertion id ${a.id} is used twice`);
    assertionIds.add(a.id);
  }
  const featureIds = new Set<string>();
  const claims = new Map<string, string[]>();
  plan.features.forEach((f, i) => {
    if (featureIds.has(f.id)) problems.push(`feature id ${f.id} is used twice`);
    featureIds.add(f.id);
    if (num(f.id) !== i + 1) problems.push(`features must be listed in build order F1, F2, …: position ${i + 1} holds ${f.id}`);
    for (const id of f.assertion_ids) {
      if (!assertionIds.has(id)) problems.push(`${f.id} claims ${id}, which is not in assertions`);
      claims.set(id, [...(claims.get(id) ?? []), f.id]);
    }
  });
  for (const id of assertionIds) {
    const by = claims.get(id) ?? [];
    if (by.length === 0) problems.push(`${id} is claimed by no feature: give it to the feature that completes it`);
    if (by.length > 1) problems.push(`${id} is claimed by ${by.join(' and ')}: only the feature that completes it claims it`);
  }
  let previous = 0;
  for (const f of plan.features) {
    const m = num(f.milestone);
    if (m === 0 || (m !== previous && m !== previous + 1)) {
      problems.push(`milestones must run M1, M2, … in build order: ${f.id} is in ${f.milestone} after M${previous}`);
    } else {
      previous = m;
    }
  }
  return problems;
}

/** The feature that claims each assertion. */
export function claimsOf(plan: Plan): Map<string, string> {
  const claims = new Map<string, string>();
  for (const f of plan.features) for (const id of f.assertion_ids) claims.set(id, f.id);
  return claims;
}

/** The plan's assertions in contract order: by the feature that claims them, then as listed. */
export function contractOrder(plan: Plan): Assertion[] {
  const byId = new Map(plan.assertions.map((a) => [a.id, a]));
  const ordered: Assertion[] = [];
  for (const f of plan.features) for (const id of f.assertion_ids) if (byId.has(id)) ordered.push(byId.get(id)!);
  for (const a of plan.assertions) if (!ordered.includes(a)) ordered.push(a);
  return ordered;
}
