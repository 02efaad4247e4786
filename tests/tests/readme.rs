//! The README's CLI examples, run as written: every `sh` block from "## CLI tour" up to
//! "## Benchmarks", top to bottom, in one bash session, with the real `keyloom` binary on PATH and
//! a scratch home holding the files the examples name. A line whose comment starts with "refused"
//! must exit 1; every other line must exit 0. Afterwards the outputs the README promises are
//! checked the way a user would look at them.

use std::path::Path;
use std::process::Command;

use keyloom_tests::keyloom_bin;

/// One command of the README: its line number, the text bash runs, and whether it shows a refusal.
struct Example {
    line: usize,
    code: String,
    refused: bool,
}

/// The commands of the README's `sh` blocks between `## CLI tour` and `## Benchmarks`.
fn readme_examples(readme: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let (mut in_tour, mut in_block) = (false, false);
    let mut pending: Option<Example> = None;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("## ") {
            in_tour = line == "## CLI tour";
        }
        if line.starts_with("```") {
            // Every block of the tour is run: one in another language would be skipped silently.
            let fence = line.trim();
            assert!(!in_tour || in_block || fence == "```sh", "README line {}: a tour block must be ```sh", i + 1);
            in_block = in_tour && !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        let (code, comment) = split_comment(line);
        let code = code.trim_end();
        if code.trim().is_empty() {
            continue; // a comment continuing the line before
        }
        let ex = pending.get_or_insert_with(|| Example { line: i + 1, code: String::new(), refused: false });
        ex.refused |= comment.trim_start().starts_with("refused");
        match code.strip_suffix('\\') {
            Some(cont) => {
                ex.code.push_str(cont.trim());
                ex.code.push(' ');
            }
            None => {
                ex.code.push_str(code.trim());
                examples.extend(pending.take());
            }
        }
    }
    examples
}

/// A line split at its `# comment` (a `#` after a space, outside quotes).
fn split_comment(line: &str) -> (&str, &str) {
    let (mut quote, mut prev) = (None, ' ');
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev == ' ' => return (&line[..i], &line[i + 1..]),
            _ => {}
        }
        prev = c;
    }
    (line, "")
}

/// The files the README's examples name, made the way their owner would make them.
const FIXTURES: &str = r#"
printf 'sk_live_tour_1234' > key.txt
cat > .env <<'ENV'
API_URL=https://api.example/v1?key=$NOT_EXPANDED
QUOTED='it'\''s "quoted"'
MULTI="a\nb"
EMPTY=
ENV
printf 'correct horse battery staple' > p.txt
head -c 32 /dev/urandom > ~/keyloom.key
cat > services.json <<'JSON'
[{"name": "legacy-billing", "environment": "prod"}, {"name": "ledger", "environment": "prod"}]
JSON
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout request.key -out request.csr \
  -subj /CN=api.prod.corp.example -addext subjectAltName=DNS:api.prod.corp.example 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem \
  -days 90 -subj /CN=billing.internal -addext subjectAltName=DNS:billing.internal \
  -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout partner-root.key -out partner-root.pem \
  -days 365 -subj /CN=Partner\ Root 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout partner-issuing.key \
  -out partner-issuing.csr -subj /CN=Partner\ Issuing 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
openssl x509 -req -in partner-issuing.csr -CA partner-root.pem -CAkey partner-root.key -CAcreateserial \
  -days 365 -extfile ca.ext -out partner-issuing.pem 2>/dev/null
age-keygen -o team.key 2>/dev/null
mkdir -p ~/.ssh && ssh-keygen -q -t ed25519 -N '' -C tour -f ~/.ssh/id_ed25519
printf 'p12 export password' > pw.txt
cat > server <<'SH'
#!/bin/sh
# Stands in for a service: records what it was started with.
echo "$@" > server-args.txt
env > server-env.txt
SH
chmod +x server
printf 'stripe:\n  key: {{ keyloom://payments/STRIPE_API_KEY | yaml }}\n' > config.tpl
printf '{"db_password": {{ keyloom://payments/DB_PASSWORD | json }}}\n' > app.tpl
echo -n tour-keyring-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"#;

