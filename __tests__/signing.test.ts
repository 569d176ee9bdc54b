/**
 * Beyond the walkthrough: signed promotions (`signing`, off by default, help/signing.md). The gate
 * pushes the validated image under its unique tag, signs that digest with Notation and a Key Vault
 * certificate (its own identity may Sign, nothing more), and only then moves the stable tag.
 */
import * as fs from "fs";
import * as path from "path";
import { Testing } from "cdktf";
import { parseConfig } from "../lib/config";
import { previewReplacements } from "../app/diff-rules";
import { WorkflowPolicy } from "../app/policy";
import { AcrGateStack } from "../constructs/acr-gate-stack";
import { GatedImport } from "../constructs/gated-import";
import { DOCKERHUB_CONFIG, decodeTask, problemsOf, resources, scriptPushes, synth, synthStacks } from "./helpers";

const SIGNING_YAML = fs.readFileSync(path.join(__dirname, "..", "examples", "signing.yaml"), "utf8");
const examples = fs.readdirSync(path.join(__dirname, "..", "examples")).filter((f) => f.endsWith(".yaml"));
const GATE = "task_signbaseartifacts_base_import_node";
const cert_ = (tf: any) => resources(tf, "azurerm_key_vault_certificate").signing_certificate_sign_task_creds_acr_gate_signing;
const problems = problemsOf;

describe("off by default", () => {
  test("no certificate, and one push of both tags, as before", () => {
    const { tf } = synth(parseConfig(DOCKERHUB_CONFIG));
    expect(resources(tf, "azurerm_key_vault_certificate")).toEqual({});
    const def = decodeTask(resources(tf, "azurerm_container_registry_task").task_contosobaseartifacts_base_import_node);
    expect(def.steps.map((s) => s.id)).not.toContain("sign");
    // Certificates are never purged on destroy, signing or not: turning signing off leaves it recoverable.
    expect(tf.provider.azurerm[0].features[0].key_vault[0]).toMatchObject({ purge_soft_deleted_certificates_on_destroy: false, recover_soft_deleted_certificates: true });
  });
});

describe("the certificate: self-signed, code signing, its key never leaves the vault", () => {
  const { tf } = synth(parseConfig(SIGNING_YAML));
  const cert = resources(tf, "azurerm_key_vault_certificate").signing_certificate_sign_task_creds_acr_gate_signing;

  test("what Notation requires: digitalSignature only, code signing EKU, C, ST and O in the subject", () => {
    expect(cert).toMatchObject({
      name: "acr-gate-signing",
      key_vault_id: "${azurerm_key_vault.key_vault_sign_task_creds.id}",
      lifecycle: { prevent_destroy: true },
      certificate_policy: {
        issuer_parameters: { name: "Self" },
        key_properties: { exportable: false, key_type: "RSA", key_size: 3072, reuse_key: true },
        x509_certificate_properties: {
          key_usage: ["digitalSignature"],
          extended_key_usage: ["1.3.6.1.5.5.7.3.3"],
          subject: "CN=signbaseartifacts.azurecr.io,O=Contoso,L=Redmond,ST=Washington,C=US",
          validity_in_months: 12,
        },
        lifetime_action: [{ action: { action_type: "AutoRenew" }, trigger: { days_before_expiry: 30 } }],
      },
    });
  });

  test("the deployer may create it; a destroyed certificate stays recoverable", () => {
    const deployer = resources(tf, "azurerm_key_vault_access_policy").kv_policy_sign_task_creds_deployer;
    expect(deployer.certificate_permissions).toEqual(["Create", "Delete", "Get", "List", "Recover", "Update"]);
    expect(deployer.key_permissions).toBeUndefined();
    expect(tf.provider.azurerm[0].features[0].key_vault[0]).toMatchObject({ purge_soft_deleted_certificates_on_destroy: false, recover_soft_deleted_certificates: true });
  });

  test("the default subject names the base-artifacts registry", () => {
    const t = synth(parseConfig(SIGNING_YAML.replace(/\n {2}subject: .*\n/, "\n"))).tf;
    expect(Object.values(resources(t, "azurerm_key_vault_certificate"))[0].certificate_policy.x509_certificate_properties.subject).toBe(
      "CN=signbaseartifacts.azurecr.io,O=acr-gate,ST=Washington,C=US",
    );
  });
});

