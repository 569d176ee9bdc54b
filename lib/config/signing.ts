/**
 * `signing`: Notation signatures on every promoted image, with a certificate in the vault and a
 * signer image acr-gate builds (signerContext) or the user keeps (signerImage).
 */
import { z } from "zod";
import { anyCase } from "../rules";
import { bool, int, named, strict } from "./fields";
import { Check, fail, rec, str, valid } from "./cross-field";
import { isPinned, PINNED_IMAGE_FIELD } from "./images";

/** Where the default signer image lives in the base-artifacts registry (help/signer/Dockerfile). */
export const SIGNER_REPOSITORY = "tools/notation-azure-kv";
export const SIGNER_TAG = "1.3.2-1.2.1-oras1.2.0";
/** The task that builds it there (with signerContext). */
export const SIGNER_TASK = "build-signer";

const DEFAULT_CERTIFICATE = "acr-gate-signing";
/** acr-gate's own secret names in the vault: Key Vault keeps a certificate's secret under the certificate's name. */
const SECRET_NAMES = ["github-token"];
const SECRET_PREFIXES = ["registry-"];
const DEFAULT_VALIDITY_MONTHS = 12;

export const signingSchema = strict(
  {
    enabled: bool(false, "Sign every promoted image with Notation and a Key Vault certificate, by the gate's own identity (help/signing.md)"),
    certificateName: named("keyVaultCertificate", "The signing certificate's name in the vault; not `github-token` or `registry-*` (Key Vault keeps a certificate's secret under its name)", {
      notPatterns: [...SECRET_NAMES.map((n) => `${anyCase(n)}$`), ...SECRET_PREFIXES.map(anyCase)],
    }).default(DEFAULT_CERTIFICATE),
    existingCertificate: bool(false, "Use the certificate of that name already in the vault (it must meet Notation's rules) instead of creating a self-signed one"),
    subject: named("certificateSubject", "Subject of the self-signed certificate, what verifiers trust (default `CN=<baseArtifactsRegistry.name>.azurecr.io,O=acr-gate,ST=Washington,C=US`: set your organization's)").optional(),
    validityMonths: int(1, 120, DEFAULT_VALIDITY_MONTHS, "Validity of the self-signed certificate; Key Vault renews it 30 days before expiry"),
    signerContext: named(
      "gitContext",
      "A Git folder of yours holding help/signer/Dockerfile, `https://github.com/<owner>/<repo>.git#<branch>:<folder>`: acr-gate builds the signer image from it in base artifacts before the gates' first runs (task build-signer)",
    ).optional(),
    signerImage: named(
      "imageReference",
      "Or an image you built and keep from help/signer/Dockerfile: notation with the azure-kv plugin, oras, bash, base64 and openssl; pinned by tag or digest, in the base-artifacts registry (gates and app tasks pull it there); it must exist before the gates' first runs",
      PINNED_IMAGE_FIELD,
    ).optional(),
  },
  "Signed promotions (off by default)",
).prefault({});

export const signingSubject = (c: Record<string, unknown>) => {
  const base = rec(c.baseArtifactsRegistry);
  return str(rec(c.signing).subject) ?? (valid("registry", base.name) ? `CN=${base.name.toLowerCase()}.azurecr.io,O=acr-gate,ST=Washington,C=US` : undefined);
};

export const signerImage = (c: Record<string, unknown>) => {
  const base = rec(c.baseArtifactsRegistry);
  return str(rec(c.signing).signerImage) ?? (valid("registry", base.name) ? `${base.name.toLowerCase()}.azurecr.io/${SIGNER_REPOSITORY}:${SIGNER_TAG}` : undefined);
};

/** Whether acr-gate builds the signer image (task {@link SIGNER_TASK} into {@link SIGNER_REPOSITORY}). */
export const signerBuilt = (c: Record<string, unknown>) => rec(c.signing).enabled === true && rec(c.signing).signerContext !== undefined;

/** The certificate shares the vault's namespace with its secrets; the signer image is pinned, in base artifacts. */
export function signingRules({ ctx, c }: Check): void {
  const signing = rec(c.signing);
  const certName = str(signing.certificateName) ?? DEFAULT_CERTIFICATE;
  const lower = certName.toLowerCase();
  if (valid("keyVaultCertificate", certName) && (SECRET_NAMES.includes(lower) || SECRET_PREFIXES.some((p) => lower.startsWith(p)))) {
    // Key Vault stores a certificate's key and secret under the certificate's name.
    fail(ctx, ["signing", "certificateName"], certName, "collides with acr-gate's secret names (github-token, registry-*): Key Vault keeps a certificate's secret under its name");
  }
  if (signing.existingCertificate === true) {
    for (const k of ["subject", "validityMonths"] as const) {
      if (signing[k] !== undefined && !(k === "validityMonths" && signing[k] === DEFAULT_VALIDITY_MONTHS)) fail(ctx, ["signing", k], signing[k], "has no effect with signing.existingCertificate: acr-gate creates no certificate then");
    }
  }
  if (signing.enabled === true && signing.signerContext === undefined && signing.signerImage === undefined) {
    fail(
      ctx,
      ["signing", "signerContext"],
      undefined,
      "is required when signing.enabled is true (or signing.signerImage): the gates sign with an image holding notation and its Key Vault plugin, which no registry publishes; point signerContext at a Git folder of yours holding help/signer/Dockerfile and acr-gate builds it before the first runs",
    );
  }
  if (signing.signerContext !== undefined && signing.signerImage !== undefined) {
    fail(ctx, ["signing", "signerImage"], signing.signerImage, "cannot be set with signing.signerContext, which makes acr-gate build the signer image; choose one");
  }
  if (typeof signing.signerImage === "string" && valid("imageReference", signing.signerImage)) {
    // Gates pull it with their run's access, app tasks with their base-artifacts access: both reach only base artifacts.
    const base = str(rec(c.baseArtifactsRegistry).name);
    // `<name>.azurecr.io:443/...` is the same registry.
    if (signing.enabled === true && base !== undefined && !signing.signerImage.toLowerCase().replace(/^([^/]+):443\//, "$1/").startsWith(`${base.toLowerCase()}.azurecr.io/`)) {
      fail(ctx, ["signing", "signerImage"], signing.signerImage, `must be in the base-artifacts registry (${base.toLowerCase()}.azurecr.io/...): the gates and the app tasks pull it with access to that registry only`);
    }
    if (!isPinned(signing.signerImage)) {
      fail(ctx, ["signing", "signerImage"], signing.signerImage, "must be pinned to a version tag or a digest (not latest): it holds the signing tool");
    }
  }
}

export function resolveSigning(s: z.output<typeof signingSchema>, file: Record<string, unknown>) {
  return {
    enabled: s.enabled,
    certificateName: s.certificateName,
    existingCertificate: s.existingCertificate,
    subject: signingSubject(file)!,
    validityMonths: s.validityMonths,
    signerImage: signerImage(file)!,
    /** null: the signer image is the user's (signerImage). */
    signerContext: s.signerContext ?? null,
  };
}
