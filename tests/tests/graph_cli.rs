//! `graph`, `findings`, `explain`, `blast-radius` and `demo` through the real binary.

use std::process::{Command, Stdio};

use keyloom_tests::TestVault;

#[test]
fn demo_estate_is_deterministic_labelled_and_has_every_finding_kind() {
    let v = TestVault::init();
    let demo = |dir: &str, seed: &str| {
        let path = v.root.path().join(dir);
        let mut c = v.cmd(&["demo", "--services", "40", "--seed", seed, "--scrypt-log-n", "14", "--json"]);
        c.env("KEYLOOM_VAULT", &path);
        let out = c.output().unwrap();
        keyloom_tests::assert_success(&out, &["demo"]);
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (path, summary)
    };
    let (a, sa) = demo("demo-a", "7");
    let (b, sb) = demo("demo-b", "7");
    let (c, _) = demo("demo-c", "8");
    assert_eq!(sa["demo"], true);
    // It says which passphrase opens it, without echoing one the user gave.
    assert!(sa["passphrase_source"].as_str().unwrap().contains("KEYLOOM_PASSPHRASE"), "{sa}");
    assert!(sa["passphrase"].is_null());
    assert_eq!(sa["summary"]["services"], 40);
    assert_eq!(sa["summary"], sb["summary"]);
    let run = |path: &std::path::Path, args: &[&str]| -> serde_json::Value {
        let mut cmd = v.cmd(args);
        cmd.env("KEYLOOM_VAULT", path);
        let out = cmd.output().unwrap();
        keyloom_tests::assert_success(&out, args);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(run(&a, &["status", "--json"])["demo"], true);
    // Every name the demo makes follows the name rule (it renders 40 services: `payments-2` and
    // `PAYMENTS_2_TOKEN` included).
    assert_eq!(run(&a, &["doctor", "--json"])["name_problems"], serde_json::json!([]));
    assert_eq!(run(&v.path, &["status", "--json"])["demo"], false);
    // Same seed, same estate: the same findings (by kind and message; certificate ids are random).
    let shape = |f: &serde_json::Value| -> Vec<(String, String)> {
        let strip = |m: &str| -> String {
            m.split(' ')
                .filter(|w| !(w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit())))
                .collect::<Vec<_>>()
                .join(" ")
        };
        f.as_array()
            .unwrap()
            .iter()
            .map(|x| (x["kind"].as_str().unwrap().to_string(), strip(x["message"].as_str().unwrap())))
            .collect()
    };
    let fa = run(&a, &["findings", "--json"]);
    assert_eq!(shape(&fa), shape(&run(&b, &["findings", "--json"])));
    assert_ne!(shape(&fa), shape(&run(&c, &["findings", "--json"])), "another seed, another estate");
    let kinds: std::collections::BTreeSet<&str> =
        fa.as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    for k in [
        "over_trust",
        "broken_intent",
        "expired",
        "expiring_soon",
        "revoked_current",
        "weak_crypto",
        "cross_environment",
        "stale_credential",
        "unused_ca",
        "blast_radius",
    ] {
        assert!(kinds.contains(k), "the demo has no {k} finding: {kinds:?}");
    }
    // Severity filter: only high.
    let high = run(&a, &["findings", "--severity", "high", "--json"]);
    assert!(high.as_array().unwrap().iter().all(|f| f["severity"] == "high"));
    assert!(!high.as_array().unwrap().is_empty());

    // The graph JSON shape the desktop app draws.
    let g = run(&a, &["graph", "--json"]);
    for key in ["generated", "nodes", "edges", "findings", "mtls_pairs"] {
        assert!(g.get(key).is_some(), "graph JSON has {key}");
    }
    let node = &g["nodes"][0];
    for key in ["id", "kind", "name", "environment", "findings"] {
        assert!(node.get(key).is_some(), "node has {key}: {node}");
    }
    let kinds: std::collections::BTreeSet<&str> =
        g["edges"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in ["issued", "trusts_inbound", "trusts_outbound", "mtls", "credential", "intent"] {
        assert!(kinds.contains(k), "no {k} edge: {kinds:?}");
    }
    let mtls = g["edges"].as_array().unwrap().iter().find(|e| e["kind"] == "mtls").unwrap();
    assert_eq!(mtls["evidence"]["type"], "mtls");
    assert!(mtls["evidence"]["client"]["chain"].as_array().unwrap().len() >= 2);
    assert!(mtls["valid_until"].is_string());

    // A neighbourhood and an environment slice are smaller.
    let prod = run(&a, &["graph", "--env", "prod", "--json"]);
    assert!(prod["nodes"].as_array().unwrap().iter().all(|n| n["kind"] == "ca" || n["environment"] == "prod"));
    let near = run(&a, &["graph", "--service", "payments", "--depth", "1", "--json"]);
    assert!(near["nodes"].as_array().unwrap().len() < g["nodes"].as_array().unwrap().len());

    // explain and blast-radius.
    let e = run(&a, &["explain", "checkout", "payments", "--json"]);
    assert!(e["verdict"].is_string() && e.get("reasons").is_some());
    let b = run(&a, &["blast-radius", "prod-issuing", "--json"]);
    assert!(b["message"].as_str().unwrap().contains("could impersonate"));
    let mut cmd = v.cmd(&["blast-radius", "nope"]);
    cmd.env("KEYLOOM_VAULT", &a);
    assert_eq!(cmd.output().unwrap().status.code(), Some(1));

    // DOT output renders with Graphviz.
    let mut cmd = v.cmd(&["graph", "--format", "dot", "--env", "dev"]);
    cmd.env("KEYLOOM_VAULT", &a);
    let dot = cmd.output().unwrap();
    assert!(dot.status.success());
    let mut render =
        Command::new("dot").arg("-Tsvg").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("graphviz dot");
    std::io::Write::write_all(&mut render.stdin.take().unwrap(), &dot.stdout).unwrap();
    let svg = render.wait_with_output().unwrap();
    assert!(svg.status.success() && String::from_utf8_lossy(&svg.stdout).contains("<svg"));
}

/// Removing a CA from a trust store names what breaks: the intents that stop working and the
/// callers without intent that lose access. `explain` names a cross-environment or over-trusting
/// channel as a concern even when it is intended.
#[test]
fn trust_removal_names_the_callers_it_cuts_off_and_explain_names_concerns() {
    let v = TestVault::init();
    for (name, env) in [("payments", "prod"), ("checkout", "prod"), ("billing", "prod"), ("qa-runner", "staging")] {
        v.ok(&["service", "add", name, "--env", env]);
    }
    v.ok(&["ca", "create", "corp-root"]);
    for name in ["payments", "checkout", "billing", "qa-runner"] {
        let dns = format!("{name}.corp.example");
        v.ok(&["cert", "issue", "--service", name, "--ca", "corp-root", "--dns", &dns, "--server", "--client"]);
    }
    v.ok(&["intent", "add", "--from", "checkout", "--to", "payments"]);
    v.ok(&["intent", "add", "--from", "qa-runner", "--to", "payments"]);
    v.ok(&["trust", "add", "payments", "--ca", "corp-root", "--inbound"]);
    v.ok(&["trust", "add", "qa-runner", "--ca", "corp-root", "--outbound"]);
    v.ok(&["trust", "add", "checkout", "--ca", "corp-root", "--outbound"]);

    let explained = v.json(&["explain", "qa-runner", "payments"]);
    assert_eq!(explained["verdict"], "intended and working, with concerns", "{explained}");
    let concerns = explained["concerns"].to_string();
    assert!(concerns.contains("crosses environments") && concerns.contains("over-trust"), "{concerns}");
    let plain = v.json(&["explain", "checkout", "payments"]);
    assert!(plain["concerns"].to_string().contains("over-trust"), "{plain}");

    let out = v.run(&["trust", "remove", "payments", "--ca", "corp-root", "--inbound"]);
    keyloom_tests::assert_success(&out, &["trust", "remove"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Intents that stop working: checkout, qa-runner"), "{said}");
    assert!(said.contains("no longer connects (no intent): billing"), "{said}");
    let broken = v.json(&["explain", "checkout", "payments"]);
    assert_eq!(broken["verdict"], "intended but broken", "{broken}");
}

/// `graph --tag` and `graph --finding` slice the graph in the core, as the app's filters do.
#[test]
fn graph_slices_by_tag_and_finding_kind() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod", "--tag", "tier=1"]);
    v.ok(&["service", "add", "checkout", "--env", "prod", "--tag", "tier=2"]);
    v.ok(&["service", "add", "reports", "--env", "prod"]);
    v.ok(&["intent", "add", "--from", "checkout", "--to", "payments"]);
    let names = |g: &serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> = g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "service")
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&v.json(&["graph", "--tag", "tier=1"])), ["payments"]);
    assert_eq!(names(&v.json(&["graph", "--tag", "tier"])), ["checkout", "payments"]);
    // No certificates: the intent is broken, and only its two ends are named by that finding.
    let broken = v.json(&["graph", "--finding", "broken_intent"]);
    assert_eq!(names(&broken), ["checkout", "payments"]);
    assert!(broken["findings"].as_array().unwrap().iter().all(|f| f["kind"] == "broken_intent"), "{broken}");
    assert_eq!(broken["environments"][0]["name"], "prod", "every environment is listed: {broken}");
    let err = v.fails(&["graph", "--finding", "over-trust"], 1);
    assert!(err.contains("unknown finding kind"), "{err}");
}
