//! Emergency cards and contacts, alerts and their escalation. An alert is
//! persisted first; each escalation step is claimed in the database (compare
//! and set on the alert's step) before anyone is notified, so a step runs
//! once, across restarts and nodes. Step k notifies the first k+1 tiers
//! (re-notifying the earlier ones); after the last tier every step
//! re-notifies all tiers, until someone acknowledges.
//!
//! # Layout
//! Each file adds the operations of one part; siblings depend one way only:
//! `escalation` → `alerts` → `notify` → {`cards`, `push`}, and all of them on
//! the alert view types here. `subscriptions` stands alone.
//! - `cards`: the emergency card and the contact list (who an alert reaches).
//! - `push`: Web Push sends of an alert, retried with backoff, in the background.
//! - `notify`: what a step reaches and the telling: sockets now, push after.
//! - `alerts`: raise, acknowledge, read and list alerts; their views.
//! - `escalation`: the later steps and the scheduler that runs them.
//! - `subscriptions`: the push subscription endpoints' use cases.

mod alerts;
mod cards;
mod escalation;
mod notify;
mod push;
mod subscriptions;

pub use cards::{Card, CardInput, CardVersion, Contact, ContactInput};
pub use escalation::escalation_loop;
pub use push::PushTasks;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertInput {
    pub message: String,
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
