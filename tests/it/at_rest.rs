//! Group 6: encryption at rest. After posting text with a unique marker, no
//! file under the data dir (database, WAL, SHM, keys, anything) contains the
//! marker or a child's name (attachments' plaintext included), while running
//! and after SIGTERM (exports of every format included: they are made in
//! memory); data keys are stored only age-wrapped; the master identity is
//! private.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::helpers::*;

const AGE_HEADER: &[u8] = b"age-encryption.org/v1";

/// Asserts that no file under the data dir contains any of `needles`.
fn assert_not_on_disk(server: &Server, needles: &[String], when: &str) {
    let files = server.data_files();
    assert!(!files.is_empty(), "data dir is empty");
    let mut leaks = Vec::new();
    for (path, bytes) in &files {
        for n in needles {
            if find_bytes(bytes, n.as_bytes()).is_some() {
                leaks.push(format!("{n:?} in {}", path.display()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "plaintext on disk {when}:\n{}",
        leaks.join("\n")
    );
}

fn identity_file(server: &Server) -> PathBuf {
    server
        .data_files()
        .into_iter()
        .find(|(_, b)| find_bytes(b, b"AGE-SECRET-KEY-").is_some())
        .map(|(p, _)| p)
        .expect("no age identity (AGE-SECRET-KEY-...) in the data dir")
}

#[tokio::test]
async fn no_plaintext_under_the_data_dir() {
    let mut server = Server::demo().await;
    let admin = server.login("admin").await;
    let g = server.login("guardian.sato").await;
    let m = server.marker();
    let child = g.child_id(HINATA).await;

    // A new child whose profile carries the marker.
    let new_name = format!("試験{m}");
    server.registry.add("child name", &new_name);
    let (st, c) = admin
        .post(
            "/api/v1/children",
            &json!({"name": new_name, "name_kana": "しけん はなこ", "birth_date": "2016-05-01",
                    "disease_group": 7, "diagnosis": format!("診断 {m}"),
                    "guardians": [g.account_id]}),
        )
        .await;
    assert_eq!(st, 201, "create child: {c}");
    let new_child = c["id"].as_str().unwrap().to_string();

    // Every kind of body, with the marker in every free-text field.
    let bodies = [
        (
            "note",
            "family",
            json!({"text": format!("家庭での様子 {m}")}),
        ),
        (
            "vital",
            "medical",
            json!({"measure": "blood_glucose", "value": 64, "unit": "mg/dL", "text": format!("低血糖 {m}")}),
        ),
        (
            "attendance",
            "education",
            json!({"date": "2026-04-08", "status": "absent", "reason": format!("通院 {m}"), "text": format!("欠席 {m}")}),
        ),
        (
            "medication",
            "medical",
            json!({"text": format!("投薬 {m}"), "drug": format!("薬{m}"), "dose": format!("量{m}")}),
        ),
        (
            "plan",
            "welfare",
            json!({"text": format!("計画 {m}"), "title": format!("題{m}"), "goals": [format!("目標{m}")], "review_date": "2026-10-01"}),
        ),
        (
            "handover",
            "education",
            json!({"text": format!("引継ぎ {m}"), "from": format!("前{m}"), "to": format!("後{m}")}),
        ),
    ];
    let mut first = None;
    for (kind, cat, body) in bodies {
        for c in [&child, &new_child] {
            let (st, e) = g.post_entry(c, cat, kind, body.clone()).await;
            assert_eq!(st, 201, "{kind}: {e}");
            first.get_or_insert(e);
        }
    }
    let first = first.unwrap();
    let (st, rev) = g
        .post(
            &format!(
                "/api/v1/children/{child}/entries/{}/revisions",
                first["id"].as_str().unwrap()
            ),
            &json!({"body": {"text": format!("訂正 {m}")}, "reason": format!("理由 {m}")}),
        )
        .await;
    assert_eq!(st, 201, "{rev}");

    // Attachments (several chunks, a PDF, a JPEG), referenced or not.
    let png = g
        .upload_ok(&child, "image/png", png_with(&m, 300_000))
        .await;
    g.upload_ok(&new_child, "application/pdf", pdf_with(&m))
        .await;
    g.upload_ok(&child, "image/jpeg", jpeg_with_gps(&m)).await;
    let (st, e) = g
        .post_entry(
            &child,
            "family",
            "note",
            json!({"text": "写真", "attachments": [png]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    // Exports of both children in every format, answered in full: none of
    // their plaintext (the marker, names, or the formats' own text) lands
    // under the data dir.
    let passphrase = format!("合言葉 {m}");
    server.registry.add("export passphrase", &passphrase);
    for c in [&child, &new_child] {
        for body in [
            json!({"format": "fhir"}),
            json!({"format": "html"}),
            json!({"format": "age", "passphrase": passphrase}),
        ] {
            let (st, v) = g.post(&format!("/api/v1/children/{c}/export"), &body).await;
            assert_eq!(st, 200, "export {body}: {v}");
        }
    }

    let mut needles: Vec<String> = DEMO_CHILD_SECRETS.iter().map(|s| s.to_string()).collect();
    needles.push(m.clone());
    needles.push(new_name.clone());
    needles.push(passphrase.clone());
    // Text only an export holds: the Bundle's and the printed page's.
    needles.push("\"resourceType\": \"Bundle\"".to_string());
    needles.push("urn:renraku:fhir".to_string());
    needles.push("@page { size: A4".to_string());
    needles.push("連絡帳（Renraku）".to_string());
    assert_not_on_disk(&server, &needles, "while running");

    // Keys: the master identity is private; no raw 32-byte key anywhere;
    // one age-wrapped data key per child in the database.
    let id_path = identity_file(&server);
    let mode = std::fs::metadata(&id_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", id_path.display());
    let signing = server.dir.join("keys/token-signing.key");
    for (path, bytes) in server.data_files() {
        if path == signing {
            continue;
        }
        assert_ne!(bytes.len(), 32, "raw 32-byte key file {}", path.display());
        let text = String::from_utf8_lossy(&bytes);
        let t = text.trim();
        let b64_32 = STANDARD.decode(t).map(|k| k.len() == 32).unwrap_or(false);
        let hex_32 = t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit());
        assert!(!b64_32 && !hex_32, "unwrapped key in {}", path.display());
    }
    let keys_dir = server.dir.join("keys");
    for (path, bytes) in server.data_files() {
        if path.starts_with(&keys_dir) {
            assert!(
                find_bytes(&bytes, AGE_HEADER).is_none() || path == id_path,
                "a wrapped data key lies in a key file: {}",
                path.display()
            );
        }
    }

    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
    assert_not_on_disk(&server, &needles, "after SIGTERM");
    let wrapped: usize = server
        .data_files()
        .iter()
        .filter(|(p, _)| !p.starts_with(&keys_dir))
        .map(|(_, b)| count_bytes(b, AGE_HEADER))
        .sum();
    assert!(
        wrapped >= 5,
        "expected an age-wrapped data key per child (5), found {wrapped} age headers"
    );

    // And it all decrypts again after a restart.
    server.restart().await;
    let g = server.login("guardian.sato").await;
    let (st, c) = g.get(&format!("/api/v1/children/{new_child}")).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["name"], new_name.as_str());
    let all = g.all_entries(&child).await;
    assert!(all
        .iter()
        .any(|e| e["body"]["text"] == format!("家庭での様子 {m}").as_str()));
    server.check_logs();
}

#[tokio::test]
async fn refuses_to_start_with_a_readable_master_identity() {
    let mut server = Server::demo().await;
    server.login("guardian.sato").await;
    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
    let id_path = identity_file(&server);
    for mode in [0o640, 0o604] {
        std::fs::set_permissions(&id_path, std::fs::Permissions::from_mode(mode)).unwrap();
        let r = server.try_restart().await;
        let err = r
            .err()
            .unwrap_or_else(|| panic!("started with identity mode {mode:o}"));
        assert!(err.status.map(|s| !s.success()).unwrap_or(false), "{err:?}");
    }
    std::fs::set_permissions(&id_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    server.restart().await;
    server.login("guardian.sato").await;
    server.check_logs();
}
