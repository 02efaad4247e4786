import { describe, expect, it } from "vitest";
import type { Edge, Finding, Graph, Node } from "./bindings";
import {
  ALL_EDGE_KINDS,
  DEFAULT_FILTER,
  applyFilter,
  findingEdge,
  findingNodeIds,
  searchMatches,
  startsCollapsed,
  toCollapsedElements,
  toElements,
} from "./graph";

const svc = (id: string, env: string, findings: string[] = [], tags: Record<string, string> = {}): Node => ({
  id: `svc:${id}`,
  kind: "service",
  name: id,
  environment: env,
  owner: `team-${id}`,
  tags,
  can_sign: null,
  not_after: null,
  findings,
});
const ca = (id: string, findings: string[] = []): Node => ({
  id: `ca:${id}`,
  kind: "ca",
  name: id,
  environment: null,
  owner: null,
  tags: {},
  can_sign: true,
  not_after: "2030-01-01T00:00:00Z",
  findings,
});
const edge = (kind: Edge["kind"], from: string, to: string, findings: string[] = []): Edge => ({
  id: `${kind}:${from}:${to}`,
  kind,
  from,
  to,
  evidence: { type: "trust" },
  valid_until: null,
  findings,
});
const finding = (id: string, kind: Finding["kind"], severity: Finding["severity"], entities: string[]): Finding => ({
  id,
  kind,
  severity,
  entities: entities.map((e) => ({ kind: e.startsWith("svc:") ? "service" : "ca", id: e.slice(e.indexOf(":") + 1), name: e, node: e })),
  message: kind,
  remedy: null,
  count: null,
});

const graph: Graph = {
  generated: "2026-11-23T00:00:00Z",
  mtls_pairs: "all",
  environments: [
    { name: "prod", slot: 0, services: 2, node: "env:prod" },
    { name: "staging", slot: 1, services: 1, node: "env:staging" },
  ],
  nodes: [
    svc("pay", "prod", ["f1"], { tier: "1" }),
    svc("web", "prod", [], { tier: "2" }),
    svc("qa", "staging", ["f2"]),
    ca("root", ["f1"]),
    ca("staging-ca"),
    ca("unused", ["f3"]),
  ],
  edges: [
    edge("trusts_inbound", "svc:pay", "ca:root", ["f1"]),
    edge("mtls", "svc:web", "svc:pay"),
    edge("intent", "svc:qa", "svc:pay", ["f2"]),
    edge("issued", "ca:root", "svc:pay"),
    edge("issued", "ca:root", "svc:web"),
    edge("issued", "ca:staging-ca", "svc:qa"),
  ],
  findings: [
    finding("f1", "over_trust", "medium", ["svc:pay", "ca:root"]),
    finding("f2", "broken_intent", "high", ["svc:qa", "svc:pay"]),
    finding("f3", "unused_ca", "low", ["ca:unused"]),
  ],
};

const all = { ...DEFAULT_FILTER, edgeKinds: ALL_EDGE_KINDS };
const ids = (els: { data: Record<string, unknown> }[]) => els.map((e) => e.data.id).sort();

