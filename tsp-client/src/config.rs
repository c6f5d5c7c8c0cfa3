//! Provider configuration.
//!
//! On Windows `ffi` reads the values from the registry key
//! `HKLM\SOFTWARE\cti-gateway\TSP` (README.md lists them); this module only validates what was
//! read, so every rule is tested natively.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Configuration values as read from their source, before validation.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct RawConfig {
    /// `Server`: host name or IP address of the gateway's CSTA listener.
    pub server: Option<String>,
    /// `Port`: TCP port of the CSTA listener.
    pub port: Option<u32>,
    /// `Tls`: 1 to use TLS.
    pub tls: Option<u32>,
    /// `TlsCaFile`: PEM file with the CA certificate(s) the gateway's certificate chains to.
    pub tls_ca_file: Option<String>,
    /// `TlsServerName`: name to verify in the gateway's certificate (default: `Server`).
    pub tls_server_name: Option<String>,
    /// `User`: the CSTA login user.
    pub user: Option<String>,
    /// The password: decrypted `Password` (DPAPI) or the plain-text `PasswordPlain` fallback.
    pub password: Option<String>,
    /// `Lines`: comma- or newline-separated device ids or line keys this provider exposes.
    pub lines: Option<String>,
    /// `ReconnectMaxSeconds`: ceiling of the reconnect backoff.
    pub reconnect_max_seconds: Option<u32>,
    /// `LogFile`: where the provider logs (none: no log).
    pub log_file: Option<String>,
    /// `LogLevel`: error, warn, info, debug or trace.
    pub log_level: Option<String>,
}

/// Validated configuration.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Config {
    /// Host name or address of the gateway.
    pub server: String,
    /// TCP port of the gateway.
    pub port: u16,
    /// TLS settings; `None` for plain TCP.
    pub tls: Option<TlsConfig>,
    /// Login user; empty for a gateway without authentication.
    pub user: String,
    /// Login password.
    pub password: String,
    /// Which of the gateway's lines this provider exposes.
    pub line_filter: LineFilter,
    /// Reconnect backoff.
    pub backoff: BackoffConfig,
    /// Log destination and level.
    pub log: Option<LogConfig>,
}

/// TLS settings.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TlsConfig {
    /// PEM file with the trusted CA certificates.
    pub ca_file: PathBuf,
    /// Name verified in the gateway's certificate.
    pub server_name: String,
}

/// The lines a provider exposes: all of the gateway's, or a list (a user's own lines on a
/// terminal server).
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct LineFilter {
    allowed: Vec<String>,
}

/// Reconnect backoff bounds.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct BackoffConfig {
    /// First delay after a failure.
    pub min: Duration,
    /// Longest delay.
    pub max: Duration,
}

/// Where and how much the provider logs.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LogConfig {
    /// Log file.
    pub file: PathBuf,
    /// Most verbose level written.
    pub level: tracing::Level,
}

/// A configuration that cannot be used.
#[derive(Clone, Debug, Eq, Error, PartialEq)]
pub enum ConfigError {
    /// `Server` is missing or empty.
    #[error("`Server` is not set: the provider does not know where the gateway is")]
    MissingServer,
    /// `Port` is missing.
    #[error("`Port` is not set")]
    MissingPort,
    /// `Port` is outside 1..=65535.
    #[error("`Port` {0} is not a TCP port (1..=65535)")]
    BadPort(u32),
    /// `Tls` is neither 0 nor 1.
    #[error("`Tls` must be 0 or 1, found {0}")]
    BadTls(u32),
    /// TLS is on but no CA file is configured.
    #[error("`Tls` is 1 but `TlsCaFile` is not set")]
    MissingCaFile,
    /// `LogLevel` is not a level name.
    #[error("`LogLevel` {0:?} is not one of error, warn, info, debug, trace")]
    BadLogLevel(String),
    /// `ReconnectMaxSeconds` is 0.
    #[error("`ReconnectMaxSeconds` must be at least 1")]
    BadReconnect,
}

