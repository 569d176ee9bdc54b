/** The workflow diagram is drawn from the synthesized JSON (app/diagram.ts): it cannot disagree with it. */
import * as fs from "fs";
import * as path from "path";
import { renderWorkflow } from "../app/diagram";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { synth, withDefaults } from "./helpers";

const draw = (yaml?: string) => {
  const { tf, stack } = yaml === undefined ? synth() : synth(withDefaults(yaml));
  return renderWorkflow([{ name: stack.node.id, tf }]);
};

test("help/workflow.md is the diagram the default config synthesizes (regenerate: npm start, copy cdktf.out/workflow.md)", () => {
  const committed = fs.readFileSync(path.join(__dirname, "..", "help", "workflow.md"), "utf8");
  expect(committed).toBe(draw());
});

test("the diagram shows each registry, task, trigger, gate and app of the JSON", () => {
  const md = draw();
  for (const s of [
    "publicregistry (publicregistry.azurecr.io)",
    "task node-public",
    "gate node:15-alpine: functional-test + vulnerability-scan then promote node:15-alpine",
    "on: commit, base image update",
    "ACI hello-world-aci (hello-world-aci-rg)",
    "push fires base image trigger",
    "az container create",
  ]) {
    expect(md).toContain(s);
  }
  expect(md).not.toContain("TfToken");
});

