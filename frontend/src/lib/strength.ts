// The passphrase meter's wording. The verdict comes from Rust (vault_data's PassphrasePolicy, the
// same rule the CLI applies): this file only words it and never re-derives the thresholds.
import type { Strength } from "./bindings";

const LABELS = ["very weak", "weak", "fair", "strong", "very strong"] as const;

export function strengthLabel(score: number): string {
  return LABELS[Math.max(0, Math.min(4, Math.round(score)))];
}

export function strengthTone(verdict: Pick<Strength, "acceptable" | "weak">): "bad" | "warn" | "ok" {
  if (!verdict.acceptable) return "bad";
  return verdict.weak ? "warn" : "ok";
}

/** Why the Create button is disabled, or null when it may be pressed. */
export function createBlocker(
  passphrase: string,
  confirm: string,
  verdict: Pick<Strength, "acceptable"> | null,
): string | null {
  if (passphrase.length === 0) return "Choose a passphrase.";
  if (verdict === null) return "Checking strength…";
  if (!verdict.acceptable) return "This passphrase is too easy to guess.";
  if (confirm !== passphrase) return "The two passphrases do not match.";
  return null;
}
