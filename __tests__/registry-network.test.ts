/**
 * Private registries (a registry's `network`, lib/config/registry-network.ts): the registry
 * attributes written, what is refused because it cannot work on the ACR Tasks public agent pool
 * or Azure Container Instances without VNet integration, hostile input, and day 2 (in place).
 */
import * as fs from "fs";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { Testing, TerraformStack } from "cdktf";
import { previewReplacements } from "../app/diff-rules";
import { Registry } from "../constructs/registry";
import { problemsOf, resources, synth, synthStacks } from "./helpers";

const PRIVATE_YAML = fs.readFileSync(path.join(__dirname, "..", "examples", "private.yaml"), "utf8");
const IDENTITY_YAML = fs.readFileSync(path.join(__dirname, "..", "examples", "identity.yaml"), "utf8");
const NETWORK_ATTRS = ["public_network_access_enabled", "network_rule_set", "network_rule_bypass_option", "network_rule_bypass_for_tasks_enabled"];

const networkOf = (tf: any, name: string) => {
  const r = resources(tf, "azurerm_container_registry")[`registry_${name}`];
  return Object.fromEntries(NETWORK_ATTRS.filter((k) => k in r).map((k) => [k, r[k]]));
};

/** identity.yaml with `network` added to one registry (by its `name:` line). */
const withNetwork = (yaml: string, nameLine: string, network: string) => yaml.replace(nameLine, `${nameLine}\n  network: ${network}`);

describe("the JSON of each registry", () => {
  const tf = synth(parseConfig(PRIVATE_YAML)).tf;

  test("public access disabled on a registry tasks reach: closed, trusted services and the tasks' bypass on", () => {
    expect(networkOf(tf, "publicregistry")).toEqual({
      public_network_access_enabled: false,
      network_rule_set: [{ default_action: "Deny", ip_rule: [] }],
      network_rule_bypass_option: "AzureServices",
      network_rule_bypass_for_tasks_enabled: true,
    });
  });

  test("IP rules: default action Deny, one Allow rule per address in the order written", () => {
    expect(networkOf(tf, "contosobaseartifacts")).toEqual({
      public_network_access_enabled: true,
      network_rule_set: [
        {
          default_action: "Deny",
          ip_rule: [
            { action: "Allow", ip_range: "203.0.113.0/24" },
            { action: "Allow", ip_range: "198.51.100.7" },
          ],
        },
      ],
      network_rule_bypass_option: "AzureServices",
      network_rule_bypass_for_tasks_enabled: true,
    });
  });

  test("a team registry without apps runs no task: closed with no bypass at all", () => {
    expect(networkOf(tf, "fabrikam")).toEqual({
      public_network_access_enabled: false,
      network_rule_set: [{ default_action: "Deny", ip_rule: [] }],
      network_rule_bypass_option: "None",
      network_rule_bypass_for_tasks_enabled: false,
    });
  });

  test("`network: {}` states the open registry explicitly (so that opening a restricted one is a change)", () => {
    expect(networkOf(tf, "contoso")).toEqual({
      public_network_access_enabled: true,
      network_rule_set: [{ default_action: "Allow", ip_rule: [] }],
      network_rule_bypass_option: "AzureServices",
      network_rule_bypass_for_tasks_enabled: false,
    });
  });

  test("without `network`, only public_network_access_enabled = true is written, as before", () => {
    const plain = synth(parseConfig(IDENTITY_YAML)).tf;
    for (const name of ["publicregistry", "contosobaseartifacts", "contoso"]) expect(networkOf(plain, name)).toEqual({ public_network_access_enabled: true });
  });

  test("trustedServices: true on a restricted registry no task reaches: AzureServices, still no tasks' bypass", () => {
    const yaml = PRIVATE_YAML.replace("  - name: fabrikam\n    network:\n      publicAccess: disabled", "  - name: fabrikam\n    network:\n      publicAccess: disabled\n      trustedServices: true");
    const n = networkOf(synth(parseConfig(yaml)).tf, "fabrikam");
    expect([n.network_rule_bypass_option, n.network_rule_bypass_for_tasks_enabled]).toEqual(["AzureServices", false]);
  });

  test("azurerm 5.2.0 writes the same attributes", () => {
    const tf5 = synth(parseConfig(`azurermVersion: 5.2.0\n${PRIVATE_YAML}`)).tf;
    for (const name of ["publicregistry", "contosobaseartifacts", "contoso", "fabrikam"]) expect(networkOf(tf5, name)).toEqual(networkOf(tf, name));
  });

  test("split layout: the platform stack holds the platform registries' settings, each team stack its registry's", () => {
    const stacks = synthStacks(parseConfig(`layout: split\n${PRIVATE_YAML}`));
    const where = (name: string) => stacks.filter((s) => `registry_${name}` in resources(s.tf, "azurerm_container_registry"));
    expect(where("publicregistry").map((s) => s.name)).toEqual(["acr-gate"]);
    expect(networkOf(where("fabrikam")[0].tf, "fabrikam")).toEqual(networkOf(tf, "fabrikam"));
    expect(networkOf(where("contosobaseartifacts")[0].tf, "contosobaseartifacts")).toEqual(networkOf(tf, "contosobaseartifacts"));
  });
});

