//! Random call traffic: a seeded, deterministic plan ([`TrafficPlan`]) of scripted calls
//! ("A dials B, B answers after 2 s, A hangs up after 10 s"), and a task that plays it against
//! the simulator's model in real (or paused tokio) time, reporting each step it performs.
//!
//! Arrivals are a Poisson process at the configured rate; each call follows one scenario of
//! the mix with randomised ring and talk times; the users of a call are reserved until its
//! script ends, so scripts do not collide with each other. Every call the generator starts
//! ends with a hang-up (or a busy reject), so each of its legs ends with `del`; when the
//! generator stops early it hangs up what is still going on.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::debug;

use crate::sim::model::{CallRef, Model, ScenarioError};
use crate::sim::server::Shared;

/// Relative weights of the scenarios the generator plays (0 disables one).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ScenarioMix {
    /// A dials B, B answers, one of them hangs up.
    pub answered: u32,
    /// A dials B, nobody answers, A gives up.
    pub unanswered: u32,
    /// A dials B, B rejects as busy.
    pub busy: u32,
    /// An external caller calls A through the trunk; A answers; one hangs up.
    pub incoming: u32,
    /// A calls an external number; it answers; one hangs up.
    pub outgoing: u32,
    /// A dials B, B answers, A holds and retrieves, B hangs up.
    pub hold: u32,
    /// A dials B, B answers, holds A, consults C, transfers A to C; one hangs up.
    pub transfer: u32,
}

impl Default for ScenarioMix {
    fn default() -> Self {
        Self {
            answered: 50,
            unanswered: 10,
            busy: 5,
            incoming: 15,
            outgoing: 10,
            hold: 5,
            transfer: 5,
        }
    }
}

/// Settings of a traffic generator.
#[derive(Clone, Debug)]
pub struct TrafficConfig {
    /// New calls per second (Poisson arrivals).
    pub rate_per_sec: f64,
    /// Scenario weights.
    pub mix: ScenarioMix,
    /// Seed: the same seed, users and settings give the same plan.
    pub seed: u64,
    /// Where each performed step is reported (the generator waits when the channel is full).
    pub steps: Option<mpsc::Sender<TrafficStep>>,
    /// Stop starting calls after this many; the generator ends when they are done.
    pub max_calls: Option<u64>,
    /// Mean time a call rings before it is answered (or given up).
    pub ring_time: Duration,
    /// Mean time a call is talked.
    pub talk_time: Duration,
    /// Long names of the users to use; empty: every registered local endpoint.
    pub users: Vec<String>,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self {
            rate_per_sec: 1.0,
            mix: ScenarioMix::default(),
            seed: 1,
            steps: None,
            max_calls: None,
            ring_time: Duration::from_secs(2),
            talk_time: Duration::from_secs(10),
            users: Vec::new(),
        }
    }
}

/// A scenario step, named by the party that performs it.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum TrafficAction {
    /// `who` answers.
    Answer {
        /// Long name or external number.
        who: String,
    },
    /// `who` rejects as busy.
    Busy {
        /// Long name.
        who: String,
    },
    /// `from` dials `to`.
    Dial {
        /// Caller (long name).
        from: String,
        /// Dialled number.
        to: String,
    },
    /// An external number calls `to` through the trunk.
    ExternalCall {
        /// The external number.
        from: String,
        /// The called extension.
        to: String,
    },
    /// `who` hangs up.
    Hangup {
        /// Long name or external number.
        who: String,
    },
    /// `who` holds its peer.
    Hold {
        /// Long name.
        who: String,
    },
    /// `who` retrieves its peer.
    Retrieve {
        /// Long name.
        who: String,
    },
    /// `who` transfers its held call to its consultation call.
    Transfer {
        /// Long name.
        who: String,
    },
}

/// One step of the plan: when, in which script and on which of its calls.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PlannedStep {
    /// Time since the generator started.
    pub offset: Duration,
    /// The script (one scenario run) it belongs to, numbered from 1.
    pub script: u64,
    /// Which call of the script (0, or 1 for a consultation call).
    pub slot: usize,
    /// What is done.
    pub action: TrafficAction,
    /// Whether it is the script's last step.
    pub last: bool,
}

