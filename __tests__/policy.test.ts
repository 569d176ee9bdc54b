/**
 * The workflow policy runs at synth time (a stack validation): these tests go through a full
 * synth, so a policy that silently stopped running would fail them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { synthesize } from "../app/synth";
import { Vault } from "../constructs/key-vault";
import { RegistryTask } from "../constructs/registry-task";
import { SubscriptionReader } from "../constructs/subscription-reader";

const config = parseConfig(DEFAULT_CONFIG_YAML);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-policy-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function attempt(name: string, customize: Parameters<typeof synthesize>[2]) {
  const out = path.join(tmp, name);
  let error: Error | undefined;
  try {
    synthesize(config, out, customize);
  } catch (e) {
    error = e as Error;
  }
  return { error, written: fs.existsSync(out) };
}

test("the default workflow passes and is written", () => {
  const r = attempt("ok", undefined);
  expect(r.error).toBeUndefined();
  expect(r.written).toBe(true);
});

test("an Owner role assignment fails the synth and nothing is written", () => {
  const r = attempt("owner", (stack) => {
    new RoleAssignment(stack, "too-much", {
      scope: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/hello-world-aci-rg",
      roleDefinitionName: "Owner",
      principalId: stack.apps[0].task.principalId,
    });
  });
  expect(r.error?.message).toContain("grants Owner; grant the narrowest role instead");
  expect(r.written).toBe(false);
  expect(fs.readdirSync(tmp).filter((f) => f.includes("staging"))).toEqual([]);
});

// A literal subscription, and the subscription the reader role sits at (with another role): both
// broader than a resource group.
test.each([
  ["a whole subscription", "subscription", "/subscriptions/00000000-0000-0000-0000-000000000000"],
  ["the subscription reader's scope, with another role", "subscription-reader-scope", "/subscriptions/${data.azurerm_client_config.current.subscription_id}"],
])("a Reader role assignment on %s is broader than a resource group", (_what, name, scope) => {
  const r = attempt(name, (stack) => {
    new RoleAssignment(stack, "wide", { scope, roleDefinitionName: "Reader", principalId: stack.apps[0].task.principalId });
  });
  expect(r.error?.message).toContain(`scope ${scope} is broader than a resource group`);
});

describe("the subscription reader: the one assignment at a subscription", () => {
  test("a reader role that grants more than subscriptions/read fails the synth", () => {
    const r = attempt("subscription-reader-wide", (stack) => {
      const reader = stack.node.findAll().find((c) => c instanceof SubscriptionReader) as SubscriptionReader;
      reader.definition.putPermissions([{ actions: ["Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read"] }]);
    });
    expect(r.error?.message).toContain("it may grant Microsoft.Resources/subscriptions/read only");
  });
});

test("a task that uses a vault secret without a Get policy is caught", () => {
  const r = attempt("no-policy", (stack) => {
    const other = new Vault(stack, "other-vault", { name: "other-vault", resourceGroupName: "x-rg", existing: true });
    const secret = other.storeSecret("some-secret", { value: "${var.github_token}" });
    const t = stack.apps[0].task;
    t.secretsRead.push(secret); // declared without readSecrets(), which would have granted Get
  });
  expect(r.error?.message).toContain("task contoso/hello-world: uses secret some-secret but has no Get policy on vault other-vault");
});

test("a versionless vault URL as a credential is caught (azurerm would send it as the user name)", () => {
  const r = attempt("versionless", (stack) => {
    const t: RegistryTask = stack.apps[0].task;
    t.resource.putRegistryCredential({
      custom: [
        {
          loginServer: "docker.io",
          identity: "[system]",
          username: "https://acr-task-credentials.vault.azure.net/secrets/registry-dockerhub-user",
          password: "https://acr-task-credentials.vault.azure.net/secrets/registry-dockerhub-password",
        },
      ],
    });
  });
  expect(r.error?.message).toContain(
    'credential username for docker.io is "https://acr-task-credentials.vault.azure.net/secrets/registry-dockerhub-user", not a versioned Key Vault secret id',
  );
});

test("an identity credential without AcrPull on that registry is caught", () => {
  const r = attempt("identity-no-pull", (stack) => {
    const t = stack.apps[0].task;
    t.resource.putRegistryCredential({ custom: [{ loginServer: "publicregistry.azurecr.io", identity: "[system]" }] });
  });
  expect(r.error?.message).toContain("identity credential for publicregistry.azurecr.io but no AcrPull on publicregistry");
});
