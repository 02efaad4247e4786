//! Token issuers against a real consumer: PyJWT (with its `cryptography` backend, installed in the
//! test venv by scripts/install-deps.sh) verifies tokens Keyloom mints against the JWKS Keyloom
//! exports, accepts the right audience and refuses a wrong audience, an expired token, another
//! issuer's token and a tampered one; a token signed after a rotation verifies against the JWKS
//! exported before it.

use std::path::{Path, PathBuf};
use std::process::Command;

use keyloom_tests::TestVault;
use serde_json::Value;

/// Verifies `token` with PyJWT against the JWKS in `jwks`, for `audience` and issuer `iss`.
/// Ok(claims) or Err(the exception's class name and message).
fn pyjwt(jwks: &Path, token: &str, audience: &str, iss: &str) -> Result<Value, String> {
    let venv = std::env::var_os("KEYLOOM_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/keyloom/test-venv"));
    let script = r#"
import json, sys, jwt
jwks = jwt.PyJWKSet.from_json(open(sys.argv[1]).read())
token, aud, iss = sys.argv[2], sys.argv[3], sys.argv[4]
try:
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwks[kid]
    claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience=aud, issuer=iss)
    print(json.dumps({"ok": claims}))
except Exception as e:
    print(json.dumps({"err": type(e).__name__ + ": " + str(e)}))
"#;
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .arg(jwks)
        .args([token, audience, iss])
        .output()
        .expect("run the venv's python (scripts/install-deps.sh installs PyJWT)");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("python printed JSON");
    match (v.get("ok"), v.get("err")) {
        (Some(c), _) => Ok(c.clone()),
        (_, Some(e)) => Err(e.as_str().unwrap_or_default().to_string()),
        _ => Err(format!("{v}")),
    }
}

fn mint(v: &TestVault, issuer: &str, aud: &str, ttl: &str) -> String {
    v.ok(&["token", "mint", "--issuer", issuer, "--aud", aud, "--sub", "checkout", "--ttl", ttl]).trim().to_string()
}

fn jwks_file(v: &TestVault, issuer: &str, name: &str) -> PathBuf {
    let path = v.root.path().join(name);
    v.ok(&["jwks", issuer, "--out", &path.to_string_lossy()]);
    path
}

