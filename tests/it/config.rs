//! `--config FILE` and `renraku config check` (issue 22, point 4): a flag
//! wins over its environment variable, which wins over the file, which
//! wins over the default; a running server takes the file's settings; a
//! bad file (unknown key, bad value, bad TOML) or a setting the server
//! would refuse exits non-zero naming the setting; secrets are redacted.

use std::process::Output;

use crate::helpers::*;

fn config_check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(bin());
    cmd.arg("config").arg("check").args(args);
    for key in [
        "DATABASE_URL",
        "RENRAKU_DATABASE_URL",
        "RENRAKU_LISTEN",
        "RENRAKU_CONFIG",
    ] {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no `{key}` in\n{out}"))
}

/// `renraku init` of `DIR/data`.
fn init_data_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let init = std::process::Command::new(bin())
        .args(["init", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(init.status.success(), "{:?}", text(&init));
    data
}

#[tokio::test]
async fn flags_beat_environment_beat_the_file_beat_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init_data_dir(tmp.path());
    let file = tmp.path().join("renraku.toml");
    std::fs::write(
        &file,
        format!(
            "data-dir = {:?}\nlisten = \"127.0.0.1:9443\"\nsession-idle-timeout = 900\n\
             session-max-age = 7200\naccess-token-ttl = 600\n\
             allowed-origin = [\"https://a.example.jp\", \"https://b.example.jp\"]\n\
             database-url = \"postgres://renraku:file-s3cret@db/renraku\"\n",
            data.to_string_lossy()
        ),
    )
    .unwrap();
    let f = file.to_string_lossy().into_owned();
    let out = config_check(
        &["--config", &f, "--session-idle-timeout", "60"],
        &[
            ("RENRAKU_SESSION_IDLE_TIMEOUT", "120"),
            ("RENRAKU_SESSION_MAX_AGE", "3600"),
        ],
    );
    let (stdout, stderr) = text(&out);
    // The database URL names a PostgreSQL server that is not there: check
    // does not connect, it only judges the settings.
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Each setting with where it came from: flag > environment > file > default.
    for (key, want) in [
        ("session-idle-timeout", "session-idle-timeout = 60  # flag"),
        ("session-max-age", "session-max-age = 3600  # environment"),
        ("access-token-ttl", "access-token-ttl = 600  # file"),
        ("listen", "listen = \"127.0.0.1:9443\"  # file"),
        ("invitation-ttl", "invitation-ttl = 604800  # default"),
        (
            "allowed-origin",
            "allowed-origin = [\"https://a.example.jp\", \"https://b.example.jp\"]  # file",
        ),
        (
            "database-url",
            "database-url = \"postgres://renraku:<redacted>@db/renraku\"  # file",
        ),
    ] {
        assert_eq!(line(&stdout, key), want);
    }
    assert!(stdout.contains("# configuration OK"), "{stdout}");
    assert!(!stdout.contains("file-s3cret") && !stderr.contains("file-s3cret"));
    // The file's setting is also overridden by the environment variable
    // RENRAKU_CONFIG names it by.
    let out = config_check(
        &[],
        &[("RENRAKU_CONFIG", &f), ("RENRAKU_LISTEN", "127.0.0.1:7000")],
    );
    let (stdout, _) = text(&out);
    assert_eq!(
        line(&stdout, "listen"),
        "listen = \"127.0.0.1:7000\"  # environment"
    );
    assert_eq!(
        line(&stdout, "session-idle-timeout"),
        "session-idle-timeout = 900  # file"
    );
}

