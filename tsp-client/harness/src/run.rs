//! The harness proper (Windows only).

use std::ffi::c_void;
use std::fmt::Display;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::ptr::{self, addr_of};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use windows_sys::Win32::Devices::Tapi::{
    LINEADDRESSCAPS, LINEADDRESSSTATUS, LINECALLINFO, LINECALLSTATUS, LINEDEVCAPS,
};
use windows_sys::Win32::Foundation::{FreeLibrary, HMODULE, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData,
};
use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};
use windows_sys::Win32::System::Registry::{
    HKEY_LOCAL_MACHINE, REG_BINARY, REG_DWORD, REG_SZ, RegDeleteKeyValueW, RegSetKeyValueW,
};

const CONFIG_KEY: &str = "SOFTWARE\\cti-gateway\\TSP";
const STATE_KEY: &str = "SOFTWARE\\cti-gateway\\TSP\\State";
/// Every wait is bounded.
const LIMIT: Duration = Duration::from_secs(15);
/// TAPI handles above 4 GiB catch any 32-bit truncation.
const H_PROVIDER: usize = 0x1_2345_6789;
const HT_LINE: usize = 0x1_0000_0201;
const FIRST_TAPI_CALL: usize = 0x2_0000_0001;
const PERMANENT_PROVIDER_ID: u32 = 7;
const SENTINEL: u8 = 0xA5;

const LINE_ADDRESSSTATE: u32 = 0;
const LINE_CALLSTATE: u32 = 2;
const LINE_LINEDEVSTATE: u32 = 8;
const LINE_CREATE: u32 = 19;
const LINE_NEWCALL: u32 = 500;
const IDLE: usize = 0x1;
const OFFERING: usize = 0x2;
const CONNECTED: usize = 0x100;
const ONHOLD: usize = 0x400;
const CONFERENCED: usize = 0x800;
const OUTOFSERVICE: usize = 0x80;
const INSERVICE: usize = 0x40;

fn lineerr(code: u32) -> i32 {
    code as i32
}

const EXPORTS: &[&str] = &[
    "TSPI_lineAnswer",
    "TSPI_lineBlindTransfer",
    "TSPI_lineClose",
    "TSPI_lineCloseCall",
    "TSPI_lineCompleteTransfer",
    "TSPI_lineDevSpecific",
    "TSPI_lineDevSpecificFeature",
    "TSPI_lineDial",
    "TSPI_lineDrop",
    "TSPI_lineForward",
    "TSPI_lineGenerateDigits",
    "TSPI_lineGetAddressCaps",
    "TSPI_lineGetAddressID",
    "TSPI_lineGetAddressStatus",
    "TSPI_lineGetCallAddressID",
    "TSPI_lineGetCallHubTracking",
    "TSPI_lineGetCallIDs",
    "TSPI_lineGetCallInfo",
    "TSPI_lineGetCallStatus",
    "TSPI_lineGetDevCaps",
    "TSPI_lineGetExtensionID",
    "TSPI_lineGetID",
    "TSPI_lineGetLineDevStatus",
    "TSPI_lineGetNumAddressIDs",
    "TSPI_lineHold",
    "TSPI_lineMakeCall",
    "TSPI_lineNegotiateExtVersion",
    "TSPI_lineNegotiateTSPIVersion",
    "TSPI_lineOpen",
    "TSPI_linePark",
    "TSPI_linePickup",
    "TSPI_lineRedirect",
    "TSPI_lineSelectExtVersion",
    "TSPI_lineSendUserUserInfo",
    "TSPI_lineSetAppSpecific",
    "TSPI_lineSetCallData",
    "TSPI_lineSetCallHubTracking",
    "TSPI_lineSetCallParams",
    "TSPI_lineSetCurrentLocation",
    "TSPI_lineSetDefaultMediaDetection",
    "TSPI_lineSetMediaMode",
    "TSPI_lineSetStatusMessages",
    "TSPI_lineSetupTransfer",
    "TSPI_lineSwapHold",
    "TSPI_lineUnhold",
    "TSPI_lineUnpark",
    "TSPI_providerConfig",
    "TSPI_providerCreateLineDevice",
    "TSPI_providerEnumDevices",
    "TSPI_providerGenericDialogData",
    "TSPI_providerInit",
    "TSPI_providerInstall",
    "TSPI_providerRemove",
    "TSPI_providerShutdown",
    "TSPI_providerUIIdentify",
    "TUISPI_providerConfig",
    "TUISPI_providerInstall",
    "TUISPI_providerRemove",
];

