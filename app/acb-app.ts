/**
 * `npm run check-tasks` (app/acb-check.ts): the checks of an app's task (constructs/container-app.ts)
 * on the commands acb would run. The deploy step's `az container create` equals the
 * azurerm_container_group of the same name (task value ACI) in the same JSON: name, resource
 * group, location, OS, CPU, memory, ports, DNS label, restart policy, IP type, login server,
 * identity or token secrets; it rolls out an image the task pushed before. With signing, every
 * build waits for a `notation verify` of the digest a pull step recorded, of the config's base image.
 */
import type { Tf } from "./task-inputs";
import { azOptions, opt, reads, writes } from "./acb-commands";
import { CheckResult, DryRun, SECRET_PREFIX } from "./acb-run";

/** An app's steps by what their commands do (app/acb-check.ts tells them apart). */
export interface AppView extends DryRun {
  result: CheckResult;
  values: Record<string, string | undefined>;
  registry: string;
  secrets: { id: string; keyvault?: string }[] | undefined;
  deploys: string[];
  pushes: string[];
  builds: string[];
  scripts: string[];
  problems: string[];
  notes: string[];
  expectSigning?: boolean;
  /** The config's base image of this app (`repository:tag`), when a config is given. */
  expectBase?: string;
}

type Obj = Record<string, any>;

export function checkApp(tf: Tf, a: AppView): void {
  checkVerifyBeforeUse(a);
  const { values, registry, secrets, ancestors, runs, deploys, pushes, problems } = a;
  const aci = values.ACI;
  const groups = Object.entries(tf.resources("azurerm_container_group")).filter(([, g]) => tf.str(g.name) === aci);
  if (aci === undefined) {
    problems.push("the task has no ACI value: cannot tell which container group it deploys");
    return;
  }
  if (groups.length !== 1) {
    problems.push(`${groups.length} azurerm_container_group named ${aci} in this JSON (want 1)`);
    return;
  }
  const [gAddr, g] = groups[0];
  for (const d of deploys) {
    const o = azOptions(runs.get(d)![0].args.slice(2));
    const val = (f: string): string | undefined => (o.get(f) || [])[0];
    const same = (what: string, got: string | undefined, want: string | undefined, norm = (x: string) => x) => {
      if (got === undefined || want === undefined || norm(got) !== norm(want)) {
        problems.push(`${d}: ${what} ${got === undefined ? "(missing)" : got}, but ${gAddr} has ${want === undefined ? "(nothing)" : want}`);
      }
    };
    const containers: Obj[] = g.container || [];
    const c = containers.find((x) => tf.str(x.name) === val("--name")) || (containers.length === 1 ? containers[0] : undefined);
    const num = (x: string) => String(Number(x));
    const loc = (x: string) => x.toLowerCase().replace(/\s+/g, "");
    same("--name", val("--name"), tf.str(g.name));
    same("--resource-group", val("--resource-group"), tf.str(g.resource_group_name));
    same("--location", val("--location"), tf.str(g.location), loc);
    same("--os-type", val("--os-type"), tf.str(g.os_type), (x) => x.toLowerCase());
    same("--cpu", val("--cpu"), c && tf.str(c.cpu), num);
    same("--memory", val("--memory"), c && tf.str(c.memory), num);
    const ports = (list: Obj[] | undefined) => (list || []).map((p) => Number(tf.str(p.port))).sort((x, y) => x - y).join(" ");
    const deployPorts = (o.get("--ports") || []).map(Number).sort((x, y) => x - y).join(" ") || undefined;
    same("--ports", deployPorts, c && ports(c.ports));
    if (g.exposed_port) same("--ports", deployPorts, ports(g.exposed_port), (x) => x); // the group's exposed_port too
    same("--dns-name-label", val("--dns-name-label"), tf.str(g.dns_name_label));
    if (g.restart_policy) same("--restart-policy", val("--restart-policy"), tf.str(g.restart_policy), (x) => x.toLowerCase());
    if (g.ip_address_type) same("--ip-address", val("--ip-address"), tf.str(g.ip_address_type), (x) => x.toLowerCase());

    // The image it rolls out is one this task pushed before.
    const image = val("--image");
    const pushedBy = pushes.filter((p) => runs.get(p)!.some((r) => r.args[1] === image));
    if (!pushedBy.length) problems.push(`${d} deploys ${image}, which no push step of this task pushes`);
    for (const p of pushedBy) if (!ancestors(d).has(p)) problems.push(`${d} does not wait for ${p}, which pushes ${image}`);

    // Registry authentication: the group's credential, in the way the group pulls.
    const server = val("--registry-login-server");
    const creds = (g.image_registry_credential || []).filter((x: Obj) => tf.str(x.server) === server);
    if (!creds.length) {
      problems.push(`${d}: --registry-login-server ${server}, but ${gAddr} has no credential for it`);
      continue;
    }
    const cred = creds[0];
    const groupIdentities = ((g.identity && g.identity.identity_ids) || []).map((x: unknown) => tf.str(x)).sort();
    const assigned = (o.get("--assign-identity") || []).slice().sort();
    if (assigned.join(" ") !== groupIdentities.join(" ")) {
      problems.push(`${d}: --assign-identity ${assigned.join(" ") || "(none)"}, but ${gAddr} has identities ${groupIdentities.join(" ") || "(none)"}`);
    }
    if (cred.user_assigned_identity_id !== undefined) {
      same("--acr-identity", val("--acr-identity"), tf.str(cred.user_assigned_identity_id));
      if (o.has("--registry-username") || o.has("--registry-password")) problems.push(`${d}: identity mode, yet it passes --registry-username/--registry-password`);
      a.result.summary = `deploy ${d} matches ${gAddr} (identity ${tf.str(cred.user_assigned_identity_id)})`;
    } else {
      if (o.has("--acr-identity")) problems.push(`${d}: token mode, yet it passes --acr-identity`);
      // Each of user and password must be a secret of the task whose Key Vault secret holds
      // exactly what the group's credential holds (the token name, the token password).
      for (const [flag, attr] of [
        ["--registry-username", "username"],
        ["--registry-password", "password"],
      ]) {
        const got = val(flag);
        const id = got && got.startsWith(SECRET_PREFIX) ? got.slice(SECRET_PREFIX.length) : undefined;
        if (!id) {
          problems.push(`${d}: ${flag} ${got === undefined ? "(missing)" : "is not a secret of the task"}`);
          continue;
        }
        if (!secrets) {
          problems.push(`${d}: cannot read the task's secrets: list to check ${flag}`);
          continue;
        }
        const sec = secrets.find((s) => s && s.id === id);
        if (!sec || !sec.keyvault) {
          problems.push(`${d}: ${flag} uses secret ${id}, which the task does not declare from Key Vault`);
          continue;
        }
        const url = String(sec.keyvault)
          .replace(/\{\{-?\s*\.Values\.([A-Za-z0-9_]+)\s*-?\}\}/g, (_, k: string) => values[k] ?? "")
          .replace(/\{\{-?\s*\.Run\.RegistryName\s*-?\}\}/g, registry.split(".")[0])
          .replace(/\{\{-?\s*\.Run\.Registry\s*-?\}\}/g, registry);
        const m = /^https:\/\/([^./]+)\.vault\.azure\.net\/secrets\/([^/]+)(\/[^/]+)?$/.exec(url);
        if (!m) {
          problems.push(`${d}: secret ${id} reads ${url}, not a Key Vault secret URL this check understands`);
          continue;
        }
        const stored = Object.entries(tf.resources("azurerm_key_vault_secret")).filter(([, s]) => {
          if (tf.str(s.name) !== m[2]) return false;
          const kv = /^\$\{((?:data\.)?azurerm_key_vault\.[A-Za-z0-9_-]+)\.id\}$/.exec(s.key_vault_id || "");
          const vault = kv && tf.lookup(kv[1]);
          return !vault || tf.str(vault.body.name) === m[1];
        });
        if (stored.length !== 1) {
          problems.push(`${d}: secret ${id} reads ${m[2]} in vault ${m[1]}: ${stored.length} such azurerm_key_vault_secret in this JSON`);
          continue;
        }
        const [sAddr, s] = stored[0];
        if (s.value !== cred[attr]) {
          problems.push(`${d}: ${flag} comes from ${sAddr} = ${JSON.stringify(s.value)}, but ${gAddr} pulls with ${attr} ${JSON.stringify(cred[attr])}`);
        }
      }
      a.result.summary = `deploy ${d} matches ${gAddr} (token: user and password from Key Vault secrets of the token)`;
    }
  }
}

