//! The matrix's fixtures: one demo account per column, each logged in once;
//! a base child on which every relation holds (read cells, and writes that
//! disturb no other cell), and a second one whose consent has passed to
//! the youth holder (`World::base_for`); and fresh children, each with the
//! guardians, a plain member and the one relation a state-changing cell
//! needs (for the youth holder: its membership, then the transfer).

use serde_json::{json, Value};

use super::policy::{Rel, RELS};
use crate::helpers::*;

/// The demo account playing each column (see `policy.rs` for the convention).
pub fn login_of(rel: Rel) -> &'static str {
    match rel {
        Rel::Admin => "admin",
        Rel::Guardian => "guardian.sato",
        Rel::CoGuardian => "guardian.takahashi",
        Rel::Youth => "youth.watanabe",
        // Made by `World::new`: the youth's session rows (a new password,
        // logging out everywhere) must not end the other youth column's.
        Rel::YouthHolder => "matrix.youth",
        Rel::MemberCat => "doctor.ito",
        Rel::MemberNoCat => "teacher.tanaka",
        Rel::ReadOnly => "schoolnurse.ogawa",
        Rel::Requested => "welfare.hayashi",
        Rel::Revoked => "nurse.suzuki",
        Rel::Expired => "doctor.mori",
        // A support coordinator: a profession that may register children.
        Rel::NonMember => "coordinator.yamada",
        // Made by `World::new`: no demo account administers an organization.
        Rel::OrgAdmin => "matrix.orgadmin",
        Rel::Disabled => "msw.shimizu",
    }
}

/// A plain active member of every child (`education`), the target of
/// "a member" cells and the one who asks for requested memberships.
pub const HELPER: &str = "teacher.kimura";
/// The account a member cell grants or asks for.
pub const CANDIDATE: &str = "phn.kato";

pub struct World {
    pub api: Api,
    /// One session per column, in `RELS` order; the disabled account's is dead.
    pub actors: Vec<Session>,
    pub helper: Session,
    /// The password of the accounts `World::new` makes (the organization
    /// administrator, the youth holder); the others' is the demo's.
    invited_password: String,
    /// The organization the organization administrator administers, and another.
    pub own_org: String,
    pub other_org: String,
    pub candidate_id: String,
    /// The child on which every relation holds (but the youth holder's).
    pub base: String,
    /// An alert of the base child, open at first (contacts: the guardian, then
    /// the member with the category).
    pub alert: String,
    /// The child on which every relation holds but the youth's (before the
    /// transfer), with consent passed to the youth holder; dressed as the
    /// base child is.
    pub held: String,
    /// The held child's alert, as `alert`.
    pub held_alert: String,
    /// A `medical` entry of another child, by the guardian (guardian there too).
    pub other_entry: String,
    children_made: std::cell::Cell<u32>,
}

fn categories(rel: Rel) -> (Value, bool) {
    match rel {
        Rel::Youth | Rel::YouthHolder => {
            (json!(["health", "medical", "education", "family"]), true)
        }
        Rel::MemberNoCat => (json!(["education"]), true),
        Rel::ReadOnly => (json!(["medical"]), false),
        _ => (json!(["medical", "health"]), true),
    }
}

/// The categories `rel` sees on its base child (`World::base_for`); `None`
/// where it reads nothing.
pub fn sees_on_base(rel: Rel) -> Option<Vec<String>> {
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    match rel {
        Rel::Guardian | Rel::CoGuardian => Some(names(json!([
            "health",
            "medical",
            "welfare",
            "childcare",
            "education",
            "employment",
            "family"
        ]))),
        Rel::Youth | Rel::YouthHolder | Rel::MemberCat | Rel::MemberNoCat | Rel::ReadOnly => {
            Some(names(categories(rel).0))
        }
        _ => None,
    }
}

/// Asserts a setup call answered `status` (a failed setup is not a cell).
#[track_caller]
pub fn setup_ok(r: &Resp, status: u16, what: &str) -> Value {
    assert_eq!(r.0, status, "matrix setup: {what}: {}", r.1);
    r.1.clone()
}

