//! Alerts: raised (persisted, then the first step at once), acknowledged,
//! read and listed; the view of an alert its parties see.

use std::sync::Arc;

use super::notify::notified_rows;
use super::{channel_list, check_text, AlertInput};
use crate::consent::Member as Consent;
use crate::crypto::aad;
use crate::domain::committer::Committed;
use crate::domain::views::{Alert, Delivery};
use crate::domain::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::{AccountId, AlertId, ChildId, Timestamp};
use crate::store::{AlertRow, MemberRow, NewAccess, Notified, WriteOp};
use crate::vocab::AlertStatus;

impl Core {
    /// `POST /children/{id}/alerts` (any active member): persisted, then tier 1 at once.
    pub async fn raise_alert(
        self: &Arc<Self>,
        who: &Principal,
        child: ChildId,
        input: AlertInput,
    ) -> Result<Alert> {
        self.member(child, who.account).await?.require_open()?;
        self.limited(who, self.limits.alert(who.account, child), "alerts")?;
        let message = input.message.trim().to_owned();
        if message.is_empty() {
            return Err(Error::bad_request("message: must not be empty"));
        }
        check_text("message", &message, 2000)?;
        let key = self.child_key(child).await?;
        let id = AlertId::new();
        let now = Timestamp::now();
        let row = AlertRow {
            id,
            child_id: child,
            raised_by: who.account,
            message: key.seal(&aad::alert(child, id), message.as_bytes())?,
            created_at: now.millis(),
            status: AlertStatus::Open,
            step: 0,
            next_step_at: Some(now.millis()),
            acked_by: None,
            acked_at: None,
        };
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "alert",
            detail: format!("raised alert {id}"),
            at: now.millis(),
        };
        let (members, notified) = self.plan_step(child, 0).await?;
        let next = now.millis() + self.escalation_delay_ms;
        let rows = notified_rows(&notified);
        // Built from what the raise knows, not read back: the same view as
        // `alert_view` gives right after the commit.
        let view = self.new_alert_view(&row, message, &members, &rows).await?;
        let op = WriteOp::Alert {
            alert: Box::new(row),
            next_at: next,
            notified: rows,
            log,
        };
        match self.committer.commit(op, None).await? {
            Committed::Alert => {}
            _ => return Err(Error::internal("alert op answered as another op")),
        }
        tracing::info!(alert = %id, step = 0, notified = view.deliveries.len(), "alert escalation step");
        metrics::counter!("renraku_alerts_raised_total").increment(1);
        self.notify_step(&view, &members, notified);
        self.wake.notify_one();
        Ok(view)
    }

    /// The view of an alert just raised: open, its first step's deliveries
    /// and nobody's acknowledgement.
    async fn new_alert_view(
        &self,
        row: &AlertRow,
        message: String,
        members: &[MemberRow],
        notified: &[Notified],
    ) -> Result<Alert> {
        let name = |account: AccountId| -> Result<String> {
            let m = members
                .iter()
                .find(|m| m.account_id == account)
                .ok_or_else(|| Error::internal("alert party is not a member"))?;
            Ok(self.name(account, &m.display_name))
        };
        let mut deliveries = Vec::with_capacity(notified.len());
        for n in notified {
            deliveries.push(Delivery {
                account_id: n.account_id,
                display_name: name(n.account_id)?,
                tier: n.tier,
                notified_at: Some(Timestamp(row.created_at)),
                channels: channel_list(&n.channels),
                acked_at: None,
                push_status: None,
                notify_count: 1,
            });
        }
        // As `list_deliveries` orders them (every one notified now).
        deliveries.sort_by_key(|d| (d.tier, d.account_id));
        Ok(Alert {
            id: row.id,
            child_id: row.child_id,
            child_name: self.child_name(row.child_id).await?,
            raised_by: row.raised_by,
            raised_by_name: name(row.raised_by)?,
            message,
            created_at: Timestamp(row.created_at),
            status: AlertStatus::Open,
            acked_by: None,
            acked_by_name: None,
            acked_at: None,
            deliveries,
        })
    }

    /// `POST /alerts/{id}/ack` and WebSocket `ack_alert` (a contact; idempotent).
    pub async fn ack_alert(&self, who: &Principal, id: AlertId, channel: &str) -> Result<Alert> {
        let alert = self.store.get_alert(id).await?.ok_or(Error::NotFound)?;
        self.member(alert.child_id, who.account).await?;
        let members = self.store.list_members(alert.child_id).await?;
        let contacts = self.reachable_contacts(alert.child_id, &members).await?;
        let Some((_, tier)) = contacts.iter().find(|c| c.0 == who.account) else {
            self.note_denied(who, alert.child_id, format!("ack_alert ({channel})"))
                .await;
            return Err(Error::forbidden(
                "only the child's emergency contacts acknowledge",
            ));
        };
        let log = NewAccess {
            child_id: alert.child_id,
            account_id: who.account,
            action: "alert",
            detail: format!("acknowledged alert {id} ({channel})"),
            at: Timestamp::now().millis(),
        };
        self.store
            .writer()
            .await?
            .ack_alert(id, who.account, *tier, channel, log)
            .await?;
        let view = self.alert_view(id).await?;
        self.fan_alert(&view, &members, true);
        Ok(view)
    }

    /// `GET /alerts/{id}` (active members of the child).
    pub async fn get_alert(&self, who: &Principal, id: AlertId) -> Result<Alert> {
        let alert = self.store.get_alert(id).await?.ok_or(Error::NotFound)?;
        self.member(alert.child_id, who.account).await?;
        let view = self.alert_view(id).await?;
        self.log_access(
            alert.child_id,
            who.account,
            "read_alert",
            format!("alert {id}"),
        )
        .await?;
        Ok(view)
    }

    /// `GET /alerts?open=` : alerts of the children I am an active member of.
    pub async fn list_alerts(&self, who: &Principal, open_only: bool) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        let mut logs = Vec::new();
        for child in self.list_children(who).await? {
            let alerts = self.store.list_alerts(child.id, open_only).await?;
            if !alerts.is_empty() {
                logs.push((child.id, format!("{} alerts (list)", alerts.len())));
            }
            for a in alerts {
                out.push(self.alert_view(a.id).await?);
            }
        }
        // One record per child whose alerts were read, committed together.
        self.log_accesses(who.account, "read_alert", logs).await?;
        out.sort_by_key(|a| std::cmp::Reverse(a.created_at));
        Ok(out)
    }

    /// Open alerts that have reached `account` (sent when a socket connects).
    pub async fn open_alerts_for(&self, who: &Principal) -> Result<Vec<Alert>> {
        let now = Timestamp::now();
        let mut out = Vec::new();
        for a in self.store.open_alerts_notified_to(who.account).await? {
            let row = self.store.get_membership(a.child_id, who.account).await?;
            if Consent::check(row, now).is_ok() {
                out.push(self.alert_view(a.id).await?);
            }
        }
        Ok(out)
    }

    pub async fn alert_view(&self, id: AlertId) -> Result<Alert> {
        let a = self.store.get_alert(id).await?.ok_or(Error::NotFound)?;
        let key = self.child_key(a.child_id).await?;
        let message = key.open(&aad::alert(a.child_id, a.id), &a.message)?;
        let mut deliveries = Vec::new();
        for d in self.store.list_deliveries(id).await? {
            deliveries.push(Delivery {
                display_name: self.account_name(d.account_id).await?,
                account_id: d.account_id,
                tier: d.tier,
                notified_at: (d.notify_count > 0).then_some(Timestamp(d.notified_at)),
                channels: channel_list(&d.channels),
                acked_at: d.acked_at.map(Timestamp),
                push_status: d.push_status,
                notify_count: d.notify_count,
            });
        }
        Ok(Alert {
            id,
            child_id: a.child_id,
            child_name: self.child_name(a.child_id).await?,
            raised_by: a.raised_by,
            raised_by_name: self.account_name(a.raised_by).await?,
            message: String::from_utf8_lossy(&message).into_owned(),
            created_at: Timestamp(a.created_at),
            status: a.status,
            acked_by: a.acked_by,
            acked_by_name: match a.acked_by {
                Some(acc) => Some(self.account_name(acc).await?),
                None => None,
            },
            acked_at: a.acked_at.map(Timestamp),
            deliveries,
        })
    }

    async fn account_name(&self, account: AccountId) -> Result<String> {
        let row = self.store.get_account(account).await?;
        Ok(self.name(account, &row.display_name))
    }
}
