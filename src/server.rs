//! The HTTP/1.1 accept loop. `axum::serve` gives hyper no timer, so hyper's header-read timeout
//! never fires and a client that sends its request head a byte at a time (slowloris) holds a
//! connection, and a file descriptor, for ever. This loop is `axum::serve` plus that timer, plus
//! a cap on open connections: beyond it a few more connections serve only health checks, and
//! the rest get a quick `503` and are closed, so the accept loop never stalls and the process
//! never runs out of file descriptors.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How the loop bounds its clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request head must have arrived within this long (also the idle keep-alive timeout:
    /// hyper starts the timer when it waits for the next head).
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections beyond `max_connections` that answer only `/healthz` and `/readyz`.
    pub health_reserve: usize,
    /// Connections beyond both being answered `503` at once; further ones are closed at once.
    pub refusals_at_once: usize,
}

/// How long a refused connection may take to receive its `503`.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(1);
/// A warning about refused connections at most this often (a flood must not flood the log).
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

const BUSY_BODY: &str =
    r#"{"error":"too_many_connections","message":"the server has too many open connections; try again later"}"#;

/// Serves `router` until `shutdown` completes, then waits for open connections to finish.
pub async fn run(listener: TcpListener, router: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut health_only_http = http.clone();
    health_only_http.keep_alive(false);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let health_reserve = Arc::new(Semaphore::new(limits.health_reserve));
    let refusals = Arc::new(Semaphore::new(limits.refusals_at_once));
    let mut refused = RefusalLog::default();
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, for example: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        // The permit lives as long as the connection's task.
        if let Ok(permit) = Arc::clone(&connections).try_acquire_owned() {
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                // What `into_make_service_with_connect_info` would add: the throttle reads it.
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request.map(Body::new))
            });
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
            });
        } else if let Ok(permit) = Arc::clone(&health_reserve).try_acquire_owned() {
            refused.note(peer, "health checks only");
            // One request, then closed (no keep-alive), so the reserve turns over.
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                let router = router.clone();
                async move {
                    if !matches!(request.uri().path(), "/healthz" | "/readyz") {
                        return Ok(busy_response());
                    }
                    request.extensions_mut().insert(ConnectInfo(peer));
                    router.oneshot(request.map(Body::new)).await
                }
            });
            let connection = graceful.watch(health_only_http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, %peer, "health-reserve connection ended with an error");
                }
            });
        } else {
            refused.note(peer, "refused");
            refuse(stream, &refusals);
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Seconds a refused client is told to wait: 5–15, so refused clients do not come back together.
fn retry_after_s() -> u8 {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    5 + byte[0] % 11
}

fn busy_response() -> Response<Body> {
    let mut response = Response::new(Body::from(BUSY_BODY));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from(u16::from(retry_after_s())));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Answers a connection beyond every cap with a fixed `503` and closes it, in a task of its own
/// (bounded in number and time), so the accept loop goes straight back to accepting.
fn refuse(mut stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(refusals).try_acquire_owned() else {
        // Too many being refused already: close at once (the client sees the connection end).
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {}\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{BUSY_BODY}",
            retry_after_s(),
            BUSY_BODY.len()
        );
        let _ = tokio::time::timeout(REFUSAL_DEADLINE, async {
            stream.write_all(answer.as_bytes()).await?;
            stream.shutdown().await?;
            // Read what the client sent until it closes: closing with unread data would reset
            // the connection, and a reset can destroy the answer before the client reads it.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<(), std::io::Error>(())
        })
        .await;
    });
}

/// Counts connections beyond the cap and warns about them at most once a minute.
#[derive(Default)]
struct RefusalLog {
    since_warning: u64,
    warned_at: Option<Instant>,
}

impl RefusalLog {
    fn note(&mut self, peer: std::net::SocketAddr, how: &'static str) {
        self.since_warning += 1;
        if self.warned_at.is_none_or(|at| at.elapsed() >= REFUSAL_LOG_INTERVAL) {
            tracing::warn!(
                connections_beyond_cap = self.since_warning,
                last_peer = %peer,
                last = how,
                "the connection cap is reached"
            );
            self.since_warning = 0;
            self.warned_at = Some(Instant::now());
        }
    }
}
