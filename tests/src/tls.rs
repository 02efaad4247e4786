//! A real rustls mutual-TLS exchange over loopback, configured only from what the vault hands out.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use vault_data::{ExposeSecret, ServiceIdentity};

fn certs(ders: &[Vec<u8>]) -> Vec<CertificateDer<'static>> {
    ders.iter().map(|d| CertificateDer::from(d.clone())).collect()
}

fn key(id: &ServiceIdentity) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key.expose_secret().to_vec()))
}

fn roots(ders: &[Vec<u8>]) -> RootCertStore {
    let mut r = RootCertStore::empty();
    for c in certs(ders) {
        r.add(c).unwrap();
    }
    r
}

/// One mutual-TLS exchange over loopback: `server` (with or without its CRLs) and `client`,
/// each configured only from what the vault handed out. Ok when both sides complete.
pub fn handshake(
    server: &ServiceIdentity,
    client: &ServiceIdentity,
    with_crls: bool,
    server_name: &str,
) -> Result<(), String> {
    let crls: Vec<CertificateRevocationListDer<'static>> = if with_crls {
        server.crls.iter().map(|c| CertificateRevocationListDer::from(c.clone())).collect()
    } else {
        vec![]
    };
    if server.inbound.is_empty() {
        return Err("the server trusts no CA inbound".into());
    }
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots(&server.inbound)))
        .with_crls(crls)
        .build()
        .map_err(|e| format!("server verifier: {e}"))?;
    let server_config = Arc::new(
        ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs(&server.chain), key(server))
            .unwrap(),
    );
    let client_config = Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots(&client.outbound))
            .with_client_auth_cert(certs(&client.chain), key(client))
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server_thread = std::thread::spawn(move || -> Result<(), String> {
        let (sock, _) = listener.accept().map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(server_config).unwrap(), sock);
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf).map_err(|e| format!("server: {e}"))?;
        tls.write_all(b"pong").map_err(|e| format!("server: {e}"))?;
        tls.flush().map_err(|e| format!("server: {e}"))?;
        Ok(())
    });
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| format!("server name: {e}"))?;
    let mut tls = StreamOwned::new(ClientConnection::new(client_config, name).unwrap(), sock);
    let client_result = (|| {
        tls.write_all(b"ping!")?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf)?;
        Ok::<_, std::io::Error>(buf)
    })();
    drop(tls);
    let server_result = server_thread.join().unwrap();
    match (client_result, server_result) {
        (Ok(b), Ok(())) if &b == b"pong" => Ok(()),
        (c, s) => Err(format!("client: {:?}; server: {:?}", c.err(), s.err())),
    }
}
