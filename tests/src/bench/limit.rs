//! The same-run physical limit: how fast this machine encodes the same CSTA events, frames them
//! and writes them to as many loopback sockets (TLS if the run used TLS) as the run had
//! clients, read by the same client code — everything the gateway must do to deliver an
//! event, and nothing else. When every line had `m` monitors, an event is encoded once per `m`
//! deliveries and framed for each from that encoding (`csta::frame::EventTemplate`), the least
//! work a gateway can do for that fan-out.
//!
//! The writers run on their own runtime whose threads are named [`WRITER_THREADS`], so their
//! CPU time is known apart from the readers'.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use csta::edition::Edition;
use csta::events::Event;
use csta::frame::EventTemplate;
use csta::ids::MonitorCrossRefId;
use gateway::client::{ClientConfig, CstaClient};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::BenchError;
use super::process::Usage;
use crate::TestCertificates;

/// Name prefix of the writer runtime's threads.
pub(crate) const WRITER_THREADS: &str = "bench-limit";

/// The measured limit.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Limit {
    /// Sockets written to.
    pub connections: usize,
    /// Deliveries per encoding (the run's monitors per line).
    pub multiplicity: u64,
    /// Events read by the clients.
    pub events: u64,
    /// Events per second, from the first write to the last read.
    pub events_per_s: f64,
    /// CPU time of the writers per event delivered (encoding, framing, writing),
    /// microseconds.
    pub writer_cpu_us_per_event: f64,
}

/// Writes `sample` round-robin to `connections` sockets for `duration`, encoding each event
/// once per `multiplicity` deliveries, and reads them with clients configured like `client`
/// (whose address is replaced).
pub(crate) async fn measure(
    sample: Arc<Vec<(MonitorCrossRefId, Event)>>,
    connections: usize,
    multiplicity: u64,
    client: &ClientConfig,
    certificates: Option<&TestCertificates>,
    duration: Duration,
) -> Result<Limit, BenchError> {
    let acceptor = certificates.map(acceptor).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(WRITER_THREADS)
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let writers = Writers {
        connections,
        multiplicity: multiplicity.max(1),
        duration,
    };
    let result = drive(&runtime, sample, writers, client, acceptor).await;
    // Dropping a runtime inside another one's context must not block.
    runtime.shutdown_background();
    result
}

/// What the writers do.
#[derive(Clone, Copy, Debug)]
struct Writers {
    connections: usize,
    multiplicity: u64,
    duration: Duration,
}

async fn drive(
    runtime: &tokio::runtime::Runtime,
    sample: Arc<Vec<(MonitorCrossRefId, Event)>>,
    writers: Writers,
    client: &ClientConfig,
    acceptor: Option<TlsAcceptor>,
) -> Result<Limit, BenchError> {
    let connections = writers.connections;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(BenchError::Bind)?;
    let address = listener.local_addr().map_err(BenchError::Bind)?;
    let (go, started) = watch::channel(false);
    let writing = runtime.spawn(write_all(listener, acceptor, writers, sample, started));
    let mut config = client.clone();
    config.address = address.to_string();
    let mut readers = Vec::with_capacity(connections);
    for _ in 0..connections {
        readers.push(
            CstaClient::connect(&config)
                .await
                .map_err(|source| BenchError::Client {
                    request: "connect",
                    source,
                })?,
        );
    }
    let received = Arc::new(AtomicU64::new(0));
    let mut reading = JoinSet::new();
    for mut reader in readers {
        let received = Arc::clone(&received);
        reading.spawn(async move {
            let mut last = None;
            // The writer closes its socket after its time is up.
            while let Some(message) = reader.next_incoming().await {
                if matches!(message, csta::message::Message::Event(_)) {
                    received.fetch_add(1, Ordering::Relaxed);
                    last = Some(Instant::now());
                }
            }
            last
        });
    }
    let cpu_before = Usage::threads_cpu(WRITER_THREADS)?;
    let started = Instant::now();
    // The writers hold receivers until they are done, so the send cannot fail before.
    let _ = go.send(true);
    let mut last = started;
    while let Some(joined) = reading.join_next().await {
        if let Some(at) = joined.map_err(BenchError::Task)? {
            last = last.max(at);
        }
    }
    writing.await.map_err(BenchError::Task)??;
    let cpu = Usage::threads_cpu(WRITER_THREADS)?.saturating_sub(cpu_before);
    let events = received.load(Ordering::Relaxed);
    let elapsed = last.duration_since(started).as_secs_f64();
    Ok(Limit {
        connections,
        multiplicity: writers.multiplicity,
        events,
        events_per_s: if elapsed > 0.0 {
            events as f64 / elapsed
        } else {
            0.0
        },
        writer_cpu_us_per_event: if events > 0 {
            cpu.as_secs_f64() * 1e6 / events as f64
        } else {
            0.0
        },
    })
}