/// A step the generator performed, reported right after the PBX queued its records.
#[derive(Clone, Debug)]
pub struct TrafficStep {
    /// Running number of performed steps, from 1.
    pub seq: u64,
    /// When the step was performed: taken under the model's lock just before the step changed
    /// the model, so no record of the step can be polled (and no event of it read) earlier.
    pub at: Instant,
    /// The planned step.
    pub step: PlannedStep,
    /// The call acted on.
    pub call: CallRef,
    /// The call's conference id (`info type="conf"` of its records).
    pub conf: String,
}

/// What a generator did so far.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct TrafficStats {
    /// Scripts started.
    pub scripts: u64,
    /// Steps performed.
    pub steps: u64,
    /// Steps the PBX refused (their script was ended early).
    pub failures: u64,
    /// Arrivals skipped because too few users were free.
    pub skipped: u64,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Scenario {
    Answered,
    Unanswered,
    Busy,
    Incoming,
    Outgoing,
    Hold,
    Transfer,
}

impl Scenario {
    fn users(self) -> usize {
        match self {
            Self::Incoming | Self::Outgoing => 1,
            Self::Transfer => 3,
            _ => 2,
        }
    }
}

/// The deterministic plan of a generator: an iterator of steps in time order.
#[derive(Debug)]
pub struct TrafficPlan {
    rng: StdRng,
    rate: f64,
    mix: Vec<(Scenario, u32)>,
    ring: Duration,
    talk: Duration,
    users: Vec<(String, String)>,
    trunk_prefix: Option<String>,
    busy_until: Vec<Duration>,
    next_arrival: Option<Duration>,
    arrivals_left: Option<u64>,
    scripts: u64,
    skipped: u64,
    /// (offset, script, index in the script): steps of one instant keep their script order.
    pending: BinaryHeap<Reverse<(Duration, u64, usize)>>,
    steps: BTreeMap<(u64, usize), PlannedStep>,
}

impl TrafficPlan {
    /// A plan for `users` (long name, dialable number); external scenarios need the trunk's
    /// prefix and are left out without one.
    pub fn new(
        config: &TrafficConfig,
        users: Vec<(String, String)>,
        trunk_prefix: Option<String>,
    ) -> Self {
        let mix = config.mix;
        let mut weights = vec![
            (Scenario::Answered, mix.answered),
            (Scenario::Unanswered, mix.unanswered),
            (Scenario::Busy, mix.busy),
            (Scenario::Hold, mix.hold),
            (Scenario::Transfer, mix.transfer),
        ];
        if trunk_prefix.is_some() {
            weights.push((Scenario::Incoming, mix.incoming));
            weights.push((Scenario::Outgoing, mix.outgoing));
        }
        // Scenarios needing more users than there are would only ever be skipped.
        weights.retain(|(scenario, weight)| *weight > 0 && scenario.users() <= users.len());
        let rate = if config.rate_per_sec.is_finite() && config.rate_per_sec > 0.0 {
            config.rate_per_sec
        } else {
            0.0
        };
        let mut plan = Self {
            rng: StdRng::seed_from_u64(config.seed),
            rate,
            mix: weights,
            ring: config.ring_time,
            talk: config.talk_time,
            busy_until: vec![Duration::ZERO; users.len()],
            users,
            trunk_prefix,
            next_arrival: None,
            arrivals_left: config.max_calls,
            scripts: 0,
            skipped: 0,
            pending: BinaryHeap::new(),
            steps: BTreeMap::new(),
        };
        plan.next_arrival = plan.arrival_after(Duration::ZERO);
        plan
    }

    /// Arrivals skipped so far for lack of free users.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// When the next step is due.
    pub fn next_offset(&mut self) -> Option<Duration> {
        self.expand();
        self.pending.peek().map(|Reverse((offset, ..))| *offset)
    }