type LineEventProc = unsafe extern "system" fn(usize, usize, u32, usize, usize, usize);
type CompletionProc = unsafe extern "system" fn(u32, i32);

#[derive(Clone, Debug, PartialEq)]
enum Record {
    Completion {
        request: u32,
        result: i32,
    },
    Event {
        ht_line: usize,
        ht_call: usize,
        msg: u32,
        p1: usize,
        p2: usize,
    },
}

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
static CHANGED: Condvar = Condvar::new();
static VIOLATIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static INSIDE: AtomicBool = AtomicBool::new(false);
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
static NEXT_CALL: AtomicUsize = AtomicUsize::new(FIRST_TAPI_CALL);
/// When set, the next LINE_NEWCALL is refused (TAPI writes no handle, as when overloaded).
static REFUSE_NEXT_CALL: AtomicBool = AtomicBool::new(false);
/// Requests that returned their id (expect one completion) or an error (expect none).
static REQUESTS: Mutex<Vec<(u32, bool)>> = Mutex::new(Vec::new());

fn records() -> MutexGuard<'static, Vec<Record>> {
    RECORDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn violation(what: impl Display) {
    let text = what.to_string();
    eprintln!("VIOLATION: {text}");
    VIOLATIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(text);
}

fn enter() {
    if INSIDE.swap(true, Ordering::SeqCst) {
        violation("two callbacks ran at the same time");
    }
    if SHUT_DOWN.load(Ordering::SeqCst) {
        violation("callback after TSPI_providerShutdown returned");
    }
}

fn leave(record: Record) {
    records().push(record);
    INSIDE.store(false, Ordering::SeqCst);
    CHANGED.notify_all();
}

unsafe extern "system" fn completion(request: u32, result: i32) {
    enter();
    leave(Record::Completion { request, result });
}

unsafe extern "system" fn line_event(
    ht_line: usize,
    ht_call: usize,
    msg: u32,
    p1: usize,
    p2: usize,
    _p3: usize,
) {
    enter();
    if msg == LINE_NEWCALL {
        if p2 == 0 {
            violation("LINE_NEWCALL without a place for TAPI's handle");
        } else if !REFUSE_NEXT_CALL.swap(false, Ordering::SeqCst) {
            let ht = NEXT_CALL.fetch_add(1, Ordering::SeqCst);
            // SAFETY: LINE_NEWCALL's dwParam2 is the provider's pointer-sized slot for htCall.
            unsafe { (p2 as *mut usize).write_unaligned(ht) };
        }
    }
    leave(Record::Event {
        ht_line,
        ht_call,
        msg,
        p1,
        p2,
    });
}

