import { Construct } from "constructs";
import { ITerraformDependable, TerraformResource, Token } from "cdktf";
import { ContainerRegistryTask } from "@cdktf/provider-azurerm/lib/container-registry-task";
import { ContainerRegistryTaskScheduleRunNow } from "@cdktf/provider-azurerm/lib/container-registry-task-schedule-run-now";
import { assertName, checkName } from "../lib/rules";
import { addressPart, IPrincipal } from "../lib/principal";
import { longestRunSeconds, renderTask, RUN_SETUP_SECONDS, TaskDefinition } from "../lib/task-yaml";
import type { IRegistry } from "./interfaces";
import type { StoredSecret } from "./interfaces";
import type { StoredToken } from "./pull-token";
import { addressOf, pinAddress } from "../lib/address";

/** The task file lives in the Git context (`az acr task create -f acr-task.yaml --context <git>`). */
export interface FileTaskStep {
  readonly kind: "file";
  /** Path of the task file inside the context. @default "acr-task.yaml" */
  readonly taskFile?: string;
  /** `https://github.com/<org>/<repo>.git#<branch>` */
  readonly context: string;
}

/** The task file is generated and sent inline; the Git context, if any, only supplies build files. */
export interface EncodedTaskStep {
  readonly kind: "encoded";
  readonly definition: TaskDefinition;
  /** @default - no context */
  readonly context?: string;
}

export interface RegistryTaskProps {
  /** The registry the task runs in and pushes to (`-r`). */
  readonly registry: IRegistry;
  /** 5-50 letters, digits, '-' and '_'. */
  readonly name: string;
  readonly step: FileTaskStep | EncodedTaskStep;
  /**
   * The Git access token (`--git-access-token`), a sensitive variable reference. Required when
   * the step has a Git context.
   */
  readonly gitAccessToken?: string;
  /** Task values (`--set NAME=value`). Never secrets: those go in Key Vault. @default {} */
  readonly values?: Record<string, string>;
  /**
   * Run on commits to the context's branch, as `az acr task create` does by default.
   * @default true when the step has a GitHub or Azure Repos context
   */
  readonly commitTrigger?: boolean;
  /**
   * Run when the runtime base image of a build step changes, as `az acr task create` does by
   * default. The Terraform resource creates no trigger unless told to.
   * @default true
   */
  readonly baseImageTrigger?: boolean;
  /** Cron schedule (UTC) for a timer trigger. @default - none */
  readonly timer?: string;
  /**
   * Seconds before Azure ends a run (ACR allows 300 to 28800).
   * @default 3600, or the longest chain of the task file's own step timeouts and the run's setup
   * (lib/task-yaml.ts `longestRunSeconds`, `RUN_SETUP_SECONDS`) when that is longer, so that no step
   * is cut short within its own timeout. A value outside 300..28800 or below that chain is an error.
   */
  readonly timeoutSeconds?: number;
  /**
   * The images the task builds from and pushes, written into the task's tags (`acr-gate-from`,
   * `acr-gate-builds`) so that the JSON says what a file step in Git does too: the workflow
   * diagram is drawn from the JSON alone (app/diagram.ts).
   * @default - not recorded
   */
  readonly images?: { readonly from?: string; readonly builds?: string };
  /** @default {} */
  readonly tags?: Record<string, string>;
  /**
   * A user-assigned identity to run as, instead of the task's own system-assigned one: a split
   * team's identity, which the platform stack creates and grants everything outside the team's
   * resource groups (constructs/team-identity.ts). {@link pullFrom}, {@link pullFromWithSecrets}
   * and {@link readSecrets} then make no grant: they record what the task uses, and the team stack
   * checks it against what the platform granted.
   * @default - the system-assigned identity, granted here
   */
  readonly identity?: TaskIdentity;
}