describe("what cannot work is refused, every problem at once", () => {
  test("the example is valid", () => {
    expect(problemsOf(PRIVATE_YAML)).toBe("");
  });

  test("restricted registries that tasks pull from with a pull token, a team registry with apps, trusted services off: all reported", () => {
    const yaml = IDENTITY_YAML.replace(/  taskCredential: identity\n/g, "")
      .replace("  name: publicregistry", "  name: publicregistry\n  network: { publicAccess: disabled, trustedServices: false }")
      .replace("  name: contosobaseartifacts", "  name: contosobaseartifacts\n  network: { allowIps: [203.0.113.0/24] }")
      .replace("  - name: contoso", "  - name: contoso\n    network: { allowIps: [198.51.100.0/24] }");
    const p = problemsOf(yaml).split("\n");
    expect(p).toEqual([
      expect.stringMatching(/^publicRegistry\.network\.trustedServices: false cannot be false on a restricted registry ACR Tasks reach/),
      expect.stringMatching(/^publicRegistry\.taskCredential: "keyVaultToken" must be 'identity' with publicRegistry\.network\.publicAccess 'disabled': the gates pull/),
      expect.stringMatching(/^baseArtifactsRegistry\.taskCredential: "keyVaultToken" must be 'identity' with baseArtifactsRegistry\.network\.allowIps set: the app tasks pull/),
      expect.stringMatching(/^teamRegistries\[0\]\.network\.allowIps: a list of 1 cannot work with the apps hello-world: .*Azure Container Instances pulls from addresses that are not fixed/),
    ]);
  });

  test("a team registry with apps and public access disabled: no VNet integration, refused", () => {
    const yaml = withNetwork(IDENTITY_YAML, "  - name: contoso", "{ publicAccess: disabled }").replace("  - name: contoso\n  network", "  - name: contoso\n    network");
    expect(problemsOf(yaml)).toMatch(/^teamRegistries\[0\]\.network\.publicAccess: "disabled" cannot work with the apps hello-world: .*virtual network.*which acr-gate does not build/);
  });

  test("the cache with a restricted base-artifacts registry and apps: refused on the network key (identity is refused with the cache)", () => {
    const cache = fs.readFileSync(path.join(__dirname, "..", "examples", "artifact-cache.yaml"), "utf8");
    const yaml = cache.replace("{ name: cachebaseartifacts }", "{ name: cachebaseartifacts, network: { publicAccess: disabled } }");
    expect(problemsOf(yaml)).toMatch(/^baseArtifactsRegistry\.network\.publicAccess: "disabled" cannot work with images through the artifact cache and apps/);
    // Any gate through a cache, not only upstream.source's: MCR's through its cache in a Docker Hub config.
    const dockerhub = fs.readFileSync(path.join(__dirname, "..", "examples", "dockerhub.yaml"), "utf8")
      .replace("{ name: contosobaseartifacts }", "{ name: contosobaseartifacts, network: { publicAccess: disabled } }")
      .replace("\napps:", "\n  - { source: dotnet/runtime:8.0, upstream: mcr.microsoft.com, test: { enabled: false } }\napps:");
    expect(problemsOf(dockerhub)).toMatch(/^baseArtifactsRegistry\.network\.publicAccess: "disabled" cannot work with images through the artifact cache and apps/m);
    // Without apps nothing pulls from it with a token: the gates run on it and pass through the tasks' bypass.
    const noApps = yaml.replace(/\napps:\n[\s\S]*$/, "\n");
    expect(problemsOf(noApps)).toBe("");
    const reg = resources(synth(parseConfig(noApps)).tf, "azurerm_container_registry").registry_cachebaseartifacts;
    expect([reg.public_network_access_enabled, reg.network_rule_bypass_for_tasks_enabled, reg.network_rule_bypass_option]).toEqual([false, true, "AzureServices"]);
  });

  test("IP rules with public access disabled have no effect: refused", () => {
    const yaml = PRIVATE_YAML.replace("    publicAccess: disabled\n  images:", "    publicAccess: disabled\n    allowIps: [203.0.113.0/24]\n  images:");
    expect(problemsOf(yaml)).toBe(`publicRegistry.network.allowIps: a list of 1 has no effect with publicAccess 'disabled': IP rules only filter the public endpoint, which is then closed; remove one of them`);
  });

  test("ranges: every address, host bits set and repeats (also as /32) are refused, each by its index", () => {
    const yaml = PRIVATE_YAML.replace("      - 198.51.100.7\n", "      - 198.51.100.7\n      - 0.0.0.0/0\n      - 203.0.113.9/24\n      - 198.51.100.7/32\n");
    expect(problemsOf(yaml).split("\n")).toEqual([
      'baseArtifactsRegistry.network.allowIps[2]: "0.0.0.0/0" allows every address: leave allowIps empty instead (or list the addresses meant)',
      'baseArtifactsRegistry.network.allowIps[3]: "203.0.113.9/24" has host bits set: the range /24 starts at 203.0.113.0; write 203.0.113.0/24',
      'baseArtifactsRegistry.network.allowIps[4]: "198.51.100.7/32" repeats allowIps[1]',
    ]);
  });
});

