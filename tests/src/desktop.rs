//! End-to-end harness for the desktop app: a private X server (Xvfb), a private D-Bus session
//! bus, and tauri-driver (which drives WebKitWebDriver), all started here and killed on drop.
//! The app runs with its data, config and cache in a temporary directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

/// Path of the `keyloom-desktop` binary built next to the test executable.
pub fn desktop_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile> directory");
    let bin = profile_dir.join("keyloom-desktop");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --features tauri/custom-protocol` first",
        bin.display()
    );
    bin
}

/// Where E2E screenshots go: `target/e2e-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe.ancestors().nth(3).expect("target directory");
    let dir = target.join("e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("create screenshot directory");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "{what} did not come up within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running desktop app under WebDriver.
pub struct Desktop {
    pub client: Client,
    pub home: tempfile::TempDir,
    pub display: String,
    pub bus_address: String,
    // Dropped in reverse order: driver (and with it the app), bus, X server.
    _driver: Killed,
    _bus: Killed,
    _xvfb: Killed,
}

fn start_xvfb() -> (Killed, String) {
    // -displayfd: Xvfb picks a free display itself and writes its number once it is ready, so
    // parallel tests never race for one.
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb (apt install xvfb)");
    let stdout = child.stdout.take().expect("Xvfb stdout");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("Xvfb display number");
    let n: u32 = line.trim().parse().unwrap_or_else(|_| panic!("Xvfb printed {line:?}, not a display number"));
    (Killed(child), format!(":{n}"))
}

fn start_bus() -> (Killed, String) {
    let mut child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbus-daemon (apt install dbus)");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("dbus stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("bus address");
    (Killed(child), line.trim().to_string())
}

/// The environment the app runs in: the private display and bus, and data kept in `home`.
fn app_env(cmd: &mut Command, display: &str, bus_address: &str, home: &Path) {
    cmd.env("DISPLAY", display)
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home)
        .env("TZ", "UTC")
        // Fast passphrase KDF for tests (still the shipped floor, 2^14).
        .env("KEYLOOM_SCRYPT_LOG_N", "14");
}

impl Desktop {
    /// Starts X, a session bus, tauri-driver and the app, and opens a WebDriver session on it.
    pub async fn start() -> Desktop {
        Desktop::start_in(tempfile::tempdir().expect("tempdir")).await
    }

    /// Like [`Desktop::start`], with a `keyloom demo` estate of `services` services already in
    /// the default vault (passphrase [`crate::PASSPHRASE`]), so the app opens at its unlock screen.
    pub async fn start_with_demo(services: usize) -> Desktop {
        Desktop::start_after(&["demo", "--services", &services.to_string(), "--scrypt-log-n", "14"]).await
    }

    /// Runs `keyloom ARGS` on the default vault (passphrase [`crate::PASSPHRASE`]) in a fresh
    /// home, then starts the app there. `{home}` in an argument becomes the home's path.
    pub async fn start_after(args: &[&str]) -> Desktop {
        Desktop::start_after_all(&[args]).await
    }

