//! Emergency cards and contacts, alerts and their escalation. An alert is
//! persisted first; each escalation step is claimed in the database (compare
//! and set on the alert's step) before anyone is notified, so a step runs
//! once, across restarts and nodes. Step k notifies the first k+1 tiers
//! (re-notifying the earlier ones); after the last tier every step
//! re-notifies all tiers, until someone acknowledges.

use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

use super::committer::Committed;
use super::{Core, Principal};
use crate::consent::{self, Member as Consent};
use crate::crypto::aad;
use crate::error::{Error, Result};
use crate::ids::{AccountId, AlertId, ChildId, Timestamp};
use crate::push::Outcome;
use crate::store::{AlertRow, MemberRow, NewAccess, Notified, PushSubRow, WriteOp};
use crate::vocab::{AlertStatus, Role};

/// One contact a step notifies, with its push subscriptions.
type Planned = (Notified, Vec<PushSubRow>);

fn notified_rows(planned: &[Planned]) -> Vec<Notified> {
    planned
        .iter()
        .map(|(n, _)| Notified {
            account_id: n.account_id,
            tier: n.tier,
            channels: n.channels.clone(),
        })
        .collect()
}

const PUSH_ATTEMPTS: u32 = 5;

#[derive(Serialize, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    pub summary: String,
    pub steps: Vec<String>,
    pub hospital: String,
    pub notes: String,
}

#[derive(Serialize)]
pub struct Card {
    pub child_id: ChildId,
    pub summary: String,
    pub steps: Vec<String>,
    pub hospital: String,
    pub notes: String,
    pub updated_by: AccountId,
    pub updated_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub account_id: AccountId,
    pub tier: i64,
}

#[derive(Serialize)]
pub struct Contact {
    pub account_id: AccountId,
    pub display_name: String,
    pub tier: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertInput {
    pub message: String,
}

#[derive(Serialize, Clone)]
pub struct Delivery {
    pub account_id: AccountId,
    pub display_name: String,
    pub tier: i64,
    pub notified_at: Option<Timestamp>,
    pub channels: Vec<String>,
    pub acked_at: Option<Timestamp>,
    /// Web Push result: null (no subscription), `sent`, `retrying`, `failed`, `subscription_removed`.
    pub push_status: Option<String>,
    pub notify_count: i64,
}

#[derive(Serialize, Clone)]
pub struct Alert {
    pub id: AlertId,
    pub child_id: ChildId,
    pub child_name: String,
    pub raised_by: AccountId,
    pub raised_by_name: String,
    pub message: String,
    pub created_at: Timestamp,
    pub status: String,
    pub acked_by: Option<AccountId>,
    pub acked_by_name: Option<String>,
    pub acked_at: Option<Timestamp>,
    pub deliveries: Vec<Delivery>,
}

/// A delivery's stored channels (`websocket,push`) as a list.
fn channel_list(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

fn check_text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.chars().count() > max {
        return Err(Error::bad_request(format!(
            "{field}: at most {max} characters"
        )));
    }
    Ok(())
}

impl Core {
    /// `PUT /children/{id}/emergency-card` (guardian, or a member with `medical`).
    pub async fn put_card(
        &self,
        who: &Principal,
        child: ChildId,
        input: CardInput,
    ) -> Result<Card> {
        self.member(child, who.account)
            .await?
            .require_card_editor()?;
        check_text("summary", &input.summary, 2000)?;
        check_text("hospital", &input.hospital, 500)?;
        check_text("notes", &input.notes, 5000)?;
        if input.steps.len() > 30 || input.steps.iter().any(|s| s.chars().count() > 1000) {
            return Err(Error::bad_request(
                "steps: at most 30 steps of 1000 characters",
            ));
        }
        let key = self.child_key(child).await?;
        let plain = Zeroizing::new(serde_json::to_vec(&input).map_err(Error::internal)?);
        let sealed = key.seal(&aad::emergency_card(child), &plain)?;
        let now = Timestamp::now();
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "member_change",
            detail: "updated the emergency card".into(),
            at: now.millis(),
        };
        self.store
            .writer()
            .await?
            .put_card(child, sealed, log)
            .await?;
        Ok(Card {
            child_id: child,
            summary: input.summary,
            steps: input.steps,
            hospital: input.hospital,
            notes: input.notes,
            updated_by: who.account,
            updated_at: now,
        })
    }