#[tokio::test]
async fn a_bad_configuration_exits_non_zero_naming_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 6] = [
        ("lisen = \"127.0.0.1:1\"\n", "unknown setting `lisen`"),
        (
            "listen = \"nowhere\"\n",
            "`listen`: invalid value 'nowhere'",
        ),
        (
            "session-idle-timeout = \"soon\"\n",
            "`session-idle-timeout`: invalid value 'soon'",
        ),
        (
            "listen = [\"127.0.0.1:1\"]\n",
            "`listen` takes one value, not a list",
        ),
        ("listen = [1\n", "not valid TOML at line 1"),
        (
            "insecure-http = \"yes\"\n",
            "`insecure-http` is true or false",
        ),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("bad{i}.toml"));
        std::fs::write(&file, body).unwrap();
        let f = file.to_string_lossy().into_owned();
        for cmd in [&["config", "check"][..], &["serve"][..]] {
            let out = std::process::Command::new(bin())
                .args(cmd)
                .args(["--config", &f])
                .output()
                .unwrap();
            let (stdout, stderr) = text(&out);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{cmd:?} {body}: {stdout}{stderr}"
            );
            assert!(
                stderr.contains(want) && stderr.contains(&*f),
                "{body}: {stderr}"
            );
            assert!(!stdout.contains("listening"), "{stdout}");
        }
    }
    // A missing file.
    let out = config_check(&["--config", "/nonexistent/renraku.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("cannot read"), "{:?}", text(&out));
    // Settings that parse but that the server would refuse: each named.
    let file = tmp.path().join("refused.toml");
    std::fs::write(
        &file,
        "time-zone = \"Mars/Olympus_Mons\"\ndata-dir = \"/nonexistent/renraku\"\n",
    )
    .unwrap();
    let out = config_check(&["--config", &file.to_string_lossy()], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for want in [
        "time-zone: no time zone",
        "data-dir: /nonexistent/renraku is not an initialised",
        "tls-cert: cannot read",
    ] {
        assert!(stderr.contains(want), "{want}: {stderr}");
    }
}

#[tokio::test]
async fn a_server_runs_with_the_files_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("renraku.toml");
    // One post a minute, from the file; the test helper's own flags
    // (--data-dir, --listen) win over the file's.
    std::fs::write(
        &file,
        "max-posts-per-minute = 1\nlisten = \"127.0.0.1:1\"\ndata-dir = \"/nonexistent\"\n",
    )
    .unwrap();
    let f = file.to_string_lossy().into_owned();
    let server = Server::demo_with(&["--config", &f]).await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let body = serde_json::json!({"text": "一件目"});
    let first = g
        .post_entry(&child, "education", "note", body.clone())
        .await;
    assert_eq!(first.0, 201, "{}", first.1);
    let second = g.post_entry(&child, "education", "note", body).await;
    assert_err(&second, 429, "rate_limited");
    server.check_logs();
}

/// `dist/renraku.toml`, the example the README installs: as shipped, and
/// with every commented-out setting switched on, it is a configuration that
/// `config check` accepts once its paths point at a real data dir and TLS
/// pair (given as flags, which win over the file).
#[tokio::test]
async fn the_shipped_example_configuration_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init_data_dir(tmp.path());
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/renraku.toml"),
    )
    .unwrap();
    // "# key = value  # note" → "key = value": every example switched on.
    let all_on: String = shipped
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                }) =>
            {
                rest.split("  #").next().unwrap_or(rest).to_owned()
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all_on.contains("\nmetrics-listen = "), "{all_on}");
    assert!(all_on.contains("\ninsecure-http = true"), "{all_on}");
    // Plain HTTP behind a proxy excludes a TLS pair (clap refuses both):
    // the example says to drop those two lines, and so does this variant.
    let behind_proxy: String = all_on
        .lines()
        .filter(|l| !l.starts_with("tls-"))
        .collect::<Vec<_>>()
        .join("\n");
    let all_on: String = all_on
        .lines()
        .filter(|l| !l.starts_with("insecure-http"))
        .collect::<Vec<_>>()
        .join("\n");
    let d = data.to_string_lossy().into_owned();
    let cert = data.join("tls/cert.pem").to_string_lossy().into_owned();
    let key = data.join("tls/key.pem").to_string_lossy().into_owned();
    for (name, body, tls) in [
        ("shipped.toml", shipped.clone(), true),
        ("all-on.toml", all_on, true),
        ("behind-proxy.toml", behind_proxy, false),
    ] {
        let file = tmp.path().join(name);
        std::fs::write(&file, &body).unwrap();
        let f = file.to_string_lossy().into_owned();
        let mut args = vec!["--config", &f, "--data-dir", &d];
        if tls {
            args.extend(["--tls-cert", &cert, "--tls-key", &key]);
        }
        let out = config_check(&args, &[]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{name}: {stdout}\n{stderr}");
        assert_eq!(line(&stdout, "log-format"), "log-format = \"json\"  # file");
        assert_eq!(
            line(&stdout, "data-dir"),
            format!("data-dir = {d:?}  # flag")
        );
        // The database password never shows.
        assert!(
            !stdout.contains("PASSWORD") && !stderr.contains("PASSWORD"),
            "{stdout}"
        );
    }
}
