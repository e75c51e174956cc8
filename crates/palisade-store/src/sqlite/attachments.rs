//! Attachments on SQLite: content-addressed bytes, written through the group-commit writer.

use super::SqliteStore;
use crate::Result;
use rusqlite::{OptionalExtension, params};

impl SqliteStore {
    pub(crate) async fn put_attachment(&self, sha256: &str, content: Vec<u8>) -> Result<()> {
        let sha256 = sha256.to_string();
        let at = crate::now_text();
        self.write(false, move |c, _| {
            c.prepare_cached(
                "INSERT INTO attachments (sha256, size, content, stored_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (sha256) DO NOTHING",
            )?
            .execute(params![sha256, content.len() as i64, content, at])?;
            Ok(((), None))
        })
        .await
    }

    pub(crate) async fn attachment(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let sha256 = sha256.to_string();
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT content FROM attachments WHERE sha256 = ?1")?
                    .query_row([sha256], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }
}
