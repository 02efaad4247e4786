//! Certificate pinning with real consumers: nginx serves a service's exported bundle and curl
//! connects with `--pinnedpubkey` set from the client's exported `pins.json`; another service's
//! pin is refused; after `cert renew --rotate-key` and redeploying the server's bundle, the pins
//! the client was given before (current + next) still connect.

use std::path::Path;
use std::process::Command;

use keyloom_tests::nginx::Nginx;
use keyloom_tests::TestVault;
use serde_json::Value;

const HOST: &str = "payments.prod.corp.example";

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// curl over TLS to `port` with `pins` (curl's `sha256//A;sha256//B`); Ok(body) or Err(stderr).
fn curl(port: u16, ca: &Path, pins: &str) -> Result<String, String> {
    let out = Command::new("curl")
        .args(["-sS", "--resolve", &format!("{HOST}:{port}:127.0.0.1"), "--cacert", &s(ca)])
        .args(["--pinnedpubkey", pins])
        .arg(format!("https://{HOST}:{port}/"))
        .output()
        .expect("curl");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn serve(d: &Path, bundle: &Path, name: &str) -> Nginx {
    Nginx::start(
        &d.join(name),
        &format!(
            "    ssl_certificate {b}/tls/chain.pem;\n    ssl_certificate_key {b}/tls/key.pem;\n    location / {{ return 200 \"ok\\n\"; }}",
            b = bundle.display()
        ),
    )
}

fn curl_pins(peer: &Value) -> String {
    let mut pins = vec![peer["current"].as_str().unwrap().to_string()];
    pins.extend(peer["next"].as_str().map(String::from));
    pins.iter().map(|p| format!("sha256//{p}")).collect::<Vec<_>>().join(";")
}

#[test]
fn curl_connects_with_the_exported_pins_refuses_another_services_and_survives_a_key_rotation() {
    let v = TestVault::init();
    for svc in ["payments", "checkout", "web"] {
        v.ok(&["service", "add", svc, "--env", "prod"]);
    }
    v.ok(&["ca", "create", "corp-root"]);
    v.ok(&["cert", "issue", "--service", "payments", "--ca", "corp-root", "--dns", HOST, "--server"]);
    v.ok(&["cert", "issue", "--service", "web", "--ca", "corp-root", "--dns", "web.prod.corp.example", "--server"]);
    v.ok(&[
        "cert",
        "issue",
        "--service",
        "checkout",
        "--ca",
        "corp-root",
        "--dns",
        "checkout.prod.corp.example",
        "--client",
    ]);
    v.ok(&["intent", "add", "--from", "checkout", "--to", "payments"]);
    let d = v.root.path();
    let ca = d.join("corp-root.pem");
    std::fs::write(&ca, v.ok(&["ca", "show", "corp-root", "--pem"])).unwrap();

    // The client's bundle carries the pins of the peer it calls: current and next key, and CA.
    let client = d.join("checkout");
    v.ok(&["export", "checkout", "--format", "dir", "--out", &s(&client)]);
    let pins: Value = serde_json::from_str(&std::fs::read_to_string(client.join("pins.json")).unwrap()).unwrap();
    let peer = &pins["peers"][0];
    assert_eq!(peer["service"], "payments");
    assert!(peer["next"].is_string() && peer["ca"].is_string(), "{pins}");
    assert_ne!(peer["current"], peer["next"]);
    let given = curl_pins(peer);
    // The same pins as the CLI prints for curl (which adds the CA's).
    let printed = v.ok(&["pins", "payments", "--format", "curl"]);
    assert!(printed.trim().starts_with(&given), "{printed} vs {given}");

    let server = d.join("payments");
    v.ok(&["export", "payments", "--format", "dir", "--out", &s(&server)]);
    let nginx = serve(d, &server, "nginx-1");
    assert_eq!(curl(nginx.port, &ca, &given).expect("the exported pins connect"), "ok\n");
    let web = v.json(&["pins", "web"]);
    let err = curl(nginx.port, &ca, &format!("sha256//{}", web["current"].as_str().unwrap())).unwrap_err();
    assert!(err.to_lowercase().contains("pinned public key"), "another service's pin must be refused: {err}");
    drop(nginx);

    // Rotate payments' key: it takes the next key the client already pins.
    v.ok(&["cert", "renew", "payments", "--rotate-key"]);
    let now = v.json(&["pins", "payments"]);
    assert_eq!(now["current"], peer["next"], "the renewal used the pre-published next key");
    assert_ne!(now["next"], peer["next"], "a new next key was made");
    v.ok(&["export", "payments", "--format", "dir", "--out", &s(&server), "--force"]);
    let nginx = serve(d, &server, "nginx-2");
    assert_eq!(curl(nginx.port, &ca, &given).expect("the old pin set survives the rotation"), "ok\n");
    // Pinning only the old current key no longer connects.
    let err = curl(nginx.port, &ca, &format!("sha256//{}", peer["current"].as_str().unwrap())).unwrap_err();
    assert!(err.to_lowercase().contains("pinned public key"), "{err}");

    // checkout's bundle still connects, but does not pin payments' new next key: a finding;
    // after one more rotation it pins keys payments no longer uses.
    let stale_pins = || -> Vec<(String, String)> {
        v.json(&["findings"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "stale_pins")
            .map(|f| (f["severity"].as_str().unwrap().to_string(), f["message"].as_str().unwrap().to_string()))
            .collect()
    };
    let found = stale_pins();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "medium");
    assert!(found[0].1.contains("does not pin the next key of payments"), "{found:?}");
    v.ok(&["cert", "renew", "payments", "--rotate-key"]);
    let found = stale_pins();
    assert_eq!(found[0].0, "high", "{found:?}");
    assert!(found[0].1.contains("pins keys payments no longer uses"), "{found:?}");
    v.ok(&["export", "checkout", "--format", "dir", "--out", &s(&client), "--force"]);
    assert_eq!(stale_pins(), Vec::<(String, String)>::new());
    let now = v.json(&["pins", "payments"]);

    // Other consumers' forms carry the same pins.
    let okhttp = v.ok(&["pins", "payments", "--format", "okhttp"]);
    assert!(okhttp.contains(&format!(".add(\"{HOST}\", \"sha256/{}\"", now["current"].as_str().unwrap())), "{okhttp}");
    let envoy = v.ok(&["pins", "payments", "--format", "envoy"]);
    assert!(envoy.starts_with("verify_certificate_spki:\n- \""), "{envoy}");
    let err = v.fails(&["pins", "payments", "--format", "hpkp"], 1);
    assert!(err.contains("curl") && err.contains("envoy"), "{err}");
}
