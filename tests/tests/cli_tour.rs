//! The README's CLI tour, end to end through the real binary, with the `--json` shapes.

use keyloom_tests::{TestVault, PASSPHRASE};

#[test]
fn tour_of_every_command() {
    let v = TestVault::init();

    // status: the documented shape.
    let st = v.json(&["status"]);
    assert_eq!(st["format_version"], 1);
    assert_eq!(st["vault_id"].as_str().unwrap().len(), 32);
    let kinds: Vec<_> =
        st["slots"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"passphrase".to_string()) && kinds.contains(&"recovery".to_string()));
    assert_eq!(st["counts"]["services"], 0);
    assert_eq!(st["locked"], false);

    // As the README does: an agent holds the vault for the rest of the tour, so every command
    // below runs in it (a client asks the agent before anything else).
    let agent = v.json(&["unlock", "--ttl", "30m"]);
    assert!(agent["agent_pid"].is_u64(), "{agent}");

    // services
    let svc = v.json(&[
        "service",
        "add",
        "payments",
        "--env",
        "prod",
        "--owner",
        "team-pay",
        "--tag",
        "tier=1",
        "--spiffe-id",
        "spiffe://corp.example/payments",
    ]);
    assert_eq!(svc["name"], "payments");
    assert_eq!(svc["environment"], "prod");
    assert_eq!(svc["owner"], "team-pay");
    assert_eq!(svc["tags"]["tier"], "1");
    assert_eq!(svc["spiffe_id"], "spiffe://corp.example/payments");
    v.ok(&["service", "add", "checkout", "--env", "prod"]);
    let err = v.fails(&["service", "add", "checkout", "--env", "prod"], 1);
    assert!(err.contains("service \"checkout\" already exists"), "{err}");
    let list = v.json(&["service", "list"]);
    let names: Vec<_> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["checkout", "payments"]);
    let edited = v.json(&["service", "edit", "checkout", "--owner", "team-shop", "--tag", "tier=2"]);
    assert_eq!(edited["owner"], "team-shop");
    assert_eq!(edited["tags"]["tier"], "2");

    // secrets: value from stdin, one trailing newline dropped.
    let out = v.run_with_stdin(
        &["secret", "set", "payments/STRIPE_KEY", "--target", "stripe-api", "--rotate-days", "90", "--json"],
        b"sk_live_tour_value\n",
    );
    keyloom_tests::assert_success(&out, &["secret", "set"]);
    let set: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(set["current_version"], 1);
    assert_eq!(set["target"], "stripe-api");
    assert!(set["rotation_due"].is_string());
    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY"]), "sk_live_tour_value\n");
    // A second version; history lists both without values.
    let out = v.run_with_stdin(&["secret", "set", "payments/STRIPE_KEY"], b"sk_live_rotated");
    keyloom_tests::assert_success(&out, &["secret", "set"]);
    let hist = v.json(&["secret", "history", "payments/STRIPE_KEY"]);
    let versions = hist["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["version"], 2);
    assert!(versions[0]["created"].is_string());
    assert!(!hist.to_string().contains("sk_live"), "history must not carry values");
    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY", "--version", "1", "-n"]), "sk_live_tour_value");
    assert_eq!(hist["target"], "stripe-api", "policy kept across versions");

    let gen = v.json(&["secret", "generate", "payments/DB_PASSWORD", "--length", "32"]);
    assert_eq!(gen["current_version"], 1);
    let got = v.json(&["secret", "get", "payments/DB_PASSWORD"]);
    let pw = got["value"].as_str().unwrap();
    assert_eq!(pw.len(), 32);
    assert!(pw.chars().all(|c| c.is_ascii_alphanumeric()));

    let list = v.json(&["secret", "list", "payments"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["name"], "STRIPE_KEY");
    assert_eq!(list[1]["versions"], 2);
    assert_eq!(list[1]["rotation_overdue"], false);
    assert!(!serde_json::to_string(list).unwrap().contains(pw), "list must not carry values");

    // bulk import from an env file
    let env_file = v.root.path().join("import.env");
    std::fs::write(&env_file, "API_TOKEN=tok_123\nQUOTED=\"with spaces\"\n").unwrap();
    let imported = v.json(&["secret", "import", "--service", "checkout", env_file.to_str().unwrap()]);
    assert_eq!(imported.as_array().unwrap().len(), 2);
    assert_eq!(v.ok(&["secret", "get", "checkout/QUOTED", "-n"]), "with spaces");

    // unknown names: exit 1, naming them
    let err = v.fails(&["secret", "get", "nosuch/KEY"], 1);
    assert!(err.contains("unknown service \"nosuch\""), "{err}");
    let err = v.fails(&["secret", "get", "payments/NOPE"], 1);
    assert!(err.contains("unknown secret \"payments/NOPE\""), "{err}");

    // intents
    let i = v.json(&["intent", "add", "--from", "checkout", "--to", "payments"]);
    assert_eq!((i["from"].as_str(), i["to"].as_str()), (Some("checkout"), Some("payments")));
    let err = v.fails(&["intent", "add", "--from", "checkout", "--to", "ghost"], 1);
    assert!(err.contains("unknown service \"ghost\""), "{err}");
    assert_eq!(v.json(&["intent", "list"]).as_array().unwrap().len(), 1);

    // removal refused while referenced, naming the references; --force removes them too.
    let err = v.fails(&["service", "remove", "payments"], 1);
    assert!(err.contains("secret payments/DB_PASSWORD"), "{err}");
    assert!(err.contains("secret payments/STRIPE_KEY"), "{err}");
    assert!(err.contains("intent checkout -> payments"), "{err}");
    assert_eq!(v.json(&["service", "list"]).as_array().unwrap().len(), 2, "refused removal changed nothing");
    v.ok(&["intent", "remove", "--from", "checkout", "--to", "payments"]);
    v.ok(&["secret", "remove", "checkout/API_TOKEN"]);
    v.ok(&["service", "remove", "payments", "--force"]);
    assert_eq!(v.json(&["secret", "list"]).as_array().unwrap().len(), 1);

    // audit: every mutation and reveal, newest first, chain verifies, jsonl export.
    let entries = v.json(&["audit", "list"]);
    let actions: Vec<_> =
        entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    for a in [
        "vault.create",
        "service.add",
        "service.update",
        "secret.set",
        "secret.generate",
        "secret.reveal",
        "secret.import",
        "intent.add",
        "intent.remove",
        "secret.remove",
        "service.remove",
    ] {
        assert!(actions.contains(&a.to_string()), "audit has no {a}: {actions:?}");
    }
    assert_eq!(actions[0], "service.remove");
    let reveal = entries.as_array().unwrap().iter().find(|e| e["action"] == "secret.reveal").unwrap();
    assert!(reveal["user"].is_string() && reveal["time"].is_string());
    assert_eq!(reveal["objects"][0]["kind"], "secret");
    assert!(!entries.to_string().contains("sk_live"), "audit entries never carry values");
    let verify = v.json(&["audit", "verify"]);
    assert_eq!(verify["ok"], true);
    let jsonl = v.ok(&["audit", "export", "--format", "jsonl"]);
    assert_eq!(jsonl.lines().count() as u64, verify["entries"].as_u64().unwrap());
    for line in jsonl.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(e["seq"].is_u64());
    }
    // lock ends the agent; the tour's writes are all there when the vault is opened directly.
    assert_eq!(v.json(&["lock"])["locked"], true);
    assert_eq!(v.json(&["service", "list"]).as_array().map(Vec::len), Some(1));
}

