//! The route and frame reader on made-up sources, and the coverage check
//! reporting a missing row.

use super::super::policy::{Case, Row, POLICY};
use super::*;

const MODULE: &str = r#"
    pub fn router() -> Router<AppState> {
        Router::new()
            .route("/things", get(list_things).post(create_thing)) // .route("/no", get(x))
            .route(
                "/things/{id}/fix",
                axum::routing::post(fix)
                    .delete(unfix),
            )
            /* .route("/commented", put(x)) */
            .route("/get_like/{id}", get(get_thing).layer(Extension(post_like())))
            .routes(routes!(annotated))
    }

    /// A handler routed with its OpenAPI entry.
    #[utoipa::path(patch, path = "/annotated/{id}", tag = "x",
        responses((status = 200, description = "ok, path = \"/not/this\"")))]
    async fn annotated() {}
"#;

#[test]
fn reads_multi_line_and_multi_method_routes() {
    let routes = routes_of(MODULE);
    let want: Vec<(String, String)> = [
        ("GET", "/things"),
        ("POST", "/things"),
        ("POST", "/things/{id}/fix"),
        ("DELETE", "/things/{id}/fix"),
        ("GET", "/get_like/{id}"),
        ("PATCH", "/annotated/{id}"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(routes, Ok(want));
    assert!(routes_of(r#".route("/x", on(MethodFilter::GET, h))"#).is_err());
    assert!(routes_of(r#".nest("/x", other())"#).is_err());
    assert!(routes_of(r#"#[utoipa::path(fetch, path = "/x")]"#).is_err());
}

#[test]
fn reads_mounts_and_frames() {
    let mod_rs = r#"
        let api = Router::new()
            .merge(auth::router())
            .merge(ws::router());
        Router::new().nest("/api/v1", api).merge(web::router())
    "#;
    let mounts = mounts_of(mod_rs);
    let m = |k: &str| mounts.as_ref().ok().and_then(|m| m.get(k)).cloned();
    assert_eq!(m("auth").as_deref(), Some("/api/v1"));
    assert_eq!(m("ws").as_deref(), Some("/api/v1"));
    assert_eq!(m("web").as_deref(), Some(""));
    let frames = client_frames_of(
        r#"#[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
        pub enum ClientFrame {
            /// doc
            Auth { access_token: String },
            AckAlert { alert_id: String },
            #[serde(rename = "bye")]
            Leave,
        }"#,
    );
    assert_eq!(
        frames,
        Ok(vec!["auth".into(), "ack_alert".into(), "bye".into()])
    );
}

/// A route the table lacks, a row the server lacks, a frame without a
/// row: each is reported by name.
#[test]
fn a_missing_row_is_reported() {
    let mut routes: BTreeSet<(String, String)> = POLICY
        .iter()
        .filter_map(|r| match r.call {
            Call::Http(m, p) => Some((m.to_string(), p.to_string())),
            Call::Frame(_) => None,
        })
        .collect();
    routes.insert((WS_ROUTE.0.into(), WS_ROUTE.1.into()));
    let mut frames: Vec<String> = POLICY
        .iter()
        .filter_map(|r| match r.call {
            Call::Frame(f) => Some(f.to_string()),
            Call::Http(..) => None,
        })
        .collect();
    assert_eq!(coverage(&routes, &frames, POLICY), Vec::<String>::new());

    routes.insert(("GET".into(), "/api/v1/admin/brand-new".into()));
    frames.push("dance".into());
    let mut policy: Vec<Row> = POLICY
        .iter()
        .map(|r| Row {
            call: r.call,
            case: r.case,
            want: r.want,
        })
        .collect();
    policy.push(Row {
        call: Call::Http("GET", "/api/v1/gone"),
        case: Case::Plain,
        want: [200; super::super::policy::COLUMNS],
    });
    let problems = coverage(&routes, &frames, &policy);
    assert_eq!(
        problems,
        vec![
            "route GET /api/v1/admin/brand-new has no row in the policy table".to_string(),
            "row GET /api/v1/gone matches no route of the server".to_string(),
            "client frame `dance` has no row in the policy table".to_string(),
        ]
    );
}