    /// Like [`Desktop::start_after`] with several commands, run in order.
    pub async fn start_after_all(commands: &[&[&str]]) -> Desktop {
        let home = tempfile::tempdir().expect("tempdir");
        for args in commands {
            let args: Vec<String> =
                args.iter().map(|a| a.replace("{home}", &home.path().display().to_string())).collect();
            let out = Command::new(crate::keyloom_bin())
                .args(&args)
                .env("XDG_DATA_HOME", home.path().join("data"))
                .env("XDG_CONFIG_HOME", home.path().join("config"))
                .env("XDG_CACHE_HOME", home.path().join("cache"))
                .env("XDG_RUNTIME_DIR", home.path())
                .env("KEYLOOM_PASSPHRASE", crate::PASSPHRASE)
                .env_remove("KEYLOOM_VAULT")
                .stdin(Stdio::null())
                .output()
                .expect("run keyloom");
            assert!(out.status.success(), "keyloom {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Desktop::start_in(home).await
    }

    async fn start_in(home: tempfile::TempDir) -> Desktop {
        let (xvfb, display) = start_xvfb();
        let (bus, bus_address) = start_bus();
        let port = free_port();
        let native_port = free_port();
        let mut driver = Command::new("tauri-driver");
        driver.args(["--port", &port.to_string(), "--native-port", &native_port.to_string()]);
        app_env(&mut driver, &display, &bus_address, home.path());
        let driver = driver
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver (cargo install tauri-driver --version '^2' --locked)");
        let driver = Killed(driver);
        wait_for("tauri-driver", Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

        let caps = serde_json::json!({
            "browserName": "wry",
            "tauri:options": { "application": desktop_bin() },
        });
        let caps = caps.as_object().cloned().expect("capabilities object");
        let client = ClientBuilder::rustls()
            .expect("WebDriver HTTP client")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("WebDriver session on the app");
        Desktop { client, home, display, bus_address, _driver: driver, _bus: bus, _xvfb: xvfb }
    }

    /// Starts an unlocked gnome-keyring (Secret Service) on the app's session bus, for
    /// "remember on this device". It ends with the bus.
    pub fn start_keyring(&self) {
        let mut cmd = Command::new("gnome-keyring-daemon");
        cmd.args(["--unlock", "--components=secrets"]);
        app_env(&mut cmd, &self.display, &self.bus_address, self.home.path());
        let mut child = cmd
            .env("HOME", self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon (apt install gnome-keyring)");
        std::io::Write::write_all(&mut child.stdin.take().expect("keyring stdin"), b"test-keyring-pw")
            .expect("unlock the keyring");
        // It forks its daemon and exits once the keyring is unlocked and on the bus.
        let _ = child.wait();
    }

    /// Starts a second copy of the app in the same session, as a user double-clicking the icon
    /// again would, and returns its exit status once it ends (or None if it is still running
    /// after `wait`).
    pub fn start_second_instance(&self, wait: Duration) -> Option<std::process::ExitStatus> {
        let mut cmd = Command::new(desktop_bin());
        app_env(&mut cmd, &self.display, &self.bus_address, self.home.path());
        let mut child = Killed(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start second app"));
        let start = Instant::now();
        while start.elapsed() < wait {
            if let Ok(Some(status)) = child.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Waits for the element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Waits until the element matching `css` contains `text`, and returns its text.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let start = Instant::now();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if t.contains(text) {
                        return t;
                    }
                }
            }
            assert!(start.elapsed() < Duration::from_secs(20), "{css} never showed {text:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
        // WebKit delivers the key events asynchronously: wait until the field holds all of it.
        let start = Instant::now();
        while el.prop("value").await.ok().flatten().as_deref() != Some(text) {
            assert!(start.elapsed() < Duration::from_secs(10), "{css} never held the typed text");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls a Tauri command straight from the page, as a compromised page could, and returns
    /// `Ok(result)` or `Err(error)` as the IPC layer answered.
    pub async fn invoke_raw(&self, command: &str) -> Result<serde_json::Value, serde_json::Value> {
        self.invoke_with(command, serde_json::json!({})).await
    }

    /// [`Desktop::invoke_raw`] with arguments.
    pub async fn invoke_with(
        &self,
        command: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        let script = "const done = arguments[arguments.length - 1];\
                      window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])\
                        .then(v => done({ok: v === undefined ? null : v}), e => done({err: e}));";
        let out = self.client.execute_async(script, vec![command.into(), args]).await.expect("execute_async");
        match out.get("ok") {
            Some(v) => Ok(v.clone()),
            None => Err(out.get("err").cloned().unwrap_or(serde_json::Value::Null)),
        }
    }

    /// Unlocks at the unlock screen with [`crate::PASSPHRASE`] and waits for the console.
    pub async fn unlock(&self) {
        self.type_into("[data-testid=unlock-pass]", crate::PASSPHRASE).await;
        self.click("[data-testid=unlock-submit]").await;
        self.find("[data-testid=nav-services]").await;
    }

    /// Picks `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]")).await;
    }

    /// Waits until the trust graph has laid out, and returns how long "open" to "drawn" took
    /// (milliseconds, from the page's performance marks). `previous` is a value to wait past.
    pub async fn graph_drawn_ms(&self, previous: Option<&str>) -> u64 {
        let start = Instant::now();
        loop {
            let el = self.find("[data-testid=graph-canvas]").await;
            let ms = el.attr("data-drawn-ms").await.ok().flatten().unwrap_or_default();
            if !ms.is_empty() && Some(ms.as_str()) != previous {
                return ms.parse().unwrap_or_else(|_| panic!("data-drawn-ms {ms:?}"));
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the graph was never drawn");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot of the window's content as WebKit rendered it for the current DOM
    /// (an X-level grab can lag a frame behind what the test just waited for).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = screenshot_dir().join(format!("{name}.png"));
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The text on the X clipboard, as another program would paste it.
    pub fn clipboard(&self) -> String {
        self.selection("clipboard")
    }

    /// The X PRIMARY selection (what a middle click pastes): whatever text was last selected.
    pub fn primary(&self) -> String {
        self.selection("primary")
    }

    /// Double-clicks the element matching `css` with the pointer, as a person selecting a word does.
    pub async fn double_click(&self, css: &str) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let element = self.find(css).await;
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element, duration: None, x: 0.0, y: 0.0 })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.client.perform_actions(mouse).await.unwrap_or_else(|e| panic!("double-click {css}: {e}"));
    }

    fn selection(&self, which: &str) -> String {
        let out = Command::new("xclip")
            .args(["-o", "-selection", which])
            .env("DISPLAY", &self.display)
            .output()
            .expect("run xclip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
