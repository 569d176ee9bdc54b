/**
 * The lab's local registries read and written through the registry API (CNCF distribution's v2
 * API), from inside the lab's namespace, where they listen.
 */
import type { LabHost } from "./lab-host";

/** Registry contents by the name of what each local registry stands in for: repository => tag => digest. */
export type RegistryContents = Record<string, Record<string, Record<string, string>>>;

/** Every repository, tag and digest of every local registry, by the login server each stands in for (the registry API, from inside the namespace). */
export function registryContents(host: LabHost, registries: ReadonlyMap<string, string>): RegistryContents {
  const script = `
    const http = require("http");
    const get = (host, p, accept) => new Promise((ok, ko) => {
      const req = http.request({ host: "127.0.0.1", port: host.split(":")[1], path: p, method: accept ? "HEAD" : "GET",
        headers: accept ? { Accept: accept } : {} }, (res) => { let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => ok({ res, b })); });
      req.on("error", ko); req.end();
    });
    const ACCEPT = ["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"].join(", ");
    (async () => {
      const out = {};
      for (const [name, host] of JSON.parse(process.argv[1])) {
        const repos = JSON.parse((await get(host, "/v2/_catalog?n=1000")).b).repositories || [];
        out[name] = {};
        for (const repo of repos) {
          const tags = JSON.parse((await get(host, "/v2/" + repo + "/tags/list")).b).tags || [];
          if (!tags.length) continue;
          out[name][repo] = {};
          for (const tag of tags.sort()) out[name][repo][tag] = (await get(host, "/v2/" + repo + "/manifests/" + tag, ACCEPT)).res.headers["docker-content-digest"];
        }
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e.message); process.exit(1); });`;
  const out = host.must([process.execPath, "-e", script, JSON.stringify([...registries])]);
  return JSON.parse(out);
}

/** Copies a manifest within a registry (what `az acr import --force` does server-side): the same digest under `to`. */
export function copyManifest(host: LabHost, registryAddress: string, repo: string, from: string, to: string): void {
  const script = `
    const http = require("http");
    const host = "127.0.0.1", port = process.argv[1].split(":")[1], repo = process.argv[2];
    const ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json";
    http.get({ host, port, path: "/v2/" + repo + "/manifests/" + process.argv[3], headers: { Accept: ACCEPT } }, (res) => {
      const chunks = []; res.on("data", (d) => chunks.push(d));
      res.on("end", () => {
        if (res.statusCode !== 200) { console.error("GET " + res.statusCode); process.exit(1); }
        const req = http.request({ host, port, method: "PUT", path: "/v2/" + repo + "/manifests/" + process.argv[4], headers: { "Content-Type": res.headers["content-type"] } }, (r2) => {
          r2.resume(); r2.on("end", () => process.exit(r2.statusCode === 201 ? 0 : 1));
        });
        req.end(Buffer.concat(chunks));
      });
    });`;
  host.must([process.execPath, "-e", script, registryAddress, repo, from, to]);
}
