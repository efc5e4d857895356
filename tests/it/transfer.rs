//! Consent passes to the young person (issue 19, point 4): who may pass it,
//! what the youth may do after it and the guardians no longer, and the bad
//! inputs (no youth member, a second transfer, too young to ask).

use serde_json::json;

use crate::helpers::*;

const REN: &str = "渡辺 蓮";

#[tokio::test]
async fn after_the_transfer_the_youth_decides_and_the_guardian_no_longer() {
    let server = Server::demo().await;
    let g = server.login("guardian.watanabe").await;
    let y = server.login("youth.watanabe").await;
    let shimizu = server.login("msw.shimizu").await;
    let mori = server.login("doctor.mori").await;
    let child = g.child_id(REN).await;
    let members = format!("/api/v1/children/{child}/members");
    let transfer = format!("/api/v1/children/{child}/transfer");

    // Before: the guardians hold consent; the youth is a member without
    // a guardian's powers, and at 16 may not ask for it (default age 18).
    let (st, c) = g.get(&format!("/api/v1/children/{child}")).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["consent_holder"], "guardians", "{c}");
    assert_err(
        &y.post_empty(&format!("{members}/{}/revoke", shimizu.account_id))
            .await,
        403,
        "forbidden",
    );
    assert_err(&y.post_empty(&transfer).await, 403, "forbidden");
    // Nor may a professional member pass it.
    assert_err(&shimizu.post_empty(&transfer).await, 403, "forbidden");

    // The guardian passes it.
    let (st, c) = g.post_empty(&transfer).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["consent_holder"], "youth", "{c}");
    assert!(c["consent_transferred_at"].is_string(), "{c}");
    // Once only.
    assert_err(&g.post_empty(&transfer).await, 409, "conflict");

    // The guardian stays a member (reads the notebook) but decides nothing.
    let (st, _) = g.get(&format!("/api/v1/children/{child}/entries")).await;
    assert_eq!(st, 200);
    assert_err(
        &g.post_empty(&format!("{members}/{}/revoke", shimizu.account_id))
            .await,
        403,
        "forbidden",
    );
    assert_err(
        &g.patch(
            &format!("{members}/{}", mori.account_id),
            &json!({"categories": ["medical"], "can_post": false}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_err(
        &g.put_json(
            &format!("/api/v1/children/{child}/emergency-contacts"),
            &json!([]),
        )
        .await,
        403,
        "forbidden",
    );

    // The youth narrows one member and revokes another.
    let (st, m) = y
        .patch(
            &format!("{members}/{}", mori.account_id),
            &json!({"categories": ["medical"], "can_post": false}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["can_post"], false, "{m}");
    let (st, m) = y
        .post_empty(&format!("{members}/{}/revoke", shimizu.account_id))
        .await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["status"], "revoked", "{m}");
    let (st, _) = shimizu
        .get(&format!("/api/v1/children/{child}/entries"))
        .await;
    assert_eq!(st, 403);
    // The youth sets the emergency contacts and reads the access log, which
    // records the transfer.
    let (st, v) = y
        .put_json(
            &format!("/api/v1/children/{child}/emergency-contacts"),
            &json!([{"account_id": g.account_id, "tier": 1}]),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, log) = y
        .get(&format!("/api/v1/children/{child}/access-log?limit=500"))
        .await;
    assert_eq!(st, 200, "{log}");
    let transfer_row = log
        .as_array()
        .and_then(|a| a.iter().find(|r| r["action"] == "transfer"))
        .cloned()
        .unwrap_or_else(|| panic!("no transfer in the access log: {log}")); // ok: asserted here
    assert_eq!(transfer_row["account_id"], g.account_id.as_str());
    // The youth's requests list is where requests now arrive.
    let coord = server.login("coordinator.yamada").await;
    let suzuki = server.login("nurse.suzuki").await;
    let (st, _) = coord
        .post(
            &members,
            &json!({"account_id": suzuki.account_id, "categories": ["health"],
                    "can_post": false, "purpose": "体調の共有"}),
        )
        .await;
    assert_eq!(st, 201);
    let (_, list) = y.get("/api/v1/requests").await;
    assert!(
        list.as_array()
            .is_some_and(|a| a.iter().any(|r| r["child_id"] == child.as_str())),
        "{list}"
    );
    // The youth approves it; a guardian could not.
    let approve = format!("{members}/{}/approve", suzuki.account_id);
    let (_, list) = g.get("/api/v1/requests").await;
    assert_eq!(
        list,
        json!([]),
        "the guardian no longer decides on requests"
    );
    assert_err(&g.post_empty(&approve).await, 403, "forbidden");
    let (st, m) = y.post_empty(&approve).await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["status"], "active", "{m}");
    // The youth may now end a guardian's membership, but not leave.
    assert_err(
        &y.post_empty(&format!("{members}/{}/revoke", y.account_id))
            .await,
        409,
        "conflict",
    );
    let (st, m) = y
        .post_empty(&format!("{members}/{}/revoke", g.account_id))
        .await;
    assert_eq!(st, 200, "{m}");
    server.check_logs();
}

#[tokio::test]
async fn a_transfer_needs_a_youth_member_and_the_age_for_asking_is_a_flag() {
    let server = Server::demo_with(&["--consent-age", "16"]).await;
    // Hinata has no youth account: 409, nothing changes.
    let sato = server.login("guardian.sato").await;
    let hinata = sato.child_id(HINATA).await;
    assert_err(
        &sato
            .post_empty(&format!("/api/v1/children/{hinata}/transfer"))
            .await,
        409,
        "conflict",
    );
    let (_, c) = sato.get(&format!("/api/v1/children/{hinata}")).await;
    assert_eq!(c["consent_holder"], "guardians");
    // From --consent-age the youth's own request suffices.
    let y = server.login("youth.watanabe").await;
    let ren = y.child_id(REN).await;
    let (st, c) = y
        .post_empty(&format!("/api/v1/children/{ren}/transfer"))
        .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["consent_holder"], "youth");
    // The admin may pass it too (here: once more is a conflict); unknown child 404.
    let admin = server.login("admin").await;
    assert_err(
        &admin
            .post_empty(&format!("/api/v1/children/{ren}/transfer"))
            .await,
        409,
        "conflict",
    );
    assert_err(
        &admin
            .post_empty("/api/v1/children/01a23e00-0000-7000-8000-000000000000/transfer")
            .await,
        404,
        "not_found",
    );
    server.check_logs();
}
