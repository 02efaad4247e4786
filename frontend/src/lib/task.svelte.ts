// The busy flag and error of one thing a view does (save a form, run an export), so every view
// handles "working…", failures and retries the same way.
import { asIpcError } from "./api";
import type { IpcError } from "./bindings";

export class Task {
  busy = $state(false);
  error = $state<IpcError | null>(null);

  /** Runs `f`; while it runs `busy` is set, and a failure lands in `error` (and gives undefined). */
  async run<T>(f: () => Promise<T>): Promise<T | undefined> {
    this.busy = true;
    this.error = null;
    try {
      return await f();
    } catch (e) {
      this.error = asIpcError(e);
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}
