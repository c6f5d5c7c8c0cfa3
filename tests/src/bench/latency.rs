//! End-to-end latency as a pure computation over recorded instants: which traffic step caused
//! each event a client read, and how long after the step the client had it.
//!
//! The traffic generator reports every step with the instant taken under the simulator's lock
//! just before the step changed the model (so before any of its records could be polled), and
//! with the call's conference id. An event that carries
//! `callLinkageData` (where the gateway writes that conference id) belongs to the script of
//! that conference; an event without it (`Transfered`, `Conferenced`) is matched by its line,
//! which takes part in one script at a time. The cause of an event is the latest step of its
//! script (or line) at or before the instant the event was read: steps of one call are at
//! least a ring or talk time apart, far more than any plausible latency.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use pbx_soap::sim::{TrafficAction, TrafficStep};
use serde::Serialize;
use tokio::time::Instant;

/// A performed traffic step, reduced to what the matching needs.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct StepMark {
    pub(crate) at: Instant,
    pub(crate) script: u64,
    pub(crate) conf: Option<u128>,
    /// Lines (indexes) taking part in the script so far.
    pub(crate) lines: Vec<u32>,
    /// The script's last step.
    pub(crate) last: bool,
}

/// An event as a client read it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct Receipt {
    pub(crate) at: Instant,
    pub(crate) line: u32,
    pub(crate) conf: Option<u128>,
}

/// Turns the generator's reports into [`StepMark`]s, following which lines join each script.
#[derive(Debug)]
pub(crate) struct StepRecorder {
    /// Long names and numbers of the lines, to their indexes.
    lines: HashMap<String, u32>,
    parties: HashMap<u64, Vec<u32>>,
    pub(crate) marks: Vec<StepMark>,
}

impl StepRecorder {
    /// A recorder for lines known by long name and number.
    pub(crate) fn new(lines: HashMap<String, u32>) -> Self {
        Self {
            lines,
            parties: HashMap::new(),
            marks: Vec::new(),
        }
    }

    /// Records one reported step.
    pub(crate) fn record(&mut self, step: &TrafficStep) {
        self.record_parts(
            step.at,
            step.step.script,
            &step.step.action,
            step.step.last,
            &step.conf,
        );
    }

    /// Records a step given by its parts (the planned step's type is not exported).
    fn record_parts(
        &mut self,
        at: Instant,
        script: u64,
        action: &TrafficAction,
        last: bool,
        conf: &str,
    ) {
        let joining: Vec<&str> = match action {
            TrafficAction::Dial { from, to } => vec![from, to],
            TrafficAction::ExternalCall { to, .. } => vec![to],
            _ => Vec::new(),
        };
        let parties = self.parties.entry(script).or_default();
        for name in joining {
            if let Some(&line) = self.lines.get(name)
                && !parties.contains(&line)
            {
                parties.push(line);
            }
        }
        let lines = if last {
            self.parties.remove(&script).unwrap_or_default()
        } else {
            parties.clone()
        };
        self.marks.push(StepMark {
            at,
            script,
            conf: conf_key(conf),
            lines,
            last,
        });
    }
}

/// What caused an event.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Cause {
    /// A step this long before the event was read.
    Step(Duration),
    /// A script the generator ended early (stopped): its last records were never reported.
    Unfinished,
    /// No step at or before the event.
    Unknown,
}

/// Finds the step that caused an event.
#[derive(Debug)]
pub(crate) struct Matcher {
    scripts: HashMap<u64, Vec<Instant>>,
    confs: HashMap<u128, u64>,
    lines: HashMap<u32, Vec<(Instant, u64)>>,
    finished: HashSet<u64>,
    /// When the generator was stopped early, if it was.
    stopped: Option<Instant>,
}

