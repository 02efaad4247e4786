//! Criterion benchmarks for the figures issue #3 asks for:
//! - unlock and index a vault of 10k services + 60k credentials with 2 versions each
//!   (after the key derivation, which is measured on its own);
//! - `secret get` (reveal, including its durable audit entry) in that vault;
//! - one durable write (commit + flush + fsync);
//! - bulk import of 10,000 secrets in one operation.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use vault_data::{
    CreateOptions, KdfCost, NewSecret, SecretOptions, SecretRef, SecretSlice, SecretString, ServiceSpec, Unlock, Vault,
};

const SERVICES: usize = 10_000;
const CREDENTIALS: usize = 60_000;

fn passphrase() -> SecretString {
    SecretString::from("bench passphrase".to_string())
}

fn fast_create(dir: &Path) -> (Vault, SecretString) {
    let (v, rk) = Vault::create(dir, &passphrase(), CreateOptions { kdf: KdfCost::LogN(10), ..Default::default() })
        .expect("create");
    (v, rk.0)
}

fn services(n: usize) -> Vec<ServiceSpec> {
    (0..n)
        .map(|i| ServiceSpec {
            name: format!("svc-{i:05}"),
            environment: ["prod", "staging", "dev"][i % 3].to_string(),
            owner: Some(format!("team-{}", i % 50)),
            ..Default::default()
        })
        .collect()
}

fn secrets(services: usize, per_service: usize, round: usize) -> Vec<NewSecret> {
    (0..services * per_service)
        .map(|i| NewSecret {
            reference: SecretRef { service: format!("svc-{:05}", i % services), name: format!("KEY_{}", i / services) },
            value: SecretSlice::from(format!("value-{i}-round-{round}-padding-to-forty-bytes").into_bytes()),
            options: SecretOptions::default(),
            set_at: None,
        })
        .collect()
}

/// Builds the 100k-record vault once: 10k services, 60k credentials, 2 versions each.
fn large_vault(dir: &Path) -> SecretString {
    let (mut v, recovery) = fast_create(dir);
    v.services_mut().add_many(services(SERVICES)).expect("services");
    for round in 0..2 {
        v.secrets_mut().import(&secrets(SERVICES, CREDENTIALS / SERVICES, round)).expect("import");
    }
    v.close().expect("close");
    recovery
}

fn bench_large(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("vault");
    let recovery = large_vault(&dir);

    let mut g = c.benchmark_group("vault_100k");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("open_unlock_index", |b| {
        b.iter(|| {
            let mut v = Vault::open(&dir).expect("open");
            // The recovery slot is an X25519 unwrap (~65 µs): no passphrase KDF in this figure.
            v.unlock(Unlock::RecoveryKey(recovery.clone())).expect("unlock");
            assert_eq!(v.status().expect("status").counts.expect("counts").credential_versions, 2 * CREDENTIALS);
            v
        })
    });

    let mut v = Vault::open(&dir).expect("open");
    v.unlock(Unlock::RecoveryKey(recovery.clone())).expect("unlock");
    let r = SecretRef { service: "svc-04242".into(), name: "KEY_3".into() };
    g.sample_size(100).measurement_time(Duration::from_secs(10));
    g.bench_function("secret_get_with_audit", |b| b.iter(|| v.secrets_mut().reveal(&r, None).expect("reveal")));
    g.finish();
}

