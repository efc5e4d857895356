//! Search within a notebook (issue 21, point 5): latest revisions only,
//! NFKC and case folded (full- and half-width forms match), newest first,
//! and never an entry the member may not see (category, history_from,
//! other children, non-members); the query never reaches the access log.

use serde_json::json;

use crate::helpers::*;

async fn search(s: &Session, child: &str, q: &str) -> Vec<serde_json::Value> {
    let url = format!("/api/v1/children/{child}/search?q={}", urlencode(q));
    let (st, v) = s.get(&url).await;
    assert_eq!(st, 200, "{q}: {v}");
    v["entries"].as_array().unwrap().clone()
}

fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn search_finds_what_the_member_may_see_folded_and_current() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let teacher = server.login("teacher.tanaka").await;
    let ito = server.login("doctor.ito").await;
    let hinata = g.child_id(HINATA).await;
    let word = server.marker();

    // Full-width letters and digits in a medical entry; the teacher
    // (education only) may not see it.
    let medical = g
        .note(
            &hinata,
            "medical",
            &format!("ＩＮＳＵＬＩＮ ４単位 {word} ｲﾝｽﾘﾝ"),
        )
        .await;
    let school = g
        .note(&hinata, "education", &format!("insulin at school {word}"))
        .await;
    // A corrected entry: only its current text is found.
    let old = g
        .note(&hinata, "education", &format!("古い文言 {word}"))
        .await;
    let (st, rev) = g
        .post(
            &format!(
                "/api/v1/children/{hinata}/entries/{}/revisions",
                old["id"].as_str().unwrap()
            ),
            &json!({"body": {"text": format!("新しい文言 {word}")}, "reason": "訂正"}),
        )
        .await;
    assert_eq!(st, 201, "{rev}");

    // Half-width, lower case finds the full-width entry; newest first.
    let found = search(&g, &hinata, "insulin 4").await;
    assert!(found.iter().any(|e| e["id"] == medical["id"]), "{found:?}");
    let found = search(&g, &hinata, &word).await;
    let ids: Vec<_> = found.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(
        ids,
        vec![
            rev["id"].clone(),
            school["id"].clone(),
            medical["id"].clone()
        ]
    );
    let found = search(&g, &hinata, "インスリン").await;
    assert!(
        found.iter().any(|e| e["id"] == medical["id"]),
        "half-width kana: {found:?}"
    );
    assert!(search(&g, &hinata, &format!("古い文言 {word}"))
        .await
        .is_empty());
    assert_eq!(search(&g, &hinata, "新しい文言").await[0]["id"], rev["id"]);

    // The teacher: education only.
    let found = search(&teacher, &hinata, &word).await;
    let ids: Vec<_> = found.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(ids, vec![rev["id"].clone(), school["id"].clone()]);
    // Dr Ito: medical and health, not education.
    let found = search(&ito, &hinata, &word).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], medical["id"]);

    // Not a member of that child, another child, bad queries.
    let takahashi = server.login("guardian.takahashi").await;
    assert_err(
        &takahashi
            .get(&format!("/api/v1/children/{hinata}/search?q=insulin"))
            .await,
        404,
        "not_found",
    );
    let sota = takahashi.child_id(SOTA).await;
    assert!(search(&takahashi, &sota, &word).await.is_empty());
    for bad in ["", "q=", "q=%20%20", "x=1"] {
        let url = format!("/api/v1/children/{hinata}/search?{bad}");
        assert_err(&g.get(&url).await, 400, "bad_request");
    }
    let long = "あ".repeat(201);
    assert_err(
        &g.get(&format!(
            "/api/v1/children/{hinata}/search?q={}",
            urlencode(&long)
        ))
        .await,
        400,
        "bad_request",
    );

    // Logged as a read, without the query.
    let (st, log) = g
        .get(&format!("/api/v1/children/{hinata}/access-log"))
        .await;
    assert_eq!(st, 200);
    let text = log.to_string();
    assert!(text.contains("search"), "{text}");
    assert!(!text.contains(&word), "the query reached the access log");
    server.check_logs();
}
