/**
 * scripts/acb-check.sh (npm run check-tasks) runs every generated task file through Azure's task
 * engine (acb, `exec --dry-run`, offline) and checks the docker command lines it prints. These
 * tests run it on the repository's own synth, and prove that each check can fail: hand-broken
 * copies of a synthesized cdk.tf.json, each with one thing wrong, must be reported for exactly
 * that thing (and nothing else in the copy may fail: the closing line says "1 failed").
 *
 * Needs acb (../shared/tools/acb/acb or ACR_GATE_ACB) and `unshare -n`; skipped with a note
 * without them, an error in CI (ACR_GATE_REQUIRE_TOOLS=1). Uses dist/ as built by `npm test`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { renderTask, TaskDefinition, TaskStep } from "../lib/task-yaml";
import { decodeTask, resources, synth } from "./helpers";
import { requireTool } from "./support/go-render";

const ROOT = path.join(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "acb-check.sh");
const ACB = process.env.ACR_GATE_ACB ?? path.join(ROOT, "..", "shared", "tools", "acb", "acb");

function acbUsable(): boolean {
  if (!fs.existsSync(ACB)) return false;
  // acb must never reach the network: the script runs it only in an empty network namespace.
  const u = spawnSync("unshare", ["-n", "true"]);
  return !u.error && u.status === 0;
}
const haveAcb = requireTool(`acb (${ACB}) with a working \`unshare -n\``, acbUsable());
const describeAcb = haveAcb ? describe : describe.skip;

const CLOSING = /^acb-check: (\d+) tasks checked, (\d+) steps checked, (\d+) failed$/m;

function runCheck(args: string[]): { status: number | null; out: string } {
  const r = spawnSync("bash", [SCRIPT, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    // dist/ is current under `npm test` (tsc ran first); building again would race other workers.
    env: { ...process.env, ACR_GATE_SKIP_BUILD: "1" },
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** The FAIL block (its line and the reasons under it) of one task in the script's output. */
function failureOf(out: string, task: string): string {
  const lines = out.split("\n");
  const at = lines.findIndex((l) => l.startsWith("acb-check: FAIL ") && l.includes(` ${task} (`));
  if (at < 0) return "";
  const block = [lines[at]];
  for (const l of lines.slice(at + 1)) {
    if (!l.startsWith("    ")) break;
    block.push(l);
  }
  return block.join("\n");
}

const cmdOf = (s: TaskStep): string => ("cmd" in s ? s.cmd : "");

