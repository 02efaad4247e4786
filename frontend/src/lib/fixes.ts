// Which findings a vault operation fixes, and how. The operations are ordinary commands; this only
// reads the finding's kind and entities to pick one.
import type { api as Api } from "./api";
import type { Finding } from "./bindings";

export interface FixAction {
  label: string;
  confirm: string;
  run: (api: typeof Api) => Promise<unknown>;
}

export function fixAction(f: Finding): FixAction | null {
  const service = f.entities.find((e) => e.kind === "service");
  const ca = f.entities.find((e) => e.kind === "ca");
  const cert = f.entities.find((e) => e.kind === "certificate");
  const secret = f.entities.find((e) => e.kind === "secret");
  switch (f.kind) {
    case "over_trust":
    case "cross_environment":
      if (!service || !ca) return null;
      return {
        label: `Remove ${ca.name} from ${service.name}'s inbound trust`,
        confirm: `${service.name} will stop accepting client certificates issued under ${ca.name}. Callers that rely on it lose access until you add a narrower CA.`,
        run: (api) => api.setTrust(service.name, ca.name, true, false),
      };
    case "expired":
    case "expiring_soon":
    case "revoked_current":
      if (!cert && !service) return null;
      return {
        label: "Renew the certificate",
        confirm: `A new certificate with the same names and a new key replaces the current one${service ? ` of ${service.name}` : ""}.`,
        run: (api) => api.renewCert(cert ? cert.id : service!.name, true),
      };
    case "stale_credential": {
      if (!secret) return null;
      const [svc, name] = secret.name.split("/", 2);
      if (!svc || !name) return null;
      return {
        label: "Rotate the credential",
        confirm: `A new random 32-character value becomes the current version of ${secret.name}. Update whatever uses it.`,
        run: (api) =>
          api.generateCredential({ service: svc, name, target: null, rotate_days: null }, 32, "alphanumeric"),
      };
    }
    default:
      return null;
  }
}
