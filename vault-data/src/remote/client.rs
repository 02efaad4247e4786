//! The HTTP side of a remote: OpenBao / HashiCorp Vault's KV v2, token and AppRole APIs over
//! ureq + rustls (aws-lc-rs). It knows nothing of vaults; every error it returns is worded
//! without the token, and no request or response body is logged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use ureq::http::StatusCode;

use crate::remote::{RemoteFault, ServerStatus};

/// How to reach a server.
pub struct Endpoint {
    /// `https://host:port` (or `http://` for a dev server, when allowed).
    pub addr: String,
    /// Namespace header, if any.
    pub namespace: Option<String>,
    /// Extra trusted CA certificates (DER).
    pub ca_der: Vec<Vec<u8>>,
    /// Whether `http://` is allowed.
    pub insecure_http: bool,
}

/// A logged-in connection (pooled: requests reuse connections, and clones share the pool).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    addr: String,
    namespace: Option<String>,
    token: Arc<SecretString>,
}

/// One KV v2 secret as read (no Debug: it holds values).
pub struct KvSecret {
    /// Its fields (string values).
    pub data: BTreeMap<String, String>,
    /// The version read.
    pub version: u64,
    /// Its custom metadata.
    pub custom_metadata: BTreeMap<String, String>,
}

/// A secret's metadata.
#[derive(Debug, Default)]
pub struct KvMeta {
    /// The current version (0: no such secret).
    pub current_version: u64,
    /// Whether the current version is deleted or destroyed.
    pub current_deleted: bool,
    /// Custom metadata.
    pub custom_metadata: BTreeMap<String, String>,
}

/// The result of a check-and-set write.
pub enum Written {
    /// Written as this version.
    Version(u64),
    /// The secret's version is no longer the one given.
    CasMismatch,
}

/// What the token is (from `lookup-self`), without the token itself.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// Seconds left, 0 for a token that does not expire.
    pub ttl: u64,
    /// Its policies.
    pub policies: Vec<String>,
}

const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_BODY: u64 = 8 * 1024 * 1024;

