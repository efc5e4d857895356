//! Emergency alerts (issue 3): raising and reading alerts, and reading
//! their frames and delivery records.

use serde_json::{json, Value};

use super::Session;

/// Frame is `{"type": ty, "alert": {"id": alert_id, ...}}`.
pub fn is_alert_frame(v: &Value, ty: &str, alert_id: &str) -> bool {
    v["type"] == ty && v["alert"]["id"] == alert_id
}

/// The delivery record of `account` in an Alert, if any.
pub fn delivery_of<'a>(alert: &'a Value, account: &str) -> Option<&'a Value> {
    alert["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("alert without deliveries: {alert}"))
        .iter()
        .find(|d| d["account_id"] == account)
}

/// `notify_count` of `account` in an Alert (0 when it has no delivery record).
pub fn notify_count(alert: &Value, account: &str) -> i64 {
    delivery_of(alert, account)
        .map(|d| {
            d["notify_count"]
                .as_i64()
                .unwrap_or_else(|| panic!("delivery without notify_count: {d}"))
        })
        .unwrap_or(0)
}

impl Session {
    /// `POST /children/{id}/alerts`, asserting 201; returns the Alert.
    pub async fn raise_alert(&self, child: &str, message: &str) -> Value {
        let (st, v) = self
            .post(
                &format!("/api/v1/children/{child}/alerts"),
                &json!({"message": message}),
            )
            .await;
        assert_eq!(st, 201, "raise alert as {}: {v}", self.login);
        v
    }

    /// `GET /alerts/{id}`, asserting 200.
    pub async fn alert(&self, id: &str) -> Value {
        let (st, v) = self.get(&format!("/api/v1/alerts/{id}")).await;
        assert_eq!(st, 200, "GET alert as {}: {v}", self.login);
        v
    }
}
