//! The real-gateway run: `cti-gateway` in front of the PBX simulator `pbx-sim`, both on
//! 127.0.0.1, with the lines 201-204 of the simulator's demo PBX.
//!
//! The harness plays TAPISRV and the TAPI applications on lines 201, 202 and 203; the far
//! ends are the simulator's phones, driven through its `/sim/` HTTP endpoints (a phone dials,
//! answers, hangs up, registers). The simulator numbers its calls 1, 2, ... in the order they
//! start, whoever starts them, so the harness counts them to name the calls the gateway placed
//! for lineMakeCall.
//!
//! The gateway restart is the test script's job: the harness prints `harness: restart the
//! gateway` and waits for `restarted` on stdin. Before it asks, it stalls the simulator's
//! long polls, so the restarted gateway has not synchronised with the PBX when the provider
//! logs in again: the gateway holds the device list back until then, and the provider must
//! get no list (certainly no empty one) until the polls run again. The lines must go out of
//! service and come back with the same device and permanent ids.

use std::ffi::c_void;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::ptr::addr_of;
use std::time::Instant;

use windows_sys::Win32::Devices::Tapi::{
    LINE_CALLINFO, LINE_REMOVE, LINEADDRESSSTATE_FORWARD, LINECALLINFOSTATE_CONNECTEDID,
    LINECALLORIGIN_INTERNAL, LINECALLORIGIN_OUTBOUND, LINECALLPARTYID_ADDRESS,
    LINECALLPARTYID_NAME, LINECALLREASON_DIRECT, LINECALLREASON_FWDUNCOND, LINECALLSTATE_CONNECTED,
    LINECALLSTATE_DIALING, LINECALLSTATE_DIALTONE, LINECALLSTATE_DISCONNECTED, LINECALLSTATE_IDLE,
    LINECALLSTATE_OFFERING, LINECALLSTATE_ONHOLD, LINECALLSTATE_RINGBACK, LINECONNECTEDMODE_ACTIVE,
    LINECONNECTEDMODE_ACTIVEHELD, LINEDEVSTATUS, LINEDEVSTATUSFLAGS_INSERVICE,
    LINEDISCONNECTMODE_CANCELLED, LINEDISCONNECTMODE_FORWARDED, LINEDISCONNECTMODE_NORMAL,
    LINEERR_INVALCALLHANDLE, LINEERR_INVALCALLSTATE, LINEOFFERINGMODE_ACTIVE,
};

use crate::tapisrv::*;

/// TAPI's handles of the open lines (above 4 GiB).
const HT_201: usize = HT_LINE;
const HT_202: usize = 0x1_0000_0202;
const HT_203: usize = 0x1_0000_0203;
/// TAPI's handles of the calls it creates (lineMakeCall) start here.
const FIRST_MADE_CALL: usize = 0x4_0000_0001;
/// The simulator's administrator (`admin`/`ip800`), for HTTP Basic authentication.
const SIM_AUTH: &str = "YWRtaW46aXA4MDA=";
/// The demo PBX's lines the provider shows; 204 is never opened and plays the far end.
const LINES: &str = "201,202,203,204";

/// `--real <path of cti-gateway.tsp> <CSTA port> <simulator port>`
pub(crate) fn main(args: &[String]) -> i32 {
    let (path, port, sim_port) = match args {
        [path, port, sim] => match (port.parse::<u16>(), sim.parse::<u16>()) {
            (Ok(port), Ok(sim)) => (path.clone(), port, sim),
            _ => {
                eprintln!("ports must be numbers");
                return 2;
            }
        },
        _ => {
            eprintln!(
                "usage: tsp-harness --real <path of cti-gateway.tsp> <CSTA port> <simulator port>"
            );
            return 2;
        }
    };
    let log_file = fresh_log_file();
    let outcome = configure(port, None, LINES, &log_file.display().to_string()).and_then(|()| {
        let mut run = Run {
            sim: Sim {
                port: sim_port,
                calls: 0,
            },
            next_request: 1000,
            next_made_call: FIRST_MADE_CALL,
            lines: Vec::new(),
        };
        run.run(&path, &log_file)
    });
    let code = report(outcome, &log_file);
    // The test script reads stdout until this line (Wine may keep the pipe open).
    println!("harness: done");
    code
}

/// The simulator's control endpoints.
struct Sim {
    port: u16,
    /// Calls the simulator started so far (its call numbers count up from 1).
    calls: u64,
}