impl World {
    pub async fn new(server: &Server) -> World {
        let api = server.api();
        let admin = server.login(login_of(Rel::Admin)).await;
        let own_org = org_id(&admin, "みどり総合病院 小児科").await;
        let other_org = org_id(&admin, "みどり市立第一小学校").await;
        let invited_password = strong_password(&server.registry);
        let mut actors = Vec::new();
        for rel in RELS {
            actors.push(match rel {
                Rel::Admin => admin.clone(),
                Rel::OrgAdmin => {
                    let body = json!({"login": login_of(rel), "display_name": "行列 事務長",
                        "kind": "professional", "profession": "social_worker",
                        "org_id": own_org, "org_admin": true});
                    let inv = create_invited(&admin, body).await;
                    accept(&api, &inv.code, &invited_password).await
                }
                Rel::YouthHolder => {
                    let body = json!({"login": login_of(rel), "display_name": "行列 若葉",
                        "kind": "youth"});
                    let inv = create_invited(&admin, body).await;
                    accept(&api, &inv.code, &invited_password).await
                }
                _ => server.login(login_of(rel)).await,
            });
        }
        let helper = server.login(HELPER).await;
        let (st, found) = actors[0]
            .get(&format!("/api/v1/accounts?query={CANDIDATE}"))
            .await;
        assert_eq!(st, 200, "{found}");
        let candidate_id = found
            .as_array()
            .and_then(|a| a.iter().find(|x| x["login"] == CANDIDATE))
            .and_then(|x| x["id"].as_str())
            .unwrap_or_else(|| panic!("no {CANDIDATE} in {found}"))
            .to_string();
        let mut w = World {
            api,
            actors,
            helper,
            invited_password,
            own_org,
            other_org,
            candidate_id,
            base: String::new(),
            alert: String::new(),
            held: String::new(),
            held_alert: String::new(),
            other_entry: String::new(),
            children_made: std::cell::Cell::new(0),
        };
        // The disabled account: its session was live, then the admin disabled it.
        let dis = w.actor(Rel::Disabled).account_id.clone();
        let r = w
            .actor(Rel::Admin)
            .post_empty(&format!("/api/v1/accounts/{dis}/disable"))
            .await;
        setup_ok(&r, 204, "disable");
        let all_but = |r: Rel| RELS.iter().copied().filter(|x| *x != r).collect::<Vec<_>>();
        w.base = w.child_with(&all_but(Rel::YouthHolder)).await;
        w.alert = w.dress(&w.base, Rel::Guardian).await;
        // Two youth members would leave the transfer to choose: the held
        // child has the youth holder only.
        w.held = w.child_with(&all_but(Rel::Youth)).await;
        w.held_alert = w.dress(&w.held, Rel::YouthHolder).await;
        let other = w.child_with(&[]).await;
        let e = w.guardian().note(&other, "medical", "別の子の記録").await;
        w.other_entry = e["id"].as_str().unwrap_or_default().to_string();
        w
    }

