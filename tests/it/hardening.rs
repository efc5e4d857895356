//! Slow and stuck clients (issue 18, point 2): the header-read timeout,
//! idle connections, `--max-connections`, WebSocket pings and 1007 for text
//! that is not UTF-8. Raw connections use rustls over std sockets so a test
//! controls every byte and sees the moment the server hangs up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as RawFrame;
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::helpers::*;

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TCP connection with the TLS handshake started (not finished).
fn tls_connect(server: &Server, alpn: &[&[u8]]) -> Tls {
    let pem = std::fs::read(server.dir.join("tls/cert.pem")).unwrap();
    let mut config = rustls_config(&pem);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let sock = TcpStream::connect(&server.addr).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// Drives the handshake for at most `d`; false if it did not finish.
fn handshake(tls: &mut Tls, d: Duration) -> bool {
    tls.sock.set_read_timeout(Some(d)).unwrap();
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            return false;
        }
    }
    true
}

/// Reads until the server hangs up (or `limit`); what was read and when it ended.
fn read_to_hangup(tls: &mut Tls, limit: Duration) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    tls.sock
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while start.elapsed() < limit {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    (got, start.elapsed())
}

/// Opens TLS, sends `bytes` and nothing more; seconds until the server hangs up.
fn hangup_after_sending(server: &Server, alpn: &[&[u8]], bytes: &[u8]) -> (Vec<u8>, Duration) {
    let mut tls = tls_connect(server, alpn);
    assert!(handshake(&mut tls, Duration::from_secs(5)), "TLS handshake");
    let start = Instant::now();
    if !bytes.is_empty() {
        tls.write_all(bytes).unwrap();
        tls.flush().unwrap();
    }
    let (got, _) = read_to_hangup(&mut tls, Duration::from_secs(20));
    (got, start.elapsed())
}

#[tokio::test]
async fn partial_headers_and_silence_are_cut_off_after_10_s() {
    let server = Arc::new(Server::demo().await);
    let partial = {
        let s = server.clone();
        tokio::task::spawn_blocking(move || {
            hangup_after_sending(
                &s,
                &[b"http/1.1"],
                b"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
            )
        })
    };
    let silent = {
        let s = server.clone();
        tokio::task::spawn_blocking(move || hangup_after_sending(&s, &[], b""))
    };
    let h2_prefix = {
        let s = server.clone();
        tokio::task::spawn_blocking(move || {
            hangup_after_sending(&s, &[b"h2"], b"PRI * HTTP/2.0\r\n")
        })
    };
    for (what, task) in [
        ("partial header", partial),
        ("nothing", silent),
        ("half an HTTP/2 preface", h2_prefix),
    ] {
        let (_, after) = task.await.unwrap();
        assert!(
            after >= Duration::from_secs(9) && after <= Duration::from_secs(12),
            "{what}: the server hung up after {after:?}"
        );
    }
    // The server still serves everyone else.
    server.login("guardian.sato").await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = Arc::new(
        Server::demo_with(&["--header-read-timeout", "2", "--keep-alive-timeout", "4"]).await,
    );
    // HTTP/1.1: hyper waits for the next request's headers for the
    // header-read timeout, so a kept-alive connection idles that long.
    let h1 = {
        let s = server.clone();
        tokio::task::spawn_blocking(move || {
            hangup_after_sending(
                &s,
                &[b"http/1.1"],
                b"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            )
        })
    };
    // HTTP/2: a preface and settings, then silence.
    let h2 = {
        let s = server.clone();
        tokio::task::spawn_blocking(move || {
            let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
            hangup_after_sending(&s, &[b"h2"], &hello)
        })
    };
    let (answer, after) = h1.await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 401"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        after >= Duration::from_millis(1800) && after <= Duration::from_millis(3500),
        "idle HTTP/1.1 connection closed after {after:?}"
    );
    let (answer, after) = h2.await.unwrap();
    assert!(!answer.is_empty(), "the server's HTTP/2 settings");
    assert!(
        after >= Duration::from_millis(3800) && after <= Duration::from_millis(5500),
        "idle HTTP/2 connection closed after {after:?}"
    );
}

