//! The scripted gateway as a program, for the Wine harness.
//!
//! `scripted-gateway [--tls <certificate PEM> <PKCS#8 key PEM>]` listens for CSTA (plain or
//! TLS) on 127.0.0.1 (the standard script: lines 201–203, login `tsp`/`secret`) and
//! for line-based control commands on a second port, prints `csta=<port> control=<port>` on
//! stdout, and runs until a control client sends `quit`. Commands (one per line, answered
//! with one line starting `ok` or `error`):
//!
//! - `wait-monitor <device>`: answers once a client monitors the device (at most 15 s)
//! - `ring <device> <caller>`: a call from `caller` rings `device`; answers `ok <call id>`
//! - `hangup <call> <party>`: `party` leaves the call
//! - `restart`: drops every CSTA connection, as a gateway restart would
//! - `lines <id>,<id>,...`: replaces the device list and pushes it to logged-in clients
//! - `log`: the requests received so far, `|`-separated
//! - `quit`: stops the server

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use scripted_gateway::{Line, Script, ScriptedGateway};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scripted-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gateway = match args.as_slice() {
        [] => ScriptedGateway::start(Script::standard())?,
        [flag, cert, key] if flag == "--tls" => {
            ScriptedGateway::start_tls(Script::standard(), Path::new(cert), Path::new(key))?
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "usage: scripted-gateway [--tls <certificate PEM> <PKCS#8 key PEM>]",
            ));
        }
    };
    let control = TcpListener::bind("127.0.0.1:0")?;
    println!(
        "csta={} control={}",
        gateway.addr().port(),
        control.local_addr()?.port()
    );
    io::stdout().flush()?;
    for stream in control.incoming() {
        if !serve(&gateway, stream?)? {
            break;
        }
    }
    gateway.stop();
    Ok(())
}

/// Serves one control connection; false once `quit` arrived.
fn serve(gateway: &ScriptedGateway, stream: TcpStream) -> io::Result<bool> {
    let mut writer = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["wait-monitor", device] => {
                if gateway.wait_until(Duration::from_secs(15), |gw| gw.monitored(device)) {
                    "ok".to_owned()
                } else {
                    format!("error no monitor on {device}")
                }
            }
            ["ring", device, caller] => format!("ok {}", gateway.ring(device, caller)),
            ["hangup", call, party] => {
                gateway.hang_up(call, party);
                "ok".to_owned()
            }
            ["restart"] => {
                gateway.disconnect_all();
                "ok".to_owned()
            }
            ["lines", list] => {
                gateway.set_lines(list.split(',').map(Line::new).collect());
                "ok".to_owned()
            }
            ["log"] => format!("ok {}", gateway.log().join("|")),
            ["quit"] => {
                writeln!(writer, "ok")?;
                return Ok(false);
            }
            _ => format!("error unknown command {line:?}"),
        };
        writeln!(writer, "{reply}")?;
    }
    Ok(true)
}
