//! Emergency contacts, alerts with their escalation state, deliveries
//! and push subscriptions.

use super::chain::append_access;
use super::rows::{id, name, opt_id, word, Name};
use super::{conflict, NewAccess, Store, StoreResult, Writer};
use crate::ids::{AccountId, AlertId, ChildId, PushSubId};
use crate::vocab::AlertStatus;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct AlertRow {
    pub id: AlertId,
    pub child_id: ChildId,
    pub raised_by: AccountId,
    pub message: Vec<u8>,
    pub created_at: i64,
    pub status: AlertStatus,
    pub step: i64,
    pub next_step_at: Option<i64>,
    pub acked_by: Option<AccountId>,
    pub acked_at: Option<i64>,
}

impl AlertRow {
    fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: id(r, "id")?,
            child_id: id(r, "child_id")?,
            raised_by: id(r, "raised_by")?,
            message: r.try_get("message")?,
            created_at: r.try_get("created_at")?,
            status: word(r, "status")?,
            step: r.try_get("step")?,
            next_step_at: r.try_get("next_step_at")?,
            acked_by: opt_id(r, "acked_by")?,
            acked_at: r.try_get("acked_at")?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct DeliveryRow {
    pub account_id: AccountId,
    pub tier: i64,
    pub notified_at: i64,
    pub notify_count: i64,
    pub channels: String,
    pub push_status: Option<String>,
    pub acked_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct ContactRow {
    pub account_id: AccountId,
    pub tier: i64,
    pub display_name: Name,
}

#[derive(Clone, Debug)]
pub struct PushSubRow {
    pub id: PushSubId,
    pub account_id: AccountId,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// One contact reached by an escalation step.
pub struct Notified {
    pub account_id: AccountId,
    pub tier: i64,
    pub channels: String,
}

const ALERT_COLS: &str =
    "id, child_id, raised_by, message, created_at, status, step, next_step_at, \
     acked_by, acked_at";

impl Store {
    pub async fn list_contacts(&self, child: ChildId) -> StoreResult<Vec<ContactRow>> {
        let rows = sqlx::query(
            "select c.account_id, c.tier, a.display_name, a.display_sealed \
             from emergency_contact c join account a on a.id = c.account_id \
             where c.child_id = $1 order by c.tier, a.login",
        )
        .bind(child.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ContactRow {
                    account_id: id(r, "account_id")?,
                    tier: r.try_get("tier")?,
                    display_name: name(r, "display_name", "display_sealed")?,
                })
            })
            .collect()
    }

    pub async fn get_alert(&self, alert: AlertId) -> StoreResult<Option<AlertRow>> {
        let sql = format!("select {ALERT_COLS} from alert where id = $1");
        let row = sqlx::query(&sql)
            .bind(alert.to_string())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(AlertRow::decode).transpose()
    }

    pub async fn list_deliveries(&self, alert: AlertId) -> StoreResult<Vec<DeliveryRow>> {
        let rows = sqlx::query(
            "select account_id, tier, notified_at, notify_count, channels, push_status, acked_at \
             from alert_delivery where alert_id = $1 order by tier, notified_at, account_id",
        )
        .bind(alert.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    account_id: id(r, "account_id")?,
                    tier: r.try_get("tier")?,
                    notified_at: r.try_get("notified_at")?,
                    notify_count: r.try_get("notify_count")?,
                    channels: r.try_get("channels")?,
                    push_status: r.try_get("push_status")?,
                    acked_at: r.try_get("acked_at")?,
                })
            })
            .collect()
    }

    /// Alerts of a child, newest first.
    pub async fn list_alerts(&self, child: ChildId, open_only: bool) -> StoreResult<Vec<AlertRow>> {
        let sql = format!(
            "select {ALERT_COLS} from alert where child_id = $1 and ($2 = 0 or status = 'open') \
             order by created_at desc limit 100"
        );
        let rows = sqlx::query(&sql)
            .bind(child.to_string())
            .bind(i64::from(open_only))
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(AlertRow::decode).collect()
    }

    /// Open alerts that have reached `account` as a contact.
    pub async fn open_alerts_notified_to(&self, account: AccountId) -> StoreResult<Vec<AlertRow>> {
        let sql = format!(
            "select {} from alert a join alert_delivery d on d.alert_id = a.id \
             where d.account_id = $1 and a.status = 'open' order by a.created_at",
            ALERT_COLS
                .split(", ")
                .map(|c| format!("a.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(account.to_string())
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(AlertRow::decode).collect()
    }

    /// Open alerts whose next step is due, oldest first.
    pub async fn due_alerts(&self, now: i64) -> StoreResult<Vec<(AlertId, i64)>> {
        let rows = sqlx::query(
            "select id, step from alert where status = 'open' and next_step_at <= $1 \
             order by next_step_at limit 200",
        )
        .bind(now)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((id(r, "id")?, r.try_get("step")?)))
            .collect()
    }

    /// When the next escalation step of any open alert is due.
    pub async fn next_due(&self) -> StoreResult<Option<i64>> {
        let row = sqlx::query("select min(next_step_at) as t from alert where status = 'open'")
            .fetch_one(&mut *self.reader().await?)
            .await?;
        Ok(row.try_get("t")?)
    }

    /// Alerts not yet acknowledged (the metrics' gauge; `alert_due` index).
    pub async fn count_open_alerts(&self) -> StoreResult<i64> {
        let row = sqlx::query("select count(*) as n from alert where status = 'open'")
            .fetch_one(&mut *self.reader().await?)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn list_push_subs(&self, account: AccountId) -> StoreResult<Vec<PushSubRow>> {
        let rows = sqlx::query(
            "select id, account_id, endpoint, p256dh, auth from push_subscription \
             where account_id = $1 order by created_at",
        )
        .bind(account.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PushSubRow {
                    id: id(r, "id")?,
                    account_id: id(r, "account_id")?,
                    endpoint: r.try_get("endpoint")?,
                    p256dh: r.try_get("p256dh")?,
                    auth: r.try_get("auth")?,
                })
            })
            .collect()
    }
}