describe("graph to Cytoscape", () => {
  it("maps nodes and edges with finding and environment classes", () => {
    const els = toElements(graph, all);
    const pay = els.find((e) => e.data.id === "svc:pay")!;
    expect(pay.group).toBe("nodes");
    expect(pay.classes).toContain("service");
    expect(pay.classes).toContain("finding-medium");
    expect(pay.classes).toMatch(/env-\d/);
    const qa = els.find((e) => e.data.id === "svc:qa")!;
    expect(qa.classes).toContain("finding-high");
    expect(qa.classes).not.toBe(pay.classes); // another environment, another colour
    const trust = els.find((e) => e.data.id === "trusts_inbound:svc:pay:ca:root")!;
    expect(trust.classes).toContain("over-trust");
    expect(trust.data.source).toBe("svc:pay");
    expect(els.find((e) => e.data.id === "intent:svc:qa:svc:pay")!.classes).toContain("broken");
    expect(els.find((e) => e.data.id === "mtls:svc:web:svc:pay")!.classes).toBe("mtls");
  });

  it("drops CAs nothing touches unless a finding filter asks for them", () => {
    expect(ids(toElements(graph, all))).not.toContain("ca:unused");
    const only = toElements(graph, { ...all, findingKind: "unused_ca" });
    expect(ids(only)).toContain("ca:unused");
  });

  it("colours each environment with the slot vault_data gave it", () => {
    const els = toElements({ ...graph, environments: [{ name: "prod", slot: 5, services: 2, node: "env:prod" }, { name: "staging", slot: 2, services: 1, node: "env:staging" }] }, all);
    expect(els.find((e) => e.data.id === "svc:pay")!.classes).toContain("env-5");
    expect(els.find((e) => e.data.id === "svc:qa")!.classes).toContain("env-2");
  });

  it("draws only the ticked edge kinds and the CAs they touch; services are vault_data's choice", () => {
    const mtlsOnly = applyFilter(graph, { ...all, edgeKinds: ["mtls"] });
    expect(mtlsOnly.edges.map((e) => e.kind)).toEqual(["mtls"]);
    expect(mtlsOnly.nodes.filter((n) => n.kind === "ca")).toHaveLength(0);
    expect(mtlsOnly.nodes.filter((n) => n.kind === "service")).toHaveLength(3);
    // A tag typed in the filter is not applied here (the query carries it to Rust).
    expect(applyFilter(graph, { ...all, tag: "tier=1" }).nodes.filter((n) => n.kind === "service")).toHaveLength(3);
  });

  it("collapses environments into counted nodes and merges their edges", () => {
    const els = toCollapsedElements(graph, all, new Set());
    const prod = els.find((e) => e.data.id === "env:prod")!;
    expect(prod.data.count).toBe(2);
    expect(prod.classes).toContain("environment");
    expect(prod.classes).toContain("finding-medium");
    expect(ids(els)).not.toContain("svc:pay");
    const issued = els.find((e) => e.data.id === "agg:issued|ca:root|env:prod")!;
    expect(issued.data.count).toBe(2);
    expect(issued.data.label).toBe("2");
    // The mtls edge inside prod disappears (both ends are the same drawn node).
    expect(els.some((e) => e.data.kind === "mtls")).toBe(false);
    const over = els.find((e) => e.data.id === "agg:trusts_inbound|env:prod|ca:root")!;
    expect(over.classes).toContain("over-trust");
  });

  it("expands one environment on demand", () => {
    const els = toCollapsedElements(graph, all, new Set(["prod"]));
    expect(ids(els)).toContain("svc:pay");
    expect(ids(els)).toContain("env:staging");
    expect(ids(els)).not.toContain("env:prod");
    expect(els.find((e) => e.data.id === "agg:intent|env:staging|svc:pay")!.classes).toContain("broken");
  });

  it("knows when to start collapsed", () => {
    expect(startsCollapsed(graph)).toBe(false);
    const big: Graph = { ...graph, nodes: Array.from({ length: 401 }, (_, i) => svc(`s${i}`, "prod")) };
    expect(startsCollapsed(big)).toBe(true);
  });

  it("finds nodes by search and locates findings", () => {
    expect(searchMatches(graph.nodes, "PA")).toEqual(["svc:pay"]);
    expect(searchMatches(graph.nodes, "team-web")).toEqual(["svc:web"]);
    expect(searchMatches(graph.nodes, " ")).toEqual([]);
    expect(findingNodeIds(graph.findings[0])).toEqual(["svc:pay", "ca:root"]);
    expect(findingEdge(graph, "f1")?.kind).toBe("trusts_inbound");
    expect(findingEdge(graph, "f3")).toBeUndefined();
  });
});

describe("grid hierarchy for large views", async () => {
  const { gridHierarchy } = await import("./graph");
  it("puts CAs above services, roots above intermediates, environments side by side", () => {
    const els = toElements(graph, all);
    const pos = gridHierarchy(els, 10);
    const y = (id: string) => pos.get(id)!.y;
    const x = (id: string) => pos.get(id)!.x;
    expect(pos.size).toBe(els.filter((e) => e.group === "nodes").length);
    expect(y("ca:root")).toBeLessThan(y("svc:pay"));
    expect(x("svc:qa")).toBeGreaterThan(Math.max(x("svc:pay"), x("svc:web"))); // staging block right of prod
    const manyCas = gridHierarchy(
      [
        { group: "nodes", data: { id: "ca:a", kind: "ca" }, classes: "ca" },
        { group: "nodes", data: { id: "ca:b", kind: "ca" }, classes: "ca" },
        { group: "edges", data: { id: "e", source: "ca:a", target: "ca:b", kind: "issued" }, classes: "issued" },
      ],
      10,
    );
    expect(manyCas.get("ca:a")!.y).toBeLessThan(manyCas.get("ca:b")!.y);
  });
});
