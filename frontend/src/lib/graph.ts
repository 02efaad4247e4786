// From vault_data's graph JSON to Cytoscape elements: filters, finding styles, and the collapsed
// overview for large estates. Pure functions, so they are unit-tested without a browser.
import type { Edge, EdgeKind, Finding, FindingKind, Graph, Node, Severity } from "./bindings";

// Environment, tag and finding kind are not filtered here: vault_data slices the graph (the
// query's fields), so the CLI's `graph --env/--tag/--finding` and this view keep the same services.
export interface GraphFilter {
  search: string; // focuses matching services (name, owner)
  tag: string; // sent as the query's tag: "key=value" or "key"; "" = any
  findingKind: FindingKind | ""; // sent as the query's finding kind
  edgeKinds: EdgeKind[]; // which edge kinds to draw
}

export const ALL_EDGE_KINDS: EdgeKind[] = ["mtls", "credential", "token", "intent", "trusts_inbound", "trusts_outbound", "issued"];

export const DEFAULT_FILTER: GraphFilter = {
  search: "",
  tag: "",
  findingKind: "",
  edgeKinds: ["mtls", "credential", "token", "intent", "trusts_inbound", "issued"],
};

/** Above this many services the view opens as environments and CAs, expanded on demand. */
export const COLLAPSE_THRESHOLD = 400;

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3 };

export interface CyElement {
  group: "nodes" | "edges";
  data: Record<string, string | number | undefined>;
  classes: string;
}

/** Finding kinds that make an edge "over-trust" (drawn red) or "broken" (drawn dashed orange). */
const OVER_TRUST: FindingKind[] = ["over_trust", "cross_environment"];
const BROKEN: FindingKind[] = ["broken_intent"];

export function findingIndex(graph: Graph): Map<string, Finding> {
  return new Map(graph.findings.map((f) => [f.id, f]));
}

function worst(ids: string[], byId: Map<string, Finding>): Severity | null {
  let best: Severity | null = null;
  for (const id of ids) {
    const f = byId.get(id);
    if (f && (best === null || SEVERITY_RANK[f.severity] > SEVERITY_RANK[best])) best = f.severity;
  }
  return best;
}

function kindsOf(ids: string[], byId: Map<string, Finding>): Set<FindingKind> {
  return new Set(ids.map((id) => byId.get(id)?.kind).filter((k): k is FindingKind => k !== undefined));
}

/** Each environment's colour slot, as vault_data assigned it (the same in every vault and view). */
export function environmentSlots(graph: Graph): Map<string, number> {
  return new Map(graph.environments.map((e) => [e.name, e.slot]));
}

/**
 * The nodes and edges to draw: the edge kinds ticked, and the CAs those edges touch (or that carry
 * a finding). Which services are in the graph (environment, neighbourhood, tag, finding kind) is
 * vault_data's decision, asked for in the query; this only chooses what to draw of it.
 */
export function applyFilter(graph: Graph, filter: GraphFilter): { nodes: Node[]; edges: Edge[] } {
  const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));
  const edges = graph.edges.filter((e) => filter.edgeKinds.includes(e.kind) && nodeById.has(e.from) && nodeById.has(e.to));
  const touched = new Set(edges.flatMap((e) => [e.from, e.to]));
  const nodes = graph.nodes.filter((n) => n.kind === "service" || touched.has(n.id) || (!!filter.findingKind && n.findings.length > 0));
  return { nodes, edges };
}

/** Ids of services whose name or owner contains the search text (for focusing). */
export function searchMatches(nodes: Node[], search: string): string[] {
  const q = search.trim().toLowerCase();
  if (!q) return [];
  return nodes.filter((n) => n.name.toLowerCase().includes(q) || (n.owner ?? "").toLowerCase().includes(q)).map((n) => n.id);
}

