//! The CSTA clients of a run: which lines each monitors, and one task per client that reads
//! and timestamps every event.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use csta::events::{CstaEvent, Event};
use csta::ids::MonitorCrossRefId;
use csta::message::Message;
use csta::types::{CallLinkageData, CallLinkageId, SystemStatusValue};
use gateway::client::{ClientConfig, CstaClient};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::BenchError;
use super::latency::{Receipt, conf_key};

/// Events each client keeps as it read them, for the limit measurement.
const SAMPLE_PER_CLIENT: usize = 32;

/// Which lines each client monitors.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Assignment {
    /// Line indexes per client.
    pub(crate) per_client: Vec<Vec<u32>>,
    /// How many clients monitor each line of `lines`.
    pub(crate) multiplicity: u64,
    /// The monitored lines (the traffic runs on these).
    pub(crate) lines: Vec<u32>,
}

impl Assignment {
    /// Spreads `clients × round(share × available)` monitors over the first `available` lines
    /// so that every monitored line has the same number of monitors (which makes the expected
    /// number of deliveries `multiplicity × events published`) and no client monitors a line
    /// twice.
    pub(crate) fn new(available: usize, clients: usize, share: f64) -> Self {
        let available = available.max(1);
        let clients = clients.max(1);
        let per_client = ((share * available as f64).round() as usize).clamp(1, available);
        let total = clients * per_client;
        let (used, multiplicity) = if total <= available {
            (total, 1)
        } else {
            (available, total / available)
        };
        // Slot s monitors line s mod used; each client takes a run of consecutive slots, which
        // is never longer than `used`, so no line repeats within a client.
        let slots = used * multiplicity;
        let run = slots.div_ceil(clients);
        let per_client = (0..clients)
            .map(|client| {
                let start = (client * run).min(slots);
                let end = ((client + 1) * run).min(slots);
                (start..end).map(|slot| (slot % used) as u32).collect()
            })
            .collect();
        Self {
            per_client,
            multiplicity: multiplicity as u64,
            lines: (0..used as u32).collect(),
        }
    }

    /// The number of monitors.
    pub(crate) fn monitors(&self) -> usize {
        self.per_client.iter().map(Vec::len).sum()
    }
}

/// What one client read.
#[derive(Debug, Default)]
pub(crate) struct ClientLog {
    pub(crate) receipts: Vec<Receipt>,
    /// The first events read, with the cross-reference ids they came with.
    pub(crate) sample: Vec<(MonitorCrossRefId, Event)>,
    /// `SystemStatus messagesLost` notices.
    pub(crate) loss_notices: u64,
}

/// Connected clients reading events until stopped.
pub(crate) struct Fleet {
    delivered: Arc<Vec<AtomicU64>>,
    stop: CancellationToken,
    readers: JoinSet<(usize, ClientLog)>,
    count: usize,
}

impl Fleet {
    /// Connects one client per entry of `assignment`, starts their monitors (line index `i`
    /// is device `devices[i]`) and starts reading.
    pub(crate) async fn start(
        config: &ClientConfig,
        assignment: &[Vec<u32>],
        devices: &Arc<Vec<String>>,
    ) -> Result<Self, BenchError> {
        let delivered: Arc<Vec<AtomicU64>> =
            Arc::new((0..assignment.len()).map(|_| AtomicU64::new(0)).collect());
        let stop = CancellationToken::new();
        let mut connecting = JoinSet::new();
        for (index, lines) in assignment.iter().enumerate() {
            let config = config.clone();
            let lines = lines.clone();
            let devices = Arc::clone(devices);
            connecting.spawn(async move {
                let client =
                    CstaClient::connect(&config)
                        .await
                        .map_err(|source| BenchError::Client {
                            request: "connect",
                            source,
                        })?;
                let mut monitors = HashMap::with_capacity(lines.len());
                for line in lines {
                    let device = &devices[line as usize];
                    let cross_ref =
                        client
                            .monitor(device)
                            .await
                            .map_err(|source| BenchError::Client {
                                request: "MonitorStart",
                                source,
                            })?;
                    monitors.insert(cross_ref.as_str().to_owned(), line);
                }
                Ok::<_, BenchError>((index, client, monitors))
            });
        }
        let mut readers = JoinSet::new();
        while let Some(joined) = connecting.join_next().await {
            let (index, client, monitors) = joined.map_err(BenchError::Task)??;
            readers.spawn(read(
                index,
                client,
                monitors,
                Arc::clone(&delivered),
                stop.clone(),
            ));
        }
        Ok(Self {
            delivered,
            stop,
            readers,
            count: assignment.len(),
        })
    }

    /// Events read so far by all clients.
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    /// Stops reading and returns what each client read, in client order.
    pub(crate) async fn finish(mut self) -> Result<Vec<ClientLog>, BenchError> {
        self.stop.cancel();
        let mut logs: Vec<ClientLog> = (0..self.count).map(|_| ClientLog::default()).collect();
        while let Some(joined) = self.readers.join_next().await {
            let (index, log) = joined.map_err(BenchError::Task)?;
            logs[index] = log;
        }
        Ok(logs)
    }
}

