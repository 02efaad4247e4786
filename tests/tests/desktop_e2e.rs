//! The desktop app, driven end to end through WebDriver (tauri-driver + WebKitWebDriver) under a
//! private Xvfb: what a person does on first start and every day after. Screenshots of each main
//! view land in target/e2e-screenshots/.

use keyloom_tests::desktop::Desktop;
use serde_json::json;

const PASSPHRASE: &str = "vivid otter cobalt harbor 71";

fn today_plus(days: i64) -> String {
    let d = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_to_issued_certificate() {
    let app = Desktop::start().await;
    let vault_dir = app.home.path().join("my-vault");

    // First start: no vault yet, so the welcome screen.
    app.find("[data-testid=start-create]").await;
    app.wait_text("body", "Explore a demo").await;
    app.screenshot("01-welcome").await;
    app.click("[data-testid=start-create]").await;
    app.type_into("[data-testid=create-path]", vault_dir.to_str().unwrap()).await;
    app.type_into("[data-testid=create-pass]", "password").await;
    app.wait_text("[data-testid=strength]", "weak").await;
    app.type_into("[data-testid=create-pass]", PASSPHRASE).await;
    app.type_into("[data-testid=create-confirm]", PASSPHRASE).await;
    app.wait_text("[data-testid=strength]", "strong").await;
    app.screenshot("02-create-vault").await;
    app.click("[data-testid=create-submit]").await;

    // The recovery key, shown once; Continue needs the "saved it" confirmation.
    let key = app.wait_text("[data-testid=recovery-key]", "AGE-SECRET-KEY-1").await;
    assert_eq!(key.trim().len(), "AGE-SECRET-KEY-1".len() + 58);
    app.screenshot("03-recovery-key").await;
    assert!(!app.find("[data-testid=recovery-done]").await.is_enabled().await.unwrap());
    app.click("[data-testid=recovery-saved]").await;
    app.click("[data-testid=recovery-done]").await;
    assert!(vault_dir.join("db").is_dir(), "the vault was created where the user said");

    // Lock from the sidebar: the unlock screen, and nothing but status/unlock/create answers.
    app.wait_text("[data-testid=count]", "0 services").await;
    app.click("[data-testid=lock]").await;
    app.find("[data-testid=unlock-pass]").await;
    let refused = app.invoke_raw("services_list").await.expect_err("services_list must be refused while locked");
    assert_eq!(refused["code"], "locked", "{refused}");
    let refused = app.invoke_raw("credential_reveal").await.expect_err("reveal must be refused while locked");
    assert_eq!(refused["code"], "locked", "{refused}");
    let status = app.invoke_raw("app_status").await.expect("app_status works while locked");
    assert_eq!(status["unlocked"], false);

    // Wrong passphrase, then the right one.
    app.type_into("[data-testid=unlock-pass]", "not the passphrase").await;
    app.click("[data-testid=unlock-submit]").await;
    app.wait_text("[data-testid=error]", "Wrong passphrase").await;
    app.screenshot("04-unlock-wrong-passphrase").await;
    app.type_into("[data-testid=unlock-pass]", PASSPHRASE).await;
    app.click("[data-testid=unlock-submit]").await;

    // A service.
    app.click("[data-testid=new-service]").await;
    app.type_into("[data-testid=service-name]", "payments").await;
    app.type_into("[data-testid=service-env]", "prod").await;
    app.click("[data-testid=service-save]").await;
    app.wait_text("[data-testid=service-detail]", "payments").await;
    app.wait_text("[data-testid=count]", "1 service").await;
    app.screenshot("05-services").await;

    // A credential: typed, masked until revealed, copied from Rust.
    app.click("[data-testid=nav-credentials]").await;
    app.click("[data-testid=new-credential]").await;
    app.type_into("[data-testid=credential-service]", "payments").await;
    app.type_into("[data-testid=credential-name]", "DB_PASSWORD").await;
    app.click("[data-testid=credential-mode-type]").await;
    app.type_into("[data-testid=credential-value]", "s3cr3t-Value-42").await;
    app.click("[data-testid=credential-save]").await;
    let masked = app.wait_text("[data-testid=secret-value]", "•").await;
    assert!(!masked.contains("s3cr3t"));
    app.click("[data-testid=reveal]").await;
    app.wait_text("[data-testid=secret-value]", "s3cr3t-Value-42").await;
    app.click("[data-testid=copy]").await;
    app.wait_text("[data-testid=copy-countdown]", "cleared in").await;
    assert_eq!(app.clipboard(), "s3cr3t-Value-42", "the clipboard holds the value Rust put there");
    // A copy is audited as a copy, not as a reveal.
    let log = app.invoke_raw("audit_list").await.expect("audit_list");
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"secret.copy"), "{actions:?}");
    app.screenshot("06-credentials").await;
    // The shown value cannot be selected (no PRIMARY selection, no Ctrl+C), and it hides when the
    // window goes to the background.
    let select = app
        .client
        .execute(
            "const s = getComputedStyle(document.querySelector('[data-testid=secret-value]')); \
             return s.userSelect || s.webkitUserSelect;",
            vec![],
        )
        .await
        .expect("computed style");
    assert_eq!(select, "none");
    app.client.execute("window.dispatchEvent(new Event('blur'));", vec![]).await.expect("blur");
    let masked = app.wait_text("[data-testid=secret-value]", "•").await;
    assert!(!masked.contains("s3cr3t"));

    // A root CA.
    app.click("[data-testid=nav-authorities]").await;
    app.click("[data-testid=new-ca]").await;
    app.type_into("[data-testid=ca-name]", "corp-root").await;
    app.click("[data-testid=ca-save]").await;
    app.wait_text("[data-testid=count]", "1 authority").await;
    app.screenshot("07-authorities").await;

    // A certificate for the service, listed with its expiry.
    app.click("[data-testid=nav-certificates]").await;
    app.click("[data-testid=issue-cert]").await;
    app.type_into("[data-testid=issue-service]", "payments").await;
    app.wait_text("[data-testid=issue-ca]", "corp-root").await;
    app.type_into("[data-testid=issue-dns]", "payments.corp.example").await;
    app.click("[data-testid=issue-submit]").await;
    app.wait_text("[data-testid=cert-detail]", "payments.corp.example").await;
    app.wait_text("[data-testid=count]", "1 certificate").await;
    app.wait_text("[data-testid=cert-expiry]", &today_plus(90)).await;
    app.wait_text("[data-testid=cert-detail]", "90 d left").await;

    // Leak scan of the IPC surface: no answer but the explicit reveal carries the value.
    let scanned = [
        ("app_status", json!({})),
        ("services_list", json!({})),
        ("service_detail", json!({"name": "payments"})),
        ("credentials_list", json!({})),
        ("credential_history", json!({"service": "payments", "name": "DB_PASSWORD"})),
        ("certs_list", json!({})),
        ("cas_list", json!({})),
        ("findings_list", json!({})),
        ("graph_view", json!({"query": {"environment": null, "service": null, "depth": null, "all_mtls_pairs": true}})),
        ("audit_list", json!({})),
        (
            "export_preview",
            json!({"args": {"services": ["payments"], "environment": null, "format": "dir", "recipients": [], "namespace": null, "secrets_only": false}}),
        ),
    ];
    for (command, args) in scanned {
        let answer = app.invoke_with(command, args).await;
        let text = format!("{answer:?}");
        assert!(answer.is_ok(), "{command} failed: {text}");
        assert!(!text.contains("s3cr3t-Value-42"), "{command} leaked the credential value");
        assert!(!text.contains(PASSPHRASE), "{command} leaked the passphrase");
        assert!(!text.contains("PRIVATE KEY"), "{command} leaked a private key");
    }
    let revealed = app
        .invoke_with("credential_reveal", json!({"service": "payments", "name": "DB_PASSWORD", "version": null}))
        .await;
    assert_eq!(revealed.unwrap()["value"], "s3cr3t-Value-42", "the one command that may carry it does");
    app.screenshot("08-certificates").await;

    // "Remember on this device" (a real Secret Service on the app's bus), then Ctrl+L locks: the
    // value is gone from the window and the clipboard, and the device key no longer unlocks.
    app.start_keyring();
    app.click("[data-testid=nav-settings]").await;
    app.wait_text("[data-testid=settings]", "Settings").await;
    app.type_into("[data-testid=current-passphrase]", PASSPHRASE).await;
    app.click("[data-testid=device-toggle]").await;
    app.wait_text("[data-testid=device-toggle]", "Forget this device").await;
    app.screenshot("09-settings").await;
    app.find("body").await.send_keys("\u{E009}l").await.expect("Ctrl+L");
    app.find("[data-testid=unlock-pass]").await;
    let device_buttons = app.client.find_all(fantoccini::Locator::Css("[data-testid=device-unlock]")).await.unwrap();
    assert!(device_buttons.is_empty(), "after a lock the device button is gone");
    let status = app.invoke_raw("app_status").await.expect("status");
    assert_eq!((status["device_slot"].as_bool(), status["device_unlock"].as_bool()), (Some(true), Some(false)));
    let refused = app
        .invoke_with("vault_unlock", json!({"args": {"passphrase": null, "remember": false, "key_file": null}}))
        .await
        .expect_err("the device key must not unlock after a lock");
    assert!(refused["message"].as_str().unwrap_or_default().contains("passphrase is needed"), "{refused}");
    let page = app.client.source().await.expect("page source");
    assert!(!page.contains("s3cr3t-Value-42"), "a revealed value survived locking");
    assert_ne!(app.clipboard(), "s3cr3t-Value-42", "locking must take the copied value back");
    app.screenshot("10-locked").await;

    app.client.clone().close().await.expect("close session");
}

