/**
 * Beyond the walkthrough: Docker Hub through the artifact cache (`upstream.source: cache`,
 * help/artifact-cache.md). The base-artifacts registry caches each imported repository with a
 * credential set whose own identity reads the Docker Hub login; the gates pull the cached
 * repository with their run's own access and still test and scan before promoting.
 */
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { parseConfig } from "../lib/config";
import { cachedRepository } from "../lib/artifact-cache";
import { RULES } from "../lib/rules";
import { previewReplacements } from "../app/diff-rules";
import { DOCKERHUB_CONFIG, decodeTask, problemsOf, resources, synth, synthStacks } from "./helpers";

const CACHE_YAML = fs.readFileSync(path.join(__dirname, "..", "examples", "artifact-cache.yaml"), "utf8");
const problems = problemsOf;
// azurerm 4.55.0's validation of a cache rule name
const RULE_NAME = /^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$/;

describe("names: one rule per Docker Hub repository, under dockerhub/", () => {
  test.each([
    ["node", "docker.io/library/node", "dockerhub/node", "dockerhub-node"],
    ["library/node", "docker.io/library/node", "dockerhub/node", "dockerhub-node"],
    ["bitnami/redis", "docker.io/bitnami/redis", "dockerhub/bitnami/redis", "dockerhub-bitnami-redis"],
    ["my_org/the.app", "docker.io/my_org/the.app", "dockerhub/my_org/the.app", "dockerhub-my-org-the-app"],
  ])("%s", (repo, source, target, name) => {
    expect(cachedRepository(repo)).toEqual({ sourceRepo: source, targetRepo: target, ruleName: name });
  });

  test("any valid repository gives a rule name azurerm accepts, 5-49 characters, long ones with a hash", () => {
    const component = fc.stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/, { maxLength: 60 }).filter((c) => c.length > 0);
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 4 }), (parts) => {
        const repo = parts.join("/");
        fc.pre(RULES.repository.pattern.test(repo) && repo.length <= 255);
        const { ruleName, targetRepo } = cachedRepository(repo);
        expect(ruleName).toMatch(RULE_NAME);
        expect(ruleName.length).toBeGreaterThanOrEqual(5);
        expect(ruleName.length).toBeLessThanOrEqual(49);
        expect(RULES.repository.pattern.test(targetRepo)).toBe(true);
      }),
      { seed: 13, numRuns: 500 },
    );
    expect(cachedRepository(`a/${"b".repeat(80)}`).ruleName).not.toBe(cachedRepository(`a/${"b".repeat(81)}`).ruleName);
  });
});

describe("the registry caches, no task holds Docker Hub secrets", () => {
  const { tf } = synth(parseConfig(CACHE_YAML));
  const sets = resources(tf, "azurerm_container_registry_credential_set");
  const rules = resources(tf, "azurerm_container_registry_cache_rule");

  test("a credential set for docker.io reads the login by versionless secret ids, with its own identity", () => {
    expect(sets).toEqual({
      credential_set_cachebaseartifacts_dockerhub: expect.objectContaining({
        name: "dockerhub",
        login_server: "docker.io",
        container_registry_id: "${azurerm_container_registry.registry_cachebaseartifacts.id}",
        identity: { type: "SystemAssigned" },
        authentication_credentials: {
          username_secret_id: "${azurerm_key_vault_secret.secret_registry_dockerhub_user.versionless_id}",
          password_secret_id: "${azurerm_key_vault_secret.secret_registry_dockerhub_password.versionless_id}",
        },
      }),
    });
    const policy = resources(tf, "azurerm_key_vault_access_policy").kv_policy_cache_task_creds_cachebaseartifacts_credential_set_dockerhub;
    expect(policy).toMatchObject({
      object_id: "${azurerm_container_registry_credential_set.credential_set_cachebaseartifacts_dockerhub.identity[0].principal_id}",
      secret_permissions: ["Get"],
    });
    expect(policy.key_permissions).toBeUndefined();
  });

  test("one rule per gated repository, after the set may read the vault", () => {
    expect(rules).toEqual({
      cache_rule_cachebaseartifacts_dockerhub_node: expect.objectContaining({
        name: "dockerhub-node",
        source_repo: "docker.io/library/node",
        target_repo: "dockerhub/node",
        credential_set_id: "${azurerm_container_registry_credential_set.credential_set_cachebaseartifacts_dockerhub.id}",
        depends_on: ["azurerm_key_vault_access_policy.kv_policy_cache_task_creds_cachebaseartifacts_credential_set_dockerhub"],
      }),
    });
  });

  test("the gate pulls <base>/dockerhub/node with no credential; no task file or credential names a Docker Hub secret", () => {
    const gate = resources(tf, "azurerm_container_registry_task").task_cachebaseartifacts_base_import_node;
    expect(gate.registry_credential).toBeUndefined();
    expect(gate.encoded_step.values).toEqual({ REGISTRY_FROM_URL: "cachebaseartifacts.azurecr.io/dockerhub/" });
    const def = decodeTask(gate);
    expect(def.steps[0]).toMatchObject({ id: "pull-source", cmd: "docker pull {{.Values.REGISTRY_FROM_URL}}node:15-alpine" });
    expect(def.secrets ?? []).toEqual([]);
    for (const t of Object.values(resources(tf, "azurerm_container_registry_task"))) {
      expect(JSON.stringify(t)).not.toMatch(/dockerhub_(user|password)/);
    }
    // Only the credential set reads the Docker Hub secrets.
    const readers = Object.values(resources(tf, "azurerm_key_vault_access_policy")).map((p: any) => p.object_id);
    expect(readers.filter((o: string) => o.includes("base_import"))).toEqual([]);
  });

  test("the gate's daily timer is what pulls, and so refreshes, the cached tag; an explicit timer wins", () => {
    const gate = resources(tf, "azurerm_container_registry_task").task_cachebaseartifacts_base_import_node;
    expect(gate.timer_trigger).toEqual([{ name: "timer", schedule: "0 4 * * *", enabled: true }]);
    expect(gate.base_image_trigger).toBeDefined();
    const own = synth(parseConfig(CACHE_YAML.replace("scan: { mode: report }", 'scan: { mode: report }\n    timer: "30 2 * * 1"'))).tf;
    expect(resources(own, "azurerm_container_registry_task").task_cachebaseartifacts_base_import_node.timer_trigger[0].schedule).toBe("30 2 * * 1");
  });

  test("the first runs wait for the cache rule", () => {
    const sleep = resources(tf, "time_sleep").grants_propagation;
    expect(sleep.depends_on).toContain("azurerm_container_registry_cache_rule.cache_rule_cachebaseartifacts_dockerhub_node");
  });

  test("two tags of one repository share its rule", () => {
    const yaml = CACHE_YAML.replace(
      "gatedImages:\n",
      'gatedImages:\n  - source: node:18-alpine\n    taskName: base-import-node18\n    test: { context: "https://github.com/importing-public-content/import-baseimage-node.git#main" }\n    scan: { mode: report }\n',
    );
    expect(Object.keys(resources(synth(parseConfig(yaml)).tf, "azurerm_container_registry_cache_rule"))).toEqual(["cache_rule_cachebaseartifacts_dockerhub_node"]);
  });
});

