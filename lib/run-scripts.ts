/**
 * The shell steps acr-gate's task files run inside ACR Tasks steps: where a step must decide
 * something at run time (is this digest signed by the gate? did the upstream change?), which a
 * task file's static step graph cannot express.
 *
 * How acb runs a `cmd` step (acr-builder 90b22f3, `acb exec --dry-run`): the host's `/bin/sh -c
 * "docker run ... --env NAME=value ... IMAGE ARGS"`, every step with the run's home volume at
 * `/acb/home` and the Docker socket. So:
 * - each script is one single-quoted word: the host shell passes it through untouched, and it may
 *   hold no single quote;
 * - the values a script reads come in `--env NAME=value`, unquoted on the host's command line:
 *   each must render to one word of safe characters (image references, base64, URLs), never
 *   config prose; the scripts quote every expansion ("$X") so a value stays data inside too;
 * - no `{{`, `}}` (ACR renders the whole task file as a Go template first), no `${` or `%{`
 *   (kept out of anything that could reach Terraform);
 * - files pass from step to step under {@link RUN_STATE} on the home volume.
 */
import type { CmdStep } from "./task-yaml";

/** Where the steps of one run hand files to each other: the run's home volume, in every step. */
export const RUN_STATE = "/acb/home/acr-gate";

/** The notation trust store (type `ca`, name) the verify steps write; only the gate's certificate is in it. */
export const TRUST_STORE = "ca:acr-gate";

/** Artifact types of the evidence a gate attaches to what it promotes (help/signing.md, "Evidence"). */
export const EVIDENCE_TYPES = {
  sbom: "application/vnd.cyclonedx+json",
  report: "application/vnd.acr-gate.trivy-report.v1+json",
} as const;

/** The environment a script reads: names in capitals, values that render to one safe word. */
export type ScriptEnv = Readonly<Record<string, string>>;

/** `{{.Run.X}}` / `{{.Values.X}}` are ACR's; everything else in a value must be a plain word. */
const SAFE_VALUE = /^(?:[A-Za-z0-9._:/@+=,-]|\{\{\.(?:Run|Values)\.[A-Za-z_][A-Za-z0-9_]*\}\})+$/;

/**
 * A step that runs `script` with `shell` in `image` (the shell as its entry point), reading `env`.
 * Throws on a script or value that could escape its quoting: these are acr-gate's own texts, so
 * that is a bug here, never a config problem.
 */
export function scriptStep(
  o: { id: string; image: string; shell: "sh" | "bash"; script: readonly string[]; env: ScriptEnv; when: readonly string[]; timeout?: number },
): CmdStep {
  const script = o.script.join("; ");
  for (const bad of ["'", "{{", "}}", "${", "%{", "\n", ": ", " #"]) {
    if (script.includes(bad)) throw new Error(`script of step ${o.id}: contains ${JSON.stringify(bad)}`);
  }
  const env = Object.entries(o.env).map(([k, v]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) throw new Error(`step ${o.id}: env name ${JSON.stringify(k)}`);
    if (!SAFE_VALUE.test(v)) throw new Error(`step ${o.id}: env ${k}=${JSON.stringify(v)} is not one safe word`);
    return `${k}=${v}`;
  });
  return { id: o.id, cmd: `${o.image} -c '${script}'`, entryPoint: o.shell, env, when: o.when, ...(o.timeout ? { timeout: o.timeout } : {}) };
}

/** Fails the step unless `file` holds `repo@sha256:<64 hex>` of the repository in `$repoVar`. */
function requireDigestRef(file: string, repoVar: string, what: string): string[] {
  return [
    `ref="$(cat ${file} 2>/dev/null || true)"`,
    `case "$ref" in "$${repoVar}"@sha256:????????????????????????????????????????????????????????????????) ;; *) echo "acr-gate - no digest of $${repoVar} for ${what} (read [$ref])" >&2; exit 1;; esac`,
  ];
}

