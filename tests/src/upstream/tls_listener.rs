//! The fake's TLS listener for `axum::serve`: TCP connections are accepted and counted at
//! once, their handshakes run concurrently (a slow one never holds the others up), and
//! finished ones are handed to the server.

use super::state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

type Accepted = (TlsStream<tokio::net::TcpStream>, SocketAddr);

/// Connections that finished their TLS handshake.
pub(super) struct TlsListener {
    ready: mpsc::Receiver<Accepted>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` (on the current runtime).
    pub(super) fn new(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        shared: Arc<Shared>,
    ) -> Self {
        let local = listener.local_addr().expect("fake-upstream address");
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            while let Ok((tcp, peer)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::Relaxed);
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Self { ready, local }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
