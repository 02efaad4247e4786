//! Export bundles checked by their real consumers: `bundle verify` against tampering, the `tar`
//! and `age` CLIs, a POSIX shell reading secrets.env, and nginx doing mutual TLS with curl.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keyloom_tests::nginx::{free_port, Nginx};
use keyloom_tests::TestVault;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// payments (server) and checkout (client) under corp-root / prod-issuing, plus a rogue CA's
/// client; payments accepts corp-root inbound (OpenSSL, and so nginx, needs a self-signed anchor in
/// its client CA file); checkout verifies with corp-root.
fn estate() -> TestVault {
    let v = TestVault::init();
    for svc in ["payments", "checkout", "rogue-client", "bare"] {
        v.ok(&["service", "add", svc, "--env", "prod"]);
    }
    v.ok(&["ca", "create", "corp-root"]);
    v.ok(&[
        "ca",
        "create",
        "prod-issuing",
        "--parent",
        "corp-root",
        "--permit-dns",
        ".prod.corp.example",
        "--validity-days",
        "365",
    ]);
    v.ok(&["ca", "create", "rogue-root"]);
    v.ok(&[
        "cert",
        "issue",
        "--service",
        "payments",
        "--ca",
        "prod-issuing",
        "--dns",
        "localhost.prod.corp.example",
        "--server",
    ]);
    v.ok(&[
        "cert",
        "issue",
        "--service",
        "checkout",
        "--ca",
        "prod-issuing",
        "--dns",
        "checkout.prod.corp.example",
        "--client",
    ]);
    v.ok(&["cert", "issue", "--service", "rogue-client", "--ca", "rogue-root", "--dns", "rogue.example", "--client"]);
    v.ok(&["trust", "add", "payments", "--ca", "corp-root", "--inbound"]);
    v.ok(&["trust", "add", "checkout", "--ca", "corp-root", "--outbound"]);
    for (name, value) in [("STRIPE_KEY", "sk_live_abc123"), ("DB_URL", "postgres://u:p@db:5432/pay?sslmode=require")] {
        let out = v.run_with_stdin(&["secret", "set", &format!("payments/{name}")], value.as_bytes());
        keyloom_tests::assert_success(&out, &["secret set"]);
    }
    v
}

fn pubkey(v: &TestVault) -> PathBuf {
    let p = v.root.path().join("signing.pub");
    if !p.exists() {
        v.ok(&["signing-key", "export", "--out", s(&p)]);
    }
    p
}

fn verify(v: &TestVault, bundle: &Path) -> (bool, serde_json::Value) {
    let out = v.run(&["bundle", "verify", s(bundle), "--pubkey", s(&pubkey(v)), "--json"]);
    // With the vault unlocked, its own key is the default, with the same verdict.
    let own = v.run(&["bundle", "verify", s(bundle), "--json"]);
    assert_eq!(own.status.code(), out.status.code(), "{}", String::from_utf8_lossy(&own.stderr));
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or_default())
}

#[test]
fn dir_bundle_layout_modes_and_verification_against_tampering() {
    let v = estate();
    let out = v.root.path().join("payments");
    v.ok(&["export", "payments", "--format", "dir", "--out", s(&out)]);
    for (f, m) in [
        ("", 0o700),
        ("tls", 0o700),
        ("tls/cert.pem", 0o644),
        ("tls/chain.pem", 0o644),
        ("tls/key.pem", 0o600),
        ("tls/ca-inbound.pem", 0o644),
        ("secrets.env", 0o600),
        ("secrets.json", 0o600),
        ("manifest.json", 0o644),
        ("manifest.sig", 0o644),
    ] {
        assert_eq!(mode(&out.join(f)), m, "{f}");
    }
    assert!(!out.join("tls/ca-outbound.pem").exists(), "payments verifies no servers");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["service"], "payments");
    assert_eq!(manifest["environment"], "prod");
    assert_eq!(manifest["vault_id"], v.json(&["status"])["vault_id"]);
    assert!(manifest["certificate"]["not_after"].is_string() && manifest["certificate"]["issuer"] == "CN=prod-issuing");
    assert_eq!(manifest["secrets"], serde_json::json!(["DB_URL", "STRIPE_KEY"]));
    let key_entry = manifest["files"].as_array().unwrap().iter().find(|f| f["path"] == "tls/key.pem").unwrap();
    assert_eq!(key_entry["mode"], "0600");
    assert_eq!(key_entry["sha256"].as_str().unwrap().len(), 64);
    assert!(verify(&v, &out).0);
    // The chain verifies with openssl, and key matches the certificate.
    let chain = std::fs::read_to_string(out.join("tls/chain.pem")).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "leaf + intermediate");

    // Each kind of tampering is caught and named.
    let copy = |name: &str| {
        let dst = v.root.path().join(name);
        let status = Command::new("cp").args(["-a", s(&out), s(&dst)]).status().unwrap();
        assert!(status.success());
        dst
    };
    let problems = |b: &Path| {
        let (ok, report) = verify(&v, b);
        assert!(!ok);
        report["problems"].to_string()
    };
    let changed = copy("changed");
    std::fs::write(changed.join("secrets.json"), b"{\"STRIPE_KEY\": \"sk_live_evil\"}").unwrap();
    assert!(problems(&changed).contains("secrets.json: contents changed"));
    let added = copy("added");
    std::fs::write(added.join("tls/backdoor.pem"), b"x").unwrap();
    assert!(problems(&added).contains("tls/backdoor.pem: not listed in the manifest"));
    let removed = copy("removed");
    std::fs::remove_file(removed.join("tls/ca-inbound.pem")).unwrap();
    assert!(problems(&removed).contains("tls/ca-inbound.pem: missing"));
    let forged = copy("forged");
    let m = std::fs::read_to_string(forged.join("manifest.json")).unwrap().replace("\"prod\"", "\"staging\"");
    std::fs::write(forged.join("manifest.json"), m).unwrap();
    assert!(problems(&forged).contains("manifest.sig: the signature does not match"));
    let widened = copy("widened");
    std::fs::set_permissions(widened.join("tls/key.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(problems(&widened).contains("tls/key.pem: mode is 0644"));
    // Another vault's key does not verify it.
    let other = TestVault::init();
    let other_pub = other.root.path().join("other.pub");
    other.ok(&["signing-key", "export", "--out", s(&other_pub)]);
    let out2 = v.run(&["bundle", "verify", s(&out), "--pubkey", s(&other_pub)]);
    assert_eq!(out2.status.code(), Some(3));

    // Never overwritten without --force; --force replaces; the export is audited with its files.
    let err = v.fails(&["export", "payments", "--out", s(&out)], 1);
    assert!(err.contains("--force"), "{err}");
    v.ok(&["export", "payments", "--out", s(&out), "--force"]);
    assert!(verify(&v, &out).0);
    let audit = v.json(&["audit", "list", "--action", "export"]);
    assert!(audit[0]["detail"].as_str().unwrap().contains("tls/key.pem"));
    assert!(audit[0]["detail"].as_str().unwrap().contains("STRIPE_KEY"));
    let history = v.json(&["bundle", "history", "payments"]);
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["serial"], manifest["certificate"]["serial"]);
}