impl Sim {
    /// POST `/sim/{endpoint}`; the answer's body, or why there is none.
    fn post(&self, endpoint: &str) -> Result<String, String> {
        let failed = |error: std::io::Error| format!("simulator /sim/{endpoint}: {error}");
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(failed)?;
        stream.set_read_timeout(Some(LIMIT)).map_err(failed)?;
        stream.set_write_timeout(Some(LIMIT)).map_err(failed)?;
        write!(
            stream,
            "POST /sim/{endpoint} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Basic \
             {SIM_AUTH}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .map_err(failed)?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(failed)?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("simulator /sim/{endpoint}: no HTTP answer: {response:?}"))?;
        if head.starts_with("HTTP/1.1 200") {
            Ok(body.trim().to_owned())
        } else {
            Err(format!(
                "simulator /sim/{endpoint} refused: {} {}",
                head.lines().next().unwrap_or_default(),
                body.trim()
            ))
        }
    }

    /// The phone `from` dials `to`; the simulator's number of the call.
    fn dial(&mut self, from: &str, to: &str) -> Result<u64, String> {
        let answer = self.post(&format!("call?from={from}&to={to}"))?;
        let call = answer
            .strip_prefix("call ")
            .and_then(|number| number.parse().ok())
            .ok_or_else(|| format!("simulator: {answer:?} names no call"))?;
        self.calls = call;
        Ok(call)
    }

    /// The call the gateway just placed for a lineMakeCall.
    fn placed(&mut self) -> u64 {
        self.calls += 1;
        self.calls
    }

    /// A phone-side step (`answer`, `hangup`, ...) of `who` in `call`.
    fn act(&self, step: &str, call: u64, who: &str) -> Result<(), String> {
        self.post(&format!("{step}?call={call}&who={who}"))
            .map(drop)
    }
}

/// An open line.
struct Open {
    address: &'static str,
    device: u32,
    hd_line: usize,
}

struct Run {
    sim: Sim,
    next_request: u32,
    next_made_call: usize,
    lines: Vec<Open>,
}

impl Run {
    fn run(&mut self, path: &str, log_file: &Path) -> Result<(), String> {
        let tsp = Tsp::load(path)?;
        let ids = self.start_and_open(&tsp)?;
        let line = self.line("201")?;
        bad_inputs(&tsp, line.device, line.hd_line, self.next_request + 1)?;
        self.next_request += BAD_INPUT_REQUESTS;
        self.missed_calls(&tsp)?;
        self.answer_hold_transfer_drop(&tsp)?;
        self.outgoing_call(&tsp)?;
        self.blind_transfer(&tsp)?;
        self.redirect(&tsp)?;
        self.forward(&tsp)?;
        self.registration(&tsp)?;
        self.gateway_restart(&tsp, &ids, log_file)?;
        for line in &self.lines {
            let result = call!(tsp, "TSPI_lineClose", fn(usize), line.hd_line);
            expect(
                result == 0,
                format!("lineClose {} gave {result:#x}", line.address),
            )?;
        }
        shutdown(tsp)?;
        // The provider is gone: a call now must not reach the unloaded code.
        let call = self.sim.dial("204", "201")?;
        self.sim.act("hangup", call, "204")?;

        // A second start in the same process: the four lines are known at once, same ids.
        SHUT_DOWN.store(false, std::sync::atomic::Ordering::SeqCst);
        let tsp = Tsp::load(path)?;
        second_start(&tsp, 300, &ids)?;
        shutdown(tsp)?;
        check_requests()?;
        println!("harness: {} callbacks checked", records().len());
        Ok(())
    }

    /// TAPISRV's start-up, the four lines from the gateway, lines 201-203 opened. Returns
    /// (line name, permanent id) of every line.
    fn start_and_open(&mut self, tsp: &Tsp) -> Result<Vec<(String, u32)>, String> {
        let lines = start(tsp, 100)?;
        expect(
            lines == 0,
            format!("a fresh provider reported {lines} lines"),
        )?;
        create_lines(tsp, 4, 100)?;
        let mut ids = Vec::new();
        for device in 100..104 {
            negotiate(tsp, device)?;
            ids.push(line_caps(tsp, device)?);
        }
        let mut distinct: Vec<u32> = ids.iter().map(|(_, id)| *id).collect();
        distinct.sort_unstable();
        distinct.dedup();
        expect(
            distinct.len() == 4 && !distinct.contains(&0),
            format!("permanent ids are distinct and set: {ids:?}"),
        )?;
        for (address, ht_line) in [("201", HT_201), ("202", HT_202), ("203", HT_203)] {
            let index = ids
                .iter()
                .position(|(name, _)| name.ends_with(&format!("({address})")))
                .ok_or_else(|| format!("no line named \"... ({address})\": {ids:?}"))?;
            let device = 100 + index as u32;
            let mut hd_line = 0_usize;
            let result = call!(
                tsp,
                "TSPI_lineOpen",
                fn(u32, usize, *mut usize, u32, LineEventProc),
                device,
                ht_line,
                &mut hd_line,
                0x0003_0000,
                line_event
            );
            expect(
                result == 0 && hd_line != 0,
                format!("lineOpen {address} gave {result:#x}"),
            )?;
            let result = call!(
                tsp,
                "TSPI_lineSetStatusMessages",
                fn(usize, u32, u32),
                hd_line,
                0xFFFF_FFFF,
                0xFFFF_FFFF
            );
            expect(
                result == 0,
                format!("lineSetStatusMessages gave {result:#x}"),
            )?;
            self.lines.push(Open {
                address,
                device,
                hd_line,
            });
        }
        let names: Vec<&str> = ids.iter().map(|(name, _)| name.as_str()).collect();
        expect(
            names.contains(&"Anna Becker (201)") && names.contains(&"David Klein (204)"),
            format!("line names from the gateway: {names:?}"),
        )?;
        Ok(ids)
    }

