import * as fs from "fs";
import * as path from "path";
import { longestRunSeconds, prerequisites, renderTask, renderWithYamlLibrary, TaskDefinition, validateTask } from "../lib/task-yaml";
import { validatingSteps } from "../lib/gate-steps";
import { decodeTask, resources, scaledConfigYaml, scriptPushes, synth, withDefaults } from "./helpers";

describe("the ACR task model rejects what ACR would reject", () => {
  const ok: TaskDefinition = {
    version: "v1.1.0",
    steps: [
      { id: "a", cmd: "alpine echo a", when: ["-"] },
      { id: "b", push: ["x"], when: ["a"] },
    ],
  };
  test("a sound definition renders", () => {
    expect(renderTask(ok)).toBe(
      "version: v1.1.0\nsteps:\n  - id: a\n    cmd: alpine echo a\n    when:\n      - \"-\"\n  - id: b\n    push:\n      - x\n    when:\n      - a\n",
    );
  });
  test("duplicate step ids", () => {
    expect(validateTask({ ...ok, steps: [...ok.steps, { id: "a", cmd: "x", when: ["-"] }] })).toContain('step 2: duplicate step id "a"');
  });
  test("when naming an unknown step", () => {
    expect(() => renderTask({ ...ok, steps: [{ id: "a", cmd: "x", when: ["nope"] }] })).toThrow(`step "a": 'when' names unknown step "nope"`);
  });
  test("a cycle", () => {
    const p = validateTask({
      version: "v1.1.0",
      steps: [
        { id: "a", cmd: "x", when: ["b"] },
        { id: "b", cmd: "y", when: ["a"] },
      ],
    });
    expect(p).toContain("steps form a cycle: a -> b -> a");
  });
  test("'-' mixed with ids, and duplicate secrets", () => {
    const p = validateTask({
      version: "v1.1.0",
      secrets: [
        { id: "s", keyvault: "https://v.vault.azure.net/secrets/s" },
        { id: "s", keyvault: "https://v.vault.azure.net/secrets/t" },
      ],
      steps: [{ id: "a", cmd: "x", when: ["-", "a"] }],
    });
    expect(p).toEqual(expect.arrayContaining([`step "a": '-' cannot be combined with step ids in 'when'`, 'duplicate secret id "s"']));
  });
});

describe("how long a run can take: the longest chain of step timeouts", () => {
  const def = (steps: { id: string; when: string[]; timeout?: number }[], stepTimeout?: number): TaskDefinition => ({
    version: "v1.1.0",
    stepTimeout,
    steps: steps.map((s) => ({ ...s, cmd: "x" })),
  });
  test("parallel steps count once, a chain adds up, ACR's 600 s where no timeout is set", () => {
    expect(longestRunSeconds(def([{ id: "a", when: ["-"] }]))).toBe(600);
    expect(longestRunSeconds(def([{ id: "a", when: ["-"], timeout: 100 }, { id: "b", when: ["-"], timeout: 300 }]))).toBe(300);
    expect(longestRunSeconds(def([{ id: "a", when: ["-"], timeout: 100 }, { id: "b", when: ["a"], timeout: 300 }, { id: "c", when: ["-"], timeout: 350 }]))).toBe(400);
    // c waits for both: the longer branch decides.
    expect(longestRunSeconds(def([{ id: "a", when: ["-"], timeout: 100 }, { id: "b", when: ["-"], timeout: 500 }, { id: "c", when: ["a", "b"], timeout: 10 }]))).toBe(510);
    // The file's stepTimeout stands in for ACR's default.
    expect(longestRunSeconds(def([{ id: "a", when: ["-"] }, { id: "b", when: ["a"] }], 60))).toBe(120);
  });
});