#[test]
fn passwd_recover_and_rekey() {
    let v = TestVault::init();
    v.ok(&["service", "add", "db", "--env", "prod"]);
    let out = v.run_with_stdin(&["secret", "set", "db/URL"], b"postgres://u:p@h/db");
    keyloom_tests::assert_success(&out, &["secret set"]);

    // passwd: new from KEYLOOM_NEW_PASSPHRASE; the old one is refused afterwards.
    let mut c = v.cmd(&["passwd", "--scrypt-log-n", "14"]);
    c.env("KEYLOOM_NEW_PASSPHRASE", "a much newer passphrase 42");
    keyloom_tests::assert_success(&c.output().unwrap(), &["passwd"]);
    let err = v.fails(&["secret", "get", "db/URL"], 2);
    assert!(err.contains("wrong passphrase or key"), "{err}");
    let mut c = v.cmd(&["secret", "get", "db/URL", "-n"]);
    c.env("KEYLOOM_PASSPHRASE", "a much newer passphrase 42");
    assert_eq!(c.output().unwrap().stdout, b"postgres://u:p@h/db");

    // A weak floor is refused by the CLI.
    let err = v.fails(&["passwd", "--scrypt-log-n", "8"], 1);
    assert!(err.contains("scrypt work factor 8 is outside 14..=22"), "{err}");

    // A passphrase the policy refuses (zxcvbn score < 2) is refused here as in the desktop app,
    // after the current one is proven, without echoing it; the old passphrase keeps working.
    let mut c = v.cmd(&["passwd", "--scrypt-log-n", "14"]);
    c.env("KEYLOOM_PASSPHRASE", "a much newer passphrase 42").env("KEYLOOM_NEW_PASSPHRASE", "password1");
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("too easy to guess") && !err.contains("password1"), "{err}");
    let mut c = v.cmd(&["secret", "get", "db/URL", "-n"]);
    c.env("KEYLOOM_PASSPHRASE", "a much newer passphrase 42");
    assert_eq!(c.output().unwrap().stdout, b"postgres://u:p@h/db");
    // So is a new vault with one: nothing is created.
    let weak_dir = v.root.path().join("weak");
    let mut c = v.cmd(&["init", "--scrypt-log-n", "14"]);
    c.env("KEYLOOM_VAULT", &weak_dir).env("KEYLOOM_PASSPHRASE", "qwerty123");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!weak_dir.exists(), "a refused init leaves no folder");

    // recover: the recovery key sets a new passphrase without the old one.
    let rk = v.root.path().join("r.txt");
    let np = v.root.path().join("p.txt");
    std::fs::write(&rk, format!("{}\n", v.recovery_key)).unwrap();
    std::fs::write(&np, format!("{PASSPHRASE}\n")).unwrap();
    let recover = || {
        let mut c = v.cmd(&[
            "recover",
            "--recovery-key-file",
            rk.to_str().unwrap(),
            "--new-passphrase-file",
            np.to_str().unwrap(),
            "--scrypt-log-n",
            "14",
        ]);
        c.env_remove("KEYLOOM_PASSPHRASE");
        c.output().unwrap()
    };
    keyloom_tests::assert_success(&recover(), &["recover"]);
    assert_eq!(v.ok(&["secret", "get", "db/URL", "-n"]), "postgres://u:p@h/db");
    // Another vault's recovery key: exit 2; garbage: exit 1 without echoing it.
    std::fs::write(&rk, format!("{}\n", TestVault::init().recovery_key)).unwrap();
    v.fails(
        &["recover", "--recovery-key-file", rk.to_str().unwrap(), "--new-passphrase-file", np.to_str().unwrap()],
        2,
    );
    std::fs::write(&rk, "AGE-SECRET-KEY-1NOTAKEY\n").unwrap();
    let err = v.fails(
        &["recover", "--recovery-key-file", rk.to_str().unwrap(), "--new-passphrase-file", np.to_str().unwrap()],
        1,
    );
    assert!(err.contains("not an age identity") && !err.contains("NOTAKEY"), "{err}");

    // rekey: data still readable, slots from before are dead.
    let old_slots = keyloom_tests::slots_file(&v.path);
    let before = keyloom_tests::data_trees_after_close(&v);
    let r = v.json(&["rekey", "--scrypt-log-n", "14"]);
    assert!(r["records_resealed"].as_u64().unwrap() >= 3);
    let after = keyloom_tests::data_trees_after_close(&v);
    for (tree, key, value) in &before {
        let now = after.iter().find(|(t, k, _)| t == tree && k == key).expect("record kept");
        assert_ne!(&now.2, value, "{tree} record was not resealed");
    }
    assert_eq!(v.ok(&["secret", "get", "db/URL", "-n"]), "postgres://u:p@h/db");
    // The old slots, put back in place of the new ones, open nothing any more.
    let new_slots = keyloom_tests::slots_file(&v.path);
    assert!(keyloom_tests::raw_entries(&v.path, "meta", b"slot/").is_empty(), "no slot is ever kept in sled");
    keyloom_tests::write_slots_file(&v.path, &old_slots);
    let err = v.fails(&["service", "list"], 2);
    assert!(err.contains("wrong passphrase or key"), "{err}");
    keyloom_tests::write_slots_file(&v.path, &new_slots);
    // The recovery key still works (rewrapped to the same recipient).
    std::fs::write(&rk, format!("{}\n", v.recovery_key)).unwrap();
    keyloom_tests::assert_success(&recover(), &["recover after rekey"]);
    assert_eq!(v.json(&["audit", "verify"])["ok"], true);
}

