//! Configuration: a TOML file plus `CTI_GATEWAY__...` environment overrides, turned into typed
//! and validated settings.
//!
//! The `config` crate is used only here. The loader takes its sources as input ([`Sources`]) so
//! tests inject a file's text and an environment instead of touching the process. Every
//! problem is reported at once, each with the key it concerns.
//!
//! Named sections are tables keyed by a lower-case name (`[pbx.main]`, `[listener.csta]`,
//! `[user.crm]`), so every value can be overridden from the environment:
//! `CTI_GATEWAY__PBX__MAIN__PASSWORD=secret` sets `pbx.main.password`, and a list key takes
//! comma-separated items: `CTI_GATEWAY__USER__CRM__VIEW=2*,group:sales`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::line_name::LineNamePattern;

/// The prefix of environment variables that override configuration values.
pub const ENV_PREFIX: &str = "CTI_GATEWAY";

/// Keys whose values are lists: from the environment they take comma-separated items.
const LIST_KEYS: [&str; 5] = ["view", "monitor", "control", "forward", "line_types"];

/// The largest CSTA frame the 16-bit length of the 8-byte header allows.
const MAX_FRAME: usize = u16::MAX as usize;

/// The inputs of a configuration: the TOML text, where it came from, and the environment.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The TOML document.
    pub toml: String,
    /// Where the document came from (a file path), for messages and relative paths.
    pub origin: PathBuf,
    /// Environment variables; only those starting with `CTI_GATEWAY__` are used.
    pub env: BTreeMap<String, String>,
}

impl Sources {
    /// Reads a configuration file and takes the process environment.
    pub fn from_file(path: &Path) -> Result<Self, ConfigErrors> {
        let toml = std::fs::read_to_string(path).map_err(|error| {
            ConfigErrors::single("", format!("cannot read {}: {error}", path.display()))
        })?;
        let env = std::env::vars()
            .filter(|(key, _)| key.starts_with(ENV_PREFIX))
            .collect();
        Ok(Self {
            toml,
            origin: path.to_owned(),
            env,
        })
    }

    /// A TOML document with no environment, relative paths resolved against the working
    /// directory.
    pub fn from_toml(toml: &str) -> Self {
        Self {
            toml: toml.to_owned(),
            ..Self::default()
        }
    }

    fn base_dir(&self) -> PathBuf {
        self.origin
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// A problem with one configuration key.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ConfigIssue {
    /// The dotted key, e.g. `pbx.main.url`; empty for the document as a whole.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Every problem found in a configuration.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub struct ConfigErrors {
    /// The problems, in the order of the document's sections.
    pub issues: Vec<ConfigIssue>,
}

impl ConfigErrors {
    fn single(key: &str, problem: impl Into<String>) -> Self {
        Self {
            issues: vec![ConfigIssue {
                key: key.to_owned(),
                problem: problem.into(),
            }],
        }
    }

    /// Whether some issue concerns `key`.
    pub fn mentions(&self, key: &str) -> bool {
        self.issues.iter().any(|issue| issue.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.issues.len();
        writeln!(
            f,
            "{count} configuration error{}:",
            if count == 1 { "" } else { "s" }
        )?;
        for issue in &self.issues {
            if issue.key.is_empty() {
                writeln!(f, "  {}", issue.problem)?;
            } else {
                writeln!(f, "  {}: {}", issue.key, issue.problem)?;
            }
        }
        Ok(())
    }
}

/// A secret (password) that never appears in logs or debug output.
#[derive(Clone, Default, Eq, PartialEq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value; use only where it is sent or compared.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The validated configuration of the daemon.
#[derive(Clone, Debug)]
pub struct Config {
    /// The PBX systems to monitor, by name.
    pub pbx: Vec<PbxConfig>,
    /// CSTA listeners.
    pub listeners: Vec<ListenerConfig>,
    /// CSTA session settings.
    pub sessions: SessionConfig,
    /// CSTA users and their rights.
    pub users: Vec<UserConfig>,
    /// The admin HTTP endpoint (health, readiness, metrics), if enabled.
    pub admin: Option<AdminConfig>,
    /// How long a shutdown waits for connections and PBX sessions to finish.
    pub shutdown_grace: Duration,
}

/// Which WSDL revision the gateway speaks to a PBX.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq)]
pub enum WsdlRevision {
    /// pbx800 (V8 firmware; what the innovaphone TSP uses).
    #[serde(rename = "pbx800")]
    Pbx800,
    /// pbx10_00 (V10 and later; recommended).
    #[default]
    #[serde(rename = "pbx10_00")]
    Pbx1000,
    /// pbx11_00 (document/literal dialect).
    #[serde(rename = "pbx11_00")]
    Pbx1100,
}

/// How external numbers are written in full international (E.164) form.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Numbering {
    /// Country code without `+`, e.g. `49`.
    #[serde(default)]
    pub country_code: String,
    /// Area code without the national prefix, e.g. `30`.
    #[serde(default)]
    pub area_code: String,
    /// The PBX's own subscriber number that extensions are appended to (e.g. `555`).
    #[serde(default)]
    pub subscriber: String,
    /// Digit(s) that select the public network from the PBX (trunk access), e.g. `0`.
    #[serde(default = "default_trunk_prefix")]
    pub trunk_prefix: String,
    /// International dialling prefix, e.g. `00`.
    #[serde(default = "default_international_prefix")]
    pub international_prefix: String,
    /// National (trunk) prefix, e.g. `0`.
    #[serde(default = "default_national_prefix")]
    pub national_prefix: String,
}

fn default_trunk_prefix() -> String {
    "0".to_owned()
}
fn default_international_prefix() -> String {
    "00".to_owned()
}
fn default_national_prefix() -> String {
    "0".to_owned()
}

/// TLS settings towards a PBX.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PbxTls {
    /// A PEM file with the CA certificate(s) to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (self-signed PBX certificates in a lab). Dangerous.
    #[serde(default)]
    pub danger_accept_invalid_certs: bool,
}