    fn arrival_after(&mut self, now: Duration) -> Option<Duration> {
        if self.rate == 0.0 || self.mix.is_empty() || self.arrivals_left == Some(0) {
            return None;
        }
        // Exponential inter-arrival time; 1 - u is in (0, 1], so the logarithm is finite.
        let u: f64 = self.rng.random();
        let gap = -(1.0 - u).ln() / self.rate;
        Some(now + Duration::from_secs_f64(gap.min(86_400.0)))
    }

    /// Turns arrivals into scripts until the earliest pending step precedes the next arrival.
    fn expand(&mut self) {
        while let Some(arrival) = self.next_arrival {
            if self
                .pending
                .peek()
                .is_some_and(|Reverse((offset, ..))| *offset <= arrival)
            {
                return;
            }
            self.arrive(arrival);
            self.next_arrival = self.arrival_after(arrival);
        }
    }

    fn arrive(&mut self, at: Duration) {
        let total: u32 = self.mix.iter().map(|(_, weight)| weight).sum();
        let mut pick = self.rng.random_range(0..total);
        let scenario = self
            .mix
            .iter()
            .find(|(_, weight)| {
                let hit = pick < *weight;
                pick = pick.saturating_sub(*weight);
                hit
            })
            .map_or(Scenario::Answered, |(scenario, _)| *scenario);
        let free: Vec<usize> = (0..self.users.len())
            .filter(|&user| self.busy_until[user] <= at)
            .collect();
        if free.len() < scenario.users() {
            self.skipped += 1;
            return;
        }
        let mut chosen = Vec::with_capacity(3);
        let mut free = free;
        for _ in 0..scenario.users() {
            let index = self.rng.random_range(0..free.len());
            chosen.push(free.swap_remove(index));
        }
        if let Some(left) = &mut self.arrivals_left {
            *left -= 1;
        }
        self.scripts += 1;
        let script = self.scripts;
        let steps = self.script(scenario, &chosen);
        let end = steps.last().map_or(Duration::ZERO, |(offset, ..)| *offset);
        for &user in &chosen {
            self.busy_until[user] = at + end;
        }
        let count = steps.len();
        for (index, (offset, slot, action)) in steps.into_iter().enumerate() {
            let step = PlannedStep {
                offset: at + offset,
                script,
                slot,
                action,
                last: index + 1 == count,
            };
            self.pending.push(Reverse((step.offset, script, index)));
            self.steps.insert((script, index), step);
        }
    }

    fn around(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(self.rng.random_range(0.5..1.5))
    }

    fn external_number(&mut self) -> String {
        format!("0{}", self.rng.random_range(30_000_000..=99_999_999_u32))
    }