    /// Each line rings once and the caller gives up: LINE_NEWCALL, OFFERING with the caller's
    /// number and name, then a missed call. The line's monitor may start while the call
    /// already rings; then the snapshot brings the call, without reason or called number, so
    /// those are checked on later calls. After the first OFFERING every monitor is running.
    fn missed_calls(&mut self, tsp: &Tsp) -> Result<(), String> {
        for (address, ht_line) in [("201", HT_201), ("202", HT_202), ("203", HT_203)] {
            let call = self.sim.dial("204", address)?;
            let (hd_call, ht_call) = self.offered(ht_line, 0)?;
            let info = call_info(tsp, hd_call)?;
            expect(
                info.caller == "204"
                    && info.caller_name == "David Klein (204)"
                    && info.caller_flags & (LINECALLPARTYID_ADDRESS | LINECALLPARTYID_NAME)
                        == LINECALLPARTYID_ADDRESS | LINECALLPARTYID_NAME,
                format!("caller id of the call to {address}: {info:?}"),
            )?;
            expect(
                info.origin == LINECALLORIGIN_INTERNAL,
                format!("origin of the call to {address}: {info:?}"),
            )?;
            call_info_too_small(tsp, hd_call)?;
            let request = self.request();
            let result = call!(tsp, "TSPI_lineHold", fn(u32, usize), request, hd_call);
            refused(
                "lineHold of an offered call",
                request,
                result,
                lineerr(LINEERR_INVALCALLSTATE),
            )?;
            self.sim.act("hangup", call, "204")?;
            let records = wait(&format!("the missed call at {address} IDLE"), |r| {
                state_events(r, ht_call, LINECALLSTATE_IDLE as usize) == 1
            })?;
            expect(
                state_mode(&records, ht_call, LINECALLSTATE_DISCONNECTED)
                    == Some(LINEDISCONNECTMODE_CANCELLED as usize),
                format!(
                    "a caller who gave up: DISCONNECTED/CANCELLED before IDLE: {:?}",
                    call_records(&records, ht_call)
                ),
            )?;
            let request = self.request();
            let result = user_info_request(tsp, "TSPI_lineDrop", request, hd_call);
            refused(
                "lineDrop of an idle call",
                request,
                result,
                lineerr(LINEERR_INVALCALLSTATE),
            )?;
            close_call(tsp, hd_call, ht_call)?;
            let request = self.request();
            let result = user_info_request(tsp, "TSPI_lineAnswer", request, hd_call);
            refused(
                "lineAnswer of a closed call",
                request,
                result,
                lineerr(LINEERR_INVALCALLHANDLE),
            )?;
        }
        Ok(())
    }

