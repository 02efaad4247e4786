//! The trust graph: which services can authenticate to which, what was meant (intents), and
//! what is wrong (findings). Semantics as docs/TRUST_GRAPH.md describes them.
//!
//! A shared CA is represented once, as a node: "every service that trusts corp-root accepts every
//! identity under it" is the edge service → CA plus the CA's members, never N² service pairs.

pub mod dot;
pub mod explain;
pub mod findings;
pub mod impact;
pub(crate) mod model;
pub mod remedy;
#[cfg(test)]
mod tests;
pub mod view;

pub use explain::Explanation;
pub use findings::{EntityRef, Finding, FindingKind, FindingOptions, Severity};
pub use impact::TrustImpact;
pub use remedy::{CertUse, Remedy, TrustSide};
pub use view::{
    environment_slot, Edge, EdgeKind, EnvironmentInfo, Evidence, Graph, GraphOptions, Node, NodeKind, TokenEvidence,
};