    fn script(
        &mut self,
        scenario: Scenario,
        users: &[usize],
    ) -> Vec<(Duration, usize, TrafficAction)> {
        let ring = self.around(self.ring);
        let talk = self.around(self.talk);
        let coin: bool = self.rng.random();
        let external = matches!(scenario, Scenario::Incoming | Scenario::Outgoing)
            .then(|| self.external_number());
        let external = external.unwrap_or_default();
        let names: Vec<String> = users
            .iter()
            .map(|&user| self.users[user].0.clone())
            .collect();
        let numbers: Vec<String> = users
            .iter()
            .map(|&user| self.users[user].1.clone())
            .collect();
        let name = |index: usize| names[index].clone();
        let number = |index: usize| numbers[index].clone();
        let dial = TrafficAction::Dial {
            from: name(0),
            to: users.get(1).map(|_| number(1)).unwrap_or_default(),
        };
        let hangup = |who: String| TrafficAction::Hangup { who };
        match scenario {
            Scenario::Answered => vec![
                (Duration::ZERO, 0, dial),
                (ring, 0, TrafficAction::Answer { who: name(1) }),
                (ring + talk, 0, hangup(if coin { name(0) } else { name(1) })),
            ],
            Scenario::Unanswered => vec![(Duration::ZERO, 0, dial), (ring * 2, 0, hangup(name(0)))],
            Scenario::Busy => vec![
                (Duration::ZERO, 0, dial),
                (ring / 2, 0, TrafficAction::Busy { who: name(1) }),
            ],
            Scenario::Incoming => {
                vec![
                    (
                        Duration::ZERO,
                        0,
                        TrafficAction::ExternalCall {
                            from: external.clone(),
                            to: number(0),
                        },
                    ),
                    (ring, 0, TrafficAction::Answer { who: name(0) }),
                    (
                        ring + talk,
                        0,
                        hangup(if coin { external } else { name(0) }),
                    ),
                ]
            }
            Scenario::Outgoing => {
                let prefix = self.trunk_prefix.clone().unwrap_or_default();
                vec![
                    (
                        Duration::ZERO,
                        0,
                        TrafficAction::Dial {
                            from: name(0),
                            to: format!("{prefix}{external}"),
                        },
                    ),
                    (
                        ring,
                        0,
                        TrafficAction::Answer {
                            who: external.clone(),
                        },
                    ),
                    (
                        ring + talk,
                        0,
                        hangup(if coin { external } else { name(0) }),
                    ),
                ]
            }
            Scenario::Hold => vec![
                (Duration::ZERO, 0, dial),
                (ring, 0, TrafficAction::Answer { who: name(1) }),
                (ring + talk / 3, 0, TrafficAction::Hold { who: name(0) }),
                (
                    ring + talk * 2 / 3,
                    0,
                    TrafficAction::Retrieve { who: name(0) },
                ),
                (ring + talk, 0, hangup(name(1))),
            ],
            Scenario::Transfer => {
                let consult = ring + talk / 4;
                vec![
                    (Duration::ZERO, 0, dial),
                    (ring, 0, TrafficAction::Answer { who: name(1) }),
                    (consult, 0, TrafficAction::Hold { who: name(1) }),
                    (
                        consult,
                        1,
                        TrafficAction::Dial {
                            from: name(1),
                            to: number(2),
                        },
                    ),
                    (consult + ring, 1, TrafficAction::Answer { who: name(2) }),
                    (
                        consult + ring + talk / 4,
                        1,
                        TrafficAction::Transfer { who: name(1) },
                    ),
                    (
                        consult + ring + talk,
                        0,
                        hangup(if coin { name(0) } else { name(2) }),
                    ),
                ]
            }
        }
    }
}

impl Iterator for TrafficPlan {
    type Item = PlannedStep;

    fn next(&mut self) -> Option<PlannedStep> {
        self.expand();
        let Reverse((_, script, index)) = self.pending.pop()?;
        self.steps.remove(&(script, index))
    }
}

/// A running generator; dropping it stops the generator (ending its calls).
#[derive(Debug)]
pub struct TrafficHandle {
    cancel: CancellationToken,
    done: watch::Receiver<bool>,
    stats: Arc<Counters>,
    _guard: DropGuard,
}

#[derive(Debug, Default)]
struct Counters {
    scripts: AtomicU64,
    steps: AtomicU64,
    failures: AtomicU64,
    skipped: AtomicU64,
}

impl TrafficHandle {
    /// What the generator did so far.
    pub fn stats(&self) -> TrafficStats {
        TrafficStats {
            scripts: self.stats.scripts.load(Ordering::Relaxed),
            steps: self.stats.steps.load(Ordering::Relaxed),
            failures: self.stats.failures.load(Ordering::Relaxed),
            skipped: self.stats.skipped.load(Ordering::Relaxed),
        }
    }

    /// Waits until the generator has ended by itself (after `max_calls`) or was stopped.
    pub async fn finished(&mut self) {
        // An error means the task is gone, which is also the end.
        let _ = self.done.wait_for(|done| *done).await;
    }

    /// Stops starting calls, hangs up the ones in progress and waits for the generator to end.
    pub async fn stop(mut self) -> TrafficStats {
        self.cancel.cancel();
        self.finished().await;
        self.stats()
    }
}

pub(crate) fn start(shared: &Arc<Shared>, config: TrafficConfig) -> TrafficHandle {
    let (users, trunk_prefix) =
        shared.with_model(|model, _| (traffic_users(model, &config.users), model.trunk_prefix()));
    let plan = TrafficPlan::new(&config, users, trunk_prefix);
    let cancel = shared.shutdown.child_token();
    let (done_tx, done) = watch::channel(false);
    let stats = Arc::new(Counters::default());
    let runner = Runner {
        shared: Arc::clone(shared),
        plan,
        steps: config.steps,
        stats: Arc::clone(&stats),
        cancel: cancel.clone(),
        calls: HashMap::new(),
        seq: 0,
    };
    shared.tracker.spawn(async move {
        runner.run().await;
        let _ = done_tx.send(true);
    });
    TrafficHandle {
        _guard: cancel.clone().drop_guard(),
        cancel,
        done,
        stats,
    }
}