describe("the gate signs before the stable tag moves", () => {
  const { tf } = synth(parseConfig(SIGNING_YAML));
  const task = resources(tf, "azurerm_container_registry_task")[GATE];
  const def = decodeTask(task);
  const step = (id: string) => def.steps.find((s) => s.id === id) as any;

  test("compare and re-check the signature first, then push the unique tag, sign that digest, attach the evidence, and move the stable tag", () => {
    expect(def.steps.map((s) => s.id)).toEqual([
      "pull-source",
      "compare-promoted",
      "verify-promoted",
      "save-source",
      "vulnerability-scan",
      "evidence-sbom",
      "evidence-report",
      "build-test-image",
      "functional-test",
      "promote-unique",
      "sign",
      "attach-evidence",
      "promote",
    ]);
    // The test image (FROM the untrusted source) runs once the scan and the evidence have read the tar.
    expect(step("functional-test").when).toEqual(["build-test-image", "evidence-sbom", "evidence-report"]);
    expect(step("compare-promoted").when).toEqual(["pull-source"]);
    expect(step("verify-promoted").when).toEqual(["compare-promoted"]);
    // The save and the scan skip on the marker only once verify-promoted has settled it.
    expect(step("save-source").when).toEqual(["verify-promoted"]);
    expect(step("promote-unique").when).toEqual(["verify-promoted", "functional-test", "vulnerability-scan"]);
    expect(scriptPushes(step("promote-unique"))).toEqual(["{{.Run.Registry}}/node:15-alpine-{{.Run.ID}}"]);
    expect(step("sign").when).toEqual(["promote-unique"]);
    expect(step("attach-evidence").when).toEqual(["sign", "evidence-sbom", "evidence-report"]);
    expect(step("promote").when).toEqual(["sign", "attach-evidence"]);
    expect(scriptPushes(step("promote"))).toEqual(["{{.Run.Registry}}/node:15-alpine"]);
  });

  test("notation with the Key Vault plugin and the task's own identity signs the digest the unique tag was pushed as, with the versioned key id", () => {
    expect(step("sign").cmd).toContain(
      'notation sign --signature-format cose --id "$SIGNING_KEY_ID" --plugin azure-kv --plugin-config self_signed=true --plugin-config credential_type=managedid --user-metadata "io.acr-gate.target=$TARGET" "$ref"',
    );
    expect(step("sign").cmd.startsWith("signbaseartifacts.azurecr.io/tools/notation-azure-kv:1.3.2-1.2.1-oras1.2.0 -c '")).toBe(true);
    expect(step("sign").entryPoint).toBe("bash");
    expect(step("sign").cmd).toContain('ref="$(cat /acb/home/acr-gate/unique.ref');
    expect(step("promote-unique").cmd).toContain("> /acb/home/acr-gate/unique.ref");
    expect(step("sign").env).toContain("TARGET=node:15-alpine");
    // The key id and the certificate come from the same read of the latest version (secret_id and
    // certificate_data_base64; azurerm never refreshes id): the version verifiers trust is the one gates sign with.
    expect(task.encoded_step.values.SIGNING_KEY_ID).toBe('${replace(azurerm_key_vault_certificate.signing_certificate_sign_task_creds_acr_gate_signing.secret_id, "/secrets/", "/keys/")}');
    expect(task.encoded_step.values.GATE_CERTIFICATE).toBe("${azurerm_key_vault_certificate.signing_certificate_sign_task_creds_acr_gate_signing.certificate_data_base64}");
  });

  test("the gate identity's one policy: Sign on keys and Get on certificates (plus Get on secrets for Docker Hub), nothing more", () => {
    const policy = resources(tf, "azurerm_key_vault_access_policy").kv_policy_sign_task_creds_signbaseartifacts_base_import_node;
    expect(policy).toMatchObject({ key_permissions: ["Sign"], certificate_permissions: ["Get"], secret_permissions: ["Get"] });
    // The app tasks sign nothing.
    const app = resources(tf, "azurerm_key_vault_access_policy").kv_policy_sign_task_creds_signteam_hello_world;
    expect(app.key_permissions).toBeUndefined();
    expect(app.certificate_permissions).toBeUndefined();
  });

  test("acr-gate builds the signer image first: build-signer in base artifacts, upstream of every gate's first run", () => {
    const signer = resources(tf, "azurerm_container_registry_task").task_signbaseartifacts_build_signer;
    expect(signer.encoded_step.context_path).toBe("https://github.com/your-github-org/acr-gate-signer.git#main:help/signer");
    expect(decodeTask(signer).steps).toEqual([
      { id: "build-signer", build: "-t {{.Run.Registry}}/tools/notation-azure-kv:1.3.2-1.2.1-oras1.2.0 -f Dockerfile .", when: ["-"] },
      // An image built from a Dockerfile copied before oras joined it is never pushed.
      {
        id: "check-signer",
        cmd:
          "{{.Run.Registry}}/tools/notation-azure-kv:1.3.2-1.2.1-oras1.2.0 -c 'notation version && oras version && openssl version && " +
          `for t in bash base64 grep sed tail cut mktemp; do command -v $t > /dev/null || { echo "acr-gate - the signer image lacks $t (copy the current help/signer/Dockerfile)" >&2; exit 1; }; done'`,
        entryPoint: "bash",
        when: ["build-signer"],
      },
      { id: "push-signer", push: ["{{.Run.Registry}}/tools/notation-azure-kv:1.3.2-1.2.1-oras1.2.0"], when: ["check-signer"] },
    ]);
    const gateRun = resources(tf, "azurerm_container_registry_task_schedule_run_now").first_run_signbaseartifacts_base_import_node;
    expect(gateRun.depends_on).toContain("azurerm_container_registry_task_schedule_run_now.first_run_signbaseartifacts_build_signer");
    // The signer task reads no secret and signs nothing.
    expect(Object.keys(resources(tf, "azurerm_key_vault_access_policy")).filter((k) => k.includes("build_signer"))).toEqual([]);
  });

  test("the certificate waits for the deployer's permission to create it", () => {
    expect(cert_(tf).depends_on).toEqual(["azurerm_key_vault_access_policy.kv_policy_sign_task_creds_deployer"]);
  });

  test("the first gate run waits for the certificate", () => {
    expect(resources(tf, "time_sleep").grants_propagation.depends_on).toContain("azurerm_key_vault_certificate.signing_certificate_sign_task_creds_acr_gate_signing");
  });

  test("an existing certificate: none created, read at every plan (the deployers may Get certificates, nothing more), the gate signs with it", () => {
    const t = synth(parseConfig(SIGNING_YAML.replace(/\n {2}subject: .*\n/, "\n  existingCertificate: true\n  certificateName: corp-signing\n"))).tf;
    expect(resources(t, "azurerm_key_vault_certificate")).toEqual({});
    expect(resources(t, "azurerm_key_vault_access_policy").kv_policy_sign_task_creds_deployer.certificate_permissions).toEqual(["Get"]);
    expect(t.data.azurerm_key_vault_certificate.signing_certificate_sign_task_creds_corp_signing).toEqual({
      name: "corp-signing",
      key_vault_id: "${azurerm_key_vault.key_vault_sign_task_creds.id}",
      // No depends_on: it would defer the read to apply time whenever a deployer changes, and every task with it.
    });
    const values = resources(t, "azurerm_container_registry_task")[GATE].encoded_step.values;
    expect(values.SIGNING_KEY_ID).toBe('${replace(data.azurerm_key_vault_certificate.signing_certificate_sign_task_creds_corp_signing.secret_id, "/secrets/", "/keys/")}');
    expect(resources(t, "azurerm_container_registry_task").task_signteam_hello_world.encoded_step.values.GATE_CERTIFICATE).toBe(
      "${data.azurerm_key_vault_certificate.signing_certificate_sign_task_creds_corp_signing.certificate_data_base64}",
    );
  });
});

