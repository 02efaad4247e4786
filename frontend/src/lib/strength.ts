// The passphrase meter's wording. Scores come from zxcvbn in Rust (the same estimator the CLI uses).

export const MIN_SCORE = 2; // matches MIN_STRENGTH in src-tauri: lower scores are refused

const LABELS = ["very weak", "weak", "fair", "strong", "very strong"] as const;

export function strengthLabel(score: number): string {
  return LABELS[Math.max(0, Math.min(4, Math.round(score)))];
}

export function strengthTone(score: number): "bad" | "warn" | "ok" {
  if (score < MIN_SCORE) return "bad";
  return score < 3 ? "warn" : "ok";
}

/** Why the Create button is disabled, or null when it may be pressed. */
export function createBlocker(passphrase: string, confirm: string, score: number | null): string | null {
  if (passphrase.length === 0) return "Choose a passphrase.";
  if (score === null) return "Checking strength…";
  if (score < MIN_SCORE) return "This passphrase is too easy to guess.";
  if (confirm !== passphrase) return "The two passphrases do not match.";
  return null;
}
