/**
 * Gated images from every public registry the walkthrough names, mixed in one config (issue 29,
 * help/artifact-cache.md): each gate's `upstream` (a registry host or `simulated`) and `via` (the
 * artifact cache or the gate's own pull), the logins per upstream, names that cannot collide.
 * Hostile hosts are in the attack corpus (__tests__/fixtures/attacks.yaml).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { cachedRepository } from "../lib/artifact-cache";
import { upstreamHost } from "../lib/upstream-hosts";
import { previewReplacements } from "../app/diff-rules";
import { decodeTask, problemsOf, resources, synthStacks } from "./helpers";

const EXAMPLES = path.join(__dirname, "..", "examples");
const MIXED_YAML = fs.readFileSync(path.join(EXAMPLES, "upstreams.yaml"), "utf8");
const TEST_CONTEXT = "https://github.com/importing-public-content/import-baseimage-node.git#main";

/** A Docker Hub config (gate node:15-alpine, one app on it) with more gates and upstream keys. */
function configWith(gates: Record<string, unknown>[], upstream: Record<string, unknown> = {}): string {
  return YAML.stringify({
    upstream: { source: "dockerhub", ...upstream },
    baseArtifactsRegistry: { name: "mixbase" },
    teamRegistries: [{ name: "mixteam" }],
    keyVault: { name: "mix-kv" },
    gatedImages: [{ source: "node:15-alpine", test: { context: TEST_CONTEXT }, scan: { mode: "report" } }, ...gates],
    apps: [{ name: "hello-world", registry: "mixteam", repository: "https://github.com/importing-public-content/hello-world.git#main", baseImage: "node:15-alpine" }],
  });
}
/** A gate without a test (the scan enforces), with a weekly timer unless `more` says otherwise. */
const scanOnly = (source: string, more: Record<string, unknown> = {}) => ({ source, test: { enabled: false }, timer: "0 3 * * 1", ...more });

function stackOf(yaml: string) {
  return synthStacks(parseConfig(yaml))[0].tf;
}
const tasks = (tf: any) => Object.values(resources(tf, "azurerm_container_registry_task")) as any[];
const task = (tf: any, name: string) => tasks(tf).find((t) => t.name === name)!;
const pullCommand = (t: any): string => (decodeTask(t).steps.find((s) => s.id === "pull-source") as { cmd: string }).cmd;
const credentialServers = (t: any) => (t.registry_credential?.custom ?? []).map((c: any) => c.login_server);