/// One PBX system (a master, its standby, and the slaves discovered at run time).
#[derive(Clone, Debug)]
pub struct PbxConfig {
    /// The section name; also the namespace of this PBX's device ids.
    pub name: String,
    /// SOAP URL of the master, e.g. `http://pbx.example.com/PBX0/user.soap`.
    pub url: http::Uri,
    /// SOAP URL of the standby PBX, used while the master is unreachable.
    pub standby_url: Option<http::Uri>,
    /// HTTP user (the admin account or a user object with a password).
    pub username: String,
    /// HTTP password.
    pub password: Secret,
    /// The PBX object whose scope is monitored (e.g. `_TAPI_`).
    pub monitor_user: String,
    /// The application name shown in the PBX.
    pub application: String,
    /// The WSDL revision spoken.
    pub wsdl: WsdlRevision,
    /// HTTPS settings.
    pub tls: PbxTls,
    /// Prefix put before every device id of this PBX (to keep several PBXs apart).
    pub device_prefix: String,
    /// Monitor users homed on slave PBXs through their own PBX (innovaphone TSP default).
    pub monitor_slaves: bool,
    /// Addresses without node prefix ("use pure node extensions").
    pub pure_node_extensions: bool,
    /// The line display name pattern.
    pub line_name: LineNamePattern,
    /// PBX object types that become lines.
    pub line_types: Vec<String>,
    /// One line per configured device of a user instead of one per user.
    pub map_devices: bool,
    /// An extra line per user that reflects the user's presence.
    pub presence_lines: bool,
    /// Do not show parked calls on the parking line.
    pub hide_parked_calls: bool,
    /// Report external numbers in full international form (`+4930...`).
    pub full_e164: bool,
    /// How numbers are converted to international form.
    pub numbering: Numbering,
    /// Calls to this number (a recording server) are hidden.
    pub recording_number: Option<String>,
    /// Hold without the local hold signal (`UserHold` with `remote=true`).
    pub silent_hold: bool,
    /// Do not offer the phones' three-party conference (ConferenceCall is refused).
    pub no_3pty: bool,
    /// Report the first diverting party (`leg2orig`) instead of the last (`leg2`).
    pub use_first_leg2: bool,
    /// How long start-up waits for the PBX to report all lines before serving what it has;
    /// also the longest a device list asked for during start-up waits for the PBX's first
    /// sync (the longest of all PBX systems applies).
    pub line_determination_timeout: Duration,
    /// Interval of the `Echo` heartbeat.
    pub echo_interval: Duration,
    /// HTTP timeout of a `Poll` (must exceed the PBX's ~60 s long-poll).
    pub poll_timeout: Duration,
    /// HTTP timeout of every other request.
    pub command_timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// First reconnect delay; doubles up to `reconnect_max` (with jitter).
    pub reconnect_min: Duration,
    /// Longest reconnect delay.
    pub reconnect_max: Duration,
}

/// TLS settings of a CSTA listener.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ListenerTls {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
    /// PEM CA certificate(s) that client certificates must chain to; enables client
    /// certificates.
    pub client_ca_file: Option<PathBuf>,
    /// Whether a client certificate is required (otherwise optional) when `client_ca_file` is
    /// set.
    pub require_client_cert: bool,
}

/// One CSTA listener.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// The section name.
    pub name: String,
    /// Socket address to listen on.
    pub address: SocketAddr,
    /// TLS, if this listener is encrypted.
    pub tls: Option<ListenerTls>,
    /// The user whose rights connections get without logging in; `None` requires a login
    /// (ECMA-354 credentials or a mapped client certificate).
    pub anonymous_user: Option<String>,
    /// Send `SystemStatus normal` as soon as a client connects (OpenScape-style start-up).
    pub system_status_first: bool,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Time allowed for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Largest accepted frame, header included.
    pub max_frame: usize,
    /// Close connections that send nothing for this long; `None` disables it.
    pub idle_timeout: Option<Duration>,
}

/// CSTA session settings (ECMA-354).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct SessionConfig {
    /// Session duration when the client asks for none.
    pub default_duration: Duration,
    /// Shortest session duration granted.
    pub min_duration: Duration,
    /// Longest session duration granted.
    pub max_duration: Duration,
    /// How long a session and its monitors survive a TCP drop, for re-attach by session id.
    pub cleanup_delay: Duration,
    /// Events a connection may have waiting to be written: one per event at a device it
    /// monitors, however many of its monitors report the event, and one per notice that the
    /// device list changed. What finds the queue full is dropped and counted, and the client
    /// learns how much (system status `messagesLost`) before anything else reaches it. At most
    /// 65 536 take effect.
    pub queue: usize,
    /// Most monitors per session.
    pub max_monitors: usize,
}

/// A right a user may hold on a device.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Right {
    /// List and snapshot.
    View,
    /// Start monitors.
    Monitor,
    /// Call control.
    Control,
    /// Set forwarding and do-not-disturb.
    Forward,
}

/// Devices a right applies to: a device-id glob (`2*`, `201`) or a PBX group (`group:sales`).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum DevicePattern {
    /// Device ids matching a glob with `*` and `?`.
    Glob(String),
    /// Devices whose PBX object is a member of the group.
    Group(String),
}