test("a gate without a base image trigger has no trigger arrow into it, and says it runs on its timer", () => {
  const md = draw(DEFAULT_CONFIG_YAML.replace("    taskName: base-import-node\n", "    taskName: base-import-node\n    baseImageTrigger: false\n    timer: \"0 3 * * *\"\n"));
  expect(md).toContain("then promote node:15-alpine<br/>on: commit, timer 0 3 * * *");
  const gate = /(task\d+)\["task base-import-node/.exec(md)![1];
  expect(md).not.toMatch(new RegExp(`-\\.->\\|"push fires base image trigger"\\| ${gate}\\b`));
  // The app still follows the gate's pushes.
  expect(md).toMatch(new RegExp(`${gate} -\\.->\\|"push fires base image trigger"\\|`));
});

test("a scan-only gate has no base image trigger in the JSON, and the diagram does not claim one", () => {
  const yaml = DEFAULT_CONFIG_YAML.replace(
    "    test:\n      context: https://github.com/importing-public-content/import-baseimage-node.git#main\n    scan:\n      # node:15-alpine is end of life: an enforcing scan would block it on every run.\n      # The scan still runs and its findings are in the task log.\n      mode: report\n",
    "    test: { enabled: false }\n    timer: \"0 3 * * *\"\n",
  );
  expect(yaml).not.toBe(DEFAULT_CONFIG_YAML);
  const { tf, stack } = synth(withDefaults(yaml));
  const gate = Object.values<any>(tf.resource.azurerm_container_registry_task).find((t) => t.name === "base-import-node");
  expect(gate.base_image_trigger).toBeUndefined();
  const md = renderWorkflow([{ name: stack.node.id, tf }]);
  expect(md).toContain("gate node:15-alpine: vulnerability-scan then promote node:15-alpine<br/>on: timer 0 3 * * *");
});

test("split: each app's container group shows its group, which the team stack names (the platform makes it)", () => {
  const { synthStacks } = require("./helpers");
  const { parseConfig } = require("../lib/config");
  const stacks = synthStacks(parseConfig(fs.readFileSync(path.join(__dirname, "..", "examples", "split.yaml"), "utf8")));
  const md = renderWorkflow(stacks.map((s: any) => ({ name: s.name, tf: s.tf })));
  expect(md).toContain("ACI storefront-aci (storefront-aci-rg)");
  expect(md).not.toContain("(?)");
});

// --- Upstreams (issue 29): every external host a task pulls from, and the artifact cache -----------

const example = (name: string) => fs.readFileSync(path.join(__dirname, "..", "examples", name), "utf8");
const drawStacks = (yaml: string) => {
  const { synthStacks } = require("./helpers");
  const { parseConfig } = require("../lib/config");
  const stacks: { name: string; tf: any }[] = synthStacks(parseConfig(yaml));
  return { stacks, md: renderWorkflow(stacks) };
};

/** The drawing read back: each node's label by id, each edge as `<from label> --<label>--> <to label>`. */
function parseDrawing(md: string) {
  const nodes = new Map<string, string>();
  for (const m of md.matchAll(/^ +(?:subgraph )?(\w+)(?:\[\(|\[|\(\[|\{\{)"([^"]*)"/gm)) nodes.set(m[1], m[2]);
  const edges = [...md.matchAll(/^ {2}(\w+) -(?:->|\.->)\|"([^"]*)"\| (\w+)$/gm)].map((m) => {
    expect(nodes.has(m[1]) && nodes.has(m[3])).toBe(true);
    return `${nodes.get(m[1])!.split("<br/>")[0]} --${m[2]}--> ${nodes.get(m[3])!.split("<br/>")[0]}`;
  });
  return { nodes: [...nodes.values()].map((l) => l.split("<br/>")[0]), edges };
}

test("upstreams.yaml: each upstream host is a node; direct pulls say login or anonymous; cached ones go through their rule", () => {
  const { nodes, edges } = parseDrawing(drawStacks(example("upstreams.yaml")).md);
  // Exactly the hosts the gates reach, each once: no host of a cached gate is drawn as pulled directly.
  expect(nodes.filter((n) => n.endsWith("(public)")).sort()).toEqual([
    "docker.io (public)",
    "gcr.io (public)",
    "ghcr.io (public)",
    "mcr.microsoft.com (public)",
  ]);
  expect(nodes).toEqual(expect.arrayContaining(["cache rule ghcr-linuxserver-baseimage-alpine-4c8b50ff", "cache rule mcr-dotnet-runtime"]));
  const pulls = edges.filter((e) => !e.includes("--push fires") && !e.includes("--az container"));
  expect(pulls.sort()).toEqual(
    [
      // docker.io, direct, with the Docker Hub login (Key Vault secret ids on the task).
      "docker.io (public) --pull: token in Key Vault--> task base-import-node",
      // gcr.io, direct, no login given.
      "gcr.io (public) --pull: anonymous--> task base-import-distroless-static-debian12",
      // ghcr.io through the cache, with the credential set holding the ghcr.io login.
      "ghcr.io (public) --cache: login from Key Vault (credential set ghcr-io)--> cache rule ghcr-linuxserver-baseimage-alpine-4c8b50ff",
      "cache rule ghcr-linuxserver-baseimage-alpine-4c8b50ff --pull: the cached image--> task base-import-alpine",
      // mcr.microsoft.com through the cache, anonymously (Azure takes no login for it).
      "mcr.microsoft.com (public) --cache: anonymous--> cache rule mcr-dotnet-runtime",
      "cache rule mcr-dotnet-runtime --pull: the cached image--> task base-import-dotnet-runtime",
      "mixedbaseartifacts (mixedbaseartifacts.azurecr.io) --pull: token in Key Vault--> task hello-world",
      "mixedteam (mixedteam.azurecr.io) --pull: token--> ACI hello-world-aci (hello-world-aci-rg)",
    ].sort(),
  );
});

test("upstreams.yaml: the cache rule nodes say what the JSON's rules cache, in the base-artifacts registry", () => {
  const { stacks, md } = drawStacks(example("upstreams.yaml"));
  const rules = Object.values<any>(stacks[0].tf.resource.azurerm_container_registry_cache_rule);
  expect(rules).toHaveLength(2);
  const registry = /subgraph (reg\d+)\["mixedbaseartifacts [^\n]*\n((?: {4}[^\n]*\n)*) {2}end/.exec(md);
  expect(registry).not.toBeNull();
  for (const r of rules) expect(registry![2]).toContain(`{{"cache rule ${r.name}<br/>${r.source_repo} into ${r.target_repo}"}}`);
});

test("artifact-cache.yaml: docker.io feeds the cache rule with the Docker Hub credential set; the gate pulls from the rule (issue 29: before, neither was drawn)", () => {
  const { nodes, edges } = parseDrawing(drawStacks(example("artifact-cache.yaml")).md);
  expect(nodes).toContain("docker.io (public)");
  expect(edges).toContain("docker.io (public) --cache: login from Key Vault (credential set dockerhub)--> cache rule dockerhub-node");
  expect(edges).toContain("cache rule dockerhub-node --pull: the cached image--> task base-import-node");
  expect(edges.filter((e) => e.endsWith("--> task base-import-node"))).toHaveLength(1);
});

test("the host drawn is the JSON's: a gate moved to quay.io with a login, and the mcr rule's source moved, are drawn where they now pull from", () => {
  const yaml = example("upstreams.yaml")
    .replace("credentials: [ ghcr.io ]", "credentials: [ ghcr.io, quay.io ]")
    .replace("upstream: gcr.io", "upstream: quay.io");
  expect(yaml).not.toBe(example("upstreams.yaml"));
  const { stacks } = drawStacks(yaml);
  // The rule's host is read from its source_repo, not from the config or the rule's name.
  const rule = Object.values<any>(stacks[0].tf.resource.azurerm_container_registry_cache_rule).find((r) => r.name === "mcr-dotnet-runtime");
  rule.source_repo = "public.ecr.aws/dotnet/runtime";
  const { nodes, edges } = parseDrawing(renderWorkflow(stacks));
  expect(nodes.filter((n) => n.endsWith("(public)")).sort()).toEqual(["docker.io (public)", "ghcr.io (public)", "public.ecr.aws (public)", "quay.io (public)"]);
  expect(edges).toContain("quay.io (public) --pull: token in Key Vault--> task base-import-distroless-static-debian12");
  expect(edges).toContain("public.ecr.aws (public) --cache: anonymous--> cache rule mcr-dotnet-runtime");
  expect(edges.join("\n")).not.toMatch(/gcr\.io \(public\)|mcr\.microsoft\.com \(public\)/);
});

test("every gate of every example has exactly one pull drawn into it, from the host of the image it builds from", () => {
  const files = ["default", ...fs.readdirSync(path.join(__dirname, "..", "examples")).filter((f) => f.endsWith(".yaml"))];
  for (const f of files) {
    const { stacks, md } = drawStacks(f === "default" ? DEFAULT_CONFIG_YAML : example(f));
    const { edges } = parseDrawing(md);
    const all = stacks.flatMap((s) => Object.values<any>(s.tf.resource?.azurerm_container_registry_task ?? {}));
    const gates = all.filter((t) => md.includes(`"task ${t.name}<br/>gate `));
    expect([f, gates.length > 0]).toEqual([f, true]);
    const registries = stacks.flatMap((s) => Object.entries<any>(s.tf.resource?.azurerm_container_registry ?? {}));
    const rules = stacks.flatMap((s) => Object.values<any>(s.tf.resource?.azurerm_container_registry_cache_rule ?? {}));
    for (const g of gates) {
      const into = edges.filter((e) => e.endsWith(`--> task ${g.name}`) && !e.includes("--push fires"));
      expect([f, g.name, into.length]).toEqual([f, g.name, 1]);
      const host = String(g.tags["acr-gate-from"]).split("/")[0];
      // From the host itself (direct), from its registry (an ACR login), or from a rule of the registry at that host.
      const from = into[0].split(" --")[0];
      const rule = rules.find((r) => from === `cache rule ${r.name}`);
      const ruleHost = rule && registries.find(([a]) => rule.container_registry_id === `\${azurerm_container_registry.${a}.id}`)?.[1].name + ".azurecr.io";
      const ok = from === `${host} (public)` || from.endsWith(`(${host})`) || ruleHost === host;
      expect([f, g.name, from, ok]).toEqual([f, g.name, from, true]);
    }
  }
});
