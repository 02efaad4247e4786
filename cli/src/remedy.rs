//! How the CLI words a finding's [`Remedy`]: as the command to run where one command does it,
//! else as a sentence. The core decides the remedy; only its wording lives here.

use serde::Serialize;
use vault_data::graph::{CertUse, Edge, EnvironmentInfo, Finding, Graph, Node, Remedy, TrustSide};

/// A name as one shell word in a command to copy: bare when safe, else single-quoted. Vaults
/// from before the name rule may hold any name (a CA named after a certificate's subject).
fn word(name: &str) -> String {
    String::from_utf8_lossy(&vault_data::export::envfile::shell_quote(name.as_bytes())).into_owned()
}

fn from(ca: &Option<String>) -> String {
    ca.as_ref().map(|c| format!(" from {c}")).unwrap_or_default()
}

/// A stored name's fix as the command that does it, names quoted for the shell.
pub fn render_name_fix(f: &vault_data::NameFix) -> String {
    use vault_data::model::names::NameKind;
    match f {
        vault_data::NameFix::Rename { kind, name, to } => {
            let noun = match kind {
                NameKind::Service => "service",
                NameKind::Ca => "ca",
                NameKind::Secret => "secret",
                NameKind::Environment => "service",
            };
            format!("keyloom {noun} rename {} {}", word(name), word(to))
        }
        vault_data::NameFix::MoveEnvironment { to, services } => {
            let listed: Vec<String> = services.iter().take(10).map(|s| word(s)).collect();
            let more = if services.len() > 10 { format!(" and {} more", services.len() - 10) } else { String::new() };
            format!("keyloom service edit SERVICE --env {}, for each of: {}{more}", word(to), listed.join(", "))
        }
    }
}

/// The remedy as a person at a terminal reads it.
pub fn render(r: &Remedy) -> String {
    match r {
        Remedy::RemoveTrust { service, ca, instead: None } => format!("remove {ca} from {service}'s inbound trust"),
        Remedy::RemoveTrust { service, ca, instead: Some(better) } => {
            format!("remove {ca} from {service}'s inbound trust, add {better}")
        }
        Remedy::DedicatedCa { service, intended, .. } => format!(
            "issue {service}'s {intended} intended callers from a dedicated CA and trust only that, or declare the missing intents"
        ),
        Remedy::EnvironmentCa { ca, environment, .. } => {
            format!("trust a CA that issues only {environment} identities instead of {ca}")
        }
        Remedy::IssueCertificate { service, usage, ca } => {
            let usage = match usage {
                CertUse::Client => "client",
                CertUse::Server => "server",
            };
            format!("issue {service} a {usage} certificate{}", from(ca))
        }
        Remedy::AddTrust { service, ca, side } => {
            let side = match side {
                TrustSide::Inbound => "inbound",
                TrustSide::Outbound => "outbound",
            };
            format!("add {ca} to {service}'s {side} trust")
        }
        Remedy::RenewCertificate { service, .. } => format!("keyloom cert renew {}", word(service)),
        Remedy::ImportRenewal { service } => format!("import a renewed certificate for {service}"),
        Remedy::ReplaceRevoked { service, ca, .. } => format!("issue {service} a new certificate{}", from(ca)),
        Remedy::ReplaceWeakCertificate { service } => {
            format!("replace it with an ECDSA P-256 certificate: keyloom cert issue --service {} --ca …", word(service))
        }
        Remedy::ReissueAndExport { service } => format!("issue {service} a new certificate and export its bundle again"),
        Remedy::RemoveCa { ca, if_unneeded: false } => format!("keyloom ca remove {}", word(ca)),
        Remedy::RemoveCa { ca, if_unneeded: true } => format!("keyloom ca remove {} (if it is not needed)", word(ca)),
        Remedy::ReplaceCa { ca } => format!("replace CA {ca} and reissue what it signed"),
        Remedy::SucceedCa { ca } => format!("create a successor to {ca} and move its services"),
        Remedy::ReplaceTrustedCa { ca } => format!("stop trusting {ca} and trust its successor"),
        Remedy::TrustSuccessor { ca } => format!("trust {ca}'s successor alongside it before it expires"),
        Remedy::StopTrusting { ca } => format!("stop trusting {ca}"),
        Remedy::RotateCredential { service, name } => {
            format!("rotate it: keyloom secret set {} (or secret generate)", word(&format!("{service}/{name}")))
        }
        Remedy::RemoveTokenTrust { service, issuer, audience } => format!(
            "stop accepting them: keyloom token trust remove {} --issuer {} --audience {}",
            word(service),
            word(issuer),
            word(audience)
        ),
        Remedy::ExportAgain { service } => format!("export it again and deploy it: keyloom export {}", word(service)),
        Remedy::RotateTokenKey { issuer } => format!("rotate: keyloom token-key rotate --service {}", word(issuer)),
        Remedy::ReplaceIssuerKey { issuer, kid } => format!(
            "have {issuer} publish an asymmetric key (ES256, EdDSA or RS256 of 2048+ bits) instead of {kid}, then: keyloom token-issuer import {} --jwks FILE",
            word(issuer)
        ),
        Remedy::ResolveConflict { service, name, remote } => format!(
            "keep one side: keyloom conflicts resolve {} --remote {} --take local|remote",
            word(&format!("{service}/{name}")),
            word(remote)
        ),
    }
}

