import { describe, expect, it, vi } from "vitest";
import { countLabel, filterAndSort, nextSort } from "./listing";
import { visibleRange } from "./virtual";
import { expiryBadge } from "./expiry";
import { createBlocker, strengthLabel, strengthTone } from "./strength";
import { ActivityReporter, secondsLeft } from "./activity";
import { formatTags, parseTags, splitList } from "./tags";
import { asIpcError } from "./api";

interface Row {
  name: string;
  env: string;
  n: number;
}
const rows: Row[] = [
  { name: "payments-api", env: "prod", n: 10 },
  { name: "billing", env: "staging", n: 2 },
  { name: "Payments-worker", env: "dev", n: 1 },
  { name: "svc-10", env: "prod", n: 3 },
  { name: "svc-9", env: "prod", n: 4 },
];
const fields = (r: Row) => [r.name, r.env];

describe("search and sort", () => {
  it("matches every term, case-insensitively, across fields", () => {
    expect(filterAndSort(rows, "PAY", fields, null).map((r) => r.name)).toEqual(["payments-api", "Payments-worker"]);
    expect(filterAndSort(rows, "pay prod", fields, null).map((r) => r.name)).toEqual(["payments-api"]);
    expect(filterAndSort(rows, "  ", fields, null)).toHaveLength(5);
    expect(filterAndSort(rows, "nothing-like-this", fields, null)).toEqual([]);
  });

  it("sorts names naturally and numbers numerically, both directions", () => {
    expect(filterAndSort(rows, "svc", fields, (r) => r.name).map((r) => r.name)).toEqual(["svc-9", "svc-10"]);
    expect(filterAndSort(rows, "", fields, (r) => r.n, "desc").map((r) => r.n)).toEqual([10, 4, 3, 2, 1]);
  });

  it("does not reorder the caller's array", () => {
    const copy = rows.slice();
    filterAndSort(rows, "", fields, (r) => r.n);
    expect(rows).toEqual(copy);
  });

  it("flips direction on the same column and resets on another", () => {
    expect(nextSort({ key: "name", dir: "asc" }, "name")).toEqual({ key: "name", dir: "desc" });
    expect(nextSort({ key: "name", dir: "desc" }, "env")).toEqual({ key: "env", dir: "asc" });
  });

  it("labels counts", () => {
    expect(countLabel(10000, 10000, "services", "service")).toBe("10,000 services");
    expect(countLabel(12, 10000, "services", "service")).toBe("12 of 10,000 services");
    expect(countLabel(1, 1, "services", "service")).toBe("1 service");
    expect(countLabel(0, 1, "authorities", "authority")).toBe("0 of 1 authority");
  });
});