impl Matcher {
    /// A matcher over the steps; `stopped` is when the generator was stopped before its end.
    pub(crate) fn new(steps: &[StepMark], stopped: Option<Instant>) -> Self {
        let mut matcher = Self {
            scripts: HashMap::new(),
            confs: HashMap::new(),
            lines: HashMap::new(),
            finished: HashSet::new(),
            stopped,
        };
        for step in steps {
            matcher
                .scripts
                .entry(step.script)
                .or_default()
                .push(step.at);
            if let Some(conf) = step.conf {
                matcher.confs.insert(conf, step.script);
            }
            for line in &step.lines {
                matcher
                    .lines
                    .entry(*line)
                    .or_default()
                    .push((step.at, step.script));
            }
            if step.last {
                matcher.finished.insert(step.script);
            }
        }
        for times in matcher.scripts.values_mut() {
            times.sort_unstable();
        }
        for times in matcher.lines.values_mut() {
            times.sort_unstable();
        }
        matcher
    }

    /// The cause of an event read at `receipt.at`.
    pub(crate) fn cause(&self, receipt: &Receipt) -> Cause {
        // An event of a known conference belongs to its script alone: matching it to another
        // call of its line would report that call's age as latency.
        let found = match receipt.conf.and_then(|conf| self.confs.get(&conf)) {
            Some(script) => self.scripts.get(script).and_then(|times| {
                let index = times.partition_point(|at| *at <= receipt.at);
                Some((*times.get(index.checked_sub(1)?)?, *script))
            }),
            None => self.lines.get(&receipt.line).and_then(|times| {
                let index = times.partition_point(|(at, _)| *at <= receipt.at);
                times.get(index.checked_sub(1)?).copied()
            }),
        };
        let Some((at, script)) = found else {
            return Cause::Unknown;
        };
        let cut_off = self
            .stopped
            .is_some_and(|stopped| receipt.at > stopped && !self.finished.contains(&script));
        if cut_off {
            return Cause::Unfinished;
        }
        Cause::Step(receipt.at - at)
    }
}

/// The key of a conference id: its first 32 hexadecimal digits, as the gateway writes them into
/// `callLinkageData`.
pub(crate) fn conf_key(text: &str) -> Option<u128> {
    let hex: String = text
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(32)
        .collect();
    u128::from_str_radix(&hex, 16).ok()
}

/// Nearest-rank percentiles of a set of durations, in microseconds.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Percentiles {
    /// Number of samples.
    pub samples: usize,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

impl Percentiles {
    /// The percentiles of `samples` (all zero when there are none).
    pub fn of(samples: &[Duration]) -> Self {
        let mut micros: Vec<u64> = samples
            .iter()
            .map(|sample| u64::try_from(sample.as_micros()).unwrap_or(u64::MAX))
            .collect();
        micros.sort_unstable();
        let rank = |quantile: f64| {
            // Nearest rank: the smallest sample with at least `quantile` of all at or below it.
            let position = (quantile * micros.len() as f64).ceil() as usize;
            micros
                .get(position.saturating_sub(1))
                .copied()
                .unwrap_or_default()
        };
        Self {
            samples: micros.len(),
            p50_us: rank(0.50),
            p90_us: rank(0.90),
            p99_us: rank(0.99),
            max_us: micros.last().copied().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(at: Instant, script: u64, conf: Option<u128>, lines: &[u32], last: bool) -> StepMark {
        StepMark {
            at,
            script,
            conf,
            lines: lines.to_vec(),
            last,
        }
    }

    #[test]
    fn events_with_a_conference_id_take_the_latest_step_of_its_script() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let steps = [
            mark(t0, 1, Some(0xa), &[1, 2], false),
            mark(t0 + ms(5), 2, Some(0xb), &[3, 4], false),
            mark(t0 + ms(500), 1, Some(0xa), &[1, 2], true),
        ];
        let matcher = Matcher::new(&steps, None);
        let read = |after: u64, line: u32, conf: Option<u128>| Receipt {
            at: t0 + ms(after),
            line,
            conf,
        };
        assert_eq!(matcher.cause(&read(3, 2, Some(0xa))), Cause::Step(ms(3)));
        assert_eq!(matcher.cause(&read(502, 1, Some(0xa))), Cause::Step(ms(2)));
        assert_eq!(matcher.cause(&read(7, 4, Some(0xb))), Cause::Step(ms(2)));
        // Without a conference id, the line's latest step.
        assert_eq!(matcher.cause(&read(501, 2, None)), Cause::Step(ms(1)));
        assert_eq!(matcher.cause(&read(9, 3, None)), Cause::Step(ms(4)));
        // Before any step, or on a line that took part in none.
        assert_eq!(
            Matcher::new(&steps[1..], None).cause(&read(1, 2, Some(0xa))),
            Cause::Unknown
        );
        assert_eq!(matcher.cause(&read(9, 7, None)), Cause::Unknown);
        // An event of a known conference read before its script's first step is no event of
        // the line's earlier call.
        let mut later = steps.to_vec();
        later.push(mark(t0 + ms(600), 3, Some(0xc), &[2, 5], false));
        let matcher = Matcher::new(&later, None);
        assert_eq!(matcher.cause(&read(550, 2, Some(0xc))), Cause::Unknown);
        assert_eq!(matcher.cause(&read(601, 2, Some(0xc))), Cause::Step(ms(1)));
    }

    #[test]
    fn events_of_scripts_cut_off_by_a_stop_are_set_apart() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let steps = [
            mark(t0, 1, Some(1), &[1, 2], false),
            mark(t0 + ms(1), 2, Some(2), &[3, 4], false),
            mark(t0 + ms(8), 2, Some(2), &[3, 4], true),
        ];
        let matcher = Matcher::new(&steps, Some(t0 + ms(10)));
        let read = |after: u64, line: u32, conf: u128| Receipt {
            at: t0 + ms(after),
            line,
            conf: Some(conf),
        };
        assert_eq!(matcher.cause(&read(9, 1, 1)), Cause::Step(ms(9)));
        assert_eq!(matcher.cause(&read(11, 1, 1)), Cause::Unfinished);
        assert_eq!(matcher.cause(&read(11, 3, 2)), Cause::Step(ms(3)));
    }