/// A finding's suggested fix as text, empty when it has no remedy.
pub fn fix_text(f: &Finding) -> Option<String> {
    f.remedy.as_ref().map(render)
}

/// A finding as `--json` prints it: the finding (with its typed `remedy`) and, as before, the
/// remedy worded for the terminal in `fix`. Serialized in field order (no detour through a
/// `serde_json::Value`, whose maps sort their keys).
#[derive(Serialize)]
pub struct FindingJson<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    fix: Option<String>,
}

impl<'a> From<&'a Finding> for FindingJson<'a> {
    fn from(finding: &'a Finding) -> Self {
        FindingJson { finding, fix: fix_text(finding) }
    }
}

/// `graph --json`: the graph as the core serializes it, its findings as [`FindingJson`].
#[derive(Serialize)]
pub struct GraphJson<'a> {
    #[serde(with = "time::serde::rfc3339")]
    generated: time::OffsetDateTime,
    nodes: &'a [Node],
    edges: &'a [Edge],
    findings: Vec<FindingJson<'a>>,
    environments: &'a [EnvironmentInfo],
    mtls_pairs: &'static str,
}

impl<'a> From<&'a Graph> for GraphJson<'a> {
    fn from(g: &'a Graph) -> Self {
        // Destructured without `..`: a new field on Graph fails to compile here rather than
        // silently missing from the CLI's JSON.
        let Graph { generated, nodes, edges, findings, environments, mtls_pairs } = g;
        GraphJson {
            generated: *generated,
            nodes,
            edges,
            findings: findings.iter().map(FindingJson::from).collect(),
            environments,
            mtls_pairs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_fix_is_a_command_that_pastes_into_a_shell() {
        use vault_data::model::names::NameKind;
        use vault_data::NameFix;
        let f = NameFix::Rename { kind: NameKind::Service, name: "it's here".into(), to: "its-here".into() };
        assert_eq!(render_name_fix(&f), r"keyloom service rename 'it'\''s here' its-here");
        let f = NameFix::Rename { kind: NameKind::Secret, name: "pay/1X".into(), to: "_1X".into() };
        assert_eq!(render_name_fix(&f), "keyloom secret rename pay/1X _1X");
        let f = NameFix::MoveEnvironment { to: "prod".into(), services: vec!["Payments".into(), "a b".into()] };
        assert_eq!(render_name_fix(&f), "keyloom service edit SERVICE --env prod, for each of: Payments, 'a b'");
    }

    #[test]
    fn renders_commands_where_one_command_does_it() {
        let r = Remedy::RemoveCa { ca: "spare".into(), if_unneeded: false };
        assert_eq!(render(&r), "keyloom ca remove spare");
        let r = Remedy::RotateCredential { service: "ads".into(), name: "KEY".into() };
        assert!(render(&r).contains("keyloom secret set ads/KEY"));
        let r = Remedy::AddTrust { service: "payments".into(), ca: "staging-ca".into(), side: TrustSide::Inbound };
        assert_eq!(render(&r), "add staging-ca to payments's inbound trust");
        let r = Remedy::IssueCertificate { service: "d-tool".into(), usage: CertUse::Server, ca: None };
        assert_eq!(render(&r), "issue d-tool a server certificate");
    }

    /// A name from before the name rule (an imported CA's subject) cannot turn a command to copy
    /// into another command.
    #[test]
    fn hostile_legacy_names_stay_one_shell_word() {
        let r = Remedy::RemoveCa { ca: "Evil CA; rm -rf ~ $(id)".into(), if_unneeded: false };
        assert_eq!(render(&r), "keyloom ca remove 'Evil CA; rm -rf ~ $(id)'");
        let r = Remedy::RenewCertificate { service: "it's".into(), certificate: vault_data::RecordId::random() };
        assert_eq!(render(&r), "keyloom cert renew 'it'\\''s'");
    }

    #[test]
    fn json_keeps_the_typed_remedy_and_adds_its_wording() {
        let f = Finding {
            id: "abc".into(),
            kind: vault_data::graph::FindingKind::UnusedCa,
            severity: vault_data::graph::Severity::Low,
            entities: vec![],
            message: "CA spare issues nothing in use and no service trusts it".into(),
            remedy: Some(Remedy::RemoveCa { ca: "spare".into(), if_unneeded: true }),
            count: None,
        };
        let text = serde_json::to_string(&FindingJson::from(&f)).unwrap();
        assert!(text.starts_with(r#"{"id":"abc","kind":"unused_ca""#), "field order kept: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["remedy"], serde_json::json!({"action": "remove_ca", "ca": "spare", "if_unneeded": true}));
        assert_eq!(v["fix"], "keyloom ca remove spare (if it is not needed)");
    }
}
