//! The end of a record (issue 20, point 3): erasure by crypto-shredding
//! (a guardian asks, an administrator confirms; the child then answers 404
//! to everyone, open sockets drop it, the access log keeps its metadata,
//! the tombstone list names it, and on SQLite the wrapped key's bytes are
//! gone from every file of the data dir), and closing a notebook (read-only;
//! listed once past `--retention-years`; erasable then without a request).

use serde_json::json;
use sqlx::Row;

use crate::helpers::*;

async fn wrapped_key(server: &Server, child: &str) -> Vec<u8> {
    let mut db = database(server, false).await;
    sqlx::query("select wrapped_key from child where id = $1")
        .bind(child)
        .fetch_one(&mut db)
        .await
        .unwrap()
        .try_get("wrapped_key")
        .unwrap()
}

async fn access_actions(server: &Server, child: &str) -> Vec<String> {
    let mut db = database(server, false).await;
    sqlx::query("select action from access_log where child_id = $1 order by id")
        .bind(child)
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("action").unwrap())
        .collect()
}

#[tokio::test]
async fn an_erasure_asked_by_the_guardian_and_confirmed_leaves_nothing_readable() {
    let mut server = Server::demo().await;
    let g = server.login("guardian.nakamura").await;
    let ito = server.login("doctor.ito").await;
    let admin = server.login("admin").await;
    let child = g.child_id(YUI).await;
    let erase = format!("/api/v1/children/{child}/erase");
    let confirm = format!("/api/v1/admin/erasures/{child}/confirm");
    let key_before = wrapped_key(&server, &child).await;
    assert!(key_before.len() > 100, "an age-wrapped key");

    // A photo in the notebook, as a file (SQLite) or rows (PostgreSQL).
    let photo = g
        .upload_ok(&child, "image/png", png_with(&server.marker(), 200_000))
        .await;
    let (st, e) = g
        .post_entry(
            &child,
            "family",
            "note",
            json!({"text": "写真", "attachments": [photo]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    let files = server.dir.join("attachments").join(&child);
    assert_eq!(files.exists(), server.database_url.is_none());

    // Dr Ito watches the notebook.
    let mut ws = ito.ws().await;
    ws.subscribe(&child, 0).await;

    // Only the consent holder asks; the admin is no member; nothing to
    // confirm yet.
    assert_err(&ito.post_empty(&erase).await, 403, "forbidden");
    assert_err(&admin.post_empty(&erase).await, 404, "not_found");
    assert_err(&admin.post_empty(&confirm).await, 409, "conflict");
    assert_err(&g.post_empty(&confirm).await, 403, "forbidden");
    assert_err(&g.get("/api/v1/admin/erasures").await, 403, "forbidden");
    assert!(g.get(&format!("/api/v1/children/{child}")).await.0 == 200);

    let (st, v) = g.post_empty(&erase).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v, json!({"status": "erase_requested"}));
    // Asked twice: the first request stands.
    let (st, v) = g.post_empty(&erase).await;
    assert_eq!((st, v["status"].as_str()), (200, Some("erase_requested")));
    let (st, list) = admin.get("/api/v1/admin/erasures").await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["child_id"], child);
    assert_eq!(list[0]["requested_by"], g.account_id);
    // The notebook is still whole until an administrator confirms.
    assert_eq!(
        ito.get(&format!("/api/v1/children/{child}/entries"))
            .await
            .0,
        200
    );

    let (st, v) = admin.post_empty(&confirm).await;
    assert_eq!(st, 200, "{v} {}", server.log());
    assert_eq!(v["status"], "erased");
    assert_eq!(v["child_id"], child);

    // Dr Ito's open socket loses the child at once.
    let (frame, _) = ws.recv_type("membership").await;
    assert_eq!(frame["child_id"], child, "{frame}");
    assert_eq!(frame["status"], "revoked", "{frame}");

    // 404 to everyone, on every route; gone from the lists.
    for s in [&g, &ito, &admin] {
        for path in [
            format!("/api/v1/children/{child}"),
            format!("/api/v1/children/{child}/entries"),
            format!("/api/v1/children/{child}/members"),
            format!("/api/v1/children/{child}/emergency-card"),
            format!("/api/v1/children/{child}/access-log"),
            format!("/api/v1/children/{child}/attachments/{photo}"),
        ] {
            assert_err(&s.get(&path).await, 404, "not_found");
        }
        assert!(
            s.children().await.iter().all(|c| c["id"] != child.as_str()),
            "still listed"
        );
    }
    assert_err(
        &g.post_entry(&child, "family", "note", json!({"text": "x"}))
            .await,
        404,
        "not_found",
    );
    assert_err(&g.post_empty(&erase).await, 404, "not_found");
    assert_err(&admin.post_empty(&confirm).await, 404, "not_found");
    let (_, list) = admin.get("/api/v1/admin/erasures").await;
    assert_eq!(list, json!([]));

    // The access log keeps who did what, without content.
    let actions = access_actions(&server, &child).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "erase").count(),
        2,
        "requested and confirmed: {actions:?}"
    );
    assert!(actions.iter().any(|a| a == "post"), "{actions:?}");
    // The key and the profile are blank; nothing sealed is left.
    assert!(wrapped_key(&server, &child).await.is_empty());
    let mut db = database(&server, false).await;
    for table in [
        "entry",
        "emergency_card_version",
        "alert",
        "read_mark",
        "attachment",
        "attachment_ref",
    ] {
        let n: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table} where child_id = $1"))
                .bind(&child)
                .fetch_one(&mut db)
                .await
                .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    let chunks: i64 =
        sqlx::query_scalar("select count(*) from attachment_chunk where attachment_id = $1")
            .bind(&photo)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(chunks, 0);
    drop(db);
    assert!(!files.exists(), "the attachment files are gone");

    // The tombstone list names the child (ids and times only).
    let tombstones = std::fs::read_to_string(server.dir.join("keys").join("erasures")).unwrap();
    assert!(tombstones.contains(&child), "{tombstones}");
    assert!(!tombstones.contains("中村"), "{tombstones}");

    // On SQLite no file of the data dir holds the wrapped key any more
    // (secure_delete, and the WAL truncated).
    if server.database_url.is_none() {
        for (path, bytes) in server.data_files() {
            assert!(
                find_bytes(&bytes, &key_before[key_before.len() - 64..]).is_none(),
                "the wrapped key is still in {}",
                path.display()
            );
        }
    }

    // After a restart, still erased; the others' notebooks are whole.
    server.restart().await;
    let g = server.login("guardian.nakamura").await;
    assert_err(
        &g.get(&format!("/api/v1/children/{child}")).await,
        404,
        "not_found",
    );
    let sato = server.login("guardian.sato").await;
    let hinata = sato.child_id(HINATA).await;
    assert!(!sato.all_entries(&hinata).await.is_empty());
    server.check_logs();
}