#[test]
fn trace_logging_never_shows_secrets() {
    let v = TestVault::init();
    let run = |args: &[&str], stdin: Option<&[u8]>| {
        let mut c = v.cmd(args);
        c.env("RUST_LOG", "trace");
        match stdin {
            Some(input) => {
                use std::io::Write;
                c.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = c.spawn().unwrap();
                child.stdin.take().unwrap().write_all(input).unwrap();
                child.wait_with_output().unwrap()
            }
            None => c.output().unwrap(),
        }
    };
    let mut stderr = Vec::new();
    for (args, input) in [
        (vec!["service", "add", "svc", "--env", "prod"], None),
        (vec!["secret", "set", "svc/CANARY"], Some(&b"canary-value-7c1e"[..])),
        (vec!["secret", "generate", "svc/GEN"], None),
        (vec!["unlock"], None),
        (vec!["secret", "list"], None),
        (vec!["audit", "list"], None),
        (vec!["doctor"], None),
        (vec!["lock"], None),
    ] {
        let out = run(&args, input);
        keyloom_tests::assert_success(&out, &args);
        stderr.extend_from_slice(&out.stderr);
    }
    let get = run(&["secret", "get", "svc/CANARY"], None);
    stderr.extend_from_slice(&get.stderr);
    // Certificates and exports move keys and values around: none of it may reach a log line.
    let d = v.root.path();
    std::fs::write(d.join("t.tpl"), "x={{ keyloom://svc/CANARY }}\n").unwrap();
    let (bundle, tpl, out) = (d.join("b"), d.join("t.tpl"), d.join("t.out"));
    for args in [
        vec!["ca", "create", "root"],
        vec!["cert", "issue", "--service", "svc", "--ca", "root", "--dns", "svc.example"],
        vec!["export", "svc", "--no-env", "--out", bundle.to_str().unwrap()],
        vec!["inject", "-i", tpl.to_str().unwrap(), "-o", out.to_str().unwrap()],
        vec!["run", "--service", "svc", "--", "true"],
        vec!["findings"],
    ] {
        let out = run(&args, None);
        keyloom_tests::assert_success(&out, &args);
        stderr.extend_from_slice(&out.stderr);
    }
    let key = std::fs::read_to_string(bundle.join("tls/key.pem")).unwrap();
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!String::from_utf8_lossy(&stderr).contains(&key_body[..40]), "private key material in logs");
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(!stderr.contains("canary-value-7c1e"), "secret value in logs");
    assert!(!stderr.contains(PASSPHRASE), "passphrase in logs");
    assert!(!stderr.contains("AGE-SECRET-KEY"), "key material in logs");
    assert!(!stderr.contains(&v.recovery_key));
}

