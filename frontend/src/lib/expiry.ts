// Expiry badges: expired, expiring within 30 days, or fine; revoked and superseded say so.
import type { CertStatus } from "./bindings";

export const SOON_DAYS = 30;
const DAY_MS = 86_400_000;

export type Tone = "bad" | "warn" | "ok" | "muted";

export interface Badge {
  label: string;
  tone: Tone;
}

export function daysLeft(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / DAY_MS);
}

export function expiryBadge(notAfter: string, status: CertStatus, now: Date): Badge {
  if (status === "revoked") return { label: "revoked", tone: "muted" };
  if (status === "superseded") return { label: "superseded", tone: "muted" };
  const ms = Date.parse(notAfter) - now.getTime();
  if (Number.isNaN(ms)) return { label: "unknown expiry", tone: "warn" };
  if (ms <= 0) return { label: "expired", tone: "bad" };
  if (ms < DAY_MS) return { label: "expires today", tone: "warn" };
  // Whole days left, counting a started day: a 90-day certificate issued now shows "90 d left".
  const days = Math.ceil(ms / DAY_MS);
  if (days <= SOON_DAYS) return { label: `expires in ${days} d`, tone: "warn" };
  return { label: `${days} d left`, tone: "ok" };
}

/** A date as people read it, in their own time zone: 2026-11-23 14:05. */
export function shortDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
