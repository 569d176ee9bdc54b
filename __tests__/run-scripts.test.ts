/**
 * The run-time decisions of the task files (lib/run-scripts.ts), run for real: each script exactly
 * as the synthesized task file carries it, under a real POSIX shell, with stand-ins for docker,
 * notation and oras that answer as the case needs and log what they were asked to do. acb proves
 * the step graph (acb-check.test.ts); this proves what each step does with what it finds.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { DOCKERHUB_CONFIG, decodeTask, resources, synth } from "./helpers";

const SIGNING_YAML = fs.readFileSync(path.join(__dirname, "..", "examples", "signing.yaml"), "utf8");
const signed = synth(parseConfig(SIGNING_YAML)).tf;
const plain = synth(parseConfig(DOCKERHUB_CONFIG)).tf;
interface Step {
  cmd: string;
  env?: string[];
  entryPoint?: string;
  /** What ACR fills in: the run's registry and the task's REGISTRY_FROM_URL. */
  registry: string;
  from: string;
}
const stepOf = (tf: any, task: string, id: string): Step => {
  const t = resources(tf, "azurerm_container_registry_task")[task];
  const registry = `${/registry_([a-z0-9]+)\.id/.exec(t.container_registry_id)![1]}.azurecr.io`;
  const step = decodeTask(t).steps.find((s) => s.id === id) as Omit<Step, "registry" | "from">;
  return { ...step, registry, from: t.encoded_step.values.REGISTRY_FROM_URL };
};

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const REF_DIGEST = `sha256:${"e".repeat(64)}`;

/** Stand-ins: answers come from STUB_* variables; every call is appended to $LOG. */
const STUBS: Record<string, string> = {
  // docker as it prints: pull and push name the digest they moved; inspect is JSON. `images` is
  // answered from the first of the names only, like Docker's reference filter (which misses
  // docker.io/... names): the scripts must not rely on it.
  docker: `#!/bin/sh
echo "docker $*" >> "$LOG"
case "$1" in
  pull) [ "$2" = "$STABLE" ] && [ "$STUB_STABLE_EXISTS" != 1 ] && { echo "manifest unknown" >&2; exit 1; }
        echo "15-alpine: Pulling from x"; echo "Digest: $STUB_DIGEST"; echo "Status: Image is up to date for $2" ;;
  push) echo "The push refers to repository [$2]"; echo "\${2##*:}: digest: $STUB_DIGEST size: 1570" ;;
  image) if [ "$3" = "$STABLE" ]; then id="$STUB_STABLE_ID"; else id="$STUB_SRC_ID"; fi
         [ -n "$id" ] || { echo "[]"; echo "Error: No such image: $3" >&2; exit 1; }
         echo "[{\\"Id\\": \\"$id\\", \\"RepoDigests\\": [\\"other.io/x@sha256:${"0".repeat(64)}\\"], \\"Config\\": {\\"Image\\": \\"\\"}}]" ;;
  images) exit 0 ;;
esac
exit 0
`,
  notation: `#!/bin/sh
echo "notation $*" >> "$LOG"
[ "$1" = verify ] && exit "\${STUB_VERIFY:-0}"
exit 0
`,
  // oras 1.2 prints the subject at the root of its tree even with no referrers: only the JSON's
  // artifactType says whether one of that type exists.
  oras: `#!/bin/sh
echo "oras $*" >> "$LOG"
case "$1" in
  discover) if [ "$STUB_EVIDENCE" = 1 ]; then echo "{\\"manifests\\": [{\\"digest\\": \\"${REF_DIGEST}\\", \\"artifactType\\": \\"$5\\"}]}"; else echo "{\\"manifests\\": []}"; fi ;;
  attach) echo "✓ Uploaded sbom.cdx.json"; echo "Attached to [registry] x@${D1}"; echo "Digest: ${REF_DIGEST}" ;;
esac
exit 0
`,
  openssl: `#!/bin/sh
echo "openssl $*" >> "$LOG"
exit 0
`,
  trivy: `#!/bin/sh
echo "trivy $*" >> "$LOG"
exit "\${STUB_TRIVY_EXIT:-0}"
`,
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-run-scripts-"));
  fs.mkdirSync(path.join(dir, "bin"));
  for (const [name, text] of Object.entries(STUBS)) fs.writeFileSync(path.join(dir, "bin", name), text, { mode: 0o755 });
});
afterAll(() => process.env.KEEP_STUBS ? undefined : fs.rmSync(dir, { recursive: true, force: true }));