describe("1. Per gated image, its upstream", () => {
  test.each([
    ["the default (simulated)", DEFAULT_CONFIG_YAML, { host: "simulated", via: "direct", login: false }],
    ["dockerhub.yaml", fs.readFileSync(path.join(EXAMPLES, "dockerhub.yaml"), "utf8"), { host: "docker.io", via: "direct", login: true }],
    ["artifact-cache.yaml", fs.readFileSync(path.join(EXAMPLES, "artifact-cache.yaml"), "utf8"), { host: "docker.io", via: "cache", login: true }],
  ])("an image that names no upstream takes upstream.source's: %s", (_n, yaml, expected) => {
    for (const g of parseConfig(yaml).gatedImages) expect(g.upstream).toEqual(expected);
  });

  // The issue's promise: every existing config synthesizes byte-identical JSON. Writing each gate's
  // upstream and via out as the defaults resolve them must change nothing in any stack.
  const files = ["(default)", ...fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"))];
  test.each(files)("%s: each gate's upstream and via written out give byte-identical JSON", (file) => {
    const text = file === "(default)" ? DEFAULT_CONFIG_YAML : fs.readFileSync(path.join(EXAMPLES, file), "utf8");
    const config = parseConfig(text);
    const doc = YAML.parse(text);
    doc.gatedImages.forEach((g: any, i: number) => Object.assign(g, { upstream: config.gatedImages[i].upstream.host, via: config.gatedImages[i].upstream.via }));
    const explicit = synthStacks(parseConfig(YAML.stringify(doc)));
    const implicit = synthStacks(config);
    expect(explicit.map((s) => s.name)).toEqual(implicit.map((s) => s.name));
    explicit.forEach((s, i) => expect(JSON.stringify(s.tf)).toBe(JSON.stringify(implicit[i].tf)));
  });

  test("examples/upstreams.yaml mixes four upstreams in one config, each gate pulling from its own", () => {
    const tf = stackOf(MIXED_YAML);
    const base = "mixedbaseartifacts.azurecr.io";
    const expected: [string, string, string[]][] = [
      ["base-import-node", "docker.io/node:15-alpine", ["docker.io"]],
      ["base-import-dotnet-runtime", `${base}/mcr/dotnet/runtime:8.0`, []],
      ["base-import-alpine", `${base}/ghcr/linuxserver/baseimage-alpine:3.20`, []],
      ["base-import-distroless-static-debian12", "gcr.io/distroless/static-debian12:nonroot", []],
    ];
    for (const [name, from, servers] of expected) {
      const t = task(tf, name);
      const source = pullCommand(t).replace("docker pull {{.Values.REGISTRY_FROM_URL}}", "");
      expect(`${t.encoded_step.values.REGISTRY_FROM_URL}${source}`).toBe(from);
      expect(credentialServers(t)).toEqual(servers);
    }
  });
});

describe("2. How each upstream is reached", () => {
  // host, via without a login, via with one (undefined: no login can be given), tracked by ACR
  test.each([
    ["docker.io", "direct", "direct", true],
    ["mcr.microsoft.com", "cache", undefined, true],
    ["public.ecr.aws", "cache", undefined, false],
    ["ghcr.io", "cache", "cache", false],
    ["quay.io", "cache", "cache", false],
    ["registry.k8s.io", "cache", "cache", false],
    ["gcr.io", "cache", "cache", false],
    ["eu.gcr.io", "cache", "cache", false],
    ["europe-west1-docker.pkg.dev", "direct", "cache", false],
    ["contosoupstream.azurecr.io", "direct", "direct", true],
  ] as const)("%s: by default %s, with a login %s", (host, anonymous, withLogin, tracked) => {
    // No timer of its own where ACR cannot see a change: the default applies; elsewhere the rule wants one.
    const gate = scanOnly("team/image:1.0", { upstream: host, timer: tracked && anonymous === "direct" ? "0 3 * * 1" : undefined });
    const plain = parseConfig(configWith([gate], host === "docker.io" ? { dockerHubCredentials: false } : {})).gatedImages[1];
    expect(plain.upstream).toEqual({ host, via: anonymous, login: false });
    // A gate ACR cannot see a change of (not polled, or behind a cache) runs daily unless it says otherwise.
    expect(plain.timer).toBe(tracked && anonymous === "direct" ? "0 3 * * 1" : "0 4 * * *");
    if (withLogin === undefined) {
      expect(problemsOf(configWith([gate], { credentials: [host] }))).toMatch(new RegExp(`^upstream.credentials\\[0\\]: "${host.replace(/\./g, "\\.")}" takes anonymous pulls only`));
      return;
    }
    const login = host === "docker.io" ? {} : { credentials: [host] };
    expect(parseConfig(configWith([gate], login)).gatedImages[1].upstream).toEqual({ host, via: withLogin, login: true });
  });

  test("through the cache: a rule per repository under the upstream's namespace, a credential set only with a login", () => {
    const tf = stackOf(
      configWith(
        [scanOnly("dotnet/runtime:8.0", { upstream: "mcr.microsoft.com" }), scanOnly("org/tool:2", { upstream: "ghcr.io" }), scanOnly("org/tool:3", { upstream: "ghcr.io", taskName: "base-import-org-tool-3" })],
        { credentials: ["ghcr.io"] },
      ),
    );
    const rules = Object.values(resources(tf, "azurerm_container_registry_cache_rule")) as any[];
    expect(rules.map((r) => [r.name, r.source_repo, r.target_repo, r.credential_set_id !== undefined])).toEqual([
      ["mcr-dotnet-runtime", "mcr.microsoft.com/dotnet/runtime", "mcr/dotnet/runtime", false],
      ["ghcr-org-tool", "ghcr.io/org/tool", "ghcr/org/tool", true],
    ]);
    const sets = Object.values(resources(tf, "azurerm_container_registry_credential_set")) as any[];
    expect(sets.map((s) => [s.name, s.login_server])).toEqual([["ghcr-io", "ghcr.io"]]);
    expect(sets[0].authentication_credentials.username_secret_id).toMatch(/azurerm_key_vault_secret\.secret_registry_ghcr_io_user\.versionless_id/);
    // The gates pulling through the cache hold no credential and read no secret.
    for (const name of ["base-import-dotnet-runtime", "base-import-org-tool"]) expect(task(tf, name).registry_credential).toBeUndefined();
  });

  test("pulled by the gate: the upstream's login as the task's credential, from Key Vault; anonymous without one", () => {
    const tf = stackOf(configWith([scanOnly("org/tool:2", { upstream: "quay.io", via: "direct" }), scanOnly("distroless/static:nonroot", { upstream: "gcr.io", via: "direct" })], { credentials: ["quay.io"] }));
    const quay = task(tf, "base-import-org-tool");
    expect(quay.registry_credential.custom).toHaveLength(1);
    expect(quay.registry_credential.custom[0]).toMatchObject({ login_server: "quay.io", identity: "[system]" });
    expect(quay.registry_credential.custom[0].password).toMatch(/azurerm_key_vault_secret\.secret_registry_quay_io_password\.id/);
    expect(task(tf, "base-import-distroless-static").registry_credential).toBeUndefined();
    // The login comes in as sensitive variables, lands only in the vault, never in a task value.
    expect(tf.variable.upstream_quay_io_username).toMatchObject({ sensitive: true, nullable: false });
    for (const t of tasks(tf)) expect(JSON.stringify(t)).not.toMatch(/var\.upstream_/);
  });

  test.each([
    ["an Azure registry through the cache", [scanOnly("a/b:1", { upstream: "contosoupstream.azurecr.io", via: "cache" })], {}, /^gatedImages\[1\]\.via: "cache" cannot be 'cache' for contosoupstream\.azurecr\.io: azurerm 4\.81\.0's cache rule takes no managed identity/],
    ["Docker Hub through the cache without a login", [scanOnly("redis:7", { upstream: "docker.io", via: "cache" })], { dockerHubCredentials: false }, /^gatedImages\[1\]\.via: "cache" cannot go through the artifact cache without a login for docker\.io: .*set upstream\.dockerHubCredentials: true/],
    ["Google Artifact Registry through the cache without a login", [scanOnly("p/r/i:1", { upstream: "us-docker.pkg.dev", via: "cache" })], {}, /^gatedImages\[1\]\.via: "cache" cannot go through the artifact cache without a login for us-docker\.pkg\.dev: .*add us-docker\.pkg\.dev to upstream\.credentials/],
    ["the simulated registry through the cache", [scanOnly("node:15-alpine", { upstream: "simulated", via: "cache", target: "n:1" })], {}, /^gatedImages\[1\]\.via: "cache" cannot be 'cache' with upstream 'simulated'/m],
    ["a login for MCR", [scanOnly("a/b:1", { upstream: "mcr.microsoft.com" })], { credentials: ["mcr.microsoft.com"] }, /^upstream\.credentials\[0\]: "mcr\.microsoft\.com" takes anonymous pulls only/],
    ["Docker Hub's login in credentials", [], { credentials: ["docker.io"] }, /^upstream\.credentials\[0\]: "docker\.io" is Docker Hub, whose login is upstream\.dockerHubCredentials/],
    ["a login no gate uses", [], { credentials: ["quay.io"] }, /^upstream\.credentials\[0\]: "quay\.io" has no effect: no gated image comes from it/],
    ["a login listed twice", [scanOnly("a/b:1", { upstream: "quay.io" })], { credentials: ["quay.io", "quay.io"] }, /^upstream\.credentials\[1\]: "quay\.io" is also at upstream\.credentials\[0\]/],
    ["a simulated gate without a public registry", [scanOnly("a/b:1", { upstream: "simulated" })], {}, /^publicRegistry: is required: gatedImages\[1\]\.upstream is 'simulated'/],
  ])("refused: %s", (_n, gates, upstream, message) => {
    expect(problemsOf(configWith(gates as Record<string, unknown>[], upstream))).toMatch(message);
  });

  test.each([
    ["mixbase", "baseArtifactsRegistry.name"],
    ["mixteam", "teamRegistries[0].name"],
  ])("an Azure registry of the config itself is no upstream: %s", (name, field) => {
    expect(problemsOf(configWith([scanOnly("a/b:1", { upstream: `${name}.azurecr.io` })]))).toMatch(
      new RegExp(`^gatedImages\\[1\\]\\.upstream: "${name}\\.azurecr\\.io" is ${field.replace(/[[\].]/g, "\\$&")}, a registry of this config`, "m"),
    );
  });

  test("identity pulls of base artifacts are refused as soon as one gate goes through a cache, naming it", () => {
    const yaml = configWith([scanOnly("dotnet/runtime:8.0", { upstream: "mcr.microsoft.com" })]).replace("name: mixbase", "name: mixbase\n  taskCredential: identity");
    expect(problemsOf(yaml)).toMatch(/^baseArtifactsRegistry\.taskCredential: "identity" cannot be 'identity' with images through the artifact cache \(gatedImages\[1\]\)/);
    expect(problemsOf(yaml.replace("upstream: mcr.microsoft.com", "upstream: mcr.microsoft.com\n    via: direct"))).toBe("");
  });

  test("a Docker Hub login is kept by default only where a gate comes from docker.io, and refused as false only where one is cached", () => {
    const mcrOnly = (source: string) => YAML.stringify({ ...YAML.parse(configWith([])), upstream: { source }, gatedImages: [scanOnly("dotnet/runtime:8.0", { upstream: "mcr.microsoft.com" })], apps: [] });
    for (const source of ["dockerhub", "cache"]) expect(parseConfig(mcrOnly(source)).upstream.dockerHubCredentials).toBe(false);
    expect(problemsOf(mcrOnly("cache").replace("source: cache", "source: cache\n  dockerHubCredentials: false"))).toBe("");
    expect(parseConfig(configWith([])).upstream.dockerHubCredentials).toBe(true);
  });

  test("a public registry no gate uses is refused; one a gate names explicitly is kept", () => {
    const doc = YAML.parse(DEFAULT_CONFIG_YAML);
    doc.gatedImages[0].upstream = "docker.io";
    expect(problemsOf(YAML.stringify(doc))).toMatch(/^publicRegistry: .* has no effect: no gated image comes from it/);
    doc.gatedImages.push({ source: "node:15-alpine", target: "node-sim:15", upstream: "simulated", test: { context: TEST_CONTEXT }, scan: { mode: "report" } });
    doc.gatedImages[0].target = "node:15-alpine";
    expect(problemsOf(YAML.stringify(doc))).toBe("");
  });

  test("help/artifact-cache.md's table of upstreams states lib/upstream-hosts.ts", () => {
    const page = fs.readFileSync(path.join(__dirname, "..", "help", "artifact-cache.md"), "utf8");
    const rows = [...page.matchAll(/^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| `([^`]+)\/` \|/gm)];
    expect(rows.length).toBe(10);
    for (const [, host, cache, direct, tracked, namespace] of rows) {
      const facts = upstreamHost(host.replace("<location>", "europe-west1").replace("<registry>", "contosoupstream"))!;
      expect(facts).toBeDefined();
      const cacheText = "refused" in facts.cache ? "no" : { required: "with a login only", anonymous: "anonymous only", optional: "with or without a login" }[facts.cache.login];
      expect([host, cache.trim()]).toEqual([host, cacheText]);
      expect([host, direct.trim()]).toEqual([host, facts.direct.login === "anonymous" ? "anonymous only" : "with or without a login"]);
      expect([host, tracked.trim()]).toEqual([host, facts.tracked ? "yes" : "no: daily timer"]);
      expect([host, namespace]).toEqual([host, facts.namespace.replace("europe-west1", "<location>").replace("contosoupstream", "<registry>")]);
    }
  });
});

describe("4. Everywhere the config reaches", () => {
  test("split layout: the caches, credential sets and logins are the platform's; no team stack holds an upstream's login", () => {
    const stacks = synthStacks(parseConfig(`layout: split\n${MIXED_YAML}`));
    expect(Object.keys(resources(stacks[0].tf, "azurerm_container_registry_cache_rule"))).toHaveLength(2);
    expect(Object.keys(stacks[0].tf.variable)).toEqual(expect.arrayContaining(["upstream_ghcr_io_username", "upstream_ghcr_io_password", "dockerhub_username"]));
    for (const s of stacks.slice(1)) {
      expect(resources(s.tf, "azurerm_container_registry_cache_rule")).toEqual({});
      expect(resources(s.tf, "azurerm_container_registry_credential_set")).toEqual({});
      expect(Object.keys(s.tf.variable ?? {}).filter((v) => /^(upstream_|dockerhub_)/.test(v))).toEqual([]);
    }
  });

  test("signing: every gate, whatever its upstream, signs and attaches its evidence of the image it pulled", () => {
    const doc = YAML.parse(MIXED_YAML);
    doc.signing = { enabled: true, signerContext: "https://github.com/importing-public-content/acr-gate-signer.git#main" };
    const tf = stackOf(YAML.stringify(doc));
    for (const g of parseConfig(YAML.stringify(doc)).gatedImages) {
      const steps = decodeTask(task(tf, g.taskName)).steps as readonly { id: string; env?: readonly string[] }[];
      for (const id of ["sign", "attach-evidence", "promote-unique", "evidence-sbom"]) expect([g.taskName, steps.some((s) => s.id === id)]).toEqual([g.taskName, true]);
      // What is signed is what was pulled and scanned: the same reference, from the upstream or its cache.
      const src = steps.find((s) => s.id === "promote-unique")!.env!.find((e) => e.startsWith("SRC="))!;
      expect(src).toBe(`SRC=${pullCommand(task(tf, g.taskName)).replace("docker pull ", "")}`);
    }
  });
});

describe("3. Names that can't collide", () => {
  test("nginx from Docker Hub and from MCR can't land in one repository unnoticed: refused, naming both", () => {
    const yaml = configWith([scanOnly("nginx:1.27"), scanOnly("nginx:1.25", { upstream: "mcr.microsoft.com" })]);
    expect(problemsOf(yaml)).toMatch(
      /^gatedImages\[2\]\.source: "nginx:1\.25" would put mcr\.microsoft\.com\/nginx into the repository 'nginx', which gatedImages\[1\]\.source fills from docker\.io\/nginx; .*e\.g\. 'mcr-nginx:1\.25'/m,
    );
    // The suggested target is accepted.
    expect(problemsOf(yaml.replace("upstream: mcr.microsoft.com", "upstream: mcr.microsoft.com\n    target: mcr-nginx:1.25"))).toBe("");
    // Two tags of one upstream repository share its target repository, as before.
    expect(problemsOf(configWith([scanOnly("nginx:1.27"), scanOnly("library/nginx:1.25", { taskName: "base-import-nginx-125" })]))).toBe("");
  });

  test("a gate can't promote into a namespace a cache uses", () => {
    const yaml = configWith([scanOnly("dotnet/runtime:8.0", { upstream: "mcr.microsoft.com" }), scanOnly("redis:7", { target: "mcr/redis:7" })]);
    expect(problemsOf(yaml)).toMatch(/^gatedImages\[2\]\.target: "mcr\/redis:7" is in 'mcr\/', where the artifact cache keeps an upstream's repositories/);
    // Without a gate through MCR's cache, mcr/ is an ordinary repository path.
    expect(problemsOf(configWith([scanOnly("redis:7", { target: "mcr/redis:7" })]))).toBe("");
  });

  test("one repository name at every upstream gives distinct cache rules and targets", () => {
    const hosts = ["docker.io", "mcr.microsoft.com", "public.ecr.aws", "ghcr.io", "quay.io", "registry.k8s.io", "gcr.io", "us.gcr.io", "europe-west1-docker.pkg.dev"];
    const cached = hosts.map((h) => cachedRepository("team/nginx", h));
    expect(new Set(cached.map((c) => c.ruleName)).size).toBe(hosts.length);
    expect(new Set(cached.map((c) => c.targetRepo)).size).toBe(hosts.length);
    expect(cached.map((c) => c.sourceRepo)).toEqual(hosts.map((h) => `${h}/team/nginx`));
  });

  test("cache rules stay one per upstream repository where flattening to '-' would merge two (outside Docker Hub: a hash)", () => {
    // bar_baz and bar-baz: two repositories, two rules, whatever the targets.
    const yaml = configWith([scanOnly("acme/bar_baz:1", { upstream: "ghcr.io", target: "one:1" }), scanOnly("acme/bar-baz:1", { upstream: "ghcr.io", target: "two:1" })]);
    expect(problemsOf(yaml)).toBe("");
    expect(cachedRepository("acme/bar_baz", "ghcr.io").ruleName).toMatch(/^ghcr-acme-bar-baz-[0-9a-f]{8}$/);
    expect(cachedRepository("acme/bar_baz", "ghcr.io").ruleName).not.toBe(cachedRepository("acme/bar-baz", "ghcr.io").ruleName);
    // Across hosts: gcr.io's `us/tools` and us.gcr.io's `tools` would both flatten to gcr-us-tools.
    expect(cachedRepository("us/tools", "gcr.io").ruleName).toBe("gcr-us-tools");
    expect(cachedRepository("tools", "us.gcr.io").ruleName).toMatch(/^gcr-us-tools-[0-9a-f]{8}$/);
    // Docker Hub's names stay what they were (deployed rules keep their addresses): a clash there is refused, with the way out.
    expect(cachedRepository("my_org/the.app").ruleName).toBe("dockerhub-my-org-the-app");
    expect(problemsOf(configWith([scanOnly("my_org/app:1", { via: "cache" }), scanOnly("my-org/app:1", { via: "cache", target: "other:1" })]))).toMatch(
      /^gatedImages\[2\]\.source: "my-org\/app:1" gives the cache rule name "dockerhub-my-org-app", as gatedImages\[1\]\.source does for another repository .*give one of them via: direct/m,
    );
  });

  test("what a gate's task records of its pull and push fits Azure's 256-character tag values, or the config is refused", () => {
    const repo = `proj-${"a".repeat(40)}/repo-${"b".repeat(60)}/img-${"c".repeat(60)}`;
    const yaml = configWith([scanOnly(`${repo}:${"t".repeat(100)}`, { upstream: "northamerica-northeast1-docker.pkg.dev", target: "short:1" })], { credentials: ["northamerica-northeast1-docker.pkg.dev"] });
    expect(problemsOf(yaml)).toMatch(/^gatedImages\[1\]\.source: ".*" is pulled as 3\d\d characters \('mixbase\.azurecr\.io\/gar-northamerica-northeast1\/proj-.*which the gate's task tag acr-gate-from records: past Azure's 256/m);
    // Pulled directly it is shorter (no base login server, no namespace), still too long for the tag here.
    expect(problemsOf(yaml.replace("target: short:1", "target: short:1\n    via: direct"))).toMatch(/is pulled as 3\d\d characters \('northamerica-northeast1-docker\.pkg\.dev\/proj-/m);
    // Every accepted example stays within it.
    for (const f of fs.readdirSync(EXAMPLES).filter((x) => x.endsWith(".yaml"))) {
      for (const st of synthStacks(parseConfig(fs.readFileSync(path.join(EXAMPLES, f), "utf8")))) {
        for (const t of tasks(st.tf)) for (const v of Object.values(t.tags ?? {})) expect(String(v).length).toBeLessThanOrEqual(256);
      }
    }
  });

  test("help/configuration.md's suggested target for the MCR twin is one the config accepts", () => {
    const doc = fs.readFileSync(path.join(__dirname, "..", "help", "configuration.md"), "utf8");
    const suggested = /give one a `target` such as `([^`]+)`/.exec(doc)![1];
    expect(problemsOf(configWith([scanOnly("nginx:1.27"), scanOnly("nginx:1.25", { upstream: "mcr.microsoft.com", target: suggested })]))).toBe("");
  });

  test("an image's upstream changes: its task keeps name and address, npm run diff shows the cache rule replaced and nothing durable", () => {
    const before = stackOf(configWith([scanOnly("nginx:1.27", { via: "cache" })]));
    const after = stackOf(configWith([scanOnly("nginx:1.27", { upstream: "mcr.microsoft.com" })]));
    const p = previewReplacements(before, after);
    expect(p.unknownTypes).toEqual([]);
    expect(p.changes.filter((c) => c.durable && c.action !== "create")).toEqual([]);
    const byAction = (a: string) => p.changes.filter((c) => c.action === a).map((c) => c.address).sort();
    expect(byAction("update")).toContain("azurerm_container_registry_task.task_mixbase_base_import_nginx");
    expect(byAction("create")).toEqual(["azurerm_container_registry_cache_rule.cache_rule_mixbase_mcr_nginx"]);
    expect(byAction("delete")).toEqual([
      "azurerm_container_registry_cache_rule.cache_rule_mixbase_dockerhub_nginx",
      "azurerm_container_registry_credential_set.credential_set_mixbase_dockerhub",
      "azurerm_key_vault_access_policy.kv_policy_mix_kv_mixbase_credential_set_dockerhub",
    ]);
    // The repository keeps Docker Hub's tags beside MCR's: said, since no config rule can see it.
    expect(p.notes).toContainEqual(expect.stringMatching(/^azurerm_container_registry_task\.task_mixbase_base_import_nginx: now fills mixbase\.azurecr\.io\/nginx from mcr\.microsoft\.com\/nginx \(was docker\.io\/nginx\); the repository keeps docker\.io\/nginx's earlier tags/));
    // Another way to the same upstream repository is no move: Docker Hub pulled directly, then through its cache.
    const direct = stackOf(configWith([scanOnly("nginx:1.27")]));
    expect(previewReplacements(direct, before).notes.filter((n) => n.includes("now fills"))).toEqual([]);
    // Not durable: the gate's first run runs again (its task changed), after the grants settle again.
    expect(byAction("replace")).toEqual(["azurerm_container_registry_task_schedule_run_now.first_run_mixbase_base_import_nginx", "time_sleep.grants_propagation"]);
  });
});
