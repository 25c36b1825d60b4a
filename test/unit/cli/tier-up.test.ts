import { describe, expect, it } from 'vitest';
import { INTERRUPT_BUDGET_BYTES } from '../../../src/bounds.js';
import { tierUpFlag } from '../../../src/cli/tier-up.js';

describe('tierUpFlag', () => {
  it("Node 20's V8 11: four times V8's default budget", () => {
    expect(tierUpFlag('11.3.244.8-node.38', [])).toBe('--interrupt-budget=270336');
    expect(INTERRUPT_BUDGET_BYTES).toBe(4 * 67_584);
  });

  it('V8 12 and 13 (Node 22, 24): nothing, they tier up by invocation count or were not measured', () => {
    expect(tierUpFlag('13.6.233.17-node.53', [])).toBeUndefined();
    expect(tierUpFlag('12.4.254.21-node.33', [])).toBeUndefined();
  });

  it('an explicit budget on the command line wins, in either spelling', () => {
    expect(tierUpFlag('11.3.244.8', ['--interrupt-budget=1000'])).toBeUndefined();
    expect(tierUpFlag('11.3.244.8', ['--interrupt_budget=1000'])).toBeUndefined();
    // another flag of the same prefix is not a budget
    expect(tierUpFlag('11.3.244.8', ['--interrupt-budget-for-feedback-allocation=940'])).toBe('--interrupt-budget=270336');
  });
});
