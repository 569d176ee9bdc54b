/**
 * `apps`: each built FROM a gated image in its team registry by a task, and deployed to its own
 * container group. An app's references (its team registry, its base image) are checked here, the
 * section that makes them; the gates' targets are handed over by lib/config/schema.ts.
 */
import { z } from "zod";
import { checkName } from "../rules";
import { decimal, int, list, named, oneOf, requiredOr, strict } from "./fields";
import { arr, Check, fail, Namespace, Path, rec, some, str, taskNamespace, valid } from "./cross-field";
import { ResourceGroups } from "./resource-groups";
import { imageRef } from "./images";

export const DEFAULT_INITIAL_IMAGE = "mcr.microsoft.com/azuredocs/aci-helloworld:latest";
/** How a container group pulls when aci.pullWith is unset. */
export const DEFAULT_PULL_WITH = "token";

const appSchema = strict(
  {
    name: named("appName", "The app, also its image repository in the team registry"),
    taskName: named("task", "Build-and-deploy task name (default: name, or `build-<name>` when shorter than 5)").optional(),
    registry: z
      .string({ error: requiredOr("must be a non-empty string") })
      .min(1, { error: "must be a non-empty string" })
      .meta({ description: "The name of one of teamRegistries" }),
    repository: named("gitContext", "Git context with the app's Dockerfile (`ARG REGISTRY_FROM_URL`, `FROM ${REGISTRY_FROM_URL}<base image>`)"),
    baseImage: named("imageTag", "The target of one of gatedImages: apps build only from gated images"),
    aci: strict(
      {
        name: named("containerGroup", "Container group name (default `<name>-aci`)").optional(),
        resourceGroup: named("resourceGroup", "Its resource group (default `<aci.name>-rg`); never a registry's or the vault's").optional(),
        dnsLabel: named(
          "dnsLabel",
          "DNS name label, unique in the region across all of Azure (default `<aci.name>-<6 hex>`, the hex from the resource group id, so a second environment gets its own)",
        ).optional(),
        cpu: decimal(0.1, 4, 1, "CPU cores"),
        memoryGb: decimal(0.1, 16, 1.5, "Memory in GB"),
        port: int(1, 65535, 80, "The TCP port served on the public IP"),
        initialImage: named("imageReference", "What the group runs until the app's first build deploys").default(DEFAULT_INITIAL_IMAGE),
        pullWith: oneOf(["token", "identity"] as const, DEFAULT_PULL_WITH, "How the group pulls from the team registry: its repository-scoped token, or a user-assigned identity with AcrPull"),
      },
      "The app's Azure Container Instances group",
    ).prefault({}),
  },
  "An app built FROM a gated image and deployed to a container group",
);

export const appsField = list(appSchema, "Apps").default([]);

/** The app's task: its own name, or the app's (`build-<name>` when shorter than a task name may be). */
export const appTaskName = (a: Record<string, unknown>) =>
  str(a.taskName) ?? (valid("appName", a.name) ? (a.name.length >= 5 ? a.name : `build-${a.name}`) : undefined);

export const aciName = (a: Record<string, unknown>) => str(rec(a.aci).name) ?? (valid("appName", a.name) ? `${a.name.replace(/[._]/g, "-")}-aci` : undefined);

export const aciGroup = (a: Record<string, unknown>) => {
  const aci = rec(a.aci);
  if (str(aci.resourceGroup)) return aci.resourceGroup as string;
  const name = aciName(a);
  return name && valid("containerGroup", name) ? `${name}-rg` : undefined;
};

/** The fixed part of the default DNS label; Terraform appends `-<6 hex>` of the resource group id. */
const dnsLabelPrefix = (a: Record<string, unknown>) => {
  const name = aciName(a);
  return name && valid("containerGroup", name) ? name.slice(0, 56).replace(/-+$/, "") : undefined;
};

