/**
 * The workflow as a Mermaid flowchart, drawn from the synthesized Terraform JSON alone: what is
 * drawn is what Terraform will create, so the picture and the JSON cannot disagree.
 *
 * Read from the JSON: registries; tasks with their registry, triggers (source, base image, timer)
 * and registry credentials; the generated task files (which steps a gate runs); the images each
 * task builds from and pushes (the task tags `acr-gate-from` and `acr-gate-builds`, written by
 * RegistryTask, because a file step's task file lives in Git); container groups and the task that
 * deploys each (its `ACI` value); the base-artifacts registry's artifact cache rules and credential
 * sets.
 *
 * Where each task pulls from is its `REGISTRY_FROM_URL` value's host (else its `acr-gate-from`
 * tag's): a registry of the JSON, or an external host (docker.io, mcr.microsoft.com, gcr.io, ...)
 * drawn as a node of its own, pulled with a task credential (the login in Key Vault) or
 * anonymously. A task whose image is the target of a cache rule of that registry pulls through the
 * cache: the rule is drawn in its registry, pulling from its source's host anonymously or with its
 * credential set, and the task pulls from the rule.
 */
import { gateStep, validatingSteps } from "../lib/gate-steps";
import { byText } from "../lib/order";
import { acrLoginServer } from "../lib/upstream-hosts";

type Obj = Record<string, any>;

interface TaskNode {
  address: string;
  name: string;
  registry: string;
  kind: "gate" | "app" | "build";
  detail: string;
  triggers: { commit: boolean; baseImage: boolean; timer?: string };
  credentials: { server: string; how: string }[];
  from?: string;
  builds?: string;
  values: Record<string, string>;
}

/** `${azurerm_x.name.id}` -> `name`. */
const referenced = (expr: unknown): string | undefined => (typeof expr === "string" ? /^\$\{[\w]+\.([\w-]+)\.\w+\}$/.exec(expr)?.[1] : undefined);

/** The stack prefix of a merged address (`<stack>:` in the split layout, empty with one stack). */
const prefixOf = (key: string) => (key.includes(":") ? key.slice(0, key.indexOf(":") + 1) : "");

/**
 * The registry host of an image reference or a `REGISTRY_FROM_URL` prefix, by Docker's rule: the
 * first component when it has a dot or a port or is `localhost`, else Docker Hub (`node:15-alpine`).
 */
function hostOf(ref: string): string {
  const first = ref.split("/")[0];
  return ref.includes("/") && (/[.:]/.test(first) || first === "localhost") ? first : "docker.io";
}

/** An image reference's repository without its host, tag or digest: `h/mcr/dotnet/runtime:8.0` -> `mcr/dotnet/runtime`. */
function repositoryOf(ref: string): string {
  const path = hostOf(ref) === ref.split("/")[0] ? ref.slice(ref.indexOf("/") + 1) : ref;
  return path.replace(/@.*$/, "").replace(/:[^/]*$/, "");
}

/** Whether a cache rule's target repository (exact, or a `prefix/*` wildcard) holds a repository. */
const targets = (targetRepo: string, repository: string) =>
  targetRepo.endsWith("/*") ? repository.startsWith(targetRepo.slice(0, -1)) : targetRepo === repository;

