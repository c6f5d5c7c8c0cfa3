//! The link of one PBX system: session life cycle, poll loop, resync, master/standby/slaves.
//!
//! Each session has a poll task that keeps exactly one `Poll` outstanding and hands the
//! answers over a short queue to the session's own task, which applies them in order: the
//! next `Poll` is on its way while a batch is applied, so the PBX-side delay is one round
//! trip. Start-up monitors the lines with a bounded number of requests in flight.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use pbx_soap::client::{Client, Config as ClientConfig, Session, TlsConfig};
use pbx_soap::envelope::WsdlVersion;
use pbx_soap::error::Error as PbxError;
use pbx_soap::records::{AnyInfo, UserInfo};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::admin;
use crate::backoff;
use crate::bridge::{Bridge, BridgeSettings, Line, LineChanges, SiteId};
use crate::config::{PbxConfig, WsdlRevision};
use crate::error_chain;
use crate::events::{CallId, DeviceEvent, DeviceId};
use crate::registry::{LinkStatus, Registry};

/// Lines being monitored at once (`UserInitialize`, `Calls`, `Admin show` each): enough to
/// keep every command connection busy, few enough that no request waits for a connection
/// longer than a few round trips.
const LINES_IN_FLIGHT: usize = 32;

/// Keep-alive command connections per PBX client: what the start-up's parallel requests
/// share (the client's default is 4).
const COMMAND_CONNECTIONS: usize = 8;

/// Poll answers the poll task may hold before the session task applies them; beyond that
/// the PBX keeps the records until the next `Poll`.
const BATCHES_AHEAD: usize = 4;

/// A line a session monitors.
#[derive(Debug)]
struct Monitored {
    device: DeviceId,
    /// The object's long name.
    cn: String,
    /// The device (`hw`) when devices are mapped to lines.
    hw: Option<String>,
}

impl Monitored {
    fn of(line: &Line) -> Option<Self> {
        let (device, hw) = line.monitored_device()?;
        Some(Self {
            device,
            cn: line.cn.clone(),
            hw,
        })
    }
}

/// Why a PBX session ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A SOAP call failed.
    #[error("{operation} failed")]
    Pbx {
        /// What the link was doing.
        operation: &'static str,
        /// The client's error.
        #[source]
        source: PbxError,
    },
    /// `Echo` returned 0: the PBX restarted or dropped the session.
    #[error("the PBX no longer knows the session (restart?)")]
    SessionLost,
    /// The master answers again; the standby session ends to switch back.
    #[error("switching back to the master")]
    SwitchBack,
    /// The session's poll task ended without reporting why (it panicked).
    #[error("the poll task of the session ended")]
    PollTaskGone,
}

/// The client and session of a site, for call-control commands.
#[derive(Clone, Debug)]
pub struct SiteSession {
    /// The SOAP client of the site's PBX.
    pub client: Client,
    /// The session.
    pub session: Session,
}

/// A PBX link handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Link {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pbx: Arc<str>,
    config: PbxConfig,
    bridge: Mutex<Bridge>,
    registry: Registry,
    sites: Mutex<HashMap<SiteId, SiteSession>>,
    status: Mutex<LinkStatus>,
}

fn pbx_error(operation: &'static str) -> impl FnOnce(PbxError) -> LinkError {
    move |source| LinkError::Pbx { operation, source }
}

impl Link {
    /// A link for a configured PBX; `seed` makes its call ids unique to this run.
    pub fn new(config: PbxConfig, registry: Registry, seed: u32) -> Self {
        let pbx: Arc<str> = Arc::from(config.name.as_str());
        let bridge = Bridge::new(BridgeSettings::from_config(&config), seed);
        let status = LinkStatus {
            up: false,
            ready: false,
            url: config.url.to_string(),
            slaves_up: Vec::new(),
            last_error: None,
        };
        registry.set_link(&pbx, status.clone());
        Self {
            shared: Arc::new(Shared {
                pbx,
                config,
                bridge: Mutex::new(bridge),
                registry,
                sites: Mutex::new(HashMap::new()),
                status: Mutex::new(status),
            }),
        }
    }

    /// The PBX system's name.
    pub fn pbx(&self) -> &Arc<str> {
        &self.shared.pbx
    }

    /// The PBX's configuration.
    pub fn config(&self) -> &PbxConfig {
        &self.shared.config
    }

    /// The session of a site, if it is up.
    pub fn site(&self, site: SiteId) -> Option<SiteSession> {
        lock(&self.shared.sites).get(&site).cloned()
    }