/// Subcommand names listed under "Commands:" in a `--help` page.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn usage_errors_exit_1_on_every_command_and_help_exits_0() {
    let v = TestVault::init();
    // Every command path, found from the binary's own help pages.
    let mut paths: Vec<Vec<String>> = vec![vec![]];
    let mut i = 0;
    while i < paths.len() {
        let mut args: Vec<&str> = paths[i].iter().map(String::as_str).collect();
        args.push("--help");
        let out = v.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        for sub in subcommands(&String::from_utf8_lossy(&out.stdout)) {
            let mut p = paths[i].clone();
            p.push(sub);
            paths.push(p);
        }
        i += 1;
    }
    assert!(paths.len() > 60, "found only {} commands", paths.len());
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--no-such-flag");
        let err = v.fails(&args, 1);
        assert!(err.contains("--no-such-flag"), "{args:?}: {err}");
    }
    // The cases people hit: an unknown flag, a negative duration, a missing required flag or
    // argument, a bad value, no subcommand.
    for args in [
        &["cert", "list", "--all"][..],
        &["unlock", "--ttl", "-5m"],
        &["service", "add", "pay"],
        &["cert", "issue", "--service", "pay"],
        &["graph", "--format", "svg"],
        &["secret", "get", "pay/X", "--version", "two"],
        &["cert", "issue", "--service", "pay", "--ca", "root", "--ip", "not-an-ip"],
        &["cert"],
        &[],
    ] {
        v.fails(args, 1);
    }
    for args in [&["--help"][..], &["--version"], &["help", "cert"], &["cert", "issue", "-h"]] {
        let out = v.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty() && out.stderr.is_empty(), "{args:?}");
    }
}