describeAcb("acb-check: Azure's task engine on the synthesized task files", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-acb-check-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes a copy of a stack's JSON as <dir>/<name>/acr-gate/cdk.tf.json (the script names stacks by their directory). */
  function writeStack(name: string, tf: any): string {
    const file = path.join(dir, name, "acr-gate", "cdk.tf.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(tf, null, 2));
    return file;
  }

  /** Rewrites the steps of the task file of the task named `name`; the rest of the JSON is untouched. */
  function editTask(tf: any, name: string, edit: (steps: readonly TaskStep[]) => TaskStep[]): any {
    const copy = JSON.parse(JSON.stringify(tf));
    const task = Object.values<any>(resources(copy, "azurerm_container_registry_task")).find((t) => t.name === name);
    expect(task?.encoded_step).toBeDefined();
    const def: TaskDefinition = decodeTask(task);
    const edited = { ...def, steps: edit(def.steps) };
    expect(renderTask(edited)).not.toBe(renderTask(def));
    task.encoded_step.task_content = Buffer.from(renderTask(edited)).toString("base64");
    return copy;
  }

  /** Applies `f` to the command of every cmd step. */
  const editCmds = (f: (cmd: string) => string) => (steps: readonly TaskStep[]) =>
    steps.map((s) => ("cmd" in s ? { ...s, cmd: f(s.cmd) } : s));

  const defaultTf = () => synth().tf;
  const multiTeamTf = () => synth(parseConfig(fs.readFileSync(path.join(ROOT, "examples", "multi-team.yaml"), "utf8"))).tf;

  test("the default config and every example pass, and every encoded task was checked", () => {
    const { status, out } = runCheck([]);
    const closing = CLOSING.exec(out);
    expect(closing).not.toBeNull();
    expect(out).not.toMatch(/^acb-check: FAIL /m);
    expect(closing![3]).toBe("0");
    expect(status).toBe(0);
    // Gates and apps of both pull modes were recognised as such, not merely accepted by acb.
    expect(out).toMatch(/^acb-check: PASS \S+ base-import-\S+ \(gate, \d+ steps\): test functional-test; scan /m);
    expect(out).toMatch(/^acb-check: PASS \S+ \S+ \(gate, \d+ steps\): test none; scan \S+ \([^)]*enforce/m);
    expect(out).toMatch(/^acb-check: PASS .*\(app, \d+ steps\): deploy .* \(token: /m);
    expect(out).toMatch(/^acb-check: PASS .*\(app, \d+ steps\): deploy .* \(identity \/subscriptions\//m);
    // The walkthrough's node-public task file lives in Git: listed, not silently dropped.
    expect(out).toMatch(/^acb-check: NOT CHECKABLE default\/acr-gate node-public: /m);
    const encoded = Number(closing![1]);
    expect(encoded).toBeGreaterThanOrEqual(10);
    expect(Number(closing![2])).toBeGreaterThanOrEqual(encoded * 4);
  }, 120_000); // six synths and a build-free run: ~7 s alone, more beside other jest workers

  test("a functional test that runs beside the scan (its image could mark the source unchanged) is reported", () => {
    const broken = editTask(defaultTf(), "base-import-node", (steps) => steps.map((s) => (s.id === "functional-test" ? { ...s, when: ["build-test-image"] } : s)));
    const { status, out } = runCheck([writeStack("test-beside-scan", broken)]);
    const fail = failureOf(out, "base-import-node");
    expect(fail).toMatch(/functional-test runs the test image \(FROM the source, with the run's home volume\) without waiting for save-source/);
    expect(fail).toMatch(/without waiting for vulnerability-scan/);
    expect(status).toBe(1);
  });

  test("--config with no file after it synthesizes and checks only that config (npm run check-tasks -- --config my.yaml)", () => {
    const { status, out } = runCheck(["--config", path.join(ROOT, "examples", "signing.yaml")]);
    expect(out).toMatch(/^acb-check: PASS signing\/acr-gate base-import-node \(gate, \d+ steps\)/m);
    expect(out).not.toMatch(/^acb-check: PASS (default|multi-team)\//m);
    expect(out).toMatch(/^acb-check: 3 tasks checked, \d+ steps checked, 0 failed$/m);
    expect(status).toBe(0);
  });

  test("unbroken copies pass (so each failure below comes from its one change)", () => {
    const { status, out } = runCheck([
      writeStack("ok-default", defaultTf()),
      "--config",
      path.join(ROOT, "examples", "multi-team.yaml"),
      writeStack("ok-multi-team", multiTeamTf()),
    ]);
    expect(out).toMatch(/^acb-check: \d+ tasks checked, \d+ steps checked, 0 failed$/m);
    expect(status).toBe(0);
  });

  test("a gate pulling from another registry than its upstream says is reported (examples/upstreams.yaml: MCR through the cache)", () => {
    const file = path.join(ROOT, "examples", "upstreams.yaml");
    const tf = JSON.parse(JSON.stringify(synth(parseConfig(fs.readFileSync(file, "utf8"))).tf));
    const gate = Object.values<any>(resources(tf, "azurerm_container_registry_task")).find((t) => t.name === "base-import-dotnet-runtime");
    // Past the cache, straight from MCR: the task file is the same, only the value moves.
    gate.encoded_step.values.REGISTRY_FROM_URL = "mcr.microsoft.com/";
    const { status, out } = runCheck(["--config", file, writeStack("upstream-bypassed", tf)]);
    expect(failureOf(out, "base-import-dotnet-runtime")).toMatch(/pulls mcr\.microsoft\.com\/dotnet\/runtime:8\.0, where the config says mixedbaseartifacts\.azurecr\.io\/mcr\/dotnet\/runtime:8\.0/);
    expect(out).toMatch(/, 1 failed$/m);
    expect(status).toBe(1);
  });

  test("a gate whose promotion waits only for the comparison is reported", () => {
    // The step that pushes keeps waiting for the decision, no longer for the test and the scan.
    const broken = editTask(defaultTf(), "base-import-node", (steps) => {
      const compare = steps.find((s) => cmdOf(s).includes('docker pull "$STABLE"'))!;
      return steps.map((s) => (cmdOf(s).includes("docker push") ? { ...s, when: [compare.id] } : s));
    });
    const { status, out } = runCheck([writeStack("promote-early", broken)]);
    const fail = failureOf(out, "base-import-node");
    expect(fail).toMatch(/pushes without waiting for functional-test/);
    expect(fail).toMatch(/pushes without waiting for vulnerability-scan/);
    expect(out).toMatch(/, 1 failed$/m);
    expect(status).toBe(1);
  });

  test("a declared validating step whose command no longer scans is still one promotion must wait for (lib/gate-steps.ts)", () => {
    // By its commands alone, this gate has a test and no scan, and its push waits for the test.
    const broken = editTask(defaultTf(), "base-import-node", (steps) =>
      steps.map((s) => {
        if (s.id === "vulnerability-scan") return { ...s, cmd: cmdOf(s).replace(/exec trivy image [^']*/, "exec trivy --version") };
        // Neither the push nor the test (which promotion waits for) waits for the scan any more.
        if (s.id === "promote" || s.id === "functional-test") return { ...s, when: s.when.filter((w) => w !== "vulnerability-scan") };
        return s;
      }),
    );
    const { status, out } = runCheck([writeStack("scan-undone", broken)]);
    const fail = failureOf(out, "base-import-node");
    expect(fail).toMatch(/promote pushes without waiting for vulnerability-scan/);
    expect(fail).toMatch(/vulnerability-scan is declared validating \(lib\/gate-steps\.ts\), but neither runs the test image nor scans the saved image/);
    expect(out).toMatch(/, 1 failed$/m);
    expect(status).toBe(1);
  });

  test("a second scanner, undeclared, that promotion does not wait for is reported", () => {
    const broken = editTask(defaultTf(), "base-import-node", (steps) =>
      steps.flatMap((s) => (s.id === "vulnerability-scan" ? [s, { ...s, id: "second-scan", when: ["save-source"] }] : [s])),
    );
    const { status, out } = runCheck([writeStack("second-scan", broken)]);
    const fail = failureOf(out, "base-import-node");
    expect(fail).toMatch(/promote pushes without waiting for second-scan/);
    expect(fail).toMatch(/step second-scan is not declared in lib\/gate-steps\.ts/);
    expect(out).toMatch(/, 1 failed$/m);
    expect(status).toBe(1);
  });

  test("a scan that reads its tar from /workspace, the test build's context, is reported", () => {
    // Both ends move, so the save and the scan still agree: only the location is wrong.
    const broken = editTask(
      defaultTf(),
      "base-import-node",
      editCmds((c) => c.replace(/(docker save -o )\S+/, "$1/workspace/source-image.tar").replace(/--input \S+/, "--input /workspace/source-image.tar")),
    );
    const { status, out } = runCheck([writeStack("tar-in-context", broken)]);
    const fail = failureOf(out, "base-import-node");
    expect(fail).toMatch(/reads \/workspace\/source-image\.tar, inside the build context \/workspace of build-test-image/);
    expect(fail).not.toMatch(/no `docker save -o` step writes/);
    expect(out).toMatch(/, 1 failed$/m);
    expect(status).toBe(1);
  });

  test("a deploy command with --cpu 2 for a group of 1 CPU is reported", () => {
    const tf = defaultTf();
    const group = Object.values<any>(resources(tf, "azurerm_container_group"))[0];
    expect(group.container[0].cpu).toBe(1);
    const broken = editTask(tf, "hello-world", editCmds((c) => c.replace(/--cpu \S+/, "--cpu 2")));
    const { status, out } = runCheck([writeStack("cpu", broken)]);
    expect(failureOf(out, "hello-world")).toMatch(/deploy-aci: --cpu 2, but container_group_\w+ has 1/);
    expect(out).toMatch(/, 1 failed$/m);
    expect(status).toBe(1);
  });

  const signingYaml = path.join(ROOT, "examples", "signing.yaml");
  const signingTf = () => synth(parseConfig(fs.readFileSync(signingYaml, "utf8"))).tf;
  const run1 = (name: string, tf: any) => runCheck(["--config", signingYaml, writeStack(name, tf)]);

  test("signing: an app build that does not wait for the verification of its base image is reported", () => {
    const broken = editTask(signingTf(), "hello-world", (steps) => steps.map((s) => (s.id === "build-app" ? { ...s, when: ["-"] } : s)));
    const { status, out } = run1("verify-skipped", broken);
    expect(failureOf(out, "hello-world")).toMatch(/build-app builds without waiting for verify-base/);
    expect(out).toMatch(/, 1 failed$/m);
    expect(status).toBe(1);
  });

  test("signing: an app without its verify step is reported (the config has signing on)", () => {
    const broken = editTask(signingTf(), "hello-world", (steps) =>
      steps.filter((s) => !["pull-base", "verify-base"].includes(s.id)).map((s) => (s.id === "build-app" ? { ...s, when: ["-"] } : s)),
    );
    const { out } = run1("verify-removed", broken);
    expect(failureOf(out, "hello-world")).toMatch(/signing is on \(config\), but the app builds without verifying its base image/);
  });

  test("signing: a script weakened inside (a verify that cannot fail, a trust policy that skips) is reported", () => {
    for (const [name, edit] of [
      ["verify-or-true", (c: string) => c.replace('notation verify --user-metadata "io.acr-gate.target=$TARGET" "$ref"', 'notation verify "$ref" || true')],
      ["level-skip", (c: string) => c.replace('\\"level\\":\\"strict\\"', '\\"level\\":\\"skip\\"')],
    ] as const) {
      const broken = editTask(signingTf(), "hello-world", (steps) => steps.map((s) => (s.id === "verify-base" ? { ...s, cmd: edit((s as { cmd: string }).cmd) } : s)));
      const { out } = run1(name, broken);
      expect(failureOf(out, "hello-world")).toMatch(/step verify-base: its script is not one lib\/run-scripts\.ts writes/);
      expect(out).toMatch(/, 1 failed$/m);
    }
  });

  test("signing: an app verifying another image than the config's baseImage is reported", () => {
    const broken = editTask(signingTf(), "hello-world", (steps) =>
      steps.map((s) => ("env" in s && s.env ? { ...s, env: s.env.map((e) => e.replace("node:15-alpine", "node:14-alpine")) } : s)),
    );
    const { out } = run1("other-base", broken);
    expect(failureOf(out, "hello-world")).toMatch(/verify-base verifies .*node:14-alpine as node:14-alpine, but the config's baseImage is node:15-alpine/);
  });

  test("a signing stack checked without its config: the config's expectations are not guessed", () => {
    const { out, status } = runCheck([writeStack("signing-bare", signingTf())]);
    expect(out).toMatch(/, 0 failed$/m);
    expect(status).toBe(0);
  });

  test("signing: a stable tag moved before the evidence is attached is reported", () => {
    const broken = editTask(signingTf(), "base-import-node", (steps) => steps.map((s) => (s.id === "promote" ? { ...s, when: ["sign"] } : s)));
    const { out } = run1("evidence-late", broken);
    expect(failureOf(out, "base-import-node")).toMatch(/promote moves the stable tag without waiting for attach-evidence/);
    expect(out).toMatch(/, 1 failed$/m);
  });

  test("a promotion that does not check whether anything changed is reported", () => {
    const broken = editTask(defaultTf(), "base-import-node", editCmds((c) => c.replace(/if \[ -s [^;]*; then [^;]*; exit 0; fi; /, "")));
    const { out } = runCheck([writeStack("always-promote", broken)]);
    expect(failureOf(out, "base-import-node")).toMatch(/promote pushes without checking whether anything changed/);
    expect(out).toMatch(/, 1 failed$/m);
  });

  test("a save and scan that skip as unchanged before the comparison decides, or run more than their command, are reported", () => {
    const early = editTask(defaultTf(), "base-import-node", (steps) => {
      const pull = steps.find((s) => cmdOf(s).startsWith("docker pull "))!;
      return steps.map((s) => (cmdOf(s).includes("exec docker save") ? { ...s, when: [pull.id] } : s));
    });
    const smuggled = editTask(defaultTf(), "base-import-node", editCmds((c) => c.replace(/exec trivy image /, "exec trivy image --version; trivy image ")));
    const { out } = runCheck([writeStack("skip-early", early), writeStack("smuggled", smuggled)]);
    const [first, second] = out.split(/^acb-check: FAIL /m).slice(1);
    expect(first).toMatch(/save-source skips on \/acb\/home\/acr-gate\/promoted\.ref without waiting for compare-promoted, which decides it/);
    expect(first).toMatch(/vulnerability-scan skips on \S+ without waiting for compare-promoted/);
    expect(second).toMatch(/step vulnerability-scan: runs more than one plain command after its unchanged check/);
    expect(out).toMatch(/, 2 failed$/m);
  });

  test("an enforcing scan with --exit-code 0 is reported, from the config and without one", () => {
    const broken = editTask(multiTeamTf(), "base-import-python", editCmds((c) => c.replace(/--exit-code \d+/, "--exit-code 0")));
    const file = writeStack("exit-code", broken);
    const withConfig = runCheck(["--config", path.join(ROOT, "examples", "multi-team.yaml"), file]);
    expect(failureOf(withConfig.out, "base-import-python")).toMatch(/must enforce \(config: mode enforce\) but has --exit-code 0/);
    expect(withConfig.out).toMatch(/, 1 failed$/m);
    expect(withConfig.status).toBe(1);
    // Without the config: a gate with no functional test has nothing else stopping a vulnerable image.
    const bare = runCheck([file]);
    expect(failureOf(bare.out, "base-import-python")).toMatch(/must enforce \(no functional test gates this image\)/);
    expect(bare.status).toBe(1);
  });
});
