//! Attachments on PostgreSQL: content-addressed bytes, shared by every instance.

use super::PgStore;
use crate::Result;

impl PgStore {
    pub(crate) async fn put_attachment(&self, sha256: &str, content: Vec<u8>) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO attachments (sha256, size, content, stored_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sha256) DO NOTHING",
                &[
                    &sha256,
                    &(content.len() as i64),
                    &content,
                    &crate::now_text(),
                ],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn attachment(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT content FROM attachments WHERE sha256 = $1",
                &[&sha256],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}
