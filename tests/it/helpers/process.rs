//! The `renraku` process: the binary, spawning it and waiting for its
//! listening line, stopping (kill, SIGTERM), restarting, and commands that
//! must refuse to start.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Server, StartError};

/// Runs a maintenance command (`backup`, `restore`, `keys rotate`) to its
/// end (at most 120 s): (success, stdout + stderr), asserting that no key
/// is in its output.
pub async fn run_keyless(cmd: &mut tokio::process::Command) -> (bool, String) {
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.kill_on_drop(true).output())
        .await
        .expect("renraku must finish")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("AGE-SECRET-KEY"),
        "a key in the output: {text}"
    );
    (out.status.success(), text)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_renraku")
}

/// Runs `renraku demo` against `database_url`, expecting it to refuse to
/// start (within 60 s); returns its stderr.
pub async fn demo_refused(database_url: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let extra = ["--database-url", database_url];
    refused(
        "demo",
        &data,
        &extra,
        "it started on a non-durable database",
    )
    .await
}

/// Runs `renraku CMD --data-dir DIR --listen 127.0.0.1:0 EXTRA` (with no
/// database URL from the environment), expecting it to exit unsuccessfully
/// within 60 s without listening; returns its stderr.
pub async fn refused(cmd: &str, data_dir: &std::path::Path, extra: &[&str], why: &str) -> String {
    let out = tokio::process::Command::new(bin())
        .arg(cmd)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(extra)
        .args(
            (cmd == "demo")
                .then_some(["--demo-http", "off"])
                .into_iter()
                .flatten(),
        )
        .env_remove("DATABASE_URL")
        .env_remove("RENRAKU_DATABASE_URL")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("renraku must exit, not serve")
        .unwrap();
    assert!(!out.status.success(), "{cmd}: {why}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "{cmd}: it must not listen"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl Server {
    /// Spawns `renraku <cmd> --data-dir DIR --listen 127.0.0.1:0 FLAGS` and
    /// waits (60 s at most) for its listening line.
    pub(super) async fn spawn(&mut self, cmd: &str) -> Result<(), StartError> {
        let mut command = Command::new(bin());
        command
            .arg(cmd)
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(&self.opts.flags)
            // Test servers leave the demo's plain-HTTP port (8080) alone
            // unless the test is about it.
            .args(
                (cmd == "demo" && !self.opts.flags.iter().any(|f| f == "--demo-http"))
                    .then_some(["--demo-http", "off"])
                    .into_iter()
                    .flatten(),
            )
            // `serve` asks professionals and admins for TOTP by default; a
            // demo deployment started again with `serve` keeps the demo's
            // policy unless the test chose one.
            .args(
                (cmd == "serve" && !self.opts.flags.iter().any(|f| f == "--totp-policy"))
                    .then_some(["--totp-policy", "optional"])
                    .into_iter()
                    .flatten(),
            )
            .args(
                self.database_url
                    .iter()
                    .flat_map(|u| ["--database-url".to_owned(), u.clone()]),
            )
            .env("RUST_LOG", &self.opts.rust_log)
            .env_remove("RUST_LOG_STYLE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn renraku");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();

        let err_buf = self.stderr.clone();
        let stderr_thread = std::thread::spawn(move || {
            let mut r = stderr;
            let mut buf = [0u8; 8192];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => err_buf.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        });

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let out_buf = self.stdout.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        out_buf.lock().unwrap().extend_from_slice(line.as_bytes());
                        if let Some(rest) = line.trim().strip_prefix("renraku listening on ") {
                            let _ = tx.send(rest.trim().to_string());
                        }
                    }
                }
            }
        });

        self.child = Some(child);
        self.stderr_thread = Some(stderr_thread);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                Ok(Some(url)) => {
                    self.base = url.trim_end_matches('/').to_string();
                    self.addr = self
                        .base
                        .trim_start_matches("https://")
                        .trim_start_matches("http://")
                        .to_string();
                    return Ok(());
                }
                Ok(None) | Err(_) => {
                    let exited = self.child.as_mut().unwrap().try_wait().unwrap();
                    if let Some(status) = exited {
                        self.child = None;
                        if let Some(t) = self.stderr_thread.take() {
                            let _ = t.join();
                        }
                        return Err(StartError {
                            status: Some(status),
                            stderr: self.log(),
                        });
                    }
                    if Instant::now() > deadline {
                        self.kill();
                        return Err(StartError {
                            status: None,
                            stderr: self.log(),
                        });
                    }
                }
            }
        }
    }

    /// SIGKILL (std `Child::kill`), then reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
    }

    /// SIGTERM via `kill -TERM`, then waits (30 s at most) for the exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.pid();
        let st = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(st.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                if let Some(t) = self.stderr_thread.take() {
                    let _ = t.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit within 30 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts `renraku serve` again on the same data dir (after kill/terminate).
    pub async fn restart(&mut self) {
        if let Err(e) = self.try_restart().await {
            panic!("renraku serve did not restart: {e:?}");
        }
    }

    pub async fn try_restart(&mut self) -> Result<(), StartError> {
        self.kill();
        self.spawn("serve").await?;
        self.after_start();
        Ok(())
    }
}