/// (long name, number dialable from the root node) of the users to use.
fn traffic_users(model: &Model, names: &[String]) -> Vec<(String, String)> {
    let names = if names.is_empty() {
        model.local_endpoints()
    } else {
        names.to_vec()
    };
    names
        .into_iter()
        .filter_map(|cn| model.full_number(&cn).map(|number| (cn, number)))
        .collect()
}

struct Runner {
    shared: Arc<Shared>,
    plan: TrafficPlan,
    steps: Option<mpsc::Sender<TrafficStep>>,
    stats: Arc<Counters>,
    cancel: CancellationToken,
    /// Calls of the scripts in progress, by script and slot.
    calls: HashMap<u64, [Option<CallRef>; 2]>,
    seq: u64,
}

impl Runner {
    async fn run(mut self) {
        let start = Instant::now();
        while let Some(offset) = self.plan.next_offset() {
            tokio::select! {
                () = tokio::time::sleep_until(start + offset) => {}
                () = self.cancel.cancelled() => break,
            }
            let Some(step) = self.plan.next() else { break };
            self.stats
                .skipped
                .store(self.plan.skipped(), Ordering::Relaxed);
            self.perform(step).await;
        }
        let scripts: Vec<u64> = self.calls.keys().copied().collect();
        for script in scripts {
            self.end_script(script);
        }
    }

    async fn perform(&mut self, step: PlannedStep) {
        let known = self.calls.get(&step.script).copied();
        let starts = matches!(
            step.action,
            TrafficAction::Dial { .. } | TrafficAction::ExternalCall { .. }
        );
        if known.is_none() && !(starts && step.slot == 0) {
            // The script was ended after a refused step.
            return;
        }
        if known.is_none() {
            self.stats.scripts.fetch_add(1, Ordering::Relaxed);
        }
        let slots = known.unwrap_or_default();
        let result: Result<(Instant, CallRef, String), ScenarioError> =
            self.shared.with_model(|model, now| {
                // Taken after the step's records could exist, the instant would come after a
                // gateway polling in parallel had them, whenever this thread is descheduled
                // between releasing the lock and reading the clock.
                let at = Instant::now();
                let call = |slot: usize| {
                    slots[slot].ok_or(ScenarioError::UnknownCall { call: CallRef(0) })
                };
                let acted = match &step.action {
                    TrafficAction::Dial { from, to } => model.dial(from, to, now)?,
                    TrafficAction::ExternalCall { from, to } => {
                        model.external_call(from, to, now)?
                    }
                    TrafficAction::Answer { who } => {
                        let call = call(step.slot)?;
                        model.answer(call, who, now)?;
                        call
                    }
                    TrafficAction::Busy { who } => {
                        let call = call(step.slot)?;
                        model.busy(call, who, now)?;
                        call
                    }
                    TrafficAction::Hold { who } => {
                        let call = call(step.slot)?;
                        model.hold(call, who)?;
                        call
                    }
                    TrafficAction::Retrieve { who } => {
                        let call = call(step.slot)?;
                        model.retrieve(call, who)?;
                        call
                    }
                    TrafficAction::Transfer { who } => {
                        let held = call(0)?;
                        model.transfer(held, call(1)?, who, now)?;
                        held
                    }
                    TrafficAction::Hangup { who } => {
                        let call = call(step.slot)?;
                        model.hangup(call, who, now)?;
                        call
                    }
                };
                let conf = model.conf(acted).unwrap_or_default().to_owned();
                Ok((at, acted, conf))
            });
        let (at, call, conf) = match result {
            Ok(done) => done,
            Err(error) => {
                debug!(script = step.script, action = ?step.action, %error, "traffic step refused; ending its script");
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                self.calls.entry(step.script).or_default();
                self.end_script(step.script);
                return;
            }
        };
        let slots = self.calls.entry(step.script).or_default();
        if starts {
            slots[step.slot] = Some(call);
        }
        if matches!(step.action, TrafficAction::Transfer { .. }) {
            slots[1] = None;
        }
        let last = step.last;
        let script = step.script;
        self.seq += 1;
        self.stats.steps.fetch_add(1, Ordering::Relaxed);
        if let Some(steps) = &self.steps {
            let report = TrafficStep {
                seq: self.seq,
                at,
                step,
                call,
                conf,
            };
            // A receiver that went away only loses the reports; a full channel holds the
            // generator back, but not its stop.
            tokio::select! {
                _ = steps.send(report) => {}
                () = self.cancel.cancelled() => {}
            }
        }
        if last {
            self.end_script(script);
        }
    }

