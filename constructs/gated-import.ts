import { Construct } from "constructs";
import { TaskDefinition, TaskStep } from "../lib/task-yaml";
import { DEFAULT_SCANNER_IMAGE, ScanMode, Severity } from "../lib/config/gated-images";
import type { ImageRef } from "../lib/config/images";
import { RegistryTask } from "./registry-task";
import {
  attachEvidenceScript,
  comparePromotedScript,
  EVIDENCE_DIR,
  EVIDENCE_FILES,
  promoteScript,
  promoteUniqueScript,
  scriptStep,
  signScript,
  unlessUnchangedStep,
  verifyPromotedScript,
} from "../lib/run-scripts";
import { gateStep, promotingSteps, validatingSteps } from "../lib/gate-steps";
import type { IRegistry } from "./interfaces";

export interface GateTest {
  /** Git context with a Dockerfile built FROM the source image and a test it runs as its command. */
  readonly context: string;
  /** @default "Dockerfile" */
  readonly dockerfile?: string;
  /** @default 600 */
  readonly timeoutSeconds?: number;
}

export interface GateScan {
  /** `enforce` fails the run, and so blocks promotion, on findings at `failOn` or above. @default "enforce" */
  readonly mode?: ScanMode;
  /** @default "HIGH" */
  readonly failOn?: Severity;
  /** Ignore findings with no fixed version upstream. @default true */
  readonly ignoreUnfixed?: boolean;
  /** Scanner image, pinned by tag and digest. @default {@link DEFAULT_SCANNER_IMAGE} */
  readonly image?: string;
  /** @default 900 */
  readonly timeoutSeconds?: number;
}

export interface GatedImportProps {
  /** The base-artifacts registry the validated image is promoted into. */
  readonly registry: IRegistry;
  /** @default `base-import-<target repository>` */
  readonly taskName?: string;
  /** Image at the upstream, e.g. `node:15-alpine`. */
  readonly source: ImageRef;
  /** Where it is promoted. @default the source's repository and tag */
  readonly target?: ImageRef;
  /** Upstream prefix with trailing slash: `publicregistry.azurecr.io/` or `docker.io/`. */
  readonly upstreamUrl: string;
  /** The functional test. @default - none */
  readonly test?: GateTest;
  /** The vulnerability scan. @default - none */
  readonly scan?: GateScan;
  /** Must be true to promote with neither a test nor an enforcing scan. @default false */
  readonly allowUnvalidated?: boolean;
  /**
   * Run when the source image changes. Only possible with a test: the test build is the only step
   * whose runtime base image is the source, which is what ACR tracks.
   * @default true with a test, and false (no trigger) without
   */
  readonly baseImageTrigger?: boolean;
  /** Cron schedule (UTC) as a fallback trigger. @default - none */
  readonly timer?: string;
  /**
   * Sign what is promoted (Notation with the Azure Key Vault plugin, the task's system identity):
   * the unique tag is pushed, signed, and only then does the stable tag move, so the stable tag never
   * names an unsigned image. Grant the task `Sign` with `certificate.grantSign(gate.task)`.
   * @default - not signed
   */
  readonly signing?: GateSigning;
  /** Sensitive reference to the Git token, needed with a test context. */
  readonly gitAccessToken?: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export interface GateSigning {
  /**
   * `notation sign --id`: the certificate's versioned key id in Key Vault (Terraform reference;
   * {@link SigningCertificate.keyId}): the version app tasks verify with ({@link certificate}).
   */
  readonly keyId: string;
  /** The same version's public certificate, base64 DER (Terraform reference): the trust store of the re-sign check. */
  readonly certificate: string;
  /** An image whose entry point is `notation`, with the azure-kv plugin installed (help/signer/Dockerfile). */
  readonly signerImage: string;
}

const SEVERITY_ORDER: readonly Severity[] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];
/**
 * Where the scan reads the image from: the run's home volume, mounted in every step at /acb/home
 * and outside every build context. (In /workspace, the test build's context, the tar would race
 * the build and be sent to the Docker daemon with it.)
 */
const SCAN_INPUT = "/acb/home/source-image.tar";
/** Trivy's database, downloaded once per run by the scan and reused by the evidence steps. */
const SCANNER_CACHE = "--cache-dir /acb/home/trivy-cache";


/**
 * The gate between a public image and the teams that build on it (the walkthrough's
 * `base-import-node`, made stronger): pull the source, run the functional test and the
 * vulnerability scan, and only when every validation step succeeded move the stable tag and
 * keep a unique `<tag>-<run id>` tag for rollback.
 *
 * The task file is generated from a typed model and sent inline, so the gate needs no Git
 * repository of its own; a test context is still used for the user's test Dockerfile.
 */
export class GatedImport extends Construct {
  readonly task: RegistryTask;
  readonly definition: TaskDefinition;
  readonly source: ImageRef;
  readonly target: ImageRef;
  /** Ids of the steps that must succeed before anything is promoted (lib/gate-steps.ts: `validates`). */
  readonly validationSteps: readonly string[];
  /** Ids of the steps that change what the target registry holds (lib/gate-steps.ts: `promotes`); each waits for every validation step. */
  readonly promotionSteps: readonly string[];
  readonly signing?: GateSigning;

