//! `explain A B`: can A reach B, by which chain or credential, and was it intended?

use serde::Serialize;

use crate::graph::findings::{blast_radius, Finding};
use crate::graph::model::Model;
use crate::graph::view::{mtls_edge, Edge};
use crate::ids::RecordId;

/// The answer to "can `from` reach `to`?".
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Explanation {
    /// Caller.
    pub from: String,
    /// Callee.
    pub to: String,
    /// A declared intent exists.
    pub intended: bool,
    /// The mutual-TLS edge with both chains, when the channel exists.
    pub mtls: Option<Edge>,
    /// Whether `to` accepts `from`'s client identity, and via which CA.
    pub accepts: Option<String>,
    /// Whether `from` can verify `to`'s server identity, and via which CA.
    pub can_verify: Option<String>,
    /// Credentials `from` holds for `to`.
    pub credentials: Vec<String>,
    /// Token paths: `from` gets tokens from an issuer that `to` accepts, for an audience.
    pub tokens: Vec<crate::graph::view::TokenEvidence>,
    /// The same, in words ("checkout can call payments with a token from auth, audience payments").
    pub token_paths: Vec<String>,
    /// "intended and working" (", with concerns" when `concerns` is not empty), "possible but not
    /// intended (over-trust)", "intended but broken", "no channel, none intended".
    pub verdict: String,
    /// Why not, when the channel is missing.
    pub reasons: Vec<String>,
    /// What is wrong with a channel that exists: it crosses environments, or the callee accepts a
    /// whole CA's identities where intents name a few (the findings say the same).
    pub concerns: Vec<String>,
}

pub(crate) fn explain(m: &Model<'_>, from: RecordId, to: RecordId) -> Explanation {
    let index = m.index;
    let (fname, tname) = (index.service_name(from), index.service_name(to));
    let accepts = m.accepts(to, from).map(|(_, ca)| index.ca_name(ca));
    let can_verify = m.can_verify(from, to).map(|(_, ca)| index.ca_name(ca));
    let credentials = m.f.credentials.get(&(from, to)).cloned().unwrap_or_default();
    let intended = m.intended(from, to);
    let mtls = mtls_edge(m, from, to);
    let tokens = crate::graph::view::token_evidence(m, from, to);
    let token_paths: Vec<String> = tokens
        .iter()
        .map(|t| format!("{fname} can call {tname} with a token from {}, audience {}", t.issuer, t.audience))
        .collect();
    let mut reasons = Vec::new();
    if mtls.is_none() {
        if m.facts(from).client.is_empty() {
            reasons.push(format!("{fname} has no valid client certificate"));
        } else if accepts.is_none() {
            reasons.push(format!("{tname} does not trust {fname}'s certificate chain inbound"));
        }
        if m.facts(to).server.is_empty() {
            reasons.push(format!("{tname} has no valid server certificate"));
        } else if can_verify.is_none() {
            reasons.push(format!("{fname} does not trust {tname}'s certificate chain outbound"));
        }
    }
    let reachable = mtls.is_some() || !credentials.is_empty() || !tokens.is_empty();
    let mut concerns = Vec::new();
    if reachable {
        let env = |id| index.services.get(&id).map(|s| s.environment.as_str()).unwrap_or("");
        if env(from) != env(to) {
            concerns.push(format!("crosses environments: {fname} is in {}, {tname} in {}", env(from), env(to)));
        }
        if let Some((_, ca)) = m.accepts(to, from) {
            let members = m.f.client_members.get(&ca).map_or(0, |s| s.iter().filter(|id| **id != to).count());
            let callers = m.f.callers.get(&to).map_or(0, |c| c.len());
            if members > callers {
                concerns.push(format!(
                    "{tname} accepts every client identity under {}: {members} services, {callers} with an intent (over-trust)",
                    index.ca_name(ca)
                ));
            }
        }
    }
    let verdict = match (reachable, intended, concerns.is_empty()) {
        (true, true, true) => "intended and working",
        (true, true, false) => "intended and working, with concerns",
        (true, false, _) => "possible but not intended (over-trust)",
        (false, true, _) => "intended but broken",
        (false, false, _) => "no channel, none intended",
    }
    .to_string();
    Explanation {
        from: fname,
        to: tname,
        intended,
        mtls,
        accepts,
        can_verify,
        credentials,
        tokens,
        token_paths,
        verdict,
        reasons,
        concerns,
    }
}

pub(crate) fn blast(m: &Model<'_>, ca: RecordId) -> Option<Finding> {
    blast_radius(m, ca)
}