    /// Ends whatever is left of a script's calls and forgets the script.
    fn end_script(&mut self, script: u64) {
        let Some(slots) = self.calls.remove(&script) else {
            return;
        };
        self.shared.with_model(|model, now| {
            for call in slots.into_iter().flatten() {
                model.end_call(call, now);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::InitializeFlags;
    use crate::sim::{Directory, Identity, Sim, SimConfig};

    fn users(count: usize) -> Vec<(String, String)> {
        (0..count)
            .map(|index| (format!("U{index}"), format!("{}", 100 + index)))
            .collect()
    }

    fn plan(seed: u64, max_calls: Option<u64>) -> TrafficPlan {
        let config = TrafficConfig {
            seed,
            max_calls,
            rate_per_sec: 5.0,
            ..TrafficConfig::default()
        };
        TrafficPlan::new(&config, users(12), Some("0".to_owned()))
    }

    #[test]
    fn plans_are_deterministic_for_a_seed() {
        let first: Vec<PlannedStep> = plan(7, None).take(200).collect();
        let again: Vec<PlannedStep> = plan(7, None).take(200).collect();
        let other: Vec<PlannedStep> = plan(8, None).take(200).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
        assert!(
            first
                .windows(2)
                .all(|pair| pair[0].offset <= pair[1].offset),
            "steps come in time order"
        );
    }

    #[test]
    fn plans_are_bounded_and_every_script_ends() {
        let steps: Vec<PlannedStep> = plan(3, Some(40)).collect();
        let scripts: BTreeMap<u64, Vec<&PlannedStep>> =
            steps.iter().fold(BTreeMap::new(), |mut map, step| {
                map.entry(step.script).or_insert_with(Vec::new).push(step);
                map
            });
        assert!(!scripts.is_empty() && scripts.len() <= 40);
        for (script, steps) in &scripts {
            let last = steps.last().expect("steps");
            assert!(last.last, "script {script} ends with its last step");
            assert!(
                matches!(
                    last.action,
                    TrafficAction::Hangup { .. } | TrafficAction::Busy { .. }
                ),
                "script {script} ends the call: {:?}",
                last.action
            );
            assert!(matches!(
                steps[0].action,
                TrafficAction::Dial { .. } | TrafficAction::ExternalCall { .. }
            ));
        }
    }

    #[test]
    fn scripts_never_share_a_user_at_the_same_time() {
        let mut active: HashMap<String, u64> = HashMap::new();
        for step in plan(11, Some(300)) {
            let who = match &step.action {
                TrafficAction::Dial { from, .. } => Some(from),
                TrafficAction::Answer { who }
                | TrafficAction::Busy { who }
                | TrafficAction::Hangup { who } => Some(who),
                _ => None,
            };
            if let Some(who) = who.filter(|who| who.starts_with('U')) {
                if let Some(script) = active.get(who) {
                    assert_eq!(*script, step.script, "{who} is used by two scripts at once");
                }
                active.insert(who.clone(), step.script);
            }
            if step.last {
                active.retain(|_, script| *script != step.script);
            }
        }
    }

    #[test]
    fn no_rate_or_too_few_users_plan_nothing() {
        let config = TrafficConfig {
            rate_per_sec: 0.0,
            ..TrafficConfig::default()
        };
        assert_eq!(TrafficPlan::new(&config, users(4), None).next(), None);
        let config = TrafficConfig::default();
        assert_eq!(
            TrafficPlan::new(&config, users(1), None).next(),
            None,
            "every scenario needs two users"
        );
        let transfers = ScenarioMix {
            answered: 0,
            unanswered: 0,
            busy: 0,
            hold: 0,
            ..ScenarioMix::default()
        };
        let config = TrafficConfig {
            mix: transfers,
            ..TrafficConfig::default()
        };
        assert_eq!(
            TrafficPlan::new(&config, users(2), None).next(),
            None,
            "transfers need three"
        );
    }

    #[test]
    fn arrivals_finding_every_user_busy_are_skipped() {
        let mix = ScenarioMix {
            answered: 1,
            unanswered: 0,
            busy: 0,
            incoming: 0,
            outgoing: 0,
            hold: 0,
            transfer: 0,
        };
        let config = TrafficConfig {
            mix,
            rate_per_sec: 50.0,
            max_calls: Some(10),
            ..TrafficConfig::default()
        };
        let mut plan = TrafficPlan::new(&config, users(2), None);
        let steps: Vec<PlannedStep> = plan.by_ref().collect();
        assert_eq!(steps.len(), 30, "ten answered calls, one after the other");
        assert!(plan.skipped() > 0);
    }

    /// The reported instant of a step is never later than the moment its records can be
    /// polled, so an event is never read before the step that caused it: the benchmark takes
    /// an event read "before" its call's first step for unmatched, and one read before a later
    /// step for the previous step's, seconds late. Real time, with this task polling the PBX
    /// under its lock as fast as it can while the generator runs on the other worker.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn steps_are_stamped_before_their_records_can_be_polled() {
        let sim = Sim::start(SimConfig::default(), Directory::demo())
            .await
            .expect("simulator");
        let session = sim.with_model(|model, _| {
            let (session, _) = model
                .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
                .expect("session");
            let mut names = model.local_endpoints();
            names.push("Trunk".to_owned());
            for name in names {
                model
                    .user_initialize(session, &name, false, false, "")
                    .expect("session");
            }
            session
        });
        // Where each conference id was first polled, taken under the lock like the stamps.
        let mut polled: HashMap<String, Instant> = HashMap::new();
        let mut drain = |model: &mut Model| {
            let at = Instant::now();
            loop {
                let batch = model.poll(session).expect("session");
                if batch.is_empty() {
                    return;
                }
                for record in &batch.call {
                    if let Some(conf) = record.conf() {
                        polled.entry(conf.to_owned()).or_insert(at);
                    }
                }
            }
        };
        let (sender, mut receiver) = mpsc::channel(4096);
        let mut traffic = sim.start_traffic(TrafficConfig {
            rate_per_sec: 200.0,
            seed: 4,
            steps: Some(sender),
            max_calls: Some(150),
            ring_time: Duration::from_millis(10),
            talk_time: Duration::from_millis(30),
            ..TrafficConfig::default()
        });
        loop {
            sim.with_model(|model, _| drain(model));
            tokio::select! {
                biased;
                () = traffic.finished() => break,
                () = tokio::task::yield_now() => {}
            }
        }
        sim.with_model(|model, _| drain(model));
        let mut first_step: HashMap<String, Instant> = HashMap::new();
        let mut steps = 0;
        while let Some(step) = receiver.recv().await {
            steps += 1;
            let at = first_step.entry(step.conf).or_insert(step.at);
            *at = (*at).min(step.at);
        }
        assert_eq!(traffic.stats().failures, 0, "every step was carried out");
        assert!(
            steps > 150 && polled.len() >= 150,
            "{steps} steps, {polled:?}"
        );
        for (conf, polled) in &polled {
            let stamped = first_step
                .get(conf)
                .unwrap_or_else(|| panic!("conference {conf} was polled, but no step named it"));
            assert!(
                stamped <= polled,
                "conference {conf} was polled {:?} before its first step",
                *stamped - *polled
            );
        }
        sim.shutdown().await;
    }
}