    #[test]
    fn conference_ids_are_keyed_like_the_gateway_writes_them() {
        assert_eq!(conf_key("000000000000000000000000000000ff"), Some(0xff));
        assert_eq!(
            conf_key("0000-0000-0000-0000-0000-0000-0000-00ff"),
            Some(0xff)
        );
        assert_eq!(conf_key(""), None);
        assert_eq!(conf_key("xyz"), None);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let percentiles = Percentiles::of(&samples);
        assert_eq!(
            percentiles,
            Percentiles {
                samples: 100,
                p50_us: 50,
                p90_us: 90,
                p99_us: 99,
                max_us: 100,
            }
        );
        let one = Percentiles::of(&[Duration::from_millis(3)]);
        assert_eq!((one.p50_us, one.p99_us, one.max_us), (3000, 3000, 3000));
        assert_eq!(Percentiles::of(&[]), Percentiles::default());
    }

    #[test]
    fn the_recorder_follows_who_joins_each_script() {
        let lines: HashMap<String, u32> = [
            ("User 1".to_owned(), 0),
            ("101".to_owned(), 0),
            ("User 2".to_owned(), 1),
            ("102".to_owned(), 1),
            ("User 3".to_owned(), 2),
            ("103".to_owned(), 2),
        ]
        .into_iter()
        .collect();
        let mut recorder = StepRecorder::new(lines);
        let t0 = Instant::now();
        let dial = |from: &str, to: &str| TrafficAction::Dial {
            from: from.to_owned(),
            to: to.to_owned(),
        };
        let conf = |slot: u32| format!("{:032x}", 0xc0 + slot);
        recorder.record_parts(t0, 1, &dial("User 1", "102"), false, &conf(0));
        recorder.record_parts(t0, 1, &dial("User 2", "103"), false, &conf(1));
        // An external number is no line.
        recorder.record_parts(t0, 2, &dial("User 3", "0301234"), false, &conf(2));
        let hangup = TrafficAction::Hangup {
            who: "User 1".to_owned(),
        };
        recorder.record_parts(t0, 1, &hangup, true, &conf(0));
        let lines: Vec<Vec<u32>> = recorder.marks.iter().map(|m| m.lines.clone()).collect();
        assert_eq!(lines, [vec![0, 1], vec![0, 1, 2], vec![2], vec![0, 1, 2]]);
        assert_eq!(recorder.marks[1].conf, Some(0xc1));
        assert_eq!(
            recorder.parties.keys().collect::<Vec<_>>(),
            [&2],
            "finished scripts are forgotten"
        );
    }
}