#[test]
fn no_certificate_is_refused_unless_secrets_only_and_env_values_round_trip() {
    let v = estate();
    let out = v.root.path().join("bare");
    let out_str = s(&out).to_string();
    let err = v.fails(&["export", "bare", "--out", &out_str], 1);
    assert!(err.contains("no active certificate") && err.contains("--secrets-only"), "{err}");
    assert!(!out.exists());
    let r = v.run_with_stdin(&["secret", "set", "bare/API_TOKEN"], b"tok_123:abc/def=+%@");
    keyloom_tests::assert_success(&r, &["secret set"]);
    v.ok(&["export", "bare", "--secrets-only", "--out", &out_str]);
    // A POSIX shell reads back the exact bytes.
    let sh = Command::new("sh")
        .args(["-c", &format!("set -a; . '{}/secrets.env'; printf %s \"$API_TOKEN\"", out_str)])
        .output()
        .unwrap();
    assert_eq!(sh.stdout, b"tok_123:abc/def=+%@");
    // Keyloom's own import reads back exactly what it wrote.
    let env_file = format!("{out_str}/secrets.env");
    v.ok(&["secret", "import", "--service", "checkout", &env_file]);
    assert_eq!(v.ok(&["secret", "get", "checkout/API_TOKEN", "-n"]), "tok_123:abc/def=+%@");
}

#[test]
fn hostile_and_binary_values_round_trip_through_sh_kubernetes_compose_and_run() {
    use base64::Engine;
    let values: [(&str, &[u8]); 5] = [
        ("QUOTES", br#"p@ss "w$rd" \ x"#),
        ("APOS", b"it's"),
        ("LINES", b"line one\nline two\n"),
        ("BIN", b"\xff\xfe\x01binary\x80"),
        ("NUL", b"\x00\x01 nul"),
    ];
    let v = TestVault::init();
    v.ok(&["service", "add", "app", "--env", "prod"]);
    v.ok(&["service", "add", "copy", "--env", "prod"]);
    for (name, value) in values {
        let r = v.run_with_stdin(&["secret", "set", &format!("app/{name}"), "--keep-newline"], value);
        keyloom_tests::assert_success(&r, &["secret set"]);
    }
    let d = v.root.path();
    let dir = d.join("app");
    v.ok(&["export", "app", "--secrets-only", "--out", s(&dir)]);

    // sh is the reference reader of secrets.env: every value an environment can hold comes back
    // exactly; the NUL one is named in a comment instead.
    let got = d.join("from-sh");
    std::fs::create_dir(&got).unwrap();
    let script = format!(
        "set -a; . '{}/secrets.env'; for n in QUOTES APOS LINES BIN; do eval \"printf %s \\\"\\$$n\\\"\" > \"$n\"; done",
        s(&dir)
    );
    let sh = Command::new("sh").current_dir(&got).args(["-c", &script]).output().unwrap();
    assert!(sh.status.success(), "{}", String::from_utf8_lossy(&sh.stderr));
    for (name, value) in &values[..4] {
        assert_eq!(std::fs::read(got.join(name)).unwrap(), *value, "{name} through sh");
    }
    let env_text = std::fs::read(dir.join("secrets.env")).unwrap();
    assert!(env_text.windows(5).any(|w| w == b"# NUL"), "{}", String::from_utf8_lossy(&env_text));
    // Keyloom's own import reads back exactly what it wrote.
    v.ok(&["secret", "import", "--service", "copy", s(&dir.join("secrets.env"))]);
    for (name, value) in &values[..4] {
        let out = v.run(&["secret", "get", &format!("copy/{name}"), "-n"]);
        assert_eq!(out.stdout, *value, "{name} through secret import");
    }
    // secrets.json: strings, binary values as base64 with their encoding named.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("secrets.json")).unwrap()).unwrap();
    assert_eq!(json["APOS"], "it's");
    assert_eq!(json["NUL"], serde_json::json!({"encoding": "base64", "value": "AAEgbnVs"}));
    assert_eq!(json["BIN"]["encoding"], "base64");

    // The Kubernetes Secret: base64 of the exact bytes.
    let yaml = d.join("app.yaml");
    v.ok(&["export", "app", "--secrets-only", "--format", "k8s", "--out", s(&yaml)]);
    let doc: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(&yaml).unwrap()).unwrap();
    for (name, value) in values {
        let b = base64::engine::general_purpose::STANDARD.decode(doc["data"][name].as_str().unwrap()).unwrap();
        assert_eq!(b, value, "{name} through the k8s Secret");
    }
    // Compose: one file per secret, exact bytes.
    let deploy = d.join("deploy");
    v.ok(&["export", "app", "--secrets-only", "--format", "compose", "--out", s(&deploy)]);
    for (name, value) in values {
        assert_eq!(std::fs::read(deploy.join("secrets").join(name)).unwrap(), value, "{name} through compose");
    }
    // run: text in the environment, binary values as files named by NAME_FILE.
    let ran = d.join("from-run");
    std::fs::create_dir(&ran).unwrap();
    let script = "printf %s \"$QUOTES\" > QUOTES; printf %s \"$APOS\" > APOS; printf %s \"$LINES\" > LINES; \
                  cat \"$BIN_FILE\" > BIN; cat \"$NUL_FILE\" > NUL; test -z \"${BIN+set}\" && test -z \"${NUL+set}\"";
    let out = v.cmd(&["run", "--service", "app", "--", "sh", "-c", script]).current_dir(&ran).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (name, value) in values {
        assert_eq!(std::fs::read(ran.join(name)).unwrap(), value, "{name} through run");
    }
    // A binary value whose _FILE variable is another secret's name is refused, naming both.
    let r = v.run_with_stdin(&["secret", "set", "app/BIN_FILE"], b"x");
    keyloom_tests::assert_success(&r, &["secret set"]);
    let err = v.fails(&["run", "--service", "app", "--", "true"], 1);
    assert!(err.contains("app/BIN is binary") && err.contains("app/BIN_FILE"), "{err}");
}

#[test]
fn tar_gz_and_age_bundles_open_with_the_standard_tools() {
    let v = estate();
    let d = v.root.path();
    let tgz = d.join("payments.tar.gz");
    v.ok(&["export", "payments", "--format", "tar.gz", "--out", s(&tgz)]);
    assert_eq!(mode(&tgz), 0o600);
    assert!(verify(&v, &tgz).0);
    let x = d.join("x");
    std::fs::create_dir(&x).unwrap();
    assert!(Command::new("tar").args(["-xzf", s(&tgz), "-C", s(&x)]).status().unwrap().success());
    assert_eq!(mode(&x.join("tls/key.pem")), 0o600);
    assert!(verify(&v, &x).0, "the extracted tree verifies too");

    // age: an X25519 identity and an SSH ed25519 key, both decrypt with the age CLI.
    assert!(Command::new("age-keygen").args(["-o", s(&d.join("id.txt"))]).status().unwrap().success());
    let id_text = std::fs::read_to_string(d.join("id.txt")).unwrap();
    let recipient = id_text.lines().find_map(|l| l.strip_prefix("# public key: ")).unwrap().to_string();
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", s(&d.join("ssh_key"))])
        .status()
        .unwrap()
        .success());
    let ssh_pub = std::fs::read_to_string(d.join("ssh_key.pub")).unwrap().trim().to_string();
    let aged = d.join("payments.tar.gz.age");
    v.ok(&[
        "export",
        "payments",
        "--format",
        "age",
        "--recipient",
        &recipient,
        "--recipient",
        &ssh_pub,
        "--out",
        s(&aged),
    ]);
    for identity in [d.join("id.txt"), d.join("ssh_key")] {
        let out = d.join(format!("dec-{}.tar.gz", identity.file_name().unwrap().to_string_lossy()));
        let st = Command::new("age").args(["-d", "-i", s(&identity), "-o", s(&out), s(&aged)]).output().unwrap();
        assert!(st.status.success(), "age -d with {}: {}", identity.display(), String::from_utf8_lossy(&st.stderr));
        assert!(verify(&v, &out).0);
    }
    let err = v.fails(&["export", "payments", "--format", "age", "--out", s(&d.join("none.age"))], 1);
    assert!(err.contains("--recipient"), "{err}");
    let err = v.fails(
        &["export", "payments", "--format", "age", "--recipient", "not-a-key", "--out", s(&d.join("bad.age"))],
        1,
    );
    assert!(err.contains("not an age recipient"), "{err}");
}

