//! The OpenAPI document (issue 22, point 1): served without a login, 3.1,
//! every operation with its error answer and its security, unique
//! operation ids, and no route the router answers that the document
//! leaves out. Schemathesis (tests/api/schemathesis_run.py, in
//! ./scripts/test) then holds every operation to its schemas.

use serde_json::Value;

use crate::helpers::*;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_openapi_document_covers_every_route() {
    let server = Server::demo().await;
    let api = server.api();
    let (st, doc) = api.get("/api/v1/openapi.json", None).await;
    assert_eq!(st, 200, "{doc}");
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    assert!(ops.len() >= 75, "{} operations", ops.len());

    let mut ids = std::collections::HashSet::new();
    for (method, path, op) in &ops {
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: duplicate operationId {id}"
        );
        assert_eq!(
            op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{method} {path}: no error answer"
        );
        let public = [
            "/api/v1/auth/login",
            "/api/v1/auth/accept-invitation",
            "/api/v1/auth/refresh",
            "/api/v1/push/vapid-public-key",
            "/api/v1/openapi.json",
            "/healthz",
            "/readyz",
        ]
        .contains(&path.as_str());
        assert_eq!(
            op.get("security").is_none(),
            public,
            "{method} {path}: security"
        );
        // Every `$ref` names a schema the document holds.
        for r in refs(op) {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{method} {path}: dangling {r}"
            );
        }
    }

    // Routes the contract names are documented with their methods…
    for (method, path) in [
        ("post", "/api/v1/children/{id}/entries"),
        ("get", "/api/v1/children/{id}/entries"),
        ("get", "/api/v1/ws"),
        ("get", "/api/v1/inbox"),
        ("get", "/api/v1/calendar"),
        ("post", "/api/v1/children/{id}/export"),
        ("delete", "/api/v1/me/totp"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/healthz"),
    ] {
        assert!(
            doc["paths"][path].get(method).is_some(),
            "{method} {path} missing"
        );
    }
    // …and each documented operation is routed: called without a token it
    // answers 401, or (public ones) anything but 404/405, never the
    // static-file fallback.
    for (method, path, _) in &ops {
        let concrete = path
            .replace("{id}", "01a242c1-0000-7000-8000-000000000000")
            .replace("{entry}", "01a242c1-0000-7000-8000-000000000001")
            .replace("{account}", "01a242c1-0000-7000-8000-000000000002")
            .replace("{handover}", "01a242c1-0000-7000-8000-000000000003")
            .replace("{aid}", "01a242c1-0000-7000-8000-000000000004");
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (st, body) = api.request(m, &concrete, None, None).await;
        assert!(
            st != 404 && st != 405,
            "{method} {path} answered {st}: {body}"
        );
    }
}

fn refs(v: &Value) -> Vec<String> {
    match v {
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(s)) => vec![s.clone()],
                _ => refs(v),
            })
            .collect(),
        Value::Array(a) => a.iter().flat_map(refs).collect(),
        _ => Vec::new(),
    }
}
