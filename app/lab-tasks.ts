/**
 * The lab's view of a synthesized config: every ACR task with the bytes Terraform would send
 * (its task file, its values with Terraform's expressions resolved from the JSON), and the few
 * substitutions this machine needs, each one named (help/lab.md, "What is stood in").
 */
import * as fs from "fs";
import * as path from "path";
import { Tf, withoutSecrets } from "./task-inputs";

/** upstream: the simulated public image's build; signer: the build of the signer image (signing). */
export type TaskRole = "upstream" | "gate" | "app" | "signer" | "other";

export interface LabTask {
  readonly stack: string;
  readonly address: string;
  readonly name: string;
  /** The login server of the registry the task runs in. */
  readonly registry: string;
  readonly role: TaskRole;
  /** The task file as synthesized (encoded step), or where it is read from the context (file step). */
  readonly taskFile: { readonly text: string } | { readonly path: string };
  /** Task values, Terraform's expressions resolved from the JSON where it can, stood in where only Azure knows. */
  readonly values: Readonly<Record<string, string>>;
  /** The values as the JSON has them (Terraform expressions unresolved): what only Azure knows is found here. */
  readonly rawValues: Readonly<Record<string, string>>;
  /** The Git context URL, or undefined. */
  readonly context?: string;
  /** The image whose update starts this task (tag `acr-gate-from`), and the one it builds (`acr-gate-builds`). */
  readonly from?: string;
  readonly builds?: string;
  readonly baseImageTrigger: boolean;
  /** The schedules of its timer triggers (cron, UTC). */
  readonly timers?: readonly string[];
  readonly timeoutSeconds: number;
  /**
   * The task's registry logins (`registry_credential.custom`): login server, and the user name and
   * password as the JSON has them (Key Vault secret ids in Terraform expressions). ACR logs in
   * with each before the run's steps.
   */
  readonly credentials?: readonly { readonly loginServer: string; readonly username: string; readonly password: string }[];
}

/** Every task of the stacks, in the order their first runs go (what each builds before what builds on it). */
export function labTasks(stacks: ReadonlyMap<string, Record<string, any>>): LabTask[] {
  const tasks: LabTask[] = [];
  for (const [stack, doc] of stacks) {
    const tf = new Tf(doc);
    for (const [address, t] of Object.entries(tf.resources("azurerm_container_registry_task"))) {
      const step = t.encoded_step ?? t.file_step ?? t.docker_step;
      const registry = tf.loginServer(t);
      if (!registry) throw new Error(`${stack}: task ${t.name}: its registry's login server is not in the JSON`);
      const values = Object.fromEntries(Object.entries<string>(step?.values ?? {}).map(([k, v]) => [k, tf.str(v)!]));
      const text = t.encoded_step ? Buffer.from(String(t.encoded_step.task_content), "base64").toString("utf8") : undefined;
      const role: TaskRole = t.file_step
        ? "upstream"
        : text && /\n\s*- id: promote\n/.test(text)
          ? "gate"
          : text && /\n\s*- id: deploy-aci\n/.test(text)
            ? "app"
            : text && /\n\s*- id: build-signer\n/.test(text)
              ? "signer"
              : "other";
      tasks.push({
        stack,
        address,
        name: String(t.name),
        registry,
        role,
        taskFile: text !== undefined ? { text } : { path: String(t.file_step?.task_file_path ?? "acr-task.yaml") },
        values,
        rawValues: { ...(step?.values ?? {}) },
        context: step?.context_path ? tf.str(step.context_path) : undefined,
        from: t.tags?.["acr-gate-from"],
        builds: t.tags?.["acr-gate-builds"],
        baseImageTrigger: t.base_image_trigger?.enabled === true,
        timers: (t.timer_trigger ?? []).filter((x: { enabled?: boolean }) => x.enabled !== false).map((x: { schedule: string }) => String(x.schedule)),
        timeoutSeconds: Number(t.timeout_in_seconds ?? 3600),
        credentials: (t.registry_credential?.custom ?? []).map((c: Record<string, string>) => ({ loginServer: String(c.login_server), username: String(c.username ?? ""), password: String(c.password ?? "") })),
      });
    }
  }
  return firstRunOrder(tasks);
}