    /// An entry `rel`'s account posted while it could, and the child it is
    /// in; then the relation is made to hold (see `policy.rs`). The admin,
    /// the non-member and the disabled account get the guardian's.
    pub async fn own_entry(&self, rel: Rel) -> (String, String) {
        let id = |e: Value| e["id"].as_str().unwrap_or_default().to_string();
        let me = self.actor(rel);
        let base = self.base_for(rel).to_string();
        match rel {
            Rel::Guardian | Rel::CoGuardian | Rel::Youth | Rel::YouthHolder | Rel::MemberCat => (
                base.clone(),
                id(me.note(&base, "medical", "自分の記録").await),
            ),
            Rel::MemberNoCat => (
                base.clone(),
                id(me.note(&base, "education", "自分の記録").await),
            ),
            Rel::Admin | Rel::NonMember | Rel::OrgAdmin | Rel::Disabled => {
                let e = self.guardian().note(&base, "medical", "保護者の記録").await;
                (base, id(e))
            }
            Rel::ReadOnly | Rel::Requested | Rel::Revoked | Rel::Expired => {
                let child = self.child_with(&[]).await;
                let account = me.account_id.clone();
                self.grant(&child, &account, json!(["medical", "health"]), true, None)
                    .await;
                let e = id(me.note(&child, "medical", "自分の記録").await);
                let path = format!("/api/v1/children/{child}/members/{account}");
                let g = self.guardian();
                let r = match rel {
                    Rel::ReadOnly => g.patch(&path, &json!({"can_post": false})).await,
                    Rel::Expired => {
                        let past = rfc3339_in(time::Duration::minutes(-1));
                        g.patch(&path, &json!({"expires_at": past})).await
                    }
                    _ => g.post_empty(&format!("{path}/revoke")).await,
                };
                setup_ok(&r, 200, "end the author's rights");
                if rel == Rel::Requested {
                    self.request(&child, &account).await;
                }
                (child, e)
            }
        }
    }

    /// The base child of `rel`'s column: the held child for the youth
    /// holder, else the base child.
    pub fn base_for(&self, rel: Rel) -> &str {
        match rel {
            Rel::YouthHolder => &self.held,
            _ => &self.base,
        }
    }

    /// The open alert of `rel`'s base child.
    pub fn alert_for(&self, rel: Rel) -> &str {
        match rel {
            Rel::YouthHolder => &self.held_alert,
            _ => &self.alert,
        }
    }

    pub fn actor(&self, rel: Rel) -> &Session {
        let i = RELS.iter().position(|r| *r == rel).unwrap_or(0); // ok: RELS holds every Rel
        &self.actors[i]
    }

    /// The password of `rel`'s account.
    pub fn password(&self, rel: Rel) -> &str {
        match rel {
            Rel::OrgAdmin | Rel::YouthHolder => &self.invited_password,
            _ => DEMO_PASSWORD,
        }
    }

    pub fn guardian(&self) -> &Session {
        self.actor(Rel::Guardian)
    }