#[tokio::test]
async fn a_closed_notebook_is_read_only_and_listed_once_past_retention() {
    let server = Server::demo_with(&["--retention-years", "0"]).await;
    let sato = server.login("guardian.sato").await;
    let takahashi = server.login("guardian.takahashi").await;
    let admin = server.login("admin").await;
    let hinata = sato.child_id(HINATA).await;
    let sota = takahashi.child_id(SOTA).await;
    let close = |c: &str| format!("/api/v1/children/{c}/close");
    let reopen = |c: &str| format!("/api/v1/children/{c}/reopen");

    // A member who neither holds consent nor coordinates may not close it.
    let teacher = server.login("teacher.tanaka").await;
    assert_err(&teacher.post_empty(&close(&hinata)).await, 403, "forbidden");
    let (st, due) = admin.get("/api/v1/admin/retention").await;
    assert_eq!((st, due), (200, json!([])));

    let mut ws = sato.ws().await;
    ws.subscribe(&hinata, 0).await;
    let (st, c) = sato.post_empty(&close(&hinata)).await;
    assert_eq!(st, 200, "{c}");
    assert!(c["closed_at"].is_string(), "{c}");
    assert_err(&sato.post_empty(&close(&hinata)).await, 409, "conflict");
    let listed = sato.children().await;
    let row = listed.iter().find(|c| c["id"] == hinata.as_str()).unwrap();
    assert!(row["closed_at"].is_string(), "{row}");

    // Read-only: reads answer, every write is 409.
    assert_eq!(
        sato.get(&format!("/api/v1/children/{hinata}/entries"))
            .await
            .0,
        200
    );
    assert_err(
        &sato
            .post_entry(&hinata, "family", "note", json!({"text": "after"}))
            .await,
        409,
        "conflict",
    );
    let err = ws
        .post(
            &hinata,
            "closed-1",
            "family",
            "note",
            json!({"text": "after"}),
        )
        .await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["code"], "conflict", "{err}");
    assert_err(
        &sato
            .post(
                &format!("/api/v1/children/{hinata}/alerts"),
                &json!({"message": "x"}),
            )
            .await,
        409,
        "conflict",
    );
    assert!(sato
        .all_entries(&hinata)
        .await
        .iter()
        .all(|e| e["body"]["text"] != "after"));

    // Past the retention period (0 years here): listed, and erasable
    // without a request; an open notebook is not.
    let (st, due) = admin.get("/api/v1/admin/retention").await;
    assert_eq!(st, 200, "{due}");
    let due = due.as_array().unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["child_id"], hinata);
    assert_eq!(due[0]["due_at"], due[0]["closed_at"]);
    assert_err(&sato.get("/api/v1/admin/retention").await, 403, "forbidden");
    assert_err(
        &admin
            .post_empty(&format!("/api/v1/admin/erasures/{sota}/confirm"))
            .await,
        409,
        "conflict",
    );

    // Reopened by an administrator only; then writable again.
    let (st, _) = takahashi.post_empty(&close(&sota)).await;
    assert_eq!(st, 200);
    assert_err(
        &takahashi.post_empty(&reopen(&sota)).await,
        403,
        "forbidden",
    );
    let (st, c) = admin.post_empty(&reopen(&sota)).await;
    assert_eq!(st, 200, "{c}");
    assert!(c["closed_at"].is_null(), "{c}");
    assert_err(&admin.post_empty(&reopen(&sota)).await, 409, "conflict");
    takahashi.note(&sota, "family", "support resumed").await;

    let (st, v) = admin
        .post_empty(&format!("/api/v1/admin/erasures/{hinata}/confirm"))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_err(
        &sato.get(&format!("/api/v1/children/{hinata}")).await,
        404,
        "not_found",
    );
    let (_, due) = admin.get("/api/v1/admin/retention").await;
    assert_eq!(due, json!([]));
    let actions = access_actions(&server, &hinata).await;
    assert!(actions.iter().any(|a| a == "close"), "{actions:?}");
    server.check_logs();
}