/** Runs one step's script with its env (templates filled in) and the case's answers; returns its exit and log. */
function run(step: Step, answers: Record<string, string>, home: string) {
  const m = /^\S+ -c '([^']*)'$/.exec(step.cmd);
  expect(m).not.toBeNull();
  const script = m![1].replaceAll("/acb/home", home);
  const fill = (v: string) => v.replaceAll("{{.Values.REGISTRY_FROM_URL}}", step.from).replaceAll("{{.Run.Registry}}", step.registry).replaceAll("{{.Run.ID}}", "ca1").replaceAll("{{.Values.GATE_CERTIFICATE}}", "Y2VydA==").replaceAll("{{.Values.SIGNING_KEY_ID}}", "https://v.vault.azure.net/keys/c/1");
  const env = Object.fromEntries((step.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), fill(e.slice(e.indexOf("=") + 1))]));
  const log = path.join(home, "log");
  fs.writeFileSync(log, "");
  const shell = step.entryPoint === "bash" ? "bash" : "sh";
  const r = spawnSync(shell, ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, LOG: log, STABLE: env.STABLE ?? "", ...env, ...answers },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, calls: fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) };
}

function freshHome(): string {
  const home = fs.mkdtempSync(path.join(dir, "home-"));
  fs.mkdirSync(path.join(home, "acr-gate"));
  return home;
}

describe("an unchanged upstream is not saved, scanned or evidenced again", () => {
  const GATE = "task_contosobaseartifacts_base_import_node";
  const marked = () => {
    const home = freshHome();
    fs.writeFileSync(path.join(home, "acr-gate", "promoted.ref"), `contosobaseartifacts.azurecr.io/node@${D1}\n`);
    return home;
  };

  test.each([
    ["plain", "save-source"],
    ["plain", "vulnerability-scan"],
    ["signed", "evidence-sbom"],
    ["signed", "evidence-report"],
  ])("%s: %s ends at once on the marker, calling nothing", (which, id) => {
    const r = run(which === "signed" ? stepOf(signed, "task_signbaseartifacts_base_import_node", id) : stepOf(plain, GATE, id), {}, marked());
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.out).toContain(`acr-gate - unchanged, ${id} not run again`);
  });

  test("without the marker the save saves the source, and the scan's exit code is the step's", () => {
    const save = run(stepOf(plain, GATE, "save-source"), {}, freshHome());
    expect(save.calls).toHaveLength(1);
    expect(save.calls[0]).toMatch(/^docker save -o \S+\/source-image\.tar docker\.io\/node:15-alpine$/);
    const scan = stepOf(plain, GATE, "vulnerability-scan");
    const found = run(scan, { STUB_TRIVY_EXIT: "1" }, freshHome());
    expect(found.status).toBe(1);
    expect(found.calls).toHaveLength(1);
    expect(found.calls[0]).toMatch(/^trivy image --input \S+\/source-image\.tar --scanners vuln /);
    expect(run(scan, {}, freshHome()).status).toBe(0);
  });
});

