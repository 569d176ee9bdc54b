/**
 * lib/gate-steps.ts declares once what each step of a gate is for and whether it validates (its
 * success is required before anything is promoted) or promotes (changes what the target registry
 * holds). These tests iterate the declaration over every shape of gate the construct builds (with
 * or without a test, a scan, signing): every step is declared, every declared step is built by some
 * gate, and every promoting step waits, directly or through other steps, for every validating step
 * present. A validating step added to the declaration and the construct (a second scanner, say)
 * that promotion forgets to wait for fails here.
 */
import { Testing, TerraformStack } from "cdktf";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { GATE_STEPS, GateStepId, gateStep, promotingSteps, validatingSteps } from "../lib/gate-steps";
import { prerequisites } from "../lib/task-yaml";
import { Registry } from "../constructs/registry";
import { GatedImport, GatedImportProps } from "../constructs/gated-import";

const declared = Object.entries(GATE_STEPS) as [GateStepId, (typeof GATE_STEPS)[GateStepId]][];

/** Every shape of gate: test or not, scan or not, signed or not (neither test nor scan: allowUnvalidated). */
function gates(): { name: string; gate: GatedImport }[] {
  const stack = new TerraformStack(Testing.app(), "gates");
  new AzurermProvider(stack, "azurerm", { features: [{}] });
  const registry = new Registry(stack, "base", { name: "mybaseartifacts", resourceGroupName: "rg", location: "westeurope" });
  const out: { name: string; gate: GatedImport }[] = [];
  for (const test of [false, true]) {
    for (const scan of [false, true]) {
      for (const signing of [false, true]) {
        const name = `test ${test ? "on" : "off"}, scan ${scan ? "on" : "off"}, signing ${signing ? "on" : "off"}`;
        const props: GatedImportProps = {
          registry,
          taskName: `gate-${out.length}`,
          source: { repository: "node", tag: `20-${out.length}` },
          upstreamUrl: "docker.io/",
          ...(test ? { test: { context: "https://github.com/example/import-node.git#main" }, gitAccessToken: "${var.github_token}" } : {}),
          ...(scan ? { scan: { mode: "enforce" as const } } : {}),
          ...(test || scan ? {} : { allowUnvalidated: true }),
          ...(signing ? { signing: { keyId: "https://v.vault.azure.net/keys/k/1", certificate: "Y2VydA==", signerImage: "example.azurecr.io/notation:1" } } : {}),
        };
        out.push({ name, gate: new GatedImport(stack, `g${out.length}`, props) });
      }
    }
  }
  return out;
}

const all = gates();
const idsOf = (g: GatedImport) => g.definition.steps.map((s) => s.id);

test("the declaration: a role for each step, and only steps of some role validate or promote", () => {
  expect(declared.length).toBeGreaterThan(0);
  for (const [id, d] of declared) {
    expect([id, ["fetch", "decide", "test", "scan", "promote", "sign", "evidence"].includes(d.role)]).toEqual([id, true]);
    // Nothing both decides validity and changes the registry: a promoting step cannot validate itself.
    expect([id, d.validates && d.promotes]).toEqual([id, false]);
    if (d.validates) expect([id, d.role]).toEqual([id, expect.stringMatching(/^(test|scan)$/)]);
  }
  expect(declared.some(([, d]) => d.validates)).toBe(true);
  expect(declared.some(([, d]) => d.promotes)).toBe(true);
  expect(gateStep("constructor")).toBeUndefined(); // not a step, whatever Object.prototype has
});

test.each(all.map((g) => [g.name, g.gate] as const))("%s: every step is declared", (_name, gate) => {
  expect(idsOf(gate).filter((id) => gateStep(id) === undefined)).toEqual([]);
});

test("every declared step is one some gate builds", () => {
  const built = new Set(all.flatMap((g) => idsOf(g.gate)));
  expect(declared.map(([id]) => id).filter((id) => !built.has(id))).toEqual([]);
});

test.each(all.map((g) => [g.name, g.gate] as const))("%s: every promoting step waits for every validating step present", (_name, gate) => {
  const ids = idsOf(gate);
  const present = new Set(ids);
  const missing: string[] = [];
  // Iterates the declaration, not the construct's own lists: a validating step the construct
  // emits but promotion does not wait for is found here.
  for (const [v, dv] of declared) {
    if (!dv.validates || !present.has(v)) continue;
    for (const [p, dp] of declared) {
      if (!dp.promotes || !present.has(p)) continue;
      if (!prerequisites(gate.definition, p).has(v)) missing.push(`${p} does not wait for ${v}`);
    }
  }
  expect(missing).toEqual([]);
  // The gate promotes something, and says which steps validate and promote: the declaration's.
  expect(promotingSteps(ids).length).toBeGreaterThan(0);
  expect(gate.validationSteps).toEqual(validatingSteps(ids));
  expect(gate.promotionSteps).toEqual(promotingSteps(ids));
});

test("the validations of each shape: its test and its scan", () => {
  expect(Object.fromEntries(all.map((g) => [g.name, g.gate.validationSteps]))).toEqual({
    "test off, scan off, signing off": [],
    "test off, scan off, signing on": [],
    "test off, scan on, signing off": ["vulnerability-scan"],
    "test off, scan on, signing on": ["vulnerability-scan"],
    "test on, scan off, signing off": ["functional-test"],
    "test on, scan off, signing on": ["functional-test"],
    "test on, scan on, signing off": ["functional-test", "vulnerability-scan"],
    "test on, scan on, signing on": ["functional-test", "vulnerability-scan"],
  });
});
