//! `attachments`: the disk's own sequential write and read speed, measured
//! in the same run (a file of the attachment's size written in 1 MiB
//! pieces, fsynced, read back), against the upload and download throughput
//! of one attachment of that size over real TLS; then the server's peak
//! memory while `--concurrent` attachments of that size upload at once
//! (PNGs, sealed as they arrive, then JPEGs, held whole to strip their
//! metadata). The read-back cannot drop the page cache (that needs root
//! and would disturb the server): it is the cache's speed, an upper bound.

use anyhow::{bail, Context};
use rand::RngCore;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use super::client::Client;
use super::report::{peak_rss_mib, round, rss_mib, RssSampler};
use super::setup::Setup;
use super::BenchArgs;

const MIB: f64 = 1024.0 * 1024.0;

/// Seconds to write `size` bytes in 1 MiB pieces and fsync, then to read them back.
fn disk_speed(dir: &Path, size: usize) -> anyhow::Result<(f64, f64)> {
    let path = dir.join(format!("renraku-bench-disk-{}", std::process::id()));
    let mut piece = vec![0u8; 1 << 20];
    rand::thread_rng().fill_bytes(&mut piece);
    let start = Instant::now();
    let mut f = std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?;
    let mut left = size;
    while left > 0 {
        let n = left.min(piece.len());
        f.write_all(&piece[..n])?;
        left -= n;
    }
    f.sync_all()?;
    drop(f);
    let write = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut f = std::fs::File::open(&path)?;
    let mut total = 0;
    loop {
        let n = f.read(&mut piece)?;
        if n == 0 {
            break;
        }
        total += n;
    }
    let read = start.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    if total != size {
        bail!("read back {total} of {size} bytes");
    }
    Ok((write, read))
}

/// A file of `size` random bytes that the server takes for `kind`.
fn file(kind: &str, size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    rand::thread_rng().fill_bytes(&mut out);
    let head: &[u8] = match kind {
        // SOI, JFIF, a scan header; the rest is "image data".
        "image/jpeg" => &[
            0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
            0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0,
        ],
        _ => b"\x89PNG\r\n\x1a\n",
    };
    out[..head.len()].copy_from_slice(head);
    out
}

async fn upload(
    client: &Client,
    token: &str,
    child: &str,
    kind: &str,
    body: Vec<u8>,
) -> anyhow::Result<String> {
    let res = client
        .raw()
        .post(format!(
            "{}/api/v1/children/{child}/attachments",
            client.base()
        ))
        .bearer_auth(token)
        .header("content-type", kind)
        .body(body)
        .send()
        .await?;
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    if status.as_u16() != 201 {
        bail!("upload: {status} {}", v["error"]["code"]);
    }
    Ok(v["id"].as_str().unwrap_or_default().to_owned())
}

/// Bytes of the download, counted as they arrive (never held).
async fn download(client: &Client, token: &str, child: &str, id: &str) -> anyhow::Result<usize> {
    let mut res = client
        .raw()
        .get(format!(
            "{}/api/v1/children/{child}/attachments/{id}",
            client.base()
        ))
        .bearer_auth(token)
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("download: {}", res.status());
    }
    let mut n = 0;
    while let Some(chunk) = res.chunk().await? {
        n += chunk.len();
    }
    Ok(n)
}

/// Uploads `n` files of `kind` at once; the seconds it took.
async fn concurrent(
    client: &Client,
    token: &str,
    child: &str,
    kind: &'static str,
    n: usize,
    size: usize,
) -> anyhow::Result<f64> {
    let body = file(kind, size);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (client, token, child, body) = (
            client.clone(),
            token.to_owned(),
            child.to_owned(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            upload(&client, &token, &child, kind, body).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed().as_secs_f64())
}

pub async fn run(args: &BenchArgs, client: &Client, admin: &str) -> anyhow::Result<Value> {
    let size = args.attachment_mib.max(1) << 20;
    let n = args.concurrent.max(1);
    let dir = args.disk_dir.clone().unwrap_or_else(std::env::temp_dir);
    eprintln!(
        "disk: {} MiB written, fsynced and read back in {}",
        size >> 20,
        dir.display()
    );
    let (disk_write, disk_read) = disk_speed(&dir, size)?;
    let setup = Setup::new(client, admin);
    let guardian = setup.accounts("guardian", 1).await?.remove(0);
    let child = setup.children(vec![guardian.id.clone()]).await?.remove(0);
    let token = guardian.token.as_str();
    let pid = args.server_pid;

    let rss_before = pid.and_then(rss_mib).map(|m| round(m, 1));
    eprintln!("{n} concurrent uploads of {} MiB (PNG)", size >> 20);
    let sampler = RssSampler::start(pid);
    let png_secs = concurrent(client, token, &child, "image/png", n, size).await?;
    let png_peak = sampler.finish().await;
    let hwm_png = pid.and_then(peak_rss_mib);
    eprintln!("{n} concurrent uploads of {} MiB (JPEG)", size >> 20);
    let sampler = RssSampler::start(pid);
    let jpeg_secs = concurrent(client, token, &child, "image/jpeg", n, size).await?;
    let jpeg_peak = sampler.finish().await;
    let hwm_jpeg = pid.and_then(peak_rss_mib);

    eprintln!("one upload and download of {} MiB, 3 times", size >> 20);
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let body = file("image/png", size);
        let start = Instant::now();
        let id = upload(client, token, &child, "image/png", body).await?;
        up.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let got = download(client, token, &child, &id).await?;
        down.push(start.elapsed().as_secs_f64());
        if got != size {
            bail!("downloaded {got} of {size} bytes");
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (up, down) = (median(&mut up), median(&mut down));
    let mibs = |secs: f64| round(size as f64 / MIB / secs, 1);
    Ok(json!({
        "workload": "attachments",
        "attachment_mib": size >> 20,
        "disk_write_mib_s": mibs(disk_write),
        "disk_read_mib_s_page_cache": mibs(disk_read),
        "upload_mib_s": mibs(up),
        "download_mib_s": mibs(down),
        "upload_vs_disk_write": round(disk_write / up, 2),
        "download_vs_disk_read": round(disk_read / down, 2),
        "concurrent_uploads": n,
        "concurrent_png_secs": round(png_secs, 2),
        "concurrent_jpeg_secs": round(jpeg_secs, 2),
        "server_rss_before_mib": rss_before,
        "server_rss_peak_png_mib": png_peak,
        "server_rss_peak_jpeg_mib": jpeg_peak,
        "server_vmhwm_after_png_mib": hwm_png,
        "server_vmhwm_after_jpeg_mib": hwm_jpeg,
    }))
}