function nodeElement(n: Node, byId: Map<string, Finding>, slots: Map<string, number>): CyElement {
  const sev = worst(n.findings, byId);
  const classes = [n.kind, n.environment ? `env-${slots.get(n.environment) ?? 0}` : "", sev ? `finding-${sev}` : ""];
  return {
    group: "nodes",
    data: { id: n.id, label: n.name, kind: n.kind, environment: n.environment ?? undefined, findings: n.findings.length },
    classes: classes.filter(Boolean).join(" "),
  };
}

function edgeElement(e: Edge, byId: Map<string, Finding>): CyElement {
  const kinds = kindsOf(e.findings, byId);
  const classes: string[] = [e.kind];
  if (OVER_TRUST.some((k) => kinds.has(k))) classes.push("over-trust");
  if (BROKEN.some((k) => kinds.has(k))) classes.push("broken");
  return { group: "edges", data: { id: e.id, source: e.from, target: e.to, kind: e.kind }, classes: classes.join(" ") };
}

/** Cytoscape elements for the whole filtered graph. */
export function toElements(graph: Graph, filter: GraphFilter): CyElement[] {
  const byId = findingIndex(graph);
  const slots = environmentSlots(graph);
  const { nodes, edges } = applyFilter(graph, filter);
  return [...nodes.map((n) => nodeElement(n, byId, slots)), ...edges.map((e) => edgeElement(e, byId))];
}

/**
 * The overview of a large estate: one node per environment (with its service count) except the
 * expanded ones, whose services are drawn individually; CAs as themselves. Edges between the same
 * two drawn nodes merge into one, labelled with how many they stand for; edge findings carry over.
 */
export function toCollapsedElements(graph: Graph, filter: GraphFilter, expanded: Set<string>): CyElement[] {
  const byId = findingIndex(graph);
  const slots = environmentSlots(graph);
  const { nodes, edges } = applyFilter(graph, filter);
  const owner = new Map<string, string>(); // node id -> drawn node id
  const out: CyElement[] = [];
  const envCounts = new Map<string, number>();
  const envWorst = new Map<string, Severity | null>();
  // The overview node of each environment, as vault_data names it.
  const envNode = new Map(graph.environments.map((e) => [e.name, e.node]));
  for (const n of nodes) {
    const collapsedInto = n.kind === "service" && n.environment && !expanded.has(n.environment) ? envNode.get(n.environment) : undefined;
    if (collapsedInto && n.environment) {
      owner.set(n.id, collapsedInto);
      envCounts.set(n.environment, (envCounts.get(n.environment) ?? 0) + 1);
      const sev = worst(n.findings, byId);
      const prev = envWorst.get(n.environment) ?? null;
      if (sev && (!prev || SEVERITY_RANK[sev] > SEVERITY_RANK[prev])) envWorst.set(n.environment, sev);
    } else {
      owner.set(n.id, n.id);
      out.push(nodeElement(n, byId, slots));
    }
  }
  for (const [env, count] of envCounts) {
    const sev = envWorst.get(env);
    out.push({
      group: "nodes",
      data: { id: envNode.get(env) ?? env, label: `${env} (${count} services)`, kind: "environment", environment: env, count },
      classes: ["environment", `env-${slots.get(env) ?? 0}`, sev ? `finding-${sev}` : ""].filter(Boolean).join(" "),
    });
  }
  const merged = new Map<string, { source: string; target: string; kind: EdgeKind; count: number; classes: Set<string> }>();
  for (const e of edges) {
    const source = owner.get(e.from);
    const target = owner.get(e.to);
    if (!source || !target || source === target) continue;
    const key = `${e.kind}|${source}|${target}`;
    const m = merged.get(key) ?? { source, target, kind: e.kind, count: 0, classes: new Set<string>() };
    m.count += 1;
    for (const c of edgeElement(e, byId).classes.split(" ")) m.classes.add(c);
    merged.set(key, m);
  }
  for (const [key, m] of merged) {
    out.push({
      group: "edges",
      data: { id: `agg:${key}`, source: m.source, target: m.target, kind: m.kind, count: m.count, label: m.count > 1 ? String(m.count) : undefined },
      classes: [...m.classes, "aggregate"].join(" "),
    });
  }
  return out;
}