  constructor(scope: Construct, id: string, props: GatedImportProps) {
    super(scope, id);
    this.source = props.source;
    this.signing = props.signing;
    this.target = props.target ?? { repository: props.source.repository.replace(/^library\//, ""), tag: props.source.tag };
    const enforcing = props.scan !== undefined && (props.scan.mode ?? "enforce") === "enforce";
    if (!props.test && !enforcing && !props.allowUnvalidated) {
      throw new Error(
        `${this.node.path}: ${ref(this.source)} would be promoted unvalidated: give a test, an enforcing scan, or allowUnvalidated: true`,
      );
    }
    if (props.baseImageTrigger && !props.test) {
      throw new Error(`${this.node.path}.baseImageTrigger: cannot fire without a test: no build step has the source as its base image`);
    }
    if (!props.upstreamUrl.endsWith("/")) {
      throw new Error(`${this.node.path}.upstreamUrl: ${JSON.stringify(props.upstreamUrl)} must end with '/'`);
    }

    const src = `{{.Values.REGISTRY_FROM_URL}}${ref(this.source)}`;
    const stable = `{{.Run.Registry}}/${ref(this.target)}`;
    const unique = `{{.Run.Registry}}/${this.target.repository}:${this.target.tag}-{{.Run.ID}}`;
    const names = {
      SRC: src,
      STABLE: stable,
      STABLE_REPO: `{{.Run.Registry}}/${this.target.repository}`,
      UNIQUE: unique,
      UNIQUE_REPO: `{{.Run.Registry}}/${this.target.repository}`,
    };
    const steps: TaskStep[] = [{ id: "pull-source", cmd: `docker pull ${src}`, when: ["-"] }];
    // Promote only what changed (lib/run-scripts.ts), decided right after the pull: the stable tag
    // already naming this image (and, signing, signed by the current certificate, its evidence
    // attached) leaves a marker; the save, the scan and the evidence then end at once (an unchanged
    // run downloads no vulnerability database), and every promotion step pushes nothing. The
    // functional test still runs: its build is what ACR's base image trigger tracks (the build
    // starts right after the pull, beside the comparison and the scan; the test itself after them,
    // below).
    steps.push(scriptStep({ id: "compare-promoted", image: "docker", shell: "sh", script: comparePromotedScript(), env: pick(names, "SRC", "STABLE", "STABLE_REPO"), when: ["pull-source"] }));
    const tools = props.signing?.signerImage;
    // What the signature says it was promoted as; app tasks verify for their base image only.
    const target = ref(this.target);
    const signer = { SIGNING_KEY_ID: "{{.Values.SIGNING_KEY_ID}}", UNIQUE_REPO: names.UNIQUE_REPO };
    if (props.signing) {
      const trust = { GATE_CERTIFICATE: "{{.Values.GATE_CERTIFICATE}}", STABLE_REPO: names.STABLE_REPO, TARGET: target };
      steps.push(scriptStep({ id: "verify-promoted", image: tools!, shell: "bash", script: verifyPromotedScript(props.scan !== undefined), env: trust, when: ["compare-promoted"], timeout: 300 }));
    }
    /** The step after which the marker is final: what the skipping steps wait for. */
    const decided = props.signing ? "verify-promoted" : "compare-promoted";

    if (props.scan) {
      const failOn = props.scan.failOn ?? "HIGH";
      const severities = SEVERITY_ORDER.slice(SEVERITY_ORDER.indexOf(failOn)).join(",");
      const exitCode = (props.scan.mode ?? "enforce") === "enforce" ? 1 : 0;
      steps.push(
        unlessUnchangedStep({ id: "save-source", image: "docker", command: `docker save -o ${SCAN_INPUT} "$SRC"`, env: pick(names, "SRC"), when: [decided] }),
        unlessUnchangedStep({
          id: "vulnerability-scan",
          image: props.scan.image ?? DEFAULT_SCANNER_IMAGE,
          // Vulnerabilities only: Trivy's default scanners include secrets, and this is a vulnerability gate.
          command:
            `trivy image --input ${SCAN_INPUT} --scanners vuln --severity ${severities} ` +
            `--exit-code ${exitCode}${props.scan.ignoreUnfixed ?? true ? " --ignore-unfixed" : ""} ${SCANNER_CACHE} --no-progress`,
          when: ["save-source"],
          timeout: props.scan.timeoutSeconds ?? 900,
        }),
      );
      if (props.signing) {
        const scan = props.scan;
        // The evidence: everything the scanner saw, with the same database as the scan above
        // (--skip-db-update: the one it downloaded into the shared cache), not only what failed it.
        const evidenceScan = (id: string, format: string, output: string) =>
          unlessUnchangedStep({
            id,
            image: scan.image ?? DEFAULT_SCANNER_IMAGE,
            command: `trivy image --input ${SCAN_INPUT} --scanners vuln --format ${format}${format === "json" ? " --list-all-pkgs" : ""} --output ${EVIDENCE_DIR}/${output} ${SCANNER_CACHE} --skip-db-update --no-progress`,
            when: ["vulnerability-scan"],
            timeout: scan.timeoutSeconds ?? 900,
          });
        steps.push(evidenceScan("evidence-sbom", "cyclonedx", EVIDENCE_FILES.sbom), evidenceScan("evidence-report", "json", EVIDENCE_FILES.report));
      }
    }
    // The functional test runs the test image, built FROM the untrusted source, with the run's home
    // volume (where the marker and the saved tar are) and the Docker socket, as every cmd step has
    // them: it starts only once the save, the scan and the evidence have read what they need, so
    // upstream code can neither mark an image unchanged to skip its scan nor swap the scanned tar.
    const afterScan = props.scan ? (props.signing ? ["evidence-sbom", "evidence-report"] : ["vulnerability-scan"]) : [];
    if (props.test) {
      const testImage = `{{.Run.Registry}}/${this.target.repository}-import:test`;
      steps.push(
        {
          id: "build-test-image",
          // The test image's runtime base is the source image: that is what the base image trigger tracks.
          build:
            `-f ${props.test.dockerfile ?? "Dockerfile"} --build-arg REGISTRY_FROM_URL={{.Values.REGISTRY_FROM_URL}} ` +
            `--build-arg SOURCE_IMAGE=${src} -t ${testImage} .`,
          when: ["pull-source"],
        },
        { id: "functional-test", cmd: testImage, when: ["build-test-image", ...afterScan], timeout: props.test.timeoutSeconds ?? 600 },
      );
    }
    // Every promotion step waits for the decision and for every validation step (lib/gate-steps.ts):
    // the first one here directly, the others through it.
    const validations = validatingSteps(steps.map((s) => s.id));
    const gate = [decided, ...validations];
    if (props.signing) {
      const evidence = props.scan !== undefined;
      steps.push(
        // The unique tag names one digest for good; the stable tag moves to it only once it is signed.
        scriptStep({ id: "promote-unique", image: "docker", shell: "sh", script: promoteUniqueScript(), env: pick(names, "SRC", "UNIQUE", "UNIQUE_REPO"), when: gate }),
        scriptStep({ id: "sign", image: tools!, shell: "bash", script: signScript(), env: { ...signer, TARGET: target }, when: ["promote-unique"], timeout: 300 }),
      );
      const beforeStable = ["sign"];
      if (evidence) {
        const scan = props.scan!;
        const scanner = scan.image ?? DEFAULT_SCANNER_IMAGE;
        steps.push(
          scriptStep({
            id: "attach-evidence",
            image: tools!,
            shell: "bash",
            script: attachEvidenceScript(),
            env: {
              ...signer,
              SCANNER: scanner,
              SCAN_MODE: scan.mode ?? "enforce",
              FAIL_ON: scan.failOn ?? "HIGH",
              IGNORE_UNFIXED: String(scan.ignoreUnfixed ?? true),
            },
            when: ["sign", "evidence-sbom", "evidence-report"],
            timeout: 300,
          }),
        );
        beforeStable.push("attach-evidence");
      }
      steps.push(scriptStep({ id: "promote", image: "docker", shell: "sh", script: promoteScript(false), env: pick(names, "SRC", "STABLE"), when: beforeStable }));
    } else {
      steps.push(scriptStep({ id: "promote", image: "docker", shell: "sh", script: promoteScript(true), env: pick(names, "SRC", "STABLE", "UNIQUE"), when: gate }));
    }
    const ids = steps.map((s) => s.id);
    const undeclared = ids.filter((s) => gateStep(s) === undefined);
    if (undeclared.length) throw new Error(`${this.node.path}: gate steps ${undeclared.join(", ")} are not declared in lib/gate-steps.ts`);
    this.validationSteps = validatingSteps(ids);
    this.promotionSteps = promotingSteps(ids);
    this.definition = { version: "v1.1.0", steps };

    this.task = new RegistryTask(this, "task", {
      registry: props.registry,
      name: props.taskName ?? `base-import-${this.target.repository.replace(/[^a-zA-Z0-9-]/g, "-")}`,
      step: { kind: "encoded", definition: this.definition, context: props.test?.context },
      gitAccessToken: props.gitAccessToken,
      values: {
        REGISTRY_FROM_URL: props.upstreamUrl,
        ...(props.signing ? { SIGNING_KEY_ID: props.signing.keyId, GATE_CERTIFICATE: props.signing.certificate } : {}),
      },
      baseImageTrigger: props.baseImageTrigger ?? props.test !== undefined,
      images: { from: `${props.upstreamUrl}${ref(this.source)}`, builds: `${props.registry.loginServerName}/${ref(this.target)}` },
      tags: props.tags,
      timer: props.timer,
    });
  }
}

function pick<T extends Record<string, string>, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

function ref(image: ImageRef): string {
  return `${image.repository}:${image.tag}`;
}
