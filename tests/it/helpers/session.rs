//! A logged-in account: authenticated requests, a child's notebook over
//! HTTP (entries, paging, last seq) and its WebSocket.

use serde_json::{json, Value};

use super::{new_client_id, Api, Resp, Ws};

/// A logged-in session.
#[derive(Clone)]
pub struct Session {
    pub api: Api,
    pub access: String,
    pub refresh: String,
    pub account_id: String,
    pub login: String,
    pub account: Value,
}

impl Session {
    pub fn from_login(api: Api, v: &Value) -> Session {
        let access = v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {v}"))
            .to_string();
        let refresh = v["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no refresh_token in {v}"))
            .to_string();
        let account = v["account"].clone();
        Session {
            api,
            access,
            refresh,
            account_id: account["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no account.id in {v}"))
                .to_string(),
            login: account["login"].as_str().unwrap_or("").to_string(),
            account,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.api.get(path, Some(&self.access)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.api.post(path, Some(&self.access), body).await
    }

    pub async fn post_empty(&self, path: &str) -> Resp {
        self.api
            .request(reqwest::Method::POST, path, Some(&self.access), None)
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.api
            .request(reqwest::Method::PATCH, path, Some(&self.access), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, body: Option<&Value>) -> Resp {
        self.api
            .request(reqwest::Method::DELETE, path, Some(&self.access), body)
            .await
    }

    /// `GET /api/v1/children` → name → id.
    pub async fn children(&self) -> Vec<Value> {
        let (st, v) = self.get("/api/v1/children").await;
        assert_eq!(st, 200, "GET /children: {v}");
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .clone()
    }

    /// Id of the child with this name among my notebooks.
    pub async fn child_id(&self, name: &str) -> String {
        let list = self.children().await;
        list.iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_str())
            .unwrap_or_else(|| panic!("{} has no child {name} in {list:?}", self.login))
            .to_string()
    }

    /// `POST /children/{id}/entries`.
    pub async fn post_entry(&self, child: &str, category: &str, kind: &str, body: Value) -> Resp {
        self.post_entry_cid(child, &new_client_id(), category, kind, body)
            .await
    }

    pub async fn post_entry_cid(
        &self,
        child: &str,
        client_id: &str,
        category: &str,
        kind: &str,
        body: Value,
    ) -> Resp {
        self.post(
            &format!("/api/v1/children/{child}/entries"),
            &json!({"client_id": client_id, "category": category, "kind": kind, "body": body}),
        )
        .await
    }

    /// Posts a note and asserts 201; returns the Entry.
    pub async fn note(&self, child: &str, category: &str, text: &str) -> Value {
        let r = self
            .post_entry(child, category, "note", json!({"text": text}))
            .await;
        assert_eq!(r.0, 201, "post note by {}: {}", self.login, r.1);
        r.1
    }

    /// Every visible entry (paging with `after_seq`).
    pub async fn all_entries(&self, child: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = 0i64;
        loop {
            let (st, v) = self
                .get(&format!(
                    "/api/v1/children/{child}/entries?after_seq={after}&limit=100"
                ))
                .await;
            assert_eq!(st, 200, "GET entries as {}: {v}", self.login);
            let list = v["entries"].as_array().unwrap().clone();
            if list.is_empty() {
                return out;
            }
            for e in &list {
                let s = e["seq"].as_i64().unwrap();
                assert!(s > after, "entries not ascending after {after}: {v}");
                after = s;
            }
            out.extend(list);
        }
    }

    pub async fn last_seq(&self, child: &str) -> i64 {
        let (st, v) = self
            .get(&format!(
                "/api/v1/children/{child}/entries?after_seq=0&limit=1"
            ))
            .await;
        assert_eq!(st, 200, "{v}");
        v["last_seq"]
            .as_i64()
            .unwrap_or_else(|| panic!("no last_seq: {v}"))
    }

    pub async fn ws(&self) -> Ws {
        Ws::connect_auth(&self.api, &self.access).await
    }
}

impl Session {
    pub async fn put_json(&self, path: &str, body: &Value) -> Resp {
        self.api
            .request(reqwest::Method::PUT, path, Some(&self.access), Some(body))
            .await
    }
}
