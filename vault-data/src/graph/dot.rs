//! Graphviz DOT output: services clustered by environment, CAs as boxes, edge styles by kind.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::graph::view::{EdgeKind, Graph, NodeKind};

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Renders `g` as DOT for `dot -Tsvg`.
pub fn to_dot(g: &Graph) -> String {
    // newrank: Graphviz's older ranking fails ("trouble in init_rank") on some cluster layouts.
    let mut out = String::from("digraph keyloom {\n  rankdir=LR;\n  newrank=true;\n  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    let mut by_env: BTreeMap<&str, Vec<&crate::graph::view::Node>> = BTreeMap::new();
    for n in &g.nodes {
        match n.kind {
            NodeKind::Service => by_env.entry(n.environment.as_deref().unwrap_or("")).or_default().push(n),
            NodeKind::Ca => {
                let color = if n.findings.is_empty() { "black" } else { "orange" };
                let _ = writeln!(
                    out,
                    "  {} [label={}, shape=box, style=rounded, color={color}];",
                    quote(&n.id),
                    quote(&n.name)
                );
            }
        }
    }
    for (i, (env, nodes)) in by_env.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{i} {{\n    label={};\n    style=dashed;", quote(env));
        for n in nodes {
            let color = if n.findings.is_empty() { "black" } else { "red" };
            let _ = writeln!(out, "    {} [label={}, shape=ellipse, color={color}];", quote(&n.id), quote(&n.name));
        }
        out.push_str("  }\n");
    }
    for e in &g.edges {
        let (style, color, label) = match e.kind {
            EdgeKind::Issued => ("dotted", "gray40", "issued"),
            EdgeKind::TrustsInbound => ("dashed", "blue", "trusts (in)"),
            EdgeKind::TrustsOutbound => ("dashed", "steelblue", "trusts (out)"),
            EdgeKind::Mtls => ("solid", "darkgreen", "mtls"),
            EdgeKind::Credential => ("solid", "purple", "credential"),
            EdgeKind::Intent => ("bold", "black", "intent"),
            EdgeKind::Token => ("dashed", "darkorange", "token"),
        };
        let color = if e.findings.is_empty() { color } else { "red" };
        let _ = writeln!(
            out,
            "  {} -> {} [style={style}, color={color}, label={}];",
            quote(&e.from),
            quote(&e.to),
            quote(label)
        );
    }
    out.push_str("}\n");
    out
}
