//! The push subscription endpoints' use cases: add (endpoint through the
//! SSRF guard, keys validated) and remove one's own.

use crate::domain::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::Timestamp;

impl Core {
    /// `POST /push/subscriptions`: endpoint checked against the SSRF guard, keys validated.
    pub async fn add_push_subscription(
        &self,
        who: &Principal,
        endpoint: String,
        p256dh: String,
        auth: String,
    ) -> Result<crate::ids::PushSubId> {
        if endpoint.len() > 2048 {
            return Err(Error::bad_request("endpoint: too long"));
        }
        self.pusher.check_endpoint(&endpoint).await?;
        self.pusher.check_keys(&p256dh, &auth)?;
        let row = crate::store::PushSubRow {
            id: crate::ids::PushSubId::new(),
            account_id: who.account,
            endpoint,
            p256dh,
            auth,
        };
        let mut w = self.store.writer().await?;
        Ok(w.insert_push_sub(&row, Timestamp::now().millis()).await?)
    }

    pub async fn remove_push_subscription(
        &self,
        who: &Principal,
        id: crate::ids::PushSubId,
    ) -> Result<bool> {
        let mut w = self.store.writer().await?;
        Ok(w.delete_push_sub(id, Some(who.account)).await?)
    }
}
