//! Bytes written by blocking code (an evidence download, an export bundle) handed to an async
//! consumer (a response body) as a stream of chunks, with back-pressure. No HTTP here: each edge
//! wraps the stream in its own body type.

use futures_util::Stream;
use std::io::Write;

/// A chunk of output, or the error that ends it early.
pub type Chunk = std::io::Result<Vec<u8>>;

/// A `Write` that sends what is written, in chunks, to the paired [`channel`] stream.
pub struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

const OUT_CHUNK: usize = 256 * 1024;

/// A writer for blocking code and the stream of what it writes (four chunks in flight).
pub fn channel() -> (ChannelWriter, impl Stream<Item = Chunk> + Send + 'static) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    (
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(OUT_CHUNK),
        },
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)),
    )
}

impl ChannelWriter {
    fn send_buf(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(OUT_CHUNK));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }

    /// End the stream with an error: the consumer sees an incomplete transfer, never a silent
    /// pass.
    pub fn abort(&mut self, why: String) {
        let _ = self.tx.blocking_send(Err(std::io::Error::other(why)));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() > OUT_CHUNK {
            // Hold the last byte back until `flush`: a body whose check fails at the very end
            // must never reach the client complete (it has a Content-Length).
            let last = self.buf.split_off(self.buf.len() - 1);
            self.send_buf()?;
            self.buf = last;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn the_last_byte_waits_for_flush_and_an_abort_ends_with_an_error() {
        let (mut w, s) = channel();
        let writer = tokio::task::spawn_blocking(move || {
            w.write_all(&vec![7u8; OUT_CHUNK + 10]).unwrap();
            w.abort("integrity check failed".into());
        });
        let got: Vec<Chunk> = s.collect().await;
        writer.await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].as_ref().unwrap().len(),
            OUT_CHUNK + 9,
            "one byte held back"
        );
        assert_eq!(
            got[1].as_ref().unwrap_err().to_string(),
            "integrity check failed"
        );
    }
}
