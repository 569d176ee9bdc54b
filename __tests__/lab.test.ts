/**
 * npm run lab (app/lab.ts, help/lab.md): the synthesized task files run for real on acb, with a
 * Docker daemon and local registries in a private namespace. One run of every scenario on the
 * default (walkthrough) config; each describe reads its part of report.json as a user would,
 * independently of the lab's own checks. Then the faults: a bad config stops before anything
 * starts; SIGINT, SIGTERM and a step hanging past its timeout leave nothing behind.
 *
 * Needs root (namespaces), apt (the lab installs docker.io, docker-registry, busybox-static when
 * missing), Go or a filled cache (the pinned Trivy), and acb; skipped with a note without them, an
 * error in CI (ACR_GATE_REQUIRE_TOOLS=1). Uses dist/ as built by `npm test`.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireTool } from "./support/go-render";
import type { LabReport } from "../app/lab";
import { DEFAULT_CONFIG_YAML } from "../lib/config";

const ROOT = path.join(__dirname, "..");
const LAB = path.join(ROOT, "dist", "app", "lab.js");
const ACB = process.env.ACR_GATE_ACB ?? path.join(ROOT, "..", "shared", "tools", "acb", "acb");
const usable = process.getuid?.() === 0 && fs.existsSync(ACB) && spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "true"]).status === 0;
const haveLab = requireTool("the lab (root, unshare, acb)", usable);
const describeLab = haveLab ? describe : describe.skip;

const LAST_LINE = /^lab: (\d+) runs, (\d+) steps real, (\d+) stood in, (\d+) failed$/m;
const made: string[] = [];
const tmp = () => {
  made.push(fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-lab-test-")));
  return made[made.length - 1];
};
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function lab(args: string[], timeout = 1_500_000) {
  const r = spawnSync(process.execPath, [LAB, ...args], { cwd: ROOT, encoding: "utf8", timeout, env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What a lab could leave behind: processes, mounts and cgroups of its namespaces, its temporary directories. */
function leftovers(out: string, tmpBefore: Set<string>): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmd = "";
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
    } catch {
      continue;
    }
    if (/acr-gate-lab-[A-Za-z0-9]{6}\b/.test(cmd) || /^(dockerd|containerd|docker-registry) /.test(cmd)) found.push(`process ${pid}: ${cmd.slice(0, 120)}`);
  }
  for (const m of fs.readFileSync("/proc/mounts", "utf8").split("\n")) if (m.includes("acr-gate-lab-")) found.push(`mount ${m}`);
  for (const c of fs.readdirSync("/sys/fs/cgroup").flatMap((ctl) => {
    try {
      return fs.readdirSync(path.join("/sys/fs/cgroup", ctl)).filter((d) => d.startsWith("acr-gate-lab-")).map((d) => `${ctl}/${d}`);
    } catch {
      return [];
    }
  }))
    found.push(`cgroup ${c}`);
  for (const t of fs.readdirSync(os.tmpdir())) if (/^acr-gate-lab-[A-Za-z0-9]{6}$/.test(t) && !tmpBefore.has(t)) found.push(`directory ${path.join(os.tmpdir(), t)}`);
  if (fs.existsSync(out)) for (const w of fs.readdirSync(out)) if (w.startsWith(".work-")) found.push(`work directory ${path.join(out, w)}`);
  return found;
}
const tmpNow = () => new Set(fs.readdirSync(os.tmpdir()));

describe("the lab refuses bad input before anything starts", () => {
  test("a config that fails --check: the same messages, exit 2, no daemon", () => {
    const dir = tmp();
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, "gatedImages:\n  - source: 'node:15-alpine ${jndi}'\napps: [ { name: x } ]\n");
    const check = spawnSync(process.execPath, [path.join(ROOT, "dist", "main.js"), "--check", "--config", bad], { encoding: "utf8" });
    const r = lab(["--config", bad, "--out", path.join(dir, "out")], 60_000);
    expect(r.status).toBe(2);
    // The problems acr-gate --check lists, each of them, in the lab's message.
    const problems = check.stderr.split("\n").filter((l) => l.startsWith("  - "));
    expect(problems.length).toBeGreaterThan(1);
    for (const p of problems) expect(r.stderr).toContain(p);
    expect(r.stderr).not.toMatch(/daemon|registries up/);
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
  });

  test.each([
    [["--scenario", "nope"], /--scenario "?nope"?: not one of walkthrough, /],
    [["--context", "missing"], /--context "?missing"?: write <task>=<dir>/],
    [["--context", "hello-world=/tmp/a:b"], /is not a directory|may not hold ':'/],
    [["--context", "base-import-node=/nonexistent"], /is not a directory/],
    [["--frobnicate"], /unknown option "?--frobnicate"?/],
  ])("usage: %j", (args, message) => {
    const r = lab(args, 30_000);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test("an output directory the lab did not write is refused", () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "precious.txt"), "mine");
    const r = lab(["--scenario", "walkthrough", "--out", dir], 60_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not empty and not written by the lab/);
    expect(fs.readdirSync(dir)).toEqual(["precious.txt"]);
  });
});

