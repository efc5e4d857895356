//! Attachments (issue 20, point 1), on whichever database the suite runs
//! (SQLite, and PostgreSQL with `RENRAKU_TEST_POSTGRES`): uploads checked
//! by their leading bytes, JPEG metadata removed, read only by members who
//! see an entry that references them (or by the uploader while none does),
//! bad input refused with nothing stored, and unreferenced uploads
//! collected after their time.

use serde_json::json;
use sqlx::Row;
use std::time::Duration;

use crate::helpers::*;

/// Stored attachments: rows, chunk rows, and files under the data dir.
async fn stored(server: &Server) -> (i64, i64, usize) {
    let mut db = database(server, false).await;
    let count = |table: &'static str| format!("select count(*) as n from {table}");
    let rows: i64 = sqlx::query(&count("attachment"))
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("n");
    let chunks: i64 = sqlx::query(&count("attachment_chunk"))
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("n");
    let files = server
        .data_files()
        .iter()
        .filter(|(p, _)| p.starts_with(server.dir.join("attachments")))
        .count();
    (rows, chunks, files)
}

#[tokio::test]
async fn upload_reference_and_read_by_those_who_see_the_entry() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let tanaka = server.login("teacher.tanaka").await;
    let mori = server.login("doctor.mori").await;
    let child = g.child_id(HINATA).await;
    let m = server.marker();

    // Several chunks (64 KiB each) and a short last one.
    let png = png_with(&m, 200_000);
    let (st, info) = g.upload(&child, "image/png", png.clone()).await;
    assert_eq!(st, 201, "{info}");
    assert_eq!(info["content_type"], "image/png");
    assert_eq!(info["size"], 200_000);
    assert_eq!(info["sha256"], sha256_hex(&png).as_str());
    let aid = info["id"].as_str().unwrap().to_string();

    // Unreferenced: its uploader reads it, nobody else.
    let d = g.download(&child, &aid).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "image/png");
    assert!(
        d.disposition.starts_with("attachment; filename="),
        "{}",
        d.disposition
    );
    assert!(d.bytes == png, "the download differs from the upload");
    assert_eq!(ito.download(&child, &aid).await.status, 404);

    // A medical entry references it: the doctor reads it, the teacher
    // (education only) and a non-member do not.
    let (st, e) = g
        .post_entry(
            &child,
            "medical",
            "note",
            json!({"text": "検査結果の写真", "attachments": [aid]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    assert_eq!(e["body"]["attachments"][0], aid.as_str());
    let d = ito.download(&child, &aid).await;
    assert_eq!(d.status, 200);
    assert!(d.bytes == png);
    assert_eq!(tanaka.download(&child, &aid).await.status, 404);
    assert_eq!(mori.download(&child, &aid).await.status, 404);

    // Once an education entry references it too, the teacher reads it.
    let (st, e) = g
        .post_entry(
            &child,
            "education",
            "note",
            json!({"text": "同じ写真", "attachments": [aid]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    assert_eq!(tanaka.download(&child, &aid).await.status, 200);

    // Through another child's path: 404.
    let nakamura = server.login("guardian.nakamura").await;
    let yui = nakamura.child_id(YUI).await;
    assert_eq!(nakamura.download(&yui, &aid).await.status, 404);

    // Every read is in the access log.
    let (st, log) = g.get(&format!("/api/v1/children/{child}/access-log")).await;
    assert_eq!(st, 200, "{log}");
    let reads = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "attachment_read")
        .count();
    assert_eq!(reads, 3, "{log}");
    // Files of exactly 2, 8 and 17 chunks (the last one full; 8 chunk rows
    // are written and read a statement at a time), of 10 chunks (the last
    // of 5 bytes), and of 9 bytes.
    for len in [2 * 65_536, 8 * 65_536, 9 * 65_536 + 5, 17 * 65_536, 9] {
        let exact = png_with(&m, len);
        let id = g.upload_ok(&child, "image/png", exact.clone()).await;
        assert!(g.download(&child, &id).await.bytes == exact, "{len} bytes");
    }
    // A PDF too.
    let pdf = pdf_with(&m);
    let pid = g.upload_ok(&child, "application/pdf", pdf.clone()).await;
    let d = g.download(&child, &pid).await;
    assert_eq!(
        (d.status, d.content_type.as_str()),
        (200, "application/pdf")
    );
    assert!(d.bytes == pdf);
    server.check_logs();
}

#[tokio::test]
async fn jpeg_exif_and_gps_are_removed_before_sealing() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let m = server.marker();
    let jpeg = jpeg_with_gps(&m);
    let (st, info) = g.upload(&child, "image/jpeg", jpeg.clone()).await;
    assert_eq!(st, 201, "{info}");
    let d = g.download(&child, info["id"].as_str().unwrap()).await;
    assert_eq!((d.status, d.content_type.as_str()), (200, "image/jpeg"));
    for needle in [&b"Exif"[..], b"GPS", m.as_bytes()] {
        assert!(
            find_bytes(&d.bytes, needle).is_none(),
            "{needle:?} left in the JPEG"
        );
    }
    assert!(d.bytes.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]), "JFIF kept");
    assert!(d
        .bytes
        .ends_with(&[0x12, 0x34, 0x56, 0x78, 0xFF, 0x00, 0x9A, 0xFF, 0xD9]));
    assert_eq!(info["size"], d.bytes.len());
    assert_eq!(info["sha256"], sha256_hex(&d.bytes).as_str());
    server.check_logs();
}

#[tokio::test]
async fn bad_uploads_get_clear_errors_and_store_nothing() {
    let server = Server::demo_with(&["--max-attachment", "100000"]).await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;

    // Another type, a type that is not what it claims, no type at all.
    assert_err(
        &g.upload(&child, "image/gif", b"GIF89a\x01\0\x01\0\0\0\0;".to_vec())
            .await,
        415,
        "unsupported_media_type",
    );
    assert_err(
        &g.upload(&child, "image/jpeg", png_with("x", 1000)).await,
        415,
        "unsupported_media_type",
    );
    assert_err(
        &g.upload(&child, "text/html", b"<html><script>".to_vec())
            .await,
        415,
        "unsupported_media_type",
    );
    assert_err(
        &g.upload(&child, "application/pdf", Vec::new()).await,
        415,
        "unsupported_media_type",
    );
    // Too large: by its Content-Length, and a JPEG past the limit.
    assert_err(
        &g.upload(&child, "image/png", png_with("x", 100_001)).await,
        413,
        "payload_too_large",
    );
    let mut big_jpeg = jpeg_with_gps("x");
    big_jpeg.resize(150_000, 0);
    assert_err(
        &g.upload(&child, "image/jpeg", big_jpeg).await,
        413,
        "payload_too_large",
    );
    // Without a Content-Length: refused as the bytes pass the limit, and
    // taken when they do not.
    let status = upload_chunked(&server, &g, &child, 300_000).await;
    assert!(status.contains(" 413 "), "{status}");
    assert_eq!(
        stored(&server).await,
        (0, 0, 0),
        "an oversized upload left something"
    );
    let status = upload_chunked(&server, &g, &child, 90_000).await;
    assert!(status.contains(" 201 "), "{status}");
    let (rows, _, _) = stored(&server).await;
    assert_eq!(rows, 1);
    // Cut off halfway: nothing stored.
    upload_cut_off(&server, &g, &child, 90_000, 70_000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rows, chunks, files) = stored(&server).await;
    assert_eq!(rows, 1, "the upload cut off left a row");
    // Only the chunked one: a file on SQLite, two chunk rows on PostgreSQL
    // (nothing in tmp/, no chunk of the one cut off).
    assert!(
        (chunks, files) == (2, 0) || (chunks, files) == (0, 1),
        "{chunks} {files}"
    );

    // References: an unknown id, another child's attachment, a bad id.
    let ok = g.upload_ok(&child, "image/png", png_with("ok", 1000)).await;
    let nakamura = server.login("guardian.nakamura").await;
    let yui = nakamura.child_id(YUI).await;
    let other = nakamura
        .upload_ok(&yui, "image/png", png_with("yui", 1000))
        .await;
    let before = g.all_entries(&child).await.len();
    for refs in [
        json!([uuid_like()]),
        json!([other]),
        json!(["nope"]),
        json!([ok, ok]),
    ] {
        let r = g
            .post_entry(
                &child,
                "family",
                "note",
                json!({"text": "写真", "attachments": refs}),
            )
            .await;
        assert_err(&r, 400, "bad_request");
    }
    assert_eq!(
        g.all_entries(&child).await.len(),
        before,
        "an entry was stored"
    );
    server.check_logs();
}

fn uuid_like() -> String {
    "0190a3b2-7c1e-7000-8000-000000000001".to_string()
}

#[tokio::test]
async fn unreferenced_uploads_are_deleted_after_their_time() {
    let server = Server::demo_with(&["--attachment-ttl-secs", "2"]).await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let kept = g
        .upload_ok(&child, "image/png", png_with("kept", 70_000))
        .await;
    let dropped = g
        .upload_ok(&child, "image/png", png_with("dropped", 70_000))
        .await;
    let (st, e) = g
        .post_entry(
            &child,
            "family",
            "note",
            json!({"text": "写真", "attachments": [kept]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    let (rows, _, _) = stored(&server).await;
    assert_eq!(rows, 2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stored(&server).await.0 > 1 {
        assert!(tokio::time::Instant::now() < deadline, "not collected");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(g.download(&child, &dropped).await.status, 404);
    assert_eq!(g.download(&child, &kept).await.status, 200);
    let (rows, chunks, files) = stored(&server).await;
    assert_eq!(rows, 1);
    // One attachment of two chunks: two chunk rows (PostgreSQL) or one file.
    assert!(
        (chunks, files) == (2, 0) || (chunks, files) == (0, 1),
        "{chunks} {files}"
    );
    server.check_logs();
}

#[tokio::test]
async fn a_restart_removes_files_a_crash_left_and_keeps_the_others() {
    let mut server = Server::demo().await;
    if server.database_url.is_some() {
        return; // PostgreSQL keeps chunks in the database: no files
    }
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let kept = g
        .upload_ok(&child, "image/png", png_with("kept", 1000))
        .await;
    let status = server.terminate().await;
    assert!(status.success(), "{status:?}");
    // As a crash would leave them: a half-written upload, and a file
    // renamed into place whose row was never committed.
    let dir = server.dir.join("attachments");
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("tmp").join(uuid_like()), b"sealed").unwrap();
    let orphan = dir.join(&child).join(uuid_like());
    std::fs::write(&orphan, b"sealed").unwrap();
    server.restart().await;
    assert!(!orphan.exists(), "a file no row names was kept");
    assert!(!dir.join("tmp").exists(), "unfinished uploads were kept");
    let g = server.login("guardian.sato").await;
    assert_eq!(g.download(&child, &kept).await.status, 200);
    server.check_logs();
}
