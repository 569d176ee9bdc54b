/**
 * The lab's reading of a synthesized config (app/lab-tasks.ts): which task is which, in what order
 * they first run, what a push triggers, and the substitutions each run makes (login servers, Key
 * Vault secrets, digest-pinned images, the signing certificate), each named as a stand-in. The
 * runs themselves are in lab.test.ts (engines).
 */
import { parseConfig, DEFAULT_CONFIG_YAML } from "../lib/config";
import { synthesizeInMemory } from "../app/synth";
import { labTasks, LabTask, prepare, signerImageOf, triggeredBy } from "../app/lab-tasks";
import { scannerProblem } from "../app/lab-run";
import { DEFAULT_SCANNER_IMAGE } from "../lib/config/gated-images";
import { variantText } from "../app/lab";

const tasksOf = (yaml: string) => labTasks(synthesizeInMemory(parseConfig(yaml, "test")));

describe("the walkthrough's tasks, as the lab reads them from the JSON", () => {
  const tasks = tasksOf(DEFAULT_CONFIG_YAML);

  test("roles and first-run order: the simulated upstream, then the gate, then the app", () => {
    expect(tasks.map((t) => [t.name, t.role, t.registry])).toEqual([
      ["node-public", "upstream", "publicregistry.azurecr.io"],
      ["base-import-node", "gate", "contosobaseartifacts.azurecr.io"],
      ["hello-world", "app", "contoso.azurecr.io"],
    ]);
  });

  test("a push triggers the tasks built on it (base image trigger), and nothing else", () => {
    expect(triggeredBy(tasks, "publicregistry.azurecr.io/node:15-alpine").map((t) => t.name)).toEqual(["base-import-node"]);
    expect(triggeredBy(tasks, "contosobaseartifacts.azurecr.io/node:15-alpine").map((t) => t.name)).toEqual(["hello-world"]);
    expect(triggeredBy(tasks, "contosobaseartifacts.azurecr.io/node:15-alpine-run7")).toEqual([]);
  });

  test("values carry Terraform's expressions resolved, or stood in by a value of the same shape", () => {
    const app = tasks.find((t) => t.name === "hello-world")!;
    expect(app.values.ACI_SUBSCRIPTION).toBe("00000000-0000-0000-0000-000000000000");
    expect(app.values.ACI_DNS_LABEL).toMatch(/^hello-world-aci-[0-9a-f]{6}$/);
    expect(app.rawValues.ACI_SUBSCRIPTION).toMatch(/^\$\{element\(split\("\/", azurerm_resource_group\./);
  });
});

describe("what a run substitutes, and says it did", () => {
  const registries = new Map([
    ["contoso.azurecr.io", "localhost:5000"],
    ["docker.io", "localhost:5001"],
  ]);
  const task = (values: Record<string, string>, raw: Record<string, string> = values): LabTask => ({
    stack: "s",
    address: "a",
    name: "t",
    registry: "contoso.azurecr.io",
    role: "app",
    taskFile: { text: "" },
    values,
    rawValues: raw,
    baseImageTrigger: false,
    timeoutSeconds: 60,
  });

  test("login servers are replaced where they are a host, never inside another name", () => {
    const text = "steps:\n  - cmd: az x --registry-login-server contoso.azurecr.io --other notcontoso.azurecr.io --evil contoso.azurecr.io.evil.example/x 'contoso.azurecr.io'\n";
    const p = prepare(task({ A: "contoso.azurecr.io/", B: "notcontoso.azurecr.io/x", C: "docker.io/library/node:1", D: "contoso.azurecr.io.evil.example/" }), text, {
      registries,
      secret: (id) => `lab-${id}`,
      pinned: new Map(),
    });
    expect(p.taskFile).toContain("--registry-login-server localhost:5000 --other notcontoso.azurecr.io --evil contoso.azurecr.io.evil.example/x 'localhost:5000'");
    expect(p.values).toEqual({ A: "localhost:5000/", B: "notcontoso.azurecr.io/x", C: "localhost:5001/library/node:1", D: "contoso.azurecr.io.evil.example/" });
  });

  test("Key Vault secrets: the list goes, each reference becomes a local value, each is listed", () => {
    const text = 'version: v1.1.0\nsecrets:\n  - id: registry-user\n    keyvault: https://v.vault.azure.net/secrets/u\nsteps:\n  - cmd: az x -u \'{{index .Secrets "registry-user"}}\' -p {{.Secrets.pw}}\n';
    const p = prepare(task({}), text, { registries, secret: (id) => `lab-secret-${id}`, pinned: new Map() });
    expect(p.taskFile).not.toMatch(/secrets:|keyvault|\{\{/);
    expect(p.taskFile).toContain("-u 'lab-secret-registry-user' -p lab-secret-pw");
    expect(p.standIns.map((s) => s.what)).toEqual(["Key Vault secret registry-user of task t", "Key Vault secret pw of task t"]);
  });

  test("an image pinned by digest becomes the lab's build of the same name and tag, listed", () => {
    const pinned = "ghcr.io/aquasecurity/trivy:0.58.1@sha256:" + "ab".repeat(32);
    const p = prepare(task({}), `steps:\n  - cmd: ${pinned} image --input x\n`, { registries, secret: String, pinned: new Map([[pinned, "ghcr.io/aquasecurity/trivy:0.58.1"]]) });
    expect(p.taskFile).toContain("cmd: ghcr.io/aquasecurity/trivy:0.58.1 image --input x");
    expect(p.standIns[0].why).toMatch(/cannot be rebuilt with the same digest/);
  });

  test("the signing certificate's values come from the lab's key pair, only with signing and only for those expressions", () => {
    const raw = {
      SIGNING_KEY_ID: '${replace(azurerm_key_vault_certificate.signing_certificate_x.secret_id, "/secrets/", "/keys/")}',
      GATE_CERTIFICATE: "${azurerm_key_vault_certificate.signing_certificate_x.certificate_data_base64}",
      OTHER: "${azurerm_key_vault.x.vault_uri}",
    };
    const resolved = { SIGNING_KEY_ID: "acb-check-expr-1", GATE_CERTIFICATE: "acb-check-expr-2", OTHER: "acb-check-expr-3" };
    const signing = { keyId: "https://lab-vault.vault.azure.net/keys/k/lab", certificate: "MIIB" };
    const p = prepare(task(resolved, raw), "steps: []\n", { registries, secret: String, pinned: new Map(), signing });
    expect(p.values).toEqual({ SIGNING_KEY_ID: signing.keyId, GATE_CERTIFICATE: "MIIB", OTHER: "acb-check-expr-3" });
    expect(prepare(task(resolved, raw), "steps: []\n", { registries, secret: String, pinned: new Map() }).values).toEqual(resolved);
  });
});

describe("signing: the signer image's build is the lab's, not a task run", () => {
  test("build-signer is read as the signer, and the gate and app carry the certificate's expressions", () => {
    const yaml = DEFAULT_CONFIG_YAML.replace(
      "gatedImages:",
      'signing:\n  enabled: true\n  subject: "CN=contosobaseartifacts.azurecr.io,O=Lab,ST=Lab,C=US"\n  signerContext: "https://github.com/o/signer.git#main:help/signer"\ngatedImages:',
    );
    const tasks = tasksOf(yaml);
    expect(tasks.filter((t) => t.role === "signer").map((t) => t.builds)).toEqual([expect.stringMatching(/^contosobaseartifacts\.azurecr\.io\/tools\/notation-azure-kv:/)]);
    expect(signerImageOf(tasks)).toBe(tasks.find((t) => t.role === "signer")!.builds);
    for (const name of ["base-import-node", "hello-world"]) {
      expect(tasks.find((t) => t.name === name)!.rawValues.GATE_CERTIFICATE).toMatch(/azurerm_key_vault_certificate\.[a-z0-9_]+\.certificate_data_base64/);
    }
  });
});

test("the scanners the lab can stand in: Trivy of its pinned version, by tag with or without a digest", () => {
  expect(scannerProblem(DEFAULT_SCANNER_IMAGE)).toBeUndefined();
  expect(scannerProblem("myregistry.azurecr.io/tools/trivy:0.58.1")).toBeUndefined();
  expect(scannerProblem("ghcr.io/aquasecurity/trivy:0.57.0")).toMatch(/the lab has Trivy v0\.58\.1/);
  expect(scannerProblem("quay.io/example/grype:0.80.0@sha256:" + "a".repeat(64))).toMatch(/builds Trivy only/);
});

test("a signer image of the config's own (signing.signerImage) is the one the gates' sign step names; none without signing", () => {
  const yaml = DEFAULT_CONFIG_YAML.replace(
    "gatedImages:",
    'signing:\n  enabled: true\n  subject: "CN=contosobaseartifacts.azurecr.io,O=Lab,ST=Lab,C=US"\n  signerImage: "contosobaseartifacts.azurecr.io/tools/my-signer:1.0"\ngatedImages:',
  );
  const tasks = tasksOf(yaml);
  expect(tasks.some((t) => t.role === "signer")).toBe(false);
  expect(signerImageOf(tasks)).toBe("contosobaseartifacts.azurecr.io/tools/my-signer:1.0");
  expect(signerImageOf(tasksOf(DEFAULT_CONFIG_YAML))).toBeUndefined();
});

describe("the upstreams scenario's config (variantText): three upstreams in one config, as the lab reads them", () => {
  const text = variantText(DEFAULT_CONFIG_YAML, "upstreams");
  const tasks = tasksOf(text);
  const byName = (n: string) => tasks.find((t) => t.name === n)!;

  test("it is the default config and two more gates, with the ghcr.io login; the walkthrough gate still pulls the simulated registry", () => {
    expect(tasks.map((t) => [t.name, t.role])).toEqual([
      ["base-import-azurelinux-distroless-minimal", "gate"],
      ["base-import-busybox", "gate"],
      ["node-public", "upstream"],
      ["base-import-node", "gate"],
      ["hello-world", "app"],
    ]);
    expect(byName("base-import-node").values.REGISTRY_FROM_URL).toBe("publicregistry.azurecr.io/");
    // A user's config with the same images or the same targets: the variant's problems name it (app/lab.ts).
    expect(() => parseConfig(variantText(text, "upstreams"), "twice")).toThrow(/is also the target of/);
  });

  test("MCR through base artifacts' cache, anonymously; ghcr.io directly, with its login; both run by a daily timer", () => {
    const mcr = byName("base-import-azurelinux-distroless-minimal");
    expect(mcr.values.REGISTRY_FROM_URL).toBe("contosobaseartifacts.azurecr.io/mcr/");
    expect(mcr.from).toBe("contosobaseartifacts.azurecr.io/mcr/azurelinux/distroless/minimal:3.0");
    expect(mcr.builds).toBe("contosobaseartifacts.azurecr.io/azurelinux/distroless/minimal:3.0");
    expect(mcr.credentials).toEqual([]);
    const ghcr = byName("base-import-busybox");
    expect(ghcr.values.REGISTRY_FROM_URL).toBe("ghcr.io/");
    expect(ghcr.builds).toBe("contosobaseartifacts.azurecr.io/busybox:1.36");
    expect(ghcr.credentials).toEqual([{ loginServer: "ghcr.io", username: expect.stringMatching(/azurerm_key_vault_secret\.secret_registry_ghcr_io_user\.id/), password: expect.stringMatching(/azurerm_key_vault_secret\.secret_registry_ghcr_io_password\.id/) }]);
    for (const g of [mcr, ghcr]) {
      expect(g.baseImageTrigger).toBe(false);
      expect(g.timers).toEqual(["0 4 * * *"]);
    }
  });

  test("a run logs in with each of its task's logins to the lab's registry for it, with local values for the Key Vault secrets", () => {
    const ghcr = byName("base-import-busybox");
    const registries = new Map([
      ["ghcr.io", "localhost:5003"],
      ["contosobaseartifacts.azurecr.io", "localhost:5001"],
    ]);
    const p = prepare(ghcr, "steps: []\n", { registries, secret: (id) => `lab-secret-${id}`, pinned: new Map() });
    expect(p.credentials.map((c) => JSON.parse(c))).toEqual([
      { registry: "localhost:5003", userNameProviderType: "opaque", username: "lab-secret-secret_registry_ghcr_io_user", passwordProviderType: "opaque", password: "lab-secret-secret_registry_ghcr_io_password" },
    ]);
    expect(p.standIns.map((s) => s.what)).toEqual(["Key Vault secrets secret_registry_ghcr_io_user and secret_registry_ghcr_io_password (task base-import-busybox's login to ghcr.io)"]);
    // A login server the lab has no registry for gets no login (and the run's pull from it fails, as it should).
    expect(prepare(ghcr, "steps: []\n", { registries: new Map(), secret: String, pinned: new Map() }).credentials).toEqual([]);
  });
});