    /// 202 calls 201; 201 answers, holds, retrieves, holds again and consults 203, which
    /// answers; 201 completes the transfer and leaves; 203 drops the transferred call.
    fn answer_hold_transfer_drop(&mut self, tsp: &Tsp) -> Result<(), String> {
        self.sim.dial("202", "201")?;
        let (hd_201, ht_201) = self.offered(HT_201, 1)?;
        let (hd_202, ht_202) = self.new_call(HT_202, 1)?;
        wait("202 dials and hears ringback", |r| {
            state_events(r, ht_202, LINECALLSTATE_DIALTONE as usize) == 1
                && state_events(r, ht_202, LINECALLSTATE_DIALING as usize) == 1
                && state_events(r, ht_202, LINECALLSTATE_RINGBACK as usize) == 1
        })?;
        let info = call_info(tsp, hd_201)?;
        expect(
            info.caller == "202"
                && info.caller_name == "Ben Fischer (202)"
                && info.called == "201"
                && info.reason == LINECALLREASON_DIRECT
                && info.origin == LINECALLORIGIN_INTERNAL,
            format!("202's call at 201: {info:?}"),
        )?;
        let info = call_info(tsp, hd_202)?;
        expect(
            info.origin == LINECALLORIGIN_OUTBOUND && info.called == "201",
            format!("202's outgoing call: {info:?}"),
        )?;

        self.request_ok(tsp, "lineAnswer", hd_201, |tsp, request, call| {
            user_info_request(tsp, "TSPI_lineAnswer", request, call)
        })?;
        wait("201 and 202 CONNECTED", |r| {
            connected(r, ht_201, LINECONNECTEDMODE_ACTIVE) == 1
                && connected(r, ht_202, LINECONNECTEDMODE_ACTIVE) == 1
        })?;
        let info = call_info(tsp, hd_202)?;
        expect(
            info.connected == "201" && info.connected_name == "Anna Becker (201)",
            format!("202 is connected to 201: {info:?}"),
        )?;
        self.hold(tsp, hd_201)?;
        wait("201 ONHOLD, 202 CONNECTED/ACTIVEHELD", |r| {
            state_events(r, ht_201, LINECALLSTATE_ONHOLD as usize) == 1
                && connected(r, ht_202, LINECONNECTEDMODE_ACTIVEHELD) == 1
        })?;
        self.request_ok(tsp, "lineUnhold", hd_201, |tsp, request, call| {
            call!(tsp, "TSPI_lineUnhold", fn(u32, usize), request, call)
        })?;
        wait("201 and 202 CONNECTED again", |r| {
            connected(r, ht_201, LINECONNECTEDMODE_ACTIVE) == 2
                && connected(r, ht_202, LINECONNECTEDMODE_ACTIVE) == 2
        })?;

        // Consultation: hold, call 203, 203 answers in its own TAPI application.
        self.hold(tsp, hd_201)?;
        wait("201 ONHOLD again", |r| {
            state_events(r, ht_201, LINECALLSTATE_ONHOLD as usize) == 2
        })?;
        let (hd_consult, ht_consult, _) = self.make_call(tsp, "201", "203")?;
        let (hd_203, ht_203) = self.offered(HT_203, 1)?;
        wait("the consultation call rings", |r| {
            state_events(r, ht_consult, LINECALLSTATE_RINGBACK as usize) == 1
        })?;
        self.request_ok(tsp, "lineAnswer (203)", hd_203, |tsp, request, call| {
            user_info_request(tsp, "TSPI_lineAnswer", request, call)
        })?;
        wait("201 and 203 CONNECTED", |r| {
            connected(r, ht_consult, LINECONNECTEDMODE_ACTIVE) == 1
                && connected(r, ht_203, LINECONNECTEDMODE_ACTIVE) == 1
        })?;
        let request = self.request();
        let mut no_conference = 0_usize;
        let result = call!(
            tsp,
            "TSPI_lineCompleteTransfer",
            fn(u32, usize, usize, usize, *mut usize, u32),
            request,
            hd_201,
            hd_consult,
            0,
            &mut no_conference,
            1
        );
        async_request("lineCompleteTransfer (TRANSFER)", request, result, 0)?;
        wait("201's two calls IDLE after the transfer", |r| {
            state_events(r, ht_201, LINECALLSTATE_IDLE as usize) == 1
                && state_events(r, ht_consult, LINECALLSTATE_IDLE as usize) == 1
        })?;
        // 202 and 203 now talk to each other; their calls go on (the gateway moved 203's
        // connection to the held call's id, which the provider follows).
        let records = records().clone();
        expect(
            state_events(&records, ht_202, LINECALLSTATE_IDLE as usize) == 0
                && state_events(&records, ht_203, LINECALLSTATE_IDLE as usize) == 0,
            format!(
                "the transferred parties stay: 202 {:?}, 203 {:?}",
                call_records(&records, ht_202),
                call_records(&records, ht_203)
            ),
        )?;
        // Both learn their new far end: 202 from the transfer's `transferredToDevice`, 203
        // (the consulted party) from the connection list of the surviving call.
        wait("new connected ids at 202 and 203", |r| {
            info_changes(r, ht_202, LINECALLINFOSTATE_CONNECTEDID) >= 2
                && info_changes(r, ht_203, LINECALLINFOSTATE_CONNECTEDID) >= 2
        })?;
        let info = call_info(tsp, hd_202)?;
        expect(
            info.connected == "203" && info.connected_name == "Clara Hoffmann (203)",
            format!("202 after the transfer: {info:?}"),
        )?;
        let info = call_info(tsp, hd_203)?;
        expect(
            info.connected == "202"
                && info.connected_name == "Ben Fischer (202)"
                && info.redirecting == "201",
            format!("203 after the transfer: {info:?}"),
        )?;
        self.request_ok(tsp, "lineDrop (203)", hd_203, |tsp, request, call| {
            user_info_request(tsp, "TSPI_lineDrop", request, call)
        })?;
        let records = wait("203 IDLE, 202 DISCONNECTED and IDLE", |r| {
            state_events(r, ht_203, LINECALLSTATE_IDLE as usize) == 1
                && state_events(r, ht_202, LINECALLSTATE_IDLE as usize) == 1
        })?;
        expect(
            state_mode(&records, ht_202, LINECALLSTATE_DISCONNECTED)
                == Some(LINEDISCONNECTMODE_NORMAL as usize),
            format!(
                "202 hears the far end hang up: {:?}",
                call_records(&records, ht_202)
            ),
        )?;
        for (hd_call, ht_call) in [
            (hd_201, ht_201),
            (hd_consult, ht_consult),
            (hd_202, ht_202),
            (hd_203, ht_203),
        ] {
            close_call(tsp, hd_call, ht_call)?;
        }
        Ok(())
    }

