//! Push and pull timings against a real OpenBao (`scripts/bench-remote.sh` starts one and sets
//! BAO_ADDR and BAO_TOKEN): a vault of SERVICES services with CREDENTIALS credentials pushed
//! from scratch, pushed again with nothing changed, pulled with nothing changed, and pulled after
//! one secret changed on the server. Whole-operation wall times, printed; not a test.

use std::time::Instant;

use age::secrecy::SecretString;
use secrecy::SecretSlice;
use vault_data::{
    CreateOptions, KdfCost, NewSecret, RemoteLogin, RemoteSpec, SecretOptions, SecretRef, ServiceSpec, SyncMode, Vault,
};

fn main() {
    let (Ok(addr), Ok(token)) = (std::env::var("BAO_ADDR"), std::env::var("BAO_TOKEN")) else {
        eprintln!("remote_sync: set BAO_ADDR and BAO_TOKEN (scripts/bench-remote.sh does); skipped");
        return;
    };
    let services: usize = std::env::var("SERVICES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let per: usize = std::env::var("PER_SERVICE").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = CreateOptions { kdf: KdfCost::LogN(14), ..Default::default() };
    let (mut v, _) =
        Vault::create(&dir.path().join("v"), &SecretString::from("bench passphrase for remote sync".to_string()), opts)
            .expect("create");
    let specs: Vec<ServiceSpec> = (0..services)
        .map(|i| ServiceSpec {
            name: format!("svc-{i:05}"),
            environment: ["prod", "staging"][i % 2].into(),
            ..Default::default()
        })
        .collect();
    v.services_mut().add_many(specs).expect("services");
    let secrets: Vec<NewSecret> = (0..services)
        .flat_map(|i| {
            (0..per).map(move |j| NewSecret {
                reference: SecretRef { service: format!("svc-{i:05}"), name: format!("SECRET_{j}") },
                value: SecretSlice::from(format!("value-{i}-{j}-0123456789abcdef").into_bytes()),
                options: SecretOptions::default(),
                set_at: None,
            })
        })
        .collect();
    v.secrets_mut().import(&secrets).expect("secrets");
    let spec = RemoteSpec {
        name: "bench".into(),
        addr,
        kv_mount: "secret".into(),
        prefix: format!("bench-{}", std::process::id()),
        namespace: None,
        ca_pem: None,
        insecure_http: true,
        login: RemoteLogin::Token(SecretString::from(token)),
        sealed: None,
    };
    v.remotes_mut().add(spec).expect("remote");
    let total = services * per;
    let time = |label: &str, mode: SyncMode, v: &mut Vault| {
        let t = Instant::now();
        let r = v.remotes_mut().sync("bench", mode, None, false, &|_, _| {}).expect("sync");
        let s = t.elapsed().as_secs_f64();
        assert!(r.failures.is_empty(), "{label}: {:?}", r.failures.first());
        println!("{label:<44} {s:>7.2} s  ({} services checked, {} changed)", r.checked, r.items.len());
    };
    println!("{services} services, {total} credentials");
    time("push, everything new", SyncMode::Push, &mut v);
    time("push again, nothing changed", SyncMode::Push, &mut v);
    time("pull, nothing changed", SyncMode::Pull, &mut v);
    time("sync (pull + push), nothing changed", SyncMode::Sync, &mut v);
}
