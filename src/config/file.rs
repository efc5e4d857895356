//! `--config FILE`: a TOML file of `renraku serve`'s settings, each key a
//! flag's long name (`listen = "0.0.0.0:8443"`, `allowed-origin = [..]`,
//! `insecure-http = true`). A flag wins over its environment variable,
//! which wins over the file, which wins over the default: the file's value
//! is used only where clap found neither. Every value is checked by the
//! flag's own parser, so a file can hold nothing a flag could not.

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::Cli;

/// The flag that names the file (not a setting the file may hold).
const CONFIG: &str = "config";

/// Where an effective setting came from, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "environment",
            Source::File => "file",
            Source::Default => "default",
        }
    }
}

/// The parsed command line, with the file's settings in it.
pub struct Loaded {
    pub cli: Cli,
    /// The subcommand's final matches (flags, environment, file, defaults).
    matches: ArgMatches,
    /// The subcommand whose settings these are (`serve`, `demo`, `config check`).
    command: Command,
    /// Settings taken from the file.
    from_file: BTreeSet<String>,
}

/// A configuration file that cannot be used; the message names the file
/// and the setting, never a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub message: String,
}

/// Parses the command line, reading `--config FILE` (or `RENRAKU_CONFIG`)
/// when the subcommand takes one. `--help`, `--version` and a bad flag end
/// the process as clap does.
pub fn load_from(args: Vec<OsString>) -> Result<Loaded, FileError> {
    let root = Cli::command();
    let first = root
        .clone()
        .try_get_matches_from(&args)
        .unwrap_or_else(|e| e.exit());
    let Some((path, names)) = settings_command(&first) else {
        let cli = Cli::from_arg_matches(&first).unwrap_or_else(|e| e.exit());
        return Ok(Loaded {
            cli,
            matches: first,
            command: root,
            from_file: BTreeSet::new(),
        });
    };
    let command = find(&root, &names).clone();
    let sub = sub_matches(&first, &names).clone();
    let file = sub.get_one::<PathBuf>(CONFIG).cloned();
    let mut extra = Vec::new();
    let mut from_file = BTreeSet::new();
    if let Some(file) = &file {
        for (key, values) in read(file)? {
            let fail = |message: String| FileError {
                path: file.clone(),
                message,
            };
            let arg = command
                .get_arguments()
                .find(|a| a.get_long() == Some(key.as_str()) && key != CONFIG)
                .ok_or_else(|| {
                    fail(format!(
                        "unknown setting `{key}` (the keys are the long flags of `renraku {path}`)"
                    ))
                })?;
            let id = arg.get_id().as_str();
            let env_url =
                key == "database-url" && std::env::var("DATABASE_URL").is_ok_and(|u| !u.is_empty());
            if env_url
                || matches!(
                    sub.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            {
                continue;
            }
            let many = matches!(arg.get_action(), ArgAction::Append);
            let flag = matches!(arg.get_action(), ArgAction::SetTrue);
            let values = match values {
                Value::One(v) => vec![v],
                Value::Many(_) if !many => {
                    return Err(fail(format!("`{key}` takes one value, not a list")))
                }
                Value::Many(list) => list,
                Value::Bad(what) => return Err(fail(format!("`{key}`: {what}"))),
            };
            if flag {
                match values.as_slice() {
                    [v] if v == "true" => extra.push(OsString::from(format!("--{key}"))),
                    [v] if v == "false" => {}
                    _ => return Err(fail(format!("`{key}` is true or false"))),
                }
            } else {
                for v in values {
                    extra.push(OsString::from(format!("--{key}={v}")));
                }
            }
            from_file.insert(id.to_owned());
        }
    }
    let mut all = args;
    all.extend(extra);
    let matches = match root.clone().try_get_matches_from(&all) {
        Ok(m) => m,
        Err(e) => match (file, from_file_arg(&e, &command, &from_file)) {
            // Each value is checked by its flag's own parser: the error
            // names the setting and the file.
            (Some(path), Some(key)) => {
                return Err(FileError {
                    path,
                    message: format!("`{key}`: {}", first_line(&e.to_string())),
                })
            }
            _ => e.exit(),
        },
    };
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let sub = sub_matches(&matches, &names).clone();
    Ok(Loaded {
        cli,
        matches: sub,
        command,
        from_file,
    })
}

impl Loaded {
    /// Every setting of the subcommand as TOML lines (`key = value  #
    /// source`), secrets redacted; unset ones commented out.
    pub fn effective(&self) -> String {
        let mut out = String::new();
        for arg in self.command.get_arguments() {
            let id = arg.get_id().as_str();
            let Some(key) = arg.get_long() else { continue };
            if key == "help" || key == "version" || key == CONFIG {
                continue;
            }
            let source = self.source(id);
            // The test knobs stay out of sight unless someone set one.
            if arg.is_hide_set() && matches!(source, None | Some(Source::Default)) {
                continue;
            }
            let raw: Vec<String> = self
                .matches
                .get_raw(id)
                .map(|vals| {
                    vals.map(|v| redact(key, &v.to_string_lossy()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let flag = matches!(arg.get_action(), ArgAction::SetTrue);
            let line = match (source, raw.as_slice()) {
                (None, _) => format!("# {key} (not set)"),
                (Some(s), _) if flag => {
                    let on = self.matches.get_flag(id);
                    format!("{key} = {on}  # {}", s.as_str())
                }
                (Some(s), [one]) if !matches!(arg.get_action(), ArgAction::Append) => {
                    format!("{key} = {}  # {}", toml_value(one), s.as_str())
                }
                (Some(s), list) => format!(
                    "{key} = [{}]  # {}",
                    list.iter()
                        .map(|v| toml_value(v))
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.as_str()
                ),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    fn source(&self, id: &str) -> Option<Source> {
        if self.from_file.contains(id) {
            return Some(Source::File);
        }
        match self.matches.value_source(id)? {
            ValueSource::CommandLine => Some(Source::Flag),
            ValueSource::EnvVariable => Some(Source::Env),
            _ => Some(Source::Default),
        }
    }
}

/// The file's setting a parse error is about, if it is one of them.
fn from_file_arg(
    e: &clap::Error,
    command: &Command,
    from_file: &BTreeSet<String>,
) -> Option<String> {
    let clap::error::ContextValue::String(shown) = e.get(clap::error::ContextKind::InvalidArg)?
    else {
        return None;
    };
    command
        .get_arguments()
        .filter(|a| from_file.contains(a.get_id().as_str()))
        .filter_map(|a| a.get_long())
        .find(|long| {
            shown
                .strip_prefix("--")
                .and_then(|s| s.strip_prefix(long))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '=', '<']))
        })
        .map(str::to_owned)
}

/// The subcommand that takes settings (one with a `--config` flag): its
/// name path, for messages, and the names to walk to it.
fn settings_command(m: &ArgMatches) -> Option<(String, Vec<String>)> {
    let mut names = Vec::new();
    let mut cur = m;
    while let Some((name, sub)) = cur.subcommand() {
        names.push(name.to_owned());
        cur = sub;
    }
    let takes_config = cur.try_contains_id(CONFIG).is_ok();
    takes_config.then(|| (names.join(" "), names))
}

fn find<'a>(root: &'a Command, names: &[String]) -> &'a Command {
    names
        .iter()
        .fold(root, |c, n| c.find_subcommand(n).unwrap_or(c))
}

fn sub_matches<'a>(m: &'a ArgMatches, names: &[String]) -> &'a ArgMatches {
    names
        .iter()
        .fold(m, |m, n| m.subcommand_matches(n).unwrap_or(m))
}

enum Value {
    One(String),
    Many(Vec<String>),
    Bad(&'static str),
}

/// The file's settings in file order, values as the text a flag would take.
fn read(path: &Path) -> Result<Vec<(String, Value)>, FileError> {
    let fail = |message: String| FileError {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    // toml's message quotes the offending line, which could hold a secret
    // (a database URL): keep its position, drop the rest.
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!(" at line {line}")
            })
            .unwrap_or_default();
        fail(format!("not valid TOML{at}: {}", e.message()))
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                toml::Value::Array(items) => items
                    .into_iter()
                    .map(|i| scalar(i).ok_or(()))
                    .collect::<Result<Vec<_>, ()>>()
                    .map(Value::Many)
                    .unwrap_or(Value::Bad("a list may hold only strings and numbers")),
                other => scalar(other)
                    .map(Value::One)
                    .unwrap_or(Value::Bad("expected a string, a number or true/false")),
            };
            (k, value)
        })
        .collect())
}