/// Calls lineAnswer or lineDrop (same signature) without user-user information.
fn user_info_request(tsp: &Tsp, export: &str, request: u32, call: usize) -> i32 {
    let symbol = format!("{export}\0");
    // SAFETY: the module is loaded; the name is NUL-terminated.
    match unsafe { GetProcAddress(tsp.module, symbol.as_ptr()) } {
        None => {
            violation(format!("{export} is not exported"));
            -1
        }
        Some(address) => {
            type Request = unsafe extern "system" fn(u32, usize, *const u8, u32) -> i32;
            // SAFETY: TSPI_lineAnswer and TSPI_lineDrop both have this signature (tspi.h).
            let function: Request = unsafe { std::mem::transmute(address) };
            // SAFETY: a NULL user-user information pointer with size 0 is allowed.
            unsafe { function(request, call, ptr::null(), 0) }
        }
    }
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The loaded provider with the entry points the harness calls.
struct Tsp {
    module: HMODULE,
}

macro_rules! call {
    ($tsp:expr, $name:literal, fn($($ty:ty),*), $($arg:expr),*) => {{
        let symbol = concat!($name, "\0");
        // SAFETY: the module is loaded; the name is NUL-terminated.
        let address = unsafe { GetProcAddress($tsp.module, symbol.as_ptr()) };
        match address {
            None => {
                violation(format!("{} is not exported", $name));
                -1
            }
            Some(address) => {
                // SAFETY: the export has this signature (tspi.h); all TSPI functions are
                // `LONG WINAPI` = extern "system" returning i32.
                let function: unsafe extern "system" fn($($ty),*) -> i32 = unsafe { std::mem::transmute(address) };
                // SAFETY: the arguments follow the TSPI contract (that is what is tested).
                unsafe { function($($arg),*) }
            }
        }
    }};
}

impl Tsp {
    fn load(path: &str) -> Result<Self, String> {
        let name = wide(path);
        // SAFETY: NUL-terminated path.
        let module = unsafe { LoadLibraryW(name.as_ptr()) };
        if module.is_null() {
            return Err(format!("LoadLibraryW({path}) failed"));
        }
        for export in EXPORTS {
            let symbol = format!("{export}\0");
            // SAFETY: loaded module, NUL-terminated name.
            if unsafe { GetProcAddress(module, symbol.as_ptr()) }.is_none() {
                violation(format!("{export} is not exported"));
            }
        }
        Ok(Self { module })
    }

    fn unload(self) -> Result<(), String> {
        // SAFETY: the module was loaded by `load` and its threads were joined by shutdown.
        if unsafe { FreeLibrary(self.module) } == 0 {
            return Err("FreeLibrary failed".to_owned());
        }
        Ok(())
    }
}

fn set_string(name: &str, value: &str) -> Result<(), String> {
    set_value(
        name,
        REG_SZ,
        &wide(value)
            .iter()
            .flat_map(|unit| unit.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

fn set_value(name: &str, kind: u32, data: &[u8]) -> Result<(), String> {
    let (key, value) = (wide(CONFIG_KEY), wide(name));
    // SAFETY: NUL-terminated names, `data` valid for its length.
    let status = unsafe {
        RegSetKeyValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            kind,
            data.as_ptr().cast(),
            data.len() as u32,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(format!(
            "cannot write registry value {name}: error {status}"
        ))
    }
}

fn protect(secret: &str) -> Result<Vec<u8>, String> {
    let input = CRYPT_INTEGER_BLOB {
        cbData: secret.len() as u32,
        pbData: secret.as_ptr() as *mut u8,
    };
    let mut output = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: ptr::null_mut(),
    };
    // SAFETY: `input` points at `secret`; DPAPI allocates the output with LocalAlloc.
    let ok = unsafe {
        CryptProtectData(
            &input,
            ptr::null(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN,
            &mut output,
        )
    };
    if ok == 0 {
        return Err("CryptProtectData failed".to_owned());
    }
    // SAFETY: on success pbData holds cbData bytes, freed right after copying.
    let blob =
        unsafe { std::slice::from_raw_parts(output.pbData, output.cbData as usize) }.to_vec();
    // SAFETY: allocated by DPAPI with LocalAlloc.
    unsafe { LocalFree(output.pbData.cast()) };
    Ok(blob)
}

/// Writes the provider's configuration: plain TCP, or TLS verified against `tls_ca`.
fn configure(port: u16, tls_ca: Option<&str>, log_file: &str) -> Result<(), String> {
    set_string("Server", "127.0.0.1")?;
    set_value("Port", REG_DWORD, &u32::from(port).to_le_bytes())?;
    let tls = u32::from(tls_ca.is_some());
    set_value("Tls", REG_DWORD, &tls.to_le_bytes())?;
    if let Some(ca) = tls_ca {
        set_string("TlsCaFile", ca)?;
        set_string("TlsServerName", "localhost")?;
    }
    set_string("User", "tsp")?;
    set_value("Password", REG_BINARY, &protect("secret")?)?;
    set_value("ReconnectMaxSeconds", REG_DWORD, &1_u32.to_le_bytes())?;
    set_string("LogFile", log_file)?;
    set_string("LogLevel", "debug")?;
    let (key, value) = (wide(STATE_KEY), wide("LineIds"));
    // SAFETY: NUL-terminated names; a missing value is fine.
    unsafe { RegDeleteKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), value.as_ptr()) };
    Ok(())
}

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

/// Waits until `done` holds for the records.
fn wait(what: &str, done: impl Fn(&[Record]) -> bool) -> Result<Vec<Record>, String> {
    let deadline = Instant::now() + LIMIT;
    let mut guard = records();
    loop {
        if done(&guard) {
            return Ok(guard.clone());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "timed out waiting for {what}; callbacks so far: {:#?}",
                *guard
            ));
        }
        guard = CHANGED
            .wait_timeout(guard, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

fn expect(condition: bool, what: impl Display) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

/// An async request must return its id; its completion is awaited and checked.
fn async_request(what: &str, request: u32, returned: i32, expected: i32) -> Result<(), String> {
    REQUESTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((request, returned > 0));
    expect(
        returned == request as i32,
        format!("{what} returned {returned:#x}, not its request id {request}"),
    )?;
    let records = wait(&format!("the completion of {what}"), |r| {
        r.iter()
            .any(|x| matches!(x, Record::Completion { request: id, .. } if *id == request))
    })?;
    let result = records.iter().find_map(|x| match x {
        Record::Completion {
            request: id,
            result,
        } if *id == request => Some(*result),
        _ => None,
    });
    expect(
        result == Some(expected),
        format!("{what} completed with {result:?}, expected {expected:#x}"),
    )
}

fn refused(what: &str, request: u32, returned: i32, expected: i32) -> Result<(), String> {
    REQUESTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((request, false));
    expect(
        returned == expected,
        format!("{what} returned {returned:#x}, expected {expected:#x}"),
    )
}

fn state_events(records: &[Record], ht_call: usize, state: usize) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, Record::Event { msg: LINE_CALLSTATE, ht_call: c, p1, .. } if *c == ht_call && *p1 == state))
        .count()
}

