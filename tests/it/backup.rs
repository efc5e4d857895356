//! `renraku backup` and `renraku restore` (issue 20.4): a drill (a backup
//! taken while posts continue, more posts, an erasure after it, restored
//! with `--erasures` and served: exactly the entries acknowledged before it
//! started are there, none sent after it finished, and the erased child
//! stays erased), bad inputs that change nothing, and `--keep`. On PostgreSQL
//! the backup carries the key store only; with `pg_dump` on PATH the drill
//! restores the database with `pg_restore` too.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::*;

/// The operator's key pair: (recipient `age1…`, identity file).
fn operator_key(dir: &Path) -> (String, PathBuf) {
    let id = age::x25519::Identity::generate();
    let path = dir.join("operator.key");
    let text = format!("# operator\n{}\n", id.to_string().expose_secret());
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (id.to_public().to_string(), path)
}

/// The operator's identity must never reach a log either.
fn register_identity(server: &Server, identity: &Path) {
    let text = std::fs::read_to_string(identity).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY"))
        .unwrap();
    server.registry.add("operator identity", secret);
}

/// Runs `renraku ARGS`: (success, stdout + stderr). Never a key in its output.
async fn run(args: &[&std::ffi::OsStr]) -> (bool, String) {
    run_keyless(
        tokio::process::Command::new(bin())
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("RENRAKU_DATABASE_URL"),
    )
    .await
}

async fn backup(server: &Server, out: &Path, recipient: &str, extra: &[&str]) -> (bool, String) {
    let mut args: Vec<OsString> = vec!["backup".into(), "--data-dir".into()];
    args.push(server.dir.clone().into());
    args.extend([
        "--out".into(),
        out.into(),
        "--recipient".into(),
        recipient.into(),
    ]);
    if let Some(url) = &server.database_url {
        args.extend(["--database-url".into(), url.into()]);
    }
    args.extend(extra.iter().map(OsString::from));
    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    run(&args).await
}

async fn restore(from: &Path, identity: &Path, dir: &Path) -> (bool, String) {
    restore_with(from, identity, dir, &[]).await
}

async fn restore_with(
    from: &Path,
    identity: &Path,
    dir: &Path,
    extra: &[&std::ffi::OsStr],
) -> (bool, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "restore".as_ref(),
        "--from".as_ref(),
        from.as_os_str(),
        "--identity".as_ref(),
        identity.as_os_str(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
    ];
    args.extend_from_slice(extra);
    run(&args).await
}

/// The child's wrapped data key as the database at `dir` holds it (SQLite).
async fn sqlite_wrapped_key(dir: &Path, child: &str) -> Vec<u8> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", dir.join("renraku.db").display());
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("select wrapped_key from child where id = $1")
        .bind(child)
        .fetch_one(&mut db)
        .await
        .unwrap()
        .try_get("wrapped_key")
        .unwrap()
}

/// No private temporary folder left in `dir`.
fn no_leftovers(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".renraku-") || n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "left in {}: {left:?}", dir.display());
}

/// Every key file of a data dir: name → bytes.
fn key_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// One post of the loop: its text, when it was sent, when its 201 came.
struct Posted {
    text: String,
    sent: Instant,
    acked: Instant,
}

/// Posts notes to Hinata's notebook until `stop`; every one must get 201.
fn posting_loop(
    g: Session,
    child: String,
    marker: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<Posted>> {
    tokio::spawn(async move {
        let mut done = Vec::new();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let text = format!("drill {n} {marker}");
            let sent = Instant::now();
            g.note(&child, "family", &text).await;
            done.push(Posted {
                text,
                sent,
                acked: Instant::now(),
            });
            n += 1;
        }
        done
    })
}

/// The texts of Hinata's entries as the restored server shows them, after
/// checking that every family login reads every child it sees, and that
/// `erased` (Yui) is gone for everyone.
async fn restored_texts(server: &Server, child: &str, erased: &str) -> Vec<String> {
    let mut children = std::collections::BTreeSet::new();
    for login in [
        "guardian.sato",
        "guardian.takahashi",
        "guardian.watanabe",
        "guardian.nakamura",
        "youth.watanabe",
    ] {
        let s = server.login(login).await;
        for c in s.children().await {
            let id = c["id"].as_str().unwrap().to_string();
            assert!(c["name"].as_str().is_some_and(|n| !n.is_empty()), "{c}");
            s.all_entries(&id).await; // every page answers 200
            children.insert(id);
        }
    }
    assert_eq!(children.len(), 3, "the demo children but Yui: {children:?}");
    assert!(!children.contains(erased));
    for login in ["guardian.nakamura", "doctor.ito", "admin"] {
        let s = server.login(login).await;
        let (st, _) = s.get(&format!("/api/v1/children/{erased}")).await;
        assert_eq!(st, 404, "{login} reads the erased child");
    }
    let g = server.login("guardian.sato").await;
    g.all_entries(child)
        .await
        .iter()
        .map(|e| e["body"].to_string())
        .collect()
}

