//! Attachments: their metadata rows, which entries reference them, and
//! their sealed chunks (sealed by the domain; only ciphertext gets here).
//! An upload's chunks go first to a temporary file in the data dir, removed
//! if the upload does not finish (a dropped connection drops the
//! [`Upload`]); only a whole upload is committed: on SQLite the file is
//! renamed into place (after fsync) and then its row inserted, on
//! PostgreSQL the chunks, the row and the access-log record are one
//! transaction, so every node can serve the file.

use sqlx::any::AnyRow;
use sqlx::Row;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::chain::append_access;
use super::rows::id;
use super::{Backend, NewAccess, Store, StoreError, StoreResult};
use crate::ids::{AccountId, AttachmentId, ChildId};

/// One stored attachment (its chunks apart).
#[derive(Clone, Debug)]
pub struct AttachmentRow {
    pub id: AttachmentId,
    pub child_id: ChildId,
    pub uploader: AccountId,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub nonce_prefix: Vec<u8>,
    pub created_at: i64,
}

impl AttachmentRow {
    fn decode(r: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: id(r, "id")?,
            child_id: id(r, "child_id")?,
            uploader: id(r, "uploader")?,
            content_type: r.try_get("content_type")?,
            size: r.try_get("size")?,
            sha256: r.try_get("sha256")?,
            nonce_prefix: r.try_get("nonce_prefix")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

const COLS: &str = "id, child_id, uploader, content_type, size, sha256, nonce_prefix, created_at";

/// The sealed chunks of an upload in progress, in a temporary file that is
/// removed when this is dropped uncommitted.
pub struct Upload {
    path: PathBuf,
    /// The length of a sealed chunk (the last may be shorter).
    chunk_len: usize,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
}

impl Upload {
    pub async fn write_chunk(&mut self, sealed: &[u8]) -> StoreResult<()> {
        let file = self.file.as_mut().ok_or(StoreError::Corrupt("upload"))?;
        file.write_all(sealed).await?;
        Ok(())
    }

    /// Flushed and on disk.
    async fn finish(&mut self) -> StoreResult<()> {
        let mut file = self.file.take().ok_or(StoreError::Corrupt("upload"))?;
        file.flush().await?;
        file.get_mut().sync_all().await?;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Already renamed into place, or never finished: either way this
        // path should not remain (it holds ciphertext only).
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one attachment's sealed chunks in order.
pub enum ChunkReader {
    /// A file of sealed chunks of `chunk_len` bytes (the last may be shorter).
    File {
        file: tokio::fs::File,
        chunk_len: usize,
    },
    /// Chunk rows (PostgreSQL), [`ROWS_AHEAD`] a query: a round trip per
    /// 64 KiB was what limited a download.
    Rows {
        store: Store,
        id: AttachmentId,
        next: i64,
        ahead: std::collections::VecDeque<Vec<u8>>,
    },
}

/// Chunk rows read in one query (512 KiB of ciphertext held at most).
const ROWS_AHEAD: i64 = 8;

impl ChunkReader {
    /// The next sealed chunk; `None` after the last.
    pub async fn next_chunk(&mut self) -> StoreResult<Option<Vec<u8>>> {
        match self {
            Self::File { file, chunk_len } => {
                let mut buf = vec![0u8; *chunk_len];
                let mut filled = 0;
                while filled < buf.len() {
                    let n = file.read(&mut buf[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                Ok((filled > 0).then_some(buf))
            }
            Self::Rows {
                store,
                id,
                next,
                ahead,
            } => {
                if ahead.is_empty() {
                    let rows = sqlx::query(
                        "select data from attachment_chunk where attachment_id = $1 \
                         and n >= $2 order by n limit $3",
                    )
                    .bind(id.to_string())
                    .bind(*next)
                    .bind(ROWS_AHEAD)
                    .fetch_all(&mut *store.reader().await?)
                    .await?;
                    for r in rows {
                        ahead.push_back(r.try_get("data")?);
                    }
                }
                let chunk = ahead.pop_front();
                *next += i64::from(chunk.is_some());
                Ok(chunk)
            }
        }
    }
}

/// Where a stored attachment's file lives (SQLite).
fn file_path(root: &Path, child: ChildId, id: AttachmentId) -> PathBuf {
    root.join(child.to_string()).join(id.to_string())
}

async fn sync_dir(dir: &Path) -> StoreResult<()> {
    tokio::fs::File::open(dir).await?.sync_all().await?;
    Ok(())
}

impl Store {
    /// The folder of attachment files (and of uploads in progress, `tmp/`).
    fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("attachments")
    }

    /// SQLite: removes an erased child's attachment files (after its rows
    /// went in the erasure's transaction).
    pub async fn remove_child_attachment_files(&self, child: ChildId) -> StoreResult<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let dir = self.attachments_dir().join(child.to_string());
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => sync_dir(&self.attachments_dir()).await.or(Ok(())),
        }
    }

    /// SQLite, at start under the serving lock (so no upload is in
    /// flight): removes what uploads cut short by a crash left in `tmp/`,
    /// and files no row names (a crash between a file's rename and its
    /// row's commit). Ciphertext only, either way. How many files went.
    pub async fn tidy_attachment_files(&self) -> StoreResult<usize> {
        if self.backend != Backend::Sqlite {
            return Ok(0);
        }
        let root = self.attachments_dir();
        match tokio::fs::remove_dir_all(root.join("tmp")).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let mut removed = 0;
        let mut children = match tokio::fs::read_dir(&root).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            other => other?,
        };
        while let Some(dir) = children.next_entry().await? {
            let Some(child) = dir
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<ChildId>().ok())
            else {
                continue;
            };
            let rows = sqlx::query("select id from attachment where child_id = $1")
                .bind(child.to_string())
                .fetch_all(&mut *self.reader().await?)
                .await?;
            let named: std::collections::HashSet<String> = rows
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<Result<_, _>>()?;
            let mut files = tokio::fs::read_dir(dir.path()).await?;
            while let Some(f) = files.next_entry().await? {
                if !f.file_name().to_str().is_some_and(|n| named.contains(n)) {
                    tokio::fs::remove_file(f.path()).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// A new upload's temporary file.
    pub async fn begin_upload(&self, id: AttachmentId, chunk_len: usize) -> StoreResult<Upload> {
        let tmp = self.attachments_dir().join("tmp");
        tokio::fs::create_dir_all(&tmp).await?;
        let path = tmp.join(id.to_string());
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(Upload {
            path,
            chunk_len,
            file: Some(tokio::io::BufWriter::with_capacity(chunk_len, file)),
        })
    }

    /// Stores a whole upload: its chunks, its row and its access-log record.
    pub async fn commit_upload(
        &self,
        mut upload: Upload,
        row: &AttachmentRow,
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        upload.finish().await?;
        match self.backend {
            Backend::Sqlite => self.commit_file(&upload, row, log).await,
            Backend::Postgres => self.commit_rows(&upload, row, log).await,
        }
    }

    /// SQLite: the file renamed into place (durably), then the row; a
    /// crash between the two leaves a file no row names, removed at the
    /// next start ([`Store::tidy_attachment_files`]).
    async fn commit_file(
        &self,
        upload: &Upload,
        row: &AttachmentRow,
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let root = self.attachments_dir();
        let target = file_path(&root, row.child_id, row.id);
        let dir = root.join(row.child_id.to_string());
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::rename(&upload.path, &target).await?;
        sync_dir(&dir).await?;
        let mut w = self.writer().await?;
        let stored = async {
            let mut tx = sqlx::Connection::begin(&mut *w.conn).await?;
            insert_row(&mut tx, row).await?;
            append_access(&mut tx, self.backend, &self.chain_key, &log).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }
        .await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&target).await;
        }
        stored
    }

    /// PostgreSQL: chunks, row and record in one transaction, on a
    /// connection of the attachments' own pool (a slow disk read here
    /// never holds the writer).
    async fn commit_rows(
        &self,
        upload: &Upload,
        row: &AttachmentRow,
        log: NewAccess<'_>,
    ) -> StoreResult<()> {
        let pool = self.blobs.as_ref().ok_or(StoreError::Corrupt("no pool"))?;
        let mut conn = pool.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let mut reader = ChunkReader::File {
            file: tokio::fs::File::open(&upload.path).await?,
            chunk_len: upload.chunk_len,
        };
        let mut n = 0i64;
        let mut batch = Vec::with_capacity(ROWS_AHEAD as usize);
        loop {
            let chunk = reader.next_chunk().await?;
            let done = chunk.is_none();
            batch.extend(chunk);
            if batch.len() == ROWS_AHEAD as usize || (done && !batch.is_empty()) {
                insert_chunks(&mut tx, row.id, n, std::mem::take(&mut batch)).await?;
                n += ROWS_AHEAD;
            }
            if done {
                break;
            }
        }
        insert_row(&mut tx, row).await?;
        append_access(&mut tx, self.backend, &self.chain_key, &log).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_attachment(
        &self,
        child: ChildId,
        id: AttachmentId,
    ) -> StoreResult<Option<AttachmentRow>> {
        let row = sqlx::query(&format!(
            "select {COLS} from attachment where id = $1 and child_id = $2"
        ))
        .bind(id.to_string())
        .bind(child.to_string())
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        row.as_ref().map(AttachmentRow::decode).transpose()
    }

    /// The category and first revision's time of every entry revision that
    /// references the attachment (who may read it follows from them).
    pub async fn attachment_refs(&self, id: AttachmentId) -> StoreResult<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "select e.category, e.first_created_at from attachment_ref r \
             join entry e on e.id = r.entry_id where r.attachment_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("category")?, r.try_get("first_created_at")?)))
            .collect()
    }

    /// The sealed chunks of a stored attachment, in order.
    pub async fn read_chunks(
        &self,
        row: &AttachmentRow,
        chunk_len: usize,
    ) -> StoreResult<ChunkReader> {
        match self.backend {
            Backend::Sqlite => {
                let path = file_path(&self.attachments_dir(), row.child_id, row.id);
                let file = tokio::fs::File::open(path).await?;
                Ok(ChunkReader::File { file, chunk_len })
            }
            Backend::Postgres => Ok(ChunkReader::Rows {
                store: self.clone(),
                id: row.id,
                next: 0,
                ahead: Default::default(),
            }),
        }
    }

    /// Attachments created before `before` that no entry references.
    pub async fn list_unreferenced_attachments(
        &self,
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<(AttachmentId, ChildId)>> {
        let rows = sqlx::query(
            "select a.id, a.child_id from attachment a where a.created_at < $1 \
             and not exists (select 1 from attachment_ref r where r.attachment_id = a.id) \
             order by a.created_at limit $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((id(r, "id")?, id(r, "child_id")?)))
            .collect()
    }

    /// Deletes an attachment that is still unreferenced (checked in the
    /// delete itself), its chunks and its file; false if it was referenced
    /// meanwhile (or already gone).
    pub async fn delete_unreferenced_attachment(
        &self,
        id: AttachmentId,
        child: ChildId,
    ) -> StoreResult<bool> {
        let mut w = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *w.conn).await?;
        let gone = sqlx::query(
            "delete from attachment where id = $1 and not exists \
             (select 1 from attachment_ref r where r.attachment_id = $1) returning id",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if gone {
            sqlx::query("delete from attachment_chunk where attachment_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        drop(w);
        if gone && self.backend == Backend::Sqlite {
            let path = file_path(&self.attachments_dir(), child, id);
            match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(gone)
    }
}

/// `chunks` as rows `first`, `first + 1`, … in one statement.
async fn insert_chunks(
    conn: &mut sqlx::AnyConnection,
    id: AttachmentId,
    first: i64,
    chunks: Vec<Vec<u8>>,
) -> StoreResult<()> {
    let values: Vec<String> = (0..chunks.len())
        .map(|i| format!("({})", super::params(3 * i, 3)))
        .collect();
    let sql = format!(
        "insert into attachment_chunk (attachment_id, n, data) values {}",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for (n, chunk) in (first..).zip(chunks) {
        q = q.bind(id.to_string()).bind(n).bind(chunk);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

async fn insert_row(conn: &mut sqlx::AnyConnection, row: &AttachmentRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "insert into attachment ({COLS}) values ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(row.id.to_string())
    .bind(row.child_id.to_string())
    .bind(row.uploader.to_string())
    .bind(row.content_type.clone())
    .bind(row.size)
    .bind(row.sha256.clone())
    .bind(row.nonce_prefix.clone())
    .bind(row.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