impl DevicePattern {
    /// Parses `group:NAME` or a glob.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(group) = text.strip_prefix("group:") {
            if group.is_empty() {
                return Err("empty group name".to_owned());
            }
            return Ok(Self::Group(group.to_owned()));
        }
        if text.is_empty() {
            return Err("empty device pattern".to_owned());
        }
        Ok(Self::Glob(text.to_owned()))
    }

    /// Whether the pattern covers a device with the given id and group memberships.
    pub fn matches(&self, device: &str, groups: &[String]) -> bool {
        match self {
            Self::Glob(glob) => wildmatch::WildMatch::new(glob).matches(device),
            Self::Group(group) => groups.iter().any(|member| member == group),
        }
    }
}

/// A CSTA user.
#[derive(Clone, Debug)]
pub struct UserConfig {
    /// The login name (section name).
    pub name: String,
    /// Argon2 PHC hash of the password (`cti-gateway hash-password`); `None` = no password
    /// login (certificate or anonymous use only).
    pub password_hash: Option<String>,
    /// Client certificate subject (CN or DNS name) that logs in as this user.
    pub tls_subject: Option<String>,
    /// Rights per device pattern.
    pub rights: BTreeMap<Right, Vec<DevicePattern>>,
}

impl UserConfig {
    /// Whether the user holds `right` on the device.
    pub fn allows(&self, right: Right, device: &str, groups: &[String]) -> bool {
        self.rights
            .get(&right)
            .is_some_and(|patterns| patterns.iter().any(|p| p.matches(device, groups)))
    }
}

/// The admin HTTP endpoint.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AdminConfig {
    /// Socket address to listen on.
    pub address: SocketAddr,
}

// ---- raw (serde) shapes ------------------------------------------------------------------