#[tokio::test]
async fn a_backup_taken_while_posting_restores_exactly_what_was_acknowledged() {
    let mut server = Server::demo_with(&NO_WRITE_LIMITS).await;
    let tmp = tempfile::tempdir().unwrap();
    let (recipient, identity) = operator_key(tmp.path());
    register_identity(&server, &identity);
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let marker = server.marker();
    // An attachment (sealed files on SQLite, rows on PostgreSQL) comes back too.
    let png = png_with(&marker, 150_000);
    let aid = g.upload_ok(&child, "image/png", png.clone()).await;
    let (st, e) = g
        .post_entry(
            &child,
            "family",
            "note",
            json!({"text": "写真", "attachments": [aid]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");
    let stop = Arc::new(AtomicBool::new(false));
    let poster = posting_loop(g.clone(), child.clone(), marker.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;

    let out = tmp.path().join("backups").join("renraku-1.age");
    std::fs::create_dir(out.parent().unwrap()).unwrap();
    let pg_dump = pg_dump_available(&server);
    let dump = tmp.path().join("renraku.pgdump");
    let started = Instant::now();
    let (ok, text) = backup(&server, &out, &recipient, &[]).await;
    let finished = Instant::now();
    if let (Some(url), true) = (&server.database_url, pg_dump) {
        pg_dump_to(url, &dump).await;
    }
    let dumped = Instant::now();
    assert!(ok, "{text}");
    let size = std::fs::metadata(&out).unwrap().len();
    eprintln!(
        "backup of the demo while posting: {:?}, {size} bytes: {text}",
        finished - started
    );
    assert!(text.contains("backup: wrote"), "{text}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
    no_leftovers(&server.dir);
    no_leftovers(out.parent().unwrap());

    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let posted = poster.await.unwrap();

    // After the backup, Yui's guardian asks for an erasure and the admin
    // confirms it; the live tombstone list is copied for the restore.
    let nakamura = server.login("guardian.nakamura").await;
    let yui = nakamura.child_id(YUI).await;
    let yui_key = match &server.database_url {
        None => sqlite_wrapped_key(&server.dir, &yui).await,
        Some(_) => Vec::new(),
    };
    let (st, v) = nakamura
        .post_empty(&format!("/api/v1/children/{yui}/erase"))
        .await;
    assert_eq!(st, 200, "{v}");
    let admin = server.login("admin").await;
    let (st, v) = admin
        .post_empty(&format!("/api/v1/admin/erasures/{yui}/confirm"))
        .await;
    assert_eq!(st, 200, "{v}");
    let live_erasures = tmp.path().join("erasures-live");
    std::fs::copy(server.dir.join("keys/erasures"), &live_erasures).unwrap();
    assert!(server.terminate().await.success());

    // Without --erasures the backup brings Yui's key back (it was taken
    // before the erasure)...
    if server.database_url.is_none() {
        let plain = tmp.path().join("restored-without-erasures");
        let (ok, text) = restore(&out, &identity, &plain).await;
        assert!(ok, "{text}");
        assert_eq!(sqlite_wrapped_key(&plain, &yui).await, yui_key);
        std::fs::remove_dir_all(&plain).unwrap();
    }
    // ...with them, the erasure is applied again, before anyone serves it.
    let restored = tmp.path().join("restored");
    let (ok, text) = restore_with(
        &out,
        &identity,
        &restored,
        &["--erasures".as_ref(), live_erasures.as_os_str()],
    )
    .await;
    assert!(ok, "{text}");
    assert!(
        text.contains("1 erasures added from --erasures (1 recorded after"),
        "{text}"
    );
    if server.database_url.is_none() {
        assert!(sqlite_wrapped_key(&restored, &yui).await.is_empty());
        for (path, bytes) in Server::files_under(&restored) {
            assert!(
                find_bytes(&bytes, &yui_key[yui_key.len() - 64..]).is_none(),
                "Yui's wrapped key is in {}",
                path.display()
            );
        }
    }
    let mode = std::fs::metadata(&restored).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    for (name, _) in key_files(&restored) {
        let mode = std::fs::metadata(restored.join("keys").join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
    // The key store comes back as it was (the TLS pair is made anew), the
    // tombstone list now included.
    let original: Vec<_> = key_files(&server.dir)
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".tmp"))
        .collect();
    assert_eq!(key_files(&restored), original);

    // When (and where) the posts landed: before, during, after the backup.
    let (end, db_url) = match &server.database_url {
        None => {
            assert!(text.contains("sqlite"), "{text}");
            (finished, None)
        }
        Some(_) => {
            assert!(
                text.contains("postgres") && text.contains("pg_restore"),
                "{text}"
            );
            if !pg_dump {
                eprintln!("pg_dump is not on PATH: the PostgreSQL drill checks the key store only");
                return;
            }
            let base = test_postgres().unwrap();
            let url = fresh_database(&base).await;
            pg_restore_from(&url, &dump).await;
            (dumped, Some(url))
        }
    };
    let before: Vec<_> = posted.iter().filter(|p| p.acked < started).collect();
    let after: Vec<_> = posted.iter().filter(|p| p.sent > end).collect();
    let during = posted.len() - before.len() - after.len();
    eprintln!(
        "posts: {} acknowledged before the backup, {during} during, {} sent after it",
        before.len(),
        after.len()
    );
    assert!(
        !before.is_empty() && !after.is_empty(),
        "posts before and after"
    );

    let server2 = Server::serve_dir(restored.clone(), db_url, server.registry.clone()).await;
    let texts = restored_texts(&server2, &child, &yui).await;
    let has = |t: &str| texts.iter().any(|b| b.contains(&format!("{t}\"")));
    for p in &before {
        assert!(
            has(&p.text),
            "acknowledged before the backup, missing: {}",
            p.text
        );
    }
    for p in &after {
        assert!(
            !has(&p.text),
            "sent after the backup finished, present: {}",
            p.text
        );
    }
    let acked_after = posted
        .iter()
        .filter(|p| p.acked > end && has(&p.text))
        .count();
    eprintln!("{acked_after} post(s) committed before the snapshot were acknowledged after the backup ended");
    let d = server2
        .login("guardian.sato")
        .await
        .download(&child, &aid)
        .await;
    assert_eq!(d.status, 200, "the attachment after the restore");
    assert!(d.bytes == png, "the restored attachment differs");
    server2.check_logs();
}

/// PostgreSQL with `pg_dump` and `pg_restore` on PATH.
fn pg_dump_available(server: &Server) -> bool {
    server.database_url.is_some()
        && ["pg_dump", "pg_restore"].iter().all(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

async fn pg_dump_to(url: &str, file: &Path) {
    let st = tokio::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(file)
        .arg(url)
        .status()
        .await
        .unwrap();
    assert!(st.success(), "pg_dump");
}

async fn pg_restore_from(url: &str, file: &Path) {
    let st = tokio::process::Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", url])
        .arg(file)
        .status()
        .await
        .unwrap();
    assert!(st.success(), "pg_restore");
}

/// Asserts a restore failed with `why`, and left nothing behind.
async fn refused_restore(from: &Path, identity: &Path, dir: &Path, why: &str) {
    let (ok, text) = restore(from, identity, dir).await;
    assert!(!ok, "restored: {text}");
    assert!(text.contains(why), "expected {why:?}: {text}");
    assert!(!dir.exists(), "{} was created", dir.display());
    no_leftovers(dir.parent().unwrap());
}

#[tokio::test]
async fn bad_backups_and_targets_are_refused_and_change_nothing() {
    let server = Server::demo().await;
    let tmp = tempfile::tempdir().unwrap();
    let (recipient, identity) = operator_key(tmp.path());
    register_identity(&server, &identity);
    let good = tmp.path().join("good.age");
    let (ok, text) = backup(&server, &good, &recipient, &[]).await;
    assert!(ok, "{text}");
    let target = tmp.path().join("restored");
    // The label in the age header, in clear: how `--keep` knows its files.
    let head = std::fs::read(&good).unwrap();
    let head = String::from_utf8_lossy(&head[..300]);
    assert!(
        head.starts_with("age-encryption.org/v1\n-> X25519 "),
        "{head}"
    );
    assert!(head.contains("\n-> renraku-backup 1 "), "{head}");

    // Not an age file.
    let junk = tmp.path().join("junk.age");
    std::fs::write(&junk, b"hello, not a backup\n").unwrap();
    refused_restore(&junk, &identity, &target, "not an age file").await;
    // An age file, to the same recipient, but not a backup.
    let other = tmp.path().join("other.age");
    let r: age::x25519::Recipient = recipient.parse().unwrap();
    std::fs::write(&other, age::encrypt(&r, b"some tar").unwrap()).unwrap();
    refused_restore(&other, &identity, &target, "not a renraku backup").await;
    // Another identity.
    std::fs::create_dir(tmp.path().join("x")).unwrap();
    let (_, stranger) = operator_key(&tmp.path().join("x"));
    refused_restore(&good, &stranger, &target, "not for that identity").await;
    // Cut short: in the middle, and just before the last chunk's end.
    let bytes = std::fs::read(&good).unwrap();
    for keep in [bytes.len() / 2, bytes.len() - 10] {
        let cut = tmp.path().join(format!("cut-{keep}.age"));
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        refused_restore(&cut, &identity, &target, "truncated").await;
    }
    // A target that exists and is not empty: left exactly as it was.
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("precious.txt"), b"mine").unwrap();
    let (ok, text) = restore(&good, &identity, &target).await;
    assert!(!ok && text.contains("not empty"), "{text}");
    let names: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["precious.txt"]);
    assert_eq!(std::fs::read(target.join("precious.txt")).unwrap(), b"mine");
    // A backup that fails after copying the database leaves no copy behind.
    let nowhere = tmp.path().join("missing-folder").join("b.age");
    let (ok, text) = backup(&server, &nowhere, &recipient, &[]).await;
    assert!(!ok, "{text}");
    no_leftovers(&server.dir);
    // The data dir's own key is refused as the recipient.
    let master = std::fs::read_to_string(server.dir.join("keys/master.age")).unwrap();
    let own: age::x25519::Identity = master.trim().parse().unwrap();
    let own = own.to_public().to_string();
    let (ok, text) = backup(&server, &tmp.path().join("own.age"), &own, &[]).await;
    assert!(!ok && text.contains("own master key"), "{text}");
    // And the good one restores into an empty folder.
    std::fs::remove_file(target.join("precious.txt")).unwrap();
    let (ok, text) = restore(&good, &identity, &target).await;
    assert!(ok, "{text}");
    assert!(target.join("keys/master.age").exists());
    // On PostgreSQL the database is pg_dump's to carry.
    assert_eq!(
        target.join("renraku.db").exists(),
        server.database_url.is_none()
    );
    server.check_logs();
}

#[tokio::test]
async fn keep_two_leaves_the_two_newest_and_other_files_alone() {
    let mut server = Server::demo().await;
    let tmp = tempfile::tempdir().unwrap();
    let (recipient, identity) = operator_key(tmp.path());
    register_identity(&server, &identity);
    let folder = tmp.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("notes.txt"), b"not a backup").unwrap();
    let r: age::x25519::Recipient = recipient.parse().unwrap();
    std::fs::write(
        folder.join("export.age"),
        age::encrypt(&r, b"an export").unwrap(),
    )
    .unwrap();
    // Names in the opposite order to the times: only content counts.
    let names = ["zz-first", "mm-second.age", "aa-third.bak"];
    for (n, name) in names.iter().enumerate() {
        if n == 2 {
            // A backup of a stopped server's data dir works the same.
            assert!(server.terminate().await.success());
        }
        let (ok, text) = backup(&server, &folder.join(name), &recipient, &["--keep", "2"]).await;
        assert!(ok, "{text}");
        if n == 2 {
            assert!(
                text.contains("removed 1 older backup") && text.contains("zz-first"),
                "{text}"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut left: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["aa-third.bak", "export.age", "mm-second.age", "notes.txt"]
    );
    server.check_logs();
}

#[tokio::test]
async fn an_interrupted_backup_leaves_no_database_copy_and_no_file() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let server = Server::demo().await;
    if server.database_url.is_some() {
        return; // no database copy on PostgreSQL
    }
    let tmp = tempfile::tempdir().unwrap();
    let (recipient, identity) = operator_key(tmp.path());
    register_identity(&server, &identity);
    let out = tmp.path().join("b.age");
    let mut child = tokio::process::Command::new(bin())
        .arg("backup")
        .arg("--data-dir")
        .arg(&server.dir)
        .arg("--out")
        .arg(&out)
        .args(["--recipient", &recipient])
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DATABASE_URL")
        .env("RENRAKU_TEST_BACKUP_PAUSE", "true")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("pausing") {
                return;
            }
        }
        panic!("backup exited before pausing");
    })
    .await
    .expect("backup pauses after the copy");
    let copies: Vec<_> = std::fs::read_dir(&server.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".renraku-")
        })
        .collect();
    assert_eq!(copies.len(), 1, "the private folder exists meanwhile");
    let mode = std::fs::metadata(&copies[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("backup exits on SIGTERM")
        .unwrap();
    assert!(!status.success());
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
    }
    assert!(rest.contains("interrupted"), "{rest}");
    no_leftovers(&server.dir);
    assert!(!out.exists());
    no_leftovers(tmp.path());
    server.check_logs();
}