fn agent(ep: &Endpoint) -> Result<ureq::Agent, RemoteFault> {
    let scheme_ok = ep.addr.starts_with("https://") || (ep.insecure_http && ep.addr.starts_with("http://"));
    if !scheme_ok {
        return Err(RemoteFault::PlainHttp { addr: ep.addr.clone() });
    }
    let mut certs = Vec::new();
    for der in &ep.ca_der {
        certs.push(ureq::tls::Certificate::from_der(der).to_owned());
    }
    let roots = if certs.is_empty() {
        ureq::tls::RootCerts::PlatformVerifier
    } else {
        // Given CAs replace the system's for this server (a corporate or private CA): the
        // server is trusted only as certified by them.
        ureq::tls::RootCerts::new_with_certs(&certs)
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(provider)
        .root_certs(roots)
        .build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .https_only(!ep.insecure_http)
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .max_redirects(0)
        .max_idle_connections_per_host(32)
        .user_agent(concat!("keyloom/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(ureq::Agent::new_with_config(config))
}

fn clean_addr(addr: &str) -> String {
    addr.trim().trim_end_matches('/').to_string()
}

/// `GET /v1/sys/health`, which answers without a token (sealed and standby servers answer with
/// other status codes and the same body).
pub fn health(ep: &Endpoint) -> Result<ServerStatus, RemoteFault> {
    let agent = agent(ep)?;
    let addr = clean_addr(&ep.addr);
    let url = format!("{addr}/v1/sys/health");
    let mut resp = agent.get(&url).call().map_err(|e| transport(&addr, e))?;
    #[derive(Deserialize)]
    struct Health {
        initialized: bool,
        sealed: bool,
        #[serde(default)]
        standby: bool,
        #[serde(default)]
        version: String,
    }
    let body: Health = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_json()
        .map_err(|_| RemoteFault::NotAServer { addr: addr.clone() })?;
    Ok(ServerStatus {
        initialized: body.initialized,
        sealed: body.sealed,
        standby: body.standby,
        version: body.version,
    })
}

/// Logs in with AppRole and returns the client token.
pub fn approle_login(
    ep: &Endpoint,
    mount: &str,
    role_id: &str,
    secret_id: &SecretString,
) -> Result<SecretString, RemoteFault> {
    let agent = agent(ep)?;
    let addr = clean_addr(&ep.addr);
    let url = format!("{addr}/v1/auth/{mount}/login");
    let mut req = agent.post(&url);
    if let Some(ns) = &ep.namespace {
        req = req.header("X-Vault-Namespace", ns);
    }
    let body = json!({ "role_id": role_id, "secret_id": secret_id.expose_secret() });
    let mut resp = req.send_json(&body).map_err(|e| transport(&addr, e))?;
    let status = resp.status();
    let value: Value = resp.body_mut().with_config().limit(MAX_BODY).read_json().unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(server_error(status, &value, &format!("auth/{mount}/login")));
    }
    value
        .pointer("/auth/client_token")
        .and_then(Value::as_str)
        .map(|t| SecretString::from(t.to_string()))
        .ok_or(RemoteFault::NotAServer { addr })
}

impl Client {
    /// A client for `ep` that sends `token`.
    pub fn new(ep: &Endpoint, token: SecretString) -> Result<Client, RemoteFault> {
        Ok(Client {
            agent: agent(ep)?,
            addr: clean_addr(&ep.addr),
            namespace: ep.namespace.clone(),
            token: Arc::new(token),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.addr)
    }

    /// `GET` of an answer that is not JSON (a DER CRL), at most `MAX_BODY` bytes.
    pub(super) fn get_bytes(&self, path: &str) -> Result<(StatusCode, Vec<u8>), RemoteFault> {
        let mut r = self.agent.get(&self.url(path)).header("X-Vault-Token", self.token.expose_secret());
        if let Some(ns) = &self.namespace {
            r = r.header("X-Vault-Namespace", ns);
        }
        let mut resp = r.call().map_err(|e| transport(&self.addr, e))?;
        let status = resp.status();
        let bytes =
            resp.body_mut().with_config().limit(MAX_BODY).read_to_vec().map_err(|e| transport(&self.addr, e))?;
        Ok((status, bytes))
    }

    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), RemoteFault> {
        let url = self.url(path);
        let token = self.token.expose_secret();
        let result = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url).header("X-Vault-Token", token);
                if let Some(ns) = &self.namespace {
                    r = r.header("X-Vault-Namespace", ns);
                }
                r.call()
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url).header("X-Vault-Token", token);
                if let Some(ns) = &self.namespace {
                    r = r.header("X-Vault-Namespace", ns);
                }
                r.call()
            }
            (_, body) => {
                let mut r = self.agent.post(&url).header("X-Vault-Token", token);
                if let Some(ns) = &self.namespace {
                    r = r.header("X-Vault-Namespace", ns);
                }
                r.send_json(body.unwrap_or(&Value::Null))
            }
        };
        let mut resp = result.map_err(|e| transport(&self.addr, e))?;
        let status = resp.status();
        let value = if status == StatusCode::NO_CONTENT {
            Value::Null
        } else {
            resp.body_mut().with_config().limit(MAX_BODY).read_json().unwrap_or(Value::Null)
        };
        Ok((status, value))
    }

    /// What the token is: its TTL and policies.
    pub fn lookup_self(&self) -> Result<TokenInfo, RemoteFault> {
        let (status, v) = self.call("GET", "auth/token/lookup-self", None)?;
        if !status.is_success() {
            return Err(server_error(status, &v, "auth/token/lookup-self"));
        }
        let data = v.get("data").unwrap_or(&Value::Null);
        Ok(TokenInfo {
            ttl: data.get("ttl").and_then(Value::as_u64).unwrap_or(0),
            policies: data
                .get("policies")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect())
                .unwrap_or_default(),
        })
    }

    /// Checks, before anything is read or written, that the server is unsealed, the token is
    /// accepted and `mount` is a KV v2 mount: one clear error instead of one per secret.
    pub fn preflight(&self, mount: &str) -> Result<(), RemoteFault> {
        self.lookup_self()?;
        let api = format!("{mount}/config");
        let (status, v) = self.call("GET", &api, None)?;
        // A token allowed only its own paths may not read the mount's config: that is fine;
        // only a missing mount (or a sealed server) stops the sync here.
        if !status.is_success() && status != StatusCode::FORBIDDEN {
            return Err(server_error(status, &v, &api));
        }
        Ok(())
    }

    /// The metadata of `mount/path`; a missing secret is version 0.
    pub fn metadata(&self, mount: &str, path: &str) -> Result<KvMeta, RemoteFault> {
        let api = format!("{mount}/metadata/{path}");
        let (status, v) = self.call("GET", &api, None)?;
        if status == StatusCode::NOT_FOUND && is_plain_not_found(&v) {
            return Ok(KvMeta::default());
        }
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        let data = v.get("data").unwrap_or(&Value::Null);
        let current_version = data.get("current_version").and_then(Value::as_u64).unwrap_or(0);
        let current = data.pointer(&format!("/versions/{current_version}"));
        let current_deleted = current.is_some_and(|c| {
            c.get("destroyed").and_then(Value::as_bool).unwrap_or(false)
                || c.get("deletion_time").and_then(Value::as_str).is_some_and(|t| !t.is_empty())
        });
        Ok(KvMeta { current_version, current_deleted, custom_metadata: string_map(data.get("custom_metadata")) })
    }

    /// Reads `mount/path` (its current version). `None` when there is no such secret.
    pub fn read(&self, mount: &str, path: &str) -> Result<Option<KvSecret>, RemoteFault> {
        let api = format!("{mount}/data/{path}");
        let (status, v) = self.call("GET", &api, None)?;
        if status == StatusCode::NOT_FOUND && is_plain_not_found(&v) {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        let data = v.get("data").unwrap_or(&Value::Null);
        let version = data.pointer("/metadata/version").and_then(Value::as_u64).unwrap_or(0);
        let mut fields = BTreeMap::new();
        if let Some(obj) = data.get("data").and_then(Value::as_object) {
            for (k, val) in obj {
                // Keyloom writes strings; a value another tool wrote as a number or a structure
                // is taken as its JSON text.
                let text = match val {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                fields.insert(k.clone(), text);
            }
        }
        Ok(Some(KvSecret {
            data: fields,
            version,
            custom_metadata: string_map(data.pointer("/metadata/custom_metadata")),
        }))
    }

    /// Writes `data` as the next version of `mount/path` if its current version is still `cas`
    /// (0: the secret must not exist yet).
    pub fn write(
        &self,
        mount: &str,
        path: &str,
        data: &BTreeMap<String, String>,
        cas: u64,
    ) -> Result<Written, RemoteFault> {
        let api = format!("{mount}/data/{path}");
        let body = json!({ "options": { "cas": cas }, "data": data });
        let (status, v) = self.call("POST", &api, Some(&body))?;
        if status == StatusCode::BAD_REQUEST && errors_of(&v).iter().any(|e| e.contains("check-and-set")) {
            return Ok(Written::CasMismatch);
        }
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        v.pointer("/data/version")
            .and_then(Value::as_u64)
            .map(Written::Version)
            .ok_or_else(|| RemoteFault::NotAServer { addr: self.addr.clone() })
    }

    /// Sets a secret's custom metadata (Keyloom's ids, so other tools see where it came from).
    pub fn set_custom_metadata(
        &self,
        mount: &str,
        path: &str,
        custom: &BTreeMap<String, String>,
    ) -> Result<(), RemoteFault> {
        let api = format!("{mount}/metadata/{path}");
        let (status, v) = self.call("POST", &api, Some(&json!({ "custom_metadata": custom })))?;
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        Ok(())
    }

    /// Deletes a secret with all its versions (a renamed service's old path).
    pub fn delete_all(&self, mount: &str, path: &str) -> Result<(), RemoteFault> {
        let api = format!("{mount}/metadata/{path}");
        let (status, v) = self.call("DELETE", &api, None)?;
        if !status.is_success() && status != StatusCode::NOT_FOUND {
            return Err(server_error(status, &v, &api));
        }
        Ok(())
    }

    /// The keys directly under `mount/path/` (folders end in `/`); empty when there are none.
    pub fn list(&self, mount: &str, path: &str) -> Result<Vec<String>, RemoteFault> {
        let api = format!("{mount}/metadata/{}?list=true", path.trim_end_matches('/'));
        let (status, v) = self.call("GET", &api, None)?;
        if status == StatusCode::NOT_FOUND && is_plain_not_found(&v) {
            return Ok(Vec::new());
        }
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        Ok(v.pointer("/data/keys")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|k| k.as_str().map(String::from)).collect())
            .unwrap_or_default())
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| o.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

fn errors_of(v: &Value) -> Vec<String> {
    v.get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|e| e.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// A 404 with no errors is "no such secret"; a 404 with "no handler for route" is a missing mount.
fn is_plain_not_found(v: &Value) -> bool {
    errors_of(v).is_empty()
}

pub(super) fn server_error(status: StatusCode, v: &Value, api: &str) -> RemoteFault {
    let errors = errors_of(v);
    let path = api.split('?').next().unwrap_or(api).to_string();
    match status.as_u16() {
        403 => RemoteFault::Forbidden { path },
        404 => RemoteFault::NoRoute { path },
        503 if errors.iter().any(|e| e.contains("sealed")) => RemoteFault::Sealed,
        code => RemoteFault::Server {
            status: code,
            errors: errors.into_iter().map(|e| e.chars().take(300).collect()).collect(),
        },
    }
}

fn transport(addr: &str, e: ureq::Error) -> RemoteFault {
    match e {
        ureq::Error::Timeout(_) => RemoteFault::Timeout { addr: addr.to_string() },
        ureq::Error::RequireHttpsOnly(_) => RemoteFault::PlainHttp { addr: addr.to_string() },
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            RemoteFault::Tls { addr: addr.to_string(), detail: e.to_string() }
        }
        other => RemoteFault::Unreachable { addr: addr.to_string(), detail: other.to_string() },
    }
}