describe("verify before use: every app builds only on a base image the gate signed", () => {
  const { tf } = synth(parseConfig(SIGNING_YAML));
  const app = resources(tf, "azurerm_container_registry_task").task_signteam_hello_world;
  const def = decodeTask(app);
  const step = (id: string) => def.steps.find((s) => s.id === id) as any;

  test("pull the base image, verify the digest it was pulled as, then build on that very image", () => {
    expect(def.steps.map((s) => s.id)).toEqual(["pull-base", "verify-base", "build-app", "push-app", "az-login", "deploy-aci"]);
    expect(step("pull-base")).toMatchObject({ entryPoint: "sh", when: ["-"], env: ["BASE={{.Values.REGISTRY_FROM_URL}}node:15-alpine", "BASE_REPO={{.Values.REGISTRY_FROM_URL}}node"] });
    expect(step("pull-base").cmd).toContain('out="$(docker pull "$BASE")"');
    expect(step("verify-base")).toMatchObject({ entryPoint: "bash", when: ["pull-base"] });
    // Signed by the gate for this very base image: a signed digest of another image is refused.
    expect(step("verify-base").cmd).toContain('notation verify --user-metadata "io.acr-gate.target=$TARGET" "$ref"');
    expect(step("verify-base").env).toContain("TARGET=node:15-alpine");
    expect(step("verify-base").cmd).toContain("ref=\"$(cat /acb/home/acr-gate/base.ref");
    expect(step("build-app").when).toEqual(["verify-base"]);
    // The build resolves FROM ${REGISTRY_FROM_URL}node:15-alpine: the name pull-base pulled and verify-base verified.
    expect(step("build-app").build).toContain("--build-arg REGISTRY_FROM_URL={{.Values.REGISTRY_FROM_URL}}");
  });

  test("the trust store holds only the gate's certificate, from its public part; strict verification; no secret", () => {
    const verify = step("verify-base");
    expect(verify.env).toContain("GATE_CERTIFICATE={{.Values.GATE_CERTIFICATE}}");
    expect(app.encoded_step.values.GATE_CERTIFICATE).toBe("${azurerm_key_vault_certificate.signing_certificate_sign_task_creds_acr_gate_signing.certificate_data_base64}");
    expect(verify.cmd).toContain("notation cert add --type ca --store acr-gate");
    expect(verify.cmd).toContain('\\"registryScopes\\":[\\"$BASE_REPO\\"],\\"signatureVerification\\":{\\"level\\":\\"strict\\"},\\"trustStores\\":[\\"ca:acr-gate\\"]');
    // The app task reads no certificate or key from the vault.
    const policy = resources(tf, "azurerm_key_vault_access_policy").kv_policy_sign_task_creds_signteam_hello_world;
    expect(policy.certificate_permissions).toBeUndefined();
    expect(policy.key_permissions).toBeUndefined();
  });

  test("the base-artifacts token may pull the signer image the verify step runs", () => {
    const token = Object.values(resources(tf, "azurerm_container_registry_scope_map")).find((m: any) => m.name.includes("signbaseartifacts")) as any;
    expect(token.actions).toContain("repositories/tools/notation-azure-kv/content/read");
  });

  test("split layout: a team stack verifies with the certificate the platform outputs", () => {
    const split = fs.readFileSync(path.join(__dirname, "..", "examples", "split.yaml"), "utf8");
    const signed = `${split}\nsigning: { enabled: true, signerContext: "https://github.com/your-github-org/acr-gate-signer.git#main:help/signer" }\n`;
    const stacks = synthStacks(parseConfig(signed));
    const platform = stacks[0].tf;
    expect(platform.output.signing_certificate_base64.value).toMatch(/^\$\{azurerm_key_vault_certificate\..*\.certificate_data_base64\}$/);
    const team = stacks.find((x) => Object.keys(resources(x.tf, "azurerm_container_group")).length > 0)!.tf;
    const appTask = Object.values(resources(team, "azurerm_container_registry_task"))[0] as any;
    expect(appTask.encoded_step.values.GATE_CERTIFICATE).toBe("${data.terraform_remote_state.platform.outputs.signing_certificate_base64}");
    expect(decodeTask(appTask).steps.map((s) => s.id)).toContain("verify-base");
  });

  test("signing off: the app builds at once, with no verify step", () => {
    const plain = decodeTask(resources(synth(parseConfig(DOCKERHUB_CONFIG)).tf, "azurerm_container_registry_task").task_contoso_hello_world);
    expect(plain.steps.map((s) => s.id)).toEqual(["build-app", "push-app", "az-login", "deploy-aci"]);
  });
});

