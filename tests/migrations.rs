//! Keeps the two migration folders in step: `migrations/sqlite/` and
//! `migrations/postgres/` hold the same versions, and once each folder's files
//! are applied in order they define the same tables, columns and indexes.
//! Types are not compared: they differ on purpose (`blob` and `bytea`).

#![allow(clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Table → its column names in order; index → (table, its columns).
#[derive(Debug, Default, PartialEq)]
struct Schema {
    tables: BTreeMap<String, Vec<String>>,
    indexes: BTreeMap<String, (String, Vec<String>)>,
}

/// The `.sql` file names of one folder, sorted (the order they apply in).
fn migration_files(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

/// Each file of one folder as (name, text), in the order they apply in.
fn folder_files(backend: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    migration_files(backend)
        .into_iter()
        .map(|name| {
            let sql = fs::read_to_string(dir.join(&name)).expect("read migration");
            (name, sql)
        })
        .collect()
}

/// The schema after applying `files` in order (`label` names them in errors).
fn schema_of(label: &str, files: &[(String, String)]) -> Schema {
    let mut schema = Schema::default();
    for (name, sql) in files {
        apply(&mut schema, sql).unwrap_or_else(|e| panic!("{label}/{name}: {e}"));
    }
    schema
}

fn folder_schema(backend: &str) -> Schema {
    schema_of(backend, &folder_files(backend))
}

/// The statements of a file: `--` comments removed, split at `;`, lowercased,
/// white space folded. (These files hold no `;` or `--` inside strings.)
fn statements(sql: &str) -> Vec<String> {
    let text: String = sql
        .lines()
        .map(|l| l.split_once("--").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    text.split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|s| s.to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Splits at commas outside parentheses.
fn top_level_items(s: &str) -> Vec<String> {
    let (mut items, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    items.push(cur.trim().to_string());
    items.retain(|i| !i.is_empty());
    items
}

/// What is between the first `(` and its matching `)`, and what follows it.
fn parenthesised(s: &str) -> Result<(&str, &str), String> {
    let open = s.find('(').ok_or_else(|| format!("no '(' in {s:?}"))?;
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let close = open + i;
                    return Ok((&s[open + 1..close], &s[close + 1..]));
                }
            }
            _ => {}
        }
    }
    Err(format!("unbalanced parentheses in {s:?}"))
}

