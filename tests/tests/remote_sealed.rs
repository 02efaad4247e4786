//! Sealed remotes against a real OpenBao (`bao server -dev`, started and stopped here): the
//! server holds only age ciphertext signed by its author; a teammate's vault holding a recipient
//! identity and the author's pinned key reads it; values written straight into bao by someone
//! with write access (encrypted to the team with `age` but unsigned, or signed by a key that is
//! not, or no longer, a member) are refused on pull and change nothing; removing a member
//! re-encrypts what was synced and flags what they could read for rotation.

use std::io::Write;
use std::process::{Command, Stdio};

use keyloom_tests::bao::Bao;
use keyloom_tests::TestVault;
use serde_json::Value;

const TOKEN: &str = "root-token-5e1b0c93d7";
const PATH: &str = "secret/keyloom/prod/payments";
const TRICKY: &str = "pa$$ \"quoted\" 'single'\nsecond line\\";

fn sealed_remote(v: &TestVault, bao: &Bao) -> Value {
    sealed_remote_with(v, bao, &[])
}

fn sealed_remote_with(v: &TestVault, bao: &Bao, extra: &[&str]) -> Value {
    let file = v.root.path().join("bao-token");
    std::fs::write(&file, TOKEN).unwrap();
    let f = file.to_string_lossy().into_owned();
    let mut args =
        vec!["remote", "add", "team", "--addr", &bao.addr, "--insecure-http", "--token-file", &f, "--sealed"];
    args.extend_from_slice(extra);
    v.json(&args);
    v.json(&["remote", "identity", "team"])
}

fn pin(v: &TestVault, name: &str, who: &Value) {
    v.ok(&[
        "remote",
        "member",
        "add",
        "team",
        name,
        "--recipient",
        who["recipient"].as_str().unwrap(),
        "--signing-key",
        who["signing_key"].as_str().unwrap(),
    ]);
}

fn set(v: &TestVault, reference: &str, value: &str) {
    let out = v.run_with_stdin(&["secret", "set", reference], value.as_bytes());
    keyloom_tests::assert_success(&out, &["secret", "set", reference]);
}

fn get(v: &TestVault, reference: &str) -> String {
    v.ok(&["secret", "get", reference, "-n"])
}

/// Alice (with payments and `secrets`) and Bob, each pinning the other on sealed remote `team`;
/// Alice has pushed and Bob pulled.
fn synced_pair(bao: &Bao, secrets: &[(&str, &str)]) -> (TestVault, TestVault) {
    let (alice, bob) = (TestVault::init(), TestVault::init());
    alice.ok(&["service", "add", "payments", "--env", "prod"]);
    for (reference, value) in secrets {
        set(&alice, reference, value);
    }
    let a = sealed_remote(&alice, bao);
    let b = sealed_remote(&bob, bao);
    pin(&alice, "bob", &b);
    pin(&bob, "alice", &a);
    alice.json(&["push", "team"]);
    bob.json(&["pull", "team"]);
    (alice, bob)
}