describe("three gated images", () => {
  const config = withDefaults(
    scaledConfigYaml(3).replace(
      "  - source: img2:1.2\n    test:\n      context: https://github.com/example/import-img2.git#main\n",
      "  - source: img2:1.2\n    test:\n      enabled: false\n    scan:\n      failOn: CRITICAL\n    timer: \"0 */6 * * *\"\n",
    ),
  );
  const { tf } = synth(config);
  const gates = Object.values(resources(tf, "azurerm_container_registry_task")).filter((t: any) => t.name.startsWith("base-import-"));

  test("one gate task per image, each in base artifacts", () => {
    expect(gates.map((g: any) => g.name).sort()).toEqual(["base-import-img0", "base-import-img1", "base-import-img2"]);
    for (const g of gates as any[]) expect(g.container_registry_id).toBe("${azurerm_container_registry.registry_contosobaseartifacts.id}");
  });

  test.each([0, 1, 2])("img%i promotes only after every validation step", (i) => {
    const g = gates.find((x: any) => x.name === `base-import-img${i}`) as any;
    const def = decodeTask(g);
    const validations = validatingSteps(def.steps.map((s) => s.id));
    expect(validations).toEqual(i === 2 ? ["vulnerability-scan"] : ["functional-test", "vulnerability-scan"]);
    const before = prerequisites(def, "promote");
    for (const v of [...validations, "compare-promoted"]) expect(before.has(v)).toBe(true);
    expect(scriptPushes(def.steps.find((s) => s.id === "promote"))).toEqual([`{{.Run.Registry}}/img${i}:1.${i}-{{.Run.ID}}`, `{{.Run.Registry}}/img${i}:1.${i}`]);
  });

  test("a scan-only gate enforces at its severity and runs on its timer", () => {
    const g = gates.find((x: any) => x.name === "base-import-img2") as any;
    const def = decodeTask(g);
    expect(def.steps.map((s) => s.id)).toEqual(["pull-source", "compare-promoted", "save-source", "vulnerability-scan", "promote"]);
    expect((def.steps[3] as { cmd: string }).cmd).toContain("--severity CRITICAL --exit-code 1");
    expect(g.timer_trigger).toEqual([{ name: "timer", schedule: "0 */6 * * *", enabled: true }]);
    expect(g.encoded_step.context_path).toBeUndefined();
  });

  test("each app builds FROM its own gated image, and the base-artifacts token reads exactly those", () => {
    const maps = resources(tf, "azurerm_container_registry_scope_map");
    expect(maps.scope_map_contosobaseartifacts_registry_contosobaseartifacts_user.actions).toEqual([
      "repositories/img0/content/read",
      "repositories/img1/content/read",
      "repositories/img2/content/read",
    ]);
  });
});

describe("the task file writer is the yaml library's output, byte for byte", () => {
  // renderTask writes common task files directly (fast at scale) and falls back to the yaml library
  // for any value it does not know; both must give the same bytes, or a task would change in Azure.
  const configs = [undefined, ...fs.readdirSync(path.join(__dirname, "..", "examples")).filter((f) => f.endsWith(".yaml")).map((f) => fs.readFileSync(path.join(__dirname, "..", "examples", f), "utf8")), scaledConfigYaml(6)];
  test.each(configs.map((c, i) => [i, c] as const))("config %i: every generated task", (_i, text) => {
    const { stack } = text === undefined ? synth() : synth(withDefaults(text));
    const defs = stack.tasks.map((t) => t.definition).filter((d): d is TaskDefinition => d !== undefined);
    expect(defs.length).toBeGreaterThan(0);
    for (const d of defs) expect(renderTask(d)).toBe(renderWithYamlLibrary(d));
  });
  test.each([
    ["a: b"], ["x #y"], ["-x"], ["a:"], ["true"], ["123"], ["1e3"], [".inf"], ["null"], ["~"], ["a{b}"], ["{{.X}}a"], ["a b"], ["é"], ["x'y"], ['a"b'], ["a\\b"],
    ["@x"], ["!x"], ["%x"], ["?x"], [",x"], ["[x"], ["}x"], ["- x"], ["x -"], ["0x1f"], ["+1"], ["1_000"], ["2024-01-01"], ["yes"], ["No"], ["x:y"], ["x: y"], [" a"], ["a "], ['{"x"}'], ["{a\\b}"], ["-f Dockerfile ."], ["-1"], ["-"], ["--x"], ["-x: y"], ["--x: y"], ["---x"], ["--1"], ["-- x"], ["--build-arg A={{.Values.A}} -t {{.Run.Registry}}/a:{{.Run.ID}} -f Dockerfile ."],
  ])("a step with %j", (cmd) => {
    const def: TaskDefinition = { version: "v1.1.0", steps: [{ id: "a", cmd, when: ["-"] }, { id: "b", push: [cmd], when: ["a"], timeout: 60 }] };
    expect(renderTask(def)).toBe(renderWithYamlLibrary(def));
  });
});
