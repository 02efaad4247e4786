// The audit view's time filter: dates as the date inputs give them (YYYY-MM-DD, local time),
// both ends inclusive, either may be empty.

export function inTimeRange(iso: string, from: string, to: string): boolean {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return false;
  if (from) {
    const start = new Date(`${from}T00:00:00`).getTime();
    if (t < start) return false;
  }
  if (to) {
    const end = new Date(`${to}T00:00:00`).getTime() + 86_400_000;
    if (t >= end) return false;
  }
  return true;
}
