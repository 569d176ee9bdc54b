import "cdktf/lib/testing/adapters/jest";
import * as fs from "fs";
import * as path from "path";
import { Testing } from "cdktf";
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import type { AcrGateConfig } from "../lib/config/schema";
import type { AcrGateStack } from "../constructs/acr-gate-stack";
import { createStack, synthesizeInMemory } from "../app/synth";
import { parseTask, TaskDefinition } from "../lib/task-yaml";

export interface Synthesized {
  stack: AcrGateStack;
  /** The stack's JSON as Testing.synth gives it (sorted, no metadata), validations run. */
  json: string;
  tf: any;
}

/** One synth per config, validations included (a plain Testing.synth would skip the policy check). */
export function synth(config: AcrGateConfig = parseConfig(DEFAULT_CONFIG_YAML)): Synthesized {
  const stack = createStack(Testing.app(), config);
  const json = Testing.synth(stack, true);
  return { stack, json, tf: JSON.parse(json) };
}

/**
 * Every stack of a config's layout, as `app.synth()` would render them (prepared, validations run),
 * in memory, the way `acr-gate --check` does: [{ name, tf }], the platform (or single) stack first.
 */
export function synthStacks(config: AcrGateConfig): { name: string; tf: any }[] {
  return [...synthesizeInMemory(config)].map(([name, tf]) => ({ name, tf }));
}

/** Every problem a config's parse reports, one per line ("" when it is valid). */
export function problemsOf(yaml: string): string {
  try {
    parseConfig(yaml);
    return "";
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.join("\n");
  }
}

export function withDefaults(overrideYaml: string): AcrGateConfig {
  return parseConfig(overrideYaml);
}

export function resources(tf: any, type: string): Record<string, any> {
  return tf.resource?.[type] ?? {};
}

/** What a script step (lib/run-scripts.ts) pushes, in order: `docker push "$X"`, X from its env. */
export function scriptPushes(step: unknown): string[] {
  const s = step as { cmd?: string; env?: string[] };
  const env = Object.fromEntries((s.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  return [...(s.cmd ?? "").matchAll(/docker push "\$([A-Z_]+)"/g)].map((m) => env[m[1]]);
}

export function decodeTask(task: any): TaskDefinition {
  return parseTask(Buffer.from(task.encoded_step.task_content, "base64").toString("utf8"));
}

/** A config with `n` gated images and apps, spread over ceil(n/2) teams. */
export function scaledConfigYaml(n: number): string {
  const teams = Array.from({ length: Math.ceil(n / 2) }, (_, j) => `team${j}acr`);
  const lines = [
    "upstream: { source: dockerhub, dockerHubCredentials: true }",
    "baseArtifactsRegistry:",
    "  name: contosobaseartifacts",
    "keyVault:",
    "  name: acr-task-credentials",
    "teamRegistries:",
    ...teams.map((t) => `  - name: ${t}`),
    "gatedImages:",
  ];
  for (let i = 0; i < n; i++) {
    lines.push(
      `  - source: img${i}:1.${i}`,
      `    test:`,
      `      context: https://github.com/example/import-img${i}.git#main`,
    );
  }
  lines.push("apps:");
  for (let i = 0; i < n; i++) {
    lines.push(
      `  - name: app${i}`,
      `    registry: ${teams[Math.floor(i / 2)]}`,
      `    repository: https://github.com/example/app${i}.git#main`,
      `    baseImage: img${i}:1.${i}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The walkthrough's 'Building from Docker Hub' choice (examples/dockerhub.yaml). */
export const DOCKERHUB_CONFIG = fs.readFileSync(path.join(__dirname, "..", "examples", "dockerhub.yaml"), "utf8");

/**
 * A Terraform state (format 4) holding one instance of each resource address, with a fake id: what
 * `terraform state list`, `state mv` and `init -upgrade` need, without an apply (no Azure here).
 */
export function fakeState(addresses: readonly string[], lineage: string): object {
  const provider = (type: string) =>
    type === "terraform_data" ? 'provider["terraform.io/builtin/terraform"]' : `provider["registry.terraform.io/hashicorp/${type.split("_")[0]}"]`;
  return {
    version: 4,
    terraform_version: "1.11.0",
    serial: 1,
    lineage,
    outputs: {},
    resources: addresses.map((address) => {
      const [type, name] = address.split(".");
      return {
        mode: "managed",
        type,
        name,
        provider: provider(type),
        instances: [{ schema_version: 0, attributes: { id: `/fake/${address}` }, sensitive_attributes: [] }],
      };
    }),
    check_results: null,
  };
}
