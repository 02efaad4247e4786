// Cytoscape's stylesheet. The canvas cannot read CSS variables, so colours come from the page's
// computed style once, at mount (which follows the system's light or dark theme).
import type cytoscape from "cytoscape";

/** One colour per environment slot (vault_data's `environment_slot`). */
export const ENV_COLOURS = ["#3b82f6", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#84cc16", "#f97316"];

export function graphStyle(root: HTMLElement): cytoscape.StylesheetJson {
  const css = getComputedStyle(root);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const text = v("--text", "#1c2230");
  const muted = v("--muted", "#5b6475");
  const panel = v("--panel", "#ffffff");
  const bad = v("--bad", "#b3261e");
  const warn = v("--warn", "#a05a00");
  const accent = v("--accent", "#3b4cca");
  const style: cytoscape.StylesheetJson = [
    {
      selector: "node",
      style: {
        label: "data(label)",
        "font-size": 10,
        color: text,
        "text-valign": "bottom",
        "text-margin-y": 3,
        "text-outline-color": panel,
        "text-outline-width": 2,
        width: 18,
        height: 18,
        "border-width": 1,
        "border-color": panel,
        "min-zoomed-font-size": 7,
      },
    },
    { selector: "node.service", style: { shape: "ellipse" } },
    { selector: "node.ca", style: { shape: "round-rectangle", width: 26, height: 18, "background-color": muted } },
    {
      selector: "node.environment",
      style: {
        shape: "round-rectangle",
        width: "label",
        height: 34,
        padding: "12px",
        "font-size": 12,
        "text-valign": "center",
        color: "#fff",
        "text-outline-width": 0,
      } as cytoscape.Css.Node,
    },
    { selector: "node.finding-medium", style: { "border-width": 3, "border-color": warn } },
    { selector: "node.finding-high", style: { "border-width": 4, "border-color": bad } },
    {
      selector: "edge",
      style: {
        width: 1.2,
        "curve-style": "bezier",
        "target-arrow-shape": "triangle",
        "arrow-scale": 0.7,
        "line-color": muted,
        "target-arrow-color": muted,
        opacity: 0.55,
      },
    },
    { selector: "edge.aggregate", style: { label: "data(label)", "font-size": 9, color: muted } },
    { selector: "edge.issued", style: { "line-style": "dotted", opacity: 0.35 } },
    { selector: "edge.mtls", style: { "line-color": "#2563eb", "target-arrow-color": "#2563eb", width: 1.6 } },
    { selector: "edge.credential", style: { "line-color": "#0d9488", "target-arrow-color": "#0d9488", "line-style": "dashed" } },
    { selector: "edge.token", style: { "line-color": "#db2777", "target-arrow-color": "#db2777", "line-style": "dashed", "line-dash-pattern": [2, 3], width: 1.6 } },
    { selector: "edge.intent", style: { "line-color": "#7c3aed", "target-arrow-color": "#7c3aed" } },
    { selector: "edge.trusts_inbound, edge.trusts_outbound", style: { "target-arrow-shape": "tee" } },
    { selector: "edge.over-trust", style: { "line-color": bad, "target-arrow-color": bad, width: 2.4, opacity: 0.9 } },
    {
      selector: "edge.broken",
      style: { "line-color": warn, "target-arrow-color": warn, "line-style": "dashed", width: 2.4, opacity: 0.95 },
    },
    { selector: ".dimmed", style: { opacity: 0.12 } },
    { selector: "node.highlight", style: { "border-width": 4, "border-color": accent, "background-blacken": -0.2 } },
    { selector: "edge.highlight", style: { width: 3, opacity: 1, "line-color": accent, "target-arrow-color": accent } },
    { selector: ":selected", style: { "overlay-color": accent, "overlay-opacity": 0.25, "overlay-padding": 4 } },
  ];
  ENV_COLOURS.forEach((colour, i) => style.push({ selector: `node.env-${i}`, style: { "background-color": colour } }));
  return style;
}

/** The legend's entries: what each colour and line means. */
export const LEGEND: { label: string; swatch: string; dashed?: boolean; dotted?: boolean }[] = [
  { label: "mutual TLS works", swatch: "#2563eb" },
  { label: "credential", swatch: "#0d9488", dashed: true },
  { label: "token", swatch: "#db2777", dotted: true },
  { label: "intent", swatch: "#7c3aed" },
  { label: "accepts clients from / verifies servers with (⊣ CA)", swatch: "var(--muted)" },
  { label: "issued", swatch: "var(--muted)", dotted: true },
  { label: "over-trust / cross-environment", swatch: "var(--bad)" },
  { label: "broken intent", swatch: "var(--warn)", dashed: true },
];