/** Signing on: every build waits for a `notation verify` of the digest a pull step recorded. */
function checkVerifyBeforeUse(a: AppView): void {
  const { ancestors, runs, builds, scripts, problems, expectSigning } = a;
  const one = (id: string) => runs.get(id)![0];
  const script = (id: string) => one(id).script as string;
  const verifies = scripts.filter((id) => /notation verify [^;]*"\$ref"/.test(script(id)));
  if (expectSigning === true && !verifies.length) problems.push("signing is on (config), but the app builds without verifying its base image");
  if (expectSigning === false && verifies.length) problems.push(`${verifies.join(", ")} verify, but signing is off (config)`);
  // The config's base image: what the app must pull, verify and have been signed as.
  const base = a.expectBase;
  for (const v of verifies) {
    const env = one(v).envMap;
    if (base && !(String(env.BASE).endsWith(`/${base}`) && env.TARGET === base)) {
      problems.push(`${v} verifies ${env.BASE} as ${env.TARGET}, but the config's baseImage is ${base}`);
    }
    if (!/notation verify --user-metadata "io\.acr-gate\.target=\$TARGET" "\$ref"/.test(script(v))) problems.push(`${v} does not require the gate's io.acr-gate.target for its digest`);
  }
  for (const v of verifies) {
    const env = one(v).envMap;
    const files = reads(script(v));
    const pulls = scripts.filter((id) => /docker pull "\$BASE"/.test(script(id)) && writes(script(id)).some((f) => files.includes(f)));
    if (!pulls.length) problems.push(`${v} verifies a digest that no pull step records`);
    for (const p of pulls) {
      if (!ancestors(v).has(p)) problems.push(`${v} does not wait for ${p}, which records the digest`);
      if (one(p).envMap.BASE !== env.BASE) problems.push(`${v} verifies ${env.BASE}, ${p} pulls ${one(p).envMap.BASE}`);
    }
    if (!/\$GATE_CERTIFICATE/.test(script(v)) || !env.GATE_CERTIFICATE) problems.push(`${v} does not trust the gate certificate`);
    for (const b of builds) {
      if (!ancestors(b).has(v)) problems.push(`${b} builds without waiting for ${v}`);
      const from = opt(one(b).args, "--build-arg").find((x) => x.startsWith("REGISTRY_FROM_URL="));
      if (!from || !env.BASE.startsWith(from.slice("REGISTRY_FROM_URL=".length))) problems.push(`${b} builds from ${from}, not where ${v} verified ${env.BASE}`);
    }
  }
  if (verifies.length) a.notes.push(`verify before use: ${verifies.join(", ")} before ${builds.join(", ")}`);
}