#[test]
fn nginx_serves_mutual_tls_from_an_exported_bundle() {
    let v = estate();
    let d = v.root.path();
    for svc in ["payments", "checkout", "rogue-client"] {
        v.ok(&["export", svc, "--out", s(&d.join(svc))]);
    }
    let b = d.join("payments");
    let server = Nginx::start(
        &d.join("nginx"),
        &format!(
            "    ssl_certificate {b}/tls/chain.pem;\n    ssl_certificate_key {b}/tls/key.pem;\n    \
             ssl_client_certificate {b}/tls/ca-inbound.pem;\n    ssl_verify_client on;\n    ssl_verify_depth 3;\n    \
             location / {{ return 200 \"hello $ssl_client_s_dn\\n\"; }}",
            b = b.display(),
        ),
    );
    let port = server.port;
    let curl = |client: Option<&str>| {
        let mut c = Command::new("curl");
        c.args([
            "-sS",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "--resolve",
            &format!("localhost.prod.corp.example:{port}:127.0.0.1"),
        ]);
        c.args(["--cacert", s(&d.join("checkout/tls/ca-outbound.pem"))]);
        if let Some(svc) = client {
            c.args(["--cert", s(&d.join(svc).join("tls/chain.pem")), "--key", s(&d.join(svc).join("tls/key.pem"))]);
        }
        c.arg(format!("https://localhost.prod.corp.example:{port}/"));
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let ok = curl(Some("checkout"));
    assert!(ok.ends_with("200") && ok.contains("CN=checkout"), "{ok}");
    let none = curl(None);
    assert!(none.ends_with("400"), "no client certificate must be refused: {none}");
    let rogue = curl(Some("rogue-client"));
    assert!(!rogue.ends_with("200"), "a certificate from an untrusted CA must be refused: {rogue}");
}

#[test]
fn kubernetes_compose_and_env_outputs_carry_the_same_material() {
    use base64::Engine;
    let v = estate();
    let d = v.root.path();
    let dir = d.join("ref");
    v.ok(&["export", "payments", "--out", s(&dir)]);
    let read = |p: &str| std::fs::read(dir.join(p)).unwrap();

    let yaml_path = d.join("payments.yaml");
    v.ok(&["export", "payments", "--format", "k8s", "--namespace", "pay", "--out", s(&yaml_path)]);
    assert_eq!(mode(&yaml_path), 0o600);
    let text = std::fs::read_to_string(&yaml_path).unwrap();
    let docs: Vec<serde_json::Value> =
        serde_norway::Deserializer::from_str(&text).map(|doc| serde::Deserialize::deserialize(doc).unwrap()).collect();
    assert_eq!(docs.len(), 2);
    let tls = &docs[0];
    assert_eq!(tls["apiVersion"], "v1");
    assert_eq!(tls["kind"], "Secret");
    assert_eq!(tls["type"], "kubernetes.io/tls");
    assert_eq!(tls["metadata"]["name"], "payments-tls");
    assert_eq!(tls["metadata"]["namespace"], "pay");
    assert_eq!(tls["metadata"]["labels"]["app.kubernetes.io/name"], "payments");
    assert_eq!(tls["metadata"]["labels"]["keyloom.dev/vault"], v.json(&["status"])["vault_id"]);
    let b64 = |x: &serde_json::Value| base64::engine::general_purpose::STANDARD.decode(x.as_str().unwrap()).unwrap();
    assert_eq!(b64(&tls["data"]["tls.crt"]), read("tls/chain.pem"));
    assert_eq!(b64(&tls["data"]["tls.key"]), read("tls/key.pem"));
    assert_eq!(b64(&tls["data"]["ca.crt"]), read("tls/ca-inbound.pem"));
    yaml_1_1_strings_and_kubernetes_schema(&yaml_path);
    let err =
        v.fails(&["export", "payments", "--format", "k8s", "--namespace", "Bad NS!", "--out", s(&d.join("x.yaml"))], 1);
    assert!(err.contains("namespace \"Bad NS!\" is not a Kubernetes name"), "{err}");
    assert!(!d.join("x.yaml").exists());
    let opaque = &docs[1];
    assert_eq!(opaque["type"], "Opaque");
    assert_eq!(b64(&opaque["data"]["STRIPE_KEY"]), b"sk_live_abc123");

    let deploy = d.join("deploy");
    v.ok(&["export", "payments", "--format", "compose", "--out", s(&deploy)]);
    let compose: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(deploy.join("compose.secrets.yaml")).unwrap()).unwrap();
    let declared = compose["secrets"].as_object().unwrap();
    assert!(declared.len() >= 5);
    for (name, spec) in declared {
        let file = deploy.join(spec["file"].as_str().unwrap());
        assert!(file.exists(), "{name} references {}", file.display());
        assert!(compose["services"]["payments"]["secrets"].as_array().unwrap().iter().any(|s| s == name));
    }
    assert_eq!(std::fs::read(deploy.join("secrets/STRIPE_KEY")).unwrap(), b"sk_live_abc123");
    assert_eq!(mode(&deploy.join("secrets/STRIPE_KEY")), 0o600);
    assert_eq!(std::fs::read(deploy.join("tls/key.pem")).unwrap(), read("tls/key.pem"));
    // --gid: the secret files and key become 0640 in that group, so a container running with it can
    // read them (our own group here: any user may give a file to a group it belongs to).
    use std::os::unix::fs::MetadataExt;
    let gid = std::fs::metadata(&yaml_path).unwrap().gid().to_string();
    let shared = d.join("deploy-gid");
    v.ok(&["export", "payments", "--format", "compose", "--gid", &gid, "--out", s(&shared)]);
    for f in ["secrets/STRIPE_KEY", "tls/key.pem"] {
        let meta = std::fs::metadata(shared.join(f)).unwrap();
        assert_eq!((meta.permissions().mode() & 0o777, meta.gid().to_string()), (0o640, gid.clone()), "{f}");
    }
    assert_eq!(mode(&shared.join("tls/cert.pem")), 0o644);

    let env = d.join("payments.env");
    v.ok(&["export", "payments", "--format", "env", "--out", s(&env)]);
    assert_eq!(mode(&env), 0o600);
    assert_eq!(std::fs::read(&env).unwrap(), read("secrets.env"));
    let last = v.json(&["audit", "list", "--action", "export", "--limit", "1"]);
    assert!(!last[0]["detail"].as_str().unwrap().contains("key.pem"), "an env export does not take the key out");
}

