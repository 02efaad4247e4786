// What the app does about a finding. Rust decides the remedy (Finding.remedy, a typed Remedy);
// this file words it for a person and, where one vault operation carries it out, offers it as a
// button. It maps the Remedy variant, never the finding's kind.
import type { api as Api } from "./api";
import type { Finding, Remedy, TrustImpact } from "./bindings";

export interface FixAction {
  label: string;
  confirm: string;
  run: (api: typeof Api) => Promise<unknown>;
  /** What the fix would change, asked of vault_data before the confirmation is shown. */
  impact?: (api: typeof Api) => Promise<TrustImpact>;
  /** Puts things back as they were, offered right after the fix; absent where nothing can. */
  undo?: (api: typeof Api) => Promise<unknown>;
  /** Said instead of Undo where a fix cannot be taken back. */
  permanent?: string;
}

/** The remedy in the app's words (the CLI words the same remedy as a command). */
export function remedyText(r: Remedy): string {
  switch (r.action) {
    case "remove_trust":
      return `Remove ${r.ca} from ${r.service}'s inbound trust${r.instead ? ` and trust ${r.instead} instead` : ""}.`;
    case "dedicated_ca":
      return `Issue ${r.service}'s ${r.intended} intended callers from a dedicated CA and trust only that, or declare the missing intents.`;
    case "environment_ca":
      return `Trust a CA that issues only ${r.environment} identities instead of ${r.ca}.`;
    case "issue_certificate":
      return `Issue ${r.service} a ${r.usage} certificate${r.ca ? ` from ${r.ca}` : ""}.`;
    case "add_trust":
      return `Add ${r.ca} to ${r.service}'s ${r.side} trust.`;
    case "renew_certificate":
      return `Renew ${r.service}'s certificate.`;
    case "import_renewal":
      return `Import a renewed certificate for ${r.service}.`;
    case "replace_revoked":
      return `Issue ${r.service} a new certificate${r.ca ? ` from ${r.ca}` : ""}.`;
    case "replace_weak_certificate":
      return `Replace ${r.service}'s certificate with an ECDSA P-256 one.`;
    case "reissue_and_export":
      return `Issue ${r.service} a new certificate and export its bundle again.`;
    case "remove_ca":
      return `Remove CA ${r.ca}${r.if_unneeded ? " if it is not needed" : ""}.`;
    case "replace_ca":
      return `Replace CA ${r.ca} and reissue what it signed.`;
    case "succeed_ca":
      return `Create a successor to ${r.ca} and move its services.`;
    case "replace_trusted_ca":
      return `Stop trusting ${r.ca} and trust its successor.`;
    case "trust_successor":
      return `Trust ${r.ca}'s successor alongside it before it expires.`;
    case "stop_trusting":
      return `Stop trusting ${r.ca}.`;
    case "rotate_credential":
      return `Rotate ${r.service}/${r.name}.`;
    case "resolve_conflict":
      return `Keep one value of ${r.service}/${r.name} in Remotes (both are in its history).`;
    case "remove_token_trust":
      return `Stop ${r.service} accepting tokens from ${r.issuer} for audience ${r.audience}.`;
    case "export_again":
      return `Export ${r.service} again and deploy the new bundle.`;
    case "rotate_token_key":
      return `Rotate ${r.issuer}'s token keys: the published next key starts signing.`;
    case "replace_issuer_key":
      return `Have ${r.issuer} publish an asymmetric key instead of ${r.kid}, then import its JWKS again.`;
  }
}

function removeInbound(service: string, ca: string): FixAction {
  return {
    label: `Remove ${ca} from ${service}'s inbound trust`,
    confirm: `${service} will stop accepting client certificates issued under ${ca}.`,
    run: (api) => api.setTrust(service, ca, true, false),
    impact: (api) => api.trustImpact(service, ca, true, false),
    undo: (api) => api.setTrust(service, ca, true, true),
  };
}

export function fixAction(f: Finding): FixAction | null {
  const r = f.remedy;
  if (!r) return null;
  switch (r.action) {
    case "remove_trust":
    case "dedicated_ca":
    case "environment_ca":
      return removeInbound(r.service, r.ca);
    case "renew_certificate":
      return {
        label: "Renew the certificate",
        confirm: `A new certificate with the same names and a new key replaces the current one of ${r.service}.`,
        run: (api) => api.renewCert(r.certificate, true),
        permanent: "The old certificate stays valid until it expires; export the new bundle to deploy it.",
      };
    case "rotate_token_key":
      return {
        label: "Rotate the token keys",
        confirm: `${r.issuer}'s published next key starts signing; the current key stays published for tokens it signed, and a new next key is made.`,
        run: (api) => api.rotateTokenKey(r.issuer),
        permanent: "Export the issuer's JWKS (and accepting services' bundles) again so verifiers hold the new next key.",
      };
    case "remove_token_trust":
      return {
        label: "Stop accepting these tokens",
        confirm: `${r.service} will no longer be recorded as accepting tokens from ${r.issuer} for audience ${r.audience}.`,
        run: (api) => api.untrustToken(r.service, r.issuer, r.audience),
        permanent: "Change the service's own token verification configuration to match.",
      };
    case "rotate_credential":
      return {
        label: "Rotate the credential",
        confirm: `A new random 32-character value becomes the current version of ${r.service}/${r.name}. Update whatever uses it.`,
        run: (api) =>
          api.generateCredential({ service: r.service, name: r.name, target: null, rotate_days: null }, 32, "alphanumeric"),
        permanent: "The previous value stays in the credential's history.",
      };
    default:
      return null;
  }
}
