//! Who the notebook is about and who is in it: Patient (the child, and the
//! youth's own account), RelatedPerson (guardians), Practitioner
//! (professionals), Organization, one CareTeam of the active members, and
//! one Consent per membership (its categories as nested provisions).

use serde_json::{json, Value};
use std::collections::HashMap;

use super::{local, new_url, object, put, Refs};
use crate::domain::{Member, Notebook};
use crate::export::codes::{category_ja, org_type, profession_ja, role_ja};
use crate::export::text::instant;
use crate::vocab::{Role, Status};

/// Adds the people's resources to `out`; returns where each one is.
pub(super) fn people(nb: &Notebook, out: &mut Vec<(String, Value)>) -> Refs {
    let c = &nb.child;
    let patient = format!("urn:uuid:{}", c.id);
    out.push((patient.clone(), patient_resource(nb)));
    let mut orgs = HashMap::new();
    for o in &nb.orgs {
        let url = format!("urn:uuid:{}", o.id);
        let (code, display) = org_type(&o.field);
        let mut r = object(json!({
            "resourceType": "Organization",
            "id": o.id.to_string(),
            "active": true,
            "type": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                "code": code, "display": display,
            }]}],
            "name": o.name,
        }));
        put(&mut r, "telecom", contact(&o.contact));
        out.push((url.clone(), r.into()));
        orgs.insert(o.id, url);
    }
    let mut refs = Refs {
        patient: patient.clone(),
        accounts: HashMap::new(),
    };
    for m in &nb.members {
        let url = match m.role {
            // The youth is the child: their account is the Patient.
            Role::Youth => patient.clone(),
            Role::Guardian => push_person(out, m, related_person(m, &patient)),
            Role::Member => push_person(out, m, practitioner(m)),
        };
        refs.accounts
            .insert(m.account_id, (url, m.display_name.clone()));
    }
    out.push((new_url().0, care_team(nb, &refs, &orgs)));
    for m in &nb.members {
        out.push((new_url().0, consent(nb, &refs, m)));
    }
    refs
}

fn push_person(out: &mut Vec<(String, Value)>, m: &Member, r: Value) -> String {
    let url = format!("urn:uuid:{}", m.account_id);
    out.push((url.clone(), r));
    url
}

fn contact(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    json!([{"system": "other", "value": text}])
}

fn patient_resource(nb: &Notebook) -> Value {
    let c = &nb.child;
    let mut names = vec![json!({"use": "official", "text": c.name})];
    if !c.name_kana.trim().is_empty() {
        // JP Core's way of giving the reading (カナ) of a name.
        names.push(json!({
            "extension": [{
                "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation",
                "valueCode": "SYL",
            }],
            "text": c.name_kana,
        }));
    }
    let mut r = object(json!({
        "resourceType": "Patient",
        "id": c.id.to_string(),
        "identifier": [{"system": format!("{}:child", super::LOCAL), "value": c.id.to_string()}],
        "active": true,
        "name": names,
        "birthDate": c.birth_date,
        "extension": [
            {"url": format!("{}:disease-group", super::LOCAL), "valueInteger": c.disease_group},
        ],
    }));
    if !c.diagnosis.trim().is_empty() {
        if let Some(Value::Array(ext)) = r.get_mut("extension") {
            ext.push(
                json!({"url": format!("{}:diagnosis", super::LOCAL), "valueString": c.diagnosis}),
            );
        }
    }
    r.into()
}

fn related_person(m: &Member, patient: &str) -> Value {
    json!({
        "resourceType": "RelatedPerson",
        "id": m.account_id.to_string(),
        "active": m.status == Status::Active,
        "patient": {"reference": patient},
        "relationship": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
            "code": "GUARD", "display": "guardian",
        }], "text": role_ja("guardian")}],
        "name": [{"text": m.display_name}],
    })
}