describe("promote only what changed (no signing)", () => {
  const compare = stepOf(plain, "task_contosobaseartifacts_base_import_node", "compare-promoted");
  const promote = stepOf(plain, "task_contosobaseartifacts_base_import_node", "promote");

  test("the stable tag is the same image: the marker holds its digest, and promote pushes nothing", () => {
    const home = freshHome();
    const c = run(compare, { STUB_STABLE_EXISTS: "1", STUB_SRC_ID: D1, STUB_STABLE_ID: D1, STUB_DIGEST: D2 }, home);
    expect(c.out).toContain(`acr-gate - contosobaseartifacts.azurecr.io/node:15-alpine already is ${D1}`);
    expect(c.status).toBe(0);
    expect(fs.readFileSync(path.join(home, "acr-gate", "promoted.ref"), "utf8").trim()).toBe(`contosobaseartifacts.azurecr.io/node@${D2}`);
    const p = run(promote, {}, home);
    expect(p.status).toBe(0);
    expect(p.out).toContain("acr-gate - unchanged, no new tag");
    expect(p.calls.filter((l) => l.startsWith("docker push"))).toEqual([]);
  });

  test.each([
    ["a changed upstream", { STUB_STABLE_EXISTS: "1", STUB_SRC_ID: D1, STUB_STABLE_ID: D2 }],
    ["a first run (no stable tag yet)", { STUB_STABLE_EXISTS: "0", STUB_SRC_ID: D1, STUB_STABLE_ID: "" }],
  ])("%s: no marker, and promote pushes the unique tag, then the stable one", (_name, answers) => {
    const home = freshHome();
    // A marker from an earlier step of another run cannot survive: compare removes it first.
    fs.writeFileSync(path.join(home, "acr-gate", "promoted.ref"), `contosobaseartifacts.azurecr.io/node@${D2}\n`);
    expect(run(compare, { ...answers, STUB_DIGEST: D2 }, home).status).toBe(0);
    expect(fs.existsSync(path.join(home, "acr-gate", "promoted.ref"))).toBe(false);
    const p = run(promote, {}, home);
    expect(p.status).toBe(0);
    expect(p.calls.filter((l) => l.startsWith("docker push"))).toEqual(["docker push contosobaseartifacts.azurecr.io/node:15-alpine-ca1", "docker push contosobaseartifacts.azurecr.io/node:15-alpine"]);
  });
});

describe("signing: re-sign what the current certificate does not verify; sign and attach the pushed digest", () => {
  const GATE = "task_signbaseartifacts_base_import_node";
  const verifyPromoted = stepOf(signed, GATE, "verify-promoted");

  test.each([
    ["verified as its target, evidence attached: stays unchanged", { STUB_VERIFY: "0", STUB_EVIDENCE: "1" }, true],
    ["not verified (a renewed certificate): promote again", { STUB_VERIFY: "1", STUB_EVIDENCE: "1" }, false],
    ["verified, no evidence (promoted before evidence): promote again", { STUB_VERIFY: "0", STUB_EVIDENCE: "0" }, false],
  ])("%s", (_name, answers, kept) => {
    const home = freshHome();
    fs.writeFileSync(path.join(home, "acr-gate", "promoted.ref"), `signbaseartifacts.azurecr.io/node@${D2}\n`);
    const r = run(verifyPromoted, answers, home);
    expect(r.status).toBe(0);
    expect(r.calls).toContain(`notation verify --user-metadata io.acr-gate.target=node:15-alpine signbaseartifacts.azurecr.io/node@${D2}`);
    expect(r.calls.some((l) => l.startsWith("notation cert add --type ca --store acr-gate "))).toBe(true);
    expect(fs.existsSync(path.join(home, "acr-gate", "promoted.ref"))).toBe(kept);
  });

  test("promote-unique records the digest its push printed; sign signs that digest with the key id and the target; attach signs each referrer", () => {
    const home = freshHome();
    const pu = run(stepOf(signed, GATE, "promote-unique"), { STUB_DIGEST: D1 }, home);
    expect(pu.status).toBe(0);
    expect(pu.calls).toContain("docker push signbaseartifacts.azurecr.io/node:15-alpine-ca1");
    // The push's own digest, not a RepoDigests entry of the image's other names.
    expect(fs.readFileSync(path.join(home, "acr-gate", "unique.ref"), "utf8").trim()).toBe(`signbaseartifacts.azurecr.io/node@${D1}`);
    const sign = run(stepOf(signed, GATE, "sign"), {}, home);
    expect(sign.status).toBe(0);
    expect(sign.calls).toEqual([
      `notation sign --signature-format cose --id https://v.vault.azure.net/keys/c/1 --plugin azure-kv --plugin-config self_signed=true --plugin-config credential_type=managedid --user-metadata io.acr-gate.target=node:15-alpine signbaseartifacts.azurecr.io/node@${D1}`,
    ]);
    const attach = run(stepOf(signed, GATE, "attach-evidence"), {}, home);
    expect(attach.status).toBe(0);
    const calls = attach.calls.map((l) => l.replace(/ --annotation \S+/g, ""));
    expect(calls).toEqual([
      `oras attach --artifact-type application/vnd.cyclonedx+json signbaseartifacts.azurecr.io/node@${D1} sbom.cdx.json:application/vnd.cyclonedx+json`,
      expect.stringMatching(new RegExp(`^notation sign .* signbaseartifacts\\.azurecr\\.io/node@${REF_DIGEST}$`)),
      `oras attach --artifact-type application/vnd.acr-gate.trivy-report.v1+json signbaseartifacts.azurecr.io/node@${D1} trivy-report.json:application/json trivy-cache/db/metadata.json:application/json`,
      expect.stringMatching(new RegExp(`^notation sign .* signbaseartifacts\\.azurecr\\.io/node@${REF_DIGEST}$`)),
    ]);
    expect(attach.calls[0]).toContain("--annotation dev.acr-gate.scan.mode=report");
  });

  test("sign refuses to run without the digest of the unique tag", () => {
    const r = run(stepOf(signed, GATE, "sign"), {}, freshHome());
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/acr-gate - no digest of signbaseartifacts\.azurecr\.io\/node for the unique tag/);
    expect(r.calls).toEqual([]);
  });
});