describe("what a cache config cannot say", () => {
  test("no Docker Hub credentials: Azure refuses a Docker Hub rule without a credential set", () => {
    expect(problems(CACHE_YAML.replace("upstream: { source: cache }", "upstream: { source: cache, dockerHubCredentials: false }"))).toMatch(
      /upstream\.dockerHubCredentials: false cannot be false with upstream\.source 'cache'/,
    );
  });
  test("a gate promoting into dockerhub/, where the cache's repositories refuse pushes", () => {
    expect(problems(CACHE_YAML.replace("scan: { mode: report }", "scan: { mode: report }\n    target: dockerhub/node:15"))).toMatch(
      /gatedImages\[0\]\.target: "dockerhub\/node:15" is in 'dockerhub\/'/,
    );
  });
  test("two repositories whose rule names would collide", () => {
    const yaml = CACHE_YAML.replace(
      "gatedImages:\n",
      "gatedImages:\n  - { source: \"x/a.b:1\", scan: { mode: enforce }, test: { enabled: false }, timer: \"0 1 * * *\" }\n  - { source: \"x/a-b:1\", target: \"y/c:1\", scan: { mode: enforce }, test: { enabled: false }, timer: \"0 1 * * *\" }\n",
    );
    expect(problems(yaml)).toMatch(/gatedImages\[1\]\.source: "x\/a-b:1" gives the cache rule name "dockerhub-x-a-b", as gatedImages\[0\]\.source does/);
  });
  test("tasks pulling base artifacts by identity: AcrPull would reach the unvalidated cache", () => {
    expect(problems(CACHE_YAML.replace("{ name: cachebaseartifacts }", "{ name: cachebaseartifacts, taskCredential: identity }"))).toMatch(
      /baseArtifactsRegistry\.taskCredential: "identity" cannot be 'identity' with upstream\.source 'cache'/,
    );
  });
  test("a team task named like the credential set's principal does not collide with it", () => {
    const yaml = CACHE_YAML.replace("teamRegistries: [ { name: cacheteam } ]", "teamRegistries: [ { name: cacheteam }, { name: credential } ]").replace(
      "apps:\n",
      'apps:\n  - { name: set-dockerhub, registry: credential, repository: "https://github.com/importing-public-content/hello-world.git#main", baseImage: "node:15-alpine" }\n',
    );
    const { tf } = synth(parseConfig(yaml));
    const objects = Object.values(resources(tf, "azurerm_key_vault_access_policy")).map((p: any) => p.object_id);
    expect(new Set(objects).size).toBe(objects.length);
  });
  test("a simulated public registry has no effect", () => {
    expect(problems(CACHE_YAML + "publicRegistry: { name: publicregistry }\n")).toMatch(/publicRegistry: .* has no effect when upstream\.source is 'cache'/);
  });
});

describe("day 2", () => {
  test("moving a Docker Hub deployment to the cache replaces nothing durable; the gate is updated in place and runs again", () => {
    const before = synth(parseConfig(DOCKERHUB_CONFIG)).tf;
    const after = synth(parseConfig(DOCKERHUB_CONFIG.replace("upstream: { source: dockerhub, dockerHubCredentials: true }", "upstream: { source: cache }"))).tf;
    const p = previewReplacements(before, after);
    expect(p.unknownTypes).toEqual([]);
    expect(p.changes.filter((c) => c.durable && c.action !== "create")).toEqual([]);
    const gate = p.changes.find((c) => c.address === "azurerm_container_registry_task.task_contosobaseartifacts_base_import_node")!;
    expect(gate.action).toBe("update");
    expect(p.changes.filter((c) => c.action === "create").map((c) => c.type).sort()).toEqual([
      "azurerm_container_registry_cache_rule",
      "azurerm_container_registry_credential_set",
      "azurerm_key_vault_access_policy",
    ]);
  });

  test("split layout: the cache is the platform's; team stacks do not change", () => {
    const stacks = synthStacks(parseConfig(`layout: split\n${CACHE_YAML}`));
    expect(Object.keys(resources(stacks[0].tf, "azurerm_container_registry_cache_rule"))).toHaveLength(1);
    for (const s of stacks.slice(1)) expect(resources(s.tf, "azurerm_container_registry_cache_rule")).toEqual({});
  });
});
