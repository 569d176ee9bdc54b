/**
 * The app's build-and-deploy task file (the walkthrough's hello-world `acr-task.yaml`), generated
 * so that its deploy step always matches the container group Terraform manages.
 */
import type { TaskDefinition, TaskSecret } from "./task-yaml";

export interface AppTaskOptions {
  /** Repository of the app image in the team registry, e.g. `hello-world`. */
  readonly imageRepository: string;
  /** The deploy command for `{{.Run.Registry}}/<repo>:{{.Run.ID}}` (ContainerApp.deployCommand). */
  readonly deployCommand: (image: string, secrets?: { user: string; password: string }) => string;
  /** Read the registry user and password from Key Vault (token mode), as the upstream file does. */
  readonly readRegistrySecrets: boolean;
}

export function appTaskDefinition(o: AppTaskOptions): TaskDefinition {
  const image = `{{.Run.Registry}}/${o.imageRepository}:{{.Run.ID}}`;
  const secrets: TaskSecret[] = o.readRegistrySecrets
    ? [
        {
          id: "registry-user",
          keyvault: "https://{{.Values.KEYVAULT}}.vault.azure.net/secrets/registry-{{.Run.RegistryName}}-user",
        },
        {
          id: "registry-password",
          keyvault: "https://{{.Values.KEYVAULT}}.vault.azure.net/secrets/registry-{{.Run.RegistryName}}-password",
        },
      ]
    : [];
  const deploy = o.deployCommand(
    image,
    o.readRegistrySecrets
      ? { user: '{{index .Secrets "registry-user"}}', password: '{{index .Secrets "registry-password"}}' }
      : undefined,
  );
  return {
    version: "v1.1.0",
    secrets,
    steps: [
      {
        id: "build-app",
        build: `--build-arg REGISTRY_FROM_URL={{.Values.REGISTRY_FROM_URL}} -t ${image} -f Dockerfile .`,
        when: ["-"],
      },
      { id: "push-app", push: [image], when: ["build-app"] },
      { id: "az-login", cmd: "az login --identity --allow-no-subscriptions --output none", when: ["-"] },
      { id: "deploy-aci", cmd: deploy, when: ["az-login", "push-app"] },
    ],
  };
}