/** Tasks ordered so that each runs after the task building its base image. */
function firstRunOrder(tasks: LabTask[]): LabTask[] {
  const out: LabTask[] = [];
  const left = [...tasks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  while (left.length) {
    const i = left.findIndex((t) => !left.some((o) => o !== t && o.builds !== undefined && o.builds === t.from));
    out.push(...left.splice(i < 0 ? 0 : i, 1));
  }
  return out;
}

/** The tasks a push of `image` (a login server's `<repo>:<tag>`) starts: ACR's base image trigger. */
export function triggeredBy(tasks: readonly LabTask[], image: string): LabTask[] {
  return tasks.filter((t) => t.baseImageTrigger && t.from === image);
}

/** Each substitution the lab made, for the report and help/lab.md. */
export interface StandIn {
  readonly what: string;
  readonly why: string;
}

export interface PreparedTask {
  readonly taskFile: string;
  readonly values: Record<string, string>;
  /** acb's `--credential` arguments: the task's registry logins, to the lab's registries, with local values. */
  readonly credentials: string[];
  readonly standIns: StandIn[];
}

/** The Key Vault secret a credential's user name or password names (`azurerm_key_vault_secret.<name>.id`), or the raw value. */
const secretName = (raw: string) => /azurerm_key_vault_secret\.([A-Za-z0-9_-]+)\.id\b/.exec(raw)?.[1] ?? raw;

/**
 * The task file and values acb runs in the lab: login servers of the config's registries and
 * upstream hosts → the lab's registries; Key Vault secrets → local values; images pinned by
 * digest → the local build of the same name and tag (`pinned`: what the lab built).
 */
export function prepare(
  task: LabTask,
  text: string,
  o: { registries: ReadonlyMap<string, string>; secret: (id: string) => string; pinned: ReadonlyMap<string, string>; signing?: { keyId: string; certificate: string } },
): PreparedTask {
  const standIns: StandIn[] = [];
  let file = withoutSecrets(text, (id) => {
    standIns.push({ what: `Key Vault secret ${id} of task ${task.name}`, why: "no Key Vault here: a local value of the lab's" });
    return o.secret(id);
  });
  for (const [ref, local] of o.pinned) {
    if (file.includes(ref)) {
      file = file.split(ref).join(local);
      standIns.push({ what: `${ref} in task ${task.name}`, why: `an image pinned by digest cannot be rebuilt with the same digest: ${local}, built by the lab from the same version` });
    }
  }
  const servers = [...o.registries.keys()].sort((a, b) => b.length - a.length);
  const swap = (s: string) => {
    for (const server of servers) {
      const re = new RegExp(`(^|[^A-Za-z0-9.-])${server.replace(/[.]/g, "\\.")}(?=$|[/:\\s'"])`, "g");
      s = s.replace(re, (_, pre: string) => pre + o.registries.get(server)!);
    }
    return s;
  };
  file = swap(file);
  const values = Object.fromEntries(
    Object.entries(task.values).map(([k, v]) => {
      // The signing certificate's key id and public part live in Key Vault: the lab's own key pair stands in.
      const raw = task.rawValues[k] ?? "";
      const cert = /azurerm_key_vault_certificate\.[A-Za-z0-9_-]+\.(certificate_data_base64|secret_id)\b/.exec(raw);
      if (cert && o.signing) {
        standIns.push({ what: `the signing certificate in Key Vault (task value ${k} of ${task.name})`, why: "no Key Vault here: a key pair the lab makes for its run, used by its stand-in of the notation azure-kv plugin (lab/notation-azure-kv)" });
        return [k, cert[1] === "secret_id" ? o.signing.keyId : o.signing.certificate];
      }
      return [k, swap(v)];
    }),
  );
  // ACR resolves each login's Key Vault secrets with the task's identity and logs in before the
  // steps; acb does the same with `--credential` (opaque values): the lab's local values stand in
  // for the secrets, and the login goes to the lab's registry for that login server.
  const credentials: string[] = [];
  for (const c of task.credentials ?? []) {
    const local = o.registries.get(c.loginServer);
    if (!local) continue;
    const [user, password] = [secretName(c.username), secretName(c.password)];
    standIns.push({ what: `Key Vault secrets ${user} and ${password} (task ${task.name}'s login to ${c.loginServer})`, why: "no Key Vault here: local values of the lab's; acb logs in with them (docker login) to the lab's registry for that login server" });
    credentials.push(JSON.stringify({ registry: local, userNameProviderType: "opaque", username: o.secret(user), passwordProviderType: "opaque", password: o.secret(password) }));
  }
  return { taskFile: file, values, credentials, standIns };
}

/** Reads a file-step task's file from its (local) context. */
export function taskFileText(task: LabTask, contextDir: string | undefined): string {
  if ("text" in task.taskFile) return task.taskFile.text;
  if (!contextDir) throw new Error(`task ${task.name}: its task file ${task.taskFile.path} is in its Git context, and the lab has no local directory for it (--context ${task.name}=<dir>)`);
  return fs.readFileSync(path.join(contextDir, task.taskFile.path), "utf8");
}

/**
 * The signer image the tasks use: what the build-signer task builds, or the config's own
 * `signing.signerImage` as the gates' sign step names it. Undefined without signing.
 */
export function signerImageOf(tasks: readonly LabTask[]): string | undefined {
  const built = tasks.find((t) => t.role === "signer")?.builds;
  if (built) return built;
  for (const t of tasks) {
    const m = "text" in t.taskFile ? /- id: sign\n\s+cmd: "?([^\s"]+) -c /.exec(t.taskFile.text) : null;
    if (m) return m[1];
  }
  return undefined;
}