describe("evidence: the SBOM and the scan report, attached to the promoted digest and signed", () => {
  const { tf } = synth(parseConfig(SIGNING_YAML));
  const def = decodeTask(resources(tf, "azurerm_container_registry_task")[GATE]);
  const step = (id: string) => def.steps.find((s) => s.id === id) as any;

  test("Trivy writes a CycloneDX SBOM and a full JSON report from the scanned tar, with the scan's database", () => {
    for (const [id, format, out] of [["evidence-sbom", "cyclonedx", "sbom.cdx.json"], ["evidence-report", "json --list-all-pkgs", "trivy-report.json"]]) {
      expect(step(id).when).toEqual(["vulnerability-scan"]);
      expect(step(id).cmd).toContain(`image --input /acb/home/source-image.tar --scanners vuln --format ${format} --output /acb/home/${out} --cache-dir /acb/home/trivy-cache --skip-db-update`);
    }
    expect(step("vulnerability-scan").cmd).toContain("--cache-dir /acb/home/trivy-cache");
  });

  test("oras attaches each to the unique digest with the gate's scan settings as annotations, and notation signs each referrer", () => {
    const attach = step("attach-evidence");
    expect(attach.cmd).toContain("oras attach --artifact-type application/vnd.cyclonedx+json");
    expect(attach.cmd).toContain("oras attach --artifact-type application/vnd.acr-gate.trivy-report.v1+json");
    expect(attach.cmd).toContain("trivy-report.json:application/json trivy-cache/db/metadata.json:application/json");
    expect(attach.cmd.match(/notation sign [^;]*"\$UNIQUE_REPO@\$d"/g)).toHaveLength(2);
    expect(attach.env).toEqual(expect.arrayContaining(["SCAN_MODE=report", "FAIL_ON=HIGH", "IGNORE_UNFIXED=true", expect.stringMatching(/^SCANNER=ghcr\.io\/aquasecurity\/trivy:0\.58\.1@sha256:/)]));
  });

  test("signing without a scan: nothing to attach, the stable tag waits for the signature only", () => {
    const noScan = SIGNING_YAML.replace("    scan: { mode: report }\n", "    scan: { enabled: false }\n");
    const d = decodeTask(resources(synth(parseConfig(noScan)).tf, "azurerm_container_registry_task")[GATE]);
    expect(d.steps.map((s) => s.id)).not.toContain("attach-evidence");
    expect(d.steps.find((s) => s.id === "promote")!.when).toEqual(["sign"]);
    expect((d.steps.find((s) => s.id === "verify-promoted") as any).cmd).not.toContain("oras discover");
  });
});