#[derive(Deserialize)]
struct RawTop {
    #[serde(default)]
    pbx: BTreeMap<String, config::Value>,
    #[serde(default)]
    listener: BTreeMap<String, config::Value>,
    #[serde(default)]
    user: BTreeMap<String, config::Value>,
    sessions: Option<config::Value>,
    admin: Option<config::Value>,
    shutdown: Option<config::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPbx {
    url: String,
    standby_url: Option<String>,
    #[serde(default = "default_pbx_username")]
    username: String,
    password: Option<String>,
    password_file: Option<PathBuf>,
    #[serde(default = "default_monitor_user")]
    monitor_user: String,
    #[serde(default = "default_application")]
    application: String,
    #[serde(default)]
    wsdl: WsdlRevision,
    #[serde(default)]
    tls: PbxTls,
    #[serde(default)]
    device_prefix: String,
    #[serde(default = "yes")]
    monitor_slaves: bool,
    #[serde(default)]
    pure_node_extensions: bool,
    line_name: Option<String>,
    #[serde(default = "default_line_types")]
    line_types: Vec<String>,
    #[serde(default)]
    map_devices: bool,
    #[serde(default)]
    presence_lines: bool,
    #[serde(default)]
    hide_parked_calls: bool,
    #[serde(default)]
    full_e164: bool,
    #[serde(default)]
    numbering: Numbering,
    recording_number: Option<String>,
    #[serde(default)]
    silent_hold: bool,
    #[serde(default)]
    no_3pty: bool,
    #[serde(default)]
    use_first_leg2: bool,
    #[serde(default = "default_line_determination", with = "humantime_serde")]
    line_determination_timeout: Duration,
    #[serde(default = "default_echo", with = "humantime_serde")]
    echo_interval: Duration,
    #[serde(default = "default_poll_timeout", with = "humantime_serde")]
    poll_timeout: Duration,
    #[serde(default = "default_command_timeout", with = "humantime_serde")]
    command_timeout: Duration,
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    connect_timeout: Duration,
    #[serde(default = "default_reconnect_min", with = "humantime_serde")]
    reconnect_min: Duration,
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    reconnect_max: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListenerTls {
    cert_file: PathBuf,
    key_file: PathBuf,
    client_ca_file: Option<PathBuf>,
    #[serde(default)]
    require_client_cert: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListener {
    address: String,
    tls: Option<RawListenerTls>,
    anonymous_user: Option<String>,
    #[serde(default)]
    system_status_first: bool,
    #[serde(default = "default_max_connections")]
    max_connections: usize,
    #[serde(default = "default_handshake_timeout", with = "humantime_serde")]
    handshake_timeout: Duration,
    #[serde(default = "default_max_frame")]
    max_frame: usize,
    #[serde(default, with = "humantime_serde")]
    idle_timeout: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    #[serde(default = "default_session_duration", with = "humantime_serde")]
    default_duration: Duration,
    #[serde(default = "default_min_duration", with = "humantime_serde")]
    min_duration: Duration,
    #[serde(default = "default_max_duration", with = "humantime_serde")]
    max_duration: Duration,
    #[serde(default = "default_cleanup_delay", with = "humantime_serde")]
    cleanup_delay: Duration,
    #[serde(default = "default_queue")]
    queue: usize,
    #[serde(default = "default_max_monitors")]
    max_monitors: usize,
}

impl Default for RawSessions {
    fn default() -> Self {
        Self {
            default_duration: default_session_duration(),
            min_duration: default_min_duration(),
            max_duration: default_max_duration(),
            cleanup_delay: default_cleanup_delay(),
            queue: default_queue(),
            max_monitors: default_max_monitors(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    password_hash: Option<String>,
    tls_subject: Option<String>,
    #[serde(default)]
    view: Vec<String>,
    #[serde(default)]
    monitor: Vec<String>,
    #[serde(default)]
    control: Vec<String>,
    #[serde(default)]
    forward: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShutdown {
    #[serde(default = "default_grace", with = "humantime_serde")]
    grace: Duration,
}

fn yes() -> bool {
    true
}
fn default_pbx_username() -> String {
    "admin".to_owned()
}
fn default_monitor_user() -> String {
    "_TAPI_".to_owned()
}
fn default_application() -> String {
    "cti-gateway".to_owned()
}
fn default_line_types() -> Vec<String> {
    ["ep", "waiting", "broadcast"].map(str::to_owned).to_vec()
}
fn default_line_determination() -> Duration {
    Duration::from_secs(90)
}
fn default_echo() -> Duration {
    Duration::from_secs(30)
}
fn default_poll_timeout() -> Duration {
    Duration::from_secs(75)
}
fn default_command_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_reconnect_min() -> Duration {
    Duration::from_secs(1)
}
fn default_reconnect_max() -> Duration {
    Duration::from_secs(60)
}
fn default_max_connections() -> usize {
    1024
}
fn default_handshake_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_frame() -> usize {
    MAX_FRAME
}
fn default_session_duration() -> Duration {
    Duration::from_secs(180)
}
fn default_min_duration() -> Duration {
    Duration::from_secs(30)
}
fn default_max_duration() -> Duration {
    Duration::from_secs(3600)
}
fn default_cleanup_delay() -> Duration {
    Duration::from_secs(60)
}
fn default_queue() -> usize {
    4096
}
fn default_max_monitors() -> usize {
    20_000
}
fn default_grace() -> Duration {
    Duration::from_secs(10)
}

// ---- loading -----------------------------------------------------------------------------

struct Collector {
    issues: Vec<ConfigIssue>,
}

impl Collector {
    fn push(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.issues.push(ConfigIssue {
            key: key.into(),
            problem: problem.into(),
        });
    }

    /// Deserializes one section, recording the error with the full key path.
    fn section<T: DeserializeOwned>(&mut self, key: &str, value: config::Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                let path = error.path().to_string();
                let key = if path == "." || path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{key}.{path}")
                };
                self.push(key, error.into_inner().to_string());
                None
            }
        }
    }
}

impl Config {
    /// Loads and validates a configuration file with the process environment's overrides.
    pub fn from_file(path: &Path) -> Result<Self, ConfigErrors> {
        Self::load(&Sources::from_file(path)?)
    }

    /// Loads and validates a configuration from its sources, reporting every problem.
    pub fn load(sources: &Sources) -> Result<Self, ConfigErrors> {
        let prefix = format!("{ENV_PREFIX}__");
        let (lists, env): (Vec<_>, Vec<_>) = sources
            .env
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(key, value)| (key.clone(), value.clone()))
            .partition(|(key, _)| {
                key.rsplit("__")
                    .next()
                    .is_some_and(|last| LIST_KEYS.contains(&last.to_ascii_lowercase().as_str()))
            });
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(
                &sources.toml,
                config::FileFormat::Toml,
            ))
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(false)
                    .source(Some(env.into_iter().collect())),
            );
        // The environment source would take a list's value for one string; list keys are set
        // as lists of their comma-separated items instead.
        for (key, value) in lists {
            let path = key[prefix.len()..].to_ascii_lowercase().replace("__", ".");
            let items: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect();
            builder = builder
                .set_override(path.as_str(), items)
                .map_err(|error| ConfigErrors::single(&path, error.to_string()))?;
        }
        let merged = builder
            .build()
            .map_err(|error| ConfigErrors::single("", error.to_string()))?;
        let mut collector = Collector { issues: Vec::new() };
        // Unknown sections are reported with their names, and loading goes on so that every
        // other problem is reported too.
        let sections: BTreeMap<String, config::Value> = merged
            .try_deserialize()
            .map_err(|error| ConfigErrors::single("", error.to_string()))?;
        for name in sections.keys() {
            if !["pbx", "listener", "user", "sessions", "admin", "shutdown"]
                .contains(&name.as_str())
            {
                collector.push(
                    name.as_str(),
                    format!(
                        "unknown section `{name}`, expected one of `pbx`, `listener`, `user`, \
                         `sessions`, `admin`, `shutdown`"
                    ),
                );
            }
        }
        let known: BTreeMap<String, config::Value> = sections
            .into_iter()
            .filter(|(name, _)| {
                ["pbx", "listener", "user", "sessions", "admin", "shutdown"]
                    .contains(&name.as_str())
            })
            .collect();
        let top: RawTop = match serde_path_to_error::deserialize(config::Value::from(
            known
                .into_iter()
                .collect::<config::Map<String, config::Value>>(),
        )) {
            Ok(top) => top,
            Err(error) => {
                let path = error.path().to_string();
                collector.push(path, error.into_inner().to_string());
                return Err(ConfigErrors {
                    issues: collector.issues,
                });
            }
        };

        let base = sources.base_dir();
        let pbx = top
            .pbx
            .into_iter()
            .filter_map(|(name, value)| {
                let key = format!("pbx.{name}");
                let raw = collector.section::<RawPbx>(&key, value)?;
                validate_pbx(&mut collector, &key, name, raw, &base)
            })
            .collect::<Vec<_>>();
        let listeners = top
            .listener
            .into_iter()
            .filter_map(|(name, value)| {
                let key = format!("listener.{name}");
                let raw = collector.section::<RawListener>(&key, value)?;
                validate_listener(&mut collector, &key, name, raw, &base)
            })
            .collect::<Vec<_>>();
        let users = top
            .user
            .into_iter()
            .filter_map(|(name, value)| {
                let key = format!("user.{name}");
                let raw = collector.section::<RawUser>(&key, value)?;
                validate_user(&mut collector, &key, name, raw)
            })
            .collect::<Vec<_>>();
        let sessions = match top.sessions {
            Some(value) => collector.section::<RawSessions>("sessions", value),
            None => Some(RawSessions::default()),
        }
        .map(|raw| validate_sessions(&mut collector, raw));
        let admin = top.admin.and_then(|value| {
            let raw = collector.section::<RawAdmin>("admin", value)?;
            match raw.address.parse() {
                Ok(address) => Some(AdminConfig { address }),
                Err(error) => {
                    collector.push("admin.address", format!("not a socket address: {error}"));
                    None
                }
            }
        });
        let shutdown_grace = match top.shutdown {
            Some(value) => collector
                .section::<RawShutdown>("shutdown", value)
                .map(|s| s.grace),
            None => Some(default_grace()),
        };

        if pbx.is_empty() && !collector.issues.iter().any(|i| i.key.starts_with("pbx.")) {
            collector.push("pbx", "at least one [pbx.NAME] section is required");
        }
        if listeners.is_empty()
            && !collector
                .issues
                .iter()
                .any(|i| i.key.starts_with("listener."))
        {
            collector.push(
                "listener",
                "at least one [listener.NAME] section is required",
            );
        }
        check_cross_references(&mut collector, &pbx, &listeners, &users);

        match (collector.issues.is_empty(), sessions, shutdown_grace) {
            (true, Some(sessions), Some(shutdown_grace)) => Ok(Self {
                pbx,
                listeners,
                sessions,
                users,
                admin,
                shutdown_grace,
            }),
            _ => Err(ConfigErrors {
                issues: collector.issues,
            }),
        }
    }

    /// The user with the given login name.
    pub fn user(&self, name: &str) -> Option<&UserConfig> {
        self.users.iter().find(|user| user.name == name)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

fn parse_url(collector: &mut Collector, key: &str, text: &str) -> Option<http::Uri> {
    let uri = match text.parse::<http::Uri>() {
        Ok(uri) => uri,
        Err(error) => {
            collector.push(key, format!("not a URL: {error}"));
            return None;
        }
    };
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Some(uri),
        _ => {
            collector.push(key, "must be an http:// or https:// URL with a host");
            None
        }
    }
}

fn parse_duration_bounds(collector: &mut Collector, key: &str, value: Duration, min: Duration) {
    if value < min {
        collector.push(
            key,
            format!("must be at least {}", humantime::format_duration(min)),
        );
    }
}

fn validate_pbx(
    collector: &mut Collector,
    key: &str,
    name: String,
    raw: RawPbx,
    base: &Path,
) -> Option<PbxConfig> {
    let before = collector.issues.len();
    if !valid_name(&name) {
        collector.push(key, "names may contain only a-z, 0-9, '-' and '_'");
    }
    let url = parse_url(collector, &format!("{key}.url"), &raw.url);
    let standby_url = raw
        .standby_url
        .as_deref()
        .and_then(|text| parse_url(collector, &format!("{key}.standby_url"), text));
    let password = match (raw.password, raw.password_file) {
        (Some(_), Some(_)) => {
            collector.push(
                format!("{key}.password_file"),
                "set either password or password_file",
            );
            None
        }
        (Some(password), None) => Some(Secret::new(password)),
        (None, Some(file)) => match std::fs::read_to_string(resolve(base, &file)) {
            Ok(text) => Some(Secret::new(text.trim_end_matches(['\r', '\n']))),
            Err(error) => {
                collector.push(
                    format!("{key}.password_file"),
                    format!("cannot read {}: {error}", file.display()),
                );
                None
            }
        },
        (None, None) => {
            collector.push(
                format!("{key}.password"),
                "a password or password_file is required",
            );
            None
        }
    };
    let line_name = match raw.line_name.as_deref().map(LineNamePattern::parse) {
        None => Some(LineNamePattern::default()),
        Some(Ok(pattern)) => Some(pattern),
        Some(Err(error)) => {
            collector.push(format!("{key}.line_name"), error.to_string());
            None
        }
    };
    if raw
        .device_prefix
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        collector.push(
            format!("{key}.device_prefix"),
            "must not contain white space or control characters",
        );
    }
    if raw.monitor_user.is_empty() {
        collector.push(format!("{key}.monitor_user"), "must not be empty");
    }
    if raw.line_types.is_empty() {
        collector.push(
            format!("{key}.line_types"),
            "must name at least one object type",
        );
    }
    if raw.full_e164
        && (raw.numbering.country_code.is_empty() || raw.numbering.area_code.is_empty())
    {
        collector.push(
            format!("{key}.numbering"),
            "full_e164 needs numbering.country_code and numbering.area_code",
        );
    }
    let tls = PbxTls {
        ca_file: raw.tls.ca_file.map(|file| resolve(base, &file)),
        ..raw.tls
    };
    if let Some(file) = &tls.ca_file
        && !file.is_file()
    {
        collector.push(
            format!("{key}.tls.ca_file"),
            format!("no such file: {}", file.display()),
        );
    }
    parse_duration_bounds(
        collector,
        &format!("{key}.echo_interval"),
        raw.echo_interval,
        Duration::from_secs(1),
    );
    if raw.poll_timeout <= Duration::from_secs(60) {
        collector.push(
            format!("{key}.poll_timeout"),
            "must exceed the PBX's 60 s long-poll (e.g. 75s)",
        );
    }
    if raw.reconnect_min > raw.reconnect_max {
        collector.push(
            format!("{key}.reconnect_min"),
            "must not exceed reconnect_max",
        );
    }
    if collector.issues.len() != before {
        return None;
    }
    Some(PbxConfig {
        name,
        url: url?,
        standby_url,
        username: raw.username,
        password: password?,
        monitor_user: raw.monitor_user,
        application: raw.application,
        wsdl: raw.wsdl,
        tls,
        device_prefix: raw.device_prefix,
        monitor_slaves: raw.monitor_slaves,
        pure_node_extensions: raw.pure_node_extensions,
        line_name: line_name?,
        line_types: raw.line_types,
        map_devices: raw.map_devices,
        presence_lines: raw.presence_lines,
        hide_parked_calls: raw.hide_parked_calls,
        full_e164: raw.full_e164,
        numbering: raw.numbering,
        recording_number: raw.recording_number.filter(|number| !number.is_empty()),
        silent_hold: raw.silent_hold,
        no_3pty: raw.no_3pty,
        use_first_leg2: raw.use_first_leg2,
        line_determination_timeout: raw.line_determination_timeout,
        echo_interval: raw.echo_interval,
        poll_timeout: raw.poll_timeout,
        command_timeout: raw.command_timeout,
        connect_timeout: raw.connect_timeout,
        reconnect_min: raw.reconnect_min,
        reconnect_max: raw.reconnect_max,
    })
}

fn validate_listener(
    collector: &mut Collector,
    key: &str,
    name: String,
    raw: RawListener,
    base: &Path,
) -> Option<ListenerConfig> {
    let before = collector.issues.len();
    if !valid_name(&name) {
        collector.push(key, "names may contain only a-z, 0-9, '-' and '_'");
    }
    let address = match raw.address.parse::<SocketAddr>() {
        Ok(address) => Some(address),
        Err(error) => {
            collector.push(
                format!("{key}.address"),
                format!("not a socket address: {error}"),
            );
            None
        }
    };
    let tls = raw.tls.map(|tls| {
        let tls = ListenerTls {
            cert_file: resolve(base, &tls.cert_file),
            key_file: resolve(base, &tls.key_file),
            client_ca_file: tls.client_ca_file.map(|file| resolve(base, &file)),
            require_client_cert: tls.require_client_cert,
        };
        for (field, file) in [
            ("cert_file", Some(&tls.cert_file)),
            ("key_file", Some(&tls.key_file)),
        ]
        .into_iter()
        .chain([("client_ca_file", tls.client_ca_file.as_ref())])
        {
            if let Some(file) = file
                && !file.is_file()
            {
                collector.push(
                    format!("{key}.tls.{field}"),
                    format!("no such file: {}", file.display()),
                );
            }
        }
        if tls.require_client_cert && tls.client_ca_file.is_none() {
            collector.push(
                format!("{key}.tls.require_client_cert"),
                "needs client_ca_file",
            );
        }
        tls
    });
    if raw.max_frame < 1024 || raw.max_frame > MAX_FRAME {
        collector.push(
            format!("{key}.max_frame"),
            format!("must be between 1024 and {MAX_FRAME}"),
        );
    }
    if raw.max_connections == 0 {
        collector.push(format!("{key}.max_connections"), "must be at least 1");
    }
    if collector.issues.len() != before {
        return None;
    }
    Some(ListenerConfig {
        name,
        address: address?,
        tls,
        anonymous_user: raw.anonymous_user,
        system_status_first: raw.system_status_first,
        max_connections: raw.max_connections,
        handshake_timeout: raw.handshake_timeout,
        max_frame: raw.max_frame,
        idle_timeout: raw.idle_timeout.filter(|timeout| !timeout.is_zero()),
    })
}

fn validate_user(
    collector: &mut Collector,
    key: &str,
    name: String,
    raw: RawUser,
) -> Option<UserConfig> {
    let before = collector.issues.len();
    if name.is_empty() {
        collector.push(key, "user names must not be empty");
    }
    if let Some(hash) = &raw.password_hash
        && let Ok(parsed) = argon2::PasswordHash::new(hash)
        && !parsed.algorithm.as_str().starts_with("argon2")
    {
        collector.push(
            format!("{key}.password_hash"),
            format!(
                "{} hashes are not supported; create an argon2 hash with `cti-gateway hash-password`",
                parsed.algorithm
            ),
        );
    }
    if let Some(hash) = &raw.password_hash
        && let Err(error) = argon2::PasswordHash::new(hash)
    {
        collector.push(
            format!("{key}.password_hash"),
            format!(
                "not a PHC password hash ({error}); create one with `cti-gateway hash-password`"
            ),
        );
    }
    let mut rights = BTreeMap::new();
    for (field, right, patterns) in [
        ("view", Right::View, raw.view),
        ("monitor", Right::Monitor, raw.monitor),
        ("control", Right::Control, raw.control),
        ("forward", Right::Forward, raw.forward),
    ] {
        let mut parsed = Vec::new();
        for (index, pattern) in patterns.iter().enumerate() {
            match DevicePattern::parse(pattern) {
                Ok(pattern) => parsed.push(pattern),
                Err(problem) => collector.push(format!("{key}.{field}[{index}]"), problem),
            }
        }
        rights.insert(right, parsed);
    }
    if collector.issues.len() != before {
        return None;
    }
    Some(UserConfig {
        name,
        password_hash: raw.password_hash,
        tls_subject: raw.tls_subject,
        rights,
    })
}

fn validate_sessions(collector: &mut Collector, raw: RawSessions) -> SessionConfig {
    if raw.min_duration > raw.max_duration {
        collector.push("sessions.min_duration", "must not exceed max_duration");
    }
    if raw.default_duration < raw.min_duration || raw.default_duration > raw.max_duration {
        collector.push(
            "sessions.default_duration",
            "must lie between min_duration and max_duration",
        );
    }
    if raw.queue < 16 {
        collector.push("sessions.queue", "must be at least 16");
    }
    SessionConfig {
        default_duration: raw.default_duration,
        min_duration: raw.min_duration,
        max_duration: raw.max_duration,
        cleanup_delay: raw.cleanup_delay,
        queue: raw.queue,
        max_monitors: raw.max_monitors,
    }
}

fn check_cross_references(
    collector: &mut Collector,
    pbx: &[PbxConfig],
    listeners: &[ListenerConfig],
    users: &[UserConfig],
) {
    for (index, a) in pbx.iter().enumerate() {
        for b in &pbx[index + 1..] {
            if a.device_prefix == b.device_prefix {
                collector.push(
                    format!("pbx.{}.device_prefix", b.name),
                    format!(
                        "PBX systems {} and {} share the device prefix {:?}; give each its own",
                        a.name, b.name, b.device_prefix
                    ),
                );
            }
        }
    }
    for listener in listeners {
        if let Some(user) = &listener.anonymous_user
            && !users.iter().any(|candidate| &candidate.name == user)
        {
            collector.push(
                format!("listener.{}.anonymous_user", listener.name),
                format!("no [user.{user}] section"),
            );
        }
    }
    let mut addresses = BTreeMap::new();
    // Port 0 asks the system for a free port: never a clash.
    for listener in listeners
        .iter()
        .filter(|listener| listener.address.port() != 0)
    {
        if let Some(other) = addresses.insert(listener.address, &listener.name) {
            collector.push(
                format!("listener.{}.address", listener.name),
                format!("listener {other} uses the same address"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An argon2 hash (of the password "demo").
    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$M8nBwqSvui8GswW8KBb6vA$y80cSRTHmxhiYtCsvptwjFFkfvYdJIt0FF6mlOq1j78";

    const MINIMAL: &str = r#"
        [pbx.main]
        url = "http://192.0.2.10/PBX0/user.soap"
        password = "pw"

        [listener.csta]
        address = "127.0.0.1:1040"
    "#;

    #[test]
    fn minimal_config_takes_defaults() {
        let config = Config::load(&Sources::from_toml(MINIMAL)).unwrap();
        let pbx = &config.pbx[0];
        assert_eq!(pbx.name, "main");
        assert_eq!(pbx.monitor_user, "_TAPI_");
        assert_eq!(pbx.username, "admin");
        assert_eq!(pbx.password.expose(), "pw");
        assert_eq!(pbx.line_name.as_str(), "%C (%x)");
        assert_eq!(pbx.wsdl, WsdlRevision::Pbx1000);
        assert!(pbx.monitor_slaves);
        assert_eq!(pbx.poll_timeout, Duration::from_secs(75));
        assert_eq!(config.listeners[0].max_frame, 65_535);
        assert_eq!(config.listeners[0].anonymous_user, None);
        assert_eq!(config.sessions.cleanup_delay, Duration::from_secs(60));
        assert_eq!(config.shutdown_grace, Duration::from_secs(10));
        assert!(format!("{:?}", pbx.password).contains("***"));
        assert!(!format!("{config:?}").contains("\"pw\""));
    }

    #[test]
    fn environment_overrides_file_values() {
        let mut sources = Sources::from_toml(MINIMAL);
        sources
            .env
            .insert("CTI_GATEWAY__PBX__MAIN__PASSWORD".into(), "from-env".into());
        sources
            .env
            .insert("CTI_GATEWAY__PBX__MAIN__SILENT_HOLD".into(), "true".into());
        sources
            .env
            .insert("CTI_GATEWAY__SESSIONS__QUEUE".into(), "128".into());
        sources
            .env
            .insert("OTHER_VARIABLE".into(), "ignored".into());
        let config = Config::load(&sources).unwrap();
        assert_eq!(config.pbx[0].password.expose(), "from-env");
        assert!(config.pbx[0].silent_hold);
        assert_eq!(config.sessions.queue, 128);
    }

    #[test]
    fn environment_sets_lists_from_comma_separated_items() {
        let mut sources = Sources::from_toml(MINIMAL);
        sources
            .env
            .insert("CTI_GATEWAY__USER__CRM__PASSWORD_HASH".into(), HASH.into());
        sources.env.insert(
            "CTI_GATEWAY__USER__CRM__VIEW".into(),
            "2*, group:sales".into(),
        );
        sources
            .env
            .insert("CTI_GATEWAY__USER__CRM__MONITOR".into(), "201".into());
        sources.env.insert(
            "CTI_GATEWAY__PBX__MAIN__LINE_TYPES".into(),
            "ep,waiting,".into(),
        );
        let config = Config::load(&sources).unwrap();
        assert_eq!(config.pbx[0].line_types, ["ep", "waiting"]);
        let user = &config.users[0];
        assert_eq!(
            user.rights[&Right::View],
            [
                DevicePattern::Glob("2*".into()),
                DevicePattern::Group("sales".into())
            ]
        );
        assert_eq!(
            user.rights[&Right::Monitor],
            [DevicePattern::Glob("201".into())]
        );
    }

    #[test]
    fn environment_values_are_taken_as_written() {
        let mut sources = Sources::from_toml(MINIMAL);
        sources
            .env
            .insert("CTI_GATEWAY__PBX__MAIN__PASSWORD".into(), "007".into());
        sources.env.insert(
            "CTI_GATEWAY__PBX__MAIN__RECORDING_NUMBER".into(),
            "0299".into(),
        );
        sources.env.insert(
            "CTI_GATEWAY__PBX__MAIN__NUMBERING__INTERNATIONAL_PREFIX".into(),
            "00".into(),
        );
        let config = Config::load(&sources).unwrap();
        assert_eq!(config.pbx[0].password.expose(), "007");
        assert_eq!(config.pbx[0].recording_number.as_deref(), Some("0299"));
        assert_eq!(config.pbx[0].numbering.international_prefix, "00");
    }

    #[test]
    fn unknown_sections_are_named_and_other_errors_still_reported() {
        let toml = MINIMAL.replace(
            "[listener.csta]",
            "[sesions]\nqueue = 3\n\n[listener.csta]\ncolour = 1",
        );
        let errors = Config::load(&Sources::from_toml(&toml)).unwrap_err();
        assert!(errors.mentions("sesions"), "{errors}");
        assert!(errors.mentions("listener.csta.colour"), "{errors}");
    }

    #[test]
    fn only_argon2_password_hashes_are_accepted() {
        let toml = format!(
            "{MINIMAL}\n[user.crm]\npassword_hash = \"$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E\"\n"
        );
        let errors = Config::load(&Sources::from_toml(&toml)).unwrap_err();
        assert!(errors.mentions("user.crm.password_hash"), "{errors}");
    }

    #[test]
    fn password_file_is_read_relative_to_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pbx.secret"), "file-secret\n").unwrap();
        let toml = MINIMAL.replace("password = \"pw\"", "password_file = \"pbx.secret\"");
        let sources = Sources {
            toml,
            origin: dir.path().join("gateway.toml"),
            env: BTreeMap::new(),
        };
        let config = Config::load(&sources).unwrap();
        assert_eq!(config.pbx[0].password.expose(), "file-secret");
    }

    #[test]
    fn every_error_is_reported_with_its_key() {
        let toml = r#"
            [pbx.main]
            url = "ftp://nowhere"
            line_name = "%C %q"
            poll_timeout = "30s"
            colour = "blue"

            [pbx.second]
            url = "http://192.0.2.11/PBX0/user.soap"

            [listener.csta]
            address = "not-an-address"
            max_frame = 10

            [listener.other]
            address = "127.0.0.1:1041"
            anonymous_user = "ghost"

            [user.crm]
            password_hash = "plain-text"
            monitor = ["group:"]

            [sessions]
            queue = 2
        "#;
        let errors = Config::load(&Sources::from_toml(toml)).unwrap_err();
        for key in [
            "pbx.main.colour",
            "pbx.second.password",
            "listener.csta.address",
            "listener.csta.max_frame",
            "listener.other.anonymous_user",
            "user.crm.password_hash",
            "user.crm.monitor[0]",
            "sessions.queue",
        ] {
            assert!(errors.mentions(key), "no issue for {key} in:\n{errors}");
        }
        let rendered = errors.to_string();
        assert!(rendered.starts_with(&format!("{} configuration errors:", errors.issues.len())));
    }

    #[test]
    fn semantic_errors_of_one_pbx_are_all_reported() {
        let toml = r#"
            [pbx.main]
            url = "ftp://nowhere"
            password = "x"
            line_name = "%C %q"
            poll_timeout = "30s"
            reconnect_min = "2m"
            reconnect_max = "1m"

            [listener.csta]
            address = "127.0.0.1:1040"
        "#;
        let errors = Config::load(&Sources::from_toml(toml)).unwrap_err();
        for key in [
            "pbx.main.url",
            "pbx.main.line_name",
            "pbx.main.poll_timeout",
            "pbx.main.reconnect_min",
        ] {
            assert!(errors.mentions(key), "no issue for {key} in:\n{errors}");
        }
    }

    #[test]
    fn pbx_systems_need_distinct_device_prefixes() {
        let toml = format!(
            "{MINIMAL}\n[pbx.branch]\nurl = \"http://192.0.2.20/PBX0/user.soap\"\npassword = \"x\"\n"
        );
        let errors = Config::load(&Sources::from_toml(&toml)).unwrap_err();
        assert!(
            errors.mentions("pbx.main.device_prefix")
                || errors.mentions("pbx.branch.device_prefix")
        );
        let toml = toml.replace(
            "password = \"x\"",
            "password = \"x\"\ndevice_prefix = \"B\"",
        );
        assert_eq!(
            Config::load(&Sources::from_toml(&toml)).unwrap().pbx.len(),
            2
        );
    }

    #[test]
    fn missing_sections_are_named() {
        let errors = Config::load(&Sources::from_toml("")).unwrap_err();
        assert!(errors.mentions("pbx"));
        assert!(errors.mentions("listener"));
    }

    #[test]
    fn device_patterns_match_globs_and_groups() {
        let glob = DevicePattern::parse("2*").unwrap();
        assert!(glob.matches("201", &[]));
        assert!(!glob.matches("301", &[]));
        let group = DevicePattern::parse("group:sales").unwrap();
        assert!(group.matches("301", &["sales".to_owned()]));
        assert!(!group.matches("301", &["support".to_owned()]));
        assert!(DevicePattern::parse("").is_err());
    }
}