fn bench_writes(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut v, _) = fast_create(&tmp.path().join("vault"));
    v.services_mut().add(services(1).remove(0)).expect("service");
    let r = SecretRef { service: "svc-00000".into(), name: "TOKEN".into() };
    let value = SecretSlice::from(b"a-forty-byte-secret-value-for-benchmarks".to_vec());
    let mut g = c.benchmark_group("writes");
    g.bench_function("durable_single_write", |b| {
        b.iter(|| v.secrets_mut().set(&r, &value, SecretOptions::default()).expect("set"))
    });

    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("bulk_import_10k", |b| {
        b.iter_batched(
            || {
                let t = tempfile::tempdir().expect("tempdir");
                let (mut v, _) = fast_create(&t.path().join("vault"));
                v.services_mut().add_many(services(100)).expect("services");
                (t, v, secrets(100, 100, 0))
            },
            |(t, mut v, batch)| {
                v.secrets_mut().import(&batch).expect("import");
                (t, v)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_kdf(c: &mut Criterion) {
    // The passphrase slot's key derivation at age's calibrated default (the ~1 s by design).
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("vault");
    let (v, _) = Vault::create(&dir, &passphrase(), CreateOptions { kdf: KdfCost::Calibrated, ..Default::default() })
        .expect("create");
    v.close().expect("close");
    let mut g = c.benchmark_group("kdf");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("passphrase_unlock_calibrated", |b| {
        b.iter(|| {
            let mut v = Vault::open(&dir).expect("open");
            v.unlock(Unlock::Passphrase(passphrase())).expect("unlock");
            v
        })
    });
    g.finish();
}

criterion_group!(benches, bench_large, bench_writes, bench_kdf, bench_pki, bench_graph, bench_export);
criterion_main!(benches);

fn bench_pki(c: &mut Criterion) {
    use vault_data::pki::{CaSpec, KeyType, NameConstraintsSpec};
    use vault_data::IssueRequest;
    let mut g = c.benchmark_group("pki");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    // 1,000 ECDSA P-256 leaves with fresh keys, sealed, committed, flushed, audited, snapshotted.
    g.bench_function("issue_missing_1000", |b| {
        b.iter_batched(
            || {
                let t = tempfile::tempdir().expect("tempdir");
                let (mut v, _) = fast_create(&t.path().join("vault"));
                let specs = (0..1000)
                    .map(|i| ServiceSpec {
                        name: format!("svc-{i:04}"),
                        environment: "prod".into(),
                        ..Default::default()
                    })
                    .collect();
                v.services_mut().add_many(specs).expect("services");
                let spec = CaSpec {
                    name: "bench-ca".into(),
                    key_type: KeyType::EcdsaP256,
                    validity_days: 365,
                    path_len: None,
                    constraints: NameConstraintsSpec {
                        dns: vec![".prod.bench.example".into()],
                        uri: vec![],
                        ip: vec![],
                    },
                };
                v.cas_mut().create(spec, None).expect("ca");
                (t, v)
            },
            |(t, mut v)| {
                let req = IssueRequest {
                    dns: vec![],
                    ips: vec![],
                    uris: vec![],
                    server: true,
                    client: true,
                    validity_days: 90,
                    key_type: KeyType::EcdsaP256,
                    not_before: None,
                };
                let issued = v.certs_mut().issue_missing("bench-ca", "prod", &req, &|_, _| {}).expect("issue");
                assert_eq!(issued.len(), 1000);
                (t, v)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_graph(c: &mut Criterion) {
    use vault_data::graph::{FindingOptions, GraphOptions};
    // 10,000 services, 20 CAs, ~30,000 intents, 40,000 credentials: the demo estate at scale.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut v, _) = fast_create(&tmp.path().join("vault"));
    let summary = v.populate_demo(10_000, 1).expect("demo");
    eprintln!("graph estate: {summary:?}");
    let mut g = c.benchmark_group("graph_10k");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("graph_and_findings_cold", |b| {
        b.iter(|| {
            v.graph().clear_cache();
            v.graph().view(&GraphOptions::default(), FindingOptions::default()).expect("graph")
        })
    });
    g.sample_size(50).measurement_time(Duration::from_secs(10));
    g.bench_function("neighbourhood_2_hops", |b| {
        let opts = GraphOptions { service: Some("payments".into()), depth: Some(2), ..Default::default() };
        // Warm: the open vault has derived its graph facts once (as the desktop app's view has).
        v.graph().view(&opts, FindingOptions::default()).expect("warm-up");
        b.iter(|| v.graph().view(&opts, FindingOptions::default()).expect("neighbourhood"))
    });
    g.finish();
}

fn bench_export(c: &mut Criterion) {
    use vault_data::export::{write_bundle, Format};
    use vault_data::ExportOptions;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut v, _) = fast_create(&tmp.path().join("vault"));
    v.populate_demo(1000, 1).expect("demo");
    // Every service with an active certificate (the demo revokes one on purpose).
    let services: Vec<String> = v
        .services()
        .list()
        .expect("services")
        .into_iter()
        .map(|s| s.name)
        .filter(|n| v.certs().get(n).is_ok())
        .collect();
    assert!(services.len() >= 999);
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let mut g = c.benchmark_group("export_1000");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    for (label, format) in [("tar_gz", Format::TarGz), ("age", Format::Age(vec![recipient]))] {
        g.bench_function(label, |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("out dir"),
                |out| {
                    let opts = ExportOptions { secrets_only: false, no_env: false, format: label.into() };
                    let bundles = v.exports_mut().bundles(&services, &opts, &|_, _| {}).expect("export");
                    for (bundle, name) in bundles.iter().zip(&services) {
                        write_bundle(bundle, &format, &out.path().join(name), 0).expect("write");
                    }
                    out
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}