    /// Runs `change` on the bridge, then mirrors the touched lines and calls into the registry
    /// and publishes the events. The bridge lock is held only while `change` runs.
    ///
    /// Everything the change touched is copied, not only what its events name: a call that
    /// ends without an event (the consultation call of a transfer) leaves the registry, and
    /// a call that starts without one (a MakeCall's claimed leg) is there at once.
    pub fn apply<R>(
        &self,
        change: impl FnOnce(&mut Bridge) -> (R, Vec<DeviceEvent>, LineChanges),
    ) -> R {
        let mut bridge = lock(&self.shared.bridge);
        let (result, events, lines) = change(&mut bridge);
        self.publish(&mut bridge, events, &lines);
        result
    }

    /// Reads the bridge.
    pub fn read<R>(&self, read: impl FnOnce(&Bridge) -> R) -> R {
        read(&lock(&self.shared.bridge))
    }

    /// Changes the bridge without copying anything to the registry: the start of a session,
    /// whose lines are copied all at once when they are in service ([`Link::apply_all`]), so
    /// that the bridge can fill them in without copying each line it changes.
    fn change_quietly<R>(&self, change: impl FnOnce(&mut Bridge) -> R) -> R {
        let mut bridge = lock(&self.shared.bridge);
        let result = change(&mut bridge);
        // `apply_all` copies everything this touched.
        bridge.take_touched();
        result
    }

    /// Like [`Link::apply`], but replaces every line and call of the PBX in the registry.
    fn apply_all(&self, change: impl FnOnce(&mut Bridge) -> (Vec<DeviceEvent>, LineChanges)) {
        let mut bridge = lock(&self.shared.bridge);
        let (events, lines) = change(&mut bridge);
        bridge.take_touched();
        self.shared.registry.sync_all(&self.shared.pbx, &bridge);
        self.shared.registry.publish(events);
        if !lines.is_empty() {
            self.shared.registry.publish_lines_changed(&self.shared.pbx);
        }
    }

    fn publish(&self, bridge: &mut Bridge, events: Vec<DeviceEvent>, lines: &LineChanges) {
        let touched = bridge.take_touched();
        let mut devices = touched.lines;
        devices.extend(events.iter().map(|event| event.device.clone()));
        devices.extend(lines.added.iter().cloned());
        devices.extend(lines.removed.iter().cloned());
        devices.extend(lines.changed.iter().cloned());
        devices.sort_unstable();
        devices.dedup();
        let mut calls: Vec<CallId> = touched.calls;
        calls.extend(events.iter().filter_map(|event| event.call.clone()));
        calls.sort_unstable();
        calls.dedup();
        self.shared
            .registry
            .sync_from(&self.shared.pbx, bridge, &devices, &calls);
        self.shared.registry.publish(events);
        if !lines.is_empty() {
            self.shared.registry.publish_lines_changed(&self.shared.pbx);
        }
    }

    fn set_status(&self, update: impl FnOnce(&mut LinkStatus)) {
        let mut status = lock(&self.shared.status);
        update(&mut status);
        self.shared
            .registry
            .set_link(&self.shared.pbx, status.clone());
    }

    fn client(&self, url: &http::Uri) -> Result<Client, PbxError> {
        let config = &self.shared.config;
        let mut client = ClientConfig::new(url.clone(), &config.username, config.password.expose());
        client.wsdl = match config.wsdl {
            WsdlRevision::Pbx800 => WsdlVersion::Pbx800,
            WsdlRevision::Pbx1000 => WsdlVersion::Pbx1000,
            WsdlRevision::Pbx1100 => WsdlVersion::Pbx1100,
        };
        client.connect_timeout = config.connect_timeout;
        client.command_connections = COMMAND_CONNECTIONS;
        client.command_timeout = config.command_timeout;
        client.poll_timeout = config.poll_timeout;
        client.tls = TlsConfig {
            ca_file: config.tls.ca_file.clone(),
            danger_accept_invalid_certs: config.tls.danger_accept_invalid_certs,
        };
        Client::new(client)
    }

    /// Supervises the master (or standby) session until shutdown; slave sessions are spawned
    /// on `tracker` as their locations are discovered.
    pub async fn run(self, shutdown: CancellationToken, tracker: TaskTracker) {
        let span = info_span!("pbx", pbx = %self.shared.pbx);
        self.supervise(SiteId::MASTER, None, shutdown, tracker)
            .instrument(span)
            .await;
    }

