//! The notebook as an export holds it: profile, members and their
//! organizations, the emergency card and contacts, every entry revision in
//! seq order, and the access log, read under one consent check
//! (`consent::Member::require_export`) and recorded as one `export`. The
//! formats (FHIR, HTML, age) are made from it by `crate::export`.

use super::{AccessRecord, Card, Child, Contact, Core, Entry, Member, Org, Principal};
use crate::consent::Member as Consent;
use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, Seq, Timestamp};

/// Entries read per query; an export reads them all.
const PAGE: i64 = 500;
/// Access-log records read per query.
const LOG_PAGE: i64 = 1000;
/// How many times the entries are read again because consent changed meanwhile.
const MAX_CONSENT_RETRIES: usize = 8;

/// The most attachment bytes one export holds (larger: 413, nothing logged).
pub const MAX_EXPORT_ATTACHMENTS: u64 = 512 << 20;

/// An attachment an exported entry references, opened.
pub struct ExportedAttachment {
    pub id: crate::ids::AttachmentId,
    pub content_type: String,
    /// Its name in the age file's `attachments/` and in the page.
    pub file_name: String,
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
}

/// Everything one export holds, opened.
pub struct Notebook {
    pub child: Child,
    pub members: Vec<Member>,
    /// The organizations of the professional members.
    pub orgs: Vec<Org>,
    pub card: Option<Card>,
    pub contacts: Vec<Contact>,
    /// Every revision the exporter may see, in seq order.
    pub entries: Vec<Entry>,
    pub access_log: Vec<AccessRecord>,
    pub exported_by: AccountId,
    pub exported_at: Timestamp,
    /// False: the youth's export before consent passed to them (only what
    /// the youth may see).
    pub full: bool,
    /// The attachments the entries reference, in order of first reference.
    pub attachments: Vec<ExportedAttachment>,
}

impl Core {
    /// `POST /children/{id}/export`: the notebook for an export, checked
    /// (consent holder, or the youth) and logged as `export` with `format`
    /// and counts in the detail (never content).
    pub async fn export_notebook(
        &self,
        who: &Principal,
        child: ChildId,
        format: &'static str,
    ) -> Result<Notebook> {
        let me = self.member(child, who.account).await?;
        me.require_export()?;
        let (entries, me) = self.export_entries(me).await?;
        let right = me.require_export()?;
        let now = Timestamp::now();
        let row = self.store.get_child(child).await?;
        let child_view = super::children::child_view(&row, self.open_profile(&row)?);
        let members: Vec<Member> = self
            .store
            .list_members(child)
            .await?
            .into_iter()
            .map(|r| Member::from_row(self, r, now))
            .collect();
        let orgs = self
            .store
            .list_orgs()
            .await?
            .into_iter()
            .filter(|o| members.iter().any(|m| m.org_id == Some(o.id)))
            .map(Org::from)
            .collect();
        let card = self.current_card(child).await?;
        let contacts = self.list_contacts(who, child).await?;
        let access_log = self.export_access_log(child).await?;
        let attachments = self.export_attachments(child, &entries).await?;
        let detail = format!(
            "{format}: {} entries, {} attachments, {} access records{}",
            entries.len(),
            attachments.len(),
            access_log.len(),
            if right.full { "" } else { " (youth's view)" }
        );
        self.log_access(child, who.account, "export", detail)
            .await?;
        Ok(Notebook {
            child: child_view,
            members,
            orgs,
            card,
            contacts,
            entries,
            access_log,
            exported_by: who.account,
            exported_at: now,
            full: right.full,
            attachments,
        })
    }

    /// Every attachment the exported entries reference, opened (at most
    /// [`MAX_EXPORT_ATTACHMENTS`] bytes in all).
    async fn export_attachments(
        &self,
        child: ChildId,
        entries: &[Entry],
    ) -> Result<Vec<ExportedAttachment>> {
        let mut ids = Vec::new();
        for e in entries {
            let list = e
                .body
                .get("attachments")
                .and_then(serde_json::Value::as_array);
            for id in list.into_iter().flatten() {
                if let Some(id) = id.as_str().and_then(|s| s.parse().ok()) {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        let mut total = 0u64;
        for id in ids {
            let Some((content_type, bytes)) = self.attachment_plaintext(child, id).await? else {
                continue;
            };
            total += bytes.len() as u64;
            if total > MAX_EXPORT_ATTACHMENTS {
                return Err(Error::PayloadTooLarge(
                    format!(
                    "the attachments of this notebook exceed {} MiB, more than one export holds",
                    MAX_EXPORT_ATTACHMENTS >> 20
                )
                    .into(),
                ));
            }
            let ext = super::attachments::extension_of(&content_type);
            out.push(ExportedAttachment {
                id,
                file_name: format!("attachment-{id}.{ext}"),
                content_type,
                bytes,
            });
        }
        Ok(out)
    }

    /// Every entry revision the export may hold, and the consent it was read
    /// with (read again when an entry was committed after a consent change
    /// that `me` does not reflect, as `read_entries` does).
    async fn export_entries(&self, mut me: Consent) -> Result<(Vec<Entry>, Consent)> {
        let child = me.child();
        let key = self.child_key(child).await?;
        for _ in 0..=MAX_CONSENT_RETRIES {
            let vis = me.require_export()?.visibility;
            let mut out = Vec::new();
            let mut after: Seq = 0;
            let mut stale = false;
            loop {
                let rows = self.store.list_entries(child, after, PAGE, vis).await?;
                let Some(last) = rows.last() else { break };
                after = last.seq;
                if rows.iter().any(|r| r.consent_version > me.as_of()) {
                    stale = true;
                    break;
                }
                let n = rows.len();
                for r in rows {
                    out.push(self.open_entry(&key, r)?);
                }
                if i64::try_from(n).unwrap_or(i64::MAX) < PAGE {
                    break;
                }
            }
            if !stale {
                self.settle(child, &mut out).await?;
                return Ok((out, me));
            }
            me = self.member(child, me.account()).await?;
        }
        Err(Error::Busy { retry_after: 1 })
    }

    /// The whole access log, oldest first.
    async fn export_access_log(&self, child: ChildId) -> Result<Vec<AccessRecord>> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let rows = self.store.list_access(child, after, LOG_PAGE).await?;
            let n = rows.len();
            for (id, r) in rows {
                after = id;
                out.push(AccessRecord {
                    id,
                    at: Timestamp(r.at),
                    display_name: self.name(r.account_id, &r.display_name),
                    account_id: r.account_id,
                    action: r.action,
                    detail: r.detail,
                });
            }
            if i64::try_from(n).unwrap_or(i64::MAX) < LOG_PAGE {
                return Ok(out);
            }
        }
    }
}
