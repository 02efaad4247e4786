//! The trust graph over this vault's records.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::graph::explain::{blast, explain, Explanation};
use crate::graph::findings::{compute, Finding, FindingOptions};
use crate::graph::model::Model;
use crate::graph::view::{build, Graph, GraphOptions};
use crate::vault::Vault;

impl Vault {
    /// Every finding, most severe first.
    pub fn findings(&self, opts: FindingOptions) -> Result<Vec<Finding>> {
        let index = &self.unlocked()?.index;
        Ok(compute(&Model::build(index, OffsetDateTime::now_utc()), opts))
    }

    /// The graph (or a filtered neighbourhood of it) with its findings.
    pub fn graph(&self, opts: &GraphOptions, findings: FindingOptions) -> Result<Graph> {
        let index = &self.unlocked()?.index;
        let model = Model::build(index, OffsetDateTime::now_utc());
        let f = compute(&model, findings);
        build(&model, f, opts)
    }

    /// Can service `from` reach service `to`, how, and was it intended?
    pub fn explain(&self, from: &str, to: &str) -> Result<Explanation> {
        let index = &self.unlocked()?.index;
        let (a, b) = (index.service_named(from)?.id, index.service_named(to)?.id);
        Ok(explain(&Model::build(index, OffsetDateTime::now_utc()), a, b))
    }

    /// What an attacker holding CA `name`'s key could impersonate, and to whom.
    pub fn blast_radius(&self, name: &str) -> Result<Finding> {
        let index = &self.unlocked()?.index;
        let ca = index.ca_named(name)?.id;
        blast(&Model::build(index, OffsetDateTime::now_utc()), ca).ok_or_else(|| {
            Error::Invalid(format!(
                "CA {name:?} issues no identity in use and no service trusts it: nothing is exposed"
            ))
        })
    }
}
