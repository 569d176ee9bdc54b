import { Construct } from "constructs";
import { RegistryTask } from "./registry-task";
import type { IRegistry } from "./interfaces";
import type { TaskDefinition } from "../lib/task-yaml";
import { SIGNER_REPOSITORY, SIGNER_TAG, SIGNER_TASK } from "../lib/config/signing";

/** The tools the gates' and app tasks' scripts run in the signer image (lib/run-scripts.ts). */
const SIGNER_CHECK =
  'notation version && oras version && openssl version && for t in bash base64 grep sed tail cut mktemp; do command -v $t > /dev/null || { echo "acr-gate - the signer image lacks $t (copy the current help/signer/Dockerfile)" >&2; exit 1; }; done';

export interface SignerImageProps {
  /** The registry the gates run in: the signer image is pulled from there with the run's own access. */
  readonly registry: IRegistry;
  /** Git folder holding help/signer/Dockerfile (a repository of yours), `https://github.com/<o>/<r>.git#<branch>:<folder>`. */
  readonly context: string;
  /** Sensitive reference to the Git token. */
  readonly gitAccessToken: string;
  readonly tags?: Record<string, string>;
}

/**
 * The image the signing step runs (notation with the Azure Key Vault plugin), built by a task in the
 * gates' own registry from the Dockerfile acr-gate ships (help/signer/Dockerfile), so that a fresh
 * deployment has it before any gate's first run: the gates list this task upstream of theirs.
 */
export class SignerImage extends Construct {
  /** `<login server>/tools/notation-azure-kv:<notation>-<plugin>`. */
  readonly image: string;
  readonly task: RegistryTask;

  constructor(scope: Construct, id: string, props: SignerImageProps) {
    super(scope, id);
    const ref = `${SIGNER_REPOSITORY}:${SIGNER_TAG}`;
    this.image = `${props.registry.loginServerName}/${ref}`;
    const definition: TaskDefinition = {
      version: "v1.1.0",
      steps: [
        { id: "build-signer", build: `-t {{.Run.Registry}}/${ref} -f Dockerfile .`, when: ["-"] },
        // A Dockerfile copied before oras joined it would build an image the gates cannot attach
        // evidence with: refuse to push it, with the reason in this run's log.
        {
          id: "check-signer",
          cmd: `{{.Run.Registry}}/${ref} -c '${SIGNER_CHECK}'`,
          entryPoint: "bash",
          when: ["build-signer"],
        },
        { id: "push-signer", push: [`{{.Run.Registry}}/${ref}`], when: ["check-signer"] },
      ],
    };
    this.task = new RegistryTask(this, "task", {
      registry: props.registry,
      name: SIGNER_TASK,
      step: { kind: "encoded", definition, context: props.context },
      gitAccessToken: props.gitAccessToken,
      // Rebuilt when its base image (Azure Linux) is patched; the versions it installs are pinned.
      baseImageTrigger: true,
      images: { builds: this.image },
      tags: props.tags,
    });
  }
}
