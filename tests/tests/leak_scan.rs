//! Secret leak scan: canaries (the passphrase, credential values, the recovery key, a private key)
//! are planted, then every kind of CLI command runs with `RUST_LOG=trace`. Every channel is scanned:
//! each command's stdout and stderr, every file in the vault folder, the exported files that are
//! not secret by design, the audit export and the CRL. The only places a canary may appear are the
//! ones that exist to hand it over: `secret get` / `inject` / `run` output, `key.pem`, `secrets.*`.
//! (The desktop app's IPC answers are scanned in desktop_e2e.rs.)

use std::path::{Path, PathBuf};

use keyloom_tests::{TestVault, PASSPHRASE};

const VALUE: &str = "canary-value-91d3f0a7";
const IMPORTED: &str = "canary-import-4be2";
const BAD_ENV: &str = "canary-badenv-5c08";

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn canaries_appear_only_where_a_secret_is_handed_over() {
    let v = TestVault::init();
    let d = v.root.path().to_path_buf();
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    std::fs::write(d.join("in.env"), format!("IMPORTED_TOKEN={IMPORTED}\nOTHER=plain\n")).unwrap();
    std::fs::write(d.join("svcs.json"), r#"[{"name":"batch","environment":"prod"}]"#).unwrap();
    std::fs::write(d.join("t.tpl"), "x={{ keyloom://pay/DB_PASSWORD }}\n").unwrap();

    // (arguments, stdin, whether the command's stdout may carry a secret by design)
    let steps: Vec<(Vec<String>, Option<&str>, bool)> = [
        (vec!["status"], None, false),
        (vec!["service", "add", "pay", "--env", "prod", "--owner", "team-pay"], None, false),
        (vec!["service", "add", "web", "--env", "prod"], None, false),
        (vec!["service", "import", &p("svcs.json")], None, false),
        (vec!["service", "edit", "web", "--owner", "team-web"], None, false),
        (vec!["secret", "set", "pay/DB_PASSWORD"], Some(VALUE), false),
        (vec!["secret", "set", "web/PAY_TOKEN", "--target", "pay"], Some(VALUE), false),
        (vec!["secret", "generate", "pay/API_KEY"], None, false),
        (vec!["secret", "import", "--service", "web", &p("in.env")], None, false),
        (vec!["secret", "list"], None, false),
        (vec!["secret", "history", "pay/DB_PASSWORD"], None, false),
        (vec!["secret", "get", "pay/DB_PASSWORD"], None, true),
        (vec!["intent", "add", "--from", "web", "--to", "pay"], None, false),
        (vec!["intent", "list"], None, false),
        (vec!["service", "list"], None, false),
        (vec!["service", "show", "pay"], None, false),
        (vec!["ca", "create", "root"], None, false),
        (vec!["ca", "list"], None, false),
        (vec!["ca", "show", "root", "--pem"], None, false),
        (vec!["cert", "issue", "--service", "pay", "--ca", "root", "--dns", "pay.example"], None, false),
        (vec!["cert", "issue", "--service", "web", "--ca", "root", "--dns", "web.example"], None, false),
        (vec!["cert", "list"], None, false),
        (vec!["cert", "show", "pay", "--pem", "--chain"], None, false),
        (vec!["cert", "renew", "web"], None, false),
        (vec!["cert", "verify", "pay"], None, false),
        (vec!["trust", "add", "pay", "--ca", "root", "--both"], None, false),
        (vec!["trust", "list", "pay"], None, false),
        (vec!["ca", "crl", "root", "--out", &p("root.crl")], None, false),
        (vec!["graph", "--json"], None, false),
        (vec!["findings"], None, false),
        (vec!["explain", "web", "pay"], None, false),
        (vec!["blast-radius", "root"], None, false),
        (vec!["export", "pay", "--out", &p("bundle")], None, false),
        (vec!["export", "pay", "--format", "k8s", "--out", &p("pay.yaml")], None, false),
        (vec!["signing-key", "export", "--out", &p("sign.pub")], None, false),
        (vec!["bundle", "verify", &p("bundle"), "--pubkey", &p("sign.pub")], None, false),
        (vec!["bundle", "history", "pay"], None, false),
        (vec!["inject", "-i", &p("t.tpl"), "-o", &p("t.out")], None, false),
        (vec!["run", "--service", "pay", "--", "true"], None, false),
        (vec!["secret", "rename", "pay/DB_PASSWORD", "DB_PASS"], None, false),
        (vec!["ca", "rename", "root", "corp-root"], None, false),
        (vec!["service", "rename", "pay", "payments"], None, false),
        (vec!["unlock"], None, false),
        (vec!["secret", "list", "payments"], None, false), // through the agent
        (vec!["lock"], None, false),
        (vec!["device", "status"], None, false),
        (vec!["audit", "list"], None, false),
        (vec!["audit", "verify"], None, false),
        (vec!["audit", "export", "--out", &p("audit.jsonl")], None, false),
        (vec!["doctor"], None, false),
    ]
    .into_iter()
    .map(|(a, i, may)| (a.into_iter().map(str::to_string).collect(), i, may))
    .collect();

    let mut channels: Vec<(String, Vec<u8>)> = Vec::new();
    for (args, stdin, stdout_may_carry) in &steps {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = v.cmd(&refs);
        c.env("RUST_LOG", "trace");
        let out = match stdin {
            Some(input) => {
                use std::io::Write;
                c.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = c.spawn().unwrap();
                child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
                child.wait_with_output().unwrap()
            }
            None => c.output().unwrap(),
        };
        keyloom_tests::assert_success(&out, &refs);
        channels.push((format!("stderr of {}", args.join(" ")), out.stderr));
        if !stdout_may_carry {
            channels.push((format!("stdout of {}", args.join(" ")), out.stdout));
        }
    }

    // Env files with a malformed line holding a canary, one per kind of refusal: the error says
    // file:line (and the name, once the line has one), never the value.
    let bad_env = [
        format!("OK=1\n{BAD_ENV}\n"),
        format!("{BAD_ENV}=1\n"),
        format!("export {BAD_ENV}\n"),
        format!("K=\"{BAD_ENV}\n"),
        format!("K='{BAD_ENV}\n\n"),
        format!("K='{BAD_ENV}'tail\n"),
        format!("K=\"{BAD_ENV}\"{BAD_ENV}\n"),
        format!("K=\"{BAD_ENV}\\q\"\n"),
        format!("K={BAD_ENV} #note\n"),
        format!("K={BAD_ENV}\nK={BAD_ENV}\n"),
    ];
    for (i, body) in bad_env.iter().enumerate() {
        let file = p(&format!("bad{i}.env"));
        std::fs::write(&file, body).unwrap();
        for json in [false, true] {
            let mut args = vec!["secret", "import", "--service", "web", &file];
            if json {
                args.push("--json");
            }
            let mut c = v.cmd(&args);
            c.env("RUST_LOG", "trace");
            let out = c.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("bad{i}.env:")), "{args:?} does not say which file: {stderr}");
            channels.push((format!("stderr of {}", args.join(" ")), out.stderr));
            channels.push((format!("stdout of {}", args.join(" ")), out.stdout));
        }
    }

    // Files: the whole vault folder, and every exported file that is public by design.
    let mut vault_files = Vec::new();
    files(&v.path, &mut vault_files);
    let mut exported = Vec::new();
    files(&d.join("bundle"), &mut exported);
    exported.retain(|f| {
        let name = f.file_name().unwrap().to_string_lossy();
        name != "key.pem" && !name.starts_with("secrets.")
    });
    for f in
        vault_files.iter().chain(&exported).chain([&d.join("audit.jsonl"), &d.join("root.crl"), &d.join("sign.pub")])
    {
        channels.push((f.display().to_string(), std::fs::read(f).unwrap()));
    }

    // The private key's body is a canary too: it must appear in key.pem and nowhere scanned.
    let key = std::fs::read_to_string(d.join("bundle/tls/key.pem")).unwrap();
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(key_body.len() > 60);
    let canaries: Vec<(&str, String)> = vec![
        ("credential value", VALUE.to_string()),
        ("imported credential value", IMPORTED.to_string()),
        ("value on a malformed env line", BAD_ENV.to_string()),
        ("passphrase", PASSPHRASE.to_string()),
        ("recovery key", v.recovery_key.clone()),
        ("private key", key_body[..48].to_string()),
    ];
    // The handed-over outputs do carry them (so the scan would see a leak if one happened).
    assert!(std::fs::read_to_string(d.join("t.out")).unwrap().contains(VALUE));

    let mut leaks = Vec::new();
    for (channel, bytes) in &channels {
        let text = String::from_utf8_lossy(bytes);
        for (what, canary) in &canaries {
            if text.contains(canary.as_str()) {
                leaks.push(format!("{what} in {channel}"));
            }
        }
    }
    eprintln!(
        "leak scan: {} commands, {} channels scanned ({} vault files, {} exported public files), {} leaks",
        steps.len(),
        channels.len(),
        vault_files.len(),
        exported.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

/// A private key pasted where a public key or a file path belongs is refused by its position,
/// exit 1, and its text reaches no output: not through clap (which quotes rejected values, twice
/// for text starting with dashes), not through Keyloom's own errors.
#[test]
fn private_keys_in_arguments_are_refused_by_position_and_never_echoed() {
    let v = TestVault::init();
    v.ok(&["service", "add", "pay", "--env", "prod"]);
    let d = v.root.path();
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    let tool = |prog: &str, args: &[&str]| {
        let st = std::process::Command::new(prog).args(args).current_dir(d).output().unwrap();
        assert!(st.status.success(), "{prog} {args:?}: {}", String::from_utf8_lossy(&st.stderr));
    };
    tool("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", &p("id_ed25519")]);
    tool("ssh-keygen", &["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-C", "", "-f", &p("id_rsa")]);
    tool("openssl", &["genpkey", "-algorithm", "ed25519", "-out", &p("pkcs8.pem")]);
    tool("age-keygen", &["-o", &p("age-identity.txt")]);
    let read = |name: &str| std::fs::read_to_string(d.join(name)).unwrap();
    let ssh = read("id_ed25519");
    let rsa = read("id_rsa");
    let pkcs8 = read("pkcs8.pem");
    let age_file = read("age-identity.txt");
    // `grep AGE-SECRET age-identity.txt`, and the recovery key the vault printed.
    let age_id = age_file.lines().find(|l| l.starts_with("AGE-SECRET-KEY-1")).unwrap().to_string();
    let ssh_pub = read("id_ed25519.pub");
    let recovery = v.recovery_key.clone();
    // What must never show: a stretch of each key's body.
    let body = |k: &str| -> String {
        let b: String = k.lines().filter(|l| !l.starts_with("-----") && !l.starts_with('#')).collect();
        b.chars().skip(16).take(24).collect()
    };
    let canaries: Vec<String> = [&ssh, &rsa, &pkcs8, &age_id, &recovery].iter().map(|k| body(k)).collect();
    assert!(canaries.iter().all(|c| c.len() == 24));

    let out = p("out.age");
    let inline_pem = format!("--recipient={pkcs8}");
    let tag = format!("k={age_id}");
    let (crt, key, bundle) = (p("c.pem"), p("k.pem"), p("b"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["export", "pay", "--format", "age", "--out", &out, "--recipient", &ssh_pub, "--recipient", &age_id],
            "the 2nd --recipient is a private key; pass its public key",
        ),
        (
            vec!["export", "pay", "--format", "age", "--out", &out, "--recipient", &ssh],
            "the 1st --recipient is a private key",
        ),
        (
            vec!["export", "pay", "--format", "age", "--out", &out, "--recipient", &recovery],
            "the 1st --recipient is a private key",
        ),
        (vec!["export", "pay", "--format", "age", "--out", &out, &inline_pem], "the 1st --recipient is a private key"),
        (vec!["export", &rsa, "--format", "age", "--out", &out, "--recipient", &ssh_pub], "the 1st <SERVICE> argument"),
        (vec!["export", "pay", "--format", "age", "--out", &out, "--recipient", &ssh_pub, &rsa], "argument 9 of"),
        (vec!["cert", "import", &crt, "--service", "pay", "--key", &pkcs8], "the 1st --key holds a private key"),
        (
            vec!["cert", "import", &rsa, "--service", "pay", "--key", &key],
            "the 1st <FILE> argument holds a private key",
        ),
        (vec!["bundle", "verify", &bundle, "--pubkey", &ssh], "the 1st --pubkey"),
        (vec!["recover", "--recovery-key-file", &recovery], "the 1st --recovery-key-file"),
        (vec!["doctor", "--recovery-key-file", &age_id], "the 1st --recovery-key-file"),
        (vec!["--vault", &ssh, "status"], "the 1st --vault"),
        (vec!["secret", "get", &age_id], "the 1st <REFERENCE> argument"),
        (vec!["service", "edit", "pay", "--tag", &tag], "the 1st --tag"),
        (vec!["cert", "list", "--all", &ssh], "argument 4 of the command line"),
    ];
    let before = keyloom_tests::data_trees(&v.path);
    let mut leaks = Vec::new();
    for (args, says) in &cases {
        let mut c = v.cmd(args);
        c.env("RUST_LOG", "trace");
        let o = c.output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        let shown: Vec<String> = args.iter().map(|a| a.chars().take(30).collect()).collect();
        assert_eq!(o.status.code(), Some(1), "{shown:?}: {stderr}");
        assert!(stderr.contains(says), "{shown:?}: {stderr}");
        for canary in &canaries {
            if stdout.contains(canary.as_str()) || stderr.contains(canary.as_str()) {
                leaks.push(format!("{shown:?}"));
            }
        }
    }
    assert!(leaks.is_empty(), "private key text printed by: {leaks:?}");
    assert!(!Path::new(&out).exists());
    assert_eq!(keyloom_tests::data_trees(&v.path), before, "a refused command changed the vault");

    // The library refuses the same (for the desktop app): by position, never quoting.
    for (recipients, says) in [
        (vec![ssh_pub.clone(), age_id.clone()], "the 2nd recipient is a private key"),
        (vec![ssh.clone()], "the 1st recipient is a private key"),
        (vec![ssh_pub.clone(), format!("x{}", &age_id[1..])], "the 2nd recipient is not an age recipient"),
    ] {
        let err = vault_data::export::Format::age(recipients).err().expect("refused").to_string();
        assert!(err.contains(says), "{err}");
        assert!(canaries.iter().all(|c| !err.contains(c.as_str())), "{err}");
        let err = vault_data::export::Format::from_name("age", vec![ssh.clone()], None).err().expect("refused");
        assert!(canaries.iter().all(|c| !err.to_string().contains(c.as_str())));
    }
    assert!(vault_data::export::Format::age(vec![ssh_pub.trim().to_string()]).is_ok());
}
