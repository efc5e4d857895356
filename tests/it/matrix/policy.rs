//! The access policy, written once: one row per endpoint (method and path
//! template, as the router declares it) or WebSocket client frame, one
//! column per relation of the caller, each cell the expected answer.
//!
//! # How to read a row
//!
//! - Columns (see [`Rel`]): `adm` admin, `grd` guardian, `cog` co-guardian
//!   (a second guardian of the same child), `yth` the child's own youth
//!   account before consent passes to them, `yh` the child's youth
//!   account after the transfer (`POST /children/{id}/transfer` by the
//!   guardian: the youth holds consent, the guardians stay active members
//!   without a holder's powers), `m+c` an active member with the row's
//!   category (`medical`) and posting rights, `m-c` an active member without it (`education`
//!   only), `mro` an active member with `medical` but without posting
//!   rights, `req` a requested (not yet approved) member, `rev` a revoked
//!   member, `exp` an expired member, `non` a professional with no
//!   membership, `oad` a professional who is its organization's
//!   administrator (`org_admin`) and no member, `dis` a disabled account
//!   (its token, issued before it was disabled, is dead).
//! - For endpoints not about a child (`/auth/*`, `/me/*`, `/accounts`,
//!   `/orgs`, `/alerts`, `/push/*`), a column means the caller's kind and
//!   account: `adm` is an admin; `grd`, `cog` guardians; `yth`, `yh`
//!   youths; `m+c` … `exp` professionals (no org administrator); `non` is a
//!   `support_coordinator`, a profession that may register children;
//!   `oad` administers the accounts of its organization (the hospital;
//!   it is a social worker, a profession that may not register children);
//!   `dis` a disabled professional. A coordinator invites guardians and
//!   youths (issue 19's onboarding), no one else.
//! - Two youth columns: `yth` is the youth *before* consent passes to
//!   them, on the base child; `yh` the youth *after* the transfer, on a
//!   second base child whose consent it holds (`World::base_for`). The
//!   guardians are guardians there too, so a list's content shows that
//!   they no longer decide on it (`content.rs`). `yh` is an account of its
//!   own (made by `World::new`), so that the session rows of one youth
//!   column end no session of the other.
//! - A cell is an HTTP status. For a WebSocket frame it is the status of
//!   the answer's error code (`401` unauthorized or a 4401 close, `403`
//!   forbidden, `404` not_found, `400` bad_request, `409` conflict), and
//!   `200` is the frame's success answer (`ready`, `subscribed`,
//!   `unsubscribed`, `posted`, `acked`; `read` answers nothing, so `200`
//!   there means no error came back). The disabled account's frames are
//!   tried on a socket authenticated with its dead token.
//! - `POST /children/{id}/members` answers 201 in both cases; the table
//!   writes `201` for a membership granted at once (`active`) and `202` for
//!   one only asked for (`requested`, granting nothing until the consent
//!   holder approves).
//! - A revision of one's `own` entry: the entry was posted while the
//!   caller could post it; then `mro` lost posting rights, `req` was
//!   revoked and asked for again, `rev` revoked, `exp` expired. The
//!   admin, `non` and `oad` have no entry of their own: they try the
//!   guardian's.
//! - A 2xx answer must also hold the right things (`content.rs`): reads
//!   only the caller's categories, lists only the children and alerts it
//!   reads, the directory no family account but to the admin. A right
//!   status with wrong content shows as `0`.
//! - A refused write leaves the child as it was (`effects.rs`): a cell
//!   refused as the table says, but whose child changed, shows as `0`.
//! - The `case` says which target a path id or body names, where the
//!   endpoint takes one (see `cells.rs` for how each is made). Cells that
//!   change state run on fixtures of their own, so no cell sees another's
//!   effect.
//!
//! Where the contract is silent, the table holds today's behaviour:
//! `unsubscribe` answers anyone (it reveals nothing); a requested, revoked
//! or expired member cannot "leave" (it already has no access: 403); the
//! youth holding consent cannot leave either (409: someone must hold it);
//! a youth asking to transfer a consent it already holds is told that it
//! passed already (409), whatever its age; the TOTP endpoints answer 409
//! when there is nothing to confirm or remove.

/// The caller's relation to the child (or, off a child, its kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rel {
    Admin,
    Guardian,
    CoGuardian,
    Youth,
    YouthHolder,
    MemberCat,
    MemberNoCat,
    ReadOnly,
    Requested,
    Revoked,
    Expired,
    NonMember,
    OrgAdmin,
    Disabled,
}

/// How many columns.
pub const COLUMNS: usize = 14;

