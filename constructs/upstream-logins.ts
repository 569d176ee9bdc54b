import { TerraformStack, TerraformVariable } from "cdktf";
import type { Vault } from "./key-vault";
import type { Registry } from "./registry";
import type { CredentialSet } from "./artifact-cache";
import type { StoredToken } from "./pull-token";
import { loginNames, upstreamHost } from "../lib/upstream-hosts";

/** An upstream login in Key Vault: what a task credential or a credential set reads. */
export type UpstreamLogin = Pick<StoredToken, "user" | "password" | "vault">;

/**
 * The logins of the upstream registries gated images come from (`upstream.dockerHubCredentials`,
 * `upstream.credentials`): each one two sensitive variables, kept as Key Vault secrets, never a
 * task value. A gate pulling the upstream itself reads them at run time (its task credential); a
 * registry caching it has a credential set whose identity alone reads them.
 *
 * Not a construct: the variables are the stack's own (`dockerhub_username`,
 * `upstream_ghcr_io_username`), the secrets the vault's.
 */
export class UpstreamLogins {
  private readonly logins = new Map<string, UpstreamLogin>();
  private readonly sets = new Map<string, CredentialSet>();

  constructor(
    private readonly stack: TerraformStack,
    private readonly vault: Vault,
    hosts: readonly string[],
  ) {
    for (const host of hosts) this.store(host);
  }

  private store(host: string): void {
    const names = loginNames(host);
    // Docker Hub's descriptions and content types stay what they always were.
    const title = host === "docker.io" ? "Docker Hub" : `${upstreamHost(host)?.title ?? host} (${host})`;
    const password = host === "docker.io" ? "Docker Hub access token" : `${title} password or access token`;
    const variable = (name: string, description: string) =>
      new TerraformVariable(this.stack, name, { type: "string", sensitive: true, nullable: false, description }).stringValue;
    this.logins.set(host, {
      vault: this.vault,
      user: this.vault.storeSecret(`${names.secret}-user`, { value: variable(`${names.variable}_username`, `${title} user name`), contentType: `${title} user name` }),
      password: this.vault.storeSecret(`${names.secret}-password`, { value: variable(`${names.variable}_password`, password), contentType: password }),
    });
  }

  /** The login for `host`, if the config gives one. */
  login(host: string): UpstreamLogin | undefined {
    return this.logins.get(host);
  }

  /**
   * The credential set of `registry` for `host`, made on first use (`registry.createCredentialSet`,
   * which grants its identity `Get` on the vault); undefined without a login (anonymous caching).
   */
  credentialSet(registry: Registry, host: string): CredentialSet | undefined {
    const login = this.logins.get(host);
    if (!login) return undefined;
    const key = `${registry.node.path}|${host}`;
    let set = this.sets.get(key);
    if (!set) {
      const name = loginNames(host).credentialSet;
      set = registry.createCredentialSet(host === "docker.io" ? "dockerhub-credentials" : `credentials-${name}`, {
        name,
        loginServer: host,
        vault: login.vault,
        user: login.user,
        password: login.password,
      });
      this.sets.set(key, set);
    }
    return set;
  }
}
