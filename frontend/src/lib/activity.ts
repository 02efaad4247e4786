// Tells Rust the user is active at most once per interval, so auto-lock waits without the UI
// flooding IPC on every mouse move.

export class ActivityReporter {
  private last = -Infinity;
  constructor(
    private readonly intervalMs: number,
    private readonly report: () => void,
  ) {}

  /** Call on every input event; reports when the last report is older than the interval. */
  seen(nowMs: number): boolean {
    if (nowMs - this.last < this.intervalMs) return false;
    this.last = nowMs;
    this.report();
    return true;
  }
}

/** Whole seconds left until `deadlineMs`, never negative. */
export function secondsLeft(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}