/**
 * The digest a `docker pull` ("Digest: sha256:...") or `docker push` ("<tag>: digest: sha256:...
 * size: ...") printed into `$out`: the manifest that very transfer moved, not one of the image's
 * other names (`docker image inspect` lists RepoDigests sorted, not by what was pushed). Empty when
 * there is none (`|| true`: under `set -e` a failed substitution would end the step before the
 * step's own message says why).
 */
const DIGEST_OF_OUT = `"$(printf "%s" "$out" | grep -o "[Dd]igest. sha256.[0-9a-f]\\{64\\}" | tail -n 1 | grep -o "sha256.[0-9a-f]*" || true)"`;

/** The image id (config digest) of local image `$var`, from `docker image inspect` JSON (no Go template). */
const imageId = (v: string) => `"$(docker image inspect "$${v}" 2>/dev/null | grep -o "\\"Id\\". *\\"sha256.[0-9a-f]*\\"" | head -n 1 | grep -o "sha256.[0-9a-f]*" || true)"`;

/**
 * The notation trust store and policy for the gate's certificate, from its public part in
 * `$GATE_CERTIFICATE` (base64 DER, as Key Vault gives it): strict verification, only that
 * certificate trusted, only for the repository in `$scopeVar`. Written into the step's own
 * container (the image's notation config directory), so each verify step sets it up itself.
 */
export function trustSetup(scopeVar: string): string[] {
  const policy =
    '{\\"version\\":\\"1.0\\",\\"trustPolicies\\":[{\\"name\\":\\"acr-gate\\",\\"registryScopes\\":[\\"$' + scopeVar + '\\"],' +
    `\\"signatureVerification\\":{\\"level\\":\\"strict\\"},\\"trustStores\\":[\\"${TRUST_STORE}\\"],\\"trustedIdentities\\":[\\"*\\"]}]}`;
  return [
    `t="$(mktemp -d)"`,
    `printf "%s" "$GATE_CERTIFICATE" | base64 -d > "$t/gate.der"`,
    `openssl x509 -inform DER -in "$t/gate.der" -out "$t/gate.pem"`,
    `notation cert add --type ca --store ${TRUST_STORE.slice(3)} "$t/gate.pem" > /dev/null`,
    `printf "%s" "${policy}" > "$t/trustpolicy.json"`,
    `notation policy import --force "$t/trustpolicy.json" > /dev/null`,
  ];
}

/**
 * The signature's user metadata naming what the gate promoted it as (`<repository>:<tag>` in
 * `$TARGET`): a verifier that asks for it refuses a digest the gate signed for another image
 * (a leaked push credential re-tagging one signed digest as another base image).
 */
const TARGET_METADATA = `--user-metadata "${"io.acr-gate.target"}=$TARGET"`;

// --- App tasks: verify before use --------------------------------------------------------------

/** Env: BASE (`<login server>/<repo>:<tag>`), BASE_REPO. Pulls the base image; records the digest pulled. */
export function pullBaseScript(): string[] {
  return [
    "set -eu",
    `mkdir -p ${RUN_STATE}`,
    `out="$(docker pull "$BASE")"`,
    `echo "$out"`,
    `d=${DIGEST_OF_OUT}`,
    `if [ -z "$d" ]; then echo "acr-gate - docker pull printed no digest for $BASE" >&2; exit 1; fi`,
    `echo "$BASE_REPO@$d" > ${RUN_STATE}/base.ref`,
  ];
}

/**
 * Env: BASE_REPO, TARGET, GATE_CERTIFICATE. Verifies the digest pullBaseScript recorded, signed by
 * the gate for this very base image (TARGET), the image now in the local engine under BASE, which
 * the build then uses (acb builds with the classic builder and no --pull, so the local image is
 * the base). No valid signature: the step fails.
 */
export function verifyBaseScript(): string[] {
  return [
    "set -eu",
    ...requireDigestRef(`${RUN_STATE}/base.ref`, "BASE_REPO", "the base image"),
    ...trustSetup("BASE_REPO"),
    `notation verify ${TARGET_METADATA} "$ref"`,
    `echo "acr-gate - building on $ref, signed by the gate as $TARGET"`,
  ];
}

