//! One proxied connection: the socket readers and writers at both ends of its two links,
//! and how a close on one side travels to the other.
//!
//! ```text
//! client --read--> [upstream link chain] --write--> upstream server
//! client <-write-- [downstream link chain] <--read-- upstream server
//! ```
//!
//! Close semantics follow Toxiproxy, which closes a socket completely (no half-close) once
//! the chain writing to it ends: when a link's chain ends, its writer closes the socket it
//! writes to, and the other link's reader of that same socket stops, which ends the other
//! chain after it has flushed what it holds (through its toxics: a `slow_close` or
//! `latency` there still applies). A socket closes (FIN, or RST if unread data was pending,
//! or if `reset_peer` set `SO_LINGER` 0) once its writer and reader have both let go.
//! Killing the connection (proxy disabled or deleted) drops everything at once.

use std::io;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use socket2::SockRef;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::toxics::Chunk;

/// Bytes per socket read, Go's `io.Copy` buffer: a chunk is at most this big.
const READ_BUFFER: usize = 32 * 1024;

/// Weak handles on the connection's two sockets, for toxics that act on the sockets
/// themselves; weak so they never keep a socket open.
#[derive(Debug)]
pub(crate) struct Sockets {
    client: Weak<TcpStream>,
    upstream: Weak<TcpStream>,
}

// === impl Sockets ===

impl Sockets {
    pub(crate) fn new(client: &Arc<TcpStream>, upstream: &Arc<TcpStream>) -> Self {
        Sockets {
            client: Arc::downgrade(client),
            upstream: Arc::downgrade(upstream),
        }
    }

    /// Handles on no socket (for unit tests of the toxics).
    #[cfg(test)]
    pub(crate) fn detached() -> Self {
        Sockets {
            client: Weak::new(),
            upstream: Weak::new(),
        }
    }

    /// Sets `SO_LINGER` 0 on both sockets, so closing them sends a TCP RST.
    pub(crate) fn abort_on_close(&self) {
        for socket in [&self.client, &self.upstream] {
            if let Some(socket) = socket.upgrade()
                && let Err(error) = SockRef::from(&*socket).set_linger(Some(Duration::ZERO))
            {
                debug!(%error, "Cannot set SO_LINGER 0");
            }
        }
    }
}

/// The socket-side ends of one link's chain.
#[derive(Debug)]
pub(crate) struct LinkEnds {
    /// Feeds the head of the chain.
    pub(crate) input: mpsc::Sender<Chunk>,
    /// Drains the tail of the chain.
    pub(crate) output: mpsc::Receiver<Chunk>,
}

/// Pipes both links until both chains have ended (each socket then closes as its last
/// holder lets go).
pub(crate) async fn pump(
    client: Arc<TcpStream>,
    upstream: Arc<TcpStream>,
    to_upstream: LinkEnds,
    to_client: LinkEnds,
) {
    let client_closing = CancellationToken::new();
    let upstream_closing = CancellationToken::new();
    // `join!` drops each future as it finishes, and with it that side's hold on its socket.
    tokio::join!(
        read_loop(
            Arc::clone(&client),
            to_upstream.input,
            client_closing.clone()
        ),
        write_loop(
            Arc::clone(&upstream),
            to_upstream.output,
            upstream_closing.clone()
        ),
        read_loop(upstream, to_client.input, upstream_closing),
        write_loop(client, to_client.output, client_closing),
    );
}

/// Reads `source` into the chain until end of file, an error, or `closing` (the other
/// link closed this socket). Dropping the chain's input then ends the chain.
async fn read_loop(source: Arc<TcpStream>, input: mpsc::Sender<Chunk>, closing: CancellationToken) {
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        let read = tokio::select! {
            biased;
            () = closing.cancelled() => return,
            read = read_some(&source, &mut buffer) => read,
        };
        let len = match read {
            Ok(0) => return,
            Ok(len) => len,
            Err(error) => {
                debug!(%error, "Read failed; ending the link");
                return;
            }
        };
        let chunk = Chunk {
            data: Bytes::copy_from_slice(buffer.get(..len).unwrap_or_default()),
            at: Instant::now(),
        };
        tokio::select! {
            biased;
            () = closing.cancelled() => return,
            sent = input.send(chunk) => if sent.is_err() { return },
        }
    }
}

/// Writes the chain's chunks to `dest` until the chain ends, then closes `dest`: signals
/// the reader of `dest` to stop and lets go. After a write error the chain is still
/// drained (and discarded) so no stage blocks on it.
async fn write_loop(
    dest: Arc<TcpStream>,
    mut output: mpsc::Receiver<Chunk>,
    closing: CancellationToken,
) {
    let mut dest = Some(dest);
    while let Some(chunk) = output.recv().await {
        if let Some(socket) = &dest
            && let Err(error) = write_all(socket, &chunk.data).await
        {
            debug!(%error, "Write failed; closing this side");
            dest = None;
            closing.cancel();
        }
    }
    closing.cancel();
}

async fn read_some(socket: &TcpStream, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        socket.readable().await?;
        match socket.try_read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

async fn write_all(socket: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        socket.writable().await?;
        match socket.try_write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => data = data.get(written..).unwrap_or_default(),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