impl Writer {
    /// Replaces the child's contact list.
    pub async fn set_contacts(
        &mut self,
        child: ChildId,
        contacts: &[(AccountId, i64)],
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query("delete from emergency_contact where child_id = $1")
            .bind(child.to_string())
            .execute(&mut *tx)
            .await?;
        for (account, tier) in contacts {
            sqlx::query(
                "insert into emergency_contact (child_id, account_id, tier) values ($1, $2, $3)",
            )
            .bind(child.to_string())
            .bind(account.to_string())
            .bind(*tier)
            .execute(&mut *tx)
            .await
            .map_err(conflict)?;
        }
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs escalation step `step` once: false if another run (or an ack) got there first.
    pub async fn record_step(
        &mut self,
        alert: AlertId,
        step: i64,
        now: i64,
        next_at: i64,
        notified: &[Notified],
    ) -> StoreResult<bool> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        if !step_in(&mut tx, alert, step, now, next_at, notified).await? {
            return Ok(false);
        }
        let msg = super::ClusterMsg::Alert { alert, ack: false };
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records an acknowledgement; the first one closes the alert.
    pub async fn ack_alert(
        &mut self,
        alert: AlertId,
        account: AccountId,
        tier: i64,
        channel: &str,
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
        sqlx::query(
            "update alert set status = 'acknowledged', acked_by = $2, acked_at = $3, \
             ack_channel = $4, next_step_at = null where id = $1 and status = 'open'",
        )
        .bind(alert.to_string())
        .bind(account.to_string())
        .bind(log.at)
        .bind(channel)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into alert_delivery (alert_id, account_id, tier, notified_at, last_notified_at, \
             notify_count, channels, acked_at, ack_channel) values ($1, $2, $3, $4, $4, 0, '', $4, $5) \
             on conflict (alert_id, account_id) do update set \
             acked_at = coalesce(alert_delivery.acked_at, excluded.acked_at), \
             ack_channel = coalesce(alert_delivery.ack_channel, excluded.ack_channel)",
        )
        .bind(alert.to_string())
        .bind(account.to_string())
        .bind(tier)
        .bind(log.at)
        .bind(channel)
        .execute(&mut *tx)
        .await?;
        append_access(&mut tx, self.backend, &self.key, &log).await?;
        let msg = super::ClusterMsg::Alert { alert, ack: true };
        super::cluster::notify(&mut tx, self.backend, &self.node, msg).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_push_status(
        &mut self,
        alert: AlertId,
        account: AccountId,
        status: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "update alert_delivery set push_status = $3 where alert_id = $1 and account_id = $2",
        )
        .bind(alert.to_string())
        .bind(account.to_string())
        .bind(status)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub async fn insert_push_sub(&mut self, s: &PushSubRow, now: i64) -> StoreResult<PushSubId> {
        let row = sqlx::query(
            "insert into push_subscription (id, account_id, endpoint, p256dh, auth, created_at) \
             values ($1, $2, $3, $4, $5, $6) on conflict (account_id, endpoint) do update set \
             p256dh = excluded.p256dh, auth = excluded.auth returning id",
        )
        .bind(s.id.to_string())
        .bind(s.account_id.to_string())
        .bind(&s.endpoint)
        .bind(&s.p256dh)
        .bind(&s.auth)
        .bind(now)
        .fetch_one(&mut *self.conn)
        .await?;
        id(&row, "id")
    }

    /// Deletes a subscription (of `account`, when given); false if there was none.
    pub async fn delete_push_sub(
        &mut self,
        sub: PushSubId,
        account: Option<AccountId>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "delete from push_subscription where id = $1 and ($2 = '' or account_id = $2)",
        )
        .bind(sub.to_string())
        .bind(account.map(|a| a.to_string()).unwrap_or_default())
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Claims step `step` (compare-and-set) and records who it notifies.
async fn step_in(
    conn: &mut sqlx::AnyConnection,
    alert: AlertId,
    step: i64,
    now: i64,
    next_at: i64,
    notified: &[Notified],
) -> StoreResult<bool> {
    let claimed = sqlx::query(
        "update alert set step = step + 1, next_step_at = $3 \
         where id = $1 and step = $2 and status = 'open'",
    )
    .bind(alert.to_string())
    .bind(step)
    .bind(next_at)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(false);
    }
    for n in notified {
        sqlx::query(
            "insert into alert_delivery (alert_id, account_id, tier, notified_at, \
             last_notified_at, notify_count, channels) values ($1, $2, $3, $4, $4, 1, $5) \
             on conflict (alert_id, account_id) do update set \
             last_notified_at = excluded.last_notified_at, \
             notify_count = alert_delivery.notify_count + 1, channels = excluded.channels",
        )
        .bind(alert.to_string())
        .bind(n.account_id.to_string())
        .bind(n.tier)
        .bind(now)
        .bind(&n.channels)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}