/// The Python environment with the Kubernetes schema validator (kubernetes-validate, and PyYAML
/// with it) that scripts/install-deps.sh creates.
fn test_venv() -> PathBuf {
    std::env::var_os("KEYLOOM_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cache/keyloom/test-venv"))
}

/// Reads `yaml` as PyYAML does (YAML 1.1, where an unquoted `2027-01-01T00:00:00Z` is a datetime
/// and `yes` a boolean): every scalar must come back a string. Then kubernetes-validate checks
/// each document against the Kubernetes OpenAPI schema. Without the venv the test is skipped with
/// a message, except in CI (CI=true), where it fails.
fn yaml_1_1_strings_and_kubernetes_schema(yaml: &Path) {
    let venv = test_venv();
    let python = venv.join("bin/python3");
    if !python.exists() {
        let msg = format!(
            "{} is missing: run scripts/install-deps.sh to create the venv with kubernetes-validate",
            venv.display()
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("SKIPPED the Kubernetes schema check: {msg}");
        return;
    }
    let check = r#"
import sys, yaml
def walk(node, path):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(k, path + "/key"); walk(v, path + "/" + str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node): walk(v, path + "/" + str(i))
    elif not isinstance(node, str):
        sys.exit("%s is a %s, not a string: %r" % (path, type(node).__name__, node))
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert len(docs) >= 1
for d in docs: walk(d, "")
"#;
    let out = Command::new(&python).args(["-c", check, s(yaml)]).output().unwrap();
    assert!(out.status.success(), "PyYAML: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(venv.join("bin/kubernetes-validate")).args(["--strict", s(yaml)]).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("passed") && !text.contains("fail"), "kubernetes-validate: {text}");
}

#[test]
fn every_service_of_an_environment_in_one_operation() {
    let v = estate();
    let out = v.root.path().join("bundles");
    // "bare" has no certificate: the whole batch is refused, nothing written.
    let err = v.fails(&["export", "--env", "prod", "--format", "tar.gz", "--out", s(&out)], 1);
    assert!(err.contains("bare has no active certificate"), "{err}");
    assert!(!out.exists());
    v.ok(&["cert", "issue", "--service", "bare", "--ca", "prod-issuing", "--dns", "bare.prod.corp.example"]);
    let r = v.json(&["export", "--env", "prod", "--format", "tar.gz", "--out", s(&out)]);
    assert_eq!(r["services"].as_array().unwrap().len(), 4);
    assert_eq!(mode(&out), 0o700);
    for svc in ["bare", "checkout", "payments", "rogue-client"] {
        let b = out.join(format!("{svc}.tar.gz"));
        assert!(verify(&v, &b).0, "{svc}");
    }
    // Four exports, and the refused batch recorded as one failure (not as a success).
    let log = v.json(&["audit", "list", "--action", "export"]);
    let outcomes: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["outcome"].as_str()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "success").count(), 4, "{log}");
    assert_eq!(outcomes.iter().filter(|o| **o == "failure").count(), 1, "{log}");
}

#[test]
fn a_revoked_certificate_still_in_the_last_bundle_is_a_finding() {
    let v = estate();
    v.ok(&["export", "payments", "--format", "tar.gz", "--out", s(&v.root.path().join("p.tar.gz"))]);
    let has = |v: &TestVault| {
        v.json(&["findings"])
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "revoked_deployed" && f["entities"][0]["name"] == "payments")
    };
    assert!(!has(&v));
    let id = v.json(&["cert", "show", "payments"])["id"].as_str().unwrap().to_string();
    v.ok(&["cert", "revoke", &id, "--reason", "key-compromise"]);
    assert!(has(&v), "the deployed bundle still carries the revoked certificate");
    // A new certificate, exported again, clears it.
    v.ok(&[
        "cert",
        "issue",
        "--service",
        "payments",
        "--ca",
        "prod-issuing",
        "--dns",
        "localhost.prod.corp.example",
        "--server",
    ]);
    assert!(has(&v), "not until the new certificate is exported");
    v.ok(&["export", "payments", "--format", "tar.gz", "--out", s(&v.root.path().join("p2.tar.gz"))]);
    assert!(!has(&v));
}

