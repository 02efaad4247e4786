// The two ways the generated command functions (commands.ts) call Rust, and the error shape every
// failed call is turned into.
import { Channel, invoke } from "@tauri-apps/api/core";
import type { ErrorHint, IpcError, IpcErrorCode } from "./bindings";

/** Turns whatever a failed call threw into the `{code, message, hint}` shape Rust sends. */
export function asIpcError(e: unknown): IpcError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const { code, message, hint } = e as { code: unknown; message: unknown; hint?: unknown };
    if (typeof code === "string" && typeof message === "string") {
      const out: IpcError = { code: code as IpcErrorCode, message };
      if (typeof hint === "string") out.hint = hint as ErrorHint;
      return out;
    }
  }
  if (typeof e === "string") return { code: "internal", message: e };
  if (e instanceof Error) return { code: "internal", message: e.message };
  return { code: "internal", message: "something went wrong" };
}

export async function call<T>(command: string, args: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asIpcError(e);
  }
}

export function callWithProgress<T, P>(
  command: string,
  args: Record<string, unknown>,
  onProgress: (p: P) => void,
): Promise<T> {
  const channel = new Channel<P>();
  channel.onmessage = onProgress;
  return call<T>(command, { ...args, onProgress: channel });
}
