//! The one export use case both shells call: a request as the user gave it, checked into a plan
//! (services, format, options), then previewed or written with progress.

use std::path::PathBuf;

use age::secrecy::SecretString;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, ExportField, Result};
use crate::export::write::FileOwner;
use crate::export::Format;
use crate::vault::Exports;
use crate::vault::{BundlePreview, Destination, ExportOptions, ExportStage, ExportTarget, Exported, Vault};
use std::ops::{Deref, DerefMut};

/// What a front end asks to export, as the user gave it.
#[derive(Debug, Default, Clone)]
pub struct ExportRequest {
    /// Services by name (used when `environment` is not set).
    pub services: Vec<String>,
    /// Every service of this environment.
    pub environment: Option<String>,
    /// dir, tar.gz, age, k8s, compose, env or p12.
    pub format: String,
    /// age recipients (`age1…`, SSH public keys): the age format only.
    pub recipients: Vec<String>,
    /// Kubernetes namespace: the k8s format only.
    pub namespace: Option<String>,
    /// Owner of the secret files: the compose format only.
    pub owner: FileOwner,
    /// The PKCS#12 file's password: the p12 format only, and needed there.
    pub p12_password: Option<SecretString>,
    /// Leave the certificate and key in the vault.
    pub secrets_only: bool,
    /// Leave out `secrets.env`.
    pub no_env: bool,
}

/// A checked export request.
pub struct ExportPlan {
    /// The services, sorted when they came from an environment.
    pub services: Vec<String>,
    /// The format, with everything it needs.
    pub format: Format,
    /// Options recorded with each export.
    pub options: ExportOptions,
    /// Whether the services came from an environment.
    pub from_environment: bool,
}

impl std::fmt::Debug for ExportPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportPlan")
            .field("services", &self.services)
            .field("format", &self.format.name())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ExportPlan {
    /// Whether the outputs carry the signed manifest.
    pub fn signed(&self) -> bool {
        self.format.signed()
    }
}

fn only_with(given: bool, format: &Format, option: ExportField) -> Result<()> {
    if given && format.name() != option.describe().1 {
        return Err(Error::ExportOption { option, format: format.name().into(), needed: false });
    }
    Ok(())
}

impl<V: Deref<Target = Vault>> Exports<V> {
    /// Checks `req` and decides what it exports: every flag belongs to its format, the format
    /// has what it needs, and the services exist (an environment must have some).
    pub fn plan(&self, req: ExportRequest) -> Result<ExportPlan> {
        let format = match req.format.as_str() {
            "p12" => Format::P12(req.p12_password.clone().ok_or(Error::ExportOption {
                option: ExportField::P12Password,
                format: "p12".into(),
                needed: true,
            })?),
            "compose" => Format::Compose(req.owner),
            "age" if req.recipients.is_empty() => {
                return Err(Error::ExportOption { option: ExportField::Recipients, format: "age".into(), needed: true })
            }
            name => Format::from_name(name, req.recipients.clone(), req.namespace.clone())?,
        };
        only_with(req.p12_password.is_some(), &format, ExportField::P12Password)?;
        only_with(req.owner.uid.is_some() || req.owner.gid.is_some(), &format, ExportField::Owner)?;
        only_with(req.namespace.is_some(), &format, ExportField::Namespace)?;
        only_with(!req.recipients.is_empty(), &format, ExportField::Recipients)?;
        let environment = req.environment.filter(|e| !e.trim().is_empty());
        let from_environment = environment.is_some();
        let services = match environment {
            // An environment no service is in is already an error (`UnknownEnvironment`).
            Some(env) => self.vault.exports().services_in(&env)?,
            None if req.services.is_empty() => {
                return Err(Error::Invalid("say which services to export, or an environment".into()))
            }
            None => req.services,
        };
        let options = ExportOptions {
            secrets_only: req.secrets_only || format.secrets_only(),
            no_env: req.no_env,
            format: format.name().to_string(),
        };
        Ok(ExportPlan { services, format, options, from_environment })
    }

    /// What each bundle of `plan` would hold; nothing is written or recorded.
    pub fn preview_plan(&self, plan: &ExportPlan) -> Result<Vec<BundlePreview>> {
        self.vault.exports().preview(&plan.services, &plan.options)
    }

    /// Writes `plan` to `destination` (a bundle path, or a folder with one output per service),
    /// in one audited commit, reporting progress; existing outputs are replaced only with `force`
    /// and only when they are Keyloom's own.
    pub fn run(
        &mut self,
        plan: ExportPlan,
        destination: Destination,
        force: bool,
        progress: &dyn Fn(ExportStage, usize, usize),
    ) -> Result<Vec<Exported>>
    where
        V: DerefMut<Target = Vault>,
    {
        let mtime = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let target = ExportTarget { format: plan.format, destination, force, mtime };
        let result = self.vault.exports_mut().export_to(&plan.services, &plan.options, &target, progress);
        if let Err(e) = &result {
            self.vault.record_export_failure(&plan.services, &plan.options.format, e);
        }
        result
    }
}