fn practitioner(m: &Member) -> Value {
    let mut r = object(json!({
        "resourceType": "Practitioner",
        "id": m.account_id.to_string(),
        "active": !m.disabled,
        "name": [{"text": m.display_name}],
    }));
    if let Some(p) = m.profession.as_deref().filter(|p| !p.is_empty()) {
        put(
            &mut r,
            "qualification",
            json!([{"code": {
                "coding": [local("profession", p, profession_ja(p))],
                "text": profession_ja(p),
            }}]),
        );
    }
    r.into()
}

fn care_team(nb: &Notebook, refs: &Refs, orgs: &HashMap<crate::ids::OrgId, String>) -> Value {
    let participants: Vec<Value> = nb
        .members
        .iter()
        .filter(|m| m.status == Status::Active)
        .map(|m| {
            let role = m.role.as_str();
            let label = m
                .profession
                .as_deref()
                .map_or_else(|| role_ja(role).to_owned(), |p| profession_ja(p).to_owned());
            let mut p = object(json!({
                "role": [{"coding": [local("role", role, role_ja(role))], "text": label}],
                "member": refs.to(m.account_id, &m.display_name),
            }));
            if let Some(url) = m.org_id.and_then(|o| orgs.get(&o)) {
                put(&mut p, "onBehalfOf", json!({"reference": url}));
            }
            if let Some(end) = m.expires_at {
                put(&mut p, "period", json!({"end": instant(end)}));
            }
            p.into()
        })
        .collect();
    let (_, id) = new_url();
    let mut r = object(json!({
        "resourceType": "CareTeam",
        "id": id,
        "status": "active",
        "name": format!("{} の支援チーム", nb.child.name),
        "subject": refs.patient(),
    }));
    put(&mut r, "participant", Value::Array(participants));
    r.into()
}

/// One membership as a Consent: who (the member, as recipient), its
/// status, its time limits, and a permit per category it may read.
fn consent(nb: &Notebook, refs: &Refs, m: &Member) -> Value {
    let status = match m.status {
        Status::Active => "active",
        Status::Requested => "proposed",
        Status::Revoked | Status::Expired => "inactive",
    };
    let mut actions = vec![json!({"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/consentaction",
        "code": "access", "display": "Access",
    }]})];
    if m.can_post {
        actions.push(json!({"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentaction",
            "code": "correct", "display": "Access and Correct",
        }]}));
    }
    let nested: Vec<Value> = m
        .categories
        .iter()
        .map(|c| {
            json!({
                "type": "permit",
                "code": [{"coding": [local("category", c, category_ja(c))], "text": category_ja(c)}],
            })
        })
        .collect();
    let mut provision = object(json!({
        "type": "permit",
        "actor": [{
            "role": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "code": "IRCP", "display": "information recipient",
            }]},
            "reference": refs.to(m.account_id, &m.display_name),
        }],
        "action": actions,
    }));
    // The consent's own time limit, and the span of records it opens.
    if let Some(end) = m.expires_at {
        put(&mut provision, "period", json!({"end": instant(end)}));
    }
    if let Some(from) = m.history_from {
        put(
            &mut provision,
            "dataPeriod",
            json!({"start": instant(from)}),
        );
    }
    put(&mut provision, "provision", Value::Array(nested));
    let (_, id) = new_url();
    let mut r = object(json!({
        "resourceType": "Consent",
        "id": id,
        "status": status,
        "scope": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy", "display": "Privacy Consent",
        }]},
        "category": [{"coding": [{
            "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent",
        }]}],
        "patient": refs.patient(),
        "policyRule": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "OPTIN", "display": "opt-in",
        }]},
        "provision": provision,
    }));
    if let Some(by) = m.granted_by {
        let name = nb
            .members
            .iter()
            .find(|g| g.account_id == by)
            .map_or("", |g| g.display_name.as_str());
        put(&mut r, "performer", json!([refs.to(by, name)]));
    }
    r.into()
}