#[tokio::test]
async fn past_max_connections_a_new_one_waits_for_a_free_slot() {
    let server = Arc::new(Server::demo_with(&["--max-connections", "5"]).await);
    let s = server.clone();
    tokio::task::spawn_blocking(move || {
        let mut held: Vec<Tls> = (0..5)
            .map(|i| {
                let mut tls = tls_connect(&s, &[b"http/1.1"]);
                assert!(
                    handshake(&mut tls, Duration::from_secs(5)),
                    "connection {i}"
                );
                tls
            })
            .collect();
        let mut sixth = tls_connect(&s, &[b"http/1.1"]);
        assert!(
            !handshake(&mut sixth, Duration::from_millis(1500)),
            "a sixth connection is served while five are open"
        );
        drop(held.pop());
        assert!(
            handshake(&mut sixth, Duration::from_secs(5)),
            "the sixth connection is served once one closes"
        );
        sixth
            .write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (answer, _) = read_to_hangup(&mut sixth, Duration::from_secs(5));
        assert!(
            answer.starts_with(b"HTTP/1.1 401"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn websocket_pings_and_closes_a_socket_that_does_not_answer() {
    let server = Server::demo_with(&["--ws-ping-interval", "1", "--ws-pong-timeout", "3"]).await;
    let g = server.login("guardian.sato").await;
    let mut alive = Ws::connect_auth(&server.api(), &g.access).await;
    let mut silent = Ws::connect_auth(&server.api(), &g.access).await;
    // The live client reads (and so answers pings) for longer than the timeout.
    let (mut pings, start) = (0, Instant::now());
    while start.elapsed() < Duration::from_millis(4500) {
        match tokio::time::timeout(Duration::from_millis(200), alive.stream.next()).await {
            Err(_) => {}
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(Message::Text(_)))) => {}
            Ok(other) => panic!("the answering socket got {other:?}"),
        }
    }
    assert!(pings >= 3, "{pings} pings in 4.5 s at one a second");
    // The silent one was not read for 4.5 s: the server has given up on it
    // (its close frame, or a broken pipe when the client's late pong goes out).
    loop {
        match silent.next_frame(Duration::from_secs(1)).await {
            Frame::Close(code) => break assert_eq!(code, Some(1001)),
            Frame::Ended(_) => break,
            Frame::Timeout => panic!("the silent socket is still open"),
            Frame::Json(_) | Frame::Other(_) => {}
        }
    }
    // The live one is still served.
    alive
        .send(serde_json::json!({"type": "auth", "access_token": g.access}))
        .await;
    assert_eq!(alive.recv().await["type"], "ready");
}

#[tokio::test]
async fn text_that_is_not_utf8_closes_1007() {
    let server = Server::demo().await;
    let g = server.login("guardian.sato").await;
    let bad = || {
        Message::Frame(RawFrame::message(
            vec![b'{', 0xff, 0xfe, b'}'],
            OpCode::Data(Data::Text),
            true,
        ))
    };
    let mut ws = Ws::connect_auth(&server.api(), &g.access).await;
    ws.try_send(bad()).await.unwrap();
    ws.expect_close(1007).await;
    // Before authentication too.
    let mut ws = Ws::connect(&server.api()).await;
    ws.try_send(bad()).await.unwrap();
    ws.expect_close(1007).await;
    // The server keeps serving.
    let mut ws = Ws::connect_auth(&server.api(), &g.access).await;
    ws.send(serde_json::json!({"type": "auth", "access_token": g.access}))
        .await;
    assert_eq!(ws.recv().await["type"], "ready");
}

/// A server with a small outbound bound (64 KiB) and a child whose backlog
/// is many times that and larger than the kernel's socket buffers (about
/// 36 MB of 60 KB entries): the guardian's session, the child and its count.
async fn big_backlog() -> (Server, Session, String, usize) {
    let mut flags = vec!["--ws-queue-bytes", "65536"];
    flags.extend(NO_WRITE_LIMITS);
    let server = Server::demo_with(&flags).await;
    let g = server.login("guardian.sato").await;
    let child = g.child_id(HINATA).await;
    let before = g.all_entries(&child).await.len();
    let text = "あ".repeat(20_000);
    let n = 600;
    for _ in 0..n {
        let r = g
            .post_entry(
                &child,
                "education",
                "note",
                serde_json::json!({ "text": text }),
            )
            .await;
        assert_eq!(r.0, 201, "{}", r.1);
    }
    (server, g, child, before + n)
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_mid_backlog_is_closed_1013_within_10_s() {
    let (server, g, child, total) = big_backlog().await;
    let mut stuck = Ws::connect_auth_small_buffer(&server.api(), &g.access).await;
    stuck
        .send(serde_json::json!({"type": "subscribe", "child_id": child, "after_seq": 0}))
        .await;
    // Reads nothing for 10 s. A server still waiting for room would go on
    // sending once the client reads; one that gave up sent a part only.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut got = 0;
    let ended = loop {
        match stuck.next_frame(Duration::from_secs(5)).await {
            Frame::Json(v) if v["type"] == "entry" => got += 1,
            Frame::Json(v) => panic!(
                "a stuck subscriber got {v} after {got} entries; server log:\n{}",
                server.log()
            ),
            Frame::Close(code) => break format!("close {code:?}"),
            Frame::Ended(why) => break format!("dropped: {why}"),
            Frame::Timeout => panic!("the stuck socket is still open after {got} entries"),
            Frame::Other(o) => panic!("unexpected {o}"),
        }
    };
    assert!(
        ended == "close Some(1013)" || ended.starts_with("dropped"),
        "{ended}"
    );
    assert!(
        got < total,
        "all {total} entries arrived: the server waited"
    );
    // The server serves the same account and child.
    let mut ws = Ws::connect_auth(&server.api(), &g.access).await;
    let (entries, _) = ws.subscribe(&child, total as i64 - 5).await;
    assert_eq!(entries.len(), 5);
}

#[tokio::test]
async fn a_subscriber_that_keeps_reading_gets_a_backlog_far_over_the_bound() {
    let (server, g, child, total) = big_backlog().await;
    let mut ws = Ws::connect_auth_small_buffer(&server.api(), &g.access).await;
    ws.send(serde_json::json!({"type": "subscribe", "child_id": child, "after_seq": 0}))
        .await;
    // A slow reader: a pause every 100 entries.
    let mut got = 0;
    loop {
        match ws.next_frame(Duration::from_secs(10)).await {
            Frame::Json(v) if v["type"] == "entry" => {
                got += 1;
                if got % 100 == 0 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
            Frame::Json(v) if v["type"] == "subscribed" => break,
            other => panic!("after {got} entries: {other:?}"),
        }
    }
    assert_eq!(got, total);
}