impl Vault {
    /// Records a failed export in the audit log (best effort: if the vault cannot commit, the
    /// export's own error is what the caller needs to see).
    fn record_export_failure(&mut self, services: &[String], format: &str, error: &Error) {
        let Ok(u) = self.unlocked() else { return };
        let objects = services
            .iter()
            .filter_map(|name| u.index.service_named(name).ok())
            .map(|s| AuditObject::new("service", Some(s.id), s.name.clone()))
            .collect();
        let detail = format!("{format} export failed ({}): {error}", error.code());
        let _ = self.commit(vec![], vec![AuditEvent::failure("export", objects).with_detail(detail)]);
    }
}

/// Where a single-service export goes when the user names a path: the bundle itself; for an
/// environment (or several services), a folder holding one output per service.
pub fn destination_for(plan: &ExportPlan, out: PathBuf) -> Destination {
    if plan.from_environment || plan.services.len() > 1 {
        Destination::Into(out)
    } else {
        Destination::Path(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::passphrase::KdfCost;
    use crate::model::ServiceSpec;

    fn vault() -> (tempfile::TempDir, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let (mut v, _) = Vault::create(
            &dir.path().join("v"),
            &SecretString::from("a passphrase for the plan test".to_string()),
            crate::CreateOptions { kdf: KdfCost::LogN(10), ..Default::default() },
        )
        .unwrap();
        for (name, env) in [("payments", "prod"), ("orders", "prod"), ("search", "dev")] {
            v.services_mut()
                .add(ServiceSpec { name: name.into(), environment: env.into(), ..Default::default() })
                .unwrap();
        }
        (dir, v)
    }

    fn req(format: &str) -> ExportRequest {
        ExportRequest { format: format.into(), services: vec!["payments".into()], ..Default::default() }
    }

    #[test]
    fn a_failed_export_is_audited_as_a_failure_without_any_value() {
        let (dir, mut v) = vault();
        let secret = "s3cret-value-never-logged";
        let r: crate::SecretRef = "payments/API_KEY".parse().unwrap();
        v.secrets_mut().set(&r, &secrecy::SecretSlice::from(secret.as_bytes().to_vec()), Default::default()).unwrap();
        // payments has no certificate: a dir bundle (which carries TLS files) cannot be made.
        let plan = v.exports().plan(req("dir")).unwrap();
        let out = dir.path().join("out");
        let err = v.exports_mut().run(plan, Destination::Into(out.clone()), false, &|_, _, _| {}).unwrap_err();
        assert!(matches!(err, Error::NoActiveCertificate { .. }), "{err}");
        assert!(!out.exists(), "nothing written");
        let log = v.audit_entries().unwrap();
        let export = log.iter().find(|e| e.action == "export").expect("the failed export is in the log");
        assert_eq!(export.outcome, crate::audit::Outcome::Failure);
        let detail = export.detail.clone().unwrap_or_default();
        assert!(detail.contains("no_active_certificate") && !detail.contains(secret), "{detail}");
        assert_eq!(export.objects.first().map(|o| o.name.as_str()), Some("payments"));
    }

    #[test]
    fn every_option_belongs_to_its_format_and_the_format_has_what_it_needs() {
        let (_d, v) = vault();
        let err = |r: ExportRequest| v.exports().plan(r).unwrap_err().to_string();
        assert!(err(req("p12")).contains("needs a password"));
        assert!(matches!(
            v.exports().plan(req("p12")),
            Err(Error::ExportOption { option: ExportField::P12Password, needed: true, .. })
        ));
        assert!(err(req("age")).contains("at least one recipient"));
        assert!(err(ExportRequest { namespace: Some("ns".into()), ..req("dir") }).contains("k8s format only"));
        let owner = FileOwner { uid: Some(1000), gid: None };
        assert!(err(ExportRequest { owner, ..req("env") }).contains("compose format only"));
        let pw = Some(SecretString::from("pw".to_string()));
        assert!(err(ExportRequest { p12_password: pw.clone(), ..req("dir") }).contains("p12 format only"));
        assert!(err(ExportRequest { format: "zip".into(), ..req("dir") }).contains("unknown export format"));
        let plan = v.exports().plan(ExportRequest { p12_password: pw, ..req("p12") }).unwrap();
        assert_eq!(plan.options.format, "p12");
        assert!(!plan.signed());
        // env never takes the key along.
        assert!(v.exports().plan(req("env")).unwrap().options.secrets_only);
    }

    #[test]
    fn an_environment_picks_its_services_and_decides_the_destination() {
        let (_d, v) = vault();
        let plan = v.exports().plan(ExportRequest { environment: Some("prod".into()), ..req("dir") }).unwrap();
        assert_eq!(plan.services, ["orders", "payments"]);
        assert!(matches!(destination_for(&plan, "/o".into()), Destination::Into(_)));
        let one = v.exports().plan(req("dir")).unwrap();
        assert!(matches!(destination_for(&one, "/o".into()), Destination::Path(_)));
        let e = v.exports().plan(ExportRequest { environment: Some("prdo".into()), ..req("dir") }).unwrap_err();
        assert_eq!(e.code(), "unknown_environment");
        let none = ExportRequest { services: vec![], ..req("dir") };
        assert!(v.exports().plan(none).unwrap_err().to_string().contains("say which services"));
    }
}