/// Every name that becomes a path, DNS label or Kubernetes name follows one rule; a refused name
/// gets a clear error (exit 1) and writes nothing.
#[test]
fn unsafe_names_are_refused_and_change_nothing() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    v.ok(&["ca", "create", "root"]);
    let before = keyloom_tests::data_trees(&v.path);
    let long = "a".repeat(64);
    let bad = ["..", ".", "a/b", "../x", ".hidden", " x", "x ", "a\tb", "zürich", "ｐayments", "x-", "a_b", &long, ""];
    for name in bad {
        for args in [
            vec!["service", "add", name, "--env", "prod"],
            vec!["service", "add", "fine", "--env", name],
            vec!["service", "edit", "payments", "--env", name],
            vec!["service", "rename", "payments", name],
            vec!["ca", "create", name],
            vec!["ca", "rename", "root", name],
        ] {
            let err = v.fails(&args, 1);
            assert!(
                err.contains("is not valid") && err.contains("lowercase letters, digits and '-'"),
                "{args:?}: {err}"
            );
        }
    }
    // Unique regardless of case: the error names the one that exists.
    let err = v.fails(&["service", "add", "Payments", "--env", "prod"], 1);
    assert!(err.contains("service \"payments\" already exists"), "{err}");
    let err = v.fails(&["ca", "create", "ROOT"], 1);
    assert!(err.contains("CA \"root\" already exists"), "{err}");
    // Uppercase alone is refused with the lowercase form suggested.
    let err = v.fails(&["service", "add", "Billing", "--env", "prod"], 1);
    assert!(err.contains("uppercase") && err.contains("Try \"billing\""), "{err}");
    // Secret names are portable environment names.
    for name in ["1X", "A-B", "A B", "A.B", "Ä", ".."] {
        let reference = format!("payments/{name}");
        let out = v.run_with_stdin(&["secret", "set", &reference], b"value");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains("environment variable name"), "{name}: {err}");
        let err = v.fails(&["secret", "generate", &reference], 1);
        assert!(err.contains("environment variable name"), "{name}: {err}");
    }
    // One bad name refuses the whole import: the good line is not stored either.
    let file = v.root.path().join("bad-name.env");
    std::fs::write(&file, "GOOD=1\n1X=2\n").unwrap();
    v.fails(&["secret", "import", "--service", "payments", file.to_str().unwrap()], 1);
    assert_eq!(keyloom_tests::data_trees(&v.path), before, "a refused name wrote something");
    assert_eq!(v.json(&["service", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(v.json(&["secret", "list"]).as_array().unwrap().len(), 0);
}

/// `service rename`, `ca rename` and `secret rename` keep the record (its id), so history, audit,
/// trust stores, intents, certificates, bundle history and credential targets follow.
#[test]
fn renames_keep_history_audit_and_references() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    v.ok(&["service", "add", "checkout", "--env", "prod"]);
    v.ok(&["ca", "create", "corp-root"]);
    v.ok(&["trust", "add", "payments", "--ca", "corp-root", "--inbound"]);
    v.ok(&["intent", "add", "--from", "checkout", "--to", "payments"]);
    for value in [&b"first"[..], b"second"] {
        keyloom_tests::assert_success(&v.run_with_stdin(&["secret", "set", "payments/STRIPE_KEY"], value), &["set"]);
    }
    let out = v.run_with_stdin(&["secret", "set", "checkout/PAY_TOKEN", "--target", "payments"], b"tok");
    keyloom_tests::assert_success(&out, &["set"]);
    v.ok(&["cert", "issue", "--service", "payments", "--ca", "corp-root", "--dns", "payments.example"]);
    let out = v.root.path().join("bundle");
    v.ok(&["export", "payments", "--out", out.to_str().unwrap()]);
    let svc_id = v.json(&["service", "show", "payments"])["service"]["id"].as_str().unwrap().to_string();
    let secret_id = v.json(&["secret", "list", "payments"])[0]["id"].as_str().unwrap().to_string();

    let renamed = v.json(&["service", "rename", "payments", "billing"]);
    assert_eq!((renamed["name"].as_str(), renamed["id"].as_str()), (Some("billing"), Some(svc_id.as_str())));
    let err = v.fails(&["service", "show", "payments"], 1);
    assert!(err.contains("unknown service \"payments\""), "{err}");
    let show = v.json(&["service", "show", "billing"]);
    assert_eq!(show["secrets"][0]["name"], "STRIPE_KEY");
    assert_eq!(show["secrets"][0]["versions"], 2);
    assert_eq!(
        (show["intents"][0]["from"].as_str(), show["intents"][0]["to"].as_str()),
        (Some("checkout"), Some("billing"))
    );
    assert_eq!(v.json(&["trust", "list", "billing"])["inbound"][0], "corp-root");
    assert_eq!(v.json(&["secret", "list", "checkout"])[0]["target"], "billing", "the credential target follows");
    let certs = v.json(&["cert", "list"]);
    assert_eq!(certs[0]["service"], "billing");
    assert_eq!(v.json(&["bundle", "history", "billing"]).as_array().unwrap().len(), 1, "bundle history follows");
    // Renaming onto a name in use (in any case) is refused, naming it.
    let err = v.fails(&["service", "rename", "billing", "checkout"], 1);
    assert!(err.contains("service \"checkout\" already exists"), "{err}");

    let ca = v.json(&["ca", "rename", "corp-root", "corp-root-2024"]);
    assert_eq!(ca["name"], "corp-root-2024");
    assert!(ca["certificate"]["subject"].as_str().unwrap().contains("corp-root"), "the subject is unchanged");
    assert_eq!(v.json(&["trust", "list", "billing"])["inbound"][0], "corp-root-2024");
    assert_eq!(v.json(&["cert", "list"])[0]["issuer_ca"], "corp-root-2024");
    v.ok(&["cert", "renew", "billing"]);

    let s = v.json(&["secret", "rename", "billing/STRIPE_KEY", "STRIPE_API_KEY"]);
    assert_eq!(
        (s["name"].as_str(), s["id"].as_str(), s["versions"].as_u64()),
        (Some("STRIPE_API_KEY"), Some(secret_id.as_str()), Some(2))
    );
    assert_eq!(v.ok(&["secret", "get", "billing/STRIPE_API_KEY", "--version", "1", "-n"]), "first");
    assert_eq!(v.json(&["secret", "history", "billing/STRIPE_API_KEY"])["versions"].as_array().unwrap().len(), 2);
    v.fails(&["secret", "get", "billing/STRIPE_KEY"], 1);
    let err = v.fails(&["secret", "rename", "billing/STRIPE_API_KEY", "1X"], 1);
    assert!(err.contains("environment variable name"), "{err}");
    keyloom_tests::assert_success(&v.run_with_stdin(&["secret", "set", "billing/OTHER"], b"x"), &["set"]);
    let err = v.fails(&["secret", "rename", "billing/OTHER", "STRIPE_API_KEY"], 1);
    assert!(err.contains("secret \"billing/STRIPE_API_KEY\" already exists"), "{err}");

    // The audit trail of each record, found by its id, runs from creation through the rename.
    let entries = v.json(&["audit", "list"]);
    let trail = |id: &str| -> Vec<String> {
        let mut t: Vec<String> = entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["objects"].as_array().unwrap().iter().any(|o| o["id"] == id))
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect();
        t.reverse();
        t
    };
    let svc_trail = trail(&svc_id);
    assert_eq!(svc_trail.first().map(String::as_str), Some("service.add"), "{svc_trail:?}");
    assert!(
        svc_trail.contains(&"service.rename".to_string()) && svc_trail.contains(&"export".to_string()),
        "{svc_trail:?}"
    );
    assert_eq!(trail(&secret_id), ["secret.set", "secret.set", "secret.rename", "secret.reveal"]);
    let rename = entries.as_array().unwrap().iter().find(|e| e["action"] == "service.rename").unwrap();
    assert_eq!(rename["detail"], "renamed from \"payments\" to \"billing\"; target of 1 secret(s) updated");
    assert!(entries.as_array().unwrap().iter().any(|e| e["action"] == "ca.rename"));
    assert_eq!(v.json(&["audit", "verify"])["ok"], true);
}

