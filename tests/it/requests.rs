//! Requests reach guardians (issue 19, point 2): `GET /requests` and the
//! `membership_request` frame on the guardians' open sockets.

use serde_json::json;
use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn a_request_reaches_the_guardians_open_socket_and_their_list() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let coord = server.login("coordinator.yamada").await;
    let suzuki = server.login("nurse.suzuki").await;
    let child = g.child_id(HINATA).await;
    let mut ws = g.ws().await;

    let (st, list) = g.get("/api/v1/requests").await;
    assert_eq!(st, 200, "{list}");
    let before = list.as_array().map_or(0, Vec::len);

    let (st, m) = coord
        .post(
            &format!("/api/v1/children/{child}/members"),
            &json!({"account_id": suzuki.account_id, "categories": ["health"],
                    "can_post": false, "purpose": "訪問看護の情報共有"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["status"], "requested", "{m}");

    // Live, on the guardian's open socket.
    let (frame, _) =
        tokio::time::timeout(Duration::from_secs(5), ws.recv_type("membership_request"))
            .await
            .unwrap_or_else(|_| panic!("no membership_request frame")); // ok: the test's own timeout
    assert_eq!(frame["child_id"], child.as_str(), "{frame}");
    assert_eq!(
        frame["member"]["account_id"],
        suzuki.account_id.as_str(),
        "{frame}"
    );
    assert_eq!(frame["member"]["status"], "requested", "{frame}");
    assert_eq!(frame["member"]["purpose"], "訪問看護の情報共有", "{frame}");

    // In the guardian's list, with the child's name.
    let (st, list) = g.get("/api/v1/requests").await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), before + 1);
    let mine = list
        .iter()
        .find(|r| r["member"]["account_id"] == suzuki.account_id.as_str())
        .unwrap_or_else(|| panic!("the request is not listed")); // ok: asserted here
    assert_eq!(mine["child_id"], child.as_str());
    assert_eq!(mine["child_name"], HINATA);

    // Nobody else's list has it: the professionals hold no child's consent.
    for s in [&coord, &suzuki] {
        let (st, list) = s.get("/api/v1/requests").await;
        assert_eq!(st, 200, "{list}");
        assert_eq!(list, json!([]), "{}", s.login);
    }

    // Approved: gone from the list.
    let (st, v) = g
        .post_empty(&format!(
            "/api/v1/children/{child}/members/{}/approve",
            suzuki.account_id
        ))
        .await;
    assert_eq!(st, 200, "{v}");
    let (_, list) = g.get("/api/v1/requests").await;
    assert_eq!(list.as_array().map_or(0, Vec::len), before);
    server.check_logs();
}

#[tokio::test]
async fn the_demo_request_is_listed_for_its_guardian() {
    let server = Server::demo().await;
    let g = server.login("guardian.takahashi").await;
    let (st, list) = g.get("/api/v1/requests").await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["child_name"], "高橋 そうた");
    assert_eq!(list[0]["member"]["status"], "requested");
    // The listing is a read of the child's members, in its access log.
    let child = g.child_id("高橋 そうた").await;
    let (st, log) = g
        .get(&format!("/api/v1/children/{child}/access-log?limit=500"))
        .await;
    assert_eq!(st, 200, "{log}");
    assert!(
        log.as_array().is_some_and(|a| a
            .iter()
            .any(|r| r["action"] == "read_members" && r["detail"] == "pending requests (1)")),
        "{log}"
    );
    // Unauthenticated: 401.
    let (st, _) = server.api().get("/api/v1/requests", None).await;
    assert_eq!(st, 401);
}