function taskNode(address: string, t: Obj): TaskNode {
  const triggers = {
    commit: (t.source_trigger ?? []).some((s: Obj) => s.enabled !== false && (s.events ?? []).includes("commit")),
    baseImage: t.base_image_trigger !== undefined && t.base_image_trigger.enabled !== false,
    timer: (t.timer_trigger ?? []).find((x: Obj) => x.enabled !== false)?.schedule as string | undefined,
  };
  const credentials = (t.registry_credential?.custom ?? []).map((c: Obj) => ({
    server: c.login_server as string,
    how: c.username !== undefined ? "pull: token in Key Vault" : "pull: identity + AcrPull",
  }));
  const values = (t.encoded_step ?? t.file_step)?.values ?? {};
  const tags = t.tags ?? {};
  let kind: TaskNode["kind"] = "build";
  let detail = "build";
  if (t.encoded_step) {
    // The step ids only: a line scan, not a YAML parse (1,000 task files at scale). renderTask
    // writes every step as "  - id: <id>", ids match [a-zA-Z0-9][a-zA-Z0-9_.-]* (validateTask).
    const text = Buffer.from(t.encoded_step.task_content, "base64").toString("utf8");
    const steps = [...text.matchAll(/^ {2}- id: ([A-Za-z0-9][\w.-]*)$/gm)].map((m) => m[1]);
    // A gate promotes; its validations are the steps lib/gate-steps.ts declares validating.
    if (steps.some((s) => gateStep(s)?.role === "promote")) {
      kind = "gate";
      const validations = validatingSteps(steps);
      const source = String(tags["acr-gate-from"] ?? "").replace(/^[^/]+\//, "");
      const target = String(tags["acr-gate-builds"] ?? "").replace(/^[^/]+\//, "");
      detail = `gate ${source}: ${validations.join(" + ") || "no validation"} then promote ${target}`;
    } else if (steps.includes("deploy-aci")) {
      kind = "app";
      detail = "build and deploy";
    }
  }
  return {
    address,
    name: t.name,
    registry: `${prefixOf(address)}${referenced(t.container_registry_id) ?? ""}`,
    kind,
    detail,
    triggers,
    credentials,
    from: tags["acr-gate-from"],
    builds: tags["acr-gate-builds"],
    values,
  };
}

/** The diagram of one or more stacks (the split layout draws all of them in one picture). */
export function renderWorkflow(stacks: readonly { name: string; tf: Obj }[]): string {
  // Resources of all stacks by type; a stack's addresses are its own, so they are prefixed by stack.
  const resources: Record<string, Record<string, Obj>> = {};
  for (const { name, tf } of stacks) {
    for (const [type, rs] of Object.entries<Record<string, Obj>>(tf.resource ?? {})) {
      for (const [address, r] of Object.entries(rs)) (resources[type] ??= {})[stacks.length > 1 ? `${name}:${address}` : address] = r;
    }
  }
  const stackName = stacks.map((s) => s.name).join("`, `");
  const registries = new Map<string, { name: string; login: string }>(
    Object.entries<Obj>(resources.azurerm_container_registry ?? {}).map(([a, r]) => [a, { name: r.name, login: acrLoginServer(String(r.name)) }]),
  );
  const groups = new Map<string, string>(Object.entries<Obj>(resources.azurerm_resource_group ?? {}).map(([a, g]) => [a, g.name]));
  const tasks = Object.entries<Obj>(resources.azurerm_container_registry_task ?? {}).map(([a, t]) => taskNode(a, t));

  // Upstream first: a task's depth is the length of the longest base image trigger chain into it.
  const byBuild = new Map<string, TaskNode[]>();
  for (const t of tasks) if (t.builds) byBuild.set(t.builds, [...(byBuild.get(t.builds) ?? []), t]);
  const upstreamOf = (t: TaskNode) => (t.triggers.baseImage && t.from ? (byBuild.get(t.from) ?? []) : []);
  const depth = new Map<TaskNode, number>();
  const depthOf = (t: TaskNode, seen = new Set<TaskNode>()): number => {
    if (depth.has(t)) return depth.get(t)!;
    if (seen.has(t)) return 0;
    seen.add(t);
    const d = Math.max(-1, ...upstreamOf(t).map((u) => depthOf(u, seen))) + 1;
    depth.set(t, d);
    return d;
  };
  tasks.sort((a, b) => depthOf(a) - depthOf(b) || byText(a.name, b.name));
  const registryOrder = [...registries.keys()].sort((a, b) => {
    const first = (r: string) => Math.min(Infinity, ...tasks.filter((t) => t.registry === r).map((t) => depthOf(t)));
    return first(a) - first(b) || byText(registries.get(a)!.name, registries.get(b)!.name);
  });

  const lines = ["flowchart LR"];
  const ids = new Map<string, string>();
  const id = (key: string, prefix: string) => {
    if (!ids.has(key)) ids.set(key, `${prefix}${ids.size + 1}`);
    return ids.get(key)!;
  };
  const q = (s: string) => `"${s.replace(/"/g, "'")}"`;
  const loginToRegistry = new Map([...registries].map(([a, r]) => [r.login, a]));
  const cacheNode = (c: { address: string; name: string; sourceRepo: string; targetRepo: string }) =>
    `${id(`cache:${c.address}`, "cache")}{{${q(`cache rule ${c.name}<br/>${c.sourceRepo} into ${c.targetRepo}`)}}}`;

  // The artifact cache: each rule with its registry, its upstream host, and how that host is pulled.
  const credentialSets = resources.azurerm_container_registry_credential_set ?? {};
  const cacheRules = Object.entries<Obj>(resources.azurerm_container_registry_cache_rule ?? {})
    .map(([a, r]) => {
      const set = credentialSets[`${prefixOf(a)}${referenced(r.credential_set_id) ?? ""}`];
      return {
        address: a,
        name: String(r.name),
        registry: `${prefixOf(a)}${referenced(r.container_registry_id) ?? ""}`,
        sourceRepo: String(r.source_repo),
        targetRepo: String(r.target_repo),
        upstream: hostOf(String(r.source_repo)),
        // A credential set holds Key Vault secret ids only (azurerm's authentication_credentials).
        how: r.credential_set_id !== undefined ? `cache: login from Key Vault (credential set ${set?.name ?? "?"})` : "cache: anonymous",
      };
    })
    .sort((a, b) => byText(a.name, b.name));
  // Where a task pulls from: the host, and the cache rule it pulls through when the host is a
  // registry of the JSON whose rule targets the task's image.
  const pulls = new Map<TaskNode, { host: string; rule?: (typeof cacheRules)[number] }>();
  for (const t of tasks) {
    const from = t.values.REGISTRY_FROM_URL || t.from;
    if (!from) continue;
    const host = hostOf(from);
    const reg = loginToRegistry.get(host);
    const repository = t.from && hostOf(t.from) === host ? repositoryOf(t.from) : undefined;
    const rule = reg !== undefined && repository !== undefined ? cacheRules.find((r) => r.registry === reg && targets(r.targetRepo, repository)) : undefined;
    pulls.set(t, { host, rule });
  }
  /** A task's pull from a host outside the JSON with no credential for it: anonymous. */
  const anonymous = (t: TaskNode) => {
    const p = pulls.get(t);
    return p !== undefined && !loginToRegistry.has(p.host) && !t.credentials.some((c) => c.server === p.host) ? p.host : undefined;
  };

  const external = new Set<string>();
  for (const t of tasks) {
    for (const c of t.credentials) if (!loginToRegistry.has(c.server)) external.add(c.server);
    const host = anonymous(t);
    if (host !== undefined) external.add(host);
  }
  for (const r of cacheRules) if (!loginToRegistry.has(r.upstream)) external.add(r.upstream);
  for (const server of [...external].sort()) lines.push(`  ${id(`ext:${server}`, "ext")}[(${q(`${server} (public)`)})]`);

  for (const r of registryOrder) {
    const reg = registries.get(r)!;
    lines.push(`  subgraph ${id(`reg:${r}`, "reg")}[${q(`${reg.name} (${reg.login})`)}]`);
    for (const c of cacheRules.filter((x) => x.registry === r)) lines.push(`    ${cacheNode(c)}`);
    for (const t of tasks.filter((x) => x.registry === r)) {
      const on = [t.triggers.commit ? "commit" : "", t.triggers.baseImage ? "base image update" : "", t.triggers.timer ? `timer ${t.triggers.timer}` : ""]
        .filter(Boolean)
        .join(", ");
      lines.push(`    ${id(`task:${t.address}`, "task")}[${q(`task ${t.name}<br/>${t.detail}<br/>on: ${on || "manual"}`)}]`);
    }
    lines.push("  end");
  }
  // A rule of a registry the JSON does not hold (none today) is drawn outside every registry.
  for (const c of cacheRules.filter((x) => !registries.has(x.registry))) lines.push(`  ${cacheNode(c)}`);
  const containerGroups = Object.entries<Obj>(resources.azurerm_container_group ?? {});
  for (const [a, g] of containerGroups) {
    // A split team names its group (the platform makes it): the literal is the name.
    const rg = typeof g.resource_group_name === "string" && !g.resource_group_name.includes("${") ? g.resource_group_name : groups.get(`${prefixOf(a)}${referenced(g.resource_group_name) ?? ""}`);
    lines.push(`  ${id(`aci:${a}`, "app")}([${q(`ACI ${g.name} (${rg ?? "?"})`)}])`);
  }

  const serverNode = (server: string) => (loginToRegistry.has(server) ? id(`reg:${loginToRegistry.get(server)}`, "reg") : id(`ext:${server}`, "ext"));
  for (const c of cacheRules) lines.push(`  ${serverNode(c.upstream)} -->|${q(c.how)}| ${id(`cache:${c.address}`, "cache")}`);
  for (const t of tasks) {
    for (const c of t.credentials) lines.push(`  ${serverNode(c.server)} -->|${q(c.how)}| ${id(`task:${t.address}`, "task")}`);
    const host = anonymous(t);
    if (host !== undefined) lines.push(`  ${serverNode(host)} -->|${q("pull: anonymous")}| ${id(`task:${t.address}`, "task")}`);
    const rule = pulls.get(t)?.rule;
    if (rule) lines.push(`  ${id(`cache:${rule.address}`, "cache")} -->|${q("pull: the cached image")}| ${id(`task:${t.address}`, "task")}`);
    for (const u of upstreamOf(t)) lines.push(`  ${id(`task:${u.address}`, "task")} -.->|${q("push fires base image trigger")}| ${id(`task:${t.address}`, "task")}`);
  }
  for (const [a, g] of containerGroups) {
    for (const t of tasks.filter((x) => x.kind === "app" && x.values.ACI === g.name)) {
      lines.push(`  ${id(`task:${t.address}`, "task")} -->|${q("az container create")}| ${id(`aci:${a}`, "app")}`);
    }
    const cred = (g.image_registry_credential ?? [])[0];
    if (cred) {
      const how = cred.username !== undefined ? "pull: token" : "pull: identity + AcrPull";
      lines.push(`  ${serverNode(cred.server)} -->|${q(how)}| ${id(`aci:${a}`, "app")}`);
    }
  }
  return [
    "# Workflow",
    "",
    `Generated by acr-gate from the synthesized ${stacks.length > 1 ? "stacks" : "stack"} \`${stackName}\` (${stacks.length > 1 ? "their" : "its"} Terraform JSON). Solid arrows are pulls`,
    "and deployments; dotted arrows are base image triggers (a push upstream starts the task downstream).",
    "",
    "```mermaid",
    ...lines,
    "```",
    "",
  ].join("\n");
}