    /// A new child (guardians: the guardian and the co-guardian; the helper
    /// an active member) on which each relation of `rels` holds. The youth
    /// holder's comes last: after the transfer, the guardian no longer
    /// grants nor revokes.
    pub async fn child_with(&self, rels: &[Rel]) -> String {
        let n = self.children_made.get() + 1;
        self.children_made.set(n);
        let name = format!("行列 太郎 {n}");
        self.api.registry.add("matrix child name", &name);
        let body = json!({"name": name, "name_kana": "ぎょうれつ たろう", "birth_date": "2015-04-01",
            "disease_group": 4, "diagnosis": "行列検査",
            "guardians": [self.actor(Rel::Guardian).account_id, self.actor(Rel::CoGuardian).account_id]});
        let r = self.actor(Rel::Admin).post("/api/v1/children", &body).await;
        let child = setup_ok(&r, 201, "create child")["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let helper = self.helper.account_id.clone();
        self.grant(&child, &helper, json!(["education"]), true, None)
            .await;
        for rel in rels.iter().filter(|r| **r != Rel::YouthHolder) {
            self.join(&child, *rel).await;
        }
        if rels.contains(&Rel::YouthHolder) {
            self.join(&child, Rel::YouthHolder).await;
        }
        child
    }

    /// The guardian grants `account` on `child`.
    async fn grant(
        &self,
        child: &str,
        account: &str,
        categories: Value,
        can_post: bool,
        expires_at: Option<String>,
    ) {
        let mut body = json!({"account_id": account, "categories": categories,
            "can_post": can_post, "purpose": "行列"});
        if let Some(e) = expires_at {
            body["expires_at"] = json!(e);
        }
        let r = self
            .guardian()
            .post(&format!("/api/v1/children/{child}/members"), &body)
            .await;
        setup_ok(&r, 201, "grant");
    }

    /// `helper` opens a handover of its membership of `child` to `account`: its id.
    pub async fn handover(&self, child: &str, account: &str) -> String {
        let body = json!({"from_account": self.helper.account_id, "to_account": account});
        let r = self
            .helper
            .post(&format!("/api/v1/children/{child}/handovers"), &body)
            .await;
        setup_ok(&r, 201, "open a handover")["id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `helper` asks for `account` on `child`: a requested membership.
    pub async fn request(&self, child: &str, account: &str) {
        let body = json!({"account_id": account, "categories": ["health"],
            "can_post": true, "purpose": "行列"});
        let r = self
            .helper
            .post(&format!("/api/v1/children/{child}/members"), &body)
            .await;
        let v = setup_ok(&r, 201, "request");
        assert_eq!(v["status"], "requested", "{v}");
    }

    /// Makes `rel` hold on `child` for its column's account (the youth
    /// holder's: a youth membership, then the guardian passes consent).
    async fn join(&self, child: &str, rel: Rel) {
        let account = self.actor(rel).account_id.clone();
        let (cats, can_post) = categories(rel);
        match rel {
            Rel::Admin | Rel::Guardian | Rel::CoGuardian | Rel::NonMember | Rel::OrgAdmin => {}
            Rel::Youth | Rel::MemberCat | Rel::MemberNoCat | Rel::ReadOnly | Rel::Disabled => {
                self.grant(child, &account, cats, can_post, None).await
            }
            Rel::YouthHolder => {
                self.grant(child, &account, cats, can_post, None).await;
                let r = self
                    .guardian()
                    .post_empty(&format!("/api/v1/children/{child}/transfer"))
                    .await;
                let c = setup_ok(&r, 200, "transfer");
                assert_eq!(c["consent_holder"], "youth", "matrix setup: transfer: {c}");
            }
            Rel::Requested => self.request(child, &account).await,
            Rel::Revoked => {
                self.grant(child, &account, cats, can_post, None).await;
                let r = self
                    .guardian()
                    .post_empty(&format!(
                        "/api/v1/children/{child}/members/{account}/revoke"
                    ))
                    .await;
                setup_ok(&r, 200, "revoke");
            }
            Rel::Expired => {
                let past = rfc3339_in(time::Duration::minutes(-1));
                self.grant(child, &account, cats, can_post, Some(past))
                    .await
            }
        }
    }

    /// A base child's card, contacts (guardian, then the member with the
    /// category; set by `holder`, who holds its consent), entries, a
    /// pending handover and an open alert: its id.
    async fn dress(&self, base: &str, holder: Rel) -> String {
        let g = self.guardian();
        let r = g
            .put_json(
                &format!("/api/v1/children/{base}/emergency-card"),
                &card_body(),
            )
            .await;
        setup_ok(&r, 200, "card");
        let r = self
            .actor(holder)
            .put_json(
                &format!("/api/v1/children/{base}/emergency-contacts"),
                &self.contacts_body(),
            )
            .await;
        setup_ok(&r, 200, "contacts");
        // Something in every column's categories, and something in none of
        // the members' (`family`: the guardians' and the youth's only).
        for category in ["medical", "education", "family"] {
            g.note(base, category, "行列の土台").await;
        }
        // A handover waiting for the consent holder (to the revoked member, who may join again).
        let revoked = self.actor(Rel::Revoked).account_id.clone();
        self.handover(base, &revoked).await;
        let alert = g.raise_alert(base, "行列の警報").await;
        alert["id"].as_str().unwrap_or_default().to_string()
    }

    /// The base child's contacts, as set (cells set them again, unchanged).
    pub fn contacts_body(&self) -> Value {
        json!([
            {"account_id": self.guardian().account_id, "tier": 1},
            {"account_id": self.actor(Rel::MemberCat).account_id, "tier": 2},
        ])
    }
}

pub fn card_body() -> Value {
    json!({"summary": "低血糖時の対応", "steps": ["ブドウ糖", "再測定"],
           "hospital": "みどり総合病院", "notes": "行列"})
}
