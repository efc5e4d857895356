//! Code tables of the exports: LOINC codes and UCUM units of the vital
//! measures, FHIR organization types, and the Japanese labels of the
//! notebook's own vocabularies (categories, kinds, measures, professions).

/// The code system of the notebook's own words (categories, kinds, roles,
/// access-log actions, professions): not a published system.
pub const LOCAL: &str = "urn:renraku:fhir";

/// A vital measure's LOINC coding(s) (code, display).
pub fn loinc(measure: &str, unit: &str) -> &'static [(&'static str, &'static str)] {
    match measure {
        "temperature" | "body_temperature" => &[("8310-5", "Body temperature")],
        "heart_rate" | "pulse" => &[("8867-4", "Heart rate")],
        "respiratory_rate" => &[("9279-1", "Respiratory rate")],
        // The vital-signs profile's pair: the generic code and pulse oximetry.
        "spo2" | "oxygen_saturation" => &[
            ("2708-6", "Oxygen saturation in Arterial blood"),
            (
                "59408-5",
                "Oxygen saturation in Arterial blood by Pulse oximetry",
            ),
        ],
        "blood_glucose" | "glucose" if unit.eq_ignore_ascii_case("mmol/L") => {
            &[("15074-8", "Glucose [Moles/volume] in Blood")]
        }
        "blood_glucose" | "glucose" => &[("2339-0", "Glucose [Mass/volume] in Blood")],
        "weight" | "body_weight" => &[("29463-7", "Body weight")],
        "height" | "body_height" => &[("8302-2", "Body height")],
        _ => &[],
    }
}

/// The UCUM code of a unit as entries write it (None: not a unit we know).
pub fn ucum(unit: &str) -> Option<&'static str> {
    Some(match unit.trim() {
        "℃" | "°C" | "C" | "Cel" => "Cel",
        "bpm" | "/min" | "回/分" | "beats/min" | "breaths/min" => "/min",
        "%" => "%",
        "mg/dL" | "mg/dl" => "mg/dL",
        "mmol/L" | "mmol/l" => "mmol/L",
        "kg" => "kg",
        "g" => "g",
        "cm" => "cm",
        _ => return None,
    })
}

/// FHIR organization-type code of an organization's field.
pub fn org_type(field: &str) -> (&'static str, &'static str) {
    match field {
        "medical" => ("prov", "Healthcare Provider"),
        "government" | "health" => ("govt", "Government"),
        "education" => ("edu", "Educational Institute"),
        "npo" => ("cg", "Community Group"),
        _ => ("other", "Other"),
    }
}

pub fn category_ja(c: &str) -> &str {
    match c {
        "health" => "保健",
        "medical" => "医療",
        "welfare" => "福祉",
        "childcare" => "子育て・保育",
        "education" => "教育",
        "employment" => "就労",
        "family" => "家庭",
        other => other,
    }
}

pub fn kind_ja(k: &str) -> &str {
    match k {
        "note" => "メモ",
        "vital" => "バイタル",
        "attendance" => "出欠",
        "medication" => "服薬・処方",
        "plan" => "支援計画",
        "handover" => "引継ぎ",
        other => other,
    }
}

pub fn measure_ja(m: &str) -> &str {
    match m {
        "blood_glucose" => "血糖",
        "spo2" => "SpO2",
        "temperature" => "体温",
        "heart_rate" => "心拍数",
        "respiratory_rate" => "呼吸数",
        "blood_pressure" => "血圧",
        "weight" => "体重",
        "height" => "身長",
        other => other,
    }
}

pub fn attendance_ja(s: &str) -> &str {
    match s {
        "present" => "出席",
        "absent" => "欠席",
        "late" => "遅刻",
        "early_leave" => "早退",
        other => other,
    }
}

pub fn role_ja(r: &str) -> &str {
    match r {
        "guardian" => "保護者",
        "youth" => "本人",
        "member" => "関係者",
        other => other,
    }
}

pub fn status_ja(s: &str) -> &str {
    match s {
        "requested" => "申請中",
        "active" => "参加中",
        "revoked" => "取り消し",
        "expired" => "期限切れ",
        other => other,
    }
}

pub fn profession_ja(p: &str) -> &str {
    match p {
        "doctor" => "医師",
        "nurse" => "看護師",
        "public_health_nurse" => "保健師",
        "school_teacher" => "教員",
        "school_nurse" => "養護教諭",
        "nursery_teacher" => "保育士",
        "occupational_therapist" => "作業療法士",
        "physical_therapist" => "理学療法士",
        "speech_therapist" => "言語聴覚士",
        "psychologist" => "心理職",
        "social_worker" => "MSW・相談支援専門員",
        "support_coordinator" => "自立支援員",
        "welfare_staff" => "福祉職員",
        "pharmacist" => "薬剤師",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vital_measures_have_loinc_codes_and_ucum_units() {
        assert_eq!(loinc("temperature", "℃")[0].0, "8310-5");
        assert_eq!(loinc("blood_glucose", "mg/dL")[0].0, "2339-0");
        assert_eq!(loinc("blood_glucose", "mmol/L")[0].0, "15074-8");
        assert_eq!(loinc("spo2", "%").len(), 2);
        assert!(loinc("mood", "").is_empty());
        assert_eq!(ucum("℃"), Some("Cel"));
        assert_eq!(ucum("bpm"), Some("/min"));
        assert_eq!(ucum("furlongs"), None);
    }
}
