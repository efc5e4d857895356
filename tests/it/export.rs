//! Export (issue 20, point 2): `POST /children/{id}/export` gives a FHIR R4
//! Bundle that an independent implementation (Python's fhir.resources)
//! validates, a self-contained printable HTML document (emergency card
//! first, revisions marked, child data escaped), and an age file that the
//! stock `age` command opens, with a recipient's key and with a passphrase,
//! holding a tar of `bundle.json`, `notebook.html` and `attachments/`.
//! Who may export: the consent holder, and the youth (before the transfer,
//! only what the youth may see); every export is logged as `export`; bad
//! input is 400 and logs nothing.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

use crate::helpers::*;

/// Status, content type and body of an export.
async fn export(s: &Session, child: &str, body: &Value) -> (u16, String, Vec<u8>) {
    let resp = s
        .api
        .client
        .post(s.api.url(&format!("/api/v1/children/{child}/export")))
        .bearer_auth(&s.access)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

async fn fhir(s: &Session, child: &str) -> Value {
    let (st, ct, body) = export(s, child, &json!({"format": "fhir"})).await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/fhir+json");
    serde_json::from_slice(&body).unwrap()
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

/// Validates with Python's fhir.resources (tests/fhir_validate.py).
fn validate_fhir(bundle: &Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fhir_validate.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bundle.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "fhir.resources refused the Bundle ({:?}; scripts/test installs fhir.resources): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn export_records(g: &Session, child: &str) -> usize {
    let (st, log) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=1000"))
        .await;
    assert_eq!(st, 200, "{log}");
    log.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "export")
        .count()
}

#[tokio::test]
async fn fhir_bundle_validates_and_html_prints_the_card_first() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let child = g.child_id(HINATA).await;
    // A corrected vital and an entry with markup in it.
    let (st, v) = ito
        .post_entry(
            &child,
            "medical",
            "vital",
            json!({"measure": "temperature", "value": 37.2, "unit": "℃"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, rev) = ito
        .post(
            &format!("/api/v1/children/{child}/entries/{}/revisions", v["id"].as_str().unwrap()),
            &json!({"body": {"measure": "temperature", "value": 37.9, "unit": "℃"}, "reason": "測り直し"}),
        )
        .await;
    assert_eq!(st, 201, "{rev}");
    g.note(
        &child,
        "family",
        "<script>alert('x')</script> & <img src=x>",
    )
    .await;
    let entries = g.all_entries(&child).await;

    let bundle = fhir(&g, &child).await;
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    for kind in [
        "Patient",
        "RelatedPerson",
        "Practitioner",
        "Organization",
        "CareTeam",
        "Consent",
        "Communication",
        "Observation",
        "MedicationStatement",
        "CarePlan",
        "AuditEvent",
    ] {
        assert!(
            !resources(&bundle, kind).is_empty(),
            "no {kind} in the Bundle"
        );
    }
    let (_, members) = g.get(&format!("/api/v1/children/{child}/members")).await;
    assert_eq!(
        resources(&bundle, "Consent").len(),
        members.as_array().unwrap().len()
    );
    let comms = resources(&bundle, "Communication");
    assert_eq!(comms.len(), entries.len(), "one Communication per revision");
    let revised = comms
        .iter()
        .find(|c| c["id"] == rev["id"])
        .unwrap_or_else(|| panic!("no Communication for the revision"));
    let ext = revised["extension"].to_string();
    assert!(ext.contains(v["id"].as_str().unwrap()), "{ext}");
    assert_eq!(resources(&bundle, "Patient")[0]["name"][0]["text"], HINATA);
    // The latest revision is the Observation (LOINC, UCUM), amended.
    let temp = resources(&bundle, "Observation")
        .into_iter()
        .find(|o| o["code"]["coding"][0]["code"] == "8310-5")
        .unwrap_or_else(|| panic!("no body temperature Observation"));
    assert_eq!(temp["valueQuantity"]["value"], 37.9);
    assert_eq!(temp["valueQuantity"]["code"], "Cel");
    assert_eq!(temp["status"], "amended");
    assert_eq!(temp["category"][0]["coding"][0]["code"], "vital-signs");
    assert!(resources(&bundle, "Observation")
        .iter()
        .any(|o| o["code"]["coding"][0]["code"] == "2339-0"));
    validate_fhir(&bundle);

    let (st, ct, html) = export(&g, &child, &json!({"format": "html"})).await;
    assert_eq!(st, 200);
    assert_eq!(ct, "text/html; charset=utf-8");
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("@page { size: A4"), "no A4 print style");
    assert!(html.contains("Noto Sans CJK JP"));
    let (_, card) = g
        .get(&format!("/api/v1/children/{child}/emergency-card"))
        .await;
    let summary = card["summary"].as_str().unwrap();
    let card_at = html.find(&escaped(summary)).expect("card summary");
    let entries_at = html.find("id=\"entries\"").expect("entries section");
    assert!(card_at < entries_at, "the emergency card comes first");
    assert!(html.contains(HINATA));
    assert!(html.contains("改訂"), "revisions are marked");
    assert!(!html.contains("<script"), "child data is escaped");
    assert!(!html.contains("<img"), "child data is escaped");
    assert!(html.contains("&lt;script&gt;"));
    // Self-contained: no external resource.
    for external in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
        assert!(!html.contains(external), "external resource: {external}");
    }
    // Entries in seq order.
    let mut last = 0;
    for e in &entries {
        let at = html
            .find(&format!("id=\"seq-{}\"", e["seq"]))
            .unwrap_or_else(|| panic!("seq {} missing", e["seq"]));
        assert!(at > last, "seq order");
        last = at;
    }
    assert_eq!(export_records(&g, &child).await, 2);
    server.check_logs();
}