fn scalar(v: toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned()
}

fn toml_value(v: &str) -> String {
    match v.parse::<i64>() {
        Ok(n) => n.to_string(),
        Err(_) => toml::Value::String(v.to_owned()).to_string(),
    }
}

/// A database URL's password is replaced; nothing else is secret (paths
/// name key files, never hold keys).
fn redact(key: &str, value: &str) -> String {
    if key != "database-url" {
        return value.to_owned();
    }
    // `?password=…` is a PostgreSQL URL's other place for it.
    if let Some(at) = value.find("password=") {
        let end = value[at..].find('&').map_or(value.len(), |e| at + e);
        let rest = redact(key, &format!("{}{}", &value[..at], &value[end..]));
        return format!(
            "{rest}{}password=<redacted>",
            if rest.contains('?') { "&" } else { "?" }
        )
        .replace("?&", "?");
    }
    match (value.find("://"), value.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &value[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:<redacted>{}",
                    &value[..scheme + 3],
                    &userinfo[..colon],
                    &value[at..]
                ),
                None => value.to_owned(),
            }
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact("database-url", "postgres://renraku:s3cret@db:5432/renraku"),
            "postgres://renraku:<redacted>@db:5432/renraku"
        );
        assert_eq!(
            redact("database-url", "postgres://renraku@db/renraku"),
            "postgres://renraku@db/renraku"
        );
        assert_eq!(redact("listen", "a:b@c"), "a:b@c");
        let q = redact(
            "database-url",
            "postgres://db/r?sslmode=require&password=s3cret",
        );
        assert!(
            !q.contains("s3cret") && q.contains("sslmode=require"),
            "{q}"
        );
    }
}