// --- Gates: promote only what changed; sign; attach evidence ------------------------------------

/** Present and non-empty: the stable tag already is this image, signed; nothing to promote. */
const UNCHANGED = `${RUN_STATE}/promoted.ref`;
const UNIQUE_REF = `${RUN_STATE}/unique.ref`;
/** Ends the step, saying why, when the marker says the stable tag already is this image. */
const ifUnchangedEnd = (why: string) => `if [ -s ${UNCHANGED} ]; then echo "acr-gate - unchanged, ${why}"; exit 0; fi`;
const skipIfUnchanged = ifUnchangedEnd("no new tag");

/**
 * A step that runs `command` with `sh` in `image` unless the stable tag already is this image
 * (the marker compare-promoted, and with signing verify-promoted, leave): the save, the scan and
 * the evidence of a gate, so an unchanged upstream is not saved, scanned (no vulnerability
 * database download) or evidenced again. `exec`: the command's exit code is the step's, so an
 * enforcing scan still fails the run. The image needs `sh` and the command's program on its PATH
 * (the `docker` image; Trivy's official image, Alpine-based, has both).
 */
export function unlessUnchangedStep(
  o: { id: string; image: string; command: string; env?: ScriptEnv; when: readonly string[]; timeout?: number },
): CmdStep {
  return scriptStep({ ...o, shell: "sh", script: [ifUnchangedEnd(`${o.id} not run again`), `exec ${o.command}`], env: o.env ?? {} });
}

/** Where the evidence files are, relative paths for oras (it refuses absolute ones). */
export const EVIDENCE_DIR = "/acb/home";
export const EVIDENCE_FILES = { sbom: "sbom.cdx.json", report: "trivy-report.json", dbMetadata: "trivy-cache/db/metadata.json" } as const;

/**
 * Env: SRC, STABLE, STABLE_REPO. Pulls what the stable tag names now and compares image ids (the
 * config digest: the same content whatever manifest carries it); equal, it records the digest
 * pulled as unchanged. Not found (a first run) or not readable counts as changed: promote.
 */
export function comparePromotedScript(): string[] {
  return [
    "set -eu",
    `mkdir -p ${RUN_STATE}`,
    `rm -f ${UNCHANGED}`,
    `src=${imageId("SRC")}`,
    `if [ -n "$src" ] && out="$(docker pull "$STABLE" 2>&1)" && [ ${imageId("STABLE")} = "$src" ]; then d=${DIGEST_OF_OUT}; if [ -n "$d" ]; then echo "$STABLE_REPO@$d" > ${UNCHANGED}; fi; fi`,
    `if [ -s ${UNCHANGED} ]; then echo "acr-gate - $STABLE already is $src"; else echo "acr-gate - $STABLE is not [$src], promoting"; fi`,
  ];
}

/**
 * Env: GATE_CERTIFICATE, STABLE_REPO, TARGET. An unchanged stable digest still counts as changed
 * unless the gate's current certificate verifies it as TARGET and (with `evidence`) its SBOM and
 * report are attached: a renewed certificate or an older promotion get signed and evidenced again,
 * under a new unique tag.
 */
export function verifyPromotedScript(evidence: boolean): string[] {
  const check = [
    `notation verify ${TARGET_METADATA} "$ref" > /dev/null`,
    ...(evidence
      ? Object.values(EVIDENCE_TYPES).map((type) => `oras discover --format json --artifact-type ${type} "$ref" | grep -q "\\"artifactType\\". *\\"${type}\\""`)
      : []),
  ].join(" && ");
  return [
    "set -eu",
    `if [ ! -s ${UNCHANGED} ]; then exit 0; fi`,
    ...requireDigestRef(UNCHANGED, "STABLE_REPO", "the stable tag"),
    ...trustSetup("STABLE_REPO"),
    `if ${check}; then echo "acr-gate - $ref is signed${evidence ? " and evidenced" : ""}, nothing to promote"; else echo "acr-gate - $ref lacks the current signature${evidence ? " or evidence" : ""}, promoting again"; rm -f ${UNCHANGED}; fi`,
  ];
}