    /// lineMakeCall from 201 to 204: the completion comes before any event of the call; the
    /// far end answers (CONNECTED) and hangs up (DISCONNECTED, IDLE).
    fn outgoing_call(&mut self, tsp: &Tsp) -> Result<(), String> {
        let (hd_call, ht_call, call) = self.make_call(tsp, "201", "204")?;
        wait("RINGBACK", |r| {
            state_events(r, ht_call, LINECALLSTATE_RINGBACK as usize) == 1
        })?;
        self.sim.act("answer", call, "204")?;
        wait("CONNECTED", |r| {
            connected(r, ht_call, LINECONNECTEDMODE_ACTIVE) == 1
        })?;
        let info = call_info(tsp, hd_call)?;
        expect(
            info.origin == LINECALLORIGIN_OUTBOUND
                && info.called == "204"
                && info.connected == "204"
                && info.connected_name == "David Klein (204)",
            format!("the made call: {info:?}"),
        )?;
        self.sim.act("hangup", call, "204")?;
        let records = wait("IDLE after the far end hung up", |r| {
            state_events(r, ht_call, LINECALLSTATE_IDLE as usize) == 1
        })?;
        expect(
            state_mode(&records, ht_call, LINECALLSTATE_DISCONNECTED)
                == Some(LINEDISCONNECTMODE_NORMAL as usize),
            format!("DISCONNECTED/NORMAL: {:?}", call_records(&records, ht_call)),
        )?;
        close_call(tsp, hd_call, ht_call)
    }

    /// 204 calls 201, 201 answers and transfers blindly to 202, whose application answers.
    fn blind_transfer(&mut self, tsp: &Tsp) -> Result<(), String> {
        let call = self.sim.dial("204", "201")?;
        let (hd_201, ht_201) = self.offered(HT_201, 2)?;
        self.request_ok(tsp, "lineAnswer", hd_201, |tsp, request, call| {
            user_info_request(tsp, "TSPI_lineAnswer", request, call)
        })?;
        wait("CONNECTED", |r| {
            connected(r, ht_201, LINECONNECTEDMODE_ACTIVE) == 1
        })?;
        let to = wide("202");
        self.request_ok(tsp, "lineBlindTransfer", hd_201, |tsp, request, call| {
            call!(
                tsp,
                "TSPI_lineBlindTransfer",
                fn(u32, usize, *const u16, u32),
                request,
                call,
                to.as_ptr(),
                0
            )
        })?;
        wait("201 IDLE after the blind transfer", |r| {
            state_events(r, ht_201, LINECALLSTATE_IDLE as usize) == 1
        })?;
        let (hd_202, ht_202) = self.offered(HT_202, 2)?;
        let info = call_info(tsp, hd_202)?;
        expect(
            info.caller == "204",
            format!("the transferred call at 202: {info:?}"),
        )?;
        self.request_ok(tsp, "lineAnswer (202)", hd_202, |tsp, request, call| {
            user_info_request(tsp, "TSPI_lineAnswer", request, call)
        })?;
        wait("202 CONNECTED", |r| {
            connected(r, ht_202, LINECONNECTEDMODE_ACTIVE) == 1
        })?;
        self.sim.act("hangup", call, "204")?;
        wait("202 IDLE after the caller hung up", |r| {
            state_events(r, ht_202, LINECALLSTATE_IDLE as usize) == 1
        })?;
        close_call(tsp, hd_201, ht_201)?;
        close_call(tsp, hd_202, ht_202)
    }

    /// 204 calls 201, which redirects the ringing call to 203.
    fn redirect(&mut self, tsp: &Tsp) -> Result<(), String> {
        let call = self.sim.dial("204", "201")?;
        let (hd_201, ht_201) = self.offered(HT_201, 3)?;
        let to = wide("203");
        self.request_ok(tsp, "lineRedirect", hd_201, |tsp, request, call| {
            call!(
                tsp,
                "TSPI_lineRedirect",
                fn(u32, usize, *const u16, u32),
                request,
                call,
                to.as_ptr(),
                0
            )
        })?;
        let records = wait("201 IDLE after the redirection", |r| {
            state_events(r, ht_201, LINECALLSTATE_IDLE as usize) == 1
        })?;
        expect(
            state_mode(&records, ht_201, LINECALLSTATE_DISCONNECTED)
                == Some(LINEDISCONNECTMODE_FORWARDED as usize),
            format!(
                "DISCONNECTED/FORWARDED: {:?}",
                call_records(&records, ht_201)
            ),
        )?;
        let (hd_203, ht_203) = self.offered(HT_203, 2)?;
        let info = call_info(tsp, hd_203)?;
        expect(
            info.caller == "204" && info.redirecting == "201",
            format!("the redirected call at 203: {info:?}"),
        )?;
        self.sim.act("hangup", call, "204")?;
        wait("203 IDLE", |r| {
            state_events(r, ht_203, LINECALLSTATE_IDLE as usize) == 1
        })?;
        close_call(tsp, hd_201, ht_201)?;
        close_call(tsp, hd_203, ht_203)
    }

