//! Who has read an entry, and when (issue 19, point 5): the members who
//! see the entry and whose read position is at or past it, each with the
//! time its position first reached the entry (null when it moved there
//! before read times were kept). Listing them is reading the child's
//! member data: a `read_members` record.

use serde::Serialize;

use super::{Core, Principal};
use crate::consent;
use crate::error::Result;
use crate::ids::{AccountId, ChildId, EntryId, Timestamp};

#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Reader {
    pub account_id: AccountId,
    pub display_name: String,
    pub read_at: Option<Timestamp>,
}

impl Core {
    /// `GET /children/{id}/entries/{entry}/readers` (a member who sees the entry).
    pub async fn entry_readers(
        &self,
        who: &Principal,
        child: ChildId,
        entry: EntryId,
    ) -> Result<Vec<Reader>> {
        let me = self.member(child, who.account).await?;
        let row = self.visible_entry(&me, entry).await?;
        let now = Timestamp::now();
        let times = self.store.read_times(child, row.seq).await?;
        let mut out = Vec::new();
        for m in self.store.list_members(child).await? {
            let sees = consent::row_sees(&m, row.category, row.first_created_at, now);
            if !sees || m.last_read_seq < row.seq {
                continue;
            }
            let read_at = times
                .iter()
                .find(|(a, _)| *a == m.account_id)
                .map(|(_, at)| Timestamp(*at));
            out.push(Reader {
                display_name: self.name(m.account_id, &m.display_name),
                account_id: m.account_id,
                read_at,
            });
        }
        out.sort_by_key(|r| r.read_at.map_or(i64::MAX, Timestamp::millis));
        let detail = format!("readers of entry {} ({})", row.seq, out.len());
        self.log_access(child, who.account, "read_members", detail)
            .await?;
        Ok(out)
    }
}
