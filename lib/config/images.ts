/**
 * Image references the config names: split into repository and tag, and the pin rules of the images
 * that run tools (the scanner, the signer). Each rule is one pattern, given to editors in the JSON
 * Schema (`imageReference` fields' `patterns`/`notPatterns`) and applied by the cross-field check
 * of the section that uses it (gated images, signing), so the two never disagree.
 */

export interface ImageRef {
  readonly repository: string;
  readonly tag: string;
}

/** `repository:tag` (a rule of the field has made sure there is a tag) as its two parts. */
export function imageRef(ref: string): ImageRef {
  const i = ref.lastIndexOf(":");
  return { repository: ref.slice(0, i), tag: ref.slice(i + 1) };
}

/** A tag or a digest after the repository (a registry host's port aside). */
const PINNED = "^(?:[^/]*[.:][^/]*/)?[^:@]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*(?:@|$)|@sha256:)";
/** `latest` moves: it pins nothing, whatever digest follows it. */
const LATEST = ":latest(?:@|$)";

/**
 * Trivy 0.69.4-0.69.6 were malicious releases (GHSA-69fq-xp46-6x23, March 2026: 0.69.4 on every
 * registry, 0.69.5 and 0.69.6 on Docker Hub); refused on every registry, to be safe. Also the
 * per-architecture tags the release publishes (0.69.4-amd64, ...).
 */
const COMPROMISED_TRIVY = "(?:^|/)[Tt][Rr][Ii][Vv][Yy]:[Vv]?0\\.69\\.[456](?:-[A-Za-z0-9]+)?(?:@|$)";

/** The JSON Schema keywords of a pinned image field (for `named("imageReference", ..., PINNED_IMAGE_FIELD)`). */
export const PINNED_IMAGE_FIELD = { patterns: [PINNED], notPatterns: [LATEST] } as const;
/** The scanner's: pinned, and never a compromised Trivy release. */
export const SCANNER_IMAGE_FIELD = { patterns: [PINNED], notPatterns: [LATEST, COMPROMISED_TRIVY] } as const;

const pinned = new RegExp(PINNED);
const latest = new RegExp(LATEST);
const compromised = new RegExp(COMPROMISED_TRIVY);

/** Whether a valid image reference is pinned to a version tag or a digest, not to latest. */
export function isPinned(ref: string): boolean {
  return pinned.test(ref) && !latest.test(ref);
}

/** The compromised Trivy release a valid image reference names (`0.69.5`), or undefined. */
export function compromisedTrivyRelease(ref: string): string | undefined {
  const m = compromised.exec(ref);
  return m ? /\d+\.\d+\.\d+/.exec(m[0])![0] : undefined;
}