/** Env: SRC, UNIQUE, UNIQUE_REPO. Tags and pushes the unique tag (unless unchanged); records the digest pushed. */
export function promoteUniqueScript(): string[] {
  return [
    "set -eu",
    skipIfUnchanged,
    `docker tag "$SRC" "$UNIQUE"`,
    `out="$(docker push "$UNIQUE")"`,
    `echo "$out"`,
    `d=${DIGEST_OF_OUT}`,
    `if [ -z "$d" ]; then echo "acr-gate - docker push printed no digest for $UNIQUE" >&2; exit 1; fi`,
    `echo "$UNIQUE_REPO@$d" > ${UNIQUE_REF}`,
  ];
}

/** Env: SRC, STABLE, and without signing UNIQUE: pushes the unique tag, then moves the stable one (unless unchanged). */
export function promoteScript(withUnique: boolean): string[] {
  return [
    "set -eu",
    skipIfUnchanged,
    ...(withUnique ? [`docker tag "$SRC" "$UNIQUE"`, `docker push "$UNIQUE"`] : []),
    `docker tag "$SRC" "$STABLE"`,
    `docker push "$STABLE"`,
  ];
}

const NOTATION_SIGN =
  'notation sign --signature-format cose --id "$SIGNING_KEY_ID" --plugin azure-kv --plugin-config self_signed=true --plugin-config credential_type=managedid';

/** Env: SIGNING_KEY_ID, UNIQUE_REPO, TARGET. Signs the digest the unique tag was pushed as, as TARGET (unless unchanged). */
export function signScript(): string[] {
  return ["set -eu", skipIfUnchanged, ...requireDigestRef(UNIQUE_REF, "UNIQUE_REPO", "the unique tag"), `${NOTATION_SIGN} ${TARGET_METADATA} "$ref"`];
}

/**
 * Env: SIGNING_KEY_ID, UNIQUE_REPO, SCANNER, SCAN_MODE, FAIL_ON, IGNORE_UNFIXED. Attaches the SBOM
 * and the Trivy report (with the vulnerability database's metadata) to the promoted digest as OCI
 * referrers, annotated with how the gate scanned, and signs each (unless unchanged).
 */
export function attachEvidenceScript(): string[] {
  const files = EVIDENCE_FILES;
  const annotations =
    '--annotation "dev.acr-gate.scanner=$SCANNER" --annotation "dev.acr-gate.scan.mode=$SCAN_MODE" ' +
    '--annotation "dev.acr-gate.scan.fail-on=$FAIL_ON" --annotation "dev.acr-gate.scan.ignore-unfixed=$IGNORE_UNFIXED"';
  const attach = (type: string, parts: string) => [
    `out="$(oras attach --artifact-type ${type} ${annotations} "$ref" ${parts})"`,
    `echo "$out"`,
    `d=${DIGEST_OF_OUT}`,
    `if [ -z "$d" ]; then echo "acr-gate - oras printed no digest for ${type}" >&2; exit 1; fi`,
    `${NOTATION_SIGN} "$UNIQUE_REPO@$d"`,
  ];
  return [
    "set -eu",
    skipIfUnchanged,
    ...requireDigestRef(UNIQUE_REF, "UNIQUE_REPO", "the unique tag"),
    `cd ${EVIDENCE_DIR}`,
    ...attach(EVIDENCE_TYPES.sbom, `${files.sbom}:application/vnd.cyclonedx+json`),
    ...attach(EVIDENCE_TYPES.report, `${files.report}:application/json ${files.dbMetadata}:application/json`),
  ];
}

/** Every script acr-gate writes, as its task files carry it: what `npm run check-tasks` compares each script step with. */
export function allScripts(): string[] {
  return [
    pullBaseScript(),
    verifyBaseScript(),
    comparePromotedScript(),
    verifyPromotedScript(true),
    verifyPromotedScript(false),
    promoteUniqueScript(),
    promoteScript(true),
    promoteScript(false),
    signScript(),
    attachEvidenceScript(),
  ].map((lines) => lines.join("; "));
}
