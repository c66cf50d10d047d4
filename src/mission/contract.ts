// At approval the contract is the checklist as the mission comment then stands (PRODUCT.md §1 step 3):
// edited statements and claims are taken, removed lines are dropped, lines without an id get new ids.
import type { ContractLine } from '../github/mission-comment.ts';
import { claimsOf, planProblems, type Plan } from './plan.ts';

export type ContractEdit = { ok: true; plan: Plan; added: string[] } | { ok: false; problems: string[] };

export function applyContractEdits(plan: Plan, lines: ContractLine[]): ContractEdit {
  if (lines.length === 0) return { ok: false, problems: ['the mission comment has no validation contract checklist'] };
  const problems: string[] = [];
  const features = new Set(plan.features.map((f) => f.id));
  const claims = claimsOf(plan);
  const lastFeature = plan.features.at(-1)!.id;
  let next = Math.max(0, ...plan.assertions.map((a) => Number(a.id.slice(4))), ...lines.map((l) => (l.id ? Number(l.id.slice(4)) : 0))) + 1;
  const seen = new Set<string>();
  const verify = new Map(plan.assertions.flatMap((a) => (a.verify ? [[a.id, a.verify] as const] : [])));
  const added: string[] = [];
  const claimed = new Map<string, string[]>(plan.features.map((f) => [f.id, []]));
  const assertions = lines.map((line) => {
    let id = line.id;
    if (!id) {
      id = `VAL-${String(next++).padStart(3, '0')}`;
      added.push(id);
    }
    if (seen.has(id)) problems.push(`${id} appears twice in the checklist`);
    seen.add(id);
    const featureId = line.featureId ?? claims.get(id) ?? lastFeature;
    if (!features.has(featureId)) problems.push(`${id} names ${featureId}, which is not a feature of the plan`);
    else claimed.get(featureId)!.push(id);
    // A statement edited by hand keeps its verify line: the maintainer sees both before approving.
    return { id, statement: line.statement, ...(verify.has(id) ? { verify: verify.get(id)! } : {}) };
  });
  if (problems.length) return { ok: false, problems };
  const edited: Plan = {
    ...plan,
    assertions,
    features: plan.features.map((f) => ({ ...f, assertion_ids: claimed.get(f.id)! })),
  };
  const invalid = planProblems(edited);
  return invalid.length ? { ok: false, problems: invalid } : { ok: true, plan: edited, added };
}