describeLab("every scenario, for real (npm run lab)", () => {
  const out = path.join(tmp(), "lab.out");
  let report: LabReport;
  let result: ReturnType<typeof lab>;
  const scenario = (name: string) => report.scenarios.find((s) => s.name === name)!;
  const run = (name: string, task: string, n = 0) => scenario(name).runs.filter((r) => r.task === task)[n];
  const tags = (name: string, registry: string, repo: string) => scenario(name).registries[registry]?.[repo] ?? {};

  beforeAll(() => {
    const before = tmpNow();
    result = lab(["--out", out]);
    report = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
    // The lab's closing line, for CI's log.
    console.log(result.stdout.trim().split("\n").pop());
    expect(leftovers(out, before)).toEqual([]);
  }, 1_600_000);

  test("the last line counts runs and steps, and the lab passed", () => {
    const m = LAST_LINE.exec(result.stdout.trim().split("\n").pop()!);
    expect(m).not.toBeNull();
    const runs = report.scenarios.reduce((n, s) => n + s.runs.length, 0);
    const real = report.scenarios.flatMap((s) => s.runs.flatMap((r) => r.steps)).filter((s) => s.status !== "skipped" && s.ran === "real").length;
    expect(Number(m![1])).toBe(runs);
    expect(Number(m![2])).toBe(real);
    expect(result.stderr.match(/FAILED/g) ?? []).toEqual([]);
    expect(result.status).toBe(0);
  });

  test("report.json follows help/lab-report.schema.json", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv2020 = require("ajv/dist/2020").default;
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, "help", "lab-report.schema.json"), "utf8")));
    expect(validate(report) ? [] : validate.errors).toEqual([]);
    expect(report.scenarios.map((s) => s.name)).toEqual(["walkthrough", "questionable", "vulnerable", "vulnerable-report", "unchanged", "rollback", "signed", "upstreams"]);
    expect(Object.keys(report.tools)).toEqual(expect.arrayContaining(["acb", "dockerd", "docker-registry", "trivy", "notation", "oras"]));
  });

  test("every stand-in is listed with why", () => {
    const what = report.standIns.map((s) => s.what).join("\n");
    for (const expected of [/az \(mcr\.microsoft\.com\/acr\/azure-cli:/, /Key Vault secret registry-password/, /Trivy's vulnerability database/, /Azure Container Instances/, /trivy:0\.58\.1@sha256/, /public image node:15-alpine/,
      // upstreams: the two other public images, the cache's pull, the ghcr.io login's secrets, Trivy in the ghcr.io stand-in, the timers.
      /public image containerd\/busybox:1\.36/, /public image mcr\/azurelinux\/distroless\/minimal:3\.0/, /artifact cache's pull of contosobaseartifacts\.azurecr\.io\/mcr\//,
      /Key Vault secrets secret_registry_ghcr_io_user and secret_registry_ghcr_io_password/, /scanner image ghcr\.io\/aquasecurity\/trivy:0\.58\.1 in the lab's registry for ghcr\.io/, /ACR's timer triggers/]) {
      expect(what).toMatch(expected);
    }
    for (const s of report.standIns) expect(s.why.length).toBeGreaterThan(20);
  });

  describe("walkthrough: the public image is imported, tested, scanned and promoted; the app builds on it", () => {
    test("the runs follow ACR's triggers: upstream commit, the gate on its base image update, the app on its", () => {
      const runs = scenario("walkthrough").runs;
      expect(runs.map((r) => [r.task, r.status])).toEqual([
        ["node-public", "succeeded"],
        ["base-import-node", "succeeded"],
        ["hello-world", "succeeded"],
      ]);
      expect(runs[1].trigger).toMatch(/^base image update: publicregistry\.azurecr\.io\/node:15-alpine/);
      expect(runs[2].trigger).toMatch(/^base image update: contosobaseartifacts\.azurecr\.io\/node:15-alpine/);
    });

    test("the gate ran its test and its scan for real, before it promoted", () => {
      const steps = run("walkthrough", "base-import-node").steps;
      const ids = steps.filter((s) => s.status === "succeeded" && s.ran === "real").map((s) => s.id);
      expect(ids).toEqual(expect.arrayContaining(["pull-source", "build-test-image", "functional-test", "save-source", "vulnerability-scan", "compare-promoted", "promote"]));
    });

    test("base artifacts hold the stable tag and a unique tag of the same digest", () => {
      const t = tags("walkthrough", "contosobaseartifacts", "node");
      const unique = Object.keys(t).filter((k) => /^15-alpine-lab\d+$/.test(k));
      expect(unique).toHaveLength(1);
      expect(t["15-alpine"]).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(t[unique[0]]).toBe(t["15-alpine"]);
      // The simulated public registry's image is another manifest (the gate re-tags, the digest of its push is base artifacts').
      expect(tags("walkthrough", "publicregistry", "node")["15-alpine"]).toMatch(/^sha256:/);
    });

    test("the app answers over HTTP, in DeepSkyBlue", () => {
      const app = scenario("walkthrough").apps["hello-world-aci"];
      expect(app.image).toMatch(/\/hello-world:lab\d+$/);
      expect(app.answer).toMatch(/BACKGROUND_COLOR DeepSkyBlue/);
    });
  });

  describe("questionable: an Orange upstream is refused by the gate's test", () => {
    test("the gate failed at its functional test, and promoted nothing", () => {
      const gate = run("questionable", "base-import-node", 1);
      expect(gate.status).toBe("failed");
      expect(gate.steps.find((s) => s.id === "functional-test")!.status).toBe("failed");
      expect(gate.steps.find((s) => s.id === "promote")!.status).toBe("skipped");
      expect(Object.keys(tags("questionable", "contosobaseartifacts", "node")).filter((k) => k.startsWith("15-alpine-"))).toHaveLength(1);
      expect(scenario("questionable").runs.filter((r) => r.task === "hello-world")).toHaveLength(1);
    });

    test("the app still says DeepSkyBlue", () => {
      expect(scenario("questionable").apps["hello-world-aci"].answer).toMatch(/BACKGROUND_COLOR DeepSkyBlue/);
    });
  });

  describe("vulnerable: a CRITICAL advisory in the lab's Trivy database", () => {
    test("with failOn CRITICAL enforced the scan fails the gate and nothing is promoted", () => {
      const gate = run("vulnerable", "base-import-node", 1);
      expect(gate.status).toBe("failed");
      expect(gate.steps.find((s) => s.id === "vulnerability-scan")!.status).toBe("failed");
      expect(Object.keys(tags("vulnerable", "contosobaseartifacts", "node")).filter((k) => k.startsWith("15-alpine-"))).toHaveLength(1);
    });

    test("in report mode the gate promotes it, and the app is rebuilt", () => {
      const gate = run("vulnerable-report", "base-import-node", 1);
      expect(gate.status).toBe("succeeded");
      expect(Object.keys(tags("vulnerable-report", "contosobaseartifacts", "node")).filter((k) => k.startsWith("15-alpine-"))).toHaveLength(2);
      expect(scenario("vulnerable-report").runs.filter((r) => r.task === "hello-world" && r.status === "succeeded")).toHaveLength(2);
      expect(scenario("vulnerable-report").checks.find((c) => /names ACR-GATE-LAB-2026-0001/.test(c.what))!.ok).toBe(true);
    });
  });

  describe("unchanged: the gate on an unchanged upstream", () => {
    test("no tag moves and nothing downstream runs (its seconds are a figure: npm run bench, help/lab.md)", () => {
      const again = run("unchanged", "base-import-node", 1);
      expect(again.status).toBe("succeeded");
      expect(Object.keys(tags("unchanged", "contosobaseartifacts", "node")).sort()).toEqual(["15-alpine", expect.stringMatching(/^15-alpine-lab\d+$/)].sort());
      expect(scenario("unchanged").runs.map((r) => r.task)).toEqual(["node-public", "base-import-node", "hello-world", "base-import-node"]);
    });

    test("its save and scan end at once; the test still runs (its build is what the base image trigger tracks)", () => {
      const checks = scenario("unchanged").checks;
      for (const id of ["save-source", "vulnerability-scan"]) expect(checks.find((c) => c.what === `${id} was not run again`)?.ok).toBe(true);
      expect(run("unchanged", "base-import-node", 1).steps.find((s) => s.id === "functional-test")).toMatchObject({ status: "succeeded", ran: "real" });
    });
  });

  describe("signed: the gate signs and attaches evidence, the app verifies before it builds", () => {
    test("the gate pushed the unique tag, signed it, attached its evidence, then moved the stable tag", () => {
      const gate = run("signed", "base-import-node", 0);
      const done = gate.steps.filter((s) => s.status === "succeeded").map((s) => s.id);
      expect(done).toEqual(expect.arrayContaining(["promote-unique", "sign", "evidence-sbom", "evidence-report", "attach-evidence", "promote"]));
      // Referrers, with no referrers API in the local registry: notation's and oras's fallback tags sha256-<digest>.
      const t = tags("signed", "contosobaseartifacts", "node");
      expect(Object.keys(t).filter((k) => /^sha256-[0-9a-f]{64}$/.test(k)).length).toBeGreaterThanOrEqual(3);
    });

    test("the app's verify step passed; a base pushed unsigned and one signed as another image were refused before any build", () => {
      const apps = scenario("signed").runs.filter((r) => r.task === "hello-world");
      expect(apps.map((r) => r.status)).toEqual(["succeeded", "failed", "failed"]);
      expect(apps[0].steps.find((s) => s.id === "verify-base")!.status).toBe("succeeded");
      for (const r of apps.slice(1)) {
        expect(r.steps.find((s) => s.id === "verify-base")!.status).toBe("failed");
        expect(r.steps.find((s) => s.id === "build-app")!.status).toBe("skipped");
      }
      expect(apps.map((r) => r.trigger)).toEqual([expect.stringMatching(/^base image update/), expect.stringMatching(/pushed unsigned/), expect.stringMatching(/signed as other:1/)]);
      expect(scenario("signed").apps["hello-world-aci"].answer).toMatch(/BACKGROUND_COLOR DeepSkyBlue/);
    });

    test("an unchanged upstream signs, attaches and tags nothing", () => {
      const again = run("signed", "base-import-node", 1);
      expect(again.status).toBe("succeeded");
      expect(scenario("signed").checks.find((c) => c.what === "and signed nothing, attached nothing, tagged nothing")!.ok).toBe(true);
      for (const id of ["evidence-sbom", "evidence-report"]) expect(scenario("signed").checks.find((c) => c.what === `${id} was not run again`)!.ok).toBe(true);
    });
  });

  describe("upstreams: one config, gates from the simulated registry, MCR through the cache and ghcr.io with a login", () => {
    const MCR = "azurelinux/distroless/minimal";
    const gateRuns = (task: string) => scenario("upstreams").runs.filter((r) => r.task === task);
    const uniques = (repo: string, tag: string) => Object.keys(tags("upstreams", "contosobaseartifacts", repo)).filter((k) => new RegExp(`^${tag.replace(/\./g, "\\.")}-lab\\d+$`).test(k));

    test("the first runs: every gate and the app succeeded, each gate pulled, scanned and promoted for real; the new gates have no test", () => {
      const runs = scenario("upstreams").runs;
      expect(runs.slice(0, 5).map((r) => [r.task, r.status])).toEqual([
        ["base-import-azurelinux-distroless-minimal", "succeeded"],
        ["base-import-busybox", "succeeded"],
        ["node-public", "succeeded"],
        ["base-import-node", "succeeded"],
        ["hello-world", "succeeded"],
      ]);
      for (const gate of ["base-import-azurelinux-distroless-minimal", "base-import-busybox", "base-import-node"]) {
        const done = gateRuns(gate)[0].steps.filter((s) => s.status === "succeeded" && s.ran === "real").map((s) => s.id);
        expect(done).toEqual(expect.arrayContaining(["pull-source", "compare-promoted", "save-source", "vulnerability-scan", "promote"]));
      }
      for (const gate of ["base-import-azurelinux-distroless-minimal", "base-import-busybox"]) expect(gateRuns(gate)[0].steps.map((s) => s.id)).not.toContain("functional-test");
      expect(scenario("upstreams").apps["hello-world-aci"].answer).toMatch(/BACKGROUND_COLOR DeepSkyBlue/);
    });

    test("each target holds its stable tag and one unique tag per promotion, of one digest", () => {
      const busybox = tags("upstreams", "contosobaseartifacts", "busybox");
      expect(uniques("busybox", "1.36")).toHaveLength(1);
      expect(busybox["1.36"]).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(busybox[uniques("busybox", "1.36")[0]]).toBe(busybox["1.36"]);
      const node = tags("upstreams", "contosobaseartifacts", "node");
      expect(node[uniques("node", "15-alpine")[0]]).toBe(node["15-alpine"]);
      // The MCR image was promoted twice (first run, then its change): the stable tag names the second.
      const mcr = tags("upstreams", "contosobaseartifacts", MCR);
      const u = uniques(MCR, "3.0").sort((a, b) => Number(a.split("-lab")[1]) - Number(b.split("-lab")[1]));
      expect(u).toHaveLength(2);
      expect(mcr["3.0"]).toBe(mcr[u[1]]);
      expect(mcr["3.0"]).not.toBe(mcr[u[0]]);
    });

    test("the MCR gate pulled the cached repository in base artifacts: it holds only the cache's tag, the digest the gate promoted", () => {
      const registries = scenario("upstreams").registries;
      expect(Object.keys(registries.contosobaseartifacts).filter((r) => r.startsWith("mcr/"))).toEqual([`mcr/${MCR}`]);
      expect(registries.contosobaseartifacts[`mcr/${MCR}`]).toEqual({ "3.0": tags("upstreams", "contosobaseartifacts", MCR)["3.0"] });
      // No registry stands in for mcr.microsoft.com: nothing pulled from it but through the cache (az's image is the lab's own build).
      expect(Object.keys(registries)).not.toContain("mcr.microsoft.com");
    });

    test("the ghcr.io gate pulled from ghcr.io's stand-in with its login; a vulnerable image there was refused by its scan", () => {
      const registries = scenario("upstreams").registries;
      expect(Object.keys(registries["ghcr.io"])).toEqual(expect.arrayContaining(["containerd/busybox"]));
      const checks = scenario("upstreams").checks;
      expect(checks.find((c) => /^gate base-import-busybox pulled ghcr\.io\/containerd\/busybox:1\.36/.test(c.what))?.ok).toBe(true);
      expect(checks.find((c) => /^gate base-import-busybox logged in to ghcr\.io/.test(c.what))?.ok).toBe(true);
      expect(checks.find((c) => /^gate base-import-azurelinux-distroless-minimal pulled through the cache anonymously/.test(c.what))?.ok).toBe(true);
      const refused = gateRuns("base-import-busybox")[1];
      expect(refused.trigger).toMatch(/^timer 0 4 \* \* \* after ghcr\.io's image gained acr-gate-lab-vulnerable/);
      expect(refused.status).toBe("failed");
      expect(refused.steps.find((s) => s.id === "vulnerability-scan")).toMatchObject({ status: "failed", ran: "real" });
      expect(refused.steps.find((s) => s.id === "promote")!.status).toBe("skipped");
      expect(checks.find((c) => c.what === "the scan names ACR-GATE-LAB-2026-0001")?.ok).toBe(true);
    });

    test("each day-2 change ran only its own gate: nothing downstream, the app not rebuilt", () => {
      const runs = scenario("upstreams").runs;
      expect(runs.slice(5).map((r) => [r.task, r.status])).toEqual([
        ["base-import-busybox", "failed"],
        ["base-import-azurelinux-distroless-minimal", "succeeded"],
      ]);
      expect(runs.filter((r) => r.task === "hello-world")).toHaveLength(1);
      expect(scenario("upstreams").passed).toBe(true);
    });
  });

  describe("rollback: help/rollback.md puts the previous base back", () => {
    test("the stable tag names the first promotion again, and the app rebuilt on it says DeepSkyBlue", () => {
      const t = tags("rollback", "contosobaseartifacts", "node");
      const uniques = Object.keys(t).filter((k) => /^15-alpine-lab\d+$/.test(k)).sort((a, b) => Number(a.slice(13)) - Number(b.slice(13)));
      expect(uniques).toHaveLength(2);
      expect(t["15-alpine"]).toBe(t[uniques[0]]);
      expect(t["15-alpine"]).not.toBe(t[uniques[1]]);
      const apps = scenario("rollback").runs.filter((r) => r.task === "hello-world");
      expect(apps.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
      expect(scenario("rollback").apps["hello-world-aci"].answer).toMatch(/BACKGROUND_COLOR DeepSkyBlue/);
    });
  });
});

describeLab("the walkthrough on other upstreams and layouts: Docker Hub, the artifact cache, the split layout", () => {
  test.each(["dockerhub", "artifact-cache", "split"])("examples/%s.yaml: every run succeeds and every app answers in DeepSkyBlue", (example) => {
    const out = path.join(tmp(), "lab.out");
    const r = lab(["--config", path.join(ROOT, "examples", `${example}.yaml`), "--scenario", "walkthrough", "--out", out], 900_000);
    const rep: LabReport = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
    const s = rep.scenarios[0];
    expect(s.runs.filter((x) => x.status !== "succeeded").map((x) => x.task)).toEqual([]);
    expect(s.runs.some((x) => x.steps.some((st) => st.id === "vulnerability-scan" && st.status === "succeeded"))).toBe(true);
    expect(Object.keys(s.apps).length).toBeGreaterThan(0);
    for (const app of Object.values(s.apps)) expect(app.answer).toMatch(/BACKGROUND_COLOR DeepSkyBlue/);
    expect(r.status).toBe(0);
  }, 900_000);
});

describeLab("a lab stopped halfway leaves nothing behind, and the next one starts clean", () => {
  /** Starts the lab, waits for `when` on stderr, sends `signal`; resolves with the exit and stderr. */
  function interrupt(args: string[], when: RegExp, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [LAB, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      let sent = false;
      child.stderr.on("data", (d) => {
        stderr += d;
        if (!sent && when.test(stderr)) {
          sent = true;
          child.kill(signal);
        }
      });
      child.on("close", (code) => resolve({ code, stderr }));
    });
  }

  test.each([
    ["SIGINT", "after the first run", /run lab1 node-public .*: succeeded/, 130],
    ["SIGTERM", "while the images are built", /registries up/, 143],
  ] as const)("%s %s", async (signal, _when, at, code) => {
    const out = path.join(tmp(), "lab.out");
    const before = tmpNow();
    const r = await interrupt(["--scenario", "walkthrough", "--out", out], at, signal);
    expect(r.stderr).toContain(`${signal}: stopping the lab`);
    expect(r.code).toBe(code);
    expect(leftovers(out, before)).toEqual([]);
  }, 300_000);

  test("a step that hangs past its timeout: the scenario fails naming run, step and its last lines, and nothing is left", () => {
    const dir = tmp();
    const config = path.join(dir, "hang.yaml");
    // The default config with a test that never ends and the shortest timeout the config allows.
    fs.writeFileSync(config, DEFAULT_CONFIG_YAML.replace(/(test:\n\s+context: .*\n)/, "$1      timeoutSeconds: 60\n"));
    const ctx = path.join(dir, "hanging-test");
    fs.mkdirSync(ctx);
    fs.writeFileSync(path.join(ctx, "Dockerfile"), "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nCMD [\"/bin/sh\", \"-c\", \"echo the test starts and never ends; sleep 100000\"]\n");
    const out = path.join(dir, "lab.out");
    const before = tmpNow();
    const t0 = Date.now();
    const r = lab(["--config", config, "--scenario", "walkthrough", "--context", `base-import-node=${ctx}`, "--out", out], 600_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAILED: run lab2 of base-import-node succeeded\n\s+task base-import-node, run lab2, step functional-test:[\s\S]*the test starts and never ends/);
    expect(Date.now() - t0).toBeGreaterThan(60_000);
    const report: LabReport = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
    expect(report.scenarios[0].passed).toBe(false);
    expect(leftovers(out, before)).toEqual([]);
  }, 700_000);
});