describe("addresses that never reach a public endpoint are refused, naming the block", () => {
  test.each([
    ["10.1.2.3", "10.0.0.0/8 is private (RFC 1918)"],
    ["192.168.1.0/24", "192.168.0.0/16 is private (RFC 1918)"],
    ["172.31.0.0/16", "172.16.0.0/12 is private (RFC 1918)"],
    ["127.0.0.1", "127.0.0.0/8 is loopback"],
    ["0.0.0.0", "0.0.0.0/8 is 'this network'"],
    ["224.0.0.0/4", "224.0.0.0/4 is multicast"],
    ["169.254.169.254", "169.254.0.0/16 is link-local"],
    // A public range that contains a private block is refused too.
    ["8.0.0.0/6", "10.0.0.0/8 is private (RFC 1918)"],
  ])("%s", (range, why) => {
    const yaml = PRIVATE_YAML.replace("      - 198.51.100.7\n", `      - 198.51.100.7\n      - ${range}\n`);
    expect(problemsOf(yaml)).toBe(`baseArtifactsRegistry.network.allowIps[2]: "${range}" is not a public address: ${why}, which never reaches a registry's public endpoint`);
  });
  test("public addresses pass", () => {
    expect(problemsOf(PRIVATE_YAML.replace("      - 198.51.100.7\n", "      - 198.51.100.7\n      - 20.50.0.0/16\n      - 8.8.8.8\n"))).toBe("");
  });
});