describe("promote only what changed", () => {
  const plain = decodeTask(resources(synth(parseConfig(DOCKERHUB_CONFIG)).tf, "azurerm_container_registry_task").task_contosobaseartifacts_base_import_node);
  const signed = decodeTask(resources(synth(parseConfig(SIGNING_YAML)).tf, "azurerm_container_registry_task")[GATE]);
  const cmd = (d: typeof plain, id: string) => (d.steps.find((s) => s.id === id) as any).cmd as string;

  test("the stable tag is compared by image id with the source; equal, the digest is recorded as unchanged", () => {
    const c = cmd(plain, "compare-promoted");
    expect(c).toContain('out="$(docker pull "$STABLE" 2>&1)"');
    // Image ids from `docker image inspect` (Docker's `images` filter misses docker.io/... names).
    expect(c).toContain('src="$(docker image inspect "$SRC" 2>/dev/null | grep -o');
    expect(c).not.toContain("docker images");
    expect(c).toContain("> /acb/home/acr-gate/promoted.ref");
    // Not found (a first run) is not unchanged: the marker is removed first and only written on equality.
    expect(c.indexOf("rm -f /acb/home/acr-gate/promoted.ref")).toBeLessThan(c.indexOf('docker pull "$STABLE"'));
  });

  test("every push skips on that marker: no new unique tag, no moved stable tag", () => {
    for (const [d, ids] of [[plain, ["promote"]], [signed, ["promote-unique", "sign", "attach-evidence", "promote"]]] as const) {
      for (const id of ids) expect(cmd(d, id)).toContain('if [ -s /acb/home/acr-gate/promoted.ref ]; then echo "acr-gate - unchanged, no new tag"; exit 0; fi');
    }
  });

  test("signing: an unchanged image whose signature or evidence the current certificate does not verify is promoted again", () => {
    const v = cmd(signed, "verify-promoted");
    expect(v).toContain('if notation verify --user-metadata "io.acr-gate.target=$TARGET" "$ref" > /dev/null && oras discover --format json --artifact-type application/vnd.cyclonedx+json "$ref" | grep -q');
    expect(v).toContain("rm -f /acb/home/acr-gate/promoted.ref");
  });
});

