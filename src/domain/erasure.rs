//! The end of a record (issue 20, point 3): a notebook is closed when
//! support ends (read-only), listed to the administrator once it has been
//! closed for `--retention-years`, and erased by crypto-shredding when a
//! guardian asks and an administrator confirms.

use serde::Serialize;

use super::children::{child_view, Child};
use super::members::state_of_revoked;
use super::{Core, Principal};
use crate::error::{Error, Result};
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::store::tombstones::{self, Tombstone};
use crate::store::{NewAccess, StoreError};

/// `POST /children/{id}/erase`'s answer.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct EraseRequested {
    pub status: &'static str,
}

/// A confirmed erasure.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Erased {
    pub status: &'static str,
    pub child_id: ChildId,
    pub erased_at: Timestamp,
}

/// An erasure request awaiting an administrator, or a closed notebook due.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct PendingErasure {
    pub child_id: ChildId,
    pub requested_by: Option<AccountId>,
    pub requested_at: Timestamp,
}

/// A closed notebook past the retention period.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct RetentionDue {
    pub child_id: ChildId,
    pub closed_at: Timestamp,
    pub closed_by: Option<AccountId>,
    /// When the retention period ended.
    pub due_at: Timestamp,
}

impl Core {
    /// `POST /children/{id}/erase`: whoever holds the child's consent (a
    /// guardian; the youth after the transfer) asks; repeated, the first
    /// request stands.
    pub async fn request_erasure(&self, who: &Principal, child: ChildId) -> Result<EraseRequested> {
        let me = self.member(child, who.account).await?;
        me.require_holder()?;
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "erase",
            detail: "erasure requested".into(),
            at: Timestamp::now().millis(),
        };
        self.store
            .writer()
            .await?
            .request_erasure(child, log)
            .await?;
        Ok(EraseRequested {
            status: "erase_requested",
        })
    }

    /// `GET /admin/erasures` (admin): requests awaiting confirmation.
    pub async fn pending_erasures(&self, who: &Principal) -> Result<Vec<PendingErasure>> {
        require_admin(who)?;
        Ok(self
            .store
            .pending_erasures()
            .await?
            .into_iter()
            .map(|r| PendingErasure {
                child_id: r.child_id,
                requested_by: r.requested_by,
                requested_at: Timestamp(r.requested_at),
            })
            .collect())
    }

    /// `GET /admin/retention` (admin): closed notebooks past the retention period.
    pub async fn retention_due(&self, who: &Principal) -> Result<Vec<RetentionDue>> {
        require_admin(who)?;
        let keep = self.settings.retention_ms;
        let before = Timestamp::now().millis().saturating_sub(keep);
        Ok(self
            .store
            .closed_before(before)
            .await?
            .into_iter()
            .map(|r| RetentionDue {
                child_id: r.child_id,
                closed_at: Timestamp(r.closed_at),
                closed_by: r.closed_by,
                due_at: Timestamp(r.closed_at.saturating_add(keep)),
            })
            .collect())
    }

    /// `POST /admin/erasures/{child}/confirm` (admin): erases a child whose
    /// erasure was requested, or whose notebook is past the retention
    /// period. The tombstone is written (and synced) first: if the database
    /// step fails, the next start finishes it.
    pub async fn confirm_erasure(&self, who: &Principal, child: ChildId) -> Result<Erased> {
        require_admin(who)?;
        let requested = self
            .store
            .pending_erasures()
            .await?
            .iter()
            .any(|r| r.child_id == child);
        if !requested {
            let before = Timestamp::now()
                .millis()
                .saturating_sub(self.settings.retention_ms);
            let due = self
                .store
                .closed_before(before)
                .await?
                .iter()
                .any(|r| r.child_id == child);
            if !due {
                // Unknown and erased children answer 404 like everywhere.
                self.store.get_child(child).await.map_err(|e| match e {
                    StoreError::NotFound => Error::NotFound,
                    e => e.into(),
                })?;
                return Err(Error::Conflict(
                    "no erasure was requested for this child, and it is not a closed notebook past the retention period".into(),
                ));
            }
        }
        let at = Timestamp::now();
        tombstones::append(
            &self.settings.erasures_file,
            Tombstone {
                child,
                at: at.millis(),
            },
        )
        .map_err(|e| Error::internal(format!("the tombstone list: {e:#}")))?;
        self.erase(child, Some(who.account), at).await?;
        Ok(Erased {
            status: "erased",
            child_id: child,
            erased_at: at,
        })
    }

    /// Destroys the child's key and sealed rows, revokes every membership
    /// (open sockets drop the child at once) and forgets cached keys.
    async fn erase(&self, child: ChildId, by: Option<AccountId>, at: Timestamp) -> Result<()> {
        let members = self.store.list_members(child).await?;
        let log = by.map(|account| NewAccess {
            child_id: child,
            account_id: account,
            action: "erase",
            detail: "erased: the data key was destroyed".into(),
            at: at.millis(),
        });
        let mut w = self.store.writer().await?;
        let version = match w.erase_child(child, by, log, at.millis()).await {
            Ok(v) => v,
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(StoreError::Conflict) => {
                self.forget_erased(child);
                return Err(Error::NotFound);
            }
            Err(e) => return Err(e.into()),
        };
        self.forget_erased(child);
        for m in &members {
            self.hub.publish_membership(state_of_revoked(m, version));
        }
        drop(w);
        self.store.remove_child_attachment_files(child).await?;
        Ok(())
    }

    /// Forgets what this node holds of an erased child.
    pub(super) fn forget_erased(&self, child: ChildId) {
        self.keys.forget(child);
        self.members.clear();
    }

    /// At start: applies every tombstone whose child still has its key
    /// (a database restored from before the erasure). Returns how many.
    pub async fn apply_tombstones(&self) -> Result<usize> {
        let list = tombstones::read(&self.settings.erasures_file)
            .map_err(|e| Error::internal(format!("{e:#}")))?;
        let ids: Vec<ChildId> = list.iter().map(|t| t.child).collect();
        let left = self.store.unerased_of(&ids).await?;
        for t in list.iter().filter(|t| left.contains(&t.child)) {
            match self.erase(t.child, None, Timestamp(t.at)).await {
                Ok(()) | Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(left.len())
    }

    /// `POST /children/{id}/close`: the consent holder, a coordinator
    /// member or the admin closes the notebook when support ends.
    pub async fn close_notebook(&self, who: &Principal, child: ChildId) -> Result<Child> {
        if !who.is_admin() {
            let me = self.member(child, who.account).await?;
            if !me.holds_consent() && !who.coordinates() {
                return Err(Error::forbidden(
                    "only the one who holds consent, a coordinator or an administrator may close a notebook",
                ));
            }
        }
        self.set_closed(who, child, true).await
    }

    /// `POST /children/{id}/reopen` (admin): support resumed.
    pub async fn reopen_notebook(&self, who: &Principal, child: ChildId) -> Result<Child> {
        require_admin(who)?;
        self.set_closed(who, child, false).await
    }

    async fn set_closed(&self, who: &Principal, child: ChildId, closed: bool) -> Result<Child> {
        let row = match self.store.get_child(child).await {
            Ok(row) => row,
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(e.into()),
        };
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "close",
            detail: if closed { "closed" } else { "reopened" }.into(),
            at: Timestamp::now().millis(),
        };
        let mut w = self.store.writer().await?;
        let done = w.set_closed(child, closed, log).await;
        self.members.clear();
        drop(w);
        match done {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(Error::Conflict(
                    if closed {
                        "the notebook is closed already"
                    } else {
                        "the notebook is not closed"
                    }
                    .into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let profile = self.open_profile(&row)?;
        let row = self.store.get_child(child).await?;
        Ok(child_view(&row, profile))
    }
}

fn require_admin(who: &Principal) -> Result<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden("administrators only"))
    }
}
