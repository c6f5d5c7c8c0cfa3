//! The subcommands' bodies.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use csta::ids::{ConnectionId, DeviceId};
use csta::logical::SetForwarding;
use csta::message::Message;
use csta::snapshot::{SnapshotDevice, SnapshotResult};
use csta::types::{ForwardingType, LocalCallState, LocalConnectionState};
use tracing_subscriber::EnvFilter;

use super::{ClientArgs, Command, EXIT_UNAVAILABLE, EXIT_USAGE, ForwardType, LogFormat, format};
use crate::client::{ClientConfig, ClientError, ClientTls, CstaClient, Login};
use crate::config::Config;
use crate::daemon::Gateway;
use crate::error_chain;

/// Sets up logging: `RUST_LOG` (default `info` for the daemon, `warn` for client commands).
pub(super) fn init_tracing(format: LogFormat, daemon: bool) {
    let default = if daemon { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into files or journals, and not when
        // `NO_COLOR` is set (the no-color.org convention).
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()),
        );
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs one command.
pub(super) async fn run(command: Command) -> ExitCode {
    match command {
        Command::Run { config } => run_daemon(&config).await,
        Command::CheckConfig { config } => check_config(&config),
        Command::Demo {
            listen,
            admin,
            rate,
            seed,
        } => {
            crate::demo::run(crate::demo::DemoSettings {
                listen,
                admin: Some(admin),
                rate,
                seed,
            })
            .await
        }
        Command::HashPassword => hash_password(),
        Command::Devices(client) => client_command(&client, list_devices).await,
        Command::Monitor {
            devices,
            json,
            count,
            client,
        } => client_command(&client, |client| monitor(client, devices, json, count)).await,
        Command::Call { from, to, client } => {
            client_command(&client, |client| async move {
                let connection = client.make_call(&from, &to).await?;
                println!("call {} from {from} to {to}", connection_text(&connection));
                Ok(())
            })
            .await
        }
        Command::Answer { device, client } => {
            let state = Some(LocalConnectionState::Alerting);
            call_command(&client, device, None, state, "answered", |connection| {
                csta::call_control::AnswerCall {
                    call_to_be_answered: connection,
                    correlator_data: None,
                    user_data: None,
                    extensions: None,
                }
                .into()
            })
            .await
        }
        Command::Hangup {
            device,
            call,
            client,
        } => {
            call_command(&client, device, call, None, "cleared", |connection| {
                csta::call_control::ClearConnection {
                    connection_to_be_cleared: connection,
                    correlator_data: None,
                    user_data: None,
                    extensions: None,
                }
                .into()
            })
            .await
        }
        Command::Hold { device, client } => {
            let state = Some(LocalConnectionState::Connected);
            call_command(&client, device, None, state, "held", |connection| {
                csta::call_control::HoldCall {
                    call_to_be_held: connection,
                    connection_reservation: None,
                    extensions: None,
                }
                .into()
            })
            .await
        }
        Command::Retrieve { device, client } => {
            let state = Some(LocalConnectionState::Hold);
            call_command(&client, device, None, state, "retrieved", |connection| {
                csta::call_control::RetrieveCall {
                    call_to_be_retrieved: connection,
                    extensions: None,
                }
                .into()
            })
            .await
        }
        Command::Transfer { device, to, client } => {
            client_command(&client, |client| async move {
                let connection = find_call(
                    &client,
                    &device,
                    None,
                    Some(LocalConnectionState::Connected),
                )
                .await?;
                let to_id = device_id(&to)?;
                let request = csta::call_control::SingleStepTransferCall {
                    active_call: connection.clone(),
                    transferred_to: to_id,
                    account_code: None,
                    auth_code: None,
                    correlator_data: None,
                    user_data: None,
                    extensions: None,
                };
                client.request(request.into()).await?;
                println!("transferred {} to {to}", connection_text(&connection));
                Ok(())
            })
            .await
        }
        Command::Forward {
            device,
            to,
            off,
            kind,
            client,
        } => {
            client_command(&client, |client| async move {
                let request = SetForwarding {
                    device: device_id(&device)?,
                    forwarding_type: Some(match kind {
                        ForwardType::Immediate => ForwardingType::ForwardImmediate,
                        ForwardType::Busy => ForwardingType::ForwardBusy,
                        ForwardType::NoAnswer => ForwardingType::ForwardNoAns,
                    }),
                    activate_forward: !off,
                    forward_dn: to.as_deref().map(device_id).transpose()?,
                    ring_count: None,
                    ring_duration: None,
                    extensions: None,
                };
                client.request(request.into()).await?;
                match to {
                    Some(to) if !off => println!("{device} forwards to {to}"),
                    _ => println!("{device} forwarding cleared"),
                }
                Ok(())
            })
            .await
        }
    }
}

