//! Setting up through the API: accounts, children, memberships, emergency
//! contacts, with bounded concurrency and progress lines; and the
//! file-descriptor check for workloads that open many sockets.

use anyhow::{anyhow, bail, Context};
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

use super::client::Client;
use super::report::every_second;

/// Account creation and login each cost the server a password hash (on two
/// dedicated threads): a few in flight keep both busy, more only queue.
const HASHING_IN_FLIGHT: usize = 4;
/// Other set-up requests (children, memberships, contacts).
pub const SETUP_IN_FLIGHT: usize = 16;

/// An account created for this run, logged in.
#[derive(Clone)]
pub struct Account {
    pub id: String,
    pub token: String,
}

/// Names and password shared by the accounts of one run, so that runs
/// against the same server never collide.
pub struct Setup {
    pub client: Client,
    pub admin: String,
    run: String,
    password: String,
}

impl Setup {
    pub fn new(client: &Client, admin: &str) -> Self {
        let run: String = rand::thread_rng()
            .sample_iter(rand::distributions::Alphanumeric)
            .take(8)
            .map(|c| char::from(c).to_ascii_lowercase())
            .collect();
        let password: String = rand::thread_rng()
            .sample_iter(rand::distributions::Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        Self {
            client: client.clone(),
            admin: admin.to_owned(),
            run,
            password,
        }
    }

    /// `n` accounts of `kind` (`guardian` or `professional`), created by the
    /// admin and logged in.
    pub async fn accounts(&self, kind: &'static str, n: usize) -> anyhow::Result<Vec<Account>> {
        let tag = if kind == "guardian" { "g" } else { "p" };
        let label = format!("{kind} accounts");
        let (client, admin, run, password) = (
            self.client.clone(),
            self.admin.clone(),
            self.run.clone(),
            self.password.clone(),
        );
        bounded(&label, n, HASHING_IN_FLIGHT, move |i| {
            let login = format!("bench-{run}-{tag}{i}");
            let (client, admin, password) = (client.clone(), admin.clone(), password.clone());
            async move {
                let mut body = json!({"login": login, "password": password, "display_name": login, "kind": kind});
                if kind == "professional" {
                    body["profession"] = json!("nurse");
                }
                client
                    .call(Method::POST, "/api/v1/accounts", Some(&admin), Some(body))
                    .await?;
                let (token, id) = client.login(&login, &password).await?;
                Ok(Account { id, token })
            }
        })
        .await
    }

    /// One child per entry of `guardians` (its guardian's account id); returns the child ids.
    pub async fn children(&self, guardians: Vec<String>) -> anyhow::Result<Vec<String>> {
        let (client, admin) = (self.client.clone(), self.admin.clone());
        let guardians = Arc::new(guardians);
        bounded("children", guardians.len(), SETUP_IN_FLIGHT, move |c| {
            let (client, admin, guardians) = (client.clone(), admin.clone(), guardians.clone());
            async move {
                let body = json!({"name": format!("ベンチ {c}"), "name_kana": "べんち", "birth_date": "2018-04-01",
                                  "disease_group": 1, "diagnosis": "bench", "guardians": [guardians[c]]});
                let child = client
                    .call(Method::POST, "/api/v1/children", Some(&admin), Some(body))
                    .await?;
                id_of(&child, "child")
            }
        })
        .await
    }

    /// Memberships granted by guardians: `(child id, guardian token, member
    /// account id)`, each active at once with every category and posting.
    pub async fn grant(&self, grants: Vec<Grant>) -> anyhow::Result<()> {
        let client = self.client.clone();
        let grants = Arc::new(grants);
        bounded("memberships", grants.len(), SETUP_IN_FLIGHT, move |i| {
            let (client, grants) = (client.clone(), grants.clone());
            async move { grants[i].send(&client).await }
        })
        .await?;
        Ok(())
    }
}

/// One membership to grant.
pub struct Grant {
    pub child: String,
    pub guardian_token: String,
    pub member: String,
}

impl Grant {
    pub async fn send(&self, client: &Client) -> anyhow::Result<()> {
        let body = json!({"account_id": self.member, "categories": crate::consent::CATEGORIES,
                          "can_post": true, "purpose": "bench"});
        let path = format!("/api/v1/children/{}/members", self.child);
        let m = client
            .call(Method::POST, &path, Some(&self.guardian_token), Some(body))
            .await?;
        if m["status"] != "active" {
            bail!(
                "membership in {} is {} (want active)",
                self.child,
                m["status"]
            );
        }
        Ok(())
    }
}

/// `"id"` of an API object.
pub fn id_of(v: &Value, what: &str) -> anyhow::Result<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{what} without id: {v}"))
}

/// Runs `job(0..n)` with at most `limit` in flight, each on its own task (so
/// that TLS and JSON work spreads over the runtime's threads), printing
/// `label done/n` every second; the results in index order. The first
/// error stops the rest.
pub async fn bounded<T, F, Fut>(
    label: &str,
    n: usize,
    limit: usize,
    job: F,
) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(limit.max(1)));
    let done = Arc::new(AtomicUsize::new(0));
    let _progress = {
        let (done, label) = (done.clone(), label.to_owned());
        every_second(move || format!("{label}: {}/{n}", done.load(Ordering::SeqCst)))
    };
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let (fut, done) = (job(i), done.clone());
        tasks.push(tokio::spawn(async move {
            let out = fut.await;
            done.fetch_add(1, Ordering::SeqCst);
            drop(permit);
            out
        }));
    }
    let mut out = Vec::with_capacity(n);
    let mut tasks = tasks.into_iter();
    while let Some(task) = tasks.next() {
        let result = task
            .await
            .map_err(|e| anyhow!("{label}: task failed: {e}"))
            .and_then(|r| r.with_context(|| format!("{label}: {}/{n}", out.len() + 1)));
        match result {
            Ok(v) => out.push(v),
            Err(e) => {
                tasks.for_each(|t| t.abort());
                return Err(e);
            }
        }
    }
    eprintln!("  {label}: {n}/{n}");
    Ok(out)
}

/// Fails early, with the fix, when this process may not open `needed` files
/// (one per socket): otherwise sockets would fail half-way with EMFILE.
pub fn check_fd_limit(needed: u64) -> anyhow::Result<()> {
    let limits =
        std::fs::read_to_string("/proc/self/limits").context("reading /proc/self/limits")?;
    let Some(soft) = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
    else {
        bail!("no \"Max open files\" in /proc/self/limits");
    };
    if soft == "unlimited" {
        return Ok(());
    }
    let soft: u64 = soft.parse().context("parsing the open-files limit")?;
    if soft < needed {
        bail!(
            "this workload needs about {needed} open files (one per socket) but `ulimit -n` is {soft}: \
             raise it (e.g. `ulimit -n {}`) or use fewer --connections",
            needed.next_power_of_two()
        );
    }
    Ok(())
}