describe("the scripts stay data-safe (lib/run-scripts.ts)", () => {
  test("a value that is not one safe word, or a script that could leave its quotes, is refused at synth", () => {
    const { scriptStep } = require("../lib/run-scripts") as typeof import("../lib/run-scripts");
    const ok = { id: "x", image: "docker", shell: "sh" as const, script: ["true"], env: { A: "{{.Run.Registry}}/a:1" }, when: ["-"] };
    expect(scriptStep(ok).cmd).toBe("docker -c 'true'");
    expect(() => scriptStep({ ...ok, env: { A: "a b" } })).toThrow(/not one safe word/);
    expect(() => scriptStep({ ...ok, env: { A: "$(id)" } })).toThrow(/not one safe word/);
    expect(() => scriptStep({ ...ok, script: ["echo 'x'"] })).toThrow(/contains "'"/);
    expect(() => scriptStep({ ...ok, script: ["echo {{.Run.ID}}"] })).toThrow(/contains "\{\{"/);
    expect(() => scriptStep({ ...ok, script: ["echo ${HOME}"] })).toThrow(/contains "\$\{"/);
  });
});

describe("one access policy per identity and vault, in every example (Key Vault keeps one per object id)", () => {
  test.each(examples)("%s", (file) => {
    const config = parseConfig(fs.readFileSync(path.join(__dirname, "..", "examples", file), "utf8"));
    const seen = new Set<string>();
    for (const { tf } of synthStacks(config)) {
      for (const p of Object.values(resources(tf, "azurerm_key_vault_access_policy")) as any[]) {
        const key = `${p.key_vault_id} ${p.object_id}`;
        expect(seen.has(key)).toBe(false);
        seen.add(key);
      }
    }
  });
});