/** A user-assigned identity a task runs as (Terraform references, e.g. the platform's outputs). */
export interface TaskIdentity {
  /** Resource id. */
  readonly id: string;
  /** Client (application) id: what credentials, Key Vault references and `az login` name. */
  readonly clientId: string;
  /** Object id. */
  readonly principalId: string;
}

/** ACR's longest task timeout (seconds). */
const ACR_MAX_TASK_TIMEOUT = 28800;
/** What a first run's wait allows for the queue before the run starts (an agent pool's, minutes). */
const RUN_QUEUE_MINUTES = 30;

/** A registry credential on the task (`az acr task credential add`), recorded for the policy check. */
export interface TaskCredential {
  readonly loginServer: string;
  readonly mode: "keyVaultToken" | "identity";
  /** The secrets it references, when mode is keyVaultToken. */
  readonly secrets: readonly StoredSecret[];
  /** The value sent as user name (a versioned secret id in keyVaultToken mode). */
  readonly username?: string;
}

/**
 * An ACR task with a system-assigned identity (`az acr task create ... --assign-identity`),
 * explicit triggers, and registry credentials added through {@link pullFrom} and
 * {@link pullFromWithSecrets}.
 */
export class RegistryTask extends Construct implements IPrincipal {
  readonly taskName: string;
  readonly registry: IRegistry;
  readonly resource: ContainerRegistryTask;
  readonly principalId: string;
  readonly principalName: string;
  readonly credentials: TaskCredential[] = [];
  /** Key Vault secrets the task file reads at run time (its `secrets:` section). */
  readonly secretsRead: StoredSecret[] = [];
  readonly values: Readonly<Record<string, string>>;
  readonly triggers: { readonly commit: boolean; readonly baseImage: boolean; readonly timer?: string };
  readonly definition?: TaskDefinition;
  readonly context?: string;
  /** Other tasks whose pushes this task's base image trigger follows (for the diagram). */
  readonly upstreamTasks: RegistryTask[] = [];
  firstRun?: ContainerRegistryTaskScheduleRunNow;
  /** Seconds before Azure ends a run of this task (its `timeout_in_seconds`). */
  readonly timeoutSeconds: number;
  /** The user-assigned identity it runs as, granted elsewhere (see RegistryTaskProps.identity). */
  readonly identity?: TaskIdentity;

