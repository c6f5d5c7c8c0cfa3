//! The scripted-gateway run: every scenario the `scripted-gateway` program can play, driven
//! through its control connection (ring a line, hang up, restart, ...).

use std::ffi::c_void;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::ptr::{self, addr_of};
use std::sync::atomic::Ordering;

use windows_sys::Win32::Devices::Tapi::{LINEADDRESSCAPS, LINECALLSTATUS};

use crate::tapisrv::*;

/// The scripted gateway's control connection.
struct Control {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Control {
    fn connect(port: u16) -> Result<Self, String> {
        let writer = TcpStream::connect(("127.0.0.1", port))
            .map_err(|e| format!("control connection: {e}"))?;
        let reader = BufReader::new(writer.try_clone().map_err(|e| e.to_string())?);
        Ok(Self { writer, reader })
    }

    fn command(&mut self, line: &str) -> Result<String, String> {
        writeln!(self.writer, "{line}").map_err(|e| e.to_string())?;
        let mut reply = String::new();
        self.reader
            .read_line(&mut reply)
            .map_err(|e| e.to_string())?;
        let reply = reply.trim().to_owned();
        match reply.strip_prefix("ok") {
            Some(rest) => Ok(rest.trim().to_owned()),
            None => Err(format!("control {line:?}: {reply}")),
        }
    }
}

struct Opened {
    hd_line: usize,
    permanent_ids: Vec<(String, u32)>,
}

/// `<path of cti-gateway.tsp> <CSTA port> <control port> [--tls <CA file of the gateway>]`
pub(crate) fn main(args: &[String]) -> i32 {
    let tls_ca = match args.len() {
        3 => None,
        5 if args[3] == "--tls" => Some(args[4].clone()),
        _ => {
            eprintln!(
                "usage: tsp-harness <path of cti-gateway.tsp> <CSTA port> <control port> \
                 [--tls <CA file of the gateway>]"
            );
            return 2;
        }
    };
    let (path, port, control_port) = match (args[1].parse::<u16>(), args[2].parse::<u16>()) {
        (Ok(port), Ok(control)) => (args[0].clone(), port, control),
        _ => {
            eprintln!("ports must be numbers");
            return 2;
        }
    };
    let log_file = fresh_log_file();
    let outcome = run(
        &path,
        (port, tls_ca.as_deref()),
        control_port,
        &log_file.display().to_string(),
    );
    report(outcome, &log_file)
}

fn run(
    path: &str,
    (port, tls_ca): (u16, Option<&str>),
    control_port: u16,
    log_file: &str,
) -> Result<(), String> {
    configure(port, tls_ca, "", log_file)?;
    let mut control = Control::connect(control_port)?;

    let tsp = Tsp::load(path)?;
    let opened = first_run(&tsp, &mut control)?;
    shutdown(tsp)?;
    // Nothing may call back now; a stray thread would also crash on the unloaded code.
    control.command("ring 201 +4930999")?;
    control.command("log")?;
    expect(
        VIOLATIONS.lock().map(|v| v.is_empty()).unwrap_or(false),
        "no callback after unload",
    )?;

    // A second start in the same process: the known lines are reported at once, same ids.
    SHUT_DOWN.store(false, Ordering::SeqCst);
    let tsp = Tsp::load(path)?;
    second_run(&tsp, &opened)?;
    shutdown(tsp)?;
    check_requests()?;
    let _ = opened.hd_line;
    control.command("quit")?;
    println!("harness: {} callbacks checked", records().len());
    Ok(())
}

fn first_run(tsp: &Tsp, control: &mut Control) -> Result<Opened, String> {
    let lines = start(tsp, 100)?;
    expect(
        lines == 0,
        format!("a fresh provider reported {lines} lines"),
    )?;
    // The device list arrives: one LINE_CREATE per line on the create procedure.
    create_lines(tsp, 3, 103)?;
    let mut permanent_ids = Vec::new();
    let mut line_201 = None;
    for device in 103..106 {
        negotiate(tsp, device)?;
        let (result, _) = dev_caps(tsp, device, 100);
        expect(
            result == lineerr(0x8000_004D),
            format!("LINEDEVCAPS of 100 bytes gave {result:#x}"),
        )?;
        let (result, fixed) = dev_caps(tsp, device, 292);
        expect(
            result == 0,
            format!("LINEDEVCAPS fixed size gave {result:#x}"),
        )?;
        check_sizes("LINEDEVCAPS (fixed)", &fixed)?;
        expect(
            dword(&fixed, 4) > 292 && dword(&fixed, 8) == 292,
            "a too small LINEDEVCAPS reports the needed size",
        )?;
        let (result, caps) = dev_caps(tsp, device, dword(&fixed, 4) as usize + 16);
        expect(result == 0, format!("LINEDEVCAPS gave {result:#x}"))?;
        check_sizes("LINEDEVCAPS", &caps)?;
        expect(
            dword(&caps, 4) == dword(&caps, 8),
            "everything fits: needed == used",
        )?;
        let (name, id) = caps_of(&caps)?;
        expect(id != 0, "permanent line id set")?;
        if name == "Line 201" {
            line_201 = Some(device);
        }
        permanent_ids.push((name, id));
    }
    let line_201 =
        line_201.ok_or_else(|| format!("no line named \"Line 201\": {permanent_ids:?}"))?;
    let mut caps = structure(1024);
    let result = call!(
        tsp,
        "TSPI_lineGetAddressCaps",
        fn(u32, u32, u32, u32, *mut c_void),
        line_201,
        0,
        0x0003_0000,
        0,
        caps.as_mut_ptr().cast()
    );
    expect(result == 0, format!("LINEADDRESSCAPS gave {result:#x}"))?;
    check_sizes("LINEADDRESSCAPS", &caps)?;
    let flags = {
        let address = caps.as_ptr().cast::<LINEADDRESSCAPS>();
        // SAFETY: a whole LINEADDRESSCAPS, read unaligned.
        unsafe { addr_of!((*address).dwAddrCapFlags).read_unaligned() }
    };
    expect(
        flags & 0xA000 == 0xA000,
        format!("LINEADDRESSCAPS flags {flags:#x} lack TRANSFERMAKE/CONFERENCEMAKE"),
    )?;
    let mut hd_line = 0_usize;
    let result = call!(
        tsp,
        "TSPI_lineOpen",
        fn(u32, usize, *mut usize, u32, LineEventProc),
        line_201,
        HT_LINE,
        &mut hd_line,
        0x0003_0000,
        line_event
    );
    expect(
        result == 0 && hd_line != 0,
        format!("lineOpen gave {result:#x}"),
    )?;
    for (name, result) in [
        (
            "SetDefaultMediaDetection",
            call!(
                tsp,
                "TSPI_lineSetDefaultMediaDetection",
                fn(usize, u32),
                hd_line,
                0x4
            ),
        ),
        (
            "SetStatusMessages",
            call!(
                tsp,
                "TSPI_lineSetStatusMessages",
                fn(usize, u32, u32),
                hd_line,
                0xFFFF_FFFF,
                0xFFFF_FFFF
            ),
        ),
    ] {
        expect(result == 0, format!("{name} gave {result:#x}"))?;
    }
    control.command("wait-monitor 201")?;

    incoming_call(tsp, control, hd_line)?;
    outgoing_call(tsp, hd_line)?;
    transfer_and_forward(tsp, control, hd_line)?;
    refused_new_call(tsp, control)?;
    let held = consultation(tsp, control, hd_line, 60)?;
    complete_transfer(tsp, held, 0)?;
    let held = consultation(tsp, control, hd_line, 70)?;
    complete_transfer(tsp, held, 0x3_0000_0100)?;
    bad_requests(tsp, line_201, hd_line)?;

    // Gateway restart: out of service, then back.
    control.command("restart")?;
    wait("LINEDEVSTATE OUTOFSERVICE", |r| {
        dev_state_events(r, OUTOFSERVICE) == 1
    })?;
    wait("LINEDEVSTATE INSERVICE", |r| {
        dev_state_events(r, INSERVICE) == 1
    })?;

    let result = call!(tsp, "TSPI_lineClose", fn(usize), hd_line);
    expect(result == 0, format!("lineClose gave {result:#x}"))?;
    Ok(Opened {
        hd_line,
        permanent_ids,
    })
}

fn incoming_call(tsp: &Tsp, control: &mut Control, hd_line: usize) -> Result<(), String> {
    control.command("ring 201 +4930123456")?;
    let records = wait("LINE_NEWCALL and OFFERING", |r| {
        r.iter().any(|x| {
            matches!(
                x,
                Record::Event {
                    msg: LINE_CALLSTATE,
                    p1: OFFERING,
                    ..
                }
            )
        })
    })?;
    let index = records
        .iter()
        .position(|x| {
            matches!(
                x,
                Record::Event {
                    msg: LINE_NEWCALL,
                    ..
                }
            )
        })
        .ok_or("no LINE_NEWCALL before OFFERING")?;
    let (hd_call, ht_call) = match &records[index] {
        Record::Event { p1, ht_line, .. } => {
            expect(
                *ht_line == HT_LINE,
                format!("LINE_NEWCALL on htLine {ht_line:#x}"),
            )?;
            (*p1, FIRST_TAPI_CALL)
        }
        _ => unreachable!(),
    };
    expect(
        matches!(records.get(index + 1), Some(Record::Event { msg: LINE_CALLSTATE, p1: OFFERING, ht_call: c, p2: 1, .. }) if *c == ht_call),
        format!(
            "OFFERING/ACTIVE for htCall {ht_call:#x} right after LINE_NEWCALL: {:?}",
            records.get(index + 1)
        ),
    )?;

    let info = call_info(tsp, hd_call)?;
    expect(
        info.h_line == 0xA5A5_A5A5,
        "LINECALLINFO.hLine belongs to TAPI and stays",
    )?;
    expect(
        info.caller_flags & 0x8 != 0 && info.caller == "+4930123456",
        format!("caller id: {info:?}"),
    )?;
    expect(
        info.origin == 0x4,
        format!("origin {:#x}, expected EXTERNAL", info.origin),
    )?;
    call_info_too_small(tsp, hd_call)?;

    let result = user_info_request(tsp, "TSPI_lineAnswer", 11, hd_call);
    async_request("lineAnswer", 11, result, 0)?;
    wait("CONNECTED", |r| state_events(r, ht_call, CONNECTED) == 1)?;
    let mut status = structure(256);
    let result = call!(
        tsp,
        "TSPI_lineGetCallStatus",
        fn(usize, *mut c_void),
        hd_call,
        status.as_mut_ptr().cast()
    );
    let call_status = status.as_ptr().cast::<LINECALLSTATUS>();
    // SAFETY: a whole LINECALLSTATUS, read unaligned.
    let (state, privilege, features) = unsafe {
        (
            addr_of!((*call_status).dwCallState).read_unaligned(),
            addr_of!((*call_status).dwCallPrivilege).read_unaligned(),
            addr_of!((*call_status).dwCallFeatures).read_unaligned(),
        )
    };
    expect(
        result == 0 && state == 0x100,
        format!("LINECALLSTATUS gave {result:#x}, state {state:#x}"),
    )?;
    expect(
        privilege == 0xA5A5_A5A5,
        "dwCallPrivilege belongs to TAPI and stays",
    )?;
    expect(
        features & 0x800 != 0,
        format!("a connected call can be held: features {features:#x}"),
    )?;

    let result = call!(tsp, "TSPI_lineHold", fn(u32, usize), 12, hd_call);
    async_request("lineHold", 12, result, 0)?;
    wait("ONHOLD", |r| state_events(r, ht_call, ONHOLD) == 1)?;
    let result = call!(tsp, "TSPI_lineUnhold", fn(u32, usize), 13, hd_call);
    async_request("lineUnhold", 13, result, 0)?;
    wait("CONNECTED after unhold", |r| {
        state_events(r, ht_call, CONNECTED) == 2
    })?;
    let result = user_info_request(tsp, "TSPI_lineDrop", 14, hd_call);
    async_request("lineDrop", 14, result, 0)?;
    wait("IDLE", |r| state_events(r, ht_call, IDLE) == 1)?;
    close_call(tsp, hd_call, ht_call)?;
    let result = call!(tsp, "TSPI_lineCloseCall", fn(usize), hd_call);
    expect(
        result == lineerr(0x8000_0018),
        format!("closing a closed call gave {result:#x}"),
    )?;
    let _ = hd_line;
    Ok(())
}

fn outgoing_call(tsp: &Tsp, hd_line: usize) -> Result<(), String> {
    let ht_call = 0x3_0000_0001_usize;
    let hd_call = make_call(tsp, 21, (hd_line, ht_call), "202", 0)?;
    let records = wait("CONNECTED of the made call", |r| {
        state_events(r, ht_call, CONNECTED) == 1
    })?;
    let completed = records.iter().position(|x| {
        *x == Record::Completion {
            request: 21,
            result: 0,
        }
    });
    let first_event = records
        .iter()
        .position(|x| matches!(x, Record::Event { ht_call: c, .. } if *c == ht_call));
    expect(
        completed < first_event,
        "no event for a made call before its completion",
    )?;
    expect(
        !records
            .iter()
            .any(|x| matches!(x, Record::Event { msg: LINE_NEWCALL, p1, .. } if *p1 == hd_call)),
        "no LINE_NEWCALL for a call TAPI created",
    )?;
    let result = user_info_request(tsp, "TSPI_lineDrop", 22, hd_call);
    async_request("lineDrop (made call)", 22, result, 0)?;
    wait("IDLE of the made call", |r| {
        state_events(r, ht_call, IDLE) == 1
    })?;
    close_call(tsp, hd_call, ht_call)?;

    make_call(tsp, 23, (hd_line, ht_call + 1), "999", lineerr(0x8000_0010)).map(drop)
}

fn transfer_and_forward(tsp: &Tsp, control: &mut Control, hd_line: usize) -> Result<(), String> {
    control.command("ring 201 203")?;
    let records = wait("the second incoming call", |r| {
        r.iter()
            .filter(|x| {
                matches!(
                    x,
                    Record::Event {
                        msg: LINE_NEWCALL,
                        ..
                    }
                )
            })
            .count()
            == 2
    })?;
    let hd_call = last_new_call(&records)?;
    let ht_call = FIRST_TAPI_CALL + 1;
    wait("OFFERING of the second call", |r| {
        state_events(r, ht_call, OFFERING) == 1
    })?;
    let result = user_info_request(tsp, "TSPI_lineAnswer", 31, hd_call);
    async_request("lineAnswer (second call)", 31, result, 0)?;
    wait("CONNECTED (second call)", |r| {
        state_events(r, ht_call, CONNECTED) == 1
    })?;
    let destination = wide("202");
    let result = call!(
        tsp,
        "TSPI_lineBlindTransfer",
        fn(u32, usize, *const u16, u32),
        32,
        hd_call,
        destination.as_ptr(),
        0
    );
    async_request("lineBlindTransfer", 32, result, 0)?;
    wait("IDLE after the transfer", |r| {
        state_events(r, ht_call, IDLE) == 1
    })?;
    close_call(tsp, hd_call, ht_call)?;

    forward(tsp, 41, hd_line, Some("300"))?;
    wait("LINE_ADDRESSSTATE FORWARD", |r| {
        r.iter().any(|x| {
            matches!(
                x,
                Record::Event {
                    msg: LINE_ADDRESSSTATE,
                    p2: 0x40,
                    ht_line: HT_LINE,
                    ..
                }
            )
        })
    })?;
    let found = forward_list(tsp, hd_line)?;
    expect(found == ["300"], format!("forwards {found:?}"))?;
    forward(tsp, 42, hd_line, None)
}

/// Two calls at line 201 as TAPI applications set up a transfer or conference (the
/// TRANSFERHELD/TRANSFERMAKE model): an answered incoming call put on hold, and a new call.
/// Returns (held hdCall, its htCall, consultation hdCall, its htCall).
fn consultation(
    tsp: &Tsp,
    control: &mut Control,
    hd_line: usize,
    request: u32,
) -> Result<(usize, usize, usize, usize), String> {
    let ht_held = NEXT_CALL.load(Ordering::SeqCst);
    control.command("ring 201 203")?;
    let records = wait("OFFERING of the call to consult about", |r| {
        state_events(r, ht_held, OFFERING) == 1
    })?;
    let hd_held = last_new_call(&records)?;
    let result = user_info_request(tsp, "TSPI_lineAnswer", request + 1, hd_held);
    async_request("lineAnswer", request + 1, result, 0)?;
    wait("CONNECTED", |r| state_events(r, ht_held, CONNECTED) == 1)?;
    let result = call!(tsp, "TSPI_lineHold", fn(u32, usize), request + 2, hd_held);
    async_request("lineHold", request + 2, result, 0)?;
    wait("ONHOLD", |r| state_events(r, ht_held, ONHOLD) == 1)?;
    let ht_consult = 0x3_0000_0000 + request as usize;
    let hd_consult = make_call(tsp, request + 3, (hd_line, ht_consult), "202", 0)?;
    wait("CONNECTED consultation call", |r| {
        state_events(r, ht_consult, CONNECTED) == 1
    })?;
    Ok((hd_held, ht_held, hd_consult, ht_consult))
}

/// lineCompleteTransfer of the two calls: a transfer (`ht_conf_call` 0) ends both; a
/// conference creates TAPI's conference call, which no event may precede and which the
/// participants name in LINE_CALLSTATE(CONFERENCED).
fn complete_transfer(
    tsp: &Tsp,
    (hd_held, ht_held, hd_consult, ht_consult): (usize, usize, usize, usize),
    ht_conf_call: usize,
) -> Result<(), String> {
    let request = 0x100 + (ht_consult & 0xFF) as u32;
    let mut hd_conf_call = 0_usize;
    let mode = if ht_conf_call == 0 { 1 } else { 2 };
    if ht_conf_call != 0 {
        creates_call(request, ht_conf_call);
    }
    let result = call!(
        tsp,
        "TSPI_lineCompleteTransfer",
        fn(u32, usize, usize, usize, *mut usize, u32),
        request,
        hd_held,
        hd_consult,
        ht_conf_call,
        &mut hd_conf_call,
        mode
    );
    async_request("lineCompleteTransfer", request, result, 0)?;
    if ht_conf_call == 0 {
        wait("both calls IDLE after the transfer", |r| {
            state_events(r, ht_held, IDLE) == 1 && state_events(r, ht_consult, IDLE) == 1
        })?;
    } else {
        expect(
            hd_conf_call != 0,
            "lineCompleteTransfer filled lphdConfCall",
        )?;
        let records = wait("the conference", |r| {
            state_events(r, ht_conf_call, CONNECTED) == 1
                && state_events(r, ht_held, CONFERENCED) == 1
                && state_events(r, ht_consult, CONFERENCED) == 1
        })?;
        let completed = records
            .iter()
            .position(|x| *x == Record::Completion { request, result: 0 });
        let first = records
            .iter()
            .position(|x| matches!(x, Record::Event { ht_call, .. } if *ht_call == ht_conf_call));
        expect(
            completed < first,
            "no event for the conference call before its completion",
        )?;
        let parents_named = records.iter().all(|x| match x {
            Record::Event {
                msg: LINE_CALLSTATE,
                p1: CONFERENCED,
                p2,
                ..
            } => *p2 == ht_conf_call,
            _ => true,
        });
        expect(
            parents_named,
            "CONFERENCED names TAPI's conference call in dwParam2",
        )?;
        let result = user_info_request(tsp, "TSPI_lineDrop", request + 1, hd_conf_call);
        async_request("lineDrop (conference)", request + 1, result, 0)?;
        wait("the conference and its parties IDLE", |r| {
            state_events(r, ht_conf_call, IDLE) == 1
                && state_events(r, ht_held, IDLE) == 1
                && state_events(r, ht_consult, IDLE) == 1
        })?;
    }
    for (hd_call, ht_call) in [
        (hd_held, ht_held),
        (hd_consult, ht_consult),
        (hd_conf_call, ht_conf_call),
    ] {
        if hd_call != 0 {
            close_call(tsp, hd_call, ht_call)?;
        }
    }
    Ok(())
}

/// TAPI refuses a LINE_NEWCALL: nothing more may be said about that call; the next call works.
fn refused_new_call(tsp: &Tsp, control: &mut Control) -> Result<(), String> {
    let new_calls = |r: &[Record]| {
        r.iter()
            .filter(|x| {
                matches!(
                    x,
                    Record::Event {
                        msg: LINE_NEWCALL,
                        ..
                    }
                )
            })
            .count()
    };
    let before = new_calls(&records());
    REFUSE_NEXT_CALL.store(true, Ordering::SeqCst);
    let refused = control.command("ring 201 202")?;
    wait("the refused LINE_NEWCALL", |r| new_calls(r) == before + 1)?;
    control.command(&format!("hangup {refused} 202"))?;
    // The handle the next LINE_NEWCALL gets, read before the call can arrive.
    let ht_call = NEXT_CALL.load(Ordering::SeqCst);
    let accepted = control.command("ring 201 203")?;
    let records = wait("OFFERING of the call after the refused one", |r| {
        state_events(r, ht_call, OFFERING) == 1
    })?;
    expect(
        !records.iter().any(|x| {
            matches!(
                x,
                Record::Event {
                    msg: LINE_CALLSTATE,
                    ht_call: 0,
                    ..
                }
            )
        }),
        "no LINE_CALLSTATE for a call TAPI refused",
    )?;
    let hd_call = last_new_call(&records)?;
    control.command(&format!("hangup {accepted} 203"))?;
    wait("IDLE after the caller hung up", |r| {
        state_events(r, ht_call, IDLE) == 1
    })?;
    close_call(tsp, hd_call, ht_call)
}

fn bad_requests(tsp: &Tsp, device: u32, hd_line: usize) -> Result<(), String> {
    bad_inputs(tsp, device, hd_line, 51)?;
    let result = call!(
        tsp,
        "TSPI_linePark",
        fn(u32, usize, u32, *const u16, *mut c_void),
        81,
        0xBAD_CA11,
        0,
        ptr::null(),
        ptr::null_mut()
    );
    refused("linePark", 81, result, lineerr(0x8000_0049))?;
    let result = call!(
        tsp,
        "TSPI_lineSetupTransfer",
        fn(u32, usize, usize, *mut usize, *const c_void),
        82,
        0xBAD_CA11,
        1,
        ptr::null_mut(),
        ptr::null()
    );
    refused("lineSetupTransfer", 82, result, lineerr(0x8000_0049))?;
    let mut name = vec![0_u16; 260];
    let result = call!(
        tsp,
        "TSPI_providerUIIdentify",
        fn(*mut u16),
        name.as_mut_ptr()
    );
    let name = String::from_utf16_lossy(&name[..name.iter().position(|u| *u == 0).unwrap_or(0)]);
    expect(
        result == 0 && name.to_ascii_lowercase().ends_with(".tsp"),
        format!("UI DLL {name:?} ({result:#x})"),
    )
}

fn second_run(tsp: &Tsp, first: &Opened) -> Result<(), String> {
    second_start(tsp, 200, &first.permanent_ids)
}