    /// lineForward of 201 to 203: the gateway confirms, calls ring at 203, cancelling ends it.
    fn forward(&mut self, tsp: &Tsp) -> Result<(), String> {
        let hd_line = self.line("201")?.hd_line;
        let request = self.request();
        forward(tsp, request, hd_line, Some("203"))?;
        wait("LINE_ADDRESSSTATE(FORWARD)", |r| {
            address_states(r, HT_201) == 1
        })?;
        let found = forward_list(tsp, hd_line)?;
        expect(
            found == ["203"],
            format!("LINEADDRESSSTATUS forwards {found:?}"),
        )?;
        let call = self.sim.dial("204", "201")?;
        let (hd_203, ht_203) = self.offered(HT_203, 3)?;
        let info = call_info(tsp, hd_203)?;
        expect(
            info.reason == LINECALLREASON_FWDUNCOND && info.redirecting == "201",
            format!("the forwarded call at 203: {info:?}"),
        )?;
        expect(
            new_calls(HT_201).len() == 4,
            "the forwarded call does not ring at 201",
        )?;
        self.sim.act("hangup", call, "204")?;
        wait("203 IDLE", |r| {
            state_events(r, ht_203, LINECALLSTATE_IDLE as usize) == 1
        })?;
        close_call(tsp, hd_203, ht_203)?;
        let request = self.request();
        forward(tsp, request, hd_line, None)?;
        wait("LINE_ADDRESSSTATE(FORWARD) again", |r| {
            address_states(r, HT_201) == 2
        })?;
        let found = forward_list(tsp, hd_line)?;
        expect(
            found.is_empty(),
            format!("forwards after cancelling: {found:?}"),
        )
    }

    /// 202's phone unregisters and registers again.
    fn registration(&mut self, tsp: &Tsp) -> Result<(), String> {
        let hd_line = self.line("202")?.hd_line;
        self.sim.post("register?cn=Ben%20Fischer&on=false")?;
        wait("202 OUTOFSERVICE", |r| {
            line_dev_states(r, HT_202, OUTOFSERVICE) == 1
        })?;
        expect(
            !dev_status_in_service(tsp, hd_line)?,
            "LINEDEVSTATUS of an unregistered line is not in service",
        )?;
        self.sim.post("register?cn=Ben%20Fischer&on=true")?;
        wait("202 INSERVICE", |r| {
            line_dev_states(r, HT_202, INSERVICE) == 1
        })?;
        expect(
            dev_status_in_service(tsp, hd_line)?,
            "LINEDEVSTATUS in service again",
        )
    }

