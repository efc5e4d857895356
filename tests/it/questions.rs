//! Addressed entries and questions (issue 21, point 1): a question reaches
//! its addressee's inbox across children, a reply by an addressee answers it
//! (live on the asker's socket), a reply by anyone else does not, the author
//! or an addressee can mark it done; bad addressees and replies are 400 and
//! store nothing; the inbox follows consent.

use serde_json::{json, Value};

use crate::helpers::*;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn entries_of(child: &str) -> String {
    format!("/api/v1/children/{child}/entries")
}

/// The ids of the entries in my inbox, in its order.
async fn inbox(s: &Session) -> Vec<String> {
    let (st, v) = s.get("/api/v1/inbox").await;
    assert_eq!(st, 200, "inbox of {}: {v}", s.login);
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["state"], "open", "{e}");
            assert!(e["to"].as_array().unwrap().contains(&json!(s.account_id)));
            e["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

async fn state_of(s: &Session, child: &str, id: &Value) -> Value {
    let all = s.all_entries(child).await;
    let e = all.iter().find(|e| e["id"] == *id).expect("entry listed");
    e["state"].clone()
}

/// A demo server and, on Hinata's notebook, the mother, Dr Ito (medical),
/// the school nurse (medical too) and the class teacher (no medical).
async fn hinatas_notebook() -> (Server, [Session; 4]) {
    let server = Server::demo().await;
    let mut cast = Vec::new();
    for login in [
        "guardian.sato",
        "doctor.ito",
        "schoolnurse.ogawa",
        "teacher.tanaka",
    ] {
        cast.push(server.login(login).await);
    }
    let cast: [Session; 4] = cast.try_into().unwrap_or_else(|_| unreachable!());
    (server, cast)
}

#[tokio::test]
async fn a_question_reaches_the_addressee_and_closes_when_an_addressee_replies() {
    let (server, [sato, ito, ogawa, tanaka]) = hinatas_notebook().await;
    let hinata = sato.child_id(HINATA).await;
    let sota = ito.child_id(SOTA).await;
    let word = server.marker();
    let mut sato_ws = sato.ws().await;
    sato_ws
        .subscribe(&hinata, sato.last_seq(&hinata).await)
        .await;

    // The mother asks Dr Ito.
    let (st, q) = sato
        .post(
            &entries_of(&hinata),
            &json!({"client_id": unique("q"), "category": "medical", "kind": "note",
                "body": {"text": format!("伊藤先生、夜間の低血糖が続いています {word}")},
                "to": [ito.account_id], "needs_reply": true}),
        )
        .await;
    assert_eq!(st, 201, "{q}");
    assert_eq!(q["to"], json!([ito.account_id]));
    assert_eq!(q["needs_reply"], true);
    assert_eq!(q["reply_to"], Value::Null);
    assert_eq!(q["state"], "open");
    let qid = q["id"].as_str().unwrap().to_owned();
    assert!(inbox(&ito).await.contains(&qid));
    assert!(!inbox(&sato).await.contains(&qid), "not addressed to her");
    assert!(!inbox(&ogawa).await.contains(&qid), "not addressed to her");
    // A second question in another notebook comes after it (oldest first).
    let coordinator = server.login("coordinator.yamada").await;
    let (st, later) = coordinator
        .post(
            &entries_of(&sota),
            &json!({"client_id": unique("q"), "category": "medical", "kind": "note",
                "body": {"text": "吸引の回数について"}, "to": [ito.account_id], "needs_reply": true}),
        )
        .await;
    assert_eq!(st, 201, "{later}");
    let box_ = inbox(&ito).await;
    let pos = |id: &str| box_.iter().position(|x| x == id).unwrap();
    assert!(pos(&qid) < pos(later["id"].as_str().unwrap()), "{box_:?}");

    // A reply by someone who was not asked leaves it open.
    let (st, aside) = ogawa
        .post(
            &entries_of(&hinata),
            &json!({"client_id": unique("r"), "category": "medical", "kind": "note",
                "body": {"text": "学校でも夜の様子を気にかけます"}, "reply_to": qid}),
        )
        .await;
    assert_eq!(st, 201, "{aside}");
    assert_eq!(aside["reply_to"], qid.as_str());
    assert_eq!(aside["state"], Value::Null);
    assert_eq!(state_of(&sato, &hinata, &q["id"]).await, "open");
    assert!(inbox(&ito).await.contains(&qid));

    // Dr Ito replies over his socket: the question closes on her open page.
    let mut ito_ws = ito.ws().await;
    let r = ito_ws
        .request(
            json!({"type": "post", "child_id": hinata, "client_id": unique("r"),
            "category": "medical", "kind": "note", "body": {"text": "持効型を1単位減らしましょう"},
            "reply_to": qid}),
        )
        .await;
    assert_eq!(r["type"], "posted", "{r}");
    assert_eq!(r["entry"]["reply_to"], qid.as_str());
    let (frame, _) = sato_ws.recv_type("entry_state").await;
    assert_eq!(
        frame,
        json!({"type": "entry_state", "child_id": hinata, "entry_id": qid, "state": "answered"})
    );
    assert_eq!(state_of(&sato, &hinata, &q["id"]).await, "answered");
    assert!(!inbox(&ito).await.contains(&qid));

    // A correction of the answered question stays answered.
    let (st, rev) = sato
        .post(
            &format!("{}/{qid}/revisions", entries_of(&hinata)),
            &json!({"body": {"text": format!("伊藤先生、夜間の低血糖が3日続いています {word}")},
                "reason": "日数"}),
        )
        .await;
    assert_eq!(st, 201, "{rev}");
    assert_eq!(rev["state"], "answered", "{rev}");
    assert_eq!(rev["to"], json!([ito.account_id]));
    assert_eq!(rev["needs_reply"], true);

    // Bad input, each 400 and nothing stored: addressing someone who could
    // not see the entry (the teacher has no medical), yourself, a question
    // without addressees, a reply to another child's entry, a reply to an
    // entry the author may not see.
    let before = sato.last_seq(&hinata).await;
    let sota_entry = ito.all_entries(&sota).await[0]["id"].clone();
    let base = || {
        json!({"client_id": unique("bad"), "category": "medical", "kind": "note",
            "body": {"text": "x"}})
    };
    let with = |extra: Value| {
        let mut b = base();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (who, body) in [
        (&sato, with(json!({"to": [tanaka.account_id]}))),
        (&sato, with(json!({"to": [sato.account_id]}))),
        (&sato, with(json!({"needs_reply": true}))),
        (&ito, with(json!({"reply_to": sota_entry}))),
        (&ito, with(json!({"to": ["not-an-id"]}))),
    ] {
        assert_err(
            &who.post(&entries_of(&hinata), &body).await,
            400,
            "bad_request",
        );
    }
    let mut education = base();
    education["category"] = json!("education");
    education["reply_to"] = json!(qid);
    assert_err(
        &tanaka.post(&entries_of(&hinata), &education).await,
        400,
        "bad_request",
    );
    let mut ws_bad = with(json!({"to": [tanaka.account_id]}));
    ws_bad["type"] = json!("post");
    ws_bad["child_id"] = json!(hinata);
    let e = sato_ws.request(ws_bad).await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["code"], "bad_request", "{e}");
    assert_eq!(sato.last_seq(&hinata).await, before, "nothing stored");
    server.check_logs();
}

#[tokio::test]
async fn done_closes_a_question_and_the_inbox_follows_consent() {
    let (server, [sato, ito, ogawa, tanaka]) = hinatas_notebook().await;
    let hinata = sato.child_id(HINATA).await;
    let ask = |category: &str| {
        json!({"client_id": unique("q"), "category": category, "kind": "note",
            "body": {"text": "お薬の時間を変えてもよいですか"}, "to": [ito.account_id], "needs_reply": true})
    };
    let (st, q) = sato.post(&entries_of(&hinata), &ask("medical")).await;
    assert_eq!(st, 201, "{q}");
    let qid = q["id"].as_str().unwrap().to_owned();
    let done = format!("{}/{qid}/done", entries_of(&hinata));

    // Only the author or an addressee; someone who cannot see it gets 404.
    assert_err(&tanaka.post_empty(&done).await, 404, "not_found");
    assert_err(&ogawa.post_empty(&done).await, 403, "forbidden");
    assert_eq!(state_of(&sato, &hinata, &q["id"]).await, "open");
    // An entry that asks nothing cannot be done.
    let plain = sato.note(&hinata, "medical", "連絡です").await;
    let plain_done = format!(
        "{}/{}/done",
        entries_of(&hinata),
        plain["id"].as_str().unwrap()
    );
    assert_err(&sato.post_empty(&plain_done).await, 400, "bad_request");

    // The addressee marks it done: answered, out of the inbox, logged.
    let (st, e) = ito.post_empty(&done).await;
    assert_eq!(st, 200, "{e}");
    assert_eq!(e["state"], "answered");
    assert!(!inbox(&ito).await.contains(&qid));
    let (st, again) = sato.post_empty(&done).await;
    assert_eq!(st, 200, "the author may too, and again: {again}");
    let (_, log) = sato
        .get(&format!("/api/v1/children/{hinata}/access-log"))
        .await;
    let marks: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "done" && r["detail"] == format!("entry {qid}"))
        .collect();
    assert_eq!(marks.len(), 2, "{log}");

    // The inbox shows only what the addressee still sees: a health question,
    // then the guardian narrows Dr Ito to medical.
    let (st, h) = sato.post(&entries_of(&hinata), &ask("health")).await;
    assert_eq!(st, 201, "{h}");
    let hid = h["id"].as_str().unwrap().to_owned();
    assert!(inbox(&ito).await.contains(&hid));
    let (st, m) = sato
        .patch(
            &format!("/api/v1/children/{hinata}/members/{}", ito.account_id),
            &json!({"categories": ["medical"]}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    assert!(!inbox(&ito).await.contains(&hid), "narrowed away");
    // An addressee who lost sight of it cannot mark it done either.
    assert_err(
        &ito.post_empty(&format!("{}/{hid}/done", entries_of(&hinata)))
            .await,
        404,
        "not_found",
    );
    server.check_logs();
}