#[test]
fn pyjwt_verifies_minted_tokens_against_the_exported_jwks_and_refuses_the_wrong_ones() {
    let v = TestVault::init();
    for (name, env) in [("auth", "dev"), ("other-auth", "dev"), ("payments", "dev"), ("checkout", "dev")] {
        v.ok(&["service", "add", name, "--env", env]);
    }
    let keys = v.json(&["token-key", "create", "--service", "auth", "--alg", "ES256"]);
    let roles: Vec<&str> = keys.as_array().unwrap().iter().map(|k| k["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["current", "next"], "{keys}");
    v.json(&["token-key", "create", "--service", "other-auth", "--alg", "ES256"]);
    let jwks = jwks_file(&v, "auth", "auth-jwks.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 2, "current and next are published");
    for k in doc["keys"].as_array().unwrap() {
        assert!(k.get("d").is_none(), "a private member in the JWKS: {k}");
    }

    let token = mint(&v, "auth", "payments", "5m");
    let claims = pyjwt(&jwks, &token, "payments", "auth").expect("PyJWT accepts the right audience");
    assert_eq!(claims["sub"], "checkout");
    assert_eq!(claims["aud"], "payments");

    let err = pyjwt(&jwks, &token, "billing", "auth").unwrap_err();
    assert!(err.starts_with("InvalidAudienceError"), "{err}");
    let other = mint(&v, "other-auth", "payments", "5m");
    let err = pyjwt(&jwks, &other, "payments", "auth").unwrap_err();
    assert!(
        err.contains("Unable to find a signing key") || err.starts_with("KeyError"),
        "another issuer's token: {err}"
    );
    // The payload changed by one character: the signature no longer holds.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let flipped: String = parts[1]
        .char_indices()
        .map(|(i, c)| {
            if i == 10 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    parts[1] = flipped;
    let err = pyjwt(&jwks, &parts.join("."), "payments", "auth").unwrap_err();
    assert!(err.starts_with("InvalidSignatureError") || err.starts_with("DecodeError"), "tampered: {err}");
    let short = mint(&v, "auth", "payments", "1s");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let err = pyjwt(&jwks, &short, "payments", "auth").unwrap_err();
    assert!(err.starts_with("ExpiredSignatureError"), "{err}");

    // Rotation: the next key, published before, signs now; the JWKS from before verifies it.
    let before = jwks;
    let rotated = v.json(&["token-key", "rotate", "--service", "auth"]);
    let current = rotated.as_array().unwrap().iter().find(|k| k["role"] == "current").unwrap();
    assert_eq!(current["kid"], keys[1]["kid"], "the next key became current");
    let after_rotation = mint(&v, "auth", "payments", "5m");
    pyjwt(&before, &after_rotation, "payments", "auth").expect("the JWKS exported before the switch holds the new key");
    // Tokens of the old key still verify against the new JWKS (it stays published as previous).
    let now_jwks = jwks_file(&v, "auth", "auth-jwks-2.json");
    pyjwt(&now_jwks, &token, "payments", "auth").expect("previous key still published");
    // A second rotation retires it.
    v.json(&["token-key", "rotate", "--service", "auth"]);
    let latest = jwks_file(&v, "auth", "auth-jwks-3.json");
    assert!(pyjwt(&latest, &token, "payments", "auth").is_err(), "a key two rotations old is no longer published");
}

#[test]
fn eddsa_and_rs256_issuers_verify_too_and_minting_is_capped_audited_and_guarded_for_production() {
    let v = TestVault::init();
    for (name, env) in [("edge", "staging"), ("legacy", "staging"), ("auth", "prod")] {
        v.ok(&["service", "add", name, "--env", env]);
    }
    v.json(&["token-key", "create", "--service", "edge", "--alg", "EdDSA"]);
    v.json(&["token-key", "create", "--service", "legacy", "--alg", "rs256"]);
    for issuer in ["edge", "legacy"] {
        let jwks = jwks_file(&v, issuer, &format!("{issuer}.json"));
        let token = mint(&v, issuer, "payments", "2m");
        pyjwt(&jwks, &token, "payments", issuer).unwrap_or_else(|e| panic!("{issuer}: {e}"));
    }
    let err = v.fails(&["token-key", "create", "--service", "edge", "--alg", "HS256"], 1);
    assert!(err.contains("HS256") && err.contains("ES256"), "{err}");
    let err = v.fails(&["token-key", "create", "--service", "edge"], 1);
    assert!(err.contains("already has token keys"), "{err}");

    // At most 15 minutes.
    let err = v.fails(&["token", "mint", "--issuer", "edge", "--aud", "p", "--sub", "c", "--ttl", "16m"], 1);
    assert!(err.contains("token lifetime"), "{err}");
    // A production issuer mints only when asked explicitly.
    v.json(&["token-key", "create", "--service", "auth"]);
    let err = v.fails(&["token", "mint", "--issuer", "auth", "--aud", "payments", "--sub", "checkout"], 1);
    assert!(err.contains("prod"), "{err}");
    let token = v.ok(&["token", "mint", "--issuer", "auth", "--aud", "payments", "--sub", "checkout", "--allow-prod"]);
    // Audited, never with the token itself.
    let audit = v.ok(&["audit", "list", "--json", "--limit", "100"]);
    assert!(audit.contains("token.mint") && audit.contains("aud payments, sub checkout"), "{audit}");
    assert!(!audit.contains(token.trim()), "the token is in the audit log");
    let sig = token.trim().rsplit('.').next().unwrap();
    assert!(!audit.contains(sig));
    // An environment named like production is guarded too.
    v.ok(&["service", "add", "eu-auth", "--env", "prod-eu"]);
    v.json(&["token-key", "create", "--service", "eu-auth"]);
    let err = v.fails(&["token", "mint", "--issuer", "eu-auth", "--aud", "payments", "--sub", "checkout"], 1);
    assert!(err.contains("prod-eu"), "{err}");
    // A removed issuer takes its keys and grants with it.
    v.json(&["token", "trust", "add", "legacy", "--issuer", "edge", "--audience", "legacy"]);
    v.ok(&["service", "remove", "edge", "--force"]);
    assert!(v.json(&["token-key", "list"]).as_array().unwrap().iter().all(|k| k["service"] != "edge"));
    assert!(v.json(&["token", "list"]).as_array().unwrap().is_empty());
    v.fails(&["jwks", "edge"], 1);
}

#[test]
fn an_imported_issuer_keeps_public_keys_only_and_names_weak_ones() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let dir = v.root.path();
    let leaked = dir.join("leaked.json");
    std::fs::write(&leaked, r#"{"keys":[{"kty":"RSA","kid":"r1","n":"AQAB","e":"AQAB","d":"c2VjcmV0"}]}"#).unwrap();
    let err = v.fails(&["token-issuer", "import", "keycloak", "--jwks", &leaked.to_string_lossy()], 1);
    assert!(err.contains("private key material"), "{err}");
    assert!(!err.contains("c2VjcmV0"));
    let jwks = dir.join("keycloak.json");
    std::fs::write(
        &jwks,
        r#"{"keys":[{"kty":"oct","kid":"hs","alg":"HS256","k":"c2hhcmVkLXNlY3JldC12YWx1ZQ"},
                     {"kty":"EC","kid":"ec1","alg":"ES256","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
    )
    .unwrap();
    let issuer = v.json(&[
        "token-issuer",
        "import",
        "keycloak",
        "--jwks",
        &jwks.to_string_lossy(),
        "--issuer-url",
        "https://sso.corp.example/realms/prod",
        "--env",
        "prod",
    ]);
    assert_eq!(issuer["kids"], serde_json::json!(["hs", "ec1"]));
    assert_eq!(issuer["weaknesses"].as_array().unwrap().len(), 1, "{issuer}");
    assert!(issuer["weaknesses"][0].as_str().unwrap().contains("shared secret"));
    let exported = v.ok(&["jwks", "keycloak"]);
    assert!(!exported.contains("c2hhcmVkLXNlY3JldC12YWx1ZQ"), "a symmetric secret was kept: {exported}");
    // A name taken by a service is refused (issuers and services are one namespace).
    let err = v.fails(&["token-issuer", "import", "payments", "--jwks", &jwks.to_string_lossy()], 1);
    assert!(err.contains("payments"), "{err}");
    // Trust and clients reference it; unknown issuers are named.
    v.json(&["token", "trust", "add", "payments", "--issuer", "keycloak", "--audience", "payments"]);
    let err = v.fails(&["token", "trust", "add", "payments", "--issuer", "okta", "--audience", "payments"], 1);
    assert!(err.contains("no issuer \"okta\"") && err.contains("keycloak"), "{err}");
    let list = v.json(&["token", "list"]);
    assert_eq!(list[0]["issuer"], "keycloak");
    assert_eq!(list[0]["side"], "accepts");
    let err = v.fails(&["token", "mint", "--issuer", "keycloak", "--aud", "payments", "--sub", "x"], 1);
    assert!(err.contains("imported issuer"), "{err}");
    // Issuers and services share one namespace both ways.
    let err = v.fails(&["service", "add", "keycloak", "--env", "prod"], 1);
    assert!(err.contains("keycloak"), "{err}");
}

#[test]
fn bundles_carry_the_issuers_jwks_and_the_jwks_of_every_issuer_a_service_accepts() {
    let v = TestVault::init();
    for name in ["auth", "payments"] {
        v.ok(&["service", "add", name, "--env", "dev"]);
    }
    v.run_with_stdin(&["secret", "set", "payments/DB_URL"], b"postgres://db");
    v.json(&["token-key", "create", "--service", "auth", "--alg", "EdDSA"]);
    v.json(&["token", "trust", "add", "payments", "--issuer", "auth", "--audience", "payments"]);
    let dir = v.root.path();
    let out = dir.join("payments-bundle");
    v.ok(&["export", "payments", "--format", "dir", "--out", &out.to_string_lossy(), "--secrets-only"]);
    let trusted = out.join("trusted-jwks/auth.json");
    assert!(trusted.exists(), "the accepted issuer's JWKS is in the bundle");
    let verified = v.json(&["bundle", "verify", &out.to_string_lossy()]);
    assert_eq!(verified["ok"], true, "{verified}");
    // A token the issuer mints verifies against what the service was given.
    let token = mint(&v, "auth", "payments", "5m");
    pyjwt(&trusted, &token, "payments", "auth").expect("the bundled JWKS verifies the issuer's token");
    // After a rotation the bundle from before still verifies the new key's tokens.
    v.json(&["token-key", "rotate", "--service", "auth"]);
    let token = mint(&v, "auth", "payments", "5m");
    pyjwt(&trusted, &token, "payments", "auth").expect("the next key was in the bundle");
    // The bundle now lacks auth's new next key: a finding until payments is exported again.
    let stale = |v: &TestVault| -> Vec<String> {
        v.json(&["findings"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "stale_exported_jwks")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let found = stale(&v);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("the newest bundle of payments") && found[0].contains("of auth"), "{found:?}");
    v.ok(&["export", "payments", "--format", "dir", "--out", &out.to_string_lossy(), "--secrets-only", "--force"]);
    assert_eq!(stale(&v), Vec::<String>::new());
    // The issuer's own bundle carries its JWKS.
    let auth_out = dir.join("auth-bundle");
    v.run_with_stdin(&["secret", "set", "auth/SIGNING_NOTE"], b"x");
    v.ok(&["export", "auth", "--format", "dir", "--out", &auth_out.to_string_lossy(), "--secrets-only"]);
    let own: Value = serde_json::from_str(&std::fs::read_to_string(auth_out.join("jwks.json")).unwrap()).unwrap();
    assert_eq!(own["keys"].as_array().unwrap().len(), 3, "current, next and previous: {own}");
}