describe("verify before use (app tasks)", () => {
  const APP = "task_signteam_hello_world";
  const pull = stepOf(signed, APP, "pull-base");
  const verify = stepOf(signed, APP, "verify-base");

  test("the digest the engine pulled is the one verified", () => {
    const home = freshHome();
    expect(run(pull, { STUB_DIGEST: D1 }, home).status).toBe(0);
    const r = run(verify, {}, home);
    expect(r.status).toBe(0);
    expect(r.calls).toContain(`notation verify --user-metadata io.acr-gate.target=node:15-alpine signbaseartifacts.azurecr.io/node@${D1}`);
    expect(r.out).toContain(`acr-gate - building on signbaseartifacts.azurecr.io/node@${D1}, signed by the gate as node:15-alpine`);
  });

  test("no valid signature: the step fails (and the build, waiting for it, never starts)", () => {
    const home = freshHome();
    run(pull, { STUB_DIGEST: D1 }, home);
    expect(run(verify, { STUB_VERIFY: "1" }, home).status).not.toBe(0);
  });

  test("no digest recorded (or another repository's): the step fails without verifying anything", () => {
    const home = freshHome();
    expect(run(verify, {}, home).calls.filter((l) => l.startsWith("notation verify"))).toEqual([]);
    fs.writeFileSync(path.join(home, "acr-gate", "base.ref"), `evil.azurecr.io/node@${D1}\n`);
    const r = run(verify, {}, home);
    expect(r.status).not.toBe(0);
    expect(r.calls.filter((l) => l.startsWith("notation verify"))).toEqual([]);
  });
});

describe("what the scripts do when a tool prints no digest", () => {
  const APP = "task_signteam_hello_world";
  test("pull-base fails with its own message, not a bare exit of the shell", () => {
    const r = run(stepOf(signed, APP, "pull-base"), { STUB_DIGEST: "none" }, freshHome());
    expect(r.status).toBe(1);
    expect(r.out).toContain("acr-gate - docker pull printed no digest for signbaseartifacts.azurecr.io/node:15-alpine");
  });
  test("compare-promoted: the same image but no digest counts as changed (promote), and the step succeeds", () => {
    const home = freshHome();
    const r = run(stepOf(plain, "task_contosobaseartifacts_base_import_node", "compare-promoted"), { STUB_STABLE_EXISTS: "1", STUB_SRC_ID: D1, STUB_STABLE_ID: D1, STUB_DIGEST: "none" }, home);
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(home, "acr-gate", "promoted.ref"))).toBe(false);
    expect(r.out).toContain("is not [");
  });
});