    /// `GET /children/{id}/emergency-card`: every active member, whatever the categories; logged.
    pub async fn get_card(&self, who: &Principal, child: ChildId) -> Result<Card> {
        self.member(child, who.account).await?;
        let (sealed, by, at) = self.store.get_card(child).await?.ok_or(Error::NotFound)?;
        let key = self.child_key(child).await?;
        let plain = key.open(&aad::emergency_card(child), &sealed)?;
        let c: CardInput = serde_json::from_slice(&plain).map_err(Error::internal)?;
        self.log_access(
            child,
            who.account,
            "emergency_card_read",
            "emergency card".into(),
        )
        .await?;
        Ok(Card {
            child_id: child,
            summary: c.summary,
            steps: c.steps,
            hospital: c.hospital,
            notes: c.notes,
            updated_by: by,
            updated_at: Timestamp(at),
        })
    }

    /// `PUT /children/{id}/emergency-contacts` (guardian): the whole ordered list.
    pub async fn set_contacts(
        &self,
        who: &Principal,
        child: ChildId,
        input: Vec<ContactInput>,
    ) -> Result<Vec<Contact>> {
        self.member(child, who.account).await?.require_guardian()?;
        if input.len() > 50 {
            return Err(Error::bad_request("at most 50 contacts"));
        }
        let now = Timestamp::now();
        let mut seen = BTreeSet::new();
        for c in &input {
            if !(1..=10).contains(&c.tier) {
                return Err(Error::bad_request("tier: 1..10"));
            }
            if !seen.insert(c.account_id) {
                return Err(Error::bad_request("account_id: listed twice"));
            }
            let row = self.store.get_membership(child, c.account_id).await?;
            if Consent::check(row, now).is_err() {
                return Err(Error::bad_request(
                    "account_id: a contact must be an active member",
                ));
            }
        }
        let list: Vec<(AccountId, i64)> = input.iter().map(|c| (c.account_id, c.tier)).collect();
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "member_change",
            detail: format!("set {} emergency contact(s)", list.len()),
            at: now.millis(),
        };
        self.store
            .writer()
            .await?
            .set_contacts(child, &list, log)
            .await?;
        self.list_contacts(who, child).await
    }

    /// `GET /children/{id}/emergency-contacts` (active members).
    pub async fn list_contacts(&self, who: &Principal, child: ChildId) -> Result<Vec<Contact>> {
        self.member(child, who.account).await?;
        let rows = self.store.list_contacts(child).await?;
        Ok(rows
            .into_iter()
            .map(|c| Contact {
                display_name: self.name(c.account_id, &c.display_name),
                account_id: c.account_id,
                tier: c.tier,
            })
            .collect())
    }

    /// The contacts an alert goes to: listed contacts who are active members
    /// now, or the guardians when none is listed.
    async fn reachable_contacts(
        &self,
        child: ChildId,
        members: &[MemberRow],
    ) -> Result<Vec<(AccountId, i64)>> {
        let now = Timestamp::now();
        let active = |a: AccountId| {
            members
                .iter()
                .any(|m| m.account_id == a && consent::is_active(m, now))
        };
        let listed: Vec<(AccountId, i64)> = self
            .store
            .list_contacts(child)
            .await?
            .into_iter()
            .map(|c| (c.account_id, c.tier))
            .collect();
        if listed.is_empty() {
            return Ok(members
                .iter()
                .filter(|m| m.role == Role::Guardian && active(m.account_id))
                .map(|m| (m.account_id, 1))
                .collect());
        }
        Ok(listed.into_iter().filter(|(a, _)| active(*a)).collect())
    }

    /// `POST /children/{id}/alerts` (any active member): persisted, then tier 1 at once.
    pub async fn raise_alert(
        self: &Arc<Self>,
        who: &Principal,
        child: ChildId,
        input: AlertInput,
    ) -> Result<Alert> {
        self.member(child, who.account).await?;
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
            status: AlertStatus::Open.as_str().into(),
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
            status: AlertStatus::Open.as_str().into(),
            acked_by: None,
            acked_by_name: None,
            acked_at: None,
            deliveries,
        })
    }

    /// Runs one escalation step if it is still due and unclaimed.
    pub async fn run_step(self: &Arc<Self>, id: AlertId, step: i64) -> Result<()> {
        let Some(alert) = self.store.get_alert(id).await? else {
            return Ok(());
        };
        if alert.status != AlertStatus::Open.as_str() || alert.step != step {
            return Ok(());
        }
        let (members, notified) = self.plan_step(alert.child_id, step).await?;
        let now = Timestamp::now().millis();
        let next = now + self.escalation_delay_ms;
        let rows = notified_rows(&notified);
        if !self
            .store
            .writer()
            .await?
            .record_step(id, step, now, next, &rows)
            .await?
        {
            return Ok(()); // another node or run claimed it
        }
        tracing::info!(alert = %id, step, notified = rows.len(), "alert escalation step");
        let view = self.alert_view(id).await?;
        self.notify_step(&view, &members, notified);
        Ok(())
    }

    /// Who step `step` of an alert on `child` notifies, and on which channels.
    async fn plan_step(&self, child: ChildId, step: i64) -> Result<(Vec<MemberRow>, Vec<Planned>)> {
        let members = self.store.list_members(child).await?;
        let contacts = self.reachable_contacts(child, &members).await?;
        let tiers: Vec<i64> = contacts
            .iter()
            .map(|c| c.1)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let reach = tiers
            .get(
                usize::try_from(step)
                    .unwrap_or(usize::MAX)
                    .min(tiers.len().saturating_sub(1)),
            )
            .copied()
            .unwrap_or(0);
        let mut notified = Vec::new();
        for (account, tier) in contacts.into_iter().filter(|c| c.1 <= reach) {
            let subs = self.store.list_push_subs(account).await?;
            let mut channels = Vec::new();
            if self.hub.is_online(account) {
                channels.push("websocket");
            }
            if !subs.is_empty() {
                channels.push("push");
            }
            notified.push((
                Notified {
                    account_id: account,
                    tier,
                    channels: channels.join(","),
                },
                subs,
            ));
        }
        Ok((members, notified))
    }

    /// After a committed step: the sockets, then Web Push in the background.
    fn notify_step(self: &Arc<Self>, view: &Alert, members: &[MemberRow], notified: Vec<Planned>) {
        self.fan_alert(view, members, false);
        for (_, subs) in notified {
            for sub in subs {
                let core = self.clone();
                let id = view.id;
                tokio::spawn(async move { core.push_with_retry(id, sub).await });
            }
        }
    }

    /// Sends an alert to this node's sockets: after a step, `alert` to every
    /// contact reached so far and `alert_update` to the other parties; after
    /// an acknowledgement, `alert_update` to every party. Used for local
    /// steps and for steps other nodes ran.
    pub fn fan_alert(&self, view: &Alert, members: &[MemberRow], ack: bool) {
        let reached: Vec<AccountId> = if ack {
            Vec::new()
        } else {
            view.deliveries
                .iter()
                .filter(|d| d.notify_count > 0)
                .map(|d| d.account_id)
                .collect()
        };
        let now = Timestamp::now();
        let frame: Arc<str> = json!({"type": "alert", "alert": view}).to_string().into();
        for account in &reached {
            let active = members
                .iter()
                .any(|m| m.account_id == *account && consent::is_active(m, now));
            if active {
                self.hub.send_to_account(*account, frame.clone());
            }
        }
        self.send_update(view, members, &reached);
    }

    /// `alert_update` to every party not just sent the `alert` itself.
    fn send_update(&self, view: &Alert, members: &[MemberRow], skip: &[AccountId]) {
        let now = Timestamp::now();
        let mut parties: BTreeSet<AccountId> =
            view.deliveries.iter().map(|d| d.account_id).collect();
        parties.insert(view.raised_by);
        parties.extend(
            members
                .iter()
                .filter(|m| m.role == Role::Guardian)
                .map(|m| m.account_id),
        );
        let frame: Arc<str> = json!({"type": "alert_update", "alert": view})
            .to_string()
            .into();
        for account in parties.into_iter().filter(|a| !skip.contains(a)) {
            let active = members
                .iter()
                .any(|m| m.account_id == account && consent::is_active(m, now));
            if active {
                self.hub.send_to_account(account, frame.clone());
            }
        }
    }

    async fn push_with_retry(&self, alert: AlertId, sub: crate::store::PushSubRow) {
        let payload = json!({
            "type": "alert",
            "alert_id": alert,
            "title": "緊急連絡 / Emergency",
            "body": "緊急のお知らせがあります。アプリを開いて確認してください。",
        })
        .to_string();
        let mut wait = Duration::from_millis(500);
        for attempt in 1..=PUSH_ATTEMPTS {
            let status = match self.pusher.send(&sub, payload.as_bytes()).await {
                Outcome::Sent => Some("sent"),
                Outcome::Gone => {
                    if let Ok(mut w) = self.store.writer().await {
                        let _ = w.delete_push_sub(sub.id, None).await;
                    }
                    Some("subscription_removed")
                }
                Outcome::Failed(why) => {
                    tracing::warn!(%alert, reason = %why, "push failed");
                    Some("failed")
                }
                Outcome::Retry(why) if attempt == PUSH_ATTEMPTS => {
                    tracing::warn!(%alert, reason = %why, "push failed after retries");
                    Some("failed")
                }
                Outcome::Retry(why) => {
                    tracing::info!(%alert, attempt, reason = %why, "push will be retried");
                    self.record_push(alert, sub.account_id, "retrying").await;
                    None
                }
            };
            if let Some(status) = status {
                self.record_push(alert, sub.account_id, status).await;
                return;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }

    async fn record_push(&self, alert: AlertId, account: AccountId, status: &str) {
        let result = match self.store.writer().await {
            Ok(mut w) => w.set_push_status(alert, account, status).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::error!(%alert, error = %e, "recording a push result failed");
        }
    }

    /// `POST /alerts/{id}/ack` and WebSocket `ack_alert` (a contact; idempotent).
    pub async fn ack_alert(&self, who: &Principal, id: AlertId, channel: &str) -> Result<Alert> {
        let alert = self.store.get_alert(id).await?.ok_or(Error::NotFound)?;
        self.member(alert.child_id, who.account).await?;
        let members = self.store.list_members(alert.child_id).await?;
        let contacts = self.reachable_contacts(alert.child_id, &members).await?;
        let Some((_, tier)) = contacts.iter().find(|c| c.0 == who.account) else {
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
        self.alert_view(id).await
    }

    /// `GET /alerts?open=` : alerts of the children I am an active member of.
    pub async fn list_alerts(&self, who: &Principal, open_only: bool) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        for child in self.list_children(who).await? {
            for a in self.store.list_alerts(child.id, open_only).await? {
                out.push(self.alert_view(a.id).await?);
            }
        }
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

    /// Runs every due step; returns when the next one is due (ms), if any.
    pub async fn run_due_steps(self: &Arc<Self>) -> Result<Option<i64>> {
        let now = Timestamp::now().millis();
        for (id, step) in self.store.due_alerts(now).await? {
            if let Err(e) = self.run_step(id, step).await {
                tracing::error!(alert = %id, error = %e, "escalation step failed");
            }
        }
        Ok(self.store.next_due().await?)
    }
}

/// The escalation scheduler: runs due steps, sleeps until the next one (at
/// most a second, so that steps claimed elsewhere are noticed), wakes early
/// when an alert is raised, stops on shutdown.
pub async fn escalation_loop(core: Arc<Core>, stop: tokio_util::sync::CancellationToken) {
    loop {
        let next = match core.run_due_steps().await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "escalation scheduler");
                None
            }
        };
        let wait = next
            .map(|t| t - Timestamp::now().millis())
            .unwrap_or(1000)
            .clamp(0, 1000);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = core.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))) => {}
        }
    }
}

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
