/**
 * The steps of a gate (constructs/gated-import.ts), declared once: what each step id is for, and
 * whether its success is required before anything is promoted. The construct builds its `when`
 * lists from this table, the workflow diagram (app/diagram.ts) names a gate's validations from it,
 * `npm run check-tasks` (app/acb-gate.ts) takes from it which steps promotion must wait for and
 * checks that it agrees with what each step's command does, and the tests iterate it.
 *
 * A new step in the gate is added here first; a new validating step (a second scanner, say) needs
 * nothing else for promotion to wait for it: the construct's promotion steps wait for every
 * validating step it emits (`__tests__/gate-steps.test.ts` proves it for every entry).
 */

/**
 * - fetch: brings the source image into the run;
 * - decide: settles whether anything changed (the stable tag already names this image, signed);
 * - test: the functional test and the build of its image;
 * - scan: the vulnerability scan and the save of its input;
 * - promote: pushes a tag of the target;
 * - sign: signs what was pushed;
 * - evidence: writes the scanner's evidence files, and attaches them to what was pushed.
 */
export type GateRole = "fetch" | "decide" | "test" | "scan" | "promote" | "sign" | "evidence";

export interface GateStep {
  readonly role: GateRole;
  /** Its success is required before anything is promoted: every promoting step waits for it. */
  readonly validates: boolean;
  /**
   * It changes what the target registry holds (a tag, a signature, a referrer): it runs only after
   * every validating step of the gate has succeeded (directly or through the steps it waits for).
   */
  readonly promotes: boolean;
}

const step = (role: GateRole, o: { validates?: boolean; promotes?: boolean } = {}): GateStep => ({
  role,
  validates: o.validates ?? false,
  promotes: o.promotes ?? false,
});

/** Every step id a gate may have, in the order the construct emits them. */
export const GATE_STEPS = {
  "pull-source": step("fetch"),
  "compare-promoted": step("decide"),
  "verify-promoted": step("decide"),
  "build-test-image": step("test"),
  "functional-test": step("test", { validates: true }),
  "save-source": step("scan"),
  "vulnerability-scan": step("scan", { validates: true }),
  "promote-unique": step("promote", { promotes: true }),
  sign: step("sign", { promotes: true }),
  "evidence-sbom": step("evidence"),
  "evidence-report": step("evidence"),
  "attach-evidence": step("evidence", { promotes: true }),
  promote: step("promote", { promotes: true }),
} as const satisfies Record<string, GateStep>;

export type GateStepId = keyof typeof GATE_STEPS;

/** The declaration of a step id, or undefined for an id no gate has. */
export function gateStep(id: string): GateStep | undefined {
  return Object.prototype.hasOwnProperty.call(GATE_STEPS, id) ? GATE_STEPS[id as GateStepId] : undefined;
}

/** The ids among `ids` whose success is required before anything is promoted, in the declaration's order. */
export function validatingSteps(ids: Iterable<string>): string[] {
  // In the declaration's order (the test, then the scan), whatever order the task file lists them in.
  const present = new Set(ids);
  return Object.keys(GATE_STEPS).filter((id) => present.has(id) && gateStep(id)?.validates === true);
}

/** The ids among `ids` that change what the target registry holds, in their order. */
export function promotingSteps(ids: Iterable<string>): string[] {
  return [...ids].filter((id) => gateStep(id)?.promotes === true);
}
