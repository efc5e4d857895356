//! Appointments and the calendar (issue 21, point 4): an `appointment` kind
//! with a checked date and time; `GET /calendar` lists, across my children,
//! the appointments and plan review dates I can see, by date; a correction
//! moves a date; bad bodies and ranges over a year are 400.

use serde_json::{json, Value};

use crate::helpers::*;

async fn calendar(s: &Session, from: &str, to: &str) -> Vec<Value> {
    let (st, v) = s
        .get(&format!("/api/v1/calendar?from={from}&to={to}"))
        .await;
    assert_eq!(st, 200, "calendar of {}: {v}", s.login);
    v.as_array().unwrap().clone()
}

fn has(list: &[Value], entry: &Value, kind: &str, date: &str) -> bool {
    list.iter()
        .any(|i| i["entry_id"] == entry["id"] && i["kind"] == kind && i["date"] == date)
}

#[tokio::test]
async fn the_calendar_lists_what_each_member_sees_and_refuses_long_ranges() {
    let server = Server::demo().await;
    let sato = server.login("guardian.sato").await;
    let ito = server.login("doctor.ito").await;
    let tanaka = server.login("teacher.tanaka").await;
    let yamada = server.login("coordinator.yamada").await;
    let hinata = sato.child_id(HINATA).await;
    let entries = format!("/api/v1/children/{hinata}/entries");
    let (st, appt) = sato
        .post_entry(
            &hinata,
            "medical",
            "appointment",
            json!({"date": "2027-01-15", "time": "10:30", "place": "みどり総合病院",
                "with": "伊藤先生", "text": "定期外来"}),
        )
        .await;
    assert_eq!(st, 201, "{appt}");
    assert_eq!(appt["kind"], "appointment");
    let (st, plan) = yamada
        .post_entry(
            &hinata,
            "education",
            "plan",
            json!({"text": "2学期の計画", "title": "学校生活支援計画", "review_date": "2027-01-20"}),
        )
        .await;
    assert_eq!(st, 201, "{plan}");

    let mine = calendar(&sato, "2027-01-01", "2027-01-31").await;
    assert!(has(&mine, &appt, "appointment", "2027-01-15"), "{mine:?}");
    assert!(has(&mine, &plan, "plan_review", "2027-01-20"), "{mine:?}");
    let item = mine.iter().find(|i| i["entry_id"] == appt["id"]).unwrap();
    assert_eq!(item["child_id"], hinata.as_str());
    assert_eq!(item["title"], "10:30 伊藤先生 みどり総合病院");
    let dates: Vec<&str> = mine.iter().map(|i| i["date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "by date: {dates:?}");
    // Each member sees what its categories cover: the teacher no medical
    // appointment, the doctor no education plan.
    let teacher = calendar(&tanaka, "2027-01-01", "2027-01-31").await;
    assert!(has(&teacher, &plan, "plan_review", "2027-01-20"));
    assert!(
        !teacher.iter().any(|i| i["entry_id"] == appt["id"]),
        "{teacher:?}"
    );
    let doctor = calendar(&ito, "2027-01-01", "2027-01-31").await;
    assert!(has(&doctor, &appt, "appointment", "2027-01-15"));
    assert!(
        !doctor.iter().any(|i| i["entry_id"] == plan["id"]),
        "{doctor:?}"
    );
    // Outside the range: nothing of these.
    let feb = calendar(&sato, "2027-02-01", "2027-02-28").await;
    assert!(!feb
        .iter()
        .any(|i| i["entry_id"] == appt["id"] || i["entry_id"] == plan["id"]));
    // The demo's support plan is reviewed on 2027-02-26.
    assert!(
        feb.iter()
            .any(|i| i["kind"] == "plan_review" && i["date"] == "2027-02-26"),
        "{feb:?}"
    );

    // A correction moves the date.
    let (st, rev) = sato
        .post(
            &format!("{entries}/{}/revisions", appt["id"].as_str().unwrap()),
            &json!({"body": {"date": "2027-01-16", "time": "11:00", "with": "伊藤先生"},
                "reason": "予約の変更"}),
        )
        .await;
    assert_eq!(st, 201, "{rev}");
    let moved = calendar(&sato, "2027-01-01", "2027-01-31").await;
    assert!(has(&moved, &rev, "appointment", "2027-01-16"), "{moved:?}");
    assert!(
        !moved.iter().any(|i| i["entry_id"] == appt["id"]),
        "the old date is gone"
    );

    // Bad input, each 400: ranges and bodies.
    for q in [
        "from=2027-01-01&to=2028-01-02",
        "from=2027-02-01&to=2027-01-01",
        "from=2027-13-01&to=2027-12-31",
        "from=2027-01-01",
        "from=2027-01-01&to=2027-01-31&child=x",
    ] {
        assert_err(
            &sato.get(&format!("/api/v1/calendar?{q}")).await,
            400,
            "bad_request",
        );
    }
    assert!(
        calendar(&sato, "2027-01-01", "2028-01-01").await.len() >= 2,
        "366 days is allowed"
    );
    let before = sato.last_seq(&hinata).await;
    for body in [
        json!({"time": "10:00"}),
        json!({"date": "2027-02-30"}),
        json!({"date": "2027-01-15", "time": "25:00"}),
        json!({"date": "2027-01-15", "doctor": "伊藤"}),
    ] {
        assert_err(
            &sato
                .post_entry(&hinata, "medical", "appointment", body)
                .await,
            400,
            "bad_request",
        );
    }
    assert_eq!(sato.last_seq(&hinata).await, before, "nothing stored");
    server.check_logs();
}