fn dev_state_events(records: &[Record], state: usize) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, Record::Event { msg: LINE_LINEDEVSTATE, p1, ht_line: HT_LINE, .. } if *p1 == state))
        .count()
}

/// The driver handle of the latest LINE_NEWCALL.
fn last_new_call(records: &[Record]) -> Result<usize, String> {
    records
        .iter()
        .rev()
        .find_map(|x| match x {
            Record::Event {
                msg: LINE_NEWCALL,
                p1,
                ..
            } => Some(*p1),
            _ => None,
        })
        .ok_or_else(|| "no LINE_NEWCALL".to_owned())
}

/// A TAPI structure buffer pre-filled with sentinels.
fn structure(total: usize) -> Vec<u8> {
    let mut buf = vec![SENTINEL; total];
    buf[..4].copy_from_slice(&(total as u32).to_le_bytes());
    buf
}

fn dword(buf: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        buf[offset],
        buf[offset + 1],
        buf[offset + 2],
        buf[offset + 3],
    ])
}

fn text_at(buf: &[u8], size: u32, offset: u32) -> Result<String, String> {
    let (size, offset) = (size as usize, offset as usize);
    let bytes = buf
        .get(offset..offset + size)
        .ok_or("string outside the structure")?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .take_while(|u| *u != 0)
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

/// The common size rules: dwTotalSize kept, used ≤ total, needed ≥ used, nothing written
/// past dwUsedSize.
fn check_sizes(name: &str, buf: &[u8]) -> Result<(), String> {
    let (total, needed, used) = (
        dword(buf, 0) as usize,
        dword(buf, 4) as usize,
        dword(buf, 8) as usize,
    );
    expect(
        total == buf.len(),
        format!("{name}: dwTotalSize changed to {total}"),
    )?;
    expect(
        used <= total && needed >= used,
        format!("{name}: needed {needed}, used {used}, total {total}"),
    )?;
    expect(
        buf[used..].iter().all(|b| *b == SENTINEL),
        format!("{name}: bytes written past dwUsedSize"),
    )
}

struct Opened {
    hd_line: usize,
    permanent_ids: Vec<(String, u32)>,
}

pub(crate) fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let tls_ca = match args.len() {
        4 => None,
        6 if args[4] == "--tls" => Some(args[5].clone()),
        _ => {
            eprintln!(
                "usage: tsp-harness <path of cti-gateway.tsp> <CSTA port> <control port> \
                 [--tls <CA file of the gateway>]"
            );
            return 2;
        }
    };
    let (path, port, control_port) = match (args[2].parse::<u16>(), args[3].parse::<u16>()) {
        (Ok(port), Ok(control)) => (args[1].clone(), port, control),
        _ => {
            eprintln!("ports must be numbers");
            return 2;
        }
    };
    let log_file = std::env::temp_dir().join("cti-gateway-tsp-harness.log");
    let _ = std::fs::remove_file(&log_file);
    let outcome = run(
        &path,
        (port, tls_ca.as_deref()),
        control_port,
        &log_file.display().to_string(),
    );
    let violations = VIOLATIONS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match (&outcome, violations.is_empty()) {
        (Ok(()), true) => {
            println!("harness: all checks passed");
            0
        }
        _ => {
            if let Err(error) = &outcome {
                eprintln!("FAILED: {error}");
            }
            for violation in &violations {
                eprintln!("FAILED: {violation}");
            }
            if let Ok(log) = std::fs::read_to_string(&log_file) {
                eprintln!("--- provider log ---\n{log}");
            }
            1
        }
    }
}

