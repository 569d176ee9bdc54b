/**
 * The app's build-and-deploy task file (the walkthrough's hello-world `acr-task.yaml`), generated
 * so that its deploy step always matches the container group Terraform manages.
 */
import type { TaskDefinition, TaskSecret, TaskStep } from "./task-yaml";
import { pullBaseScript, scriptStep, verifyBaseScript } from "./run-scripts";

export interface AppTaskOptions {
  /** Repository of the app image in the team registry, e.g. `hello-world`. */
  readonly imageRepository: string;
  /** The deploy command for `{{.Run.Registry}}/<repo>:{{.Run.ID}}` (ContainerApp.deployCommand). */
  readonly deployCommand: (image: string, secrets?: { user: string; password: string }) => string;
  /** Read the registry user and password from Key Vault (token mode), as the upstream file does. */
  readonly readRegistrySecrets: boolean;
  /**
   * The client id of the user-assigned identity the task runs as, as the task file names it (a
   * task value, `{{.Values.TASK_IDENTITY}}`: the id is a Terraform reference, which cannot go into
   * the encoded file): its Key Vault references and `az login` use it. A task with a user-assigned
   * identity only has no system one to fall back on.
   * @default - the task's system-assigned identity
   */
  readonly identityClientId?: string;
  /**
   * Verify before use (signing on): pull the base image, verify its digest against the gate's
   * certificate (task value GATE_CERTIFICATE) with `toolsImage`, and build on that very image.
   * @default - no verification (signing off: nothing signs the base images)
   */
  readonly verifyBase?: {
    /** `<registry>/<repository>:<tag>`, as the Dockerfile's FROM names it. */
    readonly image: string;
    /** `<registry>/<repository>`. */
    readonly repository: string;
    /** `<repository>:<tag>`: what the gate signed it as (its user metadata `io.acr-gate.target`). */
    readonly target: string;
    readonly toolsImage: string;
  };
}

export function appTaskDefinition(o: AppTaskOptions): TaskDefinition {
  const image = `{{.Run.Registry}}/${o.imageRepository}:{{.Run.ID}}`;
  const clientID = o.identityClientId !== undefined ? { clientID: o.identityClientId } : {};
  const secrets: TaskSecret[] = o.readRegistrySecrets
    ? [
        {
          id: "registry-user",
          keyvault: "https://{{.Values.KEYVAULT}}.vault.azure.net/secrets/registry-{{.Run.RegistryName}}-user",
          ...clientID,
        },
        {
          id: "registry-password",
          keyvault: "https://{{.Values.KEYVAULT}}.vault.azure.net/secrets/registry-{{.Run.RegistryName}}-password",
          ...clientID,
        },
      ]
    : [];
  // --username <client id> picks the user-assigned identity (the only one such a task has).
  const login = `az login --identity${o.identityClientId !== undefined ? ` --username ${o.identityClientId}` : ""} --allow-no-subscriptions --output none`;
  const deploy = o.deployCommand(
    image,
    o.readRegistrySecrets
      ? { user: '{{index .Secrets "registry-user"}}', password: '{{index .Secrets "registry-password"}}' }
      : undefined,
  );
  const v = o.verifyBase;
  const verify: TaskStep[] = v
    ? [
        scriptStep({ id: "pull-base", image: "docker", shell: "sh", script: pullBaseScript(), env: { BASE: v.image, BASE_REPO: v.repository }, when: ["-"] }),
        scriptStep({
          id: "verify-base",
          image: v.toolsImage,
          shell: "bash",
          script: verifyBaseScript(),
          env: { BASE: v.image, BASE_REPO: v.repository, TARGET: v.target, GATE_CERTIFICATE: "{{.Values.GATE_CERTIFICATE}}" },
          when: ["pull-base"],
          timeout: 300,
        }),
      ]
    : [];
  return {
    version: "v1.1.0",
    secrets,
    steps: [
      ...verify,
      {
        id: "build-app",
        build: `--build-arg REGISTRY_FROM_URL={{.Values.REGISTRY_FROM_URL}} -t ${image} -f Dockerfile .`,
        when: v ? ["verify-base"] : ["-"],
      },
      { id: "push-app", push: [image], when: ["build-app"] },
      { id: "az-login", cmd: login, when: ["-"] },
      { id: "deploy-aci", cmd: deploy, when: ["az-login", "push-app"] },
    ],
  };
}
