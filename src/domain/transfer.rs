//! Consent passes to the young person (issue 19, point 4): `POST
//! /children/{id}/transfer` by a guardian or the admin, or by the youth
//! from `--consent-age`. From then on the youth approves, narrows and
//! revokes, and sets the emergency contacts; the guardians stay members
//! until the youth decides, without those powers.

use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime};

use super::children::{child_view, Child};
use super::members::label;
use super::{Core, Principal};
use crate::consent;
use crate::error::{Error, Result};
use crate::ids::{ChildId, Timestamp};
use crate::store::{NewAccess, StoreError};
use crate::vocab::Role;

/// Full years from `birth` to `today`.
fn age_on(birth: Date, today: Date) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years
}

impl Core {
    /// `POST /children/{id}/transfer`: answered with the child, whose
    /// `consent_holder` is then `youth`.
    pub async fn transfer_consent(&self, who: &Principal, child: ChildId) -> Result<Child> {
        let row = match self.store.get_child(child).await {
            Ok(row) => row,
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(e.into()),
        };
        let profile = self.open_profile(&row)?;
        // Once passed, a second transfer is a conflict for whoever asks.
        let already = || Error::Conflict("consent has already passed to the young person".into());
        if !who.is_admin() {
            let me = self.member(child, who.account).await?;
            match me.role() {
                Role::Guardian => {}
                Role::Youth if row.consent_transferred_at.is_some() => return Err(already()),
                Role::Youth => {
                    let fmt = format_description!("[year]-[month]-[day]");
                    let birth = Date::parse(&profile.birth_date, &fmt)
                        .map_err(|_| Error::internal("a stored birth date does not parse"))?;
                    // Ages count in Japan's calendar.
                    let today = OffsetDateTime::now_utc().to_offset(offset!(+9)).date();
                    let age = self.settings.consent_age;
                    if age_on(birth, today) < i32::try_from(age).unwrap_or(i32::MAX) {
                        return Err(Error::forbidden(format!(
                            "the young person may ask for consent from the age of {age}"
                        )));
                    }
                }
                _ => {
                    return Err(Error::forbidden(
                        "only a guardian, the young person or an administrator may pass consent",
                    ))
                }
            }
        }
        if row.consent_transferred_at.is_some() {
            return Err(already());
        }
        let now = Timestamp::now();
        let youth = self
            .store
            .list_members(child)
            .await?
            .into_iter()
            .find(|m| m.role == Role::Youth && consent::is_active(m, now))
            .ok_or_else(|| {
                Error::Conflict(
                    "the notebook has no young person's account to pass consent to".into(),
                )
            })?;
        let log = NewAccess {
            child_id: child,
            account_id: who.account,
            action: "transfer",
            detail: format!(
                "consent passed to {}",
                label(youth.account_id, youth.role, &youth.display_name)
            ),
            at: now.millis(),
        };
        let mut w = self.store.writer().await?;
        match w.transfer_consent(child, youth.account_id, log).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(Error::Conflict(
                    "consent has already passed to the young person".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        drop(w);
        // Cached memberships of this child still say who held consent.
        self.members.clear();
        let row = self.store.get_child(child).await?;
        Ok(child_view(&row, profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Month;

    #[test]
    fn age_counts_full_years_to_the_birthday() {
        let d = |y, m, day| Date::from_calendar_date(y, m, day).unwrap_or(Date::MIN); // ok: constants
        let birth = d(2008, Month::April, 2);
        assert_eq!(age_on(birth, d(2026, Month::April, 1)), 17);
        assert_eq!(age_on(birth, d(2026, Month::April, 2)), 18);
        assert_eq!(age_on(birth, d(2026, Month::December, 3)), 18);
        assert_eq!(
            age_on(d(2008, Month::February, 29), d(2026, Month::February, 28)),
            17
        );
        assert_eq!(
            age_on(d(2008, Month::February, 29), d(2026, Month::March, 1)),
            18
        );
    }
}