/** Whether an estate this size opens as the overview. */
export function startsCollapsed(graph: Graph): boolean {
  return graph.nodes.filter((n) => n.kind === "service").length > COLLAPSE_THRESHOLD;
}

/** Graph node ids for the entities a finding names (services and CAs; others have no node). */
export function findingNodeIds(f: Finding): string[] {
  return f.entities.flatMap((e) => (e.node ? [e.node] : []));
}

/** The edge a finding is drawn on, if any (over-trust on the trust edge, broken intent on the intent). */
export function findingEdge(graph: Graph, findingId: string): Edge | undefined {
  return graph.edges.find((e) => e.findings.includes(findingId));
}

/** Human words for edge kinds, for the legend and the evidence panel. */
export const EDGE_LABELS: Record<EdgeKind, string> = {
  mtls: "mutual TLS works",
  credential: "holds a credential for",
  token: "gets tokens accepted by",
  intent: "intends to call",
  trusts_inbound: "accepts clients from",
  trusts_outbound: "verifies servers with",
  issued: "issued",
};

/** Above this many drawn services, "hierarchical" places services in grids (one block per environment) under the CAs. */
export const GRID_THRESHOLD = 150;

export interface Position {
  x: number;
  y: number;
}

/**
 * Positions for large hierarchical views, computed directly (no iterative layout): CAs in rows by
 * how deep they sit under a root, then each environment's services as a compact grid block, the
 * blocks side by side. Linear in the number of nodes, so 2,000 services place instantly.
 */
export function gridHierarchy(elements: CyElement[], spacing = 46): Map<string, Position> {
  const nodes = elements.filter((e) => e.group === "nodes");
  const cas = nodes.filter((n) => n.data.kind === "ca").map((n) => String(n.data.id));
  const parent = new Map<string, string>();
  for (const e of elements) {
    if (e.group === "edges" && e.data.kind === "issued" && cas.includes(String(e.data.target)) && cas.includes(String(e.data.source))) {
      parent.set(String(e.data.target), String(e.data.source));
    }
  }
  const depth = (id: string): number => {
    let d = 0;
    for (let p = parent.get(id); p !== undefined && d < 16; p = parent.get(p)) d++;
    return d;
  };
  const rows = new Map<number, string[]>();
  for (const id of cas.sort()) {
    const d = depth(id);
    rows.set(d, [...(rows.get(d) ?? []), id]);
  }
  const pos = new Map<string, Position>();
  const groups = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.data.kind === "ca") continue;
    const env = String(n.data.environment ?? "");
    groups.set(env, [...(groups.get(env) ?? []), String(n.data.id)]);
  }
  const blocks = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  const total = blocks.reduce((sum, [, ids]) => sum + ids.length, 0);
  // Aim for a roughly 16:9 overall shape.
  const cols = Math.max(4, Math.ceil(Math.sqrt((total * 16) / 9 / Math.max(1, blocks.length))));
  let x0 = 0;
  const rowStep = spacing * 1.5;
  const top = rows.size * rowStep + spacing;
  for (const [, ids] of blocks) {
    ids.sort();
    ids.forEach((id, i) => pos.set(id, { x: x0 + (i % cols) * spacing, y: top + Math.floor(i / cols) * spacing }));
    x0 += (Math.min(cols, ids.length) + 1) * spacing;
  }
  const width = Math.max(x0 - 2 * spacing, spacing);
  for (const [d, ids] of rows) {
    const step = width / (ids.length + 1);
    ids.forEach((id, i) => pos.set(id, { x: step * (i + 1), y: d * rowStep }));
  }
  return pos;
}
