//! Notifying an alert's parties: whom a step reaches and on which channels,
//! then the telling — sockets at once, Web Push in the background.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::consent;
use crate::domain::frames::ServerFrame;
use crate::domain::views::Alert;
use crate::domain::Core;
use crate::error::Result;
use crate::ids::{AccountId, ChildId, Timestamp};
use crate::store::{MemberRow, Notified, PushSubRow};
use crate::vocab::Role;

/// One contact a step notifies, with its push subscriptions.
pub(super) type Planned = (Notified, Vec<PushSubRow>);

pub(super) fn notified_rows(planned: &[Planned]) -> Vec<Notified> {
    planned
        .iter()
        .map(|(n, _)| Notified {
            account_id: n.account_id,
            tier: n.tier,
            channels: n.channels.clone(),
        })
        .collect()
}

impl Core {
    /// Who step `step` of an alert on `child` notifies, and on which channels.
    pub(super) async fn plan_step(
        &self,
        child: ChildId,
        step: i64,
    ) -> Result<(Vec<MemberRow>, Vec<Planned>)> {
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
    pub(super) fn notify_step(
        self: &Arc<Self>,
        view: &Alert,
        members: &[MemberRow],
        notified: Vec<Planned>,
    ) {
        self.fan_alert(view, members, false);
        for (_, subs) in notified {
            for sub in subs {
                let core = self.clone();
                let id = view.id;
                self.push_tasks
                    .spawn(async move { core.push_with_retry(id, sub).await });
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
        let frame: Arc<str> = ServerFrame::Alert { alert: view }.to_text().into();
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
        let frame: Arc<str> = ServerFrame::AlertUpdate { alert: view }.to_text().into();
        for account in parties.into_iter().filter(|a| !skip.contains(a)) {
            let active = members
                .iter()
                .any(|m| m.account_id == account && consent::is_active(m, now));
            if active {
                self.hub.send_to_account(account, frame.clone());
            }
        }
    }
}