describe("virtual list", () => {
  it("renders only the rows on screen plus overscan for 10,000 items", () => {
    const r = visibleRange(36 * 5000, 720, 36, 10000, 6);
    expect(r.totalHeight).toBe(360000);
    expect(r.start).toBe(4994);
    expect(r.end).toBe(5000 + 21 + 6);
    expect(r.end - r.start).toBeLessThan(40);
    expect(r.offsetTop).toBe(r.start * 36);
  });

  it("clamps at both ends and handles empty lists", () => {
    expect(visibleRange(-50, 720, 36, 10000).start).toBe(0);
    const end = visibleRange(10_000_000, 720, 36, 100);
    expect(end.end).toBe(100);
    expect(end.start).toBeLessThan(100);
    expect(visibleRange(0, 720, 36, 0)).toEqual({ start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
  });
});

describe("expiry badges", () => {
  const active = (expires_in_days: number, expiring: boolean) => ({ status: "active" as const, expires_in_days, expiring });
  it("shows Rust's days left and expiring flag", () => {
    expect(expiryBadge(active(-3, false))).toEqual({ label: "expired", tone: "bad" });
    expect(expiryBadge(active(0, false))).toEqual({ label: "expired", tone: "bad" });
    expect(expiryBadge(active(10, true))).toEqual({ label: "expires in 10 d", tone: "warn" });
    expect(expiryBadge(active(1, true)).label).toBe("expires today");
    expect(expiryBadge(active(90, false))).toEqual({ label: "90 d left", tone: "ok" });
    // A fresh 30-day certificate is not expiring (only its last third is): the flag decides, not the days.
    expect(expiryBadge(active(30, false)).tone).toBe("ok");
  });
  it("puts status before expiry", () => {
    expect(expiryBadge({ status: "revoked", expires_in_days: -100, expiring: false }).label).toBe("revoked");
    expect(expiryBadge({ status: "superseded", expires_in_days: 5, expiring: false }).label).toBe("superseded");
  });
});

describe("passphrase meter", () => {
  it("labels and blocks weak passphrases", () => {
    expect(strengthLabel(0)).toBe("very weak");
    expect(strengthLabel(4)).toBe("very strong");
    // Tone and blocking follow Rust's verdict, not a threshold of their own.
    expect(strengthTone({ acceptable: false, weak: true })).toBe("bad");
    expect(strengthTone({ acceptable: true, weak: true })).toBe("warn");
    expect(strengthTone({ acceptable: true, weak: false })).toBe("ok");
    expect(createBlocker("", "", null)).toMatch(/Choose/);
    expect(createBlocker("abc", "abc", { acceptable: false })).toMatch(/too easy/);
    expect(createBlocker("long enough phrase", "long enough phrasE", { acceptable: true })).toMatch(/do not match/);
    expect(createBlocker("long enough phrase", "long enough phrase", { acceptable: true })).toBeNull();
  });
});

describe("activity and countdowns", () => {
  it("reports activity at most once per interval", () => {
    const report = vi.fn();
    const a = new ActivityReporter(15000, report);
    expect(a.seen(0)).toBe(true);
    expect(a.seen(14999)).toBe(false);
    expect(a.seen(15000)).toBe(true);
    expect(report).toHaveBeenCalledTimes(2);
  });
  it("counts seconds down to zero", () => {
    expect(secondsLeft(30000, 0)).toBe(30);
    expect(secondsLeft(30000, 29001)).toBe(1);
    expect(secondsLeft(30000, 40000)).toBe(0);
  });
});

describe("form parsing", () => {
  it("parses and formats tags", () => {
    expect(parseTags("team=payments, tier = 1\npci=yes")).toEqual({
      tags: { team: "payments", tier: "1", pci: "yes" },
      error: null,
    });
    expect(parseTags("oops").error).toMatch(/not key=value/);
    expect(formatTags({ a: "1", b: "2" })).toBe("a=1, b=2");
  });
  it("splits SAN lists", () => {
    expect(splitList("a.example, b.example\n c.example ")).toEqual(["a.example", "b.example", "c.example"]);
    expect(splitList(" ")).toEqual([]);
  });
});

describe("rotation days typed in a form", () => {
  it("takes whole days, empty for none, and refuses anything else instead of dropping the policy", async () => {
    const { rotationDays } = await import("./tags");
    expect(rotationDays("")).toBeNull();
    expect(rotationDays(" 90 ")).toBe(90);
    for (const bad of ["90d", "0", "1.5", "-3", "NaN"]) expect(rotationDays(bad)).toBeUndefined();
  });
});

describe("errors from Rust", () => {
  it("keeps {code, message} and wraps anything else", () => {
    expect(asIpcError({ code: "wrong_key", message: "wrong passphrase or key" })).toEqual({
      code: "wrong_key",
      message: "wrong passphrase or key",
    });
    // The typed hint travels with it (the page words it); it was once dropped here.
    expect(asIpcError({ code: "wont_replace", message: "will not replace x: it exists", hint: "force_replace" })).toEqual({
      code: "wont_replace",
      message: "will not replace x: it exists",
      hint: "force_replace",
    });
    expect(asIpcError("boom")).toEqual({ code: "internal", message: "boom" });
    expect(asIpcError(new Error("x")).message).toBe("x");
    expect(asIpcError(42).code).toBe("internal");
  });
});

describe("audit time filter", async () => {
  const { inTimeRange } = await import("./audit");
  it("keeps entries between two dates, both days included", () => {
    const noon = new Date(2026, 10, 23, 12, 0, 0).toISOString();
    expect(inTimeRange(noon, "", "")).toBe(true);
    expect(inTimeRange(noon, "2026-11-23", "2026-11-23")).toBe(true);
    expect(inTimeRange(noon, "2026-11-24", "")).toBe(false);
    expect(inTimeRange(noon, "", "2026-11-22")).toBe(false);
    expect(inTimeRange("not a date", "", "")).toBe(false);
  });
});

describe("finding fixes", async () => {
  const { fixAction, remedyText } = await import("./fixes");
  const base = { id: "x", severity: "medium" as const, message: "", count: null };
  it("maps the remedy Rust chose, not the finding's kind", () => {
    const over = fixAction({
      ...base,
      kind: "over_trust",
      entities: [],
      remedy: { action: "remove_trust", service: "ads", ca: "corp-root", instead: null },
    });
    expect(over?.label).toBe("Remove corp-root from ads's inbound trust");
    const renew = fixAction({
      ...base,
      kind: "expired",
      entities: [],
      remedy: { action: "renew_certificate", service: "ads", certificate: "c1" },
    });
    expect(renew?.label).toBe("Renew the certificate");
    // An expired certificate made elsewhere cannot be renewed here: no button, only the words.
    const imported = { ...base, kind: "expired" as const, entities: [], remedy: { action: "import_renewal" as const, service: "ads" } };
    expect(fixAction(imported)).toBeNull();
    expect(remedyText(imported.remedy)).toBe("Import a renewed certificate for ads.");
    expect(
      fixAction({ ...base, kind: "unused_ca", entities: [], remedy: { action: "remove_ca", ca: "old", if_unneeded: true } }),
    ).toBeNull();
    const stale = fixAction({
      ...base,
      kind: "stale_credential",
      entities: [],
      remedy: { action: "rotate_credential", service: "ads", name: "KEY" },
    });
    expect(stale?.label).toBe("Rotate the credential");
    expect(fixAction({ ...base, kind: "blast_radius", entities: [], remedy: null })).toBeNull();
  });
});

