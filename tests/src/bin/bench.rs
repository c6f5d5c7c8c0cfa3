//! The benchmark driver's command line (see `tests::bench`):
//!
//! ```text
//! cargo run --release -p tests --bin bench -- --lines 10000 --clients 100 --rate 500 --duration 30
//! cargo run --release -p tests --bin bench -- --sweep
//! ```
//!
//! The gateway runs as its own process. By default that process is this binary again:
//! `bench run --config FILE` is the gateway's own command line (`gateway::cli`, exactly what
//! `cti-gateway run` executes), so the gateway measured is always the one built with the
//! driver. `--gateway PATH` runs another build of `cti-gateway` instead.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tests::bench::{self, Settings};

/// Benchmark of cti-gateway: PBX simulator, gateway process, CSTA clients, seeded call traffic.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// Lines on the simulated PBX.
    #[arg(long, default_value_t = 10_000)]
    lines: usize,
    /// CSTA clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Share of the lines each client monitors (default: 1 / clients, each line once).
    #[arg(long)]
    share: Option<f64>,
    /// CSTA over TLS.
    #[arg(long)]
    tls: bool,
    /// New calls per second (a call yields about 9 events at its monitored lines).
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Seconds during which calls are started (default 30, 5 per sweep point).
    #[arg(long)]
    duration: Option<f64>,
    /// Mean ring time of a call, milliseconds.
    #[arg(long, default_value_t = 500)]
    ring_ms: u64,
    /// Mean talk time of a call, milliseconds.
    #[arg(long, default_value_t = 1500)]
    talk_ms: u64,
    /// Seed of the traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Most records the simulator returns per Poll.
    #[arg(long)]
    poll_batch: Option<usize>,
    /// Milliseconds between two request probes (MakeCall, SnapshotDevice).
    #[arg(long, default_value_t = 100)]
    probe_ms: u64,
    /// Seconds the limit writers write (default: a fifth of the duration, 1 to 5 s).
    #[arg(long)]
    limit_secs: Option<f64>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Run every combination of --sweep-lines and --sweep-clients (the rate per line of
    /// --rate / --lines is kept).
    #[arg(long)]
    sweep: bool,
    /// Line counts of the sweep.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,2000,5000,10000,20000"
    )]
    sweep_lines: Vec<usize>,
    /// Client counts of the sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,500")]
    sweep_clients: Vec<usize>,
    /// The gateway program to measure (default: this binary, which embeds `cti-gateway run`).
    #[arg(long)]
    gateway: Option<PathBuf>,
}

fn main() -> ExitCode {
    // The gateway process of a run: this binary started with the gateway's own command line.
    if std::env::args_os().nth(1).is_some_and(|arg| arg == "run") {
        return gateway::cli::main();
    }
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let program = match args.gateway.clone().map_or_else(std::env::current_exe, Ok) {
        Ok(program) => program,
        Err(error) => {
            eprintln!("cannot locate this program to run the gateway: {error}");
            return ExitCode::FAILURE;
        }
    };
    let duration = args
        .duration
        .unwrap_or(if args.sweep { 5.0 } else { 30.0 })
        .max(0.1);
    let mut settings = Settings::new(program);
    settings.lines = args.lines;
    settings.clients = args.clients;
    settings.share = args.share;
    settings.tls = args.tls;
    settings.rate = args.rate;
    settings.duration = Duration::from_secs_f64(duration);
    settings.ring_time = Duration::from_millis(args.ring_ms);
    settings.talk_time = Duration::from_millis(args.talk_ms);
    settings.seed = args.seed;
    if let Some(batch) = args.poll_batch {
        settings.poll_batch = batch;
    }
    settings.probe_interval = Duration::from_millis(args.probe_ms.max(1));
    settings.limit_duration =
        Duration::from_secs_f64(args.limit_secs.unwrap_or(duration / 5.0).clamp(0.2, 5.0));
    match measure(&args, &settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("bench failed: {text}");
            ExitCode::FAILURE
        }
    }
}

/// Runs and prints the benchmark (or the sweep).
#[tokio::main]
async fn measure(args: &Args, settings: &Settings) -> Result<(), bench::BenchError> {
    if args.sweep {
        let reports = bench::sweep(settings, &args.sweep_lines, &args.sweep_clients).await?;
        if args.json {
            println!("{}", json(&reports));
        } else {
            print!("{}", bench::sweep_table(&reports));
        }
    } else {
        let report = bench::run(settings).await?;
        if args.json {
            println!("{}", json(&report));
        } else {
            print!("{}", report.table());
        }
    }
    Ok(())
}

fn json(value: &impl serde::Serialize) -> String {
    // Serializing plain structs of numbers and strings cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default()
}