    /// The gateway restarts while 203 talks to 204: every open line goes out of service and
    /// the call ends; the restarted gateway lists its lines only once it has synchronised with
    /// the PBX; the lines come back under the same ids, and the call that survived at the PBX
    /// comes back as a new call from the snapshot.
    fn gateway_restart(
        &mut self,
        tsp: &Tsp,
        ids: &[(String, u32)],
        log_file: &Path,
    ) -> Result<(), String> {
        let call = self.sim.dial("204", "203")?;
        let (hd_old, ht_old) = self.offered(HT_203, 4)?;
        self.sim.act("answer", call, "203")?;
        wait("203 CONNECTED", |r| {
            connected(r, ht_old, LINECONNECTEDMODE_ACTIVE) == 1
        })?;
        let lists_before = log_count(log_file, "device list received");
        let empty_lists = log_count(log_file, "device list received lines=0");
        let logins_before = log_count(log_file, "logged in to the gateway");
        self.sim.post("fault/stall-poll?on=true")?;
        ask_for_restart()?;
        // 202 was out of service once before (its phone unregistered).
        wait("every open line OUTOFSERVICE, the call gone", |r| {
            line_dev_states(r, HT_201, OUTOFSERVICE) == 1
                && line_dev_states(r, HT_202, OUTOFSERVICE) == 2
                && line_dev_states(r, HT_203, OUTOFSERVICE) == 1
                && state_events(r, ht_old, LINECALLSTATE_IDLE as usize) == 1
        })?;
        // Nothing tells TAPI which list the provider got; its log does. The provider asks for
        // the list right after its login, and the gateway holds the answer back while its
        // first PBX sync waits for the stalled polls.
        wait_for_log(log_file, "logged in to the gateway", logins_before + 1)?;
        std::thread::sleep(std::time::Duration::from_millis(700));
        expect(
            log_count(log_file, "device list received") == lists_before,
            "no device list before the restarted gateway's first PBX sync",
        )?;
        self.sim.post("fault/stall-poll?on=false")?;
        wait("every open line INSERVICE again", |r| {
            line_dev_states(r, HT_201, INSERVICE) == 1
                && line_dev_states(r, HT_202, INSERVICE) == 2
                && line_dev_states(r, HT_203, INSERVICE) == 1
        })?;
        expect(
            log_count(log_file, "device list received lines=0") == empty_lists,
            "the restarted gateway never listed an empty device set",
        )?;
        let (hd_new, ht_new) = self.new_call(HT_203, 5)?;
        wait("the surviving call CONNECTED", |r| {
            connected(r, ht_new, LINECONNECTEDMODE_ACTIVE) == 1
        })?;
        let records = records().clone();
        let changes: Vec<&Record> = records
            .iter()
            .filter(|x| {
                matches!(x, Record::Event { msg, .. }
                    if *msg == LINE_CREATE || *msg == LINE_REMOVE as u32)
            })
            .collect();
        expect(
            changes.len() == 4,
            format!("no LINE_CREATE or LINE_REMOVE after the first four: {changes:?}"),
        )?;
        let mut now = Vec::new();
        for device in 100..104 {
            now.push(line_caps(tsp, device)?);
        }
        expect(
            now == ids,
            format!("line ids after the gateway restart: {ids:?} → {now:?}"),
        )?;
        self.sim.act("hangup", call, "204")?;
        wait("the surviving call IDLE", |r| {
            state_events(r, ht_new, LINECALLSTATE_IDLE as usize) == 1
        })?;
        close_call(tsp, hd_old, ht_old)?;
        close_call(tsp, hd_new, ht_new)?;
        // The monitors of the new gateway work.
        let call = self.sim.dial("202", "201")?;
        let (hd_call, ht_call) = self.offered(HT_201, 4)?;
        self.sim.act("hangup", call, "202")?;
        wait("IDLE", |r| {
            state_events(r, ht_call, LINECALLSTATE_IDLE as usize) == 1
        })?;
        close_call(tsp, hd_call, ht_call)?;
        let (hd_202, ht_202) = self.new_call(HT_202, 3)?;
        wait("202's call IDLE", |r| {
            state_events(r, ht_202, LINECALLSTATE_IDLE as usize) == 1
        })?;
        close_call(tsp, hd_202, ht_202)
    }

    fn line(&self, address: &str) -> Result<&Open, String> {
        self.lines
            .iter()
            .find(|line| line.address == address)
            .ok_or_else(|| format!("line {address} is not open"))
    }

    fn request(&mut self) -> u32 {
        self.next_request += 1;
        self.next_request
    }

    /// An async request on a call that must complete successfully.
    fn request_ok(
        &mut self,
        tsp: &Tsp,
        what: &str,
        hd_call: usize,
        send: impl FnOnce(&Tsp, u32, usize) -> i32,
    ) -> Result<(), String> {
        let request = self.request();
        let result = send(tsp, request, hd_call);
        async_request(what, request, result, 0)
    }

    fn hold(&mut self, tsp: &Tsp, hd_call: usize) -> Result<(), String> {
        self.request_ok(tsp, "lineHold", hd_call, |tsp, request, call| {
            call!(tsp, "TSPI_lineHold", fn(u32, usize), request, call)
        })
    }

    /// lineMakeCall: the new call's handles once the request completed successfully (which
    /// must precede every event of the call), and the simulator's number of the call.
    fn make_call(
        &mut self,
        tsp: &Tsp,
        from: &str,
        to: &str,
    ) -> Result<(usize, usize, u64), String> {
        let hd_line = self.line(from)?.hd_line;
        let ht_call = self.next_made_call;
        self.next_made_call += 1;
        let request = self.request();
        let hd_call = make_call(tsp, request, (hd_line, ht_call), to, 0)?;
        Ok((hd_call, ht_call, self.sim.placed()))
    }

    /// The `index`-th LINE_NEWCALL on a line (0-based), once it came.
    fn new_call(&self, ht_line: usize, index: usize) -> Result<(usize, usize), String> {
        wait(
            &format!("LINE_NEWCALL #{} on {ht_line:#x}", index + 1),
            |_| new_calls(ht_line).len() > index,
        )?;
        let (hd_call, ht_call) = new_calls(ht_line)[index];
        expect(ht_call != 0, "TAPI accepted the call")?;
        Ok((hd_call, ht_call))
    }