/// The columns, in table order.
pub const RELS: [Rel; COLUMNS] = [
    Rel::Admin,
    Rel::Guardian,
    Rel::CoGuardian,
    Rel::Youth,
    Rel::YouthHolder,
    Rel::MemberCat,
    Rel::MemberNoCat,
    Rel::ReadOnly,
    Rel::Requested,
    Rel::Revoked,
    Rel::Expired,
    Rel::NonMember,
    Rel::OrgAdmin,
    Rel::Disabled,
];

impl Rel {
    pub fn name(self) -> &'static str {
        match self {
            Rel::Admin => "admin",
            Rel::Guardian => "guardian",
            Rel::CoGuardian => "co-guardian",
            Rel::Youth => "youth",
            Rel::YouthHolder => "youth after transfer",
            Rel::MemberCat => "member with the category",
            Rel::MemberNoCat => "member without the category",
            Rel::ReadOnly => "member without posting rights",
            Rel::Requested => "requested",
            Rel::Revoked => "revoked",
            Rel::Expired => "expired",
            Rel::NonMember => "non-member",
            Rel::OrgAdmin => "organization administrator",
            Rel::Disabled => "disabled account",
        }
    }
}

/// What is called: an HTTP route, or a WebSocket client frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Http(&'static str, &'static str),
    Frame(&'static str),
}

/// Which target the cell's path ids and body name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// The base child (and its alert), or no target at all.
    Plain,
    /// A member of the child: `teacher.kimura`, an active member.
    AMember,
    /// The other guardian (the co-guardian's is the guardian, and back;
    /// the youth holder's, the guardian).
    OtherGuardian,
    /// The caller's own membership, session or subscription.
    Own,
    /// A membership requested by a member, waiting for a guardian.
    ARequest,
    /// Another account's session or subscription.
    Others,
    /// A new professional, invited by the admin for the cell into the
    /// organization the organization administrator administers.
    NewAccount,
    /// The same, in another organization.
    OtherOrg,
    /// A `medical` entry the guardian has just posted.
    GuardiansEntry,
    /// An entry of another child (the guardian's, who is guardian there too).
    OtherChild,
    /// The administrators' list (`?managed=true`).
    Managed,
    /// A guardian account invited by the caller (issue 19's onboarding:
    /// admins, and coordinators for the children they register).
    FamilyInvite,
}

impl Case {
    pub fn label(self) -> &'static str {
        match self {
            Case::Plain => "",
            Case::AMember => " [a member]",
            Case::OtherGuardian => " [the other guardian]",
            Case::Own => " [own]",
            Case::ARequest => " [a request]",
            Case::Others => " [another account's]",
            Case::NewAccount => " [a new account]",
            Case::OtherOrg => " [a new account of another organization]",
            Case::GuardiansEntry => " [the guardian's entry]",
            Case::OtherChild => " [another child's]",
            Case::Managed => " [managed]",
            Case::FamilyInvite => " [a guardian's invitation]",
        }
    }
}

pub struct Row {
    pub call: Call,
    pub case: Case,
    pub want: [u16; COLUMNS],
}

impl Row {
    pub fn name(&self) -> String {
        let call = match self.call {
            Call::Http(m, p) => format!("{m} {p}"),
            Call::Frame(f) => format!("ws {f}"),
        };
        format!("{call}{}", self.case.label())
    }
}

const fn http(method: &'static str, path: &'static str, case: Case, want: [u16; COLUMNS]) -> Row {
    Row {
        call: Call::Http(method, path),
        case,
        want,
    }
}

const fn frame(name: &'static str, want: [u16; COLUMNS]) -> Row {
    Row {
        call: Call::Frame(name),
        case: Case::Plain,
        want,
    }
}

use Case::*;

