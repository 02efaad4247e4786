//! A real nginx (Debian's nginx-light, installed by scripts/install-deps.sh) on a free loopback
//! port, serving TLS from files a test exported, stopped on drop.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; SIGTERM on drop.
pub struct Nginx {
    /// The process.
    pub child: Child,
    /// Its port.
    pub port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL would orphan them.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// The nginx binary; a missing one fails the test (it is installed, not optional).
pub fn nginx_bin() -> &'static str {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx must be installed (Debian package nginx-light; .ci/run installs it)")
}

impl Nginx {
    /// Starts nginx with `server_block` (the `server { ... }` body, `{port}` replaced) under
    /// `prefix`, and waits until it listens.
    pub fn start(prefix: &Path, server_block: &str) -> Nginx {
        let port = free_port();
        std::fs::create_dir_all(prefix.join("logs")).expect("nginx logs dir");
        let p = prefix.display();
        let conf = format!(
            "user root;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/logs/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  \
             client_body_temp_path {p}/tmp; proxy_temp_path {p}/tmp; fastcgi_temp_path {p}/tmp; uwsgi_temp_path {p}/tmp; scgi_temp_path {p}/tmp;\n  \
             server {{\n    listen 127.0.0.1:{port} ssl;\n{}\n  }}\n}}\n",
            server_block.replace("{port}", &port.to_string())
        );
        std::fs::write(prefix.join("nginx.conf"), conf).expect("nginx.conf");
        let conf_path = prefix.join("nginx.conf");
        let nginx = Nginx {
            child: Command::new(nginx_bin())
                .args(["-p", &prefix.to_string_lossy(), "-c", &conf_path.to_string_lossy(), "-g", "daemon off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nginx"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(prefix.join("logs/error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }
}
