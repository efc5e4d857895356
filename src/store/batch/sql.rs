//! Statement text and binders of a batch: multi-row inserts whose
//! parameters are numbered after those of the statements before them in
//! the same list.

use crate::store::{params, AlertRow, NewAccess, NewEntry, Notified};

/// A new alert: row, next step's time, deliveries.
pub(super) type NewAlert<'a> = (&'a AlertRow, i64, &'a [Notified]);

/// `row(p)` for each of `n` rows of `cols` parameters, the first row's
/// parameters after `from`, joined for a multi-row `values`; None if `n` is 0.
fn rows(n: usize, from: usize, cols: usize, row: impl Fn(usize) -> String) -> Option<String> {
    (n > 0).then(|| {
        (0..n)
            .map(|i| row(from + cols * i))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

pub(super) const ENTRY_COLS: usize = 18;
pub(super) const LOG_COLS: usize = 6;

/// Multi-row insert of `n` entries, parameters after `from`. With
/// `skip_taken`, an entry whose idempotency key is taken is skipped and the
/// others' ids are returned; without, the statement fails.
pub(super) fn entries_sql(n: usize, from: usize, skip_taken: bool) -> Option<String> {
    let values = rows(n, from, ENTRY_COLS, |p| {
        format!("({})", params(p, ENTRY_COLS))
    })?;
    let on_conflict = if skip_taken {
        " on conflict (child_id, author_id, client_id) do nothing returning id"
    } else {
        ""
    };
    Some(format!(
        "insert into entry (id, child_id, seq, author_id, category, kind, body, revision, \
         supersedes, client_id, created_at, first_created_at, consent_version, \
         addressees, needs_reply, reply_to, origin, answers) values {values}{on_conflict}"
    ))
}

pub(super) fn bind_entries<'q>(
    mut q: AnyQuery<'q>,
    entries: &[&NewEntry],
    seqs: &[i64],
    consents: &[i64],
) -> AnyQuery<'q> {
    for ((e, &seq), &consent) in entries.iter().zip(seqs).zip(consents) {
        q = q
            .bind(e.id.to_string())
            .bind(e.child_id.to_string())
            .bind(seq)
            .bind(e.author_id.to_string())
            .bind(e.category)
            .bind(e.kind.as_str())
            .bind(e.body.clone())
            .bind(e.revision)
            .bind(e.supersedes.map(|s| s.to_string()))
            .bind(e.client_id.clone())
            .bind(e.created_at)
            .bind(e.first_created_at)
            .bind(consent)
            .bind(e.thread.addressees())
            .bind(i64::from(e.thread.needs_reply))
            .bind(e.thread.reply_to.map(|r| r.to_string()))
            .bind(e.thread.origin.map(|r| r.to_string()))
            .bind(e.thread.answers.map(|r| r.to_string()));
    }
    q
}

/// Multi-row insert of `n` access-log records, parameters after `from`.
pub(super) fn logs_sql(n: usize, from: usize) -> Option<String> {
    let values = rows(n, from, LOG_COLS, |p| format!("({})", params(p, LOG_COLS)))?;
    Some(format!(
        "insert into access_log (child_id, at, account_id, action, detail, hash) values {values}"
    ))
}

pub(super) fn bind_logs<'q>(
    mut q: AnyQuery<'q>,
    logs: &[(&NewAccess<'static>, String)],
) -> AnyQuery<'q> {
    for (l, hash) in logs {
        q = q
            .bind(l.child_id.to_string())
            .bind(l.at)
            .bind(l.account_id.to_string())
            .bind(l.action)
            .bind(l.detail.clone())
            .bind(hash.clone());
    }
    q
}

pub(super) const REF_COLS: usize = 3;

/// How many attachment references the entries hold.
pub(super) fn ref_count(entries: &[&NewEntry]) -> usize {
    entries.iter().map(|e| e.attachments.len()).sum()
}

/// Multi-row insert of `n` attachment references, parameters after `from`.
pub(super) fn refs_sql(n: usize, from: usize) -> Option<String> {
    let values = rows(n, from, REF_COLS, |p| format!("({})", params(p, REF_COLS)))?;
    Some(format!(
        "insert into attachment_ref (attachment_id, entry_id, child_id) values {values}"
    ))
}

pub(super) fn bind_refs<'q>(mut q: AnyQuery<'q>, entries: &[&NewEntry]) -> AnyQuery<'q> {
    for e in entries {
        for a in &e.attachments {
            q = q
                .bind(a.to_string())
                .bind(e.id.to_string())
                .bind(e.child_id.to_string());
        }
    }
    q
}

pub(super) const ALERT_COLS: usize = 6;
pub(super) const DELIVERY_COLS: usize = 5;

/// Multi-row insert of `n` new alerts at step 1, parameters after `from`.
pub(super) fn alerts_sql(n: usize, from: usize) -> Option<String> {
    let values = rows(n, from, ALERT_COLS, |p| {
        let [id, child, by, msg, at, next] = [1, 2, 3, 4, 5, 6].map(|i| p + i);
        format!("(${id}, ${child}, ${by}, ${msg}, ${at}, 'open', 1, ${next})")
    })?;
    Some(format!(
        "insert into alert (id, child_id, raised_by, message, created_at, status, step, \
         next_step_at) values {values}"
    ))
}

pub(super) fn bind_alerts<'q>(mut q: AnyQuery<'q>, alerts: &[NewAlert<'_>]) -> AnyQuery<'q> {
    for (a, next_at, _) in alerts {
        q = q
            .bind(a.id.to_string())
            .bind(a.child_id.to_string())
            .bind(a.raised_by.to_string())
            .bind(a.message.clone())
            .bind(a.created_at)
            .bind(*next_at);
    }
    q
}

/// Multi-row insert of `n` first deliveries, parameters after `from`.
pub(super) fn deliveries_sql(n: usize, from: usize) -> Option<String> {
    let values = rows(n, from, DELIVERY_COLS, |p| {
        let [alert, account, tier, at, channels] = [1, 2, 3, 4, 5].map(|i| p + i);
        format!("(${alert}, ${account}, ${tier}, ${at}, ${at}, 1, ${channels})")
    })?;
    Some(format!(
        "insert into alert_delivery (alert_id, account_id, tier, notified_at, \
         last_notified_at, notify_count, channels) values {values}"
    ))
}

pub(super) fn bind_deliveries<'q>(mut q: AnyQuery<'q>, alerts: &[NewAlert<'_>]) -> AnyQuery<'q> {
    for (a, _, notified) in alerts {
        for n in *notified {
            q = q
                .bind(a.id.to_string())
                .bind(n.account_id.to_string())
                .bind(n.tier)
                .bind(a.created_at)
                .bind(n.channels.clone());
        }
    }
    q
}
