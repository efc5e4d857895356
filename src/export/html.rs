//! The printable export: one self-contained HTML document (styles inline,
//! no external resource, A4 print styles, Japanese fonts), the emergency
//! card first, then the profile, the members, every entry revision in seq
//! order (corrections marked 改訂), and the access log. Everything from the
//! notebook is escaped: child data is untrusted text.

use std::fmt::Write;

use super::codes::{category_ja, kind_ja, profession_ja, role_ja, status_ja};
use super::text::{jst, lines};
use crate::domain::{Entry, Notebook};

const STYLE: &str = r#"
@page { size: A4; margin: 15mm 14mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Kaku Gothic ProN", "Hiragino Sans", "Yu Gothic", "YuGothic", "Meiryo", sans-serif;
  font-size: 10.5pt; line-height: 1.6; color: #111; margin: 0 auto; max-width: 180mm; padding: 8mm 0; }
h1 { font-size: 16pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; border-bottom: 1.5pt solid #333; margin: 8mm 0 3mm; padding-bottom: 1mm; }
.meta { color: #444; font-size: 9pt; }
.card { border: 2pt solid #b00020; border-radius: 3mm; padding: 4mm 5mm; break-inside: avoid; }
.card h2 { color: #b00020; border-color: #b00020; margin-top: 0; }
.card .summary { font-weight: bold; font-size: 12pt; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 0.5pt solid #999; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #eee; }
thead { display: table-header-group; }
tr, article { break-inside: avoid; }
article { border-left: 1.5pt solid #999; padding: 1mm 0 1mm 3mm; margin: 0 0 3mm; }
article.revision { border-left-color: #c77700; }
article header { font-size: 9pt; color: #333; }
.badge { display: inline-block; border: 0.5pt solid #c77700; color: #8a5300; padding: 0 1.5mm; border-radius: 1mm; font-weight: bold; }
.body p { margin: 0.5mm 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.notice { border: 1pt dashed #666; padding: 2mm 3mm; }
figure { margin: 1.5mm 0; break-inside: avoid; }
figure img { max-width: 100%; max-height: 110mm; display: block; }
figcaption, .attachment { font-size: 8.5pt; color: #444; }
@media screen { body { padding: 8mm; } }
"#;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn document(nb: &Notebook) -> String {
    let c = &nb.child;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>連絡帳 {} — Renraku export</title><style>{STYLE}</style></head><body>\
         <h1>連絡帳（Renraku）: {}</h1><p class=\"meta\">出力日時 Exported: {} (JST)</p>",
        escape(&c.name),
        escape(&c.name),
        jst(nb.exported_at),
    );
    if !nb.full {
        h.push_str(
            "<p class=\"notice\">本人が閲覧できる範囲の記録のみを含みます。\
             Holds only what the young person may see.</p>",
        );
    }
    card(&mut h, nb);
    profile(&mut h, nb);
    members(&mut h, nb);
    entries(&mut h, nb);
    access_log(&mut h, nb);
    h.push_str("</body></html>\n");
    h
}

fn card(h: &mut String, nb: &Notebook) {
    h.push_str("<section class=\"card\" id=\"emergency-card\"><h2>緊急カード Emergency card</h2>");
    match &nb.card {
        None => h.push_str("<p>緊急カードは未作成です。No emergency card.</p>"),
        Some(card) => {
            let _ = write!(h, "<p class=\"summary\">{}</p><ol>", escape(&card.summary));
            for s in &card.steps {
                let _ = write!(h, "<li>{}</li>", escape(s));
            }
            let _ = write!(
                h,
                "</ol><p><b>搬送先 Hospital:</b> {}</p><p><b>備考 Notes:</b> {}</p>\
                 <p class=\"meta\">第{}版 · {}</p>",
                escape(&card.hospital),
                escape(&card.notes),
                card.version,
                jst(card.updated_at),
            );
        }
    }
    if !nb.contacts.is_empty() {
        h.push_str(
            "<table><thead><tr><th>順位 Tier</th><th>緊急連絡先 Contact</th></tr></thead><tbody>",
        );
        for ct in &nb.contacts {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td></tr>",
                ct.tier,
                escape(&ct.display_name)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
}

fn profile(h: &mut String, nb: &Notebook) {
    let c = &nb.child;
    let _ = write!(
        h,
        "<section id=\"profile\"><h2>基本情報 Profile</h2><table><tbody>\
         <tr><th>氏名 Name</th><td>{}</td></tr><tr><th>ふりがな Kana</th><td>{}</td></tr>\
         <tr><th>生年月日 Birth date</th><td>{}</td></tr>\
         <tr><th>疾患群 Disease group</th><td>{}</td></tr>\
         <tr><th>診断 Diagnosis</th><td>{}</td></tr>\
         <tr><th>同意の決定者 Consent holder</th><td>{}</td></tr></tbody></table></section>",
        escape(&c.name),
        escape(&c.name_kana),
        escape(&c.birth_date),
        c.disease_group,
        escape(&c.diagnosis),
        if c.consent_holder == "youth" {
            "本人 young person"
        } else {
            "保護者 guardians"
        },
    );
}

fn members(h: &mut String, nb: &Notebook) {
    h.push_str(
        "<section id=\"members\"><h2>関係者 Members</h2><table><thead><tr><th>氏名 Name</th>\
         <th>立場 Role</th><th>状態 Status</th><th>分類 Categories</th><th>期限 Expires</th>\
         </tr></thead><tbody>",
    );
    for m in &nb.members {
        let role = m
            .profession
            .as_deref()
            .map_or_else(|| role_ja(m.role.as_str()), profession_ja);
        let cats: Vec<&str> = m.categories.iter().map(|c| category_ja(c)).collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.display_name),
            escape(role),
            status_ja(m.status.as_str()),
            escape(&cats.join("、")),
            m.expires_at.map(jst).unwrap_or_default(),
        );
    }
    h.push_str("</tbody></table></section>");
}

fn entries(h: &mut String, nb: &Notebook) {
    let _ = write!(
        h,
        "<section id=\"entries\"><h2>記録 Entries（{}件）</h2>",
        nb.entries.len()
    );
    for e in &nb.entries {
        entry(h, nb, e);
    }
    h.push_str("</section>");
}

fn entry(h: &mut String, nb: &Notebook, e: &Entry) {
    let revised = e.supersedes.is_some();
    let _ = write!(
        h,
        "<article class=\"{}\" id=\"seq-{}\"><header>#{} · {} · {} · {} / {}",
        if revised { "entry revision" } else { "entry" },
        e.seq,
        e.seq,
        jst(e.created_at),
        escape(&e.author_name),
        e.categories
            .iter()
            .map(|c| category_ja(c))
            .collect::<Vec<_>>()
            .join("・"),
        kind_ja(e.kind.as_str()),
    );
    if let Some(prev) = e.supersedes {
        let of = nb
            .entries
            .iter()
            .find(|p| p.id == prev)
            .map_or_else(String::new, |p| format!("（#{} を改訂）", p.seq));
        let _ = write!(
            h,
            " <span class=\"badge\">改訂 第{}版 Revised</span>{of}",
            e.revision
        );
    }
    h.push_str("</header><div class=\"body\">");
    for line in lines(e) {
        let _ = write!(h, "<p>{}</p>", escape(&line));
    }
    if let Some(reason) = &e.reason {
        let _ = write!(h, "<p><b>改訂理由 Reason:</b> {}</p>", escape(reason));
    }
    attachments(h, nb, e);
    h.push_str("</div></article>");
}

/// The entry's attachments: images inline (data: URLs, so the page loads
/// nothing), other files named (they are in the age file's `attachments/`).
fn attachments(h: &mut String, nb: &Notebook, e: &Entry) {
    use base64::Engine;
    let ids = e
        .body
        .get("attachments")
        .and_then(serde_json::Value::as_array);
    for id in ids
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
    {
        let Some(a) = nb.attachments.iter().find(|a| a.id.to_string() == id) else {
            continue;
        };
        let name = escape(&a.file_name);
        if matches!(
            a.content_type.as_str(),
            "image/jpeg" | "image/png" | "image/webp"
        ) {
            let data = base64::engine::general_purpose::STANDARD.encode(&*a.bytes);
            let _ = write!(
                h,
                "<figure><img src=\"data:{};base64,{data}\" alt=\"添付 {name}\"><figcaption>添付 Attachment: {name}</figcaption></figure>",
                a.content_type
            );
        } else {
            let _ = write!(
                h,
                "<p class=\"attachment\">添付 Attachment: {name} ({}, {} bytes)</p>",
                escape(&a.content_type),
                a.bytes.len()
            );
        }
    }
}

fn access_log(h: &mut String, nb: &Notebook) {
    h.push_str(
        "<section id=\"access-log\"><h2>アクセス記録 Access log</h2><table><thead><tr>\
         <th>日時 When</th><th>誰が Who</th><th>操作 Action</th><th>内容 Detail</th>\
         </tr></thead><tbody>",
    );
    for a in &nb.access_log {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            jst(a.at),
            escape(&a.display_name),
            escape(&a.action),
            escape(&a.detail),
        );
    }
    h.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_child_data_is_text() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
