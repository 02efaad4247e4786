// Tags are edited as "key=value" pairs separated by commas or new lines.

export function parseTags(text: string): { tags: Record<string, string>; error: string | null } {
  const tags: Record<string, string> = {};
  for (const raw of text.split(/[,\n]/)) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) return { tags, error: `"${part}" is not key=value` };
    tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return { tags, error: null };
}

export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** Comma- or space-separated list input (SANs, constraints) to a clean list. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A rotation policy typed in a form: null when empty, the number of days when it is a whole
 *  number of at least 1, undefined when it is anything else ("90d", "0", "1.5"): never a silent
 *  "no policy". */
export function rotationDays(text: string): number | null | undefined {
  const t = text.trim();
  if (!t) return null;
  return /^[0-9]+$/.test(t) && Number(t) >= 1 ? Number(t) : undefined;
}