impl Config {
    /// Validates raw values; the first problem found is reported.
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let server = raw
            .server
            .map(|server| server.trim().to_owned())
            .filter(|server| !server.is_empty())
            .ok_or(ConfigError::MissingServer)?;
        let port = raw.port.ok_or(ConfigError::MissingPort)?;
        let port = u16::try_from(port)
            .ok()
            .filter(|port| *port != 0)
            .ok_or(ConfigError::BadPort(port))?;
        let tls = match raw.tls.unwrap_or(0) {
            0 => None,
            1 => Some(TlsConfig {
                ca_file: raw
                    .tls_ca_file
                    .filter(|file| !file.trim().is_empty())
                    .map(PathBuf::from)
                    .ok_or(ConfigError::MissingCaFile)?,
                server_name: raw
                    .tls_server_name
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or_else(|| server.clone()),
            }),
            other => return Err(ConfigError::BadTls(other)),
        };
        let max_seconds = raw.reconnect_max_seconds.unwrap_or(30);
        if max_seconds == 0 {
            return Err(ConfigError::BadReconnect);
        }
        let log = match raw.log_file.filter(|file| !file.trim().is_empty()) {
            None => None,
            Some(file) => Some(LogConfig {
                file: PathBuf::from(file),
                level: parse_level(raw.log_level.as_deref().unwrap_or("info"))?,
            }),
        };
        Ok(Self {
            server,
            port,
            tls,
            user: raw.user.unwrap_or_default(),
            password: raw.password.unwrap_or_default(),
            line_filter: LineFilter::parse(raw.lines.as_deref().unwrap_or("")),
            backoff: BackoffConfig {
                min: Duration::from_millis(500).min(Duration::from_secs(max_seconds.into())),
                max: Duration::from_secs(max_seconds.into()),
            },
            log,
        })
    }
}

impl LineFilter {
    /// Parses a comma-, semicolon- or newline-separated list; empty means every line.
    pub fn parse(list: &str) -> Self {
        Self {
            allowed: list
                .split([',', ';', '\n', '\0'])
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether the line with this device id and key is exposed.
    pub fn allows(&self, device: &str, key: &str) -> bool {
        self.allowed.is_empty()
            || self
                .allowed
                .iter()
                .any(|entry| entry == device || entry == key)
    }
}

fn parse_level(level: &str) -> Result<tracing::Level, ConfigError> {
    match level.trim().to_ascii_lowercase().as_str() {
        "error" => Ok(tracing::Level::ERROR),
        "warn" => Ok(tracing::Level::WARN),
        "info" => Ok(tracing::Level::INFO),
        "debug" => Ok(tracing::Level::DEBUG),
        "trace" => Ok(tracing::Level::TRACE),
        _ => Err(ConfigError::BadLogLevel(level.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> RawConfig {
        RawConfig {
            server: Some(" gw.example ".to_owned()),
            port: Some(4721),
            ..RawConfig::default()
        }
    }

    #[test]
    fn minimal_config_has_safe_defaults() {
        let config = Config::from_raw(minimal()).unwrap();
        assert_eq!(config.server, "gw.example");
        assert_eq!(config.port, 4721);
        assert_eq!(config.tls, None);
        assert!(config.line_filter.allows("201", "k"));
        assert_eq!(config.backoff.max, Duration::from_secs(30));
        assert_eq!(config.log, None);
    }

    #[test]
    fn tls_needs_a_ca_file_and_defaults_the_name() {
        let raw = RawConfig {
            tls: Some(1),
            ..minimal()
        };
        assert_eq!(
            Config::from_raw(raw.clone()),
            Err(ConfigError::MissingCaFile)
        );
        let config = Config::from_raw(RawConfig {
            tls_ca_file: Some("ca.pem".to_owned()),
            ..raw
        })
        .unwrap();
        assert_eq!(
            config.tls,
            Some(TlsConfig {
                ca_file: PathBuf::from("ca.pem"),
                server_name: "gw.example".to_owned()
            })
        );
    }

    #[test]
    fn every_bad_value_has_its_error() {
        let cases = [
            (
                RawConfig {
                    server: Some("  ".to_owned()),
                    ..minimal()
                },
                ConfigError::MissingServer,
            ),
            (
                RawConfig {
                    port: None,
                    ..minimal()
                },
                ConfigError::MissingPort,
            ),
            (
                RawConfig {
                    port: Some(0),
                    ..minimal()
                },
                ConfigError::BadPort(0),
            ),
            (
                RawConfig {
                    port: Some(70000),
                    ..minimal()
                },
                ConfigError::BadPort(70000),
            ),
            (
                RawConfig {
                    tls: Some(2),
                    ..minimal()
                },
                ConfigError::BadTls(2),
            ),
            (
                RawConfig {
                    reconnect_max_seconds: Some(0),
                    ..minimal()
                },
                ConfigError::BadReconnect,
            ),
            (
                RawConfig {
                    log_file: Some("tsp.log".to_owned()),
                    log_level: Some("loud".to_owned()),
                    ..minimal()
                },
                ConfigError::BadLogLevel("loud".to_owned()),
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(Config::from_raw(raw), Err(expected));
        }
    }

    #[test]
    fn line_filter_matches_device_or_key() {
        let filter = LineFilter::parse("201; pbx1/abc/\n,");
        assert!(filter.allows("201", "x"));
        assert!(filter.allows("999", "pbx1/abc/"));
        assert!(!filter.allows("202", "pbx1/def/"));
    }
}