#[tokio::test]
async fn an_erasure_confirmed_on_node_a_reaches_sockets_and_keys_on_node_b() {
    if test_postgres().is_none() {
        return;
    }
    let a = Server::demo().await;
    let b = a.second_node(&[]).await;
    let g_a = a.login("guardian.nakamura").await;
    let admin_a = a.login("admin").await;
    let ito_b = b.login("doctor.ito").await;
    let child = g_a.child_id(YUI).await;
    // Node B reads the notebook (its key is in B's cache) and watches it.
    assert_eq!(
        ito_b
            .get(&format!("/api/v1/children/{child}/entries"))
            .await
            .0,
        200
    );
    let mut ws = ito_b.ws().await;
    ws.subscribe(&child, 0).await;
    let (st, _) = g_a
        .post_empty(&format!("/api/v1/children/{child}/erase"))
        .await;
    assert_eq!(st, 200);
    let (st, v) = admin_a
        .post_empty(&format!("/api/v1/admin/erasures/{child}/confirm"))
        .await;
    assert_eq!(st, 200, "{v}");
    let (frame, _) = ws.recv_type("membership").await;
    assert_eq!(frame["status"], "revoked", "{frame}");
    // Node B no longer serves anything of the child, to anyone.
    for s in [&ito_b, &b.login("guardian.nakamura").await] {
        assert_err(
            &s.get(&format!("/api/v1/children/{child}/entries")).await,
            404,
            "not_found",
        );
        assert_err(
            &s.get(&format!("/api/v1/children/{child}")).await,
            404,
            "not_found",
        );
    }
    a.check_logs();
    b.check_logs();
}
