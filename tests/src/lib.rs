//! Helpers for the cross-crate tests: run the real `keyloom` binary against a vault in a
//! temporary directory, and reach into the vault's sled files the way an attacker would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub mod bao;
pub mod desktop;
pub mod nginx;
pub mod tls;

/// The passphrase every test vault is created with.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// Waits (bounded, 10 s) for a process to be gone (exited, or a zombie); true if it is.
pub fn gone(pid: u32) -> bool {
    for _ in 0..200 {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
            .unwrap_or(false);
        if !alive {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// Path of the `keyloom` binary built by `cargo build --workspace` next to the test executable.
pub fn keyloom_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/keyloom
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile> directory");
    let bin = profile_dir.join("keyloom");
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace` before `cargo test`", bin.display());
    bin
}

/// A vault made by `keyloom init` in a private temporary directory.
pub struct TestVault {
    pub root: tempfile::TempDir,
    pub path: PathBuf,
    pub recovery_key: String,
}

impl TestVault {
    /// Creates a vault with [`PASSPHRASE`] and a fast (test-only) scrypt work factor.
    pub fn init() -> TestVault {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("vault");
        let mut tv = TestVault { root, path, recovery_key: String::new() };
        let out = tv.json(&["init", "--scrypt-log-n", "14"]);
        tv.recovery_key = out["recovery_key"].as_str().expect("recovery key in init output").to_string();
        assert!(tv.recovery_key.starts_with("AGE-SECRET-KEY-1"));
        tv
    }

    /// This vault's private runtime directory (XDG_RUNTIME_DIR): its agent socket lives here.
    pub fn runtime_dir(&self) -> PathBuf {
        let dir = self.root.path().join("run");
        if !dir.exists() {
            std::fs::create_dir(&dir).expect("runtime dir");
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
        }
        dir
    }

    /// A `keyloom` command for this vault, with the environment isolated from the host's.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(keyloom_bin());
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("XDG_DATA_HOME", self.root.path().join("xdg-data"))
            .env("XDG_CONFIG_HOME", self.root.path().join("xdg-config"))
            .env("XDG_CACHE_HOME", self.root.path().join("xdg-cache"))
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("KEYLOOM_VAULT", &self.path)
            .env("KEYLOOM_PASSPHRASE", PASSPHRASE)
            .stdin(Stdio::null());
        c
    }

    /// Runs with `stdin` fed to the process.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn keyloom");
        child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
        child.wait_with_output().expect("wait keyloom")
    }

    /// Runs and returns the output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run keyloom")
    }

    /// Runs, asserts exit 0, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, args);
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs with `--json`, asserts exit 0, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed invalid JSON ({e}): {out}"))
    }

    /// Runs, asserts the exit code, returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(code), "{args:?} exit code; stderr: {stderr}");
        stderr
    }

    /// Every byte of every file under the vault directory.
    pub fn all_bytes(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        collect(&self.path, &mut out);
        out
    }
}

impl Drop for TestVault {
    /// Stops an agent a test left running, so no process outlives the test.
    fn drop(&mut self) {
        let run = self.root.path().join("run").join("keyloom");
        let has_socket = std::fs::read_dir(&run)
            .map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "sock")))
            .unwrap_or(false);
        if has_socket {
            let _ = self.cmd(&["lock"]).output();
        }
    }
}

/// The unlock slots of a vault, as `vault.slots` holds them (JSON).
pub fn slots_file(vault: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(vault.join("vault.slots")).expect("read vault.slots")).expect("slots JSON")
}

/// Replaces `vault.slots` (as a tamperer, or an old copy, would).
pub fn write_slots_file(vault: &Path, slots: &Value) {
    std::fs::write(vault.join("vault.slots"), serde_json::to_vec(slots).expect("encode")).expect("write vault.slots");
}

fn collect(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push((p.clone(), std::fs::read(&p).expect("read")));
        }
    }
}

/// Asserts a process succeeded, showing its stderr if not.
pub fn assert_success(out: &Output, what: &[&str]) {
    assert!(
        out.status.success(),
        "{what:?} failed with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Opens the vault's sled database directly (the vault must be closed), as a tamperer would.
pub fn open_raw(vault: &Path) -> sled::Db {
    // sled releases its file lock only when its background flusher of a previous handle (ours,
    // or the keyloom process that just exited) is gone, so allow it a moment.
    let mut last = None;
    for _ in 0..100 {
        match sled::open(vault.join("db")) {
            Ok(db) => return db,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("open sled directly: {last:?}")
}

/// Flips one bit of the value under `key` in `tree`, through sled (valid sled framing, bad seal).
pub fn flip_value(vault: &Path, tree: &str, key: &[u8], at: usize) {
    let db = open_raw(vault);
    let t = db.open_tree(tree).expect("tree");
    let mut v = t.get(key).expect("get").expect("value present").to_vec();
    let i = at.min(v.len() - 1);
    v[i] ^= 0x01;
    t.insert(key, v).expect("insert");
    db.flush().expect("flush");
}

/// Keys of a tree, read directly.
pub fn raw_keys(vault: &Path, tree: &str) -> Vec<Vec<u8>> {
    let db = open_raw(vault);
    let t = db.open_tree(tree).expect("tree");
    t.iter().keys().map(|k| k.expect("key").to_vec()).collect()
}

/// Removes one key from a tree, directly.
pub fn remove_raw(vault: &Path, tree: &str, key: &[u8]) {
    let db = open_raw(vault);
    db.open_tree(tree).expect("tree").remove(key).expect("remove");
    db.flush().expect("flush");
}

/// All (tree, key, value) of the data trees (objects, payloads, audit), for "nothing changed" checks.
pub fn data_trees(vault: &Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let db = open_raw(vault);
    let mut out = Vec::new();
    for tree in ["objects", "payloads", "audit"] {
        let t = db.open_tree(tree).expect("tree");
        for kv in t.iter() {
            let (k, v) = kv.expect("kv");
            out.push((tree.to_string(), k.to_vec(), v.to_vec()));
        }
    }
    out
}

/// The data trees of a closed test vault (alias kept for readability in tests).
pub fn data_trees_after_close(v: &TestVault) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    data_trees(&v.path)
}

/// (key, value) of a tree whose key starts with `prefix`, read directly.
pub fn raw_entries(vault: &Path, tree: &str, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = open_raw(vault);
    let t = db.open_tree(tree).expect("tree");
    t.scan_prefix(prefix).map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("kv")).collect()
}

/// Replaces the entries of `remove` that match `pick` with those of `insert` that match it.
pub fn swap_entries(
    vault: &Path,
    tree: &str,
    remove: &[(Vec<u8>, Vec<u8>)],
    insert: &[(Vec<u8>, Vec<u8>)],
    pick: impl Fn(&[u8]) -> bool,
) {
    let db = open_raw(vault);
    let t = db.open_tree(tree).expect("tree");
    for (k, _) in remove.iter().filter(|(_, v)| pick(v)) {
        t.remove(k.as_slice()).expect("remove");
    }
    for (k, v) in insert.iter().filter(|(_, v)| pick(v)) {
        t.insert(k.as_slice(), v.as_slice()).expect("insert");
    }
    db.flush().expect("flush");
}

/// A small deterministic generator (xorshift64*) for the randomised harnesses, so a failing
/// campaign can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value; zero is avoided internally).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}