/// Reads until stopped or the connection closes; counts and timestamps every event.
async fn read(
    index: usize,
    mut client: CstaClient,
    monitors: HashMap<String, u32>,
    delivered: Arc<Vec<AtomicU64>>,
    stop: CancellationToken,
) -> (usize, ClientLog) {
    let mut log = ClientLog::default();
    loop {
        let message = tokio::select! {
            message = client.next_incoming() => message,
            () = stop.cancelled() => break,
        };
        let at = Instant::now();
        match message {
            Some(Message::Event(CstaEvent {
                monitor_cross_ref_id,
                event,
            })) => {
                delivered[index].fetch_add(1, Ordering::Relaxed);
                let Some(&line) = monitors.get(monitor_cross_ref_id.as_str()) else {
                    continue;
                };
                log.receipts.push(Receipt {
                    at,
                    line,
                    conf: linkage(&event).and_then(|data| match &data.linkage_id {
                        CallLinkageId::GloballyUnique(id) | CallLinkageId::SubDomain(id) => {
                            conf_key(id)
                        }
                    }),
                });
                if log.sample.len() < SAMPLE_PER_CLIENT {
                    log.sample.push((monitor_cross_ref_id, event));
                }
            }
            Some(Message::SystemStatus(status))
                if status.system_status == SystemStatusValue::MessagesLost =>
            {
                log.loss_notices += 1;
            }
            Some(_) => {}
            None => break,
        }
    }
    (index, log)
}

/// The `callLinkageData` of a call event, if it has one.
fn linkage(event: &Event) -> Option<&CallLinkageData> {
    match event {
        Event::ServiceInitiated(e) => e.call_linkage_data.as_ref(),
        Event::Originated(e) => e.call_linkage_data.as_ref(),
        Event::Delivered(e) => e.call_linkage_data.as_ref(),
        Event::Established(e) => e.call_linkage_data.as_ref(),
        Event::Held(e) => e.call_linkage_data.as_ref(),
        Event::Retrieved(e) => e.call_linkage_data.as_ref(),
        Event::ConnectionCleared(e) => e.call_linkage_data.as_ref(),
        Event::CallCleared(e) => e.call_linkage_data.as_ref(),
        Event::Diverted(e) => e.call_linkage_data.as_ref(),
        Event::Failed(e) => e.call_linkage_data.as_ref(),
        Event::Queued(e) => e.call_linkage_data.as_ref(),
        Event::NetworkReached(e) => e.call_linkage_data.as_ref(),
        Event::DigitsDialed(e) => e.call_linkage_data.as_ref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn multiplicity_of(assignment: &Assignment) -> HashMap<u32, u64> {
        let mut counts = HashMap::new();
        for lines in &assignment.per_client {
            let mut seen = lines.clone();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), lines.len(), "a client monitors a line twice");
            for line in lines {
                *counts.entry(*line).or_insert(0) += 1;
            }
        }
        counts
    }

    #[test]
    fn disjoint_shares_monitor_each_line_once() {
        let assignment = Assignment::new(10_000, 100, 0.01);
        assert_eq!(assignment.multiplicity, 1);
        assert_eq!(assignment.lines.len(), 10_000);
        assert!(assignment.per_client.iter().all(|lines| lines.len() == 100));
        assert!(
            multiplicity_of(&assignment)
                .values()
                .all(|count| *count == 1)
        );
    }

    #[test]
    fn small_shares_leave_the_other_lines_unmonitored() {
        let assignment = Assignment::new(1000, 3, 0.01);
        assert_eq!(assignment.lines, (0..30).collect::<Vec<u32>>());
        assert_eq!(assignment.monitors(), 30);
        assert_eq!(assignment.multiplicity, 1);
    }

    #[test]
    fn overlapping_shares_monitor_every_line_equally_often() {
        for (lines, clients, share) in [(200, 5, 0.5), (1000, 7, 0.3), (10, 500, 0.1), (50, 3, 1.0)]
        {
            let assignment = Assignment::new(lines, clients, share);
            let counts = multiplicity_of(&assignment);
            assert_eq!(counts.len(), assignment.lines.len());
            assert!(
                counts
                    .values()
                    .all(|count| *count == assignment.multiplicity),
                "{lines} lines, {clients} clients, share {share}: {counts:?}"
            );
            assert_eq!(
                assignment.monitors() as u64,
                assignment.multiplicity * assignment.lines.len() as u64
            );
        }
        assert_eq!(Assignment::new(200, 5, 0.5).multiplicity, 2);
    }

    #[test]
    fn at_least_one_line_per_client() {
        let assignment = Assignment::new(100, 2, 0.0);
        assert_eq!(assignment.per_client, [vec![0], vec![1]]);
    }
}