/// The rough edges a new user meets: re-running `trust add` / `intent add`, typos, an unknown
/// environment, shell completions, and a demo made without a passphrase.
#[test]
fn idempotent_adds_suggestions_unknown_environments_completions_and_demo_passphrase() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments-api", "--env", "prod"]);
    v.ok(&["service", "add", "checkout", "--env", "prod"]);
    v.ok(&["ca", "create", "corp-root"]);
    let out = v.run_with_stdin(&["secret", "set", "payments-api/DB_PASSWORD"], b"x");
    keyloom_tests::assert_success(&out, &["secret", "set"]);
    // Adding what is already there succeeds and says so; a wider add adds the rest.
    v.ok(&["trust", "add", "payments-api", "--ca", "corp-root", "--inbound"]);
    let again = v.ok(&["trust", "add", "payments-api", "--ca", "corp-root", "--inbound"]);
    assert!(again.contains("already trusts"), "{again}");
    let both = v.json(&["trust", "add", "payments-api", "--ca", "corp-root", "--both"]);
    assert_eq!((both["inbound"][0].as_str(), both["outbound"][0].as_str()), (Some("corp-root"), Some("corp-root")));
    v.ok(&["trust", "add", "payments-api", "--ca", "corp-root", "--both"]);
    v.ok(&["intent", "add", "--from", "checkout", "--to", "payments-api"]);
    let again = v.ok(&["intent", "add", "--from", "checkout", "--to", "payments-api"]);
    assert!(again.contains("already"), "{again}");
    assert_eq!(v.json(&["intent", "list"]).as_array().unwrap().len(), 1);
    let trust_adds = v.json(&["audit", "list", "--action", "trust.add"]).as_array().unwrap().len();
    assert_eq!(trust_adds, 2, "a repeated add writes nothing");
    // Typos get a suggestion.
    for (args, wanted) in [
        (vec!["service", "show", "payments-apj"], "did you mean \"payments-api\"?"),
        (vec!["trust", "add", "payments-api", "--ca", "corp-rot", "--inbound"], "did you mean \"corp-root\"?"),
        (vec!["secret", "get", "payments-api/DB_PASSWROD"], "did you mean \"payments-api/DB_PASSWORD\"?"),
        (vec!["graph", "--env", "prdo"], "did you mean \"prod\"?"),
        (vec!["cert", "issue", "--ca", "corp-root", "--env", "prdo", "--missing"], "did you mean \"prod\"?"),
        (vec!["export", "--env", "prdo", "--out", "x"], "did you mean \"prod\"?"),
    ] {
        let err = v.fails(&args, 1);
        assert!(err.contains(wanted), "{args:?}: {err}");
    }
    // An unknown environment is an error, not an empty graph.
    let err = v.fails(&["graph", "--env", "nowhere"], 1);
    assert!(err.contains("unknown environment"), "{err}");
    // Completions load in bash and name the subcommands in zsh and fish.
    let script = v.ok(&["completions", "bash"]);
    let out = std::process::Command::new("bash")
        .args(["-c", "source /dev/stdin; complete -p keyloom"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            std::io::Write::write_all(&mut c.stdin.take().unwrap(), script.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("keyloom"), "bash registered the completion");
    for shell in ["zsh", "fish"] {
        assert!(v.ok(&["completions", shell]).contains("blast-radius"), "{shell}");
    }
    // A demo made without a passphrase prints the one it generated, and that one opens it.
    let demo = v.root.path().join("demo");
    let mut c = v.cmd(&["demo", "--services", "3", "--scrypt-log-n", "14"]);
    c.env("KEYLOOM_VAULT", &demo).env_remove("KEYLOOM_PASSPHRASE");
    let out = c.output().unwrap();
    keyloom_tests::assert_success(&out, &["demo"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let pass = text
        .lines()
        .find_map(|l| l.strip_prefix("Passphrase (generated for this demo): "))
        .unwrap_or_else(|| panic!("the demo prints its passphrase: {text}"));
    let mut c = v.cmd(&["service", "list", "--json"]);
    c.env("KEYLOOM_VAULT", &demo).env("KEYLOOM_PASSPHRASE", pass);
    let out = c.output().unwrap();
    keyloom_tests::assert_success(&out, &["service", "list"]);
    let services: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!services.as_array().unwrap().is_empty(), "{services}");
}

/// `secret edit` changes a credential's target and rotation policy without a new version; a
/// target with a newline is refused and changes nothing.
#[test]
fn secret_edit_changes_the_policy_not_the_value() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let out = v.run_with_stdin(&["secret", "set", "payments/STRIPE_KEY", "--target", "stripe"], b"sk_value");
    keyloom_tests::assert_success(&out, &["secret", "set"]);
    let edited = v.json(&["secret", "edit", "payments/STRIPE_KEY", "--rotate-days", "30"]);
    assert_eq!(edited["target"], "stripe", "a field not named keeps its value: {edited}");
    assert_eq!(edited["rotate_days"], 30);
    assert_eq!(edited["versions"], 1, "no new version: {edited}");
    let err = v.fails(&["secret", "edit", "payments/STRIPE_KEY", "--target", "stripe\nadmin"], 1);
    assert!(err.contains("one line"), "{err}");
    let cleared = v.json(&["secret", "edit", "payments/STRIPE_KEY", "--no-target", "--no-rotation"]);
    assert!(cleared["target"].is_null() && cleared["rotate_days"].is_null(), "{cleared}");
    let err = v.fails(&["secret", "edit", "payments/STRIPE_KEY", "--no-target"], 1);
    assert!(err.contains("already has that policy"), "{err}");
    let log = v.json(&["audit", "list"]);
    let policy: Vec<&serde_json::Value> =
        log.as_array().unwrap().iter().filter(|e| e["action"] == "secret.policy").collect();
    assert_eq!(policy.len(), 2, "{log}");
    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY"]).trim(), "sk_value");
}