/// The policy. Keep the columns aligned: a reviewer reads it down a column.
#[rustfmt::skip]
pub const POLICY: &[Row] = &[
    //                                                                                   adm  grd  cog  yth  yh   m+c  m-c  mro  req  rev  exp  non  oad  dis
    // Public: no token needed (the caller's is sent, and ignored).
    http("GET",    "/healthz",                                          Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    http("GET",    "/readyz",                                           Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    http("GET",    "/api/v1/push/vapid-public-key",                     Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    http("GET",    "/api/v1/openapi.json",                              Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    http("POST",   "/api/v1/auth/accept-invitation",                    NewAccount,     [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    // Sessions: one's own, whoever one is.
    http("POST",   "/api/v1/auth/login",                                Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("POST",   "/api/v1/auth/refresh",                              Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("POST",   "/api/v1/auth/logout",                               Own,            [204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 401]),
    http("POST",   "/api/v1/auth/logout-all",                           Own,            [204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 401]),
    http("GET",    "/api/v1/me",                                        Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("GET",    "/api/v1/me/sessions",                               Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("DELETE", "/api/v1/me/sessions/{id}",                          Own,            [204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 401]),
    http("DELETE", "/api/v1/me/sessions/{id}",                          Others,         [404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401]),
    http("POST",   "/api/v1/me/password",                               Own,            [204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 401]),
    http("GET",    "/api/v1/me/totp",                                   Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("POST",   "/api/v1/me/totp",                                   Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("POST",   "/api/v1/me/totp/confirm",                           Own,            [400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 401]),
    http("DELETE", "/api/v1/me/totp",                                   Own,            [409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 401]),
    http("POST",   "/api/v1/me/totp/recovery-codes",                    Own,            [409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 401]),
    // Accounts and organizations: admins administer; the directory is not for youths.
    http("POST",   "/api/v1/accounts",                                  NewAccount,     [201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201, 401]),
    http("POST",   "/api/v1/accounts",                                  FamilyInvite,   [201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201, 403, 401]),
    http("GET",    "/api/v1/accounts",                                  Plain,          [200, 200, 200, 403, 403, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("GET",    "/api/v1/accounts",                                  Managed,        [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401]),
    http("POST",   "/api/v1/accounts/{id}/disable",                     NewAccount,     [204, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 204, 401]),
    http("POST",   "/api/v1/accounts/{id}/disable",                     OtherOrg,       [204, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("POST",   "/api/v1/accounts/{id}/enable",                      NewAccount,     [204, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 204, 401]),
    http("POST",   "/api/v1/accounts/{id}/enable",                      OtherOrg,       [204, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("POST",   "/api/v1/accounts/{id}/reset",                       NewAccount,     [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401]),
    http("POST",   "/api/v1/accounts/{id}/reset",                       OtherOrg,       [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("GET",    "/api/v1/admin/security-log",                        Plain,          [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    // The end of a record: administrators list erasure requests and closed notebooks past retention, and confirm.
    http("GET",    "/api/v1/admin/erasures",                            Plain,          [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("POST",   "/api/v1/admin/erasures/{id}/confirm",               Plain,          [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("GET",    "/api/v1/admin/retention",                           Plain,          [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("POST",   "/api/v1/orgs",                                      Plain,          [201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("PATCH",  "/api/v1/orgs/{id}",                                 Plain,          [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    http("GET",    "/api/v1/orgs",                                      Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    // Children: admins and coordinating professions register them; members read them.
    http("POST",   "/api/v1/children",                                  Plain,          [201, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201, 403, 401]),
    http("GET",    "/api/v1/children",                                  Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("GET",    "/api/v1/children/{id}",                             Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    // Consent passes to the young person: a guardian or the admin (the youth, aged 11 here, is under --consent-age;
    // the youth holding it already asks for a second transfer: 409, whatever its age).
    http("POST",   "/api/v1/children/{id}/transfer",                    Plain,          [200, 200, 200, 403, 409, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    // The end of a record: the consent holder asks for the erasure; the consent holder, a coordinator member or the
    // admin closes a notebook; only the admin reopens one (asked before anything else: 403 to everyone else).
    http("POST",   "/api/v1/children/{id}/erase",                       Plain,          [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/close",                       Plain,          [200, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/reopen",                      Plain,          [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    // Members and consent: the consent holder decides (guardians, or the youth after the transfer, who may end a
    // guardian's membership but not leave); anyone active may ask; only oneself leaves.
    http("GET",    "/api/v1/children/{id}/members",                     Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/members",                     Plain,          [404, 201, 201, 202, 201, 202, 202, 202, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/members/{account}/approve",   ARequest,       [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/members/{account}/revoke",    AMember,        [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/members/{account}/revoke",    OtherGuardian,  [404, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/members/{account}/revoke",    Own,            [404, 200, 200, 200, 409, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("PATCH",  "/api/v1/children/{id}/members/{account}",           AMember,        [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("PATCH",  "/api/v1/children/{id}/members/{account}",           OtherGuardian,  [404, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("PATCH",  "/api/v1/children/{id}/members/{account}",           Own,            [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    // Pending requests: every account lists those to the children whose consent it holds (guardians', or after the
    // transfer the youth's).
    http("GET",    "/api/v1/requests",                                  Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    // Handovers: active members read them; a professional member hands over its own membership (a family
    // membership is not handed over: 400), a coordinator anyone's (the coordinator column here is no member);
    // the consent holders decide. Everyone lists those awaiting their decision; administrators a leaver's.
    http("GET",    "/api/v1/children/{id}/handovers",                   Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/handovers",                   Own,            [404, 400, 400, 400, 400, 201, 201, 201, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/handovers",                   AMember,        [404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/handovers/{handover}/approve", Plain,         [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/handovers/{handover}/decline", Plain,         [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/handovers",                                 Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("GET",    "/api/v1/handovers",                                 NewAccount,     [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401]),
    http("GET",    "/api/v1/handovers",                                 OtherOrg,       [200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    // A new account holds no notebook: an administrator allowed to hand it over is told so (409).
    http("POST",   "/api/v1/handovers",                                 NewAccount,     [409, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 409, 401]),
    http("POST",   "/api/v1/handovers",                                 OtherOrg,       [409, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401]),
    // The notebook: members read what their categories cover; posting needs the category and the right.
    // Who has read an entry: members who see it (the youth sees medical here; m-c does not: 404).
    http("GET",    "/api/v1/children/{id}/entries/{entry}/readers",    GuardiansEntry, [404, 200, 200, 200, 200, 200, 404, 200, 403, 403, 403, 404, 404, 401]),
    // Questions: the author (the guardian) or an addressee (the co-guardian) marks the guardian's medical question
    // done; others who see it may not (403), those who do not see it are told nothing (404). The inbox: one's own.
    http("POST",   "/api/v1/children/{id}/entries/{entry}/done",        GuardiansEntry, [404, 200, 200, 403, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/inbox",                                     Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    // The calendar: one's own children's dates, whoever one is.
    http("GET",    "/api/v1/calendar",                                  Own,            [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    // Which entries push to me, per notebook: one's own setting, as an active member.
    http("GET",    "/api/v1/children/{id}/members/me/notify",           Own,            [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("PUT",    "/api/v1/children/{id}/members/me/notify",           Own,            [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    // Search: what a member reads, found (the content check holds it to the member's categories).
    http("GET",    "/api/v1/children/{id}/search",                      Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/children/{id}/entries",                     Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/entries",                     Plain,          [404, 201, 201, 201, 201, 201, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/entries/{entry}/revisions",   GuardiansEntry, [404, 201, 403, 403, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/entries/{entry}/revisions",   Own,            [404, 201, 201, 201, 201, 201, 201, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/entries/{entry}/revisions",   OtherChild,     [404, 404, 404, 404, 404, 404, 404, 404, 403, 403, 403, 404, 404, 401]),
    // Attachments: members who may post upload (in any category); a file is read by those who see an entry
    // referencing it (here the guardian's medical entry: m-c does not).
    http("POST",   "/api/v1/children/{id}/attachments",                 Plain,          [404, 201, 201, 201, 201, 201, 201, 403, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/children/{id}/attachments/{aid}",           GuardiansEntry, [404, 200, 200, 200, 200, 200, 404, 200, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/children/{id}/access-log",                  Plain,          [404, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    // Export: the consent holder (guardians, or the youth after the transfer) and the youth before it (only what it
    // sees); members and the guardians after the transfer may not.
    http("POST",   "/api/v1/children/{id}/export",                      Plain,          [404, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    // Emergency: every active member reads; guardians and medical posters write the card; the consent holder sets
    // the contacts.
    http("GET",    "/api/v1/children/{id}/emergency-card",              Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("PUT",    "/api/v1/children/{id}/emergency-card",              Plain,          [404, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/children/{id}/emergency-card/versions",     Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/children/{id}/emergency-contacts",          Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    http("PUT",    "/api/v1/children/{id}/emergency-contacts",          Plain,          [404, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/children/{id}/alerts",                      Plain,          [404, 201, 201, 201, 201, 201, 201, 201, 403, 403, 403, 404, 404, 401]),
    http("GET",    "/api/v1/alerts",                                    Plain,          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    http("GET",    "/api/v1/alerts/{id}",                               Plain,          [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    // Contacts (tier 1 the guardian, tier 2 the member with the category) acknowledge.
    http("POST",   "/api/v1/alerts/{id}/ack",                           Plain,          [404, 200, 403, 403, 403, 200, 403, 403, 403, 403, 403, 404, 404, 401]),
    http("POST",   "/api/v1/push/subscriptions",                        Own,            [201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 401]),
    http("DELETE", "/api/v1/push/subscriptions/{id}",                   Own,            [204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 401]),
    http("DELETE", "/api/v1/push/subscriptions/{id}",                   Others,         [404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401]),
    // WebSocket `GET /api/v1/ws`: one row per client frame, on the base child.
    frame("auth",                                                                        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    frame("subscribe",                                                                   [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    frame("unsubscribe",                                                                 [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401]),
    frame("post",                                                                        [404, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 404, 404, 401]),
    frame("read",                                                                        [404, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 404, 404, 401]),
    frame("ack_alert",                                                                   [404, 200, 403, 403, 403, 200, 403, 403, 403, 403, 403, 404, 404, 401]),
];