/** `gateTargets`: the targets of the gated images (lib/config/gated-images.ts), which base images must be. */
export function appRules({ ctx, c }: Check, groups: ResourceGroups, gateTargets: ReadonlyMap<string, Path>): void {
  const teams = arr(c.teamRegistries);
  const teamNames = new Set(teams.map((t) => rec(t).name).filter((n): n is string => typeof n === "string"));
  const validTeamNames = [...teamNames].filter((n) => valid("registry", n));
  const appNames = new Namespace("app name", null, false);
  const aciNames = new Namespace("container group name", "azurerm_container_group.container_group_");
  const dnsLabels = new Namespace("DNS name label", null, false);
  const appTasks = new Map<string, Namespace>();
  // The deploy grants' addresses join the group's and the task's names (ContainerApp.grantDeploy).
  const deployGrants = new Namespace("container group and task pair", "azurerm_role_assignment.deploy_");
  arr(c.apps).forEach((a, i) => {
    const o = rec(a);
    const p: Path = ["apps", i];
    if (valid("appName", o.name)) appNames.claim(ctx, [...p, "name"], o.name);
    const registry = str(o.registry);
    // With no team registry at all, that one problem is reported by the registries; every app naming one is its echo.
    if (registry !== undefined && teamNames.size > 0 && !teamNames.has(registry)) {
      fail(ctx, [...p, "registry"], registry, `must name one of teamRegistries (${some(validTeamNames)})`);
    }
    if (valid("imageTag", o.baseImage) && !gateTargets.has(o.baseImage) && gateTargets.size > 0) {
      fail(ctx, [...p, "baseImage"], o.baseImage, `must be the target of a gated image (${some([...gateTargets.keys()])})`);
    }
    const aci = rec(o.aci);
    const fromName = (k: string): Path => (aci[k] === undefined ? [...p, "name"] : [...p, "aci", k]);
    const containerGroup = aciName(o);
    if (containerGroup) {
      const problem = aci.name === undefined ? checkName("containerGroup", containerGroup) : undefined;
      if (problem) fail(ctx, [...p, "name"], o.name, `gives the default aci.name ${JSON.stringify(containerGroup)}, which ${problem}; set aci.name`);
      else if (valid("containerGroup", containerGroup)) aciNames.claim(ctx, fromName("name"), containerGroup);
    }
    groups.claim(p, aci.resourceGroup === undefined ? fromName("name") : [...p, "aci", "resourceGroup"], aciGroup(o), false);
    if (aci.dnsLabel === undefined) {
      const prefix = dnsLabelPrefix(o);
      const sample = `${prefix}-0a1b2c`;
      const problem = prefix ? checkName("dnsLabel", sample) : undefined;
      if (problem) fail(ctx, fromName("name"), aci.name ?? o.name, `gives a default aci.dnsLabel like ${JSON.stringify(sample)}, which ${problem}; set aci.dnsLabel`);
    } else if (valid("dnsLabel", aci.dnsLabel)) dnsLabels.claim(ctx, [...p, "aci", "dnsLabel"], aci.dnsLabel);
    const taskName = appTaskName(o);
    if (taskName && o.taskName === undefined && !valid("task", taskName)) {
      fail(ctx, [...p, "name"], o.name, `gives the default taskName ${JSON.stringify(taskName)}, which ${checkName("task", taskName)}; set taskName`);
    } else if (registry && taskName && valid("task", taskName)) {
      if (containerGroup && valid("containerGroup", containerGroup)) {
        deployGrants.claim(ctx, o.taskName === undefined ? [...p, "name"] : [...p, "taskName"], `${containerGroup}_${registry}_${taskName}`);
      }
      let ns = appTasks.get(registry);
      if (!ns) appTasks.set(registry, (ns = taskNamespace(`team registry ${registry}`)));
      ns.claim(ctx, o.taskName === undefined ? [...p, "name"] : [...p, "taskName"], taskName);
    }
  });
}

export function resolveApp(a: z.output<typeof appSchema>) {
  return {
    name: a.name,
    taskName: appTaskName(a)!,
    registry: a.registry,
    repository: a.repository,
    baseImage: imageRef(a.baseImage),
    aci: {
      name: aciName(a)!,
      resourceGroup: aciGroup(a)!,
      /** null: `<aci.name>-<6 hex of the resource group id>`, computed by Terraform (ContainerApp). */
      dnsLabel: a.aci.dnsLabel ?? null,
      cpu: a.aci.cpu,
      memoryGb: a.aci.memoryGb,
      port: a.aci.port,
      initialImage: a.aci.initialImage,
      pullWith: a.aci.pullWith,
    },
  };
}

export type AppConfig = ReturnType<typeof resolveApp>;
export type AciPullMode = AppConfig["aci"]["pullWith"];