describe("what a signing config cannot say", () => {
  test.each([
    ["a subject without ST", 'subject: "CN=x,O=Contoso,C=US"', /signing\.subject: .* has no ST/],
    ["a subject with a lower-case country", 'subject: "O=Contoso,ST=WA,C=us"', /signing\.subject: .* not a two-letter country code/],
    ["a subject with an expression", 'subject: "O=${var.x},ST=WA,C=US"', /signing\.subject: .* must not contain '\$\{'/],
    ["a certificate named like acr-gate's secrets", "certificateName: registry-contoso-user", /signing\.certificateName: .* collides with acr-gate's secret names/],
    ["an unpinned signer image", "signerImage: example.azurecr.io/notation:latest", /signing\.signerImage: .* must be pinned/],
    ["a signer image beside a signer context", "signerImage: example.azurecr.io/notation:1", /signing\.signerImage: .* cannot be set with signing\.signerContext/],
    ["a signer image outside base artifacts (app tasks could not pull it)", "signerImage: otherreg.azurecr.io/tools/notation:1", /signing\.signerImage: "otherreg\.azurecr\.io\/tools\/notation:1" must be in the base-artifacts registry \(signbaseartifacts\.azurecr\.io\/\.\.\.\)/],
    ["a subject for an existing certificate", "existingCertificate: true", /signing\.subject: .* has no effect with signing\.existingCertificate/],
  ])("%s", (_name, line, message) => {
    const yaml = line.startsWith("subject:") ? SIGNING_YAML.replace(/\n {2}subject: .*\n/, `\n  ${line}\n`) : SIGNING_YAML.replace("  enabled: true\n", `  enabled: true\n  ${line}\n`);
    expect(problems(yaml)).toMatch(message);
  });

  test("a gate promoting into the signer image's repository, or named like its task", () => {
    expect(problems(SIGNING_YAML.replace("scan: { mode: report }", "scan: { mode: report }\n    target: tools/notation-azure-kv:1"))).toMatch(
      /gatedImages\[0\]\.target: .* is the repository of the signer image acr-gate builds/,
    );
    expect(problems(SIGNING_YAML.replace("scan: { mode: report }", "scan: { mode: report }\n    taskName: build-signer"))).toMatch(
      /gatedImages\[0\]\.taskName: "build-signer" is the task that builds the signer image/,
    );
  });
});

describe("the policy refuses a signing gate its vault does not let sign", () => {
  /** The stack's policy problems after adding a gate that signs with `keyId` and was granted nothing. */
  const withUngrantedSigner = (yaml: string, key: string | ((stack: AcrGateStack) => string)) => {
    const stack = new AcrGateStack(Testing.app(), "s", parseConfig(yaml));
    const keyId = typeof key === "string" ? key : key(stack);
    new GatedImport(stack, "rogue", {
      registry: stack.baseArtifacts,
      taskName: "rogue-gate",
      source: { repository: "alpine", tag: "3" },
      upstreamUrl: "docker.io/",
      scan: { mode: "enforce" },
      signing: { keyId, certificate: "Y2VydA==", signerImage: "example.azurecr.io/notation:1" },
    });
    return new WorkflowPolicy(stack).validate();
  };

  test("a gate built with signing but no grant fails the synth's policy check", () => {
    expect(withUngrantedSigner(DOCKERHUB_CONFIG, "https://acr-task-credentials.vault.azure.net/certificates/x")).toContainEqual(
      expect.stringMatching(/task contosobaseartifacts\/rogue-gate: signs with https:\/\/acr-task-credentials\.vault\.azure\.net\/certificates\/x, which no signing certificate/),
    );
  });

  test("a gate signing with the stack's certificate but without the grant", () => {
    expect(withUngrantedSigner(SIGNING_YAML, (stack) => (stack.gates[0].signing as { keyId: string }).keyId)).toEqual([
      "task signbaseartifacts/rogue-gate: signs with acr-gate-signing but has no Sign policy on vault sign-task-creds",
    ]);
  });
});

describe("day 2", () => {
  const before = synth(parseConfig(DOCKERHUB_CONFIG)).tf;
  const signed = DOCKERHUB_CONFIG + 'signing: { enabled: true, subject: "CN=contoso,O=Contoso,ST=WA,C=US", signerImage: "contosobaseartifacts.azurecr.io/tools/notation:1.3.2" }\n';
  const after = synth(parseConfig(signed)).tf;

  test("turning signing on replaces nothing durable: the gate and the policies are updated in place, the gate runs again", () => {
    const p = previewReplacements(before, after);
    expect(p.unknownTypes).toEqual([]);
    expect(p.changes.filter((c) => c.durable && c.action !== "create" && c.action !== "update")).toEqual([]);
    expect(p.changes.filter((c) => c.action === "create").map((c) => c.type)).toEqual(["azurerm_key_vault_certificate"]);
    expect(p.changes.find((c) => c.address === "azurerm_container_registry_task.task_contosobaseartifacts_base_import_node")!.action).toBe("update");
    expect(p.changes.find((c) => c.address === "azurerm_container_registry_task_schedule_run_now.first_run_contosobaseartifacts_base_import_node")!.action).toBe("replace");
  });

  test("a new subject or validity is a new version of the same certificate, not a new certificate", () => {
    const other = synth(parseConfig(signed.replace("CN=contoso", "CN=contoso-signing").replace("notation:1.3.2\" }", 'notation:1.3.2", validityMonths: 24 }'))).tf;
    const p = previewReplacements(after, other);
    expect(p.changes.map((c) => [c.address, c.action])).toEqual([
      // The new version reaches the gate (key id, certificate) and the app (certificate) in the same apply.
      ["azurerm_container_registry_task.task_contoso_hello_world", "update"],
      ["azurerm_container_registry_task.task_contosobaseartifacts_base_import_node", "update"],
      ["azurerm_key_vault_certificate.signing_certificate_acr_task_credentials_acr_gate_signing", "update"],
    ]);
    expect(p.changes[0].reasons[0]).toMatch(/GATE_CERTIFICATE references .*new certificate_data_base64 after apply/);
  });
});
