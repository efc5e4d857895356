//! Attachments: uploads of raw bytes, downloads, test files of each type
//! (a JPEG carrying GPS EXIF, a PNG, a PDF) and an upload cut off halfway.

use std::io::Write;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{rustls_config, Resp, Server, Session};

/// A downloaded file: status, `Content-Type`, `Content-Disposition`, bytes.
pub struct Downloaded {
    pub status: u16,
    pub content_type: String,
    pub disposition: String,
    pub bytes: Vec<u8>,
}

impl Session {
    /// `POST /children/{id}/attachments` with `bytes` as the body.
    pub async fn upload(&self, child: &str, content_type: &str, bytes: Vec<u8>) -> Resp {
        let resp = self
            .api
            .client
            .post(
                self.api
                    .url(&format!("/api/v1/children/{child}/attachments")),
            )
            .bearer_auth(&self.access)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Uploads and asserts 201; returns the attachment id.
    pub async fn upload_ok(&self, child: &str, content_type: &str, bytes: Vec<u8>) -> String {
        let (st, v) = self.upload(child, content_type, bytes).await;
        assert_eq!(st, 201, "upload by {}: {v}", self.login);
        v["id"].as_str().unwrap().to_string()
    }

    pub async fn download(&self, child: &str, id: &str) -> Downloaded {
        let resp = self
            .api
            .client
            .get(
                self.api
                    .url(&format!("/api/v1/children/{child}/attachments/{id}")),
            )
            .bearer_auth(&self.access)
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        Downloaded {
            status: resp.status().as_u16(),
            content_type,
            disposition,
            bytes: resp.bytes().await.unwrap().to_vec(),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A PNG-signed file of `len` bytes with `marker` repeated in it.
pub fn png_with(marker: &str, len: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    while out.len() < len {
        out.extend_from_slice(marker.as_bytes());
        out.extend_from_slice(&(out.len() as u32).to_be_bytes());
    }
    out.truncate(len);
    out
}

pub fn pdf_with(marker: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Title ({marker}) >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

/// A JPEG whose APP1 EXIF segment holds a GPS position and `marker`, a
/// comment with `marker`, and a scan (not a decodable image: the server
/// only strips segments).
pub fn jpeg_with_gps(marker: &str) -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
    exif.extend_from_slice(b"GPSLatitude N 35 41 22.2 GPSLongitude E 139 41 30.1 ");
    exif.extend_from_slice(marker.as_bytes());
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
    out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    segment(&mut out, 0xE1, &exif);
    segment(&mut out, 0xFE, format!("home of {marker}").as_bytes());
    out.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
    out.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 0xFF, 0x00, 0x9A]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    let len = u16::try_from(body.len() + 2).unwrap();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
}

/// Starts an upload announcing `total` bytes, sends `sent` of them over
/// real TLS, then drops the connection (as a phone losing its signal).
pub async fn upload_cut_off(
    server: &Server,
    session: &Session,
    child: &str,
    total: usize,
    sent: usize,
) {
    let cert = std::fs::read(server.dir.join("tls/cert.pem")).unwrap();
    let (addr, token, child) = (
        server.addr.clone(),
        session.access.clone(),
        child.to_string(),
    );
    tokio::task::spawn_blocking(move || cut_off(&cert, &addr, &token, &child, total, sent))
        .await
        .unwrap();
}

fn cut_off(cert: &[u8], addr: &str, token: &str, child: &str, total: usize, sent: usize) {
    let config = Arc::new(rustls_config(cert));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let head = format!(
        "POST /api/v1/children/{child}/attachments HTTP/1.1\r\nhost: localhost\r\n\
         authorization: Bearer {token}\r\ncontent-type: image/png\r\ncontent-length: {total}\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).unwrap();
    let body = png_with("cut-off", sent);
    for piece in body.chunks(16 * 1024) {
        tls.write_all(piece).unwrap();
    }
    tls.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Dropped without close_notify: the TCP connection just ends.
    let _ = tls.sock.shutdown(std::net::Shutdown::Both);
}

/// Uploads a PNG of `len` bytes with `Transfer-Encoding: chunked` (no
/// `Content-Length`: the size is known only as it arrives) over real TLS;
/// returns the answer's status line.
pub async fn upload_chunked(server: &Server, session: &Session, child: &str, len: usize) -> String {
    let cert = std::fs::read(server.dir.join("tls/cert.pem")).unwrap();
    let (addr, token, child) = (
        server.addr.clone(),
        session.access.clone(),
        child.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let config = Arc::new(rustls_config(&cert));
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config, name).unwrap();
        let tcp = std::net::TcpStream::connect(&addr).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let head = format!(
            "POST /api/v1/children/{child}/attachments HTTP/1.1\r\nhost: localhost\r\n\
             authorization: Bearer {token}\r\ncontent-type: image/png\r\n\
             transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        tls.write_all(head.as_bytes()).unwrap();
        for piece in png_with("chunked", len).chunks(32 * 1024) {
            // The server may answer (413) and stop reading before the end.
            if tls
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .is_err()
                || tls.write_all(piece).is_err()
                || tls.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = tls.write_all(b"0\r\n\r\n");
        let mut answer = Vec::new();
        let _ = std::io::Read::read_to_end(&mut tls, &mut answer);
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    })
    .await
    .unwrap()
}