/// Single-quotes `s` for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn readme_examples_run_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let examples = readme_examples(&readme);
    assert!(examples.len() > 80, "found only {} README examples", examples.len());
    let blocks = readme.split("## CLI tour").nth(1).and_then(|t| t.split("## Benchmarks").next()).unwrap_or("");
    assert_eq!(
        blocks.matches("```sh").count(),
        6,
        "the tour's six blocks (CLI, certificates, graph, tokens, export, sync)"
    );
    assert!(examples.iter().filter(|e| e.refused).count() >= 5, "the refusal lines were not recognised");

    let home = tempfile::tempdir().unwrap();
    let work = home.path();
    let bin_dir = keyloom_bin().parent().unwrap().to_path_buf();
    let bao_dir = keyloom_tests::bao::bao_bin().parent().unwrap().to_path_buf();
    let mut script = String::from("set -u\ncd ~\n");
    // A refusal must be Keyloom refusing, not the argument parser rejecting a mistyped line.
    script.push_str("__check() {\n  if [ \"$3\" = refused ]; then\n    if grep -q '^Usage:' ~/.refusal; then echo \"README line $2: a usage error, not a refusal\" >&2; exit 91; fi\n    [ \"$1\" = 1 ] && return\n  else [ \"$1\" = 0 ] && return; fi\n  echo \"README line $2 exited $1, expected $3\" >&2; exit 90\n}\n");
    script.push_str(FIXTURES);
    for ex in &examples {
        let want = if ex.refused { "refused" } else { "ok" };
        script.push_str(&format!("printf '%s\\n' {} >&2\n", sh_quote(&format!("+ README:{}: {}", ex.line, ex.code))));
        if ex.refused {
            script.push_str(&format!(
                "{{ {}\n}} 2> ~/.refusal\nrc=$?; cat ~/.refusal >&2; __check $rc {} {want}\n",
                ex.code, ex.line
            ));
        } else {
            script.push_str(&format!("{}\n__check $? {} {want}\n", ex.code, ex.line));
        }
    }
    // The `--follow` stream ends when `keyloom lock` stops the agent.
    script.push_str("wait\necho README-DONE\n");
    std::fs::write(work.join("tour.sh"), &script).unwrap();
    let runtime = work.join("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();

    let out = Command::new("timeout")
        .args(["600", "dbus-run-session", "--", "bash", "tour.sh"])
        .current_dir(work)
        .env_clear()
        // OpenBao's `bao` for the sync block (the real binary, from the test venv).
        .env("PATH", format!("{}:{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display(), bao_dir.display()))
        .env("HOME", work)
        .env("USER", "tour")
        .env("LANG", "C.UTF-8")
        .env("XDG_CONFIG_HOME", work.join(".config"))
        .env("XDG_DATA_HOME", work.join(".local/share"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
    assert!(
        out.status.success() && stdout.contains("README-DONE"),
        "the README tour stopped ({}):\n{}",
        out.status,
        tail.join("\n")
    );
    check_outputs(work, &stdout);
}

/// What the README says its examples leave behind.
fn check_outputs(work: &Path, stdout: &str) {
    let read = |p: &str| std::fs::read_to_string(work.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    // The stripe key went in from key.txt and came out of `secret get`.
    assert!(stdout.contains("sk_live_tour_1234"), "secret get printed the value");
    // inject kept JSON and YAML valid and carried the values.
    let app: serde_json::Value = serde_json::from_str(&read("app.json")).expect("app.json is JSON");
    assert_eq!(app["db_password"].as_str().map(str::len), Some(32), "{app}");
    let config = read("config.yaml");
    assert!(config.contains("sk_live_tour_1234"), "{config}");
    // run: the service got its secrets, its TLS files and its arguments, and none of Keyloom's
    // own variables (passphrase, key file, vault).
    assert_eq!(read("server-args.txt").trim(), "--port 8443");
    let env = read("server-env.txt");
    assert!(env.lines().any(|l| l.starts_with("STRIPE_API_KEY=")), "{env}");
    assert!(env.lines().any(|l| l.starts_with("KEYLOOM_TLS_KEY=")), "{env}");
    let leaked: Vec<&str> =
        env.lines().filter(|l| l.starts_with("KEYLOOM_") && !l.starts_with("KEYLOOM_TLS_")).collect();
    assert!(leaked.is_empty() && !env.contains("correct horse"), "{leaked:?}");
    // The audit stream saw entries and ended with the agent.
    assert!(read("siem.jsonl").lines().count() > 10, "audit --follow streamed entries");
    // The exports exist in the forms named.
    for p in [
        "out/payments",
        "payments.tar.gz",
        "payments.tar.gz.age",
        "payments.yaml",
        "deploy",
        "payments.env",
        "payments.p12",
        "trust.svg",
        "prod.crl.pem",
        "signed.pem",
        "audit.jsonl",
        "keyloom-signing.pub",
    ] {
        assert!(work.join(p).exists(), "{p} was not written");
    }
    let bundles = std::fs::read_dir(work.join("bundles")).unwrap().count();
    assert!(bundles >= 4, "one bundle per prod service, found {bundles}");
    // The age bundle opens with the team's identity.
    let out = Command::new("age")
        .args(["-d", "-i", "team.key", "-o", "opened.tar.gz", "payments.tar.gz.age"])
        .current_dir(work)
        .output()
        .unwrap();
    assert!(out.status.success(), "age -d: {}", String::from_utf8_lossy(&out.stderr));
    let dotenv = read("payments.env");
    assert!(dotenv.contains("STRIPE_API_KEY="), "{dotenv}");
}