  constructor(scope: Construct, id: string, props: RegistryTaskProps) {
    super(scope, id);
    assertName("task", `${this.node.path}.name`, props.name);
    const context = props.step.context;
    if (context !== undefined) {
      const problem = checkName("gitContext", context);
      if (problem) throw new Error(`${this.node.path}.context: ${JSON.stringify(context)} ${problem}`);
      if (!props.gitAccessToken) throw new Error(`${this.node.path}.gitAccessToken: is required with a Git context`);
    }
    if (props.timer !== undefined) assertName("cron", `${this.node.path}.timer`, props.timer);
    this.taskName = props.name;
    this.identity = props.identity;
    this.registry = props.registry;
    this.principalName = `${props.registry.registryName}/${props.name}`;
    this.values = { ...(props.values ?? {}) };
    this.context = context;
    const source = context ? sourceOf(context) : undefined;
    const commit = (props.commitTrigger ?? source !== undefined) && source !== undefined;
    this.triggers = { commit, baseImage: props.baseImageTrigger ?? true, timer: props.timer };

    const values = Object.keys(this.values).length > 0 ? this.values : undefined;
    let fileStep;
    let encodedStep;
    if (props.step.kind === "file") {
      fileStep = {
        taskFilePath: props.step.taskFile ?? "acr-task.yaml",
        contextPath: props.step.context,
        contextAccessToken: props.gitAccessToken,
        values,
      };
    } else {
      this.definition = props.step.definition;
      // Rendering validates the definition: an unknown `when` or a duplicate id fails the synth.
      const yaml = renderTask(props.step.definition);
      if (Token.isUnresolved(yaml)) {
        // A Terraform reference cannot survive base64 encoding: pass it as a task value instead.
        throw new Error(`${this.node.path}: the task file contains a Terraform reference; pass it through values`);
      }
      encodedStep = {
        taskContent: Buffer.from(yaml).toString("base64"),
        contextPath: props.step.context,
        contextAccessToken: props.step.context ? props.gitAccessToken : undefined,
        values,
      };
    }

    // Long enough for the run's setup and its steps' own timeouts, one after the other where they wait.
    const needed = this.definition ? longestRunSeconds(this.definition) + RUN_SETUP_SECONDS : 0;
    this.timeoutSeconds = props.timeoutSeconds ?? Math.max(3600, needed);
    if (this.timeoutSeconds > ACR_MAX_TASK_TIMEOUT || this.timeoutSeconds < 300 || this.timeoutSeconds < needed) {
      throw new Error(
        `${this.node.path}.timeoutSeconds: ${this.timeoutSeconds} must be between 300 and ${ACR_MAX_TASK_TIMEOUT} (ACR's limits) and at least ${needed} ` +
          `(the run's setup and the longest chain of its steps' timeouts); shorten the steps' timeouts`,
      );
    }
    this.resource = new ContainerRegistryTask(this, "task", {
      name: props.name,
      containerRegistryId: props.registry.id,
      platform: { os: "Linux", architecture: "amd64" },
      identity: props.identity ? { type: "UserAssigned", identityIds: [props.identity.id] } : { type: "SystemAssigned" },
      fileStep,
      encodedStep,
      timeoutInSeconds: this.timeoutSeconds,
      baseImageTrigger: this.triggers.baseImage
        ? { name: "defaultBaseimageTriggerName", type: "Runtime", enabled: true }
        : undefined,
      sourceTrigger:
        commit && source
          ? [
              {
                name: "defaultSourceTriggerName",
                events: ["commit"],
                repositoryUrl: source.repositoryUrl,
                branch: source.branch,
                sourceType: source.sourceType,
                enabled: true,
                authentication: { tokenType: "PAT", token: props.gitAccessToken ?? "" },
              },
            ]
          : undefined,
      timerTrigger: props.timer ? [{ name: "timer", schedule: props.timer, enabled: true }] : undefined,
      tags: {
        ...(props.tags ?? {}),
        ...(props.images?.from ? { "acr-gate-from": props.images.from } : {}),
        ...(props.images?.builds ? { "acr-gate-builds": props.images.builds } : {}),
      },
    });
    pinAddress(this.resource, `task_${addressPart(props.registry.registryName)}_${addressPart(props.name)}`);
    this.principalId = props.identity ? props.identity.principalId : this.resource.identity.principalId;
  }

  /**
   * Pull from another Azure registry with the task's own identity: an identity-only credential
   * (`--use-identity [system]`, no user name or password) plus `AcrPull` on that registry.
   * No token, no secret, nothing expires.
   */
  pullFrom(registry: IRegistry): void {
    if (!this.identity) registry.grantPull(this);
    this.addCredential({ loginServer: registry.loginServerName, mode: "identity", secrets: [] });
  }

  /**
   * Pull with a user name and password kept in Key Vault (`az acr task credential add -u <secret>
   * -p <secret> --use-identity [system]`), and let the task read them. Docker Hub needs this mode.
   */
  pullFromWithSecrets(loginServer: string, token: Pick<StoredToken, "user" | "password" | "vault">): void {
    if (!this.identity) token.vault.grantSecretRead(this);
    this.addCredential({
      loginServer,
      mode: "keyVaultToken",
      secrets: [token.user, token.password],
      username: token.user.id,
    });
  }

  /** Declares secrets the task file reads (`secrets: - keyvault: ...`) and grants read on their vault. */
  readSecrets(...secrets: StoredSecret[]): void {
    for (const s of secrets) {
      if (!this.secretsRead.includes(s)) this.secretsRead.push(s);
      if (!this.identity) s.vault.grantSecretRead(this);
    }
  }