/// `s` as the HTML export writes it.
pub fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn require_age() {
    let ok = Command::new("age").arg("--version").output().is_ok();
    assert!(
        ok,
        "the stock `age` command is missing (Debian package `age`; scripts/test installs it)"
    );
}

/// The tar's member names, and the extracted folder.
fn untar(tar: &Path, dir: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tf").arg(tar).output().unwrap();
    assert!(
        out.status.success(),
        "tar -t: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success());
    names
}

fn check_archive(tar: &Path, dir: &Path) {
    let names = untar(tar, dir);
    for n in ["bundle.json", "notebook.html", "attachments/"] {
        assert!(names.iter().any(|m| m == n), "{n} not in {names:?}");
    }
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    let html = std::fs::read_to_string(dir.join("notebook.html")).unwrap();
    assert!(html.contains(HINATA));
    assert!(dir.join("attachments").is_dir());
}

#[tokio::test]
async fn age_export_opens_with_the_stock_age_command() {
    require_age();
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&key).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    // A photo and a PDF in the notebook: the age file carries them whole.
    let png = png_with(&server.marker(), 150_000);
    let pdf = pdf_with(&server.marker());
    let png_id = g.upload_ok(&child, "image/png", png.clone()).await;
    let pdf_id = g.upload_ok(&child, "application/pdf", pdf.clone()).await;
    let (st, e) = g
        .post_entry(
            &child,
            "family",
            "note",
            json!({"text": "写真と紹介状", "attachments": [png_id, pdf_id]}),
        )
        .await;
    assert_eq!(st, 201, "{e}");

    // To a recipient: `age -d -i KEYFILE`.
    let (st, ct, sealed) = export(
        &g,
        &child,
        &json!({"format": "age", "recipient": recipient}),
    )
    .await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&sealed));
    assert_eq!(ct, "application/octet-stream");
    assert!(sealed.starts_with(b"age-encryption.org/v1"));
    assert!(find_bytes(&sealed, HINATA.as_bytes()).is_none());
    let file = tmp.path().join("x.age");
    std::fs::write(&file, &sealed).unwrap();
    let tar = tmp.path().join("x.tar");
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(&key)
        .arg("-o")
        .arg(&tar)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join("r");
    std::fs::create_dir(&dir).unwrap();
    check_archive(&tar, &dir);
    let files = dir.join("attachments");
    assert_eq!(
        std::fs::read(files.join(format!("attachment-{png_id}.png"))).unwrap(),
        png
    );
    assert_eq!(
        std::fs::read(files.join(format!("attachment-{pdf_id}.pdf"))).unwrap(),
        pdf
    );
    // The page shows the photo inline (a data: URL) and names the PDF; the
    // bundle points at both files.
    let html = std::fs::read_to_string(dir.join("notebook.html")).unwrap();
    assert!(
        html.contains("<img src=\"data:image/png;base64,"),
        "the photo inline"
    );
    assert!(
        html.contains(&format!("attachment-{pdf_id}.pdf")),
        "the PDF named"
    );
    let bundle = std::fs::read_to_string(dir.join("bundle.json")).unwrap();
    validate_fhir(&serde_json::from_str(&bundle).unwrap());
    for (id, ext) in [(&png_id, "png"), (&pdf_id, "pdf")] {
        assert!(
            bundle.contains(&format!("\"url\": \"attachments/attachment-{id}.{ext}\"")),
            "the bundle points at {id}"
        );
    }

    // To a passphrase (scrypt): the stock age on a terminal.
    let passphrase = format!("export-{}", server.marker());
    server.registry.add("passphrase", &passphrase);
    let (st, _, sealed) = export(
        &g,
        &child,
        &json!({"format": "age", "passphrase": passphrase}),
    )
    .await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&sealed));
    let file = tmp.path().join("p.age");
    std::fs::write(&file, &sealed).unwrap();
    let tar = tmp.path().join("p.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/age_passphrase.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&file)
        .arg(&tar)
        .env("AGE_TEST_PASSPHRASE", &passphrase)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age -d (passphrase): {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dir = tmp.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    check_archive(&tar, &dir);
    // A wrong passphrase does not open it.
    let out = Command::new("python3")
        .arg(&script)
        .arg(&file)
        .arg(tmp.path().join("wrong.tar"))
        .env("AGE_TEST_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(export_records(&g, &child).await, 2);
    server.check_logs();
}

#[tokio::test]
async fn who_may_export_and_bad_input() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let tanaka = server.login("teacher.tanaka").await;
    let mori = server.login("doctor.mori").await;
    let child = g.child_id(HINATA).await;
    let path = format!("/api/v1/children/{child}/export");
    let fhir_body = json!({"format": "fhir"});
    assert_err(&tanaka.post(&path, &fhir_body).await, 403, "forbidden");
    assert_err(&mori.post(&path, &fhir_body).await, 404, "not_found");
    let bad = [
        json!({"format": "pdf"}),
        json!({}),
        json!({"format": "age"}),
        json!({"format": "age", "recipient": "age1notakey", }),
        json!({"format": "age", "passphrase": ""}),
        json!({"format": "age", "passphrase": "x y z", "recipient": "age1qqq"}),
        json!({"format": "html", "passphrase": "secret words"}),
        json!({"format": "fhir", "extra": true}),
    ];
    for b in &bad {
        assert_err(&g.post(&path, b).await, 400, "bad_request");
    }
    assert_eq!(
        export_records(&g, &child).await,
        0,
        "nothing logged as export"
    );

    // The youth before the transfer: only what the youth may see.
    let gw = server.login("guardian.watanabe").await;
    let y = server.login("youth.watanabe").await;
    let ren = gw.child_id(REN).await;
    let (st, m) = gw
        .patch(
            &format!("/api/v1/children/{ren}/members/{}", y.account_id),
            &json!({"categories": ["medical"]}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    let all = gw.all_entries(&ren).await;
    let mine = y.all_entries(&ren).await;
    assert!(mine.len() < all.len(), "{} of {}", mine.len(), all.len());
    let full = fhir(&gw, &ren).await;
    assert_eq!(resources(&full, "Communication").len(), all.len());
    let narrow = fhir(&y, &ren).await;
    let comms = resources(&narrow, "Communication");
    assert_eq!(comms.len(), mine.len());
    assert!(comms
        .iter()
        .all(|c| c["category"][0]["coding"][0]["code"] == "medical"));
    validate_fhir(&narrow);

    // After the transfer: the youth (holder) exports everything; the guardian may not.
    let (st, c) = gw
        .post_empty(&format!("/api/v1/children/{ren}/transfer"))
        .await;
    assert_eq!(st, 200, "{c}");
    assert_err(
        &gw.post(&format!("/api/v1/children/{ren}/export"), &fhir_body)
            .await,
        403,
        "forbidden",
    );
    let after = fhir(&y, &ren).await;
    assert_eq!(
        resources(&after, "Communication").len(),
        gw.all_entries(&ren).await.len()
    );
    assert_eq!(export_records(&y, &ren).await, 3);
    server.check_logs();
}
