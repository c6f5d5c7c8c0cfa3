//! The `cti-gateway` command line: the daemon (`run`), configuration checks, the demo, and
//! client commands that speak CSTA to a running gateway.

mod commands;
pub mod format;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit code for a bad configuration or usage (BSD `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code when the gateway or PBX cannot be reached (BSD `EX_UNAVAILABLE`).
pub const EXIT_UNAVAILABLE: u8 = 69;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "cti-gateway",
    version,
    about = "innovaphone PBX state as ECMA-323 CSTA XML over TCP/TLS"
)]
pub struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, env = "CTI_GATEWAY_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway daemon.
    Run {
        /// The configuration file (TOML).
        #[arg(long, short, env = "CTI_GATEWAY_CONFIG")]
        config: PathBuf,
    },
    /// Check a configuration file and print every problem (exit 0 when valid, 64 when not).
    CheckConfig {
        /// The configuration file (TOML).
        config: PathBuf,
    },
    /// Run the built-in PBX simulator with random calls and a gateway in front of it.
    Demo {
        /// Where CSTA clients connect (no login needed).
        #[arg(long, default_value = "127.0.0.1:1040")]
        listen: std::net::SocketAddr,
        /// Where the admin endpoint listens.
        #[arg(long, default_value = "127.0.0.1:9090")]
        admin: std::net::SocketAddr,
        /// Random calls per second (0 for none).
        #[arg(long, default_value_t = 0.2)]
        rate: f64,
        /// Seed of the random calls.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print an argon2 hash of a password (read from standard input) for `[user.NAME]
    /// password_hash`.
    HashPassword,
    /// List the devices of a gateway.
    Devices(ClientArgs),
    /// Monitor devices and print their events until interrupted.
    Monitor {
        /// The devices to monitor.
        #[arg(required = true)]
        devices: Vec<String>,
        /// Print one JSON object per event.
        #[arg(long)]
        json: bool,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Place a call from a device to a number.
    Call {
        /// The calling device.
        from: String,
        /// The number to call.
        to: String,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Answer the ringing call of a device.
    Answer {
        /// The device.
        device: String,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Hang up a device's call (the first one, or the one given).
    Hangup {
        /// The device.
        device: String,
        /// The call id (default: the device's first call).
        call: Option<String>,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Put a device's connected call on hold.
    Hold {
        /// The device.
        device: String,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Retrieve a device's held call.
    Retrieve {
        /// The device.
        device: String,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Transfer a device's connected call to a number (single-step).
    Transfer {
        /// The device.
        device: String,
        /// The destination.
        to: String,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set or clear call forwarding of a device.
    Forward {
        /// The device.
        device: String,
        /// Forward to this number.
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        to: Option<String>,
        /// Clear the forwarding.
        #[arg(long)]
        off: bool,
        /// Which forwarding.
        #[arg(long, value_enum, default_value_t = ForwardType::Immediate)]
        kind: ForwardType,
        /// How to reach the gateway.
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Forwarding kinds on the command line.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum ForwardType {
    /// Always.
    Immediate,
    /// When busy.
    Busy,
    /// When not answered.
    NoAnswer,
}

/// How client commands reach a gateway.
#[derive(Clone, Debug, Args)]
pub struct ClientArgs {
    /// The gateway's CSTA address.
    #[arg(
        long,
        short = 'g',
        default_value = "127.0.0.1:1040",
        env = "CTI_GATEWAY_ADDRESS"
    )]
    pub gateway: String,
    /// Use TLS.
    #[arg(long)]
    pub tls: bool,
    /// Trust this PEM CA file (with --tls).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Accept any server certificate (with --tls; test set-ups only).
    #[arg(long)]
    pub insecure: bool,
    /// Log in as this user.
    #[arg(long, short, env = "CTI_GATEWAY_USER")]
    pub user: Option<String>,
    /// The user's password.
    #[arg(long, env = "CTI_GATEWAY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// Parses the command line and runs the command; the binary's `main` is this call.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let usage = error.use_stderr();
            // `--help` and `--version` print to stdout and succeed; usage errors exit 64.
            let _ = error.print();
            return if usage {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    commands::init_tracing(cli.log_format, matches!(cli.command, Command::Run { .. }));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(commands::run(cli.command))
}