/// `age -a -r … -r …`: what anyone can do with the team's public recipients.
fn age_encrypt(recipients: &[&str], plaintext: &str) -> String {
    let mut cmd = Command::new("age");
    cmd.arg("-a");
    for r in recipients {
        cmd.args(["-r", r]);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("age");
    child.stdin.take().unwrap().write_all(plaintext.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// A pull that fails (exit 1): its report and error, as text.
fn pull_refused(v: &TestVault) -> String {
    let out = v.run(&["pull", "team", "--json"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    text
}

#[test]
fn the_server_holds_ciphertext_a_member_reads_it_and_forgeries_are_refused() {
    let bao = Bao::start(TOKEN);
    let (alice, bob) = (TestVault::init(), TestVault::init());
    alice.ok(&["service", "add", "payments", "--env", "prod"]);
    set(&alice, "payments/DB_URL", TRICKY);
    set(&alice, "payments/STRIPE_KEY", "sk_live_51Hx");
    let a = sealed_remote(&alice, &bao);
    let b = sealed_remote(&bob, &bao);
    pin(&alice, "bob", &b);
    pin(&bob, "alice", &a);

    let report = alice.json(&["push", "team"]);
    assert_eq!(report["failures"], serde_json::json!([]));
    // What the server (and anyone reading it) has: no plaintext, one sealed object per field.
    let raw = bao.ok(&["kv", "get", "-format=json", PATH]);
    for secret in ["sk_live_51Hx", "pa$$", "second line"] {
        assert!(!raw.contains(secret), "plaintext on the server: {raw}");
    }
    let (data, version, _) = bao.kv_get(PATH);
    assert_eq!(version, 1);
    for field in ["DB_URL", "STRIPE_KEY"] {
        let env: Value = serde_json::from_str(data[field].as_str().unwrap()).unwrap();
        assert_eq!(env["keyloom_sealed"], 1);
        assert_eq!(env["signer"].as_str().unwrap(), a["signing_key"].as_str().unwrap().trim_start_matches("ed25519:"));
    }

    // Bob holds a recipient identity and Alice's key: he reads the values byte for byte.
    let pulled = bob.json(&["pull", "team"]);
    assert_eq!(pulled["failures"], serde_json::json!([]), "{pulled}");
    assert_eq!(get(&bob, "payments/DB_URL"), TRICKY);
    assert_eq!(get(&bob, "payments/STRIPE_KEY"), "sk_live_51Hx");
    // A change by Bob reaches Alice; the field Bob did not change keeps Alice's seal.
    set(&bob, "payments/STRIPE_KEY", "sk_live_rotated");
    bob.json(&["push", "team"]);
    let (data2, _, _) = bao.kv_get(PATH);
    assert_eq!(data2["DB_URL"], data["DB_URL"], "an unchanged field keeps its author's seal");
    alice.json(&["pull", "team"]);
    assert_eq!(get(&alice, "payments/STRIPE_KEY"), "sk_live_rotated");

    // Someone with write access encrypts a value to the team with age, unsigned.
    let forged = age_encrypt(&[a["recipient"].as_str().unwrap(), b["recipient"].as_str().unwrap()], "evil");
    bao.ok(&["kv", "patch", PATH, &format!("STRIPE_KEY={forged}")]);
    let before = keyloom_tests::data_trees_after_close(&bob);
    let out = pull_refused(&bob);
    assert!(out.contains("field STRIPE_KEY is refused: it is encrypted but not signed"), "{out}");
    assert!(before == keyloom_tests::data_trees_after_close(&bob), "a refused pull changed the vault");
    assert_eq!(get(&bob, "payments/STRIPE_KEY"), "sk_live_rotated");

    // Mallory has write access and a vault of her own: she seals "evil" to the team's public
    // recipients and signs it with her key (on a server of her own, so her seal is for this
    // path), then writes it into the team's server.
    let mallory = TestVault::init();
    let her_bao = Bao::start(TOKEN);
    mallory.ok(&["service", "add", "payments", "--env", "prod"]);
    set(&mallory, "payments/STRIPE_KEY", "evil");
    let m = sealed_remote(&mallory, &her_bao);
    pin(&mallory, "alice", &a);
    pin(&mallory, "bob", &b);
    mallory.json(&["push", "team"]);
    let (hers, _, _) = her_bao.kv_get(PATH);
    bao.ok(&["kv", "patch", PATH, &format!("STRIPE_KEY={}", hers["STRIPE_KEY"].as_str().unwrap())]);
    let out = pull_refused(&alice);
    assert!(out.contains("it is signed by a key that is not a member here"), "{out}");
    assert!(out.contains(m["signing_key"].as_str().unwrap()), "the stranger's key is named: {out}");
    assert_eq!(get(&alice, "payments/STRIPE_KEY"), "sk_live_rotated");

    // A genuine older value written back over a newer one (a replay): refused.
    bao.ok(&["kv", "rollback", "-version=1", PATH]);
    let out = pull_refused(&alice);
    assert!(out.contains("or an old version restored"), "{out}");
    assert_eq!(get(&alice, "payments/STRIPE_KEY"), "sk_live_rotated");
}

#[test]
fn removing_a_member_reencrypts_refuses_their_values_and_flags_what_they_read() {
    let bao = Bao::start(TOKEN);
    let (alice, bob) = synced_pair(&bao, &[("payments/DB_URL", "postgres://u:p@db/pay")]);
    assert_eq!(get(&bob, "payments/DB_URL"), "postgres://u:p@db/pay");
    // Bob authors a value while he is a member; Alice accepts it.
    set(&bob, "payments/API_TOKEN", "from-bob");
    bob.json(&["push", "team"]);
    alice.json(&["pull", "team"]);
    assert_eq!(get(&alice, "payments/API_TOKEN"), "from-bob");
    let (bobs, _, _) = bao.kv_get(PATH);
    let bobs_seal = bobs["API_TOKEN"].as_str().unwrap().to_string();

    let removal = alice.json(&["remote", "member", "remove", "team", "bob"]);
    assert_eq!(removal["reencrypted"], serde_json::json!(["keyloom/prod/payments"]));
    assert_eq!(removal["to_rotate"], serde_json::json!(["payments/API_TOKEN", "payments/DB_URL"]));
    let (data, version, _) = bao.kv_get(PATH);
    assert_eq!(version, 3, "re-encrypted as a new version");
    assert_ne!(data["API_TOKEN"].as_str(), Some(bobs_seal.as_str()), "re-sealed by Alice");
    // Bob's identity no longer opens it.
    let out = pull_refused(&bob);
    assert!(out.contains("it is not encrypted to this vault"), "{out}");
    // What Bob could read are findings until rotated.
    let exposed = |v: &TestVault| -> Vec<String> {
        let findings = v.json(&["findings"]);
        findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "exposed_secret")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let found = exposed(&alice);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|m| m.contains("payments/DB_URL (version 1) could be read by bob")), "{found:?}");
    set(&alice, "payments/DB_URL", "postgres://u:rotated@db/pay");
    let found = exposed(&alice);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("payments/API_TOKEN"));
    let out = alice.run(&["push", "team", "--json"]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    // Bob, removed but still holding a token, writes his old signed value back: refused.
    bao.ok(&["kv", "patch", PATH, &format!("API_TOKEN={bobs_seal}")]);
    let before = keyloom_tests::data_trees_after_close(&alice);
    let out = pull_refused(&alice);
    assert!(out.contains("signed by a key that is not a member here"), "{out}");
    assert!(before == keyloom_tests::data_trees_after_close(&alice), "a refused pull changed the vault");
    assert_eq!(get(&alice, "payments/DB_URL"), "postgres://u:rotated@db/pay");
}

#[test]
fn tls_keys_never_go_to_a_server_in_plaintext() {
    let v = TestVault::init();
    let file = v.root.path().join("bao-token");
    std::fs::write(&file, TOKEN).unwrap();
    let f = file.to_string_lossy().into_owned();
    let err =
        v.fails(&["remote", "add", "team", "--addr", "https://bao.example:8200", "--token-file", &f, "--with-tls"], 1);
    assert!(err.contains("private keys never go to a server in plaintext"), "{err}");
    let err = v.fails(
        &[
            "remote",
            "add",
            "team",
            "--addr",
            "https://bao.example:8200",
            "--token-file",
            &f,
            "--sealed",
            "--recipient",
            "age1nope",
        ],
        1,
    );
    assert!(err.contains("not an age X25519 recipient"), "{err}");
    assert_eq!(v.json(&["remote", "list"]), serde_json::json!([]));
}

#[test]
fn with_tls_a_certificate_and_its_key_reach_a_member_sealed_and_the_newest_wins() {
    let bao = Bao::start(TOKEN);
    let (alice, bob) = (TestVault::init(), TestVault::init());
    alice.ok(&["service", "add", "payments", "--env", "prod"]);
    alice.ok(&["ca", "create", "corp-root"]);
    let first = alice.json(&[
        "cert",
        "issue",
        "--service",
        "payments",
        "--ca",
        "corp-root",
        "--dns",
        "payments.prod.corp.example",
    ]);
    let a = sealed_remote_with(&alice, &bao, &["--with-tls"]);
    let b = sealed_remote_with(&bob, &bao, &["--with-tls"]);
    assert_eq!(a["with_tls"], true);
    pin(&alice, "bob", &b);
    pin(&bob, "alice", &a);

    let report = alice.json(&["push", "team"]);
    assert_eq!(report["tls"][0]["action"], "pushed", "{report}");
    assert_eq!(report["tls"][0]["serial"], first["certificate"]["serial"]);
    let raw = bao.ok(&["kv", "get", "-format=json", "secret/keyloom/prod/payments/tls"]);
    assert!(!raw.contains("PRIVATE KEY") && !raw.contains("BEGIN CERTIFICATE"), "plaintext TLS on the server: {raw}");

    let pulled = bob.json(&["pull", "team"]);
    assert_eq!(pulled["failures"], serde_json::json!([]), "{pulled}");
    assert_eq!(pulled["tls"][0]["action"], "pulled", "{pulled}");
    let theirs = bob.json(&["cert", "show", "payments"]);
    assert_eq!(theirs["certificate"]["serial"], first["certificate"]["serial"]);
    assert_eq!(theirs["has_key"], true);
    // The same certificate again is not taken twice.
    let again = bob.json(&["pull", "team"]);
    assert_eq!(again["tls"], serde_json::json!([]));

    // A renewal with a new key reaches Bob; an older certificate written back later does not.
    let renewed = alice.json(&["cert", "renew", "payments", "--rotate-key"]);
    let report = alice.json(&["push", "team"]);
    assert_eq!(report["tls"][0]["serial"], renewed["certificate"]["serial"], "{report}");
    bob.json(&["pull", "team"]);
    assert_eq!(bob.json(&["cert", "show", "payments"])["certificate"]["serial"], renewed["certificate"]["serial"]);
    let count = bob.json(&["cert", "list"]).as_array().unwrap().len();
    // A certificate Bob revoked (still on the server) is not taken back as active.
    let current = bob.json(&["cert", "show", "payments"]);
    bob.ok(&["cert", "revoke", current["id"].as_str().unwrap()]);
    let report = bob.json(&["pull", "team"]);
    assert_eq!(report["tls"], serde_json::json!([]), "a revoked certificate came back: {report}");
    assert_eq!(bob.json(&["cert", "list"]).as_array().unwrap().len(), count);
    let revoked = bob.json(&["cert", "show", current["id"].as_str().unwrap()]);
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    let certs = bob.json(&["cert", "list"]);
    let same_serial: Vec<&Value> = certs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["certificate"]["serial"] == current["certificate"]["serial"])
        .collect();
    assert_eq!(same_serial.len(), 1, "the revoked certificate came back as another record: {certs}");
    // The older version written back as a new one (a replay of a genuine write): refused.
    bao.ok(&["kv", "rollback", "-version=1", "secret/keyloom/prod/payments/tls"]);
    let out = pull_refused(&bob);
    assert!(out.contains("or an old version restored"), "{out}");
    assert_eq!(bob.json(&["cert", "list"]).as_array().unwrap().len(), count);
}

#[test]
fn dropping_a_field_or_restoring_an_old_version_without_a_members_key_is_refused() {
    let bao = Bao::start(TOKEN);
    let secrets = [("payments/DB_URL", "postgres://u:p@db/pay"), ("payments/STRIPE_KEY", "sk_live_51Hx")];
    let (alice, bob) = synced_pair(&bao, &secrets);
    set(&alice, "payments/STRIPE_KEY", "sk_live_rotated");
    alice.json(&["push", "team"]);
    bob.json(&["pull", "team"]);
    let (data, version, _) = bao.kv_get(PATH);
    assert_eq!(version, 2);
    let text = |f: &str| data[f].as_str().unwrap().to_string();
    let before = keyloom_tests::data_trees_after_close(&bob);

    // Someone with write access drops DB_URL, keeping every other field and the manifest as
    // they were: without the deletion being signed, Bob would delete his credential.
    let kept = [format!("STRIPE_KEY={}", text("STRIPE_KEY")), format!("keyloom.manifest={}", text("keyloom.manifest"))];
    bao.ok(&["kv", "put", PATH, &kept[0], &kept[1]]);
    let out = pull_refused(&bob);
    assert!(
        out.contains("the secret changed after its last signed write (signed for version 2, version 3 served)"),
        "{out}"
    );
    // Or drops the manifest itself.
    bao.ok(&["kv", "put", PATH, &format!("DB_URL={}", text("DB_URL")), &kept[0]]);
    let out = pull_refused(&bob);
    assert!(out.contains("no signed manifest"), "{out}");
    // Or restores the first version (every field genuine, signed by Alice) as a new one.
    bao.ok(&["kv", "rollback", "-version=1", PATH]);
    let out = pull_refused(&bob);
    assert!(out.contains("or an old version restored"), "{out}");
    assert!(before == keyloom_tests::data_trees_after_close(&bob), "a refused pull changed the vault");
    assert_eq!(get(&bob, "payments/DB_URL"), "postgres://u:p@db/pay");
    assert_eq!(get(&bob, "payments/STRIPE_KEY"), "sk_live_rotated");
}
