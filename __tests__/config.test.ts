/**
 * Bad input fails before anything is written, with one message per problem naming the field path,
 * the value and the rule.
 */
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import * as YAML from "yaml";

const base = () => YAML.parse(DEFAULT_CONFIG_YAML);
function problems(mutate: (c: any) => void): string[] {
  const c = base();
  mutate(c);
  try {
    parseConfig(YAML.stringify(c), "test.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}

describe("the default config reproduces the walkthrough", () => {
  const c = parseConfig(DEFAULT_CONFIG_YAML);
  test("names, groups and location", () => {
    expect(c.location).toBe("eastus");
    expect(c.publicRegistry).toMatchObject({ name: "publicregistry", resourceGroup: "publicregistry-rg" });
    expect(c.baseArtifactsRegistry).toMatchObject({ name: "contosobaseartifacts", resourceGroup: "contosobaseartifacts-rg" });
    expect(c.teamRegistries).toEqual([expect.objectContaining({ name: "contoso", resourceGroup: "contoso-rg" })]);
    expect(c.keyVault).toMatchObject({ name: "acr-task-credentials", resourceGroup: "acr-task-credentials-rg", existing: false });
    expect(c.apps[0].aci).toMatchObject({ name: "hello-world-aci", resourceGroup: "hello-world-aci-rg" });
    expect(c.gatedImages[0].source).toEqual({ repository: "node", tag: "15-alpine" });
    expect(c.backend).toEqual({ type: "local", path: "../../../acr-gate.tfstate" });
  });
});

describe("malformed files", () => {
  test("invalid YAML names the line", () => {
    expect(() => parseConfig("location: [eastus\n", "bad.yaml")).toThrow(/bad\.yaml: 1 problem\(s\):\n  - malformed YAML at line \d+/);
  });
  test("a duplicate key is malformed", () => {
    expect(() => parseConfig("location: eastus\nlocation: westus\n")).toThrow(/malformed YAML/);
  });
  test("JSON is accepted", () => {
    expect(parseConfig(JSON.stringify(base())).location).toBe("eastus");
  });
  test("unknown keys are named with their path and the allowed keys", () => {
    expect(problems((c) => (c.keyVault.nmae = "x"))).toEqual([
      "keyVault.nmae: unknown key (allowed: name, resourceGroup, existing, softDeleteRetentionDays, allowedIpRanges)",
    ]);
    expect(problems((c) => (c.colour = "blue"))[0]).toMatch(/^colour: unknown key/);
  });
  test("every problem is reported in one pass, an app's reference to a renamed team included", () => {
    const p = problems((c) => {
      c.location = "East US";
      c.keyVault.name = "1vault";
      c.teamRegistries[0].name = "my-registry";
    });
    expect(p.map((x) => x.split(":")[0])).toEqual(["location", "teamRegistries[0].name", "keyVault.name", "apps[0].registry"]);
  });
});

describe("missing values", () => {
  test.each([
    ["baseArtifactsRegistry", (c: any) => delete c.baseArtifactsRegistry, /^baseArtifactsRegistry: is required \(it is missing\)/],
    ["keyVault.name", (c: any) => delete c.keyVault.name, /^keyVault\.name: is required \(it is missing\)/],
    ["teamRegistries", (c: any) => (c.teamRegistries = []), /^teamRegistries: \[\] must list at least one team registry/],
    ["gatedImages", (c: any) => delete c.gatedImages, /^gatedImages: must list at least one gated image \(it is missing\)/],
    ["publicRegistry in simulated mode", (c: any) => delete c.publicRegistry, /^publicRegistry: is required when upstream\.source is 'simulated'/],
    ["apps[0].repository", (c: any) => delete c.apps[0].repository, /^apps\[0\]\.repository: is required \(it is missing\)/],
  ])("%s", (_name, mutate, message) => {
    expect(problems(mutate)).toEqual([expect.stringMatching(message)]);
  });
});

describe("names Azure would reject", () => {
  test.each([
    ["registry with a hyphen", (c: any) => ((c.teamRegistries[0].name = "my-registry"), (c.apps[0].registry = "my-registry")), 'teamRegistries[0].name: "my-registry" is not a valid container registry name: must be 5-50 letters and digits'],
    ["registry too short", (c: any) => (c.baseArtifactsRegistry.name = "abcd"), 'baseArtifactsRegistry.name: "abcd" is not a valid container registry name'],
    ["registry too long", (c: any) => (c.baseArtifactsRegistry.name = "a".repeat(51)), "baseArtifactsRegistry.name: \"" + "a".repeat(51) + '" is not a valid container registry name'],
    ["vault starting with a digit", (c: any) => (c.keyVault.name = "1vault"), 'keyVault.name: "1vault" is not a valid key vault name: must be 3-24 letters, digits and hyphens, starting with a letter'],
    ["vault with --", (c: any) => (c.keyVault.name = "acr--vault"), 'keyVault.name: "acr--vault" is not a valid key vault name'],
    ["vault ending with a hyphen", (c: any) => (c.keyVault.name = "acrvault-"), 'keyVault.name: "acrvault-" is not a valid key vault name'],
    ["vault too long", (c: any) => (c.keyVault.name = "a".repeat(25)), "keyVault.name: \"" + "a".repeat(25) + '" is not a valid key vault name'],
    ["resource group ending with a dot", (c: any) => (c.keyVault.resourceGroup = "vault-rg."), 'keyVault.resourceGroup: "vault-rg." is not a valid resource group name'],
    ["location with a space", (c: any) => (c.location = "East US"), 'location: "East US" is not a valid Azure location'],
    ["task name too short", (c: any) => (c.gatedImages[0].taskName = "gate"), 'gatedImages[0].taskName: "gate" is not a valid registry task name: must be 5-50'],
    ["container group with capitals", (c: any) => (c.apps[0].aci.name = "Hello-ACI"), 'apps[0].aci.name: "Hello-ACI" is not a valid container group name'],
    ["Git context without .git", (c: any) => (c.apps[0].repository = "https://github.com/x/y"), 'apps[0].repository: "https://github.com/x/y" is not a valid Git context URL'],
    ["image with a registry host", (c: any) => (c.gatedImages[0].source = "docker.io/node:15"), 'gatedImages[0].source: "docker.io/node:15" is not a valid image: names a registry host; must be \'repository:tag\''],
    ["image without a tag", (c: any) => (c.gatedImages[0].source = "node"), 'gatedImages[0].source: "node" is not a valid image: must be \'repository:tag\''],
    ["scanner image unpinned", (c: any) => (c.gatedImages[0].scan.image = "aquasec/trivy:latest"), 'gatedImages[0].scan.image: "aquasec/trivy:latest" must be pinned'],
    ["timer not cron", (c: any) => (c.gatedImages[0].timer = "daily"), 'gatedImages[0].timer: "daily" is not a valid timer schedule'],
  ])("%s", (_name, mutate, message) => {
    const p = problems(mutate);
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(message);
  });

  test("a registry name too long for its derived token name is caught at the registry's name", () => {
    const long = "c".repeat(45);
    const p = problems((c) => {
      c.teamRegistries[0].name = long;
      c.apps[0].registry = long;
    });
    expect(p).toEqual([
      `teamRegistries[0].name: "${long}" is too long for its pull token: "registry-${long}-user" is not a valid registry token name: must be 5-49 letters, digits and hyphens, starting with a letter`,
    ]);
    // In identity mode there is no token, and the same name is fine.
    expect(
      problems((c) => {
        c.teamRegistries[0].name = long;
        c.apps[0].registry = long;
        c.apps[0].aci.pullWith = "identity";
      }),
    ).toEqual([]);
  });
});

describe("values and references", () => {
  test.each([
    ["simulated mode: a gated image nothing builds", (c: any) => c.gatedImages.push({ source: "python:3.12-slim", test: { context: "https://github.com/x/t.git" } }), "gatedImages[1].source: \"python:3.12-slim\" must be built by one of publicRegistry.images (upstream.source is 'simulated')"],
    ["replica in the registry's own location", (c: any) => (c.teamRegistries[0].replicaLocations = ["westus", "eastus"]), "teamRegistries[0].replicaLocations[1]: \"eastus\" must differ from location (the registry's own)"],
    ["retention out of range", (c: any) => (c.teamRegistries[0].untaggedRetentionDays = 0), "teamRegistries[0].untaggedRetentionDays: 0 must be a whole number from 1 to 365"],
    ["expiry not a number", (c: any) => (c.tokenPasswordExpiryDays = "1y"), 'tokenPasswordExpiryDays: "1y" must be a whole number from 1 to 3650'],
    ["unknown mode", (c: any) => (c.upstream.source = "quay"), 'upstream.source: "quay" must be one of simulated, dockerhub'],
    ["app in an unknown team", (c: any) => (c.apps[0].registry = "fabrikam"), 'apps[0].registry: "fabrikam" must name one of teamRegistries (contoso)'],
    ["app on an ungated base image", (c: any) => (c.apps[0].baseImage = "python:3.12-slim"), 'apps[0].baseImage: "python:3.12-slim" must be the target of a gated image (node:15-alpine)'],
    ["duplicate registry names", (c: any) => ((c.teamRegistries[0].name = "publicregistry"), (c.apps[0].registry = "publicregistry")), 'teamRegistries[0].name: "publicregistry" is also the registry name at publicRegistry.name; registry names must differ'],
    ["a tag written without a value", (c: any) => (c.tags = { team: null }), 'tags.team: has no value; write team: "" for an empty one'],
    ["two apps with one task name in a team registry", (c: any) => c.apps.push({ ...c.apps[0], name: "other-app", taskName: c.apps[0].taskName ?? "hello-world", aci: { name: "other-aci" } }), "task names in team registry contoso must differ"],
    ["app in a durable group", (c: any) => (c.apps[0].aci.resourceGroup = "contoso-rg"), 'apps[0].aci.resourceGroup: "contoso-rg" is the resource group of teamRegistries[0]: durable content (registries, key vault) must not share a group with an app'],
    ["absolute backend path", (c: any) => (c.backend = { type: "local", path: "/home/me/state.tfstate" }), 'backend.path: "/home/me/state.tfstate" is not a valid local state path: must be \'../../../<name>.tfstate\''],
    ["backend path inside the output", (c: any) => (c.backend = { type: "local", path: "state/prod.tfstate" }), 'backend.path: "state/prod.tfstate" is not a valid local state path'],
    ["backend path climbing further", (c: any) => (c.backend = { type: "local", path: "../../../../other/terraform.tfstate" }), 'backend.path: "../../../../other/terraform.tfstate" is not a valid local state path'],
    ["a task credential on a team registry has no effect", (c: any) => (c.teamRegistries[0].taskCredential = "identity"), 'teamRegistries[0].taskCredential: "identity" has no effect: no task pulls from a team registry'],
    ["a public registry in Docker Hub mode has no effect", (c: any) => (c.upstream = { source: "dockerhub" }), "publicRegistry: a mapping has no effect when upstream.source is 'dockerhub'"],
    ["a vault firewall cannot work with ACR task agents", (c: any) => (c.keyVault.allowedIpRanges = ["203.0.113.0/24"]), "keyVault.allowedIpRanges: a list of 1 cannot work: ACR task agents read secrets from addresses that are not fixed"],
    ["azurerm backend without storage account", (c: any) => (c.backend = { type: "azurerm", resourceGroupName: "tfstate-rg" }), "backend.storageAccountName: is required when backend.type is 'azurerm' (it is missing)"],
    // Once a crash (TypeError) instead of a message: the type names a property every object has.
    ["a backend type named like an object's property", (c: any) => (c.backend = { type: "constructor", path: "../../../x.tfstate" }), 'backend.type: "constructor" must be one of local, azurerm, partial'],
    ["a backend type named __proto__", (c: any) => (c.backend = { type: "__proto__", path: "../../../x.tfstate" }), 'backend.type: "__proto__" must be one of local, azurerm, partial'],
  ])("%s", (_name, mutate, message) => {
    const p = problems(mutate);
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(message);
  });
});

describe("the gate refuses to promote unvalidated images unless told to", () => {
  test("test and scan both off is rejected with a clear message", () => {
    const p = problems((c) => {
      c.gatedImages[0].test = { enabled: false };
      c.gatedImages[0].scan = { enabled: false };
      c.gatedImages[0].timer = "0 3 * * *";
    });
    expect(p).toEqual([
      'gatedImages[0]: "node:15-alpine" would be promoted unvalidated: enable test, or scan with mode \'enforce\', or set allowUnvalidated: true',
    ]);
  });
  test("a report-only scan does not count as validation", () => {
    const p = problems((c) => {
      c.gatedImages[0].test = { enabled: false };
      c.gatedImages[0].timer = "0 3 * * *";
    });
    expect(p[0]).toContain("would be promoted unvalidated");
  });
  test("allowUnvalidated: true accepts it", () => {
    expect(
      problems((c) => {
        c.gatedImages[0].test = { enabled: false };
        c.gatedImages[0].scan = { enabled: false };
        c.gatedImages[0].timer = "0 3 * * *";
        c.gatedImages[0].allowUnvalidated = true;
      }),
    ).toEqual([]);
  });
  test("without the test build nothing tracks the source, so a timer is required", () => {
    expect(problems((c) => (c.gatedImages[0].test = { enabled: false }))).toContain(
      "gatedImages[0].timer: is required when test.enabled is false: no base image trigger can see the source (it is missing)",
    );
  });
});

describe("upstream.dockerHubCredentials defaults from the source (it had a static false that hid the documented default)", () => {
  const base = (upstream: string) =>
    `upstream: ${upstream}\nbaseArtifactsRegistry: { name: contosobase }\nteamRegistries: [ { name: contoso } ]\nkeyVault: { name: kv-creds }\n` +
    `gatedImages:\n  - { source: "node:15-alpine", test: { context: "https://github.com/a/b.git#main" } }\n`;
  test.each([
    ["{ source: dockerhub }", true],
    ["{ source: cache }", true],
    ["{ source: dockerhub, dockerHubCredentials: false }", false],
  ])("%s -> %s", (upstream, expected) => {
    expect(parseConfig(base(upstream)).upstream.dockerHubCredentials).toBe(expected);
  });
  test("simulated -> false", () => {
    const yaml = base("{ source: simulated }").replace("gatedImages:", "publicRegistry: { name: publicreg, images: [ { taskName: node-public, image: \"node:15-alpine\", repository: \"https://github.com/a/c.git#main\" } ] }\ngatedImages:");
    expect(parseConfig(yaml).upstream.dockerHubCredentials).toBe(false);
  });
});