    /// The reconnect loop of one site. `location` is `None` for the master.
    async fn supervise(
        &self,
        site: SiteId,
        location: Option<(String, http::Uri)>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) {
        let config = &self.shared.config;
        let mut attempt = 0u32;
        let mut on_standby = false;
        loop {
            let url = match &location {
                Some((_, url)) => url.clone(),
                None if on_standby => config
                    .standby_url
                    .clone()
                    .unwrap_or_else(|| config.url.clone()),
                None => config.url.clone(),
            };
            let end = match self.client(&url) {
                Ok(client) => {
                    self.run_site(
                        site,
                        &client,
                        &url,
                        on_standby,
                        &shutdown,
                        &tracker,
                        &mut attempt,
                    )
                    .await
                }
                Err(source) => Err(LinkError::Pbx {
                    operation: "client setup",
                    source,
                }),
            };
            self.site_down(site);
            let error = match end {
                Ok(()) => return,
                Err(error) => error,
            };
            if shutdown.is_cancelled() {
                return;
            }
            let operator_must_act = matches!(
                &error,
                LinkError::Pbx { source, .. } if !source.is_transient()
            );
            if operator_must_act {
                error!(site = site.0, url = %url, error = %error_chain(&error), "PBX session failed; check the PBX configuration");
            } else {
                warn!(site = site.0, url = %url, error = %error_chain(&error), "PBX session lost; reconnecting");
            }
            if location.is_none() {
                self.set_status(|status| {
                    status.up = false;
                    status.last_error = Some(error_chain(&error));
                });
            }
            match error {
                LinkError::SwitchBack => {
                    on_standby = false;
                    attempt = 0;
                    continue;
                }
                _ if location.is_none() && config.standby_url.is_some() && attempt >= 1 => {
                    // Alternate between master and standby while the one in use fails.
                    on_standby = !on_standby;
                }
                _ => {}
            }
            let delay = backoff::delay(
                attempt,
                config.reconnect_min,
                config.reconnect_max,
                rand::random::<f64>(),
            );
            attempt = attempt.saturating_add(1);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// The reconnect loop of a slave, boxed: slaves are discovered inside a site's run, so the
    /// future type would otherwise contain itself.
    fn supervise_slave(
        &self,
        site: SiteId,
        location: String,
        url: http::Uri,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.supervise(site, Some((location, url)), shutdown, tracker))
    }

    fn site_down(&self, site: SiteId) {
        lock(&self.shared.sites).remove(&site);
        self.apply(|bridge| {
            let events = bridge.site_down(site);
            ((), events, LineChanges::default())
        });
    }

    /// One session on one PBX: set-up, then the poll loop until it fails or shutdown.
    #[allow(clippy::too_many_arguments)]
    async fn run_site(
        &self,
        site: SiteId,
        client: &Client,
        url: &http::Uri,
        on_standby: bool,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
        attempt: &mut u32,
    ) -> Result<(), LinkError> {
        let config = &self.shared.config;
        let session = tokio::select! {
            session = client.initialize(&config.monitor_user, &config.application) => {
                session.map_err(pbx_error("Initialize"))?
            }
            () = shutdown.cancelled() => return Ok(()),
        };
        info!(site = site.0, url = %url, session = session.handle, "PBX session initialised");
        let started = Instant::now();
        let (sender, mut batches) = mpsc::channel(BATCHES_AHEAD);
        let poller = shutdown.child_token();
        // The poll task ends with this session, however it ends.
        let _poller_guard = poller.clone().drop_guard();
        tracker.spawn(
            poll_task(client.clone(), session.handle, sender, poller)
                .instrument(info_span!("poll", site = site.0)),
        );

        // The user dump may span several polls; it ends with an empty cn. Each part is
        // applied as it comes, while the poll task fetches the next.
        let mut dump_events = Vec::new();
        let mut dump_lines = LineChanges::default();
        let deadline = tokio::time::Instant::now() + config.line_determination_timeout;
        loop {
            let batch = tokio::select! {
                batch = batches.recv() => match batch {
                    Some(batch) => batch.map_err(pbx_error("Poll"))?,
                    None => return poll_task_gone(shutdown),
                },
                () = tokio::time::sleep_until(deadline) => {
                    warn!(site = site.0, "the PBX did not finish its user dump in time; serving the lines found so far");
                    break;
                }
                () = shutdown.cancelled() => return Ok(()),
            };
            let end = batch.user.iter().any(UserInfo::is_end_of_dump);
            if !batch.call.is_empty() {
                debug!(
                    site = site.0,
                    "call records during the user dump are replayed by the resync"
                );
            }
            // The lines change quietly until the site is up; the few events (objects homed at
            // a slave that is up) wait for that moment too.
            self.change_quietly(|bridge| {
                for info in &batch.user {
                    let (events, changes) = bridge.on_user_info(site, info);
                    dump_events.extend(events);
                    dump_lines.extend(changes);
                }
            });
            if end {
                break;
            }
        }
        self.change_quietly(|bridge| {
            bridge.unbind_site(site);
            bridge.begin_resync(site);
        });
        if site == SiteId::MASTER {
            self.discover_slaves(client, shutdown, tracker).await;
        }

        // With devices mapped to lines, each object's devices decide its lines.
        if config.map_devices {
            let objects: BTreeSet<String> = self.read(|bridge| {
                bridge
                    .lines()
                    .filter(|line| line.site == site && line.monitored_device().is_some())
                    .map(|line| line.cn.clone())
                    .collect()
            });
            let changes = tokio::select! {
                changes = self.read_devices(client, session, objects, true) => changes?,
                () = shutdown.cancelled() => return Ok(()),
            };
            dump_lines.extend(changes);
        }

        // Monitor every line this site owns, and read back the calls that exist.
        let mut handles: BTreeMap<DeviceId, i32> = BTreeMap::new();
        let owned = self.owned_lines(site);
        tokio::select! {
            done = self.initialize_lines(client, session, site, owned, &mut handles) => done?,
            () = shutdown.cancelled() => return Ok(()),
        }
        let lines_total = handles.len();
        self.apply_all(|bridge| {
            let mut events = dump_events;
            events.extend(bridge.finish_resync(site));
            events.extend(bridge.site_up(site));
            (events, dump_lines)
        });
        lock(&self.shared.sites).insert(
            site,
            SiteSession {
                client: client.clone(),
                session,
            },
        );
        *attempt = 0;
        if site == SiteId::MASTER {
            self.set_status(|status| {
                status.up = true;
                status.ready = true;
                status.url = url.to_string();
                status.last_error = None;
            });
        }
        info!(
            site = site.0,
            lines = lines_total,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "PBX lines in service"
        );

        // Apply the polled batches in order; Echo on its own timer, probing the master while
        // on the standby.
        let mut echo = tokio::time::interval(config.echo_interval);
        echo.tick().await;
        let mut probe = tokio::time::interval(config.reconnect_max.max(Duration::from_secs(5)));
        probe.tick().await;
        loop {
            tokio::select! {
                batch = batches.recv() => {
                    let batch = match batch {
                        Some(batch) => batch.map_err(pbx_error("Poll"))?,
                        None => return poll_task_gone(shutdown),
                    };
                    self.on_batch(client, session, site, batch, &mut handles, shutdown, tracker).await?;
                }
                _ = echo.tick() => {
                    let alive = client.echo(session).await.map_err(pbx_error("Echo"))?;
                    if !alive {
                        return Err(LinkError::SessionLost);
                    }
                }
                _ = probe.tick(), if on_standby && site == SiteId::MASTER => {
                    if let Ok(master) = self.client(&config.url)
                        && master.version().await.is_ok()
                    {
                        info!("the master PBX answers again");
                        let _ = client.end(session.handle).await;
                        return Err(LinkError::SwitchBack);
                    }
                }
                () = shutdown.cancelled() => {
                    let monitored: Vec<i32> = handles.values().copied().collect();
                    futures_util::stream::iter(monitored)
                        .map(|handle| client.user_end(handle))
                        .buffer_unordered(LINES_IN_FLIGHT)
                        .for_each(|_| async {})
                        .await;
                    let _ = client.end(session.handle).await;
                    return Ok(());
                }
            }
        }
    }

    /// The lines a site monitors (one pass over the lines, at the start of a session).
    fn owned_lines(&self, site: SiteId) -> Vec<Monitored> {
        self.read(|bridge| {
            bridge
                .lines()
                .filter(|line| line.site == site)
                .filter_map(Monitored::of)
                .collect()
        })
    }

    /// Reads the devices of objects (`Devices`, up to [`LINES_IN_FLIGHT`] at once) and lets
    /// the bridge make one line per device (an object without devices keeps its one line):
    /// quietly during start-up, published later.
    async fn read_devices(
        &self,
        client: &Client,
        session: Session,
        objects: BTreeSet<String>,
        quietly: bool,
    ) -> Result<LineChanges, LinkError> {
        let mut reads = futures_util::stream::iter(objects.into_iter().map(|cn| async move {
            let devices = client
                .devices(session.handle, &cn)
                .await
                .map_err(pbx_error("Devices"))?;
            Ok::<_, LinkError>((cn, devices))
        }))
        .buffer_unordered(LINES_IN_FLIGHT);
        let mut changes = LineChanges::default();
        while let Some(read) = reads.next().await {
            let (cn, devices) = read?;
            if quietly {
                changes.extend(self.change_quietly(|bridge| bridge.set_devices(&cn, devices)));
            } else {
                self.apply(|bridge| {
                    let more = bridge.set_devices(&cn, devices);
                    changes.extend(more.clone());
                    ((), Vec::new(), more)
                });
            }
        }
        Ok(changes)
    }

    /// Monitors lines with up to [`LINES_IN_FLIGHT`] of them in progress at once; each
    /// line's handle goes into `handles` as its calls are applied.
    async fn initialize_lines(
        &self,
        client: &Client,
        session: Session,
        site: SiteId,
        lines: Vec<Monitored>,
        handles: &mut BTreeMap<DeviceId, i32>,
    ) -> Result<(), LinkError> {
        let mut started = futures_util::stream::iter(lines.into_iter().map(|line| async move {
            let handle = self.initialize_line(client, session, site, &line).await?;
            Ok::<_, LinkError>((line.device, handle))
        }))
        .buffer_unordered(LINES_IN_FLIGHT);
        while let Some(done) = started.next().await {
            if let (device, Some(handle)) = done? {
                handles.insert(device, handle);
            }
        }
        Ok(())
    }

    /// Monitors one line: `UserInitialize`, then its calls and forwards read back and applied.
    /// `None` when the PBX refuses to monitor the user.
    async fn initialize_line(
        &self,
        client: &Client,
        session: Session,
        site: SiteId,
        line: &Monitored,
    ) -> Result<Option<i32>, LinkError> {
        let Monitored { device, cn, hw } = line;
        let handle = match client
            .user_initialize(session.handle, cn, true, false, hw.as_deref().unwrap_or(""))
            .await
        {
            Ok(handle) => handle,
            Err(PbxError::Rejected { .. }) => {
                warn!(device = %device, cn, "the PBX refused to monitor this user");
                return Ok(None);
            }
            Err(source) => {
                return Err(LinkError::Pbx {
                    operation: "UserInitialize",
                    source,
                });
            }
        };
        let calls = client
            .calls(session.handle, cn)
            .await
            .map_err(pbx_error("Calls"))?;
        let forwards = match client.admin(&admin::show(cn)).await {
            Ok(answer) => Some(admin::forwards(&answer)),
            Err(error) => {
                debug!(cn, %error, "cannot read the forwards of this user");
                None
            }
        };
        let now = Instant::now();
        self.apply(|bridge| {
            bridge.bind_handle(site, handle, device.clone());
            let mut events = bridge.resync_line(site, handle, &calls, now);
            if let Some(forwards) = forwards {
                events.extend(bridge.set_forwards(cn, forwards));
            }
            ((), events, LineChanges::default())
        });
        Ok(Some(handle))
    }

    /// Applies one Poll result: user records first (they may add lines to monitor), then call
    /// records in order.
    #[allow(clippy::too_many_arguments)]
    async fn on_batch(
        &self,
        client: &Client,
        session: Session,
        site: SiteId,
        batch: AnyInfo,
        handles: &mut BTreeMap<DeviceId, i32>,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<(), LinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let (changes, reread) = self.apply(|bridge| {
            let mut events = Vec::new();
            let mut lines = LineChanges::default();
            let mut reread = Vec::new();
            let (first, last): (Vec<&UserInfo>, Vec<&UserInfo>) = batch
                .user
                .iter()
                .partition(|info| bridge.user_info_precedes_calls(info));
            let mut on_user = |bridge: &mut Bridge, info: &UserInfo, events: &mut Vec<_>| {
                let (more, changes) = bridge.on_user_info(site, info);
                events.extend(more);
                lines.extend(changes);
                if info.cfg && info.active {
                    reread.push(info.cn.clone());
                }
            };
            for info in first {
                on_user(bridge, info, &mut events);
            }
            for record in &batch.call {
                events.extend(bridge.on_call_info(site, record, now));
            }
            for info in last {
                on_user(bridge, info, &mut events);
            }
            events.extend(bridge.finish_batch());
            ((lines.clone(), reread), events, lines)
        });
        let mut changes = changes;
        if self.shared.config.map_devices {
            // New objects, and objects whose configuration changed, may have other devices.
            let objects: BTreeSet<String> = self.read(|bridge| {
                changes
                    .added
                    .iter()
                    .filter_map(|device| bridge.line(device))
                    .filter(|line| line.site == site)
                    .map(|line| line.cn.clone())
                    .chain(reread.iter().cloned())
                    .collect()
            });
            if !objects.is_empty() {
                changes.extend(self.read_devices(client, session, objects, false).await?);
            }
        }
        for device in &changes.removed {
            if let Some(handle) = handles.remove(device) {
                let _ = client.user_end(handle).await;
            }
        }
        if !changes.added.is_empty() {
            let new_lines: Vec<Monitored> = self.read(|bridge| {
                changes
                    .added
                    .iter()
                    .filter(|device| !handles.contains_key(*device))
                    .filter_map(|device| bridge.line(device))
                    .filter(|line| line.site == site)
                    .filter_map(Monitored::of)
                    .collect()
            });
            self.initialize_lines(client, session, site, new_lines, handles)
                .await?;
        }
        for cn in reread {
            if let Ok(answer) = client.admin(&admin::show(&cn)).await {
                let forwards = admin::forwards(&answer);
                self.apply(|bridge| {
                    (
                        (),
                        bridge.set_forwards(&cn, forwards),
                        LineChanges::default(),
                    )
                });
            }
        }
        if site == SiteId::MASTER
            && !batch.user.is_empty()
            && self.read(|bridge| !bridge.unmonitored_locations().is_empty())
        {
            self.discover_slaves(client, shutdown, tracker).await;
        }
        Ok(())
    }

    /// Starts a session on every slave location that homes users in scope and has none yet.
    async fn discover_slaves(
        &self,
        client: &Client,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
    ) {
        if !self.shared.config.monitor_slaves {
            return;
        }
        let tls = self.shared.config.url.scheme_str() == Some("https");
        for location in self.read(Bridge::unmonitored_locations) {
            let url = match client.location_url(&location, tls).await {
                Ok(url) => url,
                Err(error) => {
                    warn!(location, %error, "cannot find the URL of a slave PBX");
                    continue;
                }
            };
            let Ok(url) = url.parse::<http::Uri>() else {
                warn!(location, url, "the PBX returned an unusable slave URL");
                continue;
            };
            let site = self.apply(|bridge| {
                let (site, _moved) = bridge.add_site(&location);
                (site, Vec::new(), LineChanges::default())
            });
            info!(location, url = %url, site = site.0, "monitoring slave PBX");
            let link = self.clone();
            let shutdown = shutdown.clone();
            let inner_tracker = tracker.clone();
            let span = info_span!("slave", location = %location);
            tracker.spawn(
                async move {
                    link.set_status(|status| status.slaves_up.push(location.clone()));
                    link.supervise_slave(site, location.clone(), url, shutdown, inner_tracker)
                        .await;
                    link.set_status(|status| status.slaves_up.retain(|up| up != &location));
                }
                .instrument(span),
            );
        }
    }
}

/// Keeps one `Poll` of a session outstanding and hands every non-empty answer (or the error
/// that ends the session) to the session task, until `stop` or the session task goes away.
async fn poll_task(
    client: Client,
    session: i32,
    batches: mpsc::Sender<Result<AnyInfo, PbxError>>,
    stop: CancellationToken,
) {
    loop {
        let polled = tokio::select! {
            polled = client.poll(session) => polled,
            () = stop.cancelled() => return,
        };
        let failed = polled.is_err();
        if matches!(&polled, Ok(batch) if batch.is_empty()) {
            continue;
        }
        tokio::select! {
            sent = batches.send(polled) => {
                if sent.is_err() {
                    return;
                }
            }
            () = stop.cancelled() => return,
        }
        if failed {
            return;
        }
    }
}

/// The poll task is gone: a shutdown, or a failure the session cannot go on after.
fn poll_task_gone(shutdown: &CancellationToken) -> Result<(), LinkError> {
    if shutdown.is_cancelled() {
        Ok(())
    } else {
        Err(LinkError::PollTaskGone)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