/// A vault made with `keyloom init --key-file`: the unlock screen asks for the file, a wrong file
/// is refused, and remembering this device warns that it bypasses both factors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_unlock_and_the_device_bypass_warning() {
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key.path(), b"the second factor").unwrap();
    let app = Desktop::start_after(&["init", "--scrypt-log-n", "14", "--key-file", key.path().to_str().unwrap()]).await;
    app.wait_text("body", "Key file (this vault needs it)").await;
    app.type_into("[data-testid=unlock-pass]", keyloom_tests::PASSPHRASE).await;
    assert!(!app.find("[data-testid=unlock-submit]").await.is_enabled().await.unwrap(), "the file is needed");
    let wrong = app.home.path().join("wrong.key");
    std::fs::write(&wrong, b"not it").unwrap();
    app.type_into("[data-testid=unlock-key-file]", wrong.to_str().unwrap()).await;
    app.click("[data-testid=unlock-submit]").await;
    app.wait_text("[data-testid=error]", "Wrong passphrase or key file").await;
    app.screenshot("20-unlock-two-factor").await;
    app.type_into("[data-testid=unlock-pass]", keyloom_tests::PASSPHRASE).await;
    app.type_into("[data-testid=unlock-key-file]", key.path().to_str().unwrap()).await;
    app.click("[data-testid=unlock-submit]").await;
    app.find("[data-testid=nav-settings]").await;
    app.start_keyring();
    app.click("[data-testid=nav-settings]").await;
    app.type_into("[data-testid=current-passphrase]", keyloom_tests::PASSPHRASE).await;
    app.type_into("[data-testid=settings-key-file]", key.path().to_str().unwrap()).await;
    app.click("[data-testid=device-toggle]").await;
    app.wait_text("[data-testid=device-bypass]", "bypasses both factors").await;
    app.screenshot("21-settings-device-bypasses-two-factor").await;
    app.client.clone().close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_estate_is_labelled_searchable_and_virtualised() {
    let app = Desktop::start().await;
    app.click("[data-testid=start-demo]").await;
    app.wait_text("[data-testid=demo-banner]", "DEMO VAULT").await;
    // Created unlocked: the 300-service estate, with only a screenful of rows in the page.
    app.wait_text("[data-testid=count]", "300 services").await;
    let rows = app.client.find_all(fantoccini::Locator::Css(".vrow")).await.expect("rows");
    assert!(!rows.is_empty() && rows.len() < 60, "{} rows rendered for 300 services", rows.len());
    app.type_into("[data-testid=search]", "payments prod").await;
    let label = app.wait_text("[data-testid=count]", " of 300 services").await;
    let shown: usize = label.split_whitespace().next().unwrap().replace(',', "").parse().unwrap();
    assert!(shown > 0 && shown < 300, "{label}");
    app.screenshot("11-demo-services").await;
    app.click("[data-testid=nav-certificates]").await;
    app.find("[data-testid=cert-expiry]").await;
    app.screenshot("12-demo-certificates").await;

    // Only one instance: a second start hands over to this one and exits.
    let second = app.start_second_instance(std::time::Duration::from_secs(15));
    assert!(second.is_some_and(|s| s.success()), "a second instance kept running or failed: {second:?}");
    app.find("[data-testid=demo-banner]").await;
    app.client.clone().close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_evidence_export_and_audit() {
    let app = Desktop::start_with_demo(12).await;
    app.unlock().await;

    // The trust graph: drawn, then filtered to one environment.
    app.click("[data-testid=nav-graph]").await;
    let ms = app.graph_drawn_ms(None).await;
    eprintln!("trust graph, 12 services: open to laid out in {ms} ms");
    app.screenshot("13-graph-12-services").await;
    app.select("[data-testid=graph-env]", "prod").await;
    app.graph_drawn_ms(Some(&ms.to_string())).await;
    // The slice comes from vault_data: only prod services are drawn, and the legend still lists
    // every environment in its colour.
    let legend = app.wait_text("[data-testid=graph-legend-envs]", "prod").await;
    assert!(legend.contains("staging"), "the legend keeps the other environments: {legend}");
    app.screenshot("13b-graph-prod-only").await;

    // An over-trust finding, opened from the graph's findings list, shows its edge's evidence.
    app.click("[data-testid=graph-tab-findings]").await;
    app.click("[data-testid=graph-finding-over_trust]").await;
    let evidence = app.wait_text("[data-testid=edge-evidence]", "accepts clients from").await;
    let prod: Vec<&str> =
        ["catalog", "checkout", "gateway", "inventory", "notifications", "orders", "payments", "search"].into();
    let first_line = evidence.lines().next().unwrap_or_default().to_string();
    assert!(prod.iter().any(|s| first_line.starts_with(s)), "the finding belongs to the prod view: {first_line}");
    assert!(evidence.contains(" via ") && evidence.contains("intends"), "{evidence}");
    assert!(evidence.contains("Fix:"), "{evidence}");
    app.screenshot("14-graph-over-trust-evidence").await;

    // An intent declared from the graph (the service found by name), then undone.
    let intents = |d: serde_json::Value| -> Vec<String> {
        d["intents"].as_array().unwrap().iter().map(|i| format!("{}>{}", i["from"], i["to"])).collect()
    };
    let before = intents(app.invoke_with("service_detail", json!({"name": "catalog"})).await.unwrap());
    app.type_into("[aria-label='Find a service']", "catalog").await;
    app.find("[aria-label='Find a service']").await.send_keys("\u{E007}").await.expect("Enter");
    app.wait_text("[data-testid=node-detail]", "catalog").await;
    let pair = |t: &str| format!("\"catalog\">\"{t}\"");
    let target = ["search", "orders", "gateway", "inventory"].into_iter().find(|t| !before.contains(&pair(t))).unwrap();
    app.select("[data-testid=graph-intent-to]", target).await;
    app.click("[data-testid=graph-intent-add]").await;
    app.wait_text("[data-testid=graph-notice]", &format!("Declared catalog → {target}")).await;
    let after = intents(app.invoke_with("service_detail", json!({"name": "catalog"})).await.unwrap());
    assert!(after.contains(&pair(target)), "{after:?}");
    app.click("[data-testid=graph-undo]").await;
    let start = std::time::Instant::now();
    while intents(app.invoke_with("service_detail", json!({"name": "catalog"})).await.unwrap()) != before {
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "undo did not withdraw the intent");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Findings view.
    app.click("[data-testid=nav-findings]").await;
    app.find(".vrow").await;
    app.wait_text("body", "over trust").await;
    app.screenshot("15-findings").await;

    // Export every prod service as directories, preview first, then verify one bundle in the app
    // and with the CLI.
    let dest = app.home.path().join("bundles");
    app.click("[data-testid=nav-export]").await;
    for service in ["payments", "checkout"] {
        app.type_into("[data-testid=export-search]", service).await;
        app.click(&format!("[data-testid=export-pick-{service}]")).await;
    }
    app.click("[data-testid=export-preview]").await;
    let preview = app.wait_text("body", "Preview: what will leave the vault").await;
    assert!(preview.contains("0600"), "keys and secrets are listed with their 0600 mode: {preview}");
    app.type_into("[data-testid=export-dest]", dest.to_str().unwrap()).await;
    app.click("[data-testid=export-run]").await;
    app.wait_text("[data-testid=export-summary]", "signed").await;
    let key = app.find("[data-testid=export-summary] pre").await.text().await.unwrap();
    app.click("[data-testid=verify-run]").await;
    app.wait_text("[data-testid=verify-result]", "OK:").await;
    app.screenshot("16-export").await;
    // The CLI, given only the public key the app showed, verifies every bundle the app wrote.
    let key_file = app.home.path().join("signing.pub");
    std::fs::write(&key_file, format!("{}\n", key.trim())).unwrap();
    let written: Vec<_> = std::fs::read_dir(&dest).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!written.is_empty());
    for bundle in &written {
        let out = std::process::Command::new(keyloom_tests::keyloom_bin())
            .args(["bundle", "verify"])
            .arg(bundle)
            .arg("--pubkey")
            .arg(&key_file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", bundle.display(), String::from_utf8_lossy(&out.stdout));
    }

    // PKCS#12 from the app too (the same export use case as the CLI's): OpenSSL opens it with
    // the password given in the window.
    let p12_dest = app.home.path().join("p12");
    app.select("[data-testid=export-format]", "p12").await;
    app.type_into("[data-testid=export-p12-password]", "p12 pass from the app").await;
    app.type_into("[data-testid=export-dest]", p12_dest.to_str().unwrap()).await;
    app.click("[data-testid=export-run]").await;
    app.wait_text("[data-testid=export-summary]", "p12").await;
    app.screenshot("16b-export-p12").await;
    let p12 = std::fs::read_dir(&p12_dest).unwrap().map(|e| e.unwrap().path()).next().expect("a .p12 was written");
    let out = std::process::Command::new("openssl")
        .args(["pkcs12", "-noout", "-passin", "pass:p12 pass from the app", "-in"])
        .arg(&p12)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl pkcs12: {}", String::from_utf8_lossy(&out.stderr));

    // The audit chain verifies, and lists the export.
    app.click("[data-testid=nav-audit]").await;
    app.click("[data-testid=audit-verify]").await;
    app.wait_text("[data-testid=audit-report]", "Chain intact").await;
    app.wait_text("body", "export").await;
    app.screenshot("17-audit").await;

    // While the app holds the vault unlocked, the CLI runs through it (the app serves the agent
    // socket), with no passphrase anywhere.
    let cli = |args: &[&str]| {
        std::process::Command::new(keyloom_tests::keyloom_bin())
            .args(args)
            .env("XDG_DATA_HOME", app.home.path().join("data"))
            .env("XDG_RUNTIME_DIR", app.home.path())
            .env_remove("KEYLOOM_PASSPHRASE")
            .env_remove("KEYLOOM_VAULT")
            .output()
            .unwrap()
    };
    let out = cli(&["service", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(12), "{listed}");
    app.click("[data-testid=nav-services]").await;
    app.wait_text("[data-testid=count]", "12 services").await;
    // Locked in the app, the CLI is told to unlock there (exit 2), and gets nothing.
    app.find("body").await.send_keys("\u{E009}l").await.expect("Ctrl+L");
    app.find("[data-testid=unlock-pass]").await;
    let out = cli(&["service", "list"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unlock it in the app"), "{out:?}");
    assert!(out.stdout.is_empty());
    app.client.clone().close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_of_large_estates() {
    for services in [200usize, 2000] {
        let app = Desktop::start_with_demo(services).await;
        app.unlock().await;
        app.click("[data-testid=nav-graph]").await;
        let ms = app.graph_drawn_ms(None).await;
        eprintln!("trust graph, {services} services: open to laid out in {ms} ms");
        app.screenshot(&format!("18-graph-{services}-services")).await;
        if services > 400 {
            // Starts as the overview; every service on demand.
            app.wait_text("[data-testid=graph-canvas]", "Overview of a large estate").await;
            let before = ms.to_string();
            app.click("[data-testid=graph-show-all]").await;
            let all = app.graph_drawn_ms(Some(&before)).await;
            let breakdown = app.find("[data-testid=graph-canvas]").await.attr("data-breakdown").await.unwrap();
            eprintln!("trust graph, {services} services, every service drawn: laid out in {all} ms ({breakdown:?})");
            app.screenshot(&format!("19-graph-{services}-services-all")).await;
        }
        app.client.clone().close().await.expect("close session");
    }
}

/// Everything the CLI changes, the app changes too: trust and intents on the service page (each
/// confirmation names who gains or loses access, each change undoable), a one-click fix and its
/// undo, credential rename, policy and delete. A revealed value never reaches the X PRIMARY
/// selection or the clipboard by selection; a passphrase change without the current passphrase is
/// refused; a failed export is audited as a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_edits_trust_intents_and_credentials_and_keeps_values_inside() {
    let svc = |name: &'static str| -> Vec<&'static str> { vec!["service", "add", name, "--env", "prod"] };
    let issue = |name: &'static str, dns: &'static str| -> Vec<&'static str> {
        vec!["cert", "issue", "--service", name, "--ca", "corp-root", "--dns", dns, "--server", "--client"]
    };
    let setup: Vec<Vec<&str>> = vec![
        vec!["init", "--scrypt-log-n", "14"],
        svc("payments"),
        svc("checkout"),
        svc("billing"),
        svc("reports"),
        vec!["ca", "create", "corp-root"],
        issue("payments", "payments.corp.example"),
        issue("checkout", "checkout.corp.example"),
        issue("billing", "billing.corp.example"),
        issue("reports", "reports.corp.example"),
        vec!["intent", "add", "--from", "checkout", "--to", "payments"],
        vec!["trust", "add", "payments", "--ca", "corp-root", "--inbound"],
        vec!["trust", "add", "checkout", "--ca", "corp-root", "--outbound"],
        vec!["secret", "generate", "payments/API_TOKEN", "--length", "24"],
        vec!["secret", "generate", "payments/DB_PASSWORD", "--length", "24"],
    ];
    let setup: Vec<&[&str]> = setup.iter().map(Vec::as_slice).collect();
    let app = Desktop::start_after_all(&setup).await;
    app.unlock().await;

    // The service page: payments trusts corp-root for its clients; checkout is the one intended.
    app.type_into("[data-testid=search]", "payments").await;
    app.click(".vrow").await;
    app.wait_text("[data-testid=trust-inbound]", "corp-root").await;
    app.wait_text("[data-testid=service-findings]", "intends").await;
    app.click("[data-testid=untrust-inbound-corp-root]").await;
    let confirm = app.wait_text("[data-testid=trust-confirm]", "Intents that stop working: checkout").await;
    assert!(
        confirm.contains("billing") && confirm.contains("reports"),
        "the callers without intent are named: {confirm}"
    );
    app.screenshot("20-service-trust-confirm").await;
    app.click("[data-testid=trust-confirm-yes]").await;
    app.wait_text("[data-testid=undo-notice]", "Removed corp-root").await;
    let findings = app.wait_text("[data-testid=service-findings]", "cannot succeed").await;
    assert!(!findings.contains("intends"), "the over-trust finding went with the trust: {findings}");
    assert!(!app.find("[data-testid=trust-inbound]").await.text().await.unwrap().contains("corp-root"));
    // Undo puts it back, and the broken intent is gone again.
    app.click("[data-testid=undo]").await;
    app.wait_text("[data-testid=trust-inbound]", "corp-root").await;
    let findings = app.wait_text("[data-testid=service-findings]", "intends").await;
    assert!(!findings.contains("cannot succeed"), "{findings}");

    // Outbound trust from the picker, and an intent declared, removed and restored.
    app.select("[data-testid=trust-ca]", "corp-root").await;
    app.select("[data-testid=trust-dir]", "outbound").await;
    app.click("[data-testid=trust-add]").await;
    app.click("[data-testid=trust-confirm-yes]").await;
    app.wait_text("[data-testid=trust-outbound]", "corp-root").await;
    app.select("[data-testid=intent-to]", "billing").await;
    app.click("[data-testid=intent-add]").await;
    app.find("[data-testid=intent-payments-billing]").await;
    app.screenshot("21-service-page").await;
    app.click("[data-testid=intent-remove-payments-billing]").await;
    app.wait_text("[data-testid=undo-notice]", "Removed the intent payments → billing").await;
    assert!(app.client.find(fantoccini::Locator::Css("[data-testid=intent-payments-billing]")).await.is_err());
    app.click("[data-testid=undo]").await;
    app.find("[data-testid=intent-payments-billing]").await;

    // A one-click fix from Findings names who loses access, and can be undone.
    app.click("[data-testid=nav-findings]").await;
    app.type_into("[data-testid=search]", "intends").await;
    app.click(".vrow").await;
    app.click("[data-testid=fix]").await;
    let impact = app.wait_text("[data-testid=fix-impact]", "checkout").await;
    assert!(impact.contains("Intents that stop working"), "{impact}");
    app.screenshot("22-fix-impact").await;
    app.click("[data-testid=fix-confirm]").await;
    app.wait_text("[data-testid=fix-done]", "done").await;
    let trust = app.invoke_with("service_detail", json!({"name": "payments"})).await.unwrap();
    assert_eq!(trust["trust"]["inbound"], json!([]), "the fix removed the trust");
    app.click("[data-testid=undo]").await;
    let start = std::time::Instant::now();
    loop {
        let d = app.invoke_with("service_detail", json!({"name": "payments"})).await.unwrap();
        if d["trust"]["inbound"] == json!(["corp-root"]) {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "undo did not restore the trust: {d}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Credentials: a revealed value cannot be selected into PRIMARY or copied by selection. The
    // same double-click on the title does select (so the check can fail).
    app.click("[data-testid=nav-credentials]").await;
    app.type_into("[data-testid=search]", "API_TOKEN").await;
    app.click(".vrow").await;
    app.click("[data-testid=reveal]").await;
    app.wait_text("[data-testid=reveal-countdown]", "hidden in").await;
    let value = app
        .invoke_with("credential_reveal", json!({"service": "payments", "name": "API_TOKEN", "version": null}))
        .await
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = app.wait_text("[data-testid=secret-value]", &value).await;
    assert_eq!(shown.trim(), value);
    app.double_click("[data-testid=secret-value]").await;
    app.find("body").await.send_keys("\u{E009}c").await.expect("Ctrl+C");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!app.primary().contains(&value), "the revealed value reached PRIMARY");
    assert!(!app.clipboard().contains(&value), "the revealed value reached the clipboard by selection");
    app.double_click("[data-testid=credential-detail] h2").await;
    let start = std::time::Instant::now();
    loop {
        let p = app.primary();
        if !p.trim().is_empty() && "payments/API_TOKEN".contains(p.trim()) {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "a double-click never selected the title: {p:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A value of several lines typed into the form cannot be selected into PRIMARY either.
    app.click("[data-testid=new-credential]").await;
    app.type_into("[data-testid=credential-service]", "payments").await;
    app.type_into("[data-testid=credential-name]", "SERVICE_KEY").await;
    app.click("[data-testid=credential-mode-type]").await;
    app.click("[data-testid=credential-multiline]").await;
    // Typed line by line, Enter between (WebDriver's key for it is U+E007).
    let field = app.find("[data-testid=credential-value]").await;
    field.send_keys("-----BEGIN KEY-----\u{E007}MultiLineSecretBody42\u{E007}-----END KEY-----").await.expect("type");
    let start = std::time::Instant::now();
    while !field.prop("value").await.ok().flatten().unwrap_or_default().ends_with("END KEY-----") {
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "the text area never held the typed lines");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.double_click("[data-testid=credential-value]").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!app.primary().contains("MultiLineSecretBody42"), "a typed value reached PRIMARY");
    app.click("[data-testid=credential-save]").await;
    app.wait_text("[data-testid=credential-detail]", "payments/SERVICE_KEY").await;
    let typed = app
        .invoke_with("credential_reveal", json!({"service": "payments", "name": "SERVICE_KEY", "version": null}))
        .await
        .unwrap();
    assert_eq!(typed["value"], "-----BEGIN KEY-----\nMultiLineSecretBody42\n-----END KEY-----", "kept with its lines");
    app.type_into("[data-testid=search]", "API_TOKEN").await;
    app.click(".vrow").await;

    // Rename, policy and delete.
    app.click("[data-testid=credential-edit]").await;
    app.type_into("[data-testid=credential-edit-name]", "STRIPE_TOKEN").await;
    app.type_into("[data-testid=credential-edit-target]", "stripe").await;
    app.type_into("[data-testid=credential-edit-rotate]", "30").await;
    app.click("[data-testid=credential-edit-save]").await;
    app.wait_text("[data-testid=credential-detail]", "payments/STRIPE_TOKEN").await;
    app.wait_text("[data-testid=credential-detail]", "every 30 days").await;
    app.screenshot("23-credential-edited").await;
    app.click("[data-testid=credential-remove]").await;
    app.click("[data-testid=credential-remove-yes]").await;
    let start = std::time::Instant::now();
    loop {
        let listed = app.invoke_raw("credentials_list").await.unwrap();
        let names: Vec<String> =
            listed.as_array().unwrap().iter().filter_map(|c| c["name"].as_str().map(String::from)).collect();
        if names == ["DB_PASSWORD", "SERVICE_KEY"] {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "the credential was not deleted: {names:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = app.invoke_raw("audit_list").await.unwrap();
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for a in
        ["secret.rename", "secret.policy", "secret.remove", "trust.remove", "trust.add", "intent.add", "intent.remove"]
    {
        assert!(actions.contains(&a), "{a} missing from the audit log: {actions:?}");
    }

    // Changing the passphrase needs the current one: a wrong one is refused.
    app.click("[data-testid=nav-settings]").await;
    app.type_into("[data-testid=current-passphrase]", "not the passphrase at all").await;
    app.type_into("[data-testid=new-passphrase]", "a brand new passphrase for keyloom 2027").await;
    app.type_into("[data-testid=new-passphrase-again]", "a brand new passphrase for keyloom 2027").await;
    // The button waits for the strength verdict (computed in Rust as you type).
    let button = app.find("[data-testid=change-passphrase]").await;
    let start = std::time::Instant::now();
    while !button.is_enabled().await.unwrap_or(false) {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "Change passphrase never became enabled");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    button.click().await.expect("click Change passphrase");
    app.wait_text("[data-testid=settings-error]", "rong").await;
    let refused = app
        .invoke_with(
            "passphrase_change",
            json!({"current": "", "passphrase": "x y z w v u t s", "confirm": "x y z w v u t s", "keyFile": null}),
        )
        .await
        .expect_err("no current passphrase, no change");
    assert!(refused["code"].is_string(), "{refused}");

    // An export that fails (something not Keyloom's is already at the output) is audited as a
    // failure, and the app says to choose another folder.
    let dest = app.home.path().join("bundles");
    std::fs::create_dir_all(dest.join("payments")).unwrap();
    std::fs::write(dest.join("payments").join("notes.txt"), b"mine").unwrap();
    app.click("[data-testid=nav-export]").await;
    app.type_into("[data-testid=export-search]", "payments").await;
    app.click("[data-testid=export-pick-payments]").await;
    app.type_into("[data-testid=export-dest]", dest.to_str().unwrap()).await;
    app.click("[data-testid=export-run]").await;
    let err = app.wait_text("[data-testid=error]", "will not replace").await;
    assert!(err.contains("Choose another folder") && !err.contains("--force"), "{err}");
    app.screenshot("24-export-refused").await;
    assert_eq!(std::fs::read(dest.join("payments").join("notes.txt")).unwrap(), b"mine");
    let log = app.invoke_raw("audit_list").await.unwrap();
    let export = log.as_array().unwrap().iter().find(|e| e["action"] == "export").expect("the export is audited");
    assert_eq!(export["outcome"], "failure", "{export}");
    app.client.clone().close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remotes_view_adds_a_server_syncs_and_settles_a_conflict_side_by_side() {
    let bao = keyloom_tests::bao::Bao::start("e2e-root-token-5d2c");
    let token_file = bao.token_file();
    // Synced once from the CLI, then changed on both sides: a conflict waits for the app.
    let app = Desktop::start_after_all(&[
        &["init", "--scrypt-log-n", "14"],
        &["service", "add", "payments", "--env", "prod"],
        &["secret", "generate", "payments/API_TOKEN", "--length", "24"],
        &["secret", "generate", "payments/DB_PASSWORD", "--length", "24"],
        &["remote", "add", "team", "--addr", &bao.addr, "--insecure-http", "--token-file", &token_file],
        &["push", "team"],
        &["secret", "generate", "payments/API_TOKEN", "--length", "24"],
    ])
    .await;
    bao.ok(&["kv", "patch", "secret/keyloom/prod/payments", "API_TOKEN=theirs-value-e2e", "WEBHOOK=whsec_e2e"]);
    app.unlock().await;
    app.click("[data-testid=nav-remotes]").await;

    // Adding a second remote from the form: the token typed once, status asked of the server.
    app.click("[data-testid=remote-new]").await;
    app.type_into("[data-testid=remote-name]", "team-two").await;
    let addr = app.find("[data-testid=remote-addr]").await;
    addr.clear().await.unwrap();
    addr.send_keys(&bao.addr).await.unwrap();
    app.type_into("[data-testid=remote-token]", &bao.token).await;
    app.click("[data-testid=remote-insecure]").await;
    app.click("[data-testid=remote-save]").await;
    app.wait_text("[data-testid=remote-status]", "unsealed").await;

    // Sync with `team`: the patch's new field arrives, the field changed on both sides is a conflict.
    app.click(".vrow").await;
    app.wait_text("[data-testid=remote-status]", "unsealed").await;
    app.click("[data-testid=remote-sync]").await;
    app.wait_text("[data-testid=sync-report]", "1 conflict(s)").await;
    let conflicts = app.wait_text("[data-testid=conflicts]", "payments/API_TOKEN").await;
    assert!(conflicts.contains("Yours") && conflicts.contains("Theirs"), "{conflicts}");
    // Theirs revealed on request; ours stays masked.
    app.click("[data-testid=conflicts] .side:nth-child(2) button.link").await;
    app.wait_text("[data-testid=conflicts]", "theirs-value-e2e").await;
    app.screenshot("30-remotes-conflict").await;
    app.click("[data-testid=keep-remote]").await;
    // Gone from the list, and the service page says it is in sync.
    for _ in 0..50 {
        if app.client.find_all(fantoccini::Locator::Css("[data-testid=conflicts]")).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(app.client.find_all(fantoccini::Locator::Css("[data-testid=conflicts]")).await.unwrap().is_empty());
    app.click("[data-testid=nav-services]").await;
    app.type_into("[data-testid=search]", "payments").await;
    app.click(".vrow").await;
    app.wait_text("[data-testid=service-sync]", "in sync").await;
    app.screenshot("31-service-sync-state").await;
    // The server still holds its value, and the pulled field arrived here.
    assert_eq!(bao.kv_get("secret/keyloom/prod/payments").0["API_TOKEN"], "theirs-value-e2e");
    let creds = app.invoke_raw("credentials_list").await.unwrap();
    assert!(creds.as_array().unwrap().iter().any(|c| c["name"] == "WEBHOOK"), "{creds}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_remote_shows_this_vaults_keys_pins_a_member_and_removing_one_flags_rotation() {
    let bao = keyloom_tests::bao::Bao::start("e2e-root-token-7a1f");
    // A teammate's vault, for the recipient and signing key the form pins.
    let teammate = keyloom_tests::TestVault::init();
    let token_file = teammate.root.path().join("token");
    std::fs::write(&token_file, &bao.token).unwrap();
    let tf = token_file.to_string_lossy().into_owned();
    teammate.ok(&["remote", "add", "team", "--addr", &bao.addr, "--insecure-http", "--token-file", &tf, "--sealed"]);
    let theirs = teammate.json(&["remote", "identity", "team"]);
    let app = Desktop::start_after_all(&[
        &["init", "--scrypt-log-n", "14"],
        &["service", "add", "payments", "--env", "prod"],
        &["secret", "generate", "payments/API_TOKEN", "--length", "24"],
    ])
    .await;
    app.unlock().await;
    app.click("[data-testid=nav-remotes]").await;
    app.click("[data-testid=remote-new]").await;
    app.type_into("[data-testid=remote-name]", "team").await;
    let addr = app.find("[data-testid=remote-addr]").await;
    addr.clear().await.unwrap();
    addr.send_keys(&bao.addr).await.unwrap();
    app.type_into("[data-testid=remote-token]", &bao.token).await;
    app.click("[data-testid=remote-insecure]").await;
    app.click("[data-testid=remote-sealed-check]").await;
    app.click("[data-testid=remote-save]").await;
    app.wait_text("[data-testid=remote-sealed]", "the server holds only ciphertext").await;
    app.wait_text("[data-testid=seal-recipient]", "age1").await;

    app.type_into("input[aria-label='Member name']", "bob").await;
    app.type_into("input[aria-label='Member recipient']", theirs["recipient"].as_str().unwrap()).await;
    app.type_into("input[aria-label='Member signing key']", theirs["signing_key"].as_str().unwrap()).await;
    app.click(".member-form button").await;
    app.wait_text("[data-testid=seal-members]", "bob reads and signs").await;
    app.click("[data-testid=remote-push]").await;
    app.wait_text("[data-testid=sync-report]", "1 changed").await;
    let raw = bao.ok(&["kv", "get", "-format=json", "secret/keyloom/prod/payments"]);
    assert!(raw.contains("keyloom_sealed"), "{raw}");
    // The teammate pins this vault (the keys the page shows) and reads it with their own identity.
    let mine = app.invoke_with("remote_identity", json!({ "name": "team" })).await.unwrap();
    let shown = app.wait_text("[data-testid=seal-recipient]", "age1").await;
    assert_eq!(shown.trim(), mine["recipient"].as_str().unwrap());
    teammate.ok(&[
        "remote",
        "member",
        "add",
        "team",
        "desk",
        "--recipient",
        mine["recipient"].as_str().unwrap(),
        "--signing-key",
        mine["signing_key"].as_str().unwrap(),
    ]);
    let pulled = teammate.json(&["pull", "team"]);
    assert_eq!(pulled["failures"], json!([]), "{pulled}");
    assert_eq!(teammate.ok(&["secret", "get", "payments/API_TOKEN", "-n"]).len(), 24);
    app.screenshot("32-remotes-sealed-members").await;

    app.click("[data-testid=seal-members] button").await;
    app.wait_text("[data-testid=seal-rotate]", "payments/API_TOKEN").await;
    app.screenshot("33-remotes-member-removed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_trust_is_drawn_in_the_graph_explained_and_listed_on_the_service_page() {
    let app = Desktop::start_after_all(&[
        &["init", "--scrypt-log-n", "14"],
        &["service", "add", "auth", "--env", "prod"],
        &["service", "add", "checkout", "--env", "prod"],
        &["service", "add", "payments", "--env", "prod"],
        &["service", "add", "billing", "--env", "prod"],
        &["token-key", "create", "--service", "auth", "--alg", "ES256"],
        &["token", "client", "add", "checkout", "--issuer", "auth", "--audience", "payments"],
        &["token", "trust", "add", "payments", "--issuer", "auth", "--audience", "payments"],
        &["token", "trust", "add", "billing", "--issuer", "auth", "--audience", "payments"],
        &["intent", "add", "--from", "checkout", "--to", "payments"],
        &["ca", "create", "corp-root"],
        &[
            "cert",
            "issue",
            "--service",
            "payments",
            "--ca",
            "corp-root",
            "--dns",
            "payments.prod.corp.example",
            "--server",
        ],
    ])
    .await;
    app.unlock().await;
    let query = json!({ "query": { "environment": null, "service": null, "depth": null, "tag": null,
        "finding_kind": null, "all_mtls_pairs": false } });
    let g = app.invoke_with("graph_view", query).await.unwrap();
    let tokens: Vec<&serde_json::Value> =
        g["edges"].as_array().unwrap().iter().filter(|e| e["kind"] == "token").collect();
    assert_eq!(tokens.len(), 2, "checkout → payments and checkout → billing: {tokens:?}");
    assert_eq!(tokens[0]["evidence"]["paths"][0]["issuer"], "auth");
    app.click("[data-testid=nav-graph]").await;
    app.graph_drawn_ms(None).await;
    app.screenshot("34-graph-token-edges").await;
    // The unjustified token trust is a finding, shown with its edge.
    app.click("[data-testid=graph-tab-findings]").await;
    app.wait_text("body", "billing accepts tokens from auth").await;
    app.screenshot("35-graph-token-finding").await;

    app.click("[data-testid=nav-services]").await;
    app.type_into("[data-testid=search]", "payments").await;
    app.click(".vrow").await;
    let tokens = app.wait_text("[data-testid=service-tokens]", "accepts tokens from auth").await;
    assert!(tokens.contains("audience payments"), "{tokens}");
    let pins = app.invoke_with("service_detail", json!({ "name": "payments" })).await.unwrap()["pins"].clone();
    let shown = app.wait_text("[data-testid=service-pins]", "Next").await;
    assert!(
        shown.contains(pins["current"].as_str().unwrap()) && shown.contains(pins["next"].as_str().unwrap()),
        "{shown}"
    );
    app.screenshot("36-service-tokens").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_ca_is_listed_with_the_mount_that_holds_its_key() {
    let bao = keyloom_tests::bao::Bao::start("e2e-root-token-3c9e");
    bao.setup_pki("corp.example");
    let token_file = bao.token_file();
    let app = Desktop::start_after_all(&[
        &["init", "--scrypt-log-n", "14"],
        &["service", "add", "payments", "--env", "prod"],
        &["remote", "add", "team", "--addr", &bao.addr, "--insecure-http", "--token-file", &token_file],
        &["ca", "link", "prod-issuing-bao", "--remote", "team", "--pki-mount", "pki_int", "--role", "services"],
        &["cert", "issue", "--service", "payments", "--ca", "prod-issuing-bao", "--dns", "payments.prod.corp.example"],
    ])
    .await;
    app.unlock().await;
    // The first view settles after unlock; then the CA list.
    app.wait_text("[data-testid=count]", "1 service").await;
    app.click("[data-testid=nav-authorities]").await;
    app.wait_text("[data-testid=count]", "2 authorities").await;
    let all = app.wait_text("body", "linked: pki_int on team").await;
    assert!(all.contains("prod-issuing-bao") && all.contains("corp-root"), "the mount's root came with it: {all}");
    app.screenshot("37-linked-ca").await;
}
