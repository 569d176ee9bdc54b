/**
 * Beyond the walkthrough: signed promotions (`signing`, off by default, help/signing.md). The gate
 * pushes the validated image under its unique tag, signs that digest with Notation and a Key Vault
 * certificate (its own identity may Sign, nothing more), and only then moves the stable tag.
 */
import * as fs from "fs";
import * as path from "path";
import { Testing } from "cdktf";
import { parseConfig } from "../lib/config";
import { previewReplacements } from "../app/replacement-preview";
import { WorkflowPolicy } from "../app/policy";
import { AcrGateStack } from "../constructs/acr-gate-stack";
import { GatedImport } from "../constructs/gated-import";
import { DOCKERHUB_CONFIG, decodeTask, problemsOf, resources, synth, synthStacks } from "./helpers";

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

  test("push the unique tag, sign it (one digest), then push the stable tag", () => {
    expect(def.steps.slice(-3).map((s) => s.id)).toEqual(["promote-unique", "sign", "promote"]);
    expect(step("promote-unique")).toMatchObject({ push: ["{{.Run.Registry}}/node:15-alpine-{{.Run.ID}}"], when: ["retag-unique"] });
    expect(step("sign").when).toEqual(["promote-unique"]);
    expect(step("promote")).toMatchObject({ push: ["{{.Run.Registry}}/node:15-alpine"], when: ["sign", "retag-stable"] });
  });

  test("notation with the Key Vault plugin, the task's own identity, the certificate by its versionless URL", () => {
    expect(step("sign").cmd).toBe(
      "signbaseartifacts.azurecr.io/tools/notation-azure-kv:1.3.2-1.2.1 sign --signature-format cose " +
        "--id https://sign-task-creds.vault.azure.net/certificates/acr-gate-signing --plugin azure-kv " +
        "--plugin-config self_signed=true --plugin-config credential_type=managedid {{.Run.Registry}}/node:15-alpine-{{.Run.ID}}",
    );
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
      { id: "build-signer", build: "-t {{.Run.Registry}}/tools/notation-azure-kv:1.3.2-1.2.1 -f Dockerfile .", when: ["-"] },
      { id: "push-signer", push: ["{{.Run.Registry}}/tools/notation-azure-kv:1.3.2-1.2.1"], when: ["build-signer"] },
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

  test("an existing certificate: none created, the deployer policy unchanged, the gate signs with it", () => {
    const t = synth(parseConfig(SIGNING_YAML.replace(/\n {2}subject: .*\n/, "\n  existingCertificate: true\n  certificateName: corp-signing\n"))).tf;
    expect(resources(t, "azurerm_key_vault_certificate")).toEqual({});
    expect(resources(t, "azurerm_key_vault_access_policy").kv_policy_sign_task_creds_deployer.certificate_permissions).toBeUndefined();
    const sign = decodeTask(resources(t, "azurerm_container_registry_task")[GATE]).steps.find((s) => s.id === "sign") as any;
    expect(sign.cmd).toContain("--id https://sign-task-creds.vault.azure.net/certificates/corp-signing ");
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
  const withUngrantedSigner = (yaml: string, keyId: string) => {
    const stack = new AcrGateStack(Testing.app(), "s", parseConfig(yaml));
    new GatedImport(stack, "rogue", {
      registry: stack.baseArtifacts,
      taskName: "rogue-gate",
      source: { repository: "alpine", tag: "3" },
      upstreamUrl: "docker.io/",
      scan: { mode: "enforce" },
      signing: { keyId, signerImage: "example.azurecr.io/notation:1" },
    });
    return new WorkflowPolicy(stack).validate();
  };

  test("a gate built with signing but no grant fails the synth's policy check", () => {
    expect(withUngrantedSigner(DOCKERHUB_CONFIG, "https://acr-task-credentials.vault.azure.net/certificates/x")).toContainEqual(
      expect.stringMatching(/task contosobaseartifacts\/rogue-gate: signs with https:\/\/acr-task-credentials\.vault\.azure\.net\/certificates\/x, which no signing certificate/),
    );
  });

  test("a gate signing with the stack's certificate but without the grant", () => {
    expect(withUngrantedSigner(SIGNING_YAML, "https://sign-task-creds.vault.azure.net/certificates/acr-gate-signing")).toEqual([
      "task signbaseartifacts/rogue-gate: signs with acr-gate-signing but has no Sign policy on vault sign-task-creds",
    ]);
  });
});

describe("day 2", () => {
  const before = synth(parseConfig(DOCKERHUB_CONFIG)).tf;
  const signed = DOCKERHUB_CONFIG + 'signing: { enabled: true, subject: "CN=contoso,O=Contoso,ST=WA,C=US", signerImage: "example.azurecr.io/notation:1.3.2" }\n';
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
    expect(p.changes.map((c) => [c.type, c.action])).toEqual([["azurerm_key_vault_certificate", "update"]]);
  });
});