/// Accepts the writers' sockets, waits until `go` turns true, then writes events to each until
/// their time is up.
async fn write_all(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    writers: Writers,
    sample: Arc<Vec<(MonitorCrossRefId, Event)>>,
    go: watch::Receiver<bool>,
) -> Result<(), BenchError> {
    let mut tasks = JoinSet::new();
    for index in 0..writers.connections {
        let (stream, _) = listener.accept().await.map_err(BenchError::Bind)?;
        let _ = stream.set_nodelay(true);
        let sample = Arc::clone(&sample);
        let mut go = go.clone();
        match &acceptor {
            Some(acceptor) => {
                let stream = acceptor.accept(stream).await.map_err(BenchError::Bind)?;
                tasks.spawn(async move {
                    if go.wait_for(|go| *go).await.is_ok() {
                        write_events(stream, &sample, index, writers).await;
                    }
                });
            }
            None => {
                tasks.spawn(async move {
                    if go.wait_for(|go| *go).await.is_ok() {
                        write_events(stream, &sample, index, writers).await;
                    }
                });
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(BenchError::Task)?;
    }
    Ok(())
}

/// Encodes and writes events (from `offset` in the sample, round-robin) as the gateway's
/// connection does: frames appended to a 64 KiB buffer, written when it is full. Each event is
/// encoded anew once per `multiplicity` deliveries and framed from that encoding for the others.
async fn write_events<S: AsyncWrite + Unpin>(
    stream: S,
    sample: &[(MonitorCrossRefId, Event)],
    offset: usize,
    writers: Writers,
) {
    let mut writer = BufWriter::with_capacity(64 * 1024, stream);
    let mut frame = Vec::with_capacity(2048);
    let edition = Edition::Ed3;
    let deadline = Instant::now() + writers.duration;
    let mut next = offset;
    let mut delivered: u64 = 0;
    let mut template = None;
    // Checking the clock every event would cost more than the work measured.
    'writing: while Instant::now() < deadline {
        for _ in 0..64 {
            let (cross_ref, event) = &sample[next % sample.len()];
            frame.clear();
            let framed = if writers.multiplicity == 1 {
                next += 1;
                csta::frame::encode_event_frame(cross_ref, event, &edition, &mut frame)
            } else {
                if delivered.is_multiple_of(writers.multiplicity) {
                    next += 1;
                    template = EventTemplate::new(event, &edition).ok();
                }
                template.as_ref().map_or(Ok(()), |template| {
                    template.write_frame(cross_ref, &mut frame)
                })
            };
            delivered += 1;
            if framed.is_err() || frame.is_empty() {
                continue;
            }
            if writer.write_all(&frame).await.is_err() {
                break 'writing;
            }
        }
    }
    let _ = writer.flush().await;
    let _ = writer.shutdown().await;
}

fn acceptor(certificates: &TestCertificates) -> Result<TlsAcceptor, BenchError> {
    let chain = CertificateDer::pem_file_iter(&certificates.server_cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(BenchError::Pem)?;
    let key = PrivateKeyDer::from_pem_file(&certificates.server_key).map_err(BenchError::Pem)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(BenchError::Tls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(BenchError::Tls)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