fn name_list(s: &str) -> Vec<String> {
    top_level_items(s)
        .iter()
        .map(|c| c.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// Applies one file's statements to `schema`: `create table`, `create
/// [unique] index`, `drop table|index`, and `alter table` with `add
/// [column]`, `drop [column]`, `rename [column] a to b` and `rename to`;
/// `update`, `insert` and `delete` change data only.
fn apply(schema: &mut Schema, sql: &str) -> Result<(), String> {
    for st in statements(sql) {
        let words: Vec<&str> = st.split(' ').collect();
        let rest_after = |n: usize| words[n.min(words.len())..].join(" ");
        match words.as_slice() {
            ["create", "table", ..] => {
                let name = words
                    .iter()
                    .skip(2)
                    .find(|w| !["if", "not", "exists"].contains(w))
                    .ok_or("create table without a name")?;
                let name = name.split('(').next().unwrap_or(name).to_string();
                let (body, _) = parenthesised(&st)?;
                let constraint = ["primary", "unique", "foreign", "constraint", "check"];
                let columns = name_list(body)
                    .into_iter()
                    .filter(|c| !constraint.contains(&c.as_str()))
                    .collect();
                if schema.tables.insert(name.clone(), columns).is_some() {
                    return Err(format!("table {name} created twice"));
                }
            }
            ["create", "index" | "unique", ..] => {
                let at = words
                    .iter()
                    .position(|w| *w == "on")
                    .ok_or("index without on")?;
                let name = words[at - 1].to_string();
                let table = words[at + 1].split('(').next().unwrap_or("").to_string();
                let target = rest_after(at + 1);
                let (cols, _) = parenthesised(&target)?;
                schema.indexes.insert(name, (table, name_list(cols)));
            }
            ["drop", "table", .., name] => {
                schema.tables.remove(*name);
                schema.indexes.retain(|_, (t, _)| t != name);
            }
            ["drop", "index", .., name] => {
                schema.indexes.remove(*name);
            }
            ["alter", "table", table, action @ ..] => alter(schema, table, action)?,
            // Data, not schema.
            ["update" | "insert" | "delete", ..] => {}
            _ => return Err(format!("statement not understood: {st:?}")),
        }
    }
    Ok(())
}

fn alter(schema: &mut Schema, table: &str, action: &[&str]) -> Result<(), String> {
    let action: Vec<&str> = action.iter().copied().filter(|w| *w != "column").collect();
    let cols = schema
        .tables
        .get_mut(table)
        .ok_or_else(|| format!("alter table {table}: no such table"))?;
    match action.as_slice() {
        ["add", col, ..] => cols.push(col.to_string()),
        ["drop", col, ..] => cols.retain(|c| c != col),
        // PostgreSQL's physical storage of a column (no schema change).
        ["alter", col, "set", "storage", _] => {
            if !cols.iter().any(|c| c == col) {
                return Err(format!("alter table {table}: no column {col}"));
            }
        }
        ["rename", "to", new] => {
            let cols = schema.tables.remove(table).unwrap_or_default();
            schema.tables.insert(new.to_string(), cols);
            for (t, _) in schema.indexes.values_mut() {
                if t == table {
                    *t = new.to_string();
                }
            }
        }
        ["rename", old, "to", new] => {
            let c = cols
                .iter_mut()
                .find(|c| c == old)
                .ok_or_else(|| format!("alter table {table}: no column {old}"))?;
            *c = new.to_string();
        }
        _ => return Err(format!("alter table {table}: not understood: {action:?}")),
    }
    Ok(())
}

/// Every difference between the two schemas, one line each, naming the table
/// (or index) and the columns only one side has.
fn differences(a: &Schema, b: &Schema, a_name: &str, b_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (table, a_cols) in &a.tables {
        let Some(b_cols) = b.tables.get(table) else {
            out.push(format!("table {table} only in {a_name}"));
            continue;
        };
        let only = |x: &Vec<String>, y: &Vec<String>| -> Vec<String> {
            x.iter().filter(|c| !y.contains(c)).cloned().collect()
        };
        let (only_a, only_b) = (only(a_cols, b_cols), only(b_cols, a_cols));
        if !only_a.is_empty() || !only_b.is_empty() {
            out.push(format!(
                "table {table}: columns only in {a_name}: {only_a:?}, only in {b_name}: {only_b:?}"
            ));
        }
    }
    for table in b.tables.keys().filter(|t| !a.tables.contains_key(*t)) {
        out.push(format!("table {table} only in {b_name}"));
    }
    for (index, a_def) in &a.indexes {
        match b.indexes.get(index) {
            None => out.push(format!("index {index} only in {a_name}")),
            Some(b_def) if b_def != a_def => out.push(format!(
                "index {index}: on {a_def:?} in {a_name}, on {b_def:?} in {b_name}"
            )),
            Some(_) => {}
        }
    }
    for index in b.indexes.keys().filter(|i| !a.indexes.contains_key(*i)) {
        out.push(format!("index {index} only in {b_name}"));
    }
    out
}

#[test]
fn both_folders_hold_the_same_versions() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert!(!sqlite.is_empty(), "no migrations in migrations/sqlite");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres hold different files"
    );
}

#[test]
fn both_folders_define_the_same_tables_columns_and_indexes() {
    let sqlite = folder_schema("sqlite");
    let postgres = folder_schema("postgres");
    assert!(
        sqlite.tables.len() >= 10,
        "parsed only {:?}",
        sqlite.tables.keys()
    );
    let diff = differences(&sqlite, &postgres, "sqlite", "postgres");
    assert!(diff.is_empty(), "the schemas drifted:\n{}", diff.join("\n"));
    // Same names in a different order would still be a drift worth a look.
    assert_eq!(sqlite, postgres, "same columns, but in another order");
}