fn run(
    path: &str,
    (port, tls_ca): (u16, Option<&str>),
    control_port: u16,
    log_file: &str,
) -> Result<(), String> {
    configure(port, tls_ca, log_file)?;
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

fn shutdown(tsp: Tsp) -> Result<(), String> {
    let result = call!(
        tsp,
        "TSPI_providerShutdown",
        fn(u32, u32),
        0x0003_0000,
        PERMANENT_PROVIDER_ID
    );
    expect(
        result == 0,
        format!("TSPI_providerShutdown returned {result:#x}"),
    )?;
    SHUT_DOWN.store(true, Ordering::SeqCst);
    tsp.unload()
}

fn negotiate(tsp: &Tsp, device: u32) -> Result<u32, String> {
    let mut version = 0_u32;
    let result = call!(
        tsp,
        "TSPI_lineNegotiateTSPIVersion",
        fn(u32, u32, u32, *mut u32),
        device,
        0x0001_0003,
        0x0003_0001,
        &mut version
    );
    expect(
        result == 0,
        format!("negotiation for {device:#x} returned {result:#x}"),
    )?;
    expect(
        version == 0x0003_0000,
        format!("negotiated {version:#x}, expected 0x30000"),
    )?;
    Ok(version)
}

fn start(tsp: &Tsp, base: u32) -> Result<u32, String> {
    negotiate(tsp, 0xFFFF_FFFF)?;
    let mut too_old = 0_u32;
    let result = call!(
        tsp,
        "TSPI_lineNegotiateTSPIVersion",
        fn(u32, u32, u32, *mut u32),
        0xFFFF_FFFF,
        0x0001_0003,
        0x0001_0004,
        &mut too_old
    );
    expect(
        result == lineerr(0x8000_000C),
        format!("negotiating only TAPI 1.x returned {result:#x}"),
    )?;
    let (mut lines, mut phones) = (u32::MAX, u32::MAX);
    let create: LineEventProc = line_event;
    let result = call!(
        tsp,
        "TSPI_providerEnumDevices",
        fn(u32, *mut u32, *mut u32, usize, LineEventProc, usize),
        PERMANENT_PROVIDER_ID,
        &mut lines,
        &mut phones,
        H_PROVIDER,
        create,
        0
    );
    expect(
        result == 0 && phones == 0,
        format!("TSPI_providerEnumDevices returned {result:#x}, {phones} phones"),
    )?;
    let mut options = u32::MAX;
    let completion_proc: CompletionProc = completion;
    let result = call!(
        tsp,
        "TSPI_providerInit",
        fn(u32, u32, u32, u32, usize, usize, CompletionProc, *mut u32),
        0x0003_0000,
        PERMANENT_PROVIDER_ID,
        base,
        0,
        lines as usize,
        0,
        completion_proc,
        &mut options
    );
    expect(
        result == 0,
        format!("TSPI_providerInit returned {result:#x}"),
    )?;
    expect(options == 0, format!("TSPI options {options:#x}"))?;
    Ok(lines)
}

fn dev_caps(tsp: &Tsp, device: u32, total: usize) -> (i32, Vec<u8>) {
    let mut buf = structure(total);
    let result = call!(
        tsp,
        "TSPI_lineGetDevCaps",
        fn(u32, u32, u32, *mut c_void),
        device,
        0x0003_0000,
        0,
        buf.as_mut_ptr().cast()
    );
    (result, buf)
}

/// Reads name and permanent id through the windows-sys layout of LINEDEVCAPS.
fn caps_of(buf: &[u8]) -> Result<(String, u32), String> {
    let caps = buf.as_ptr().cast::<LINEDEVCAPS>();
    // SAFETY: `buf` holds a whole LINEDEVCAPS; fields are read unaligned from the packed struct.
    let (size, offset, id) = unsafe {
        (
            addr_of!((*caps).dwLineNameSize).read_unaligned(),
            addr_of!((*caps).dwLineNameOffset).read_unaligned(),
            addr_of!((*caps).dwPermanentLineID).read_unaligned(),
        )
    };
    Ok((text_at(buf, size, offset)?, id))
}

fn first_run(tsp: &Tsp, control: &mut Control) -> Result<Opened, String> {
    let lines = start(tsp, 100)?;
    expect(
        lines == 0,
        format!("a fresh provider reported {lines} lines"),
    )?;
    // The device list arrives: one LINE_CREATE per line on the create procedure.
    let records = wait("LINE_CREATE for lines 201-203", |r| {
        r.iter()
            .filter(|x| {
                matches!(
                    x,
                    Record::Event {
                        msg: LINE_CREATE,
                        ..
                    }
                )
            })
            .count()
            == 3
    })?;
    let mut device = 103;
    for record in &records {
        if let Record::Event {
            msg: LINE_CREATE,
            p1,
            p2,
            ht_line,
            ht_call,
        } = record
        {
            expect(
                *p1 == H_PROVIDER,
                format!("LINE_CREATE carries hProvider {p1:#x}"),
            )?;
            expect(
                *ht_line == 0 && *ht_call == 0,
                "LINE_CREATE has no line or call",
            )?;
            let result = call!(
                tsp,
                "TSPI_providerCreateLineDevice",
                fn(usize, u32),
                *p2,
                device
            );
            expect(
                result == 0,
                format!("TSPI_providerCreateLineDevice returned {result:#x}"),
            )?;
            device += 1;
        }
    }
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
    let mut unknown = 0_u32;
    let result = call!(
        tsp,
        "TSPI_lineNegotiateTSPIVersion",
        fn(u32, u32, u32, *mut u32),
        999,
        0x0002_0000,
        0x0003_0000,
        &mut unknown
    );
    expect(
        result == lineerr(0x8000_0002),
        format!("negotiating an unknown device gave {result:#x}"),
    )?;

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
    let result = call!(
        tsp,
        "TSPI_lineGetAddressCaps",
        fn(u32, u32, u32, u32, *mut c_void),
        line_201,
        1,
        0x0003_0000,
        0,
        caps.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(0x8000_0011),
        format!("address 1 gave {result:#x}"),
    )?;

    // Bad inputs get their LINEERR codes.
    let mut hd_line = 0_usize;
    let result = call!(
        tsp,
        "TSPI_lineOpen",
        fn(u32, usize, *mut usize, u32, LineEventProc),
        999,
        HT_LINE,
        &mut hd_line,
        0x0003_0000,
        line_event
    );
    expect(
        result == lineerr(0x8000_0002),
        format!("opening an unknown line gave {result:#x}"),
    )?;
    let result = call!(
        tsp,
        "TSPI_lineOpen",
        fn(u32, usize, *mut usize, u32, LineEventProc),
        line_201,
        HT_LINE,
        ptr::null_mut(),
        0x0003_0000,
        line_event
    );
    expect(
        result == lineerr(0x8000_0035),
        format!("lineOpen with NULL lphdLine gave {result:#x}"),
    )?;
    let result = call!(
        tsp,
        "TSPI_lineGetDevCaps",
        fn(u32, u32, u32, *mut c_void),
        line_201,
        0x0003_0000,
        0,
        ptr::null_mut()
    );
    expect(
        result == lineerr(0x8000_0035),
        format!("LINEDEVCAPS NULL gave {result:#x}"),
    )?;

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
    bad_requests(tsp, hd_line)?;

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

    let mut info = structure(1024);
    let result = call!(
        tsp,
        "TSPI_lineGetCallInfo",
        fn(usize, *mut c_void),
        hd_call,
        info.as_mut_ptr().cast()
    );
    expect(result == 0, format!("LINECALLINFO gave {result:#x}"))?;
    check_sizes("LINECALLINFO", &info)?;
    let call_info = info.as_ptr().cast::<LINECALLINFO>();
    // SAFETY: a whole LINECALLINFO, fields read unaligned.
    let (h_line, flags, size, offset, origin) = unsafe {
        (
            addr_of!((*call_info).hLine).read_unaligned(),
            addr_of!((*call_info).dwCallerIDFlags).read_unaligned(),
            addr_of!((*call_info).dwCallerIDSize).read_unaligned(),
            addr_of!((*call_info).dwCallerIDOffset).read_unaligned(),
            addr_of!((*call_info).dwOrigin).read_unaligned(),
        )
    };
    expect(
        h_line == 0xA5A5_A5A5,
        "LINECALLINFO.hLine belongs to TAPI and stays",
    )?;
    expect(
        flags & 0x8 != 0,
        format!("caller id flags {flags:#x} lack ADDRESS"),
    )?;
    let caller = text_at(&info, size, offset)?;
    expect(caller == "+4930123456", format!("caller id {caller:?}"))?;
    expect(
        origin == 0x4,
        format!("origin {origin:#x}, expected EXTERNAL"),
    )?;
    let mut small = structure(100);
    let result = call!(
        tsp,
        "TSPI_lineGetCallInfo",
        fn(usize, *mut c_void),
        hd_call,
        small.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(0x8000_004D),
        format!("LINECALLINFO of 100 bytes gave {result:#x}"),
    )?;

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
    let result = call!(tsp, "TSPI_lineCloseCall", fn(usize), hd_call);
    expect(result == 0, format!("lineCloseCall gave {result:#x}"))?;
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
    let mut hd_call = 0_usize;
    let destination = wide("202");
    let result = call!(
        tsp,
        "TSPI_lineMakeCall",
        fn(u32, usize, usize, *mut usize, *const u16, u32, *const c_void),
        21,
        hd_line,
        ht_call,
        &mut hd_call,
        destination.as_ptr(),
        0,
        ptr::null()
    );
    expect(
        hd_call != 0,
        "lineMakeCall filled lphdCall before returning",
    )?;
    async_request("lineMakeCall", 21, result, 0)?;
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
    let result = call!(tsp, "TSPI_lineCloseCall", fn(usize), hd_call);
    expect(result == 0, format!("lineCloseCall gave {result:#x}"))?;

    let refused_destination = wide("999");
    let mut hd_refused = 0_usize;
    let result = call!(
        tsp,
        "TSPI_lineMakeCall",
        fn(u32, usize, usize, *mut usize, *const u16, u32, *const c_void),
        23,
        hd_line,
        ht_call + 1,
        &mut hd_refused,
        refused_destination.as_ptr(),
        0,
        ptr::null()
    );
    async_request(
        "lineMakeCall to an invalid number",
        23,
        result,
        lineerr(0x8000_0010),
    )?;
    Ok(())
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
    let _ = call!(tsp, "TSPI_lineCloseCall", fn(usize), hd_call);

    // lineForward: LINEFORWARDLIST with one unconditional forward to 300.
    let mut list = vec![0_u8; 8 + 32 + 8];
    let total = list.len() as u32;
    list[0..4].copy_from_slice(&total.to_le_bytes());
    list[4..8].copy_from_slice(&1_u32.to_le_bytes());
    list[8..12].copy_from_slice(&1_u32.to_le_bytes()); // LINEFORWARDMODE_UNCOND
    list[8 + 16..8 + 20].copy_from_slice(&8_u32.to_le_bytes()); // dwDestAddressSize
    list[8 + 20..8 + 24].copy_from_slice(&40_u32.to_le_bytes()); // dwDestAddressOffset
    for (index, unit) in wide("300").iter().enumerate() {
        list[40 + index * 2..42 + index * 2].copy_from_slice(&unit.to_le_bytes());
    }
    let mut consult = 0x5555_usize;
    let result = call!(
        tsp,
        "TSPI_lineForward",
        fn(u32, usize, u32, u32, *const c_void, u32, usize, *mut usize, *const c_void),
        41,
        hd_line,
        0,
        0,
        list.as_ptr().cast(),
        0,
        0x4_0000_0000,
        &mut consult,
        ptr::null()
    );
    expect(consult == 0, "lineForward leaves no consultation call")?;
    async_request("lineForward", 41, result, 0)?;
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
    let mut status = structure(512);
    let result = call!(
        tsp,
        "TSPI_lineGetAddressStatus",
        fn(usize, u32, *mut c_void),
        hd_line,
        0,
        status.as_mut_ptr().cast()
    );
    check_sizes("LINEADDRESSSTATUS", &status)?;
    let address_status = status.as_ptr().cast::<LINEADDRESSSTATUS>();
    // SAFETY: a whole LINEADDRESSSTATUS, read unaligned.
    let (entries, offset) = unsafe {
        (
            addr_of!((*address_status).dwForwardNumEntries).read_unaligned(),
            addr_of!((*address_status).dwForwardOffset).read_unaligned() as usize,
        )
    };
    expect(
        result == 0 && entries == 1,
        format!("LINEADDRESSSTATUS gave {result:#x} with {entries} forwards"),
    )?;
    let destination = text_at(
        &status,
        dword(&status, offset + 16),
        dword(&status, offset + 20),
    )?;
    expect(
        destination == "300",
        format!("forward destination {destination:?}"),
    )?;
    let result = call!(
        tsp,
        "TSPI_lineForward",
        fn(u32, usize, u32, u32, *const c_void, u32, usize, *mut usize, *const c_void),
        42,
        hd_line,
        0,
        0,
        ptr::null(),
        0,
        0,
        ptr::null_mut(),
        ptr::null()
    );
    async_request("lineForward (cancel)", 42, result, 0)
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
    let mut hd_consult = 0_usize;
    let destination = wide("202");
    let result = call!(
        tsp,
        "TSPI_lineMakeCall",
        fn(u32, usize, usize, *mut usize, *const u16, u32, *const c_void),
        request + 3,
        hd_line,
        ht_consult,
        &mut hd_consult,
        destination.as_ptr(),
        0,
        ptr::null()
    );
    async_request("lineMakeCall (consultation)", request + 3, result, 0)?;
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
    for call in [hd_held, hd_consult, hd_conf_call] {
        if call != 0 {
            let result = call!(tsp, "TSPI_lineCloseCall", fn(usize), call);
            expect(result == 0, format!("lineCloseCall gave {result:#x}"))?;
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
    let result = call!(tsp, "TSPI_lineCloseCall", fn(usize), hd_call);
    expect(result == 0, format!("lineCloseCall gave {result:#x}"))
}

fn bad_requests(tsp: &Tsp, hd_line: usize) -> Result<(), String> {
    let destination = wide("202");
    let mut hd_call = 0_usize;
    let result = call!(
        tsp,
        "TSPI_lineMakeCall",
        fn(u32, usize, usize, *mut usize, *const u16, u32, *const c_void),
        51,
        0xDEAD,
        0x6_0000_0000,
        &mut hd_call,
        destination.as_ptr(),
        0,
        ptr::null()
    );
    refused(
        "lineMakeCall on an invalid line",
        51,
        result,
        lineerr(0x8000_002B),
    )?;
    let result = call!(
        tsp,
        "TSPI_lineMakeCall",
        fn(u32, usize, usize, *mut usize, *const u16, u32, *const c_void),
        52,
        hd_line,
        0x6_0000_0000,
        ptr::null_mut(),
        destination.as_ptr(),
        0,
        ptr::null()
    );
    refused(
        "lineMakeCall with NULL lphdCall",
        52,
        result,
        lineerr(0x8000_0035),
    )?;
    let result = user_info_request(tsp, "TSPI_lineAnswer", 53, 0xBAD_CA11);
    refused(
        "lineAnswer of an invalid call",
        53,
        result,
        lineerr(0x8000_0018),
    )?;
    let result = call!(
        tsp,
        "TSPI_linePark",
        fn(u32, usize, u32, *const u16, *mut c_void),
        54,
        0xBAD_CA11,
        0,
        ptr::null(),
        ptr::null_mut()
    );
    refused("linePark", 54, result, lineerr(0x8000_0049))?;
    let result = call!(
        tsp,
        "TSPI_lineSetupTransfer",
        fn(u32, usize, usize, *mut usize, *const c_void),
        55,
        0xBAD_CA11,
        1,
        ptr::null_mut(),
        ptr::null()
    );
    refused("lineSetupTransfer", 55, result, lineerr(0x8000_0049))?;
    let mut info = structure(1024);
    let result = call!(
        tsp,
        "TSPI_lineGetCallInfo",
        fn(usize, *mut c_void),
        0xBAD_CA11,
        info.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(0x8000_0018),
        format!("LINECALLINFO of an invalid call gave {result:#x}"),
    )?;
    let result = call!(
        tsp,
        "TSPI_lineGetLineDevStatus",
        fn(usize, *mut c_void),
        0xDEAD,
        info.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(0x8000_002B),
        format!("LINEDEVSTATUS of an invalid line gave {result:#x}"),
    )?;
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
    let lines = start(tsp, 200)?;
    expect(
        lines == 3,
        format!("the restarted provider reported {lines} lines, expected the 3 known ones"),
    )?;
    let mut ids = Vec::new();
    for device in 200..203 {
        negotiate(tsp, device)?;
        let (result, caps) = dev_caps(tsp, device, 2048);
        expect(result == 0, format!("LINEDEVCAPS gave {result:#x}"))?;
        ids.push(caps_of(&caps)?);
    }
    let mut before = first.permanent_ids.clone();
    before.sort();
    ids.sort();
    expect(
        ids == before,
        format!("permanent line ids changed: {before:?} → {ids:?}"),
    )
}

fn check_requests() -> Result<(), String> {
    let records = records().clone();
    for (request, expects_completion) in REQUESTS.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let count = records
            .iter()
            .filter(|x| matches!(x, Record::Completion { request: id, .. } if id == request))
            .count();
        let expected = usize::from(*expects_completion);
        expect(
            count == expected,
            format!("request {request}: {count} completions, expected {expected}"),
        )?;
    }
    Ok(())
}
