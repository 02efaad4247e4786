//! Sync with a real OpenBao (`bao server -dev`, started and stopped here): what Keyloom pushes is
//! read back by the `bao` CLI, what `bao kv put` / `patch` change is pulled, two vaults merge
//! through one server, conflicts keep both values, and faults (wrong token, sealed server, a
//! server gone mid-push, an older version served after a newer one) change nothing here.

use keyloom_tests::bao::{Bao, Proxy};
use keyloom_tests::TestVault;
use serde_json::Value;

const TOKEN: &str = "root-token-3f9a1c7e5b";

/// A vault with a remote `team` pointing at `addr` (token in a 0600 file).
fn with_remote(v: &TestVault, addr: &str, token: &str) {
    let file = v.root.path().join("bao-token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let f = file.to_string_lossy().into_owned();
    v.ok(&["remote", "add", "team", "--addr", addr, "--insecure-http", "--token-file", &f]);
}

fn set(v: &TestVault, reference: &str, value: &str) {
    let out = v.run_with_stdin(&["secret", "set", reference], value.as_bytes());
    keyloom_tests::assert_success(&out, &["secret", "set", reference]);
}

fn get(v: &TestVault, reference: &str) -> String {
    v.ok(&["secret", "get", reference, "-n"])
}

fn audit(v: &TestVault) -> Vec<Value> {
    v.json(&["audit", "list", "--limit", "1000"]).as_array().cloned().unwrap_or_default()
}

#[test]
fn push_is_read_back_by_bao_and_bao_changes_are_pulled() {
    let bao = Bao::start(TOKEN);
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    v.ok(&["service", "add", "web", "--env", "staging"]);
    // Values a shell, a JSON encoder or a line-based tool would trip over.
    let tricky = "pa$$ \"quoted\" 'single'\nsecond line\\";
    set(&v, "payments/STRIPE_KEY", "sk_live_51Hx");
    set(&v, "payments/DB_URL", tricky);
    set(&v, "web/SESSION_KEY", "s3ss10n");
    with_remote(&v, &bao.addr, TOKEN);

    let status = v.json(&["remote", "status", "team"]);
    assert_eq!(status["reachable"], true);
    assert_eq!(status["server"]["sealed"], false);
    assert_eq!(status["policies"][0], "root");

    // A dry run writes nothing anywhere.
    let dry = v.json(&["push", "team", "--dry-run"]);
    assert_eq!(dry["items"].as_array().unwrap().len(), 2);
    assert!(!bao.cli(&["kv", "get", "secret/keyloom/prod/payments"]).status.success(), "dry run wrote");

    let report = v.json(&["push", "team"]);
    assert_eq!(report["failures"], serde_json::json!([]));
    let (data, version, custom) = bao.kv_get("secret/keyloom/prod/payments");
    assert_eq!(data["STRIPE_KEY"], "sk_live_51Hx");
    assert_eq!(data["DB_URL"], tricky, "bao reads the value byte for byte");
    assert_eq!(version, 1);
    let svc_id = v.json(&["service", "show", "payments"])["service"]["id"].as_str().unwrap().to_string();
    assert_eq!(custom["keyloom_service"], svc_id.as_str());
    assert_eq!(bao.kv_get("secret/keyloom/staging/web").0["SESSION_KEY"], "s3ss10n");

    // Pushing again with nothing changed writes no new version.
    v.json(&["push", "team"]);
    assert_eq!(bao.kv_get("secret/keyloom/prod/payments").1, 1);

    // Teammates change it with bao: a put (new field, changed field) and a patch.
    bao.ok(&["kv", "patch", "secret/keyloom/prod/payments", "STRIPE_KEY=sk_live_rotated", "WEBHOOK=whsec_1"]);
    bao.ok(&["kv", "put", "secret/keyloom/staging/web", "SESSION_KEY=s3ss10n", "CSRF=c$rf"]);
    let pulled = v.json(&["pull", "team"]);
    assert_eq!(pulled["conflicts"], serde_json::json!([]));
    assert_eq!(get(&v, "payments/STRIPE_KEY"), "sk_live_rotated");
    assert_eq!(get(&v, "payments/WEBHOOK"), "whsec_1");
    assert_eq!(get(&v, "payments/DB_URL"), tricky, "an untouched field stays");
    assert_eq!(get(&v, "web/CSRF"), "c$rf");
    // The old value is still in the history, and the audit names the server's version.
    let history = v.json(&["secret", "history", "payments/STRIPE_KEY"]);
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
    let entries = audit(&v);
    let pull = entries.iter().rev().find(|e| e["action"] == "remote.pull").expect("a remote.pull entry");
    assert!(pull["detail"].as_str().unwrap().contains("keyloom/prod/payments version 2"), "{pull}");

    // A teammate's new service arrives as a service here; a name the name rule refuses does not.
    bao.ok(&["kv", "put", "secret/keyloom/prod/billing", "API_KEY=b1"]);
    bao.ok(&["kv", "put", "secret/keyloom/prod/Bad_Name", "X=1"]);
    let pulled = v.json(&["pull", "team"]);
    assert_eq!(get(&v, "billing/API_KEY"), "b1");
    assert_eq!(v.json(&["service", "show", "billing"])["service"]["environment"], "prod");
    let skipped = pulled["skipped"].as_array().unwrap();
    assert!(skipped.iter().any(|s| s["path"] == "keyloom/prod/Bad_Name"), "{pulled}");
    assert!(v.fails(&["service", "show", "Bad_Name"], 1).contains("unknown service"));

    // A pull with nothing changed changes nothing (and writes no audit entry per service).
    let before = audit(&v).len();
    let again = v.json(&["pull", "team"]);
    assert_eq!(again["items"], serde_json::json!([]));
    assert_eq!(audit(&v).len(), before);
}

#[test]
fn two_vaults_merge_through_one_server_and_conflicts_keep_both_values() {
    let bao = Bao::start(TOKEN);
    let a = TestVault::init();
    let b = TestVault::init();
    a.ok(&["service", "add", "payments", "--env", "prod"]);
    set(&a, "payments/STRIPE_KEY", "k1");
    set(&a, "payments/DB_PASS", "d1");
    set(&a, "payments/SHARED", "s1");
    with_remote(&a, &bao.addr, TOKEN);
    with_remote(&b, &bao.addr, TOKEN);
    a.json(&["push", "team"]);
    b.json(&["pull", "team"]);
    assert_eq!(get(&b, "payments/STRIPE_KEY"), "k1");

    // Concurrent edits of different fields merge.
    set(&a, "payments/STRIPE_KEY", "k2-from-a");
    set(&b, "payments/DB_PASS", "d2-from-b");
    a.json(&["sync", "team"]);
    b.json(&["sync", "team"]);
    a.json(&["sync", "team"]);
    for v in [&a, &b] {
        assert_eq!(get(v, "payments/STRIPE_KEY"), "k2-from-a");
        assert_eq!(get(v, "payments/DB_PASS"), "d2-from-b");
    }
    let (data, _, _) = bao.kv_get("secret/keyloom/prod/payments");
    assert_eq!((data["STRIPE_KEY"].as_str(), data["DB_PASS"].as_str()), (Some("k2-from-a"), Some("d2-from-b")));

    // The same field changed on both sides: listed, exit 1, nothing overwritten.
    set(&a, "payments/SHARED", "from-a");
    set(&b, "payments/SHARED", "from-b");
    a.json(&["sync", "team"]);
    let out = b.run(&["sync", "team", "--json"]);
    assert_eq!(out.status.code(), Some(1), "a sync with conflicts exits 1");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["conflicts"][0]["secret"], "payments/SHARED");
    assert_eq!(get(&b, "payments/SHARED"), "from-b", "the local value stays current");
    assert_eq!(bao.kv_get("secret/keyloom/prod/payments").0["SHARED"], "from-a", "the server keeps its value");
    let listed = b.json(&["conflicts", "list"]);
    let theirs = listed[0]["remote_value_version"].as_u64().unwrap();
    assert_eq!(b.ok(&["secret", "get", "payments/SHARED", "-n", "--version", &theirs.to_string()]), "from-a");
    // A second sync does not record it twice, and does not write over the server's value either.
    assert_eq!(b.run(&["sync", "team"]).status.code(), Some(1));
    assert_eq!(b.json(&["conflicts", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(bao.kv_get("secret/keyloom/prod/payments").0["SHARED"], "from-a", "an open conflict is never pushed");
    assert_eq!(get(&b, "payments/SHARED"), "from-b");
    // The server's value changes again while the conflict is open: the newer one is kept too.
    set(&a, "payments/SHARED", "from-a-again");
    a.json(&["sync", "team"]);
    assert_eq!(b.run(&["sync", "team"]).status.code(), Some(1));
    let listed = b.json(&["conflicts", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let theirs = listed[0]["remote_value_version"].as_u64().unwrap();
    assert_eq!(b.ok(&["secret", "get", "payments/SHARED", "-n", "--version", &theirs.to_string()]), "from-a-again");
    assert_eq!(get(&b, "payments/SHARED"), "from-b");

    // Keep ours: the next push writes it; the other vault then takes it.
    b.ok(&["conflicts", "resolve", "payments/SHARED", "--take", "local"]);
    assert_eq!(b.json(&["conflicts", "list"]), serde_json::json!([]));
    b.json(&["sync", "team"]);
    assert_eq!(bao.kv_get("secret/keyloom/prod/payments").0["SHARED"], "from-b");
    a.json(&["pull", "team"]);
    assert_eq!(get(&a, "payments/SHARED"), "from-b");
    // Both values are in B's history.
    let versions = b.json(&["secret", "history", "payments/SHARED"])["versions"].as_array().unwrap().len();
    assert!(versions >= 3, "s1, from-b, from-a (and from-b again): {versions}");
}

#[test]
fn a_server_lost_mid_push_leaves_a_consistent_state_and_a_rerun_finishes() {
    let bao = Bao::start(TOKEN);
    let proxy = Proxy::start(bao.addr.trim_start_matches("http://"));
    let v = TestVault::init();
    let services: Vec<Value> =
        (0..60).map(|i| serde_json::json!({"name": format!("svc-{i:03}"), "environment": "prod"})).collect();
    let list = v.root.path().join("svcs.json");
    std::fs::write(&list, serde_json::to_vec(&services).unwrap()).unwrap();
    v.ok(&["service", "import", &list.to_string_lossy()]);
    for i in 0..60 {
        set(&v, &format!("svc-{i:03}/TOKEN"), &format!("t-{i}"));
    }
    with_remote(&v, &proxy.addr, TOKEN);
    proxy.cut_after_writes(20);
    let out = v.run(&["push", "team", "--json"]);
    assert!(proxy.was_cut());
    assert_eq!(out.status.code(), Some(1), "an interrupted push fails: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = report["failures"].as_array().unwrap().len();
    assert!(failed > 0 && failed < 60, "some went through, some failed: {failed}");
    assert!(report["failures"][0]["problem"].as_str().unwrap().contains("cannot reach"), "{report}");

    proxy.resume();
    let rerun = v.json(&["push", "team"]);
    assert_eq!(rerun["failures"], serde_json::json!([]));
    assert_eq!(
        rerun["conflicts"],
        serde_json::json!([]),
        "a write whose answer was lost is recognised, not a conflict"
    );
    for i in [0, 29, 59] {
        assert_eq!(bao.kv_get(&format!("secret/keyloom/prod/svc-{i:03}")).0["TOKEN"], format!("t-{i}"));
    }
    // Every secret has exactly one version: nothing was written twice.
    let versions: Vec<u64> = (0..60).map(|i| bao.kv_get(&format!("secret/keyloom/prod/svc-{i:03}")).1).collect();
    assert!(versions.iter().all(|&n| n == 1), "{versions:?}");
    assert_eq!(v.json(&["push", "team"])["items"], serde_json::json!([]), "a third push has nothing to do");
}

#[test]
fn faults_give_clear_errors_and_change_nothing_here() {
    let bao = Bao::start(TOKEN);
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    set(&v, "payments/STRIPE_KEY", "k1");

    // A wrong token: 403, said as such, without the token.
    with_remote(&v, &bao.addr, "not-the-token-77c1");
    let before = keyloom_tests::data_trees_after_close(&v);
    let err = v.fails(&["push", "team"], 1);
    assert!(err.contains("permission denied"), "{err}");
    assert!(!err.contains("not-the-token-77c1"));
    assert!(keyloom_tests::data_trees_after_close(&v) == before, "a refused push changes nothing here");
    v.ok(&["remote", "remove", "team"]);

    // Plain http needs the explicit allowance; a missing KV mount is named.
    with_remote(&v, &bao.addr, TOKEN);
    let token_file = v.root.path().join("bao-token").to_string_lossy().into_owned();
    assert!(v
        .fails(&["remote", "add", "x", "--addr", &bao.addr, "--token-file", &token_file], 1)
        .contains("plain http"));
    // A mistyped remote is named with the closest one.
    let err = v.fails(&["push", "teem"], 1);
    assert!(err.contains("unknown remote \"teem\"") && err.contains("did you mean \"team\""), "{err}");
    // An address with credentials or a query is refused, without echoing the password.
    let err = v.fails(
        &["remote", "add", "y", "--addr", "https://admin:hunter2@bao.example:8200", "--token-file", &token_file],
        1,
    );
    assert!(err.contains("not a server address") && !err.contains("hunter2"), "{err}");
    v.ok(&[
        "remote",
        "add",
        "nomount",
        "--addr",
        &bao.addr,
        "--insecure-http",
        "--kv-mount",
        "kv-nope",
        "--token-file",
        &token_file,
    ]);
    assert!(v.fails(&["push", "nomount"], 1).contains("kv-nope"));

    // A `bao kv put` between our pull and our push is merged, not overwritten.
    v.json(&["push", "team"]);
    v.json(&["pull", "team"]);
    bao.ok(&["kv", "patch", "secret/keyloom/prod/payments", "ADDED_THERE=x"]);
    set(&v, "payments/ADDED_HERE", "y");
    v.json(&["push", "team"]);
    let (data, _, _) = bao.kv_get("secret/keyloom/prod/payments");
    assert_eq!((data["ADDED_THERE"].as_str(), data["ADDED_HERE"].as_str()), (Some("x"), Some("y")));
    // Check-and-set itself: a write against a stale version is refused by the server.
    let client = vault_data::remote::client::Client::new(
        &vault_data::remote::client::Endpoint {
            addr: bao.addr.clone(),
            namespace: None,
            ca_der: vec![],
            insecure_http: true,
        },
        vault_data::SecretString::from(TOKEN.to_string()),
    )
    .unwrap();
    let stale = [("K".to_string(), "v".to_string())].into();
    assert!(matches!(
        client.write("secret", "keyloom/prod/payments", &stale, 1).unwrap(),
        vault_data::remote::client::Written::CasMismatch
    ));

    // A secret on the server that cannot be taken (a field name the name rule refuses) fails that
    // service only; the others sync.
    bao.ok(&["kv", "put", "secret/keyloom/prod/oddity", "db-url=x"]);
    set(&v, "payments/LATER", "z");
    let out = v.run(&["sync", "team", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["failures"][0]["problem"].as_str().unwrap().contains("db-url"), "{report}");
    assert_eq!(bao.kv_get("secret/keyloom/prod/payments").0["LATER"], "z", "the other service synced");
    assert!(v.fails(&["service", "show", "oddity"], 1).contains("unknown service"));
    bao.ok(&["kv", "metadata", "delete", "secret/keyloom/prod/oddity"]);

    // An older version served after a newer one (the secret destroyed and written again, as by a
    // restored backup): refused, nothing taken.
    bao.ok(&["kv", "metadata", "delete", "secret/keyloom/prod/payments"]);
    bao.ok(&["kv", "put", "secret/keyloom/prod/payments", "STRIPE_KEY=attacker"]);
    let out = v.run(&["pull", "team", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["failures"][0]["problem"].as_str().unwrap().contains("rollback"), "{report}");
    assert_eq!(get(&v, "payments/STRIPE_KEY"), "k1");

    // A sealed server.
    bao.ok(&["operator", "seal"]);
    let before = keyloom_tests::data_trees_after_close(&v);
    assert!(v.fails(&["push", "team"], 1).contains("sealed"));
    let status = v.run(&["remote", "status", "team", "--json"]);
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(serde_json::from_slice::<Value>(&status.stdout).unwrap()["server"]["sealed"], true);
    assert!(keyloom_tests::data_trees_after_close(&v) == before, "a sealed server changes nothing here");
}

#[test]
fn the_token_never_leaves_the_vault() {
    let canary = "hvs-canary-token-d41c8e";
    let bao = Bao::start(canary);
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    set(&v, "payments/STRIPE_KEY", "k1");
    let mut outputs = Vec::new();
    let mut add = v.cmd(&["remote", "add", "team", "--addr", &bao.addr, "--insecure-http"]);
    add.env("BAO_TOKEN", canary).env("RUST_LOG", "trace");
    outputs.push(add.output().unwrap());
    for args in [
        vec!["remote", "list"],
        vec!["remote", "status", "team"],
        vec!["remote", "status", "team", "--json"],
        vec!["push", "team"],
        vec!["pull", "team", "--json"],
        vec!["sync", "team"],
        vec!["conflicts", "list"],
        vec!["audit", "list"],
        vec!["audit", "export"],
    ] {
        let mut c = v.cmd(&args);
        c.env("RUST_LOG", "trace");
        outputs.push(c.output().unwrap());
    }
    // A wrong address: the error does not carry the token either.
    v.ok(&["remote", "add", "gone", "--addr", "http://127.0.0.1:9", "--insecure-http", "--token-file", &{
        let f = v.root.path().join("t");
        std::fs::write(&f, canary).unwrap();
        f.to_string_lossy().into_owned()
    }]);
    outputs.push(v.run(&["push", "gone"]));
    for out in &outputs {
        for stream in [&out.stdout, &out.stderr] {
            assert!(!String::from_utf8_lossy(stream).contains(canary), "token in output");
        }
    }
    for (path, bytes) in v.all_bytes() {
        assert!(!String::from_utf8_lossy(&bytes).contains(canary), "token in plain text in {}", path.display());
    }
}

#[test]
fn tls_is_verified_and_approle_with_a_narrow_policy_works() {
    let bao = Bao::start_tls(TOKEN);
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    set(&v, "payments/STRIPE_KEY", "k1");
    let token_file = v.root.path().join("bao-token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let token_file = token_file.to_string_lossy().into_owned();

    // A server certificate from a CA nobody trusts is refused; given its CA, it is accepted.
    v.ok(&["remote", "add", "untrusted", "--addr", &bao.addr, "--token-file", &token_file]);
    let err = v.fails(&["push", "untrusted"], 1);
    assert!(err.contains("TLS"), "{err}");
    assert!(v.fails(&["remote", "status", "untrusted"], 1).contains("TLS"));
    let ca = bao.ca_file().to_string_lossy().into_owned();
    assert!(v
        .fails(
            &["remote", "add", "bad-ca", "--addr", &bao.addr, "--token-file", &token_file, "--ca-file", &token_file],
            1
        )
        .contains("PEM"));

    // AppRole: a role whose token may only touch keyloom/* (not even the mount's config).
    let policy = v.root.path().join("keyloom.hcl");
    std::fs::write(
        &policy,
        "path \"secret/data/keyloom/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n\
         path \"secret/metadata/keyloom/*\" { capabilities = [\"read\", \"update\", \"delete\", \"list\"] }\n\
         path \"secret/metadata/keyloom\" { capabilities = [\"list\"] }\n",
    )
    .unwrap();
    bao.ok(&["policy", "write", "keyloom", &policy.to_string_lossy()]);
    bao.ok(&["auth", "enable", "approle"]);
    bao.ok(&["write", "auth/approle/role/keyloom", "token_policies=keyloom", "token_ttl=10m"]);
    let role_id = bao.ok(&["read", "-field=role_id", "auth/approle/role/keyloom/role-id"]);
    let secret_id = bao.ok(&["write", "-f", "-field=secret_id", "auth/approle/role/keyloom/secret-id"]);
    let secret_file = v.root.path().join("secret-id");
    std::fs::write(&secret_file, secret_id.trim()).unwrap();
    v.ok(&[
        "remote",
        "add",
        "team",
        "--addr",
        &bao.addr,
        "--ca-file",
        &ca,
        "--role-id",
        role_id.trim(),
        "--secret-id-file",
        &secret_file.to_string_lossy(),
    ]);
    let status = v.json(&["remote", "status", "team"]);
    assert!(status["policies"].as_array().unwrap().iter().any(|p| p == "keyloom"), "{status}");
    assert!(status["token_ttl"].as_u64().unwrap() > 0);
    v.json(&["push", "team"]);
    assert_eq!(bao.kv_get("secret/keyloom/prod/payments").0["STRIPE_KEY"], "k1");

    // Renaming the service, then its environment, moves its secret on the next push.
    v.ok(&["service", "rename", "payments", "billing"]);
    let moved = v.json(&["push", "team"]);
    assert_eq!(moved["items"][0]["moved_from"], "keyloom/prod/payments", "{moved}");
    assert_eq!(bao.kv_get("secret/keyloom/prod/billing").0["STRIPE_KEY"], "k1");
    assert!(!bao.cli(&["kv", "get", "secret/keyloom/prod/payments"]).status.success(), "the old path is gone");
    v.ok(&["service", "edit", "billing", "--env", "staging"]);
    v.json(&["push", "team"]);
    assert_eq!(bao.kv_get("secret/keyloom/staging/billing").0["STRIPE_KEY"], "k1");
    assert!(!bao.cli(&["kv", "get", "secret/keyloom/prod/billing"]).status.success());
    // And a pull afterwards sees nothing new.
    assert_eq!(v.json(&["pull", "team"])["items"], serde_json::json!([]));
}
