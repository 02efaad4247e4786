//! The PKI secrets engine of a remote, for CAs whose key stays in the server ("linked CAs"): the
//! mount's issuer chain, signing a CSR under a role, revoking by serial and the mount's CRL.
//! Keys are made by the caller; only the CSR (public) goes to the server.

use serde_json::{json, Value};
use ureq::http::StatusCode;

use crate::remote::client::{server_error, Client};
use crate::remote::RemoteFault;

/// The mount's default issuer: its certificate first, then the chain above it (PEM each).
pub struct PkiIssuer {
    /// The issuing CA certificate (PEM).
    pub certificate: String,
    /// The issuer's chain, the issuer first and its root last (PEM each).
    pub chain: Vec<String>,
}

/// A certificate the mount signed.
pub struct PkiSigned {
    /// The leaf (PEM).
    pub certificate: String,
    /// The issuing CA and the chain above it (PEM each).
    pub chain: Vec<String>,
    /// The serial as the server writes it (`1e:15:...`).
    pub serial: String,
}

/// What a `sign/<role>` request asks for; the role decides the rest (EKUs, key usage, limits).
pub struct SignRequest<'a> {
    /// The CSR (PEM).
    pub csr_pem: &'a str,
    /// The common name.
    pub common_name: &'a str,
    /// DNS names.
    pub dns: &'a [String],
    /// URI SANs.
    pub uris: &'a [String],
    /// IP SANs.
    pub ips: &'a [String],
    /// Lifetime in hours.
    pub ttl_hours: u64,
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(str::to_string)
}

fn pems(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn missing(path: &str, what: &str) -> RemoteFault {
    RemoteFault::PkiAnswer { path: path.to_string(), missing: what.to_string() }
}

impl Client {
    /// The default issuer of PKI mount `mount`.
    pub fn pki_issuer(&self, mount: &str) -> Result<PkiIssuer, RemoteFault> {
        let api = format!("{mount}/issuer/default/json");
        let (status, v) = self.call("GET", &api, None)?;
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        let certificate = text(&v, "/data/certificate").ok_or_else(|| missing(&api, "certificate"))?;
        let mut chain = pems(&v, "/data/ca_chain");
        if chain.is_empty() {
            chain.push(certificate.clone());
        }
        Ok(PkiIssuer { certificate, chain })
    }

    /// Whether role `role` exists on `mount`: `None` when the token may not read roles (a
    /// policy allowed only `sign/<role>`), which is left for the first signing to tell.
    pub fn pki_role_exists(&self, mount: &str, role: &str) -> Result<Option<bool>, RemoteFault> {
        let api = format!("{mount}/roles/{role}");
        let (status, v) = self.call("GET", &api, None)?;
        match status {
            s if s.is_success() => Ok(Some(true)),
            StatusCode::NOT_FOUND if v.get("errors").and_then(Value::as_array).is_none_or(|e| e.is_empty()) => {
                Ok(Some(false))
            }
            StatusCode::FORBIDDEN => Ok(None),
            s => Err(server_error(s, &v, &api)),
        }
    }

    /// Has `mount` sign a CSR under `role`.
    pub fn pki_sign(&self, mount: &str, role: &str, req: &SignRequest<'_>) -> Result<PkiSigned, RemoteFault> {
        let api = format!("{mount}/sign/{role}");
        let body = json!({
            "csr": req.csr_pem,
            "common_name": req.common_name,
            "alt_names": req.dns.join(","),
            "uri_sans": req.uris.join(","),
            "ip_sans": req.ips.join(","),
            "ttl": format!("{}h", req.ttl_hours),
            "format": "pem",
        });
        let (status, v) = self.call("POST", &api, Some(&body))?;
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        let certificate = text(&v, "/data/certificate").ok_or_else(|| missing(&api, "certificate"))?;
        let serial = text(&v, "/data/serial_number").ok_or_else(|| missing(&api, "serial number"))?;
        let mut chain = pems(&v, "/data/ca_chain");
        if chain.is_empty() {
            chain.extend(text(&v, "/data/issuing_ca"));
        }
        Ok(PkiSigned { certificate, chain, serial })
    }

    /// Revokes the certificate with `serial` (`1e:15:...`) on `mount`; its CRL lists it from now.
    pub fn pki_revoke(&self, mount: &str, serial: &str) -> Result<(), RemoteFault> {
        let api = format!("{mount}/revoke");
        let (status, v) = self.call("POST", &api, Some(&json!({ "serial_number": serial })))?;
        if !status.is_success() {
            return Err(server_error(status, &v, &api));
        }
        Ok(())
    }

    /// The mount's current CRL (DER).
    pub fn pki_crl(&self, mount: &str) -> Result<Vec<u8>, RemoteFault> {
        let api = format!("{mount}/crl");
        let (status, bytes) = self.get_bytes(&api)?;
        if !status.is_success() {
            let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(server_error(status, &v, &api));
        }
        if bytes.first() != Some(&0x30) {
            return Err(missing(&api, "DER CRL"));
        }
        Ok(bytes)
    }
}

/// A serial as the PKI engine writes it: lowercase hex pairs joined by `:`.
pub fn colon_serial(hex_serial: &str) -> String {
    let hex = hex_serial.to_ascii_lowercase();
    let padded = if hex.len() % 2 == 1 { format!("0{hex}") } else { hex };
    padded.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    #[test]
    fn serials_are_written_the_way_the_pki_engine_reads_them() {
        assert_eq!(super::colon_serial("1E15474e"), "1e:15:47:4e");
        assert_eq!(super::colon_serial("abc"), "0a:bc");
    }
}