  /**
   * Runs the task once when it is created (`az acr task run`), after `dependsOn`: base image
   * tracking starts only after a first run. A failed run fails the apply.
   *
   * The run resource is create-only (azurerm issue 28604), so it is replaced, and the task runs
   * again in the same apply, when the task's step or credentials change or when anything in
   * `rerunWhen` is updated or replaced (a new container group to deploy into, a rotated password).
   */
  runOnCreate(dependsOn: ITerraformDependable[], rerunWhen: TerraformResource[] = []): ContainerRegistryTaskScheduleRunNow {
    if (!this.firstRun) {
      this.firstRun = new ContainerRegistryTaskScheduleRunNow(this, "first-run", {
        containerRegistryTaskId: this.resource.id,
        dependsOn,
        // The provider waits 30 minutes for a run by default, then fails the apply while the run
        // goes on in Azure. It waits for as long as Azure lets the run go on, plus time in the
        // queue. A timeouts change alone plans no change of a run already made (the plugin SDK
        // keeps timeouts out of its diff; __tests__/provider-plan.test.ts, real provider).
        timeouts: { create: `${Math.ceil(this.timeoutSeconds / 60) + RUN_QUEUE_MINUTES}m` },
        lifecycle: {
          // The task's step (its file, values, context) and its credentials, not its tags: a tag
          // change must not run every task again. Attribute by attribute, leaving out the step's
          // `context_access_token`: a Git token rotation updates every task but runs none of them
          // (no new promotion, rollback tag or deployment for a new token).
          replaceTriggeredBy: [
            ...stepTriggers(addressOf(this.resource), this.definition ? "encoded_step" : "file_step"),
            `${addressOf(this.resource)}.registry_credential`,
            ...rerunWhen.map(addressOf),
          ],
        },
      });
      pinAddress(this.firstRun, `first_run_${addressPart(this.registry.registryName)}_${addressPart(this.taskName)}`);
    }
    return this.firstRun;
  }

  private addCredential(credential: TaskCredential): void {
    if (this.credentials.some((c) => c.loginServer === credential.loginServer)) {
      throw new Error(`${this.node.path}: a credential for ${credential.loginServer} is already set`);
    }
    this.credentials.push(credential);
    // A user-assigned identity is named by its client id (`--use-identity <client id>`).
    const identity = this.identity ? this.identity.clientId : "[system]";
    this.resource.putRegistryCredential({
      custom: this.credentials.map((c) =>
        c.mode === "identity"
          ? { loginServer: c.loginServer, identity }
          : {
              loginServer: c.loginServer,
              identity,
              username: c.secrets[0].id,
              password: c.secrets[1].id,
            },
      ),
    });
  }
}

/**
 * The parts of a task's step that decide what a run does, as `replace_triggered_by` references:
 * every argument of the step block but the Git token (`context_access_token`) and the secret values
 * (acr-gate sets neither `secret_values` nor a value file).
 */
export function stepTriggers(task: string, block: "encoded_step" | "file_step"): string[] {
  const parts = block === "encoded_step" ? ["task_content", "values", "context_path"] : ["task_file_path", "values", "context_path"];
  return parts.map((p) => `${task}.${block}[0].${p}`);
}

/** Splits `https://github.com/o/r.git#branch[:folder]` for a source trigger. */
function sourceOf(
  context: string,
): { repositoryUrl: string; branch: string; sourceType: "Github" | "VisualStudioTeamService" } | undefined {
  const [url, ref = "main"] = context.split("#");
  const branch = ref.split(":")[0];
  const host = new URL(url).hostname;
  if (host === "github.com") return { repositoryUrl: url, branch, sourceType: "Github" };
  if (host === "dev.azure.com" || host.endsWith(".visualstudio.com")) {
    return { repositoryUrl: url, branch, sourceType: "VisualStudioTeamService" };
  }
  return undefined;
}