#[test]
fn a_drift_is_found_and_named() {
    let base = "create table note (\n  id text primary key, -- the id\n  body blob not null,\n  unique (id, body)\n);\ncreate index note_body on note (body);";
    let mut a = Schema::default();
    apply(&mut a, base).expect("parse a");
    assert_eq!(a.tables["note"], ["id", "body"]);
    assert_eq!(a.indexes["note_body"], ("note".into(), vec!["body".into()]));

    let mut b = Schema::default();
    let drifted = format!("{base}\nalter table note add column seen_at bigint;");
    apply(&mut b, &drifted).expect("parse b");
    let diff = differences(&a, &b, "a", "b");
    assert_eq!(
        diff,
        [r#"table note: columns only in a: [], only in b: ["seen_at"]"#]
    );

    apply(
        &mut b,
        "alter table note rename column body to text; drop index note_body;",
    )
    .expect("parse the rename");
    assert_eq!(b.tables["note"], ["id", "text", "seen_at"]);
    let diff = differences(&a, &b, "a", "b");
    assert_eq!(diff.len(), 2, "{diff:?}");
    assert!(diff[0].contains(r#"only in a: ["body"]"#), "{diff:?}");
    assert_eq!(diff[1], "index note_body only in a");

    apply(
        &mut b,
        "alter table note drop column seen_at; alter table note rename to memo;",
    )
    .expect("parse the drop");
    let diff = differences(&a, &b, "a", "b");
    assert!(
        diff.contains(&"table note only in a".to_string()),
        "{diff:?}"
    );
    assert!(
        diff.contains(&"table memo only in b".to_string()),
        "{diff:?}"
    );

    let err = apply(&mut Schema::default(), "vacuum;").expect_err("unknown statement");
    assert!(err.contains("vacuum"), "{err}");
}

/// The real files with one edit each on the PostgreSQL side: every drift is
/// reported with the table (or index) and the column it concerns.
#[test]
fn an_edited_copy_of_the_real_files_drifts() {
    let sqlite = folder_schema("sqlite");
    let drift = |from: &str, to: &str| {
        let mut files = folder_files("postgres");
        let edited = files.iter_mut().filter(|(_, sql)| sql.contains(from));
        assert_eq!(edited.count(), 1, "{from:?} is not in exactly one file");
        for (_, sql) in files.iter_mut() {
            *sql = sql.replace(from, to);
        }
        differences(
            &sqlite,
            &schema_of("edited postgres", &files),
            "sqlite",
            "postgres",
        )
    };
    assert_eq!(
        drift("    push_status text,\n", ""),
        [r#"table alert_delivery: columns only in sqlite: ["push_status"], only in postgres: []"#]
    );
    assert_eq!(
        drift(
            "    ack_channel text\n);\ncreate index alert_due",
            "    ack_channel text,\n    muted bigint\n);\ncreate index alert_due"
        ),
        [r#"table alert: columns only in sqlite: [], only in postgres: ["muted"]"#]
    );
    assert_eq!(
        drift("create index alert_child", "create index alert_by_child"),
        [
            "index alert_child only in sqlite",
            "index alert_by_child only in postgres"
        ]
    );
    assert_eq!(
        drift("on alert (status, next_step_at)", "on alert (next_step_at)"),
        [
            r#"index alert_due: on ("alert", ["status", "next_step_at"]) in sqlite, on ("alert", ["next_step_at"]) in postgres"#
        ]
    );
    let appended = "create table org (\n    id text primary key,";
    assert_eq!(
        drift(
            appended,
            &format!("create table org_note (id text);\n{appended}")
        ),
        ["table org_note only in postgres"]
    );
}