async fn run_daemon(path: &std::path::Path) -> ExitCode {
    let config = match Config::from_file(path) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("{}: {errors}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Handlers first: a signal right after "listening" must stop the daemon cleanly.
    let signal = match crate::signal::ShutdownSignal::install() {
        Ok(signal) => signal,
        Err(error) => {
            tracing::error!(%error, "cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let reload = match crate::signal::ReloadSignal::install() {
        Ok(reload) => reload,
        Err(error) => {
            tracing::error!(%error, "cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let gateway = match Gateway::start(config).await {
        Ok(gateway) => gateway,
        Err(error) => {
            tracing::error!(error = %error_chain(&error), "cannot start");
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    let users = gateway.users().clone();
    let stop = signal.recv();
    let reloads = async {
        let mut reload = reload;
        while reload.recv().await {
            reload_users(path, &users);
        }
        // No reload signal on this platform: only the stop ends the daemon.
        std::future::pending::<()>().await;
    };
    let until = async {
        tokio::select! {
            () = stop => {}
            () = reloads => {}
        }
    };
    if gateway.run_until(until).await {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads the configuration file again and takes its CSTA users; an invalid file changes
/// nothing. Other sections take effect at the next start.
fn reload_users(path: &std::path::Path, users: &crate::server::Users) {
    match Config::from_file(path) {
        Ok(config) => {
            users.replace(&config.users);
            tracing::info!(
                users = config.users.len(),
                "configuration read again: CSTA users replaced (other changes take effect at the next start)"
            );
        }
        Err(errors) => {
            tracing::warn!(
                file = %path.display(),
                errors = %errors,
                "configuration not read again: the file has errors; the users stay as they were"
            );
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match Config::from_file(path) {
        Ok(config) => {
            println!(
                "{}: valid ({} PBX system{}, {} listener{}, {} user{})",
                path.display(),
                config.pbx.len(),
                plural(config.pbx.len()),
                config.listeners.len(),
                plural(config.listeners.len()),
                config.users.len(),
                plural(config.users.len()),
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprint!("{}: {errors}", path.display());
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn hash_password() -> ExitCode {
    // At a terminal the password is read without echo; otherwise one line of standard input.
    let line = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        rpassword::prompt_password("password: ")
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    };
    let Ok(line) = line else {
        eprintln!("cannot read the password from standard input");
        return ExitCode::from(EXIT_USAGE);
    };
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("empty password");
        return ExitCode::from(EXIT_USAGE);
    }
    match crate::server::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cannot hash: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Finds the device's call (by id, or the one in `state`), sends the request `build` makes for
/// its connection and prints `done` with the connection.
async fn call_command(
    args: &ClientArgs,
    device: String,
    call: Option<String>,
    state: Option<LocalConnectionState>,
    done: &'static str,
    build: fn(ConnectionId) -> Message,
) -> ExitCode {
    client_command(args, |client| async move {
        let connection = find_call(&client, &device, call.as_deref(), state).await?;
        client.request(build(connection.clone())).await?;
        println!("{done} {}", connection_text(&connection));
        Ok(())
    })
    .await
}

/// Connects as the arguments say, runs `body`, and turns its outcome into an exit code.
async fn client_command<F, Fut>(args: &ClientArgs, body: F) -> ExitCode
where
    F: FnOnce(CstaClient) -> Fut,
    Fut: Future<Output = Result<(), ClientError>>,
{
    let config = client_config(args);
    let client = match CstaClient::connect(&config).await {
        Ok(client) => client,
        Err(error) => {
            eprintln!("{}", error_chain(&error));
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    match body(client).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// The client configuration of the command-line options.
pub(super) fn client_config(args: &ClientArgs) -> ClientConfig {
    let mut config = ClientConfig::new(args.gateway.clone());
    if args.tls {
        config.tls = Some(ClientTls {
            ca_file: args.ca.clone(),
            danger_accept_invalid_certs: args.insecure,
            server_name: None,
            client_certificate: None,
        });
    }
    if let Some(user) = &args.user {
        config.login = Some(Login {
            user: user.clone(),
            password: args.password.clone().unwrap_or_default(),
            avaya: false,
            duration: 3600,
        });
    }
    config
}

async fn list_devices(mut client: CstaClient) -> Result<(), ClientError> {
    let devices = client.devices().await?;
    let mut out = std::io::stdout().lock();
    for device in &devices {
        let service = match device.in_service {
            Some(true) => "in service",
            Some(false) => "out of service",
            None => "",
        };
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:<32} {}",
            device.id,
            device.category.as_deref().unwrap_or(""),
            device.name.as_deref().unwrap_or(""),
            service
        );
    }
    let _ = writeln!(out, "{} devices", devices.len());
    Ok(())
}

async fn monitor(
    mut client: CstaClient,
    devices: Vec<String>,
    json: bool,
    count: Option<u64>,
) -> Result<(), ClientError> {
    let mut names = std::collections::HashMap::new();
    for device in &devices {
        let cross_ref = client.monitor(device).await?;
        if !json {
            println!("monitoring {device} (monitor {cross_ref})");
        }
        names.insert(cross_ref.as_str().to_owned(), device.clone());
    }
    let mut seen = 0u64;
    let stop = crate::signal::shutdown_signal();
    tokio::pin!(stop);
    loop {
        let event = tokio::select! {
            event = client.next_event(Duration::from_secs(3600)) => event,
            () = &mut stop => return Ok(()),
        };
        let Some(event) = event else { continue };
        let time = humantime::format_rfc3339_millis(std::time::SystemTime::now());
        let device = names
            .get(event.monitor_cross_ref_id.as_str())
            .map_or("?", String::as_str);
        if json {
            let mut object = format::json(&event);
            if let Some(map) = object.as_object_mut() {
                map.insert("time".to_owned(), serde_json::Value::from(time.to_string()));
                map.insert("monitored".to_owned(), serde_json::Value::from(device));
            }
            println!("{object}");
        } else {
            println!("{time} {device:<6} {}", format::line(&event));
        }
        seen += 1;
        if count.is_some_and(|count| seen >= count) {
            return Ok(());
        }
    }
}

fn device_id(text: &str) -> Result<DeviceId, ClientError> {
    DeviceId::new(text).map_err(|_| ClientError::Encode {
        request: "device id",
    })
}

fn connection_text(connection: &ConnectionId) -> String {
    format!(
        "{}@{}",
        connection
            .call
            .as_ref()
            .map(|call| call.as_str())
            .unwrap_or("?"),
        connection
            .device
            .as_ref()
            .map(|device| device.as_str())
            .unwrap_or("?"),
    )
}

/// The connection of a device's call: the given call id, else the first call whose local
/// state is `wanted` (or any call).
async fn find_call(
    client: &CstaClient,
    device: &str,
    call: Option<&str>,
    wanted: Option<LocalConnectionState>,
) -> Result<ConnectionId, ClientError> {
    let request = SnapshotDevice {
        snapshot_object: device_id(device)?,
        extensions: None,
    };
    let Message::SnapshotDeviceResponse(response) = client.request(request.into()).await? else {
        return Err(ClientError::Unexpected {
            request: "SnapshotDevice",
            answer: "another message",
        });
    };
    let SnapshotResult::Data(items) = response.cross_ref_id_or_snapshot_data else {
        return Err(ClientError::Unexpected {
            request: "SnapshotDevice",
            answer: "a cross reference",
        });
    };
    let found = items.into_iter().find(|item| {
        let call_matches = call.is_none_or(|call| {
            item.connection_identifier
                .call
                .as_ref()
                .is_some_and(|id| id.as_str() == call)
        });
        let state_matches = wanted.is_none_or(|wanted| match &item.local_call_state {
            LocalCallState::Compound(states) => states.first() == Some(&wanted),
            _ => false,
        });
        call_matches && state_matches
    });
    found
        .map(|item| item.connection_identifier)
        .ok_or(ClientError::Csta {
            request: "find call",
            code: csta::error_code::CstaErrorCode::StateIncompatibility(
                csta::error_code::StateIncompatibilityError::InvalidObjectState,
            ),
        })
}