#[test]
fn run_passes_secrets_and_tls_files_and_cleans_up() {
    let v = estate();
    let script = "printf '%s|%s|' \"$STRIPE_KEY\" \"$KEYLOOM_TLS_CERT\"; \
                  test \"$(stat -c %a \"$(dirname \"$KEYLOOM_TLS_KEY\")\")\" = 700 && printf 'dir700|'; \
                  grep -q 'BEGIN PRIVATE KEY' \"$KEYLOOM_TLS_KEY\" && printf 'key|'; \
                  grep -q 'BEGIN CERTIFICATE' \"$KEYLOOM_TLS_CA\" && printf 'ca|'; exit 7";
    let out = v.run(&["run", "--service", "payments", "--", "sh", "-c", script]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "the child's exit code is forwarded: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let parts: Vec<&str> = stdout.split('|').collect();
    assert_eq!(parts[0], "sk_live_abc123");
    assert!(parts[1].contains("keyloom-run-"), "{stdout}");
    assert_eq!(&parts[2..6], ["dir700", "key", "ca", ""]);
    let tls_dir = Path::new(parts[1]).parent().unwrap();
    assert!(!tls_dir.exists(), "the temporary directory is gone after the child exits");
    let audit = v.json(&["audit", "list", "--action", "export", "--limit", "1"]);
    assert!(audit[0]["detail"].as_str().unwrap().starts_with("run bundle"));

    // A signal to keyloom reaches the child.
    let mut child = v
        .cmd(&[
            "run",
            "--service",
            "payments",
            "--",
            "sh",
            "-c",
            "trap 'exit 42' TERM; while true; do sleep 0.05; done",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(42));
}

/// Every `KEYLOOM_*` line of `env` output, as (name, value).
fn keyloom_vars(env_output: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(env_output)
        .lines()
        .filter(|l| l.starts_with("KEYLOOM_"))
        .filter_map(|l| l.split_once('=').map(|(n, v)| (n.to_string(), v.to_string())))
        .collect()
}

#[test]
fn run_child_cannot_open_the_vault_or_see_keyloom_variables() {
    let key_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key_file.path(), b"key file canary").unwrap();
    let key_file = key_file.path().to_path_buf();
    let v = estate();
    // The child finds `keyloom` on its PATH, as it would on a real machine, and every variable
    // Keyloom reads is set in run's own environment (session and agent ones as stand-ins).
    let bin_dir = keyloom_tests::keyloom_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let hostile = |args: &[&str]| {
        let mut c = v.cmd(args);
        c.env("PATH", &path)
            .env("KEYLOOM_NEW_PASSPHRASE", "new passphrase canary")
            .env("KEYLOOM_SESSION", "keyloom-session:v1:canary")
            .env("KEYLOOM_AGENT_SOCK", v.root.path().join("agent.sock"))
            .env("KEYLOOM_KEY_FILE", &key_file)
            .env("KEYLOOM_TLS_CERT", "/inherited/cert.pem");
        c.output().unwrap()
    };

    // checkout's process asks for payments' key with the tools it has: it gets nothing.
    let out = hostile(&["run", "--service", "checkout", "--", "sh", "-c", "keyloom secret get payments/STRIPE_KEY"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains("sk_live_abc123") && !stderr.contains("sk_live_abc123"), "{stdout}{stderr}");
    assert_ne!(out.status.code(), Some(0), "the child's keyloom must fail: {stderr}");

    // What the child sees: the TLS paths run set, and no other KEYLOOM_ variable.
    let out = hostile(&["run", "--service", "payments", "--", "env"]);
    keyloom_tests::assert_success(&out, &["run", "env"]);
    let mut names: Vec<String> = keyloom_vars(&out.stdout)
        .into_iter()
        .map(|(n, val)| {
            assert!(val.contains("keyloom-run-"), "{n}={val} is not a path run set");
            n
        })
        .collect();
    names.sort();
    assert_eq!(names, ["KEYLOOM_TLS_CA", "KEYLOOM_TLS_CERT", "KEYLOOM_TLS_KEY"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("STRIPE_KEY=sk_live_abc123\n"));
    let out = hostile(&["run", "--service", "payments", "--secrets-only", "--", "env"]);
    keyloom_tests::assert_success(&out, &["run", "--secrets-only", "env"]);
    assert_eq!(keyloom_vars(&out.stdout), [], "with --secrets-only not even a TLS path");
    // Other variables still pass.
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with("HOME=")));
}

#[test]
fn run_a_service_with_secrets_and_no_certificate() {
    let v = estate();
    let r = v.run_with_stdin(&["secret", "set", "bare/API_TOKEN"], b"tok_bare_1");
    keyloom_tests::assert_success(&r, &["secret set"]);
    let out = v.run(&[
        "run",
        "--service",
        "bare",
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$API_TOKEN\" \"${KEYLOOM_TLS_CERT-unset}\"",
    ]);
    keyloom_tests::assert_success(&out, &["run", "--service", "bare"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tok_bare_1|unset");
    // A secret that would shadow a TLS path is refused rather than overwritten.
    let r = v.run_with_stdin(&["secret", "set", "payments/KEYLOOM_TLS_KEY"], b"shadow");
    keyloom_tests::assert_success(&r, &["secret set"]);
    let err = v.fails(&["run", "--service", "payments", "--", "true"], 1);
    assert!(err.contains("payments/KEYLOOM_TLS_KEY") && err.contains("--secrets-only"), "{err}");
    assert!(!err.contains("shadow"), "{err}");
}

#[test]
fn inject_fills_references_and_refuses_unknown_ones() {
    let v = estate();
    let d = v.root.path();
    std::fs::write(d.join("config.tpl"), "stripe: {{ keyloom://payments/STRIPE_KEY }}\nkeep: {{ not_ours }}\n")
        .unwrap();
    let out = d.join("config.yaml");
    v.ok(&["inject", "-i", s(&d.join("config.tpl")), "-o", s(&out)]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "stripe: sk_live_abc123\nkeep: {{ not_ours }}\n");
    assert_eq!(mode(&out), 0o600);
    std::fs::write(d.join("bad.tpl"), "a: {{ keyloom://payments/STRIPE_KEY }}\nb: {{ keyloom://payments/NOPE }}\n")
        .unwrap();
    let bad_out = d.join("bad.yaml");
    let err = v.fails(&["inject", "-i", s(&d.join("bad.tpl")), "-o", s(&bad_out)], 1);
    assert!(err.contains("payments/NOPE"), "{err}");
    assert!(!bad_out.exists());
    let reveals = v.json(&["audit", "list", "--action", "secret.reveal"]);
    assert_eq!(reveals.as_array().unwrap().len(), 1, "the failed inject revealed nothing");
}

/// Hostile values stay values: `| json`, `| yaml` and `| shell` quote them so the filled-in file
/// still parses (checked with python3's json and yaml, and sh), and `-` reads the template from
/// stdin and writes the result to stdout.
#[test]
fn inject_filters_keep_json_yaml_and_shell_valid_for_hostile_values() {
    let v = TestVault::init();
    v.ok(&["service", "add", "app", "--env", "prod"]);
    let hostile = [
        "p@ss \"w$rd\" \\ x",
        "it's",
        "line one\nline two",
        "# not: a comment {x} [y] &z *w !t %u @v `q`",
        "\ttab\u{7f}\u{85}",
    ];
    for (i, value) in hostile.iter().enumerate() {
        let out = v.run_with_stdin(&["secret", "set", &format!("app/V{i}"), "--keep-newline"], value.as_bytes());
        keyloom_tests::assert_success(&out, &["secret", "set"]);
    }
    let mut json_tpl = String::from("{");
    let mut yaml_tpl = String::new();
    let mut sh_tpl = String::new();
    for i in 0..hostile.len() {
        json_tpl.push_str(&format!("{}\"v{i}\": {{{{ keyloom://app/V{i} | json }}}}", if i > 0 { ", " } else { "" }));
        yaml_tpl.push_str(&format!("v{i}: {{{{ keyloom://app/V{i} | yaml }}}}\n"));
        sh_tpl.push_str(&format!("printf '%s\\0' {{{{ keyloom://app/V{i} | shell }}}}\n"));
    }
    json_tpl.push('}');
    let fill = |tpl: &str| {
        let out = v.run_with_stdin(&["inject", "-i", "-", "-o", "-"], tpl.as_bytes());
        keyloom_tests::assert_success(&out, &["inject"]);
        out.stdout
    };
    let check = |lang: &str, filled: Vec<u8>| {
        let script = match lang {
            "json" => "import json,sys; d=json.load(sys.stdin); print(json.dumps([d['v%d'%i] for i in range(len(d))]))",
            _ => "import yaml,sys,json; d=yaml.safe_load(sys.stdin); print(json.dumps([d['v%d'%i] for i in range(len(d))]))",
        };
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 must be installed");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &filled).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{lang} parses: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&filled)
        );
        let got: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, hostile, "{lang} round-trips every value");
    };
    check("json", fill(&json_tpl));
    check("yaml", fill(&yaml_tpl));
    let filled = fill(&sh_tpl);
    let out = Command::new("sh").args(["-c", &String::from_utf8(filled).unwrap()]).output().unwrap();
    assert!(out.status.success());
    let words: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().trim_end_matches('\0').split('\0').collect();
    assert_eq!(words, hostile, "sh reads every value back as one word");
    // An unknown filter is refused before anything is revealed.
    let out = v.run_with_stdin(&["inject", "-i", "-", "-o", "-"], b"{{ keyloom://app/V0 | base64 }}");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown filter"));
    assert!(out.stdout.is_empty());
}

#[test]
fn pkcs12_opens_with_openssl_and_keytool() {
    let v = estate();
    let d = v.root.path();
    std::fs::write(d.join("pw.txt"), "p12 pass phrase\n").unwrap();
    let p12 = d.join("payments.p12");
    v.ok(&["export", "payments", "--format", "p12", "--p12-password-file", s(&d.join("pw.txt")), "--out", s(&p12)]);
    assert_eq!(mode(&p12), 0o600);
    let info = Command::new("openssl")
        .args(["pkcs12", "-info", "-in", s(&p12), "-passin", "pass:p12 pass phrase", "-nodes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
    assert!(text.contains("subject=CN = payments") && text.contains("BEGIN PRIVATE KEY"), "{text}");
    let wrong = Command::new("openssl")
        .args(["pkcs12", "-info", "-in", s(&p12), "-passin", "pass:wrong", "-nokeys"])
        .output()
        .unwrap();
    assert!(!wrong.status.success(), "a wrong password must not open it");
    if Path::new("/usr/bin/keytool").exists() {
        let list = Command::new("keytool")
            .args(["-list", "-keystore", s(&p12), "-storetype", "PKCS12", "-storepass", "p12 pass phrase"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&list.stdout);
        assert!(list.status.success() && text.contains("PrivateKeyEntry"), "{text}");
    }
    let err = v.fails(&["export", "payments", "--format", "p12", "--out", s(&d.join("x.p12"))], 1);
    assert!(err.contains("--p12-password-file"), "{err}");
}

#[test]
fn bundle_verify_refuses_what_is_not_a_bundle_at_once() {
    let v = TestVault::init();
    v.ok(&["service", "add", "pay", "--env", "prod"]);
    let out = v.run_with_stdin(&["secret", "set", "pay/TOKEN"], b"t0k3n");
    keyloom_tests::assert_success(&out, &["secret set"]);
    let key = pubkey(&v);
    let d = v.root.path();

    // A large unrelated folder (a web project: it even has a manifest.json of its own).
    let project = d.join("project");
    for i in 0..40 {
        let sub = project.join(format!("src/mod{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        for j in 0..50 {
            std::fs::write(sub.join(format!("f{j}.js")), format!("export const x = {j};\n")).unwrap();
        }
    }
    std::fs::write(project.join("manifest.json"), r#"{"name": "my app", "icons": []}"#).unwrap();
    let err = v.fails(&["bundle", "verify", s(&project), "--pubkey", s(&key)], 1);
    assert!(err.contains("is not a Keyloom bundle") && err.contains("nothing under it was read"), "{err}");
    assert!(err.contains(s(&project)), "{err}");
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = v.fails(&["bundle", "verify", s(&empty), "--pubkey", s(&key)], 1);
    assert!(err.contains("is not a Keyloom bundle"), "{err}");
    // A file that is not a tar.gz is refused from its first bytes.
    let iso = d.join("disk.img");
    std::fs::write(&iso, vec![0u8; 4 << 20]).unwrap();
    let err = v.fails(&["bundle", "verify", s(&iso), "--pubkey", s(&key)], 1);
    assert!(err.contains("neither a bundle directory nor a tar.gz"), "{err}");

    // A real bundle that lost its signature is still a bundle: it fails verification (exit 3).
    let bundle = d.join("bundle");
    v.ok(&["export", "pay", "--secrets-only", "--out", s(&bundle)]);
    assert!(verify(&v, &bundle).0);
    std::fs::remove_file(bundle.join("manifest.sig")).unwrap();
    let out = v.run(&["bundle", "verify", s(&bundle), "--pubkey", s(&key), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("manifest.json or manifest.sig is missing"));
}

/// Every entry under `dir` (relative, sorted), to show a refused export changed nothing.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &p, out);
            } else {
                let body = if meta.is_file() { std::fs::read(&p).unwrap() } else { Vec::new() };
                out.push(format!("{rel} {}", String::from_utf8_lossy(&body).len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn force_with_dot_dot_from_a_subdirectory_deletes_nothing() {
    let v = estate();
    let a = v.root.path().join("a");
    std::fs::create_dir_all(a.join("b")).unwrap();
    std::fs::write(a.join("KEEP"), b"my notes").unwrap();
    for out in ["..", ".", "../b", "../.."] {
        let r = v.cmd(&["export", "payments", "--force", "--out", out]).current_dir(a.join("b")).output().unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "--out {out}: {err}");
        assert!(err.contains("will not replace") && err.contains("current directory"), "--out {out}: {err}");
        assert_eq!(std::fs::read(a.join("KEEP")).unwrap(), b"my notes", "--out {out}");
        assert!(a.join("b").is_dir(), "--out {out}");
    }
    // The home directory (the test's HOME) holds the vault: never replaced either.
    let err = v.fails(&["export", "payments", "--force", "--out", s(v.root.path())], 1);
    assert!(err.contains("home directory"), "{err}");
    assert!(v.path.is_dir());
    assert_eq!(v.json(&["bundle", "history", "payments"]).as_array().unwrap().len(), 0, "nothing was exported");
}

#[test]
fn force_refuses_what_keyloom_did_not_write_and_leaves_it_alone() {
    let v = estate();
    let d = v.root.path().join("work");
    std::fs::create_dir(&d).unwrap();
    // An unrelated directory and file.
    std::fs::create_dir(d.join("mine")).unwrap();
    std::fs::write(d.join("mine/notes.txt"), b"notes").unwrap();
    std::fs::write(d.join("file.tar.gz"), b"not a bundle").unwrap();
    std::os::unix::fs::symlink(d.join("mine"), d.join("link")).unwrap();
    // A previous bundle of ours with the user's file added to it, and one of another vault.
    v.ok(&["export", "payments", "--out", s(&d.join("edited"))]);
    std::fs::write(d.join("edited/tls/my-extra.pem"), b"mine").unwrap();
    let other = TestVault::init();
    other.ok(&["service", "add", "x", "--env", "prod"]);
    keyloom_tests::assert_success(&other.run_with_stdin(&["secret", "set", "x/TOKEN"], b"t"), &["secret set"]);
    other.ok(&["export", "x", "--secrets-only", "--out", s(&d.join("foreign"))]);
    // A previous tar.gz of ours, changed since.
    v.ok(&["export", "payments", "--format", "tar.gz", "--out", s(&d.join("changed.tar.gz"))]);
    std::fs::write(d.join("changed.tar.gz"), b"edited by hand").unwrap();
    let before = tree(&d);
    for (out, format, why) in [
        ("mine", "dir", "not a Keyloom bundle"),
        ("file.tar.gz", "tar.gz", "records no output"),
        ("link", "dir", "symbolic link"),
        ("edited", "dir", "tls/my-extra.pem is not in its manifest"),
        ("foreign", "dir", "does not verify with this vault's signing key"),
        ("changed.tar.gz", "tar.gz", "contents differ"),
        ("mine", "tar.gz", "is a directory, and this export writes a file"),
        ("file.tar.gz", "dir", "is a file, and this export writes a directory"),
    ] {
        let target = d.join(out);
        let err = v.fails(&["export", "payments", "--format", format, "--force", "--out", s(&target)], 1);
        assert!(err.contains("will not replace") && err.contains(out) && err.contains(why), "{out} ({format}): {err}");
    }
    assert_eq!(tree(&d), before, "refused exports changed nothing, and left no temporary files");
    assert_eq!(v.json(&["bundle", "history", "payments"]).as_array().unwrap().len(), 2, "and recorded none");
}

#[test]
fn force_replaces_the_previous_dir_bundle_and_tar_gz_of_the_same_kind() {
    let v = estate();
    let d = v.root.path().join("work");
    std::fs::create_dir(&d).unwrap();
    let dir = d.join("payments");
    let tgz = d.join("payments.tar.gz");
    let env = d.join("payments.env");
    v.ok(&["export", "payments", "--out", s(&dir)]);
    v.ok(&["export", "payments", "--format", "tar.gz", "--out", s(&tgz)]);
    v.ok(&["export", "payments", "--format", "env", "--out", s(&env)]);
    // A new certificate, so the replacement visibly carries it.
    v.ok(&[
        "cert",
        "issue",
        "--service",
        "payments",
        "--ca",
        "prod-issuing",
        "--dns",
        "localhost.prod.corp.example",
        "--server",
    ]);
    let serial = v.json(&["cert", "show", "payments"])["certificate"]["serial"].as_str().unwrap().to_string();
    // The wrong kind is refused both ways, and changes nothing.
    let err = v.fails(&["export", "payments", "--format", "tar.gz", "--force", "--out", s(&dir)], 1);
    assert!(err.contains("is a directory, and this export writes a file"), "{err}");
    let err = v.fails(&["export", "payments", "--format", "dir", "--force", "--out", s(&tgz)], 1);
    assert!(err.contains("is a file, and this export writes a directory"), "{err}");
    assert!(dir.is_dir() && tgz.is_file());
    for (path, format) in [(&dir, "dir"), (&tgz, "tar.gz"), (&env, "env")] {
        let r = v.json(&["export", "payments", "--format", format, "--force", "--out", s(path)]);
        assert_eq!(r["replaced"], true, "{format}");
    }
    for b in [&dir, &tgz] {
        let (ok, report) = verify(&v, b);
        assert!(ok, "{}: {report}", b.display());
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["certificate"]["serial"], serial.as_str());
    // A replaced output is itself a previous output: --force again works, and nothing is left beside.
    v.ok(&["export", "payments", "--force", "--out", s(&dir)]);
    let mut names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["payments", "payments.env", "payments.tar.gz"]);
    let audit = v.json(&["audit", "list", "--action", "export", "--limit", "1"]);
    assert!(audit[0]["detail"]
        .as_str()
        .unwrap()
        .contains(&format!("replacing the previous output at {}", dir.display())));
}

#[test]
fn env_export_with_force_replaces_its_bundles_and_leaves_the_rest_of_the_folder_alone() {
    let v = estate();
    v.ok(&["cert", "issue", "--service", "bare", "--ca", "prod-issuing", "--dns", "bare.prod.corp.example"]);
    let out = v.root.path().join("bundles");
    v.ok(&["export", "--env", "prod", "--out", s(&out)]);
    std::fs::write(out.join("README.txt"), b"deploy notes").unwrap();
    std::fs::create_dir(out.join("other")).unwrap();
    std::fs::write(out.join("other/keep"), b"keep").unwrap();
    let err = v.fails(&["export", "--env", "prod", "--out", s(&out)], 1);
    assert!(err.contains("--force"), "{err}");
    let r = v.json(&["export", "--env", "prod", "--force", "--out", s(&out)]);
    assert_eq!(r["replaced"].as_array().unwrap().len(), 4);
    for svc in ["bare", "checkout", "payments", "rogue-client"] {
        assert!(verify(&v, &out.join(svc)).0, "{svc}");
    }
    assert_eq!(std::fs::read(out.join("README.txt")).unwrap(), b"deploy notes");
    assert_eq!(std::fs::read(out.join("other/keep")).unwrap(), b"keep");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 6, "four bundles, README.txt, other/");

    // A service named ".." would name the output folder's parent: refused before anything.
    let work = v.root.path().join("work");
    std::fs::create_dir_all(work.join("out")).unwrap();
    std::fs::write(work.join("KEEP"), b"keep").unwrap();
    if v.run(&["service", "add", "..", "--env", "evil"]).status.success() {
        keyloom_tests::assert_success(&v.run_with_stdin(&["secret", "set", "../TOKEN"], b"t"), &["secret set"]);
        let err = v.fails(
            &["export", "--env", "evil", "--format", "dir", "--secrets-only", "--force", "--out", s(&work.join("out"))],
            1,
        );
        assert!(err.contains("\"..\"") && err.contains("file name"), "{err}");
    }
    assert_eq!(std::fs::read(work.join("KEEP")).unwrap(), b"keep");
    assert!(work.join("out").is_dir());
}

/// Every key type Keyloom generates, as the CLI names them.
const KEY_TYPES: [&str; 6] = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"];

/// Kills a background process (an `openssl s_server`) when the test ends, however it ends.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `openssl s_server` with the bundle in `dir` (requiring a client certificate from its
/// inbound CAs) and one `openssl s_client` presenting the same bundle's certificate: Ok when the
/// server answers an HTTP request over the mutual-TLS connection.
fn openssl_mutual_tls(dir: &Path) -> Result<(), String> {
    use std::io::{BufRead, BufReader, Write};
    let port = free_port().to_string();
    let f = |p: &str| dir.join(p).to_str().unwrap().to_string();
    let mut server = Background(
        Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-naccept", "1", "-www"])
            .args(["-cert", &f("tls/chain.pem"), "-key", &f("tls/key.pem"), "-CAfile", &f("tls/ca-inbound.pem")])
            .args(["-Verify", "2", "-verify_return_error"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // s_server prints ACCEPT once it listens, or exits when it cannot load the key.
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    if !lines.any(|l| l.is_ok_and(|l| l.contains("ACCEPT"))) {
        let mut err = String::new();
        std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut err).unwrap();
        return Err(format!("s_server did not start: {err}"));
    }
    let mut client = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost", "-quiet"])
        .args(["-cert", &f("tls/chain.pem"), "-key", &f("tls/key.pem"), "-CAfile", &f("tls/ca-inbound.pem")])
        .args(["-verify_return_error", "-verify_hostname", "localhost"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    client.stdin.take().unwrap().write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let out = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!("s_client: {stdout} {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Python's `ssl` (OpenSSL 3.0 on Debian 12): for each bundle directory, `load_cert_chain` on
/// both sides and a mutual-TLS handshake in memory, then one message each way.
const PYTHON_MTLS: &str = r#"
import json, ssl, sys
out = {}
for kt, d in json.loads(sys.argv[1]).items():
    try:
        ctx = {}
        for side, proto in (("s", ssl.PROTOCOL_TLS_SERVER), ("c", ssl.PROTOCOL_TLS_CLIENT)):
            c = ssl.SSLContext(proto)
            c.load_cert_chain(d + "/tls/chain.pem", d + "/tls/key.pem")
            c.load_verify_locations(d + "/tls/ca-inbound.pem")
            c.verify_mode = ssl.CERT_REQUIRED
            ctx[side] = c
        bio = [ssl.MemoryBIO() for _ in range(4)]
        srv = ctx["s"].wrap_bio(bio[0], bio[1], server_side=True)
        cli = ctx["c"].wrap_bio(bio[2], bio[3], server_hostname="localhost")
        def pump():
            bio[0].write(bio[3].read()); bio[2].write(bio[1].read())
        done = set()
        for _ in range(10):
            for name, end in (("c", cli), ("s", srv)):
                if name not in done:
                    try:
                        end.do_handshake(); done.add(name)
                    except ssl.SSLWantReadError:
                        pass
                pump()
        cli.write(b"ping"); pump()
        assert srv.read(4) == b"ping"
        srv.write(b"pong"); pump()
        assert cli.read(4) == b"pong"
        assert srv.getpeercert()["subject"], "the server saw no client certificate"
        out[kt] = "ok"
    except Exception as e:
        out[kt] = repr(e)
print(json.dumps(out))
"#;

#[test]
fn every_key_type_as_ca_and_leaf_works_with_openssl_python_rustls_and_keytool() {
    use rustls::pki_types::pem::PemObject;
    let v = TestVault::init();
    let d = v.root.path();
    std::fs::write(d.join("pw.txt"), "p12 pass\n").unwrap();
    let mut dirs = serde_json::Map::new();
    // One CA and one leaf of each type, the leaf both server and client: made once.
    for kt in KEY_TYPES {
        let (ca, svc) = (format!("ca-{kt}"), format!("svc-{kt}"));
        v.ok(&["ca", "create", &ca, "--key-type", kt]);
        v.ok(&["service", "add", &svc, "--env", "prod"]);
        v.ok(&[
            "cert",
            "issue",
            "--service",
            &svc,
            "--ca",
            &ca,
            "--dns",
            "localhost",
            "--server",
            "--client",
            "--key-type",
            kt,
        ]);
        v.ok(&["trust", "add", &svc, "--ca", &ca, "--inbound"]);
        v.ok(&["export", &svc, "--out", s(&d.join(&svc))]);
        let p12 = d.join(format!("{svc}.p12"));
        v.ok(&["export", &svc, "--format", "p12", "--p12-password-file", s(&d.join("pw.txt")), "--out", s(&p12)]);
        dirs.insert(kt.to_string(), s(&d.join(&svc)).into());
    }
    let mut failures = Vec::new();
    for kt in KEY_TYPES {
        let dir = d.join(format!("svc-{kt}"));
        let key_pem = std::fs::read(dir.join("tls/key.pem")).unwrap();
        assert!(!key_pem.contains(&b'\r'), "{kt}: the key PEM has CR line endings");
        let pkey =
            Command::new("openssl").args(["pkey", "-noout", "-in", s(&dir.join("tls/key.pem"))]).output().unwrap();
        if !pkey.status.success() {
            failures.push(format!("{kt}: openssl pkey: {}", String::from_utf8_lossy(&pkey.stderr)));
        }
        let p12 = d.join(format!("svc-{kt}.p12"));
        let info = Command::new("openssl")
            .args(["pkcs12", "-info", "-nodes", "-in", s(&p12), "-passin", "pass:p12 pass"])
            .output()
            .unwrap();
        if !info.status.success() || !String::from_utf8_lossy(&info.stdout).contains("BEGIN PRIVATE KEY") {
            failures.push(format!("{kt}: openssl pkcs12: {}", String::from_utf8_lossy(&info.stderr)));
        }
        if let Err(e) = openssl_mutual_tls(&dir) {
            failures.push(format!("{kt}: openssl s_server/s_client: {e}"));
        }
        let chain: Vec<_> = rustls::pki_types::CertificateDer::pem_file_iter(dir.join("tls/chain.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("tls/key.pem")).unwrap();
        if let Err(e) = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(chain, key) {
            failures.push(format!("{kt}: rustls: {e}"));
        }
    }
    let py = Command::new("python3")
        .args(["-c", PYTHON_MTLS, &serde_json::Value::Object(dirs).to_string()])
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let results: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    for kt in KEY_TYPES {
        if results[kt] != "ok" {
            failures.push(format!("{kt}: python ssl: {}", results[kt]));
        }
    }
    // keytool: one JVM per file, all at once (a JRE has no way to read several in one run).
    let keytools: Vec<_> = KEY_TYPES
        .iter()
        .map(|kt| {
            let p12 = d.join(format!("svc-{kt}.p12"));
            let child = Command::new("keytool")
                .args(["-list", "-storetype", "PKCS12", "-storepass", "p12 pass", "-keystore", s(&p12)])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("keytool must be installed (Debian package default-jre-headless; .ci/run installs it)");
            (kt, child)
        })
        .collect();
    for (kt, child) in keytools {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !text.contains("PrivateKeyEntry") || !text.contains("trustedCertEntry") {
            failures.push(format!("{kt}: keytool: {text} {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn public_files_are_0644_lf_and_verify_uses_the_chain_in_the_file_and_anchor_imports() {
    let v = TestVault::init();
    let d = v.root.path();
    v.ok(&["ca", "create", "root"]);
    v.ok(&["ca", "create", "issuing", "--parent", "root"]);
    v.ok(&["service", "add", "web", "--env", "prod"]);
    v.ok(&["cert", "issue", "--service", "web", "--ca", "issuing", "--dns", "web.example", "--server"]);
    let bundle = d.join("web");
    let printed = v.ok(&["export", "web", "--out", s(&bundle)]);
    assert!(printed.contains("signed"), "{printed}");
    let printed = v.ok(&["export", "web", "--format", "k8s", "--out", s(&d.join("web.yaml"))]);
    assert!(!printed.contains("signed"), "a Kubernetes file carries no signature: {printed}");
    // Public files are readable by all, whatever Keyloom's own umask; no PEM has a CR.
    v.ok(&["ca", "crl", "issuing", "--out", s(&d.join("issuing.crl"))]);
    v.ok(&["signing-key", "export", "--out", s(&d.join("signing.pub"))]);
    for public in ["issuing.crl", "signing.pub", "web/tls/cert.pem", "web/tls/chain.pem"] {
        assert_eq!(mode(&d.join(public)), 0o644, "{public}");
    }
    assert_eq!(mode(&bundle.join("tls/key.pem")), 0o600);
    for pem in ["issuing.crl", "web/tls/cert.pem", "web/tls/chain.pem", "web/tls/key.pem"] {
        assert!(!std::fs::read(d.join(pem)).unwrap().contains(&b'\r'), "{pem} has CRLF line endings");
    }
    // Another vault that trusts only the root: the intermediate in chain.pem completes the path;
    // the bare leaf fails with one stderr line naming the file and the reason.
    let other = TestVault::init();
    std::fs::write(d.join("root.pem"), v.ok(&["ca", "show", "root", "--pem"])).unwrap();
    other.ok(&["ca", "import", s(&d.join("root.pem"))]);
    let ok = other.ok(&["cert", "verify", s(&bundle.join("tls/chain.pem"))]);
    assert!(ok.contains("server: OK"), "{ok}");
    let leaf = bundle.join("tls/cert.pem");
    let out = other.run(&["cert", "verify", s(&leaf)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(s(&leaf)) && err.contains("no trusted CA issued it"), "{err}");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    // A vault that imports only the intermediate: not an anchor by default (it is not
    // self-signed), an anchor once imported with --anchor.
    let third = TestVault::init();
    std::fs::write(d.join("issuing.pem"), v.ok(&["ca", "show", "issuing", "--pem"])).unwrap();
    third.ok(&["ca", "import", s(&d.join("issuing.pem"))]);
    let err = third.fails(&["cert", "verify", s(&leaf)], 1);
    assert!(err.contains("no trusted"), "{err}");
    third.ok(&["ca", "import", "--anchor", s(&d.join("issuing.pem"))]);
    let ok = third.ok(&["cert", "verify", s(&leaf)]);
    assert!(ok.contains("server: OK"), "{ok}");
}

/// Compose secret names are lowercase and share the TLS files' names: a secret called `KEY` beside
/// a certificate would silently replace the key in the compose grant. Refused, naming it, and
/// nothing is written.
#[test]
fn a_compose_name_collision_is_refused_not_overwritten() {
    let v = TestVault::init();
    v.ok(&["service", "add", "svc", "--env", "prod"]);
    v.ok(&["ca", "create", "root"]);
    v.ok(&["cert", "issue", "--service", "svc", "--ca", "root", "--dns", "svc.example"]);
    let out = v.run_with_stdin(&["secret", "set", "svc/KEY"], b"not the tls key");
    keyloom_tests::assert_success(&out, &["secret set"]);
    let deploy = v.root.path().join("deploy");
    let err = v.fails(&["export", "svc", "--format", "compose", "--out", deploy.to_str().unwrap()], 1);
    assert!(err.contains("svc/KEY") && err.contains("already taken"), "{err}");
    assert!(!deploy.exists());
}