    /// The `index`-th new call on a line, offered: LINE_NEWCALL, then OFFERING/ACTIVE.
    fn offered(&self, ht_line: usize, index: usize) -> Result<(usize, usize), String> {
        let (hd_call, ht_call) = self.new_call(ht_line, index)?;
        let records = wait(&format!("OFFERING on {ht_line:#x}"), |r| {
            state_events(r, ht_call, LINECALLSTATE_OFFERING as usize) == 1
        })?;
        let first = records.iter().find(
            |x| matches!(x, Record::Event { ht_call: c, msg, .. } if *c == ht_call && *msg == LINE_CALLSTATE),
        );
        expect(
            matches!(first, Some(Record::Event { p1, p2, .. })
                if *p1 == LINECALLSTATE_OFFERING as usize
                    && *p2 == LINEOFFERINGMODE_ACTIVE as usize),
            format!("the first state of an offered call is OFFERING/ACTIVE: {first:?}"),
        )?;
        Ok((hd_call, ht_call))
    }
}

/// Asks the test script to restart the gateway and waits for its answer.
fn ask_for_restart() -> Result<(), String> {
    println!("harness: restart the gateway");
    std::io::stdout()
        .flush()
        .map_err(|error| format!("stdout: {error}"))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|error| format!("stdin: {error}"))?;
    expect(
        answer.trim() == "restarted",
        format!("the test script answered {answer:?} instead of \"restarted\""),
    )
}

fn log_count(log_file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log_file)
        .map(|text| text.matches(needle).count())
        .unwrap_or(0)
}

/// Waits until the provider's log holds `needle` `count` times. The log is the only witness of
/// what the provider received, so it is read again every 20 ms, at most for LIMIT.
fn wait_for_log(log_file: &Path, needle: &str, count: usize) -> Result<(), String> {
    let deadline = Instant::now() + LIMIT;
    while log_count(log_file, needle) < count {
        if Instant::now() >= deadline {
            return Err(format!(
                "timed out waiting for \"{needle}\" in the provider's log"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

fn dev_status_in_service(tsp: &Tsp, hd_line: usize) -> Result<bool, String> {
    let mut status = structure(512);
    let result = call!(
        tsp,
        "TSPI_lineGetLineDevStatus",
        fn(usize, *mut c_void),
        hd_line,
        status.as_mut_ptr().cast()
    );
    expect(result == 0, format!("LINEDEVSTATUS gave {result:#x}"))?;
    check_sizes("LINEDEVSTATUS", &status)?;
    let dev_status = status.as_ptr().cast::<LINEDEVSTATUS>();
    // SAFETY: a whole LINEDEVSTATUS, read unaligned.
    let flags = unsafe { addr_of!((*dev_status).dwDevStatusFlags).read_unaligned() };
    Ok(flags & LINEDEVSTATUSFLAGS_INSERVICE != 0)
}

/// LINE_CALLSTATE(CONNECTED) messages of a call in one mode.
fn connected(records: &[Record], ht_call: usize, mode: u32) -> usize {
    records
        .iter()
        .filter(|x| {
            matches!(x, Record::Event { msg: LINE_CALLSTATE, ht_call: c, p1, p2, .. }
                if *c == ht_call && *p1 == LINECALLSTATE_CONNECTED as usize && *p2 == mode as usize)
        })
        .count()
}

/// The mode of the call's first LINE_CALLSTATE(`state`).
fn state_mode(records: &[Record], ht_call: usize, state: u32) -> Option<usize> {
    records.iter().find_map(|x| match x {
        Record::Event {
            msg: LINE_CALLSTATE,
            ht_call: c,
            p1,
            p2,
            ..
        } if *c == ht_call && *p1 == state as usize => Some(*p2),
        _ => None,
    })
}

/// LINE_CALLINFO messages of a call with `bit` set.
fn info_changes(records: &[Record], ht_call: usize, bit: u32) -> usize {
    records
        .iter()
        .filter(|x| {
            matches!(x, Record::Event { msg, ht_call: c, p1, .. }
                if *msg == LINE_CALLINFO as u32 && *c == ht_call && *p1 & bit as usize != 0)
        })
        .count()
}

fn address_states(records: &[Record], ht_line: usize) -> usize {
    records
        .iter()
        .filter(|x| {
            matches!(x, Record::Event { msg: LINE_ADDRESSSTATE, ht_line: l, p2, .. }
                if *l == ht_line && *p2 == LINEADDRESSSTATE_FORWARD as usize)
        })
        .count()
}

/// A call's messages, for failure messages: (message, param1, param2).
fn call_records(records: &[Record], ht_call: usize) -> Vec<(u32, usize, usize)> {
    records
        .iter()
        .filter_map(|x| match x {
            Record::Event {
                ht_call: c,
                msg,
                p1,
                p2,
                ..
            } if *c == ht_call => Some((*msg, *p1, *p2)),
            _ => None,
        })
        .collect()
}
