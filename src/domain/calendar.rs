//! Dates across my children: appointments and support plans' review dates
//! (`GET /calendar`), and the reminders 7 days and 1 day before a review,
//! pushed to the plan's author and the coordinators. Reminders are rows due
//! at a time, claimed in the database before anyone is told, run by the
//! escalation scheduler: once, whatever restarts or nodes.

use std::sync::Arc;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::views::Entry;
use super::{Core, Principal};
use crate::consent::row_sees;
use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, EntryId, Timestamp};
use crate::vocab::EntryKind;

/// Reminders go this many days before a review (at 09:00 there).
const LEADS: [i64; 2] = [7, 1];
const REVIEW_HOUR: i8 = 9;
/// The longest calendar range asked for at once, in days.
const MAX_RANGE_DAYS: i32 = 366;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CalendarQuery {
    /// `YYYY-MM-DD`
    #[param(format = Date)]
    pub from: String,
    /// `YYYY-MM-DD`, at most 366 days after `from`
    #[param(format = Date)]
    pub to: String,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct CalendarItem {
    #[schema(format = Date)]
    pub date: String,
    /// `appointment` or `plan_review`.
    pub kind: &'static str,
    pub child_id: ChildId,
    pub entry_id: EntryId,
    pub title: String,
}

fn date_of(v: &Value, key: &str) -> Option<Date> {
    v.get(key)?.as_str()?.parse().ok()
}

fn text_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("").trim()
}

/// What a calendar shows of a dated entry: its date and a title.
fn item_of(e: &Entry) -> Option<(Date, &'static str, String)> {
    match e.kind {
        EntryKind::Plan => {
            let title = match text_of(&e.body, "title") {
                "" => "支援計画の見直し".to_owned(),
                t => format!("見直し: {t}"),
            };
            Some((date_of(&e.body, "review_date")?, "plan_review", title))
        }
        EntryKind::Appointment => {
            let parts: Vec<&str> = ["time", "with", "place"]
                .iter()
                .map(|k| text_of(&e.body, k))
                .filter(|s| !s.is_empty())
                .collect();
            let title = if parts.is_empty() {
                let text: String = text_of(&e.body, "text").chars().take(40).collect();
                if text.is_empty() {
                    "予定".to_owned()
                } else {
                    text
                }
            } else {
                parts.join(" ")
            };
            Some((date_of(&e.body, "date")?, "appointment", title))
        }
        _ => None,
    }
}

impl Core {
    /// `GET /calendar?from=&to=`: the visible appointments and plan reviews
    /// of my children dated from `from` to `to` (both included), by date.
    pub async fn calendar(&self, who: &Principal, q: CalendarQuery) -> Result<Vec<CalendarItem>> {
        let parse = |s: &str, name: &str| {
            s.parse::<Date>()
                .map_err(|_| Error::bad_request(format!("{name}: expected YYYY-MM-DD")))
        };
        let (from, to) = (parse(&q.from, "from")?, parse(&q.to, "to")?);
        let days = from.until(to).map(|s| s.get_days()).unwrap_or(i32::MAX);
        if !(0..MAX_RANGE_DAYS).contains(&days) {
            return Err(Error::bad_request(
                "from, to: to on or after from, at most 366 days",
            ));
        }
        let rows = self.store.list_dated_entries(who.account).await?;
        let mut out: Vec<CalendarItem> = self
            .open_visible(who.account, rows)
            .await?
            .iter()
            .filter_map(|e| {
                let (date, kind, title) = item_of(e)?;
                (from <= date && date <= to).then(|| CalendarItem {
                    date: date.to_string(),
                    kind,
                    child_id: e.child_id,
                    entry_id: e.id,
                    title,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.date, &a.title).cmp(&(&b.date, &b.title)));
        self.log_reads(who.account, out.iter().map(|i| i.child_id), |n| {
            format!("calendar: {n} dates")
        })
        .await?;
        Ok(out)
    }

    /// After a plan (or its correction) is committed: its unsent reminders
    /// follow its review date (none without one, or once it has passed).
    pub(super) async fn schedule_reminders(&self, e: &Entry) {
        if e.kind != EntryKind::Plan {
            return;
        }
        let now = Timestamp::now().millis();
        let review = date_of(&e.body, "review_date").and_then(|d| {
            d.at(REVIEW_HOUR, 0, 0, 0)
                .to_zoned(self.settings.time_zone.clone())
                .ok()
        });
        let due: Vec<(i64, i64)> = review
            .map(|at| at.timestamp().as_millisecond())
            .into_iter()
            .flat_map(|at| {
                LEADS
                    .iter()
                    .map(move |d| (*d, at - d * self.settings.reminder_day_ms))
            })
            .filter(|(_, at)| *at > now)
            .collect();
        let result = async {
            let mut w = self.store.writer().await?;
            w.replace_reminders(e.child_id, e.origin, e.id, &due).await
        }
        .await;
        if let Err(err) = result {
            tracing::error!(error = %err, "scheduling a plan's review reminders");
        }
    }

    /// Runs every due reminder (each claimed first); returns when the next
    /// one is due (ms), if any.
    pub async fn run_due_reminders(self: &Arc<Self>) -> Result<Option<i64>> {
        let now = Timestamp::now().millis();
        for r in self.store.due_reminders(now).await? {
            if !self
                .store
                .writer()
                .await?
                .claim_reminder(&r.id, now)
                .await?
            {
                continue; // another node or run has it
            }
            match self.reminded(r.child_id, r.entry_id).await {
                Ok(to) => {
                    tracing::info!(
                        days_before = r.days_before,
                        accounts = to.len(),
                        "plan review reminder"
                    );
                    self.push_generic(to, reminder_payload(r.child_id, r.entry_id, r.days_before));
                }
                Err(e) => tracing::error!(error = %e, "plan review reminder"),
            }
        }
        Ok(self.store.next_reminder().await?)
    }

    /// Who a plan's reminder goes to: its author and the coordinators,
    /// among the active members who see it.
    async fn reminded(&self, child: ChildId, entry: EntryId) -> Result<Vec<AccountId>> {
        let Some(plan) = self.store.get_entry(child, entry).await? else {
            return Ok(Vec::new());
        };
        let now = Timestamp::now();
        Ok(self
            .store
            .list_members(child)
            .await?
            .into_iter()
            .filter(|m| {
                !m.disabled
                    && row_sees(m, plan.category, plan.first_created_at, now)
                    && (m.account_id == plan.author_id
                        || m.profession.as_deref() == Some("support_coordinator"))
            })
            .map(|m| m.account_id)
            .collect())
    }
}

/// Generic text: ids and the number of days only.
fn reminder_payload(child: ChildId, entry: EntryId, days: i64) -> String {
    json!({
        "type": "reminder",
        "child_id": child,
        "entry_id": entry,
        "days_before": days,
        "title": "連絡帳 / Renraku",
        "body": format!("支援計画の見直し日まであと{days}日です。アプリを開いて確認してください。"),
    })
    .to_string()
}