describe("hostile input", () => {
  test.each([
    ["${azurerm_key_vault.x.id}"],
    ["%{if true}1.2.3.4%{endif}"],
    ["1.2.3.4/24 ]"],
    ["1.2.3.4\n"],
    ["01.2.3.4"],
    ["256.1.1.1"],
    ["1.2.3.4/33"],
    ["::1"],
    ["2001:db8::/32"],
    ["1.2.3"],
    [" 1.2.3.4"],
  ])("allowIps entry %j is refused and nothing reaches the JSON", (ip) => {
    const yaml = PRIVATE_YAML.replace("      - 198.51.100.7\n", `      - ${JSON.stringify(ip)}\n`);
    expect(problemsOf(yaml)).toMatch(/^baseArtifactsRegistry\.network\.allowIps\[1\]: /);
  });

  test("wrong types and unknown keys name the field", () => {
    const yaml = PRIVATE_YAML.replace("    publicAccess: disabled\n  images:", "    publicAccess: off\n    trustedServices: yes please\n    bypass: true\n  images:");
    const p = problemsOf(yaml);
    expect(p).toMatch(/publicRegistry\.network\.publicAccess: "off" must be one of enabled, disabled/);
    expect(p).toMatch(/publicRegistry\.network\.trustedServices: "yes please" must be true or false/);
    expect(p).toMatch(/publicRegistry\.network\.bypass: unknown key \(allowed: publicAccess, allowIps, trustedServices\)/);
  });

  test("the construct refuses what the config rules refuse, for callers of its own", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const base = { name: "someregistry", resourceGroupName: "rg", location: "eastus" };
    expect(() => new Registry(stack, "a", { ...base, network: { publicAccess: true, allowIps: ["${x}"], trustedServices: true, tasksBypass: true } })).toThrow(/network\.allowIps\[0\]/);
    expect(() => new Registry(stack, "b", { ...base, network: { publicAccess: false, allowIps: ["1.2.3.4"], trustedServices: true, tasksBypass: true } })).toThrow(/no effect with public access disabled/);
    expect(() => new Registry(stack, "c", { ...base, network: { publicAccess: false, allowIps: [], trustedServices: false, tasksBypass: true } })).toThrow(/needs trustedServices/);
  });
});

describe("day 2: changing a registry's network settings updates it in place", () => {
  const noFabrikam = PRIVATE_YAML.replace("  - name: fabrikam\n    network:\n      publicAccess: disabled\n", "");
  const reopened = noFabrikam
    .replace("  network:\n    publicAccess: disabled\n  images:", "  network: {}\n  images:")
    .replace("  network:\n    allowIps:\n      - 203.0.113.0/24\n      - 198.51.100.7\n", "  network: {}\n");

  test.each([
    ["open (no network key) -> restricted", IDENTITY_YAML, noFabrikam, ["contoso", "contosobaseartifacts", "publicregistry"]],
    ["restricted -> open again (network: {})", noFabrikam, reopened, ["contosobaseartifacts", "publicregistry"]],
  ])("%s: the registries are updated, nothing is replaced or deleted", (_name, beforeYaml, afterYaml, updated) => {
    expect(reopened).not.toBe(noFabrikam);
    const p = previewReplacements(synth(parseConfig(beforeYaml)).tf, synth(parseConfig(afterYaml)).tf);
    expect(p.unknownTypes).toEqual([]);
    const registries = p.changes.filter((c) => c.type === "azurerm_container_registry");
    expect(registries.map((c) => [c.address, c.action])).toEqual(updated.map((n) => [`azurerm_container_registry.registry_${n}`, "update"]));
    expect(p.counts.replaceDurable + p.counts.replace + p.counts.delete).toBe(0);
  });

  test("reopened, the JSON states public access on, Allow and no bypass for the tasks", () => {
    const tf = synth(parseConfig(reopened)).tf;
    expect(networkOf(tf, "publicregistry")).toEqual({
      public_network_access_enabled: true,
      network_rule_set: [{ default_action: "Allow", ip_rule: [] }],
      network_rule_bypass_option: "AzureServices",
      network_rule_bypass_for_tasks_enabled: false,
    });
  });
});
