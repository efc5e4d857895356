//! The demo dataset (`shared/DEMO.md`) and its loader. It goes through the
//! domain layer, so the demo obeys the same consent rules as real use. Only
//! `renraku demo` loads it, and only into an empty database.

pub mod data;

use anyhow::{anyhow, Context};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{
    CardInput, ContactInput, Core, NewAccount, NewChild, NewEntryInput, NewHandover, NewMember,
    NewOrg, Principal, RevisionInput,
};
use crate::ids::{AccountId, ChildId, EntryId, OrgId, Timestamp};
use data::{DemoChild, ACCOUNTS, CHILDREN, ORGS, PASSWORD};

const JST_OFFSET_MS: i64 = 9 * 3600 * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;

pub fn logins() -> Vec<&'static str> {
    ACCOUNTS.iter().map(|a| a.login).collect()
}

struct Loader<'a> {
    core: &'a Arc<Core>,
    accounts: HashMap<&'static str, Principal>,
    now: Timestamp,
}

/// Loads the demo into an empty database; false if it was not empty.
pub async fn load(core: &Arc<Core>) -> anyhow::Result<bool> {
    if !core.is_empty().await? {
        return Ok(false);
    }
    let mut orgs: HashMap<&str, OrgId> = HashMap::new();
    for o in ORGS {
        let new = NewOrg {
            name: o.name.into(),
            field: o.field.into(),
            location: o.location.into(),
            summary: o.summary.into(),
            strengths: o.strengths.into(),
            contact: o.contact.into(),
        };
        let org = core
            .create_org(None, new)
            .await
            .map_err(|e| anyhow!("org {}: {e}", o.key))?;
        orgs.insert(o.key, org.id);
    }
    let mut loader = Loader {
        core,
        accounts: HashMap::new(),
        now: Timestamp::now(),
    };
    for a in ACCOUNTS {
        let new = NewAccount {
            login: a.login.into(),
            password: Some(PASSWORD.into()),
            display_name: a.display_name.into(),
            kind: a.kind.into(),
            profession: a.profession.map(Into::into),
            org_id: a.org.and_then(|k| orgs.get(k).copied()),
            org_admin: false,
        };
        let acc = core
            .insert_account(new)
            .await
            .map_err(|e| anyhow!("account {}: {e}", a.login))?;
        let who = Principal::offline(&acc);
        loader.accounts.insert(a.login, who);
    }
    let mut children = Vec::new();
    for (i, child) in CHILDREN.iter().enumerate() {
        children.push(
            loader
                .child(child)
                .await
                .with_context(|| format!("demo child {}", i + 1))?,
        );
    }
    // A handover waiting for Hinata's guardian: her class teacher changes.
    let hinata = *children.first().ok_or_else(|| anyhow!("no demo child"))?;
    loader
        .pending_handover(hinata)
        .await
        .context("demo handover")?;
    Ok(true)
}

