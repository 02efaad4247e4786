// Expiry badges from what Rust computed (vault_data::pki::expiry), so the app, the CLI and the
// findings agree: days left (a started day counts: a 90-day certificate issued now has 90) and
// whether it is expiring by the one rule (the last third of its lifetime or the warning window,
// whichever is shorter). Revoked and superseded certificates say so instead.
import type { CertStatus } from "./bindings";

export type Tone = "bad" | "warn" | "ok" | "muted";

export interface Badge {
  label: string;
  tone: Tone;
}

/** The fields of a CertView (or a CaView, as "active") that a badge needs. */
export interface Expiry {
  status: CertStatus;
  expires_in_days: number;
  expiring: boolean;
}

export function expiryBadge(e: Expiry): Badge {
  if (e.status === "revoked") return { label: "revoked", tone: "muted" };
  if (e.status === "superseded") return { label: "superseded", tone: "muted" };
  const days = e.expires_in_days;
  if (days <= 0) return { label: "expired", tone: "bad" };
  if (e.expiring) return { label: days === 1 ? "expires today" : `expires in ${days} d`, tone: "warn" };
  return { label: `${days} d left`, tone: "ok" };
}

/** A date as people read it, in their own time zone: 2026-11-23 14:05. */
export function shortDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