fn at_day(now: Timestamp, days_ago: i64, hhmm: &str) -> Timestamp {
    let (h, m) = hhmm.split_once(':').unwrap_or(("9", "0"));
    let minutes = h.parse::<i64>().unwrap_or(9) * 60 + m.parse::<i64>().unwrap_or(0);
    let local_midnight = (now.millis() + JST_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS;
    Timestamp(local_midnight - JST_OFFSET_MS - days_ago * DAY_MS + minutes * 60_000)
}

fn jst_date(t: Timestamp) -> String {
    let days = (t.millis() + JST_OFFSET_MS).div_euclid(DAY_MS);
    time::Date::from_julian_day(2_440_588 + i32::try_from(days).unwrap_or(0))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

impl Loader<'_> {
    fn who(&self, login: &str) -> anyhow::Result<&Principal> {
        self.accounts
            .get(login)
            .ok_or_else(|| anyhow!("unknown demo login {login}"))
    }

    fn id(&self, login: &str) -> anyhow::Result<AccountId> {
        Ok(self.who(login)?.account)
    }

    /// teacher.tanaka hands Hinata's class over to teacher.kimura, asked
    /// by the coordinator; the guardian has not decided yet.
    async fn pending_handover(&self, child: ChildId) -> anyhow::Result<()> {
        let new = NewHandover {
            from_account: self.id("teacher.tanaka")?,
            to_account: self.id("teacher.kimura")?,
            overlap_days: Some(14),
            note: Some(
                "4月から木村先生が担任になります。低血糖時の対応と補食の置き場所は保健室の小川先生と確認済みです。"
                    .into(),
            ),
        };
        self.core
            .open_handover(self.who("coordinator.yamada")?, child, new)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        Ok(())
    }

    async fn child(&self, c: &DemoChild) -> anyhow::Result<ChildId> {
        let core = self.core;
        let guardians = c
            .guardians
            .iter()
            .map(|g| self.id(g))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let creator = self.who("coordinator.yamada")?;
        let new = NewChild {
            name: c.name.into(),
            name_kana: c.name_kana.into(),
            birth_date: c.birth_date.into(),
            disease_group: c.disease_group,
            diagnosis: c.diagnosis.into(),
            guardians,
        };
        let child = core
            .create_child(creator, new)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .id;
        let guardian = self.who(c.guardians.first().copied().unwrap_or_default())?;
        for m in c.members {
            let new = || NewMember {
                account_id: self
                    .accounts
                    .get(m.login)
                    .map(|p| p.account)
                    .unwrap_or_default(),
                categories: m.categories.iter().map(|s| (*s).to_owned()).collect(),
                can_post: m.can_post,
                purpose: m.purpose.into(),
                history_from: None,
                expires_at: m.expires_in_days.map(|d| self.now.plus_secs(d * 86_400)),
            };
            self.id(m.login)?;
            // A request comes from a colleague (the coordinator); a grant from the guardian.
            let by = if m.status == "requested" {
                creator
            } else {
                guardian
            };
            core.add_member(by, child, new())
                .await
                .map_err(|e| anyhow!("member {}: {e}", m.login))?;
            if m.regranted {
                core.revoke_member(guardian, child, self.id(m.login)?)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                core.add_member(guardian, child, new())
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
            }
        }
        self.entries(c, child).await?;
        let card = CardInput {
            summary: c.card.summary.into(),
            steps: c.card.steps.iter().map(|s| (*s).to_owned()).collect(),
            hospital: c.card.hospital.into(),
            notes: c.card.notes.into(),
        };
        core.put_card(guardian, child, card)
            .await
            .map_err(|e| anyhow!("card: {e}"))?;
        let contacts = c
            .contacts
            .iter()
            .map(|(login, tier)| {
                Ok(ContactInput {
                    account_id: self.id(login)?,
                    tier: i64::from(*tier),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        core.set_contacts(guardian, child, contacts)
            .await
            .map_err(|e| anyhow!("contacts: {e}"))?;
        Ok(child)
    }

    async fn entries(&self, c: &DemoChild, child: ChildId) -> anyhow::Result<()> {
        let mut ids: Vec<EntryId> = Vec::new();
        for (i, e) in c.entries.iter().enumerate() {
            let who = self.who(e.author)?;
            let at = at_day(self.now, e.days_ago, e.time);
            let mut body: Value =
                serde_json::from_str(e.body).with_context(|| format!("entry {i} body"))?;
            if e.kind == "attendance" {
                body["date"] = Value::String(jst_date(at));
            }
            let entry = match e.revises {
                Some(prev) => {
                    let prev_id = *ids
                        .get(prev)
                        .ok_or_else(|| anyhow!("entry {i}: bad revises"))?;
                    let input = RevisionInput {
                        body,
                        reason: e.reason.unwrap_or("訂正").into(),
                        client_id: Some(format!("demo-{i}")),
                    };
                    self.core
                        .revise_entry(who, child, prev_id, input, Some(at))
                        .await
                        .map(|r| r.entry)
                }
                None => {
                    let ask = c.asks.iter().find(|a| a.entry == i);
                    let to = ask
                        .map(|a| {
                            a.to.iter()
                                .map(|l| self.id(l))
                                .collect::<anyhow::Result<Vec<_>>>()
                        })
                        .transpose()?
                        .unwrap_or_default();
                    let reply_to = match ask.and_then(|a| a.reply_to) {
                        Some(r) => Some(
                            *ids.get(r)
                                .ok_or_else(|| anyhow!("entry {i}: bad reply_to"))?,
                        ),
                        None => None,
                    };
                    let input = NewEntryInput {
                        client_id: format!("demo-{i}"),
                        category: Some(e.category.into()),
                        categories: None,
                        kind: e.kind.into(),
                        body,
                        to,
                        needs_reply: ask.is_some_and(|a| a.needs_reply),
                        reply_to,
                    };
                    self.core.import_entry(who, child, input, at).await
                }
            }
            .map_err(|err| anyhow!("entry {i}: {err}"))?;
            ids.push(entry.id);
        }
        Ok(())
    }
}
