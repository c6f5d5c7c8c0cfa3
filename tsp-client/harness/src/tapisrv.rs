//! The part of TAPISRV the harness plays for any gateway: loading the provider, the start-up
//! sequence, the callbacks that record and check every call the provider makes, the registry
//! configuration, bounded waits and the structure checks.

use std::ffi::c_void;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::ptr::{self, addr_of};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use windows_sys::Win32::Devices::Tapi::{
    LINEADDRESSSTATUS, LINECALLINFO, LINEDEVCAPS, LINEERR_ALLOCATED, LINEERR_BADDEVICEID,
    LINEERR_INVALADDRESS, LINEERR_INVALADDRESSID, LINEERR_INVALCALLHANDLE, LINEERR_INVALLINEHANDLE,
    LINEERR_INVALPOINTER, LINEERR_STRUCTURETOOSMALL, LINEFORWARDMODE_UNCOND,
};
use windows_sys::Win32::Foundation::{FreeLibrary, HMODULE, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData,
};
use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};
use windows_sys::Win32::System::Registry::{
    HKEY_LOCAL_MACHINE, REG_BINARY, REG_DWORD, REG_SZ, RegDeleteKeyValueW, RegSetKeyValueW,
};

pub(crate) const CONFIG_KEY: &str = "SOFTWARE\\cti-gateway\\TSP";
pub(crate) const STATE_KEY: &str = "SOFTWARE\\cti-gateway\\TSP\\State";
/// Every wait is bounded.
pub(crate) const LIMIT: Duration = Duration::from_secs(15);
/// TAPI handles above 4 GiB catch any 32-bit truncation.
pub(crate) const H_PROVIDER: usize = 0x1_2345_6789;
pub(crate) const HT_LINE: usize = 0x1_0000_0201;
pub(crate) const FIRST_TAPI_CALL: usize = 0x2_0000_0001;
pub(crate) const PERMANENT_PROVIDER_ID: u32 = 7;
pub(crate) const SENTINEL: u8 = 0xA5;

pub(crate) const LINE_ADDRESSSTATE: u32 = 0;
pub(crate) const LINE_CALLSTATE: u32 = 2;
pub(crate) const LINE_LINEDEVSTATE: u32 = 8;
pub(crate) const LINE_CREATE: u32 = 19;
pub(crate) const LINE_NEWCALL: u32 = 500;
pub(crate) const IDLE: usize = 0x1;
pub(crate) const OFFERING: usize = 0x2;
pub(crate) const CONNECTED: usize = 0x100;
pub(crate) const ONHOLD: usize = 0x400;
pub(crate) const CONFERENCED: usize = 0x800;
pub(crate) const OUTOFSERVICE: usize = 0x80;
pub(crate) const INSERVICE: usize = 0x40;

pub(crate) fn lineerr(code: u32) -> i32 {
    code as i32
}

pub(crate) const EXPORTS: &[&str] = &[
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

pub(crate) type LineEventProc = unsafe extern "system" fn(usize, usize, u32, usize, usize, usize);
pub(crate) type CompletionProc = unsafe extern "system" fn(u32, i32);

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Record {
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

pub(crate) static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
pub(crate) static CHANGED: Condvar = Condvar::new();
pub(crate) static VIOLATIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());
pub(crate) static INSIDE: AtomicBool = AtomicBool::new(false);
pub(crate) static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
pub(crate) static NEXT_CALL: AtomicUsize = AtomicUsize::new(FIRST_TAPI_CALL);
/// When set, the next LINE_NEWCALL is refused (TAPI writes no handle, as when overloaded).
pub(crate) static REFUSE_NEXT_CALL: AtomicBool = AtomicBool::new(false);
/// Requests that returned their id (expect one completion) or an error (expect none).
pub(crate) static REQUESTS: Mutex<Vec<(u32, bool)>> = Mutex::new(Vec::new());
/// TAPI call handles the provider may name: written at LINE_NEWCALL, or passed to a request
/// that completed successfully; a handle leaves with lineCloseCall.
static KNOWN_CALLS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// Requests that create a TAPI call (lineMakeCall, a conference): request id and htCall.
static CREATING: Mutex<Vec<(u32, usize)>> = Mutex::new(Vec::new());
/// Every LINE_NEWCALL: htLine, the provider's hdCall and the htCall written (0: refused).
static NEW_CALLS: Mutex<Vec<(usize, usize, usize)>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Announces that `request` creates the TAPI call `ht_call`: events may name it once the
/// request completed successfully. Called before the request, which may complete at once.
pub(crate) fn creates_call(request: u32, ht_call: usize) {
    lock(&CREATING).push((request, ht_call));
}

/// The LINE_NEWCALLs on a line so far: (hdCall, htCall), oldest first.
pub(crate) fn new_calls(ht_line: usize) -> Vec<(usize, usize)> {
    lock(&NEW_CALLS)
        .iter()
        .filter(|(line, _, _)| *line == ht_line)
        .map(|(_, hd_call, ht_call)| (*hd_call, *ht_call))
        .collect()
}

pub(crate) fn records() -> MutexGuard<'static, Vec<Record>> {
    RECORDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn violation(what: impl Display) {
    let text = what.to_string();
    eprintln!("VIOLATION: {text}");
    VIOLATIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(text);
}

pub(crate) fn enter() {
    if INSIDE.swap(true, Ordering::SeqCst) {
        violation("two callbacks ran at the same time");
    }
    if SHUT_DOWN.load(Ordering::SeqCst) {
        violation("callback after TSPI_providerShutdown returned");
    }
}

pub(crate) fn leave(record: Record) {
    records().push(record);
    INSIDE.store(false, Ordering::SeqCst);
    CHANGED.notify_all();
}

pub(crate) unsafe extern "system" fn completion(request: u32, result: i32) {
    enter();
    let mut creating = lock(&CREATING);
    if let Some(index) = creating.iter().position(|(id, _)| *id == request) {
        let (_, ht_call) = creating.remove(index);
        if result == 0 {
            lock(&KNOWN_CALLS).push(ht_call);
        }
    }
    drop(creating);
    leave(Record::Completion { request, result });
}

pub(crate) unsafe extern "system" fn line_event(
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
        } else {
            let ht = if REFUSE_NEXT_CALL.swap(false, Ordering::SeqCst) {
                0
            } else {
                let ht = NEXT_CALL.fetch_add(1, Ordering::SeqCst);
                // SAFETY: LINE_NEWCALL's dwParam2 is the provider's pointer-sized slot for
                // htCall.
                unsafe { (p2 as *mut usize).write_unaligned(ht) };
                lock(&KNOWN_CALLS).push(ht);
                ht
            };
            lock(&NEW_CALLS).push((ht_line, p1, ht));
        }
    } else if ht_call != 0 && !lock(&KNOWN_CALLS).contains(&ht_call) {
        violation(format!(
            "message {msg} names htCall {ht_call:#x}, which TAPI does not know (the request \
             that creates it has not completed, or lineCloseCall closed it)"
        ));
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
pub(crate) fn user_info_request(tsp: &Tsp, export: &str, request: u32, call: usize) -> i32 {
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

pub(crate) fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The loaded provider with the entry points the harness calls.
pub(crate) struct Tsp {
    pub(crate) module: HMODULE,
}

macro_rules! call {
    ($tsp:expr, $name:literal, fn($($ty:ty),*), $($arg:expr),*) => {{
        let symbol = concat!($name, "\0");
        // SAFETY: the module is loaded; the name is NUL-terminated.
        let address = unsafe {
            windows_sys::Win32::System::LibraryLoader::GetProcAddress($tsp.module, symbol.as_ptr())
        };
        match address {
            None => {
                $crate::tapisrv::violation(format!("{} is not exported", $name));
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
    pub(crate) fn load(path: &str) -> Result<Self, String> {
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

    pub(crate) fn unload(self) -> Result<(), String> {
        // SAFETY: the module was loaded by `load` and its threads were joined by shutdown.
        if unsafe { FreeLibrary(self.module) } == 0 {
            return Err("FreeLibrary failed".to_owned());
        }
        Ok(())
    }
}

/// lineCloseCall: the provider must not name `ht_call` any more.
pub(crate) fn close_call(tsp: &Tsp, hd_call: usize, ht_call: usize) -> Result<(), String> {
    let result = call!(tsp, "TSPI_lineCloseCall", fn(usize), hd_call);
    lock(&KNOWN_CALLS).retain(|known| *known != ht_call);
    expect(
        result == 0,
        format!("lineCloseCall of {hd_call:#x} gave {result:#x}"),
    )
}

pub(crate) fn set_string(name: &str, value: &str) -> Result<(), String> {
    set_value(
        name,
        REG_SZ,
        &wide(value)
            .iter()
            .flat_map(|unit| unit.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

pub(crate) fn set_value(name: &str, kind: u32, data: &[u8]) -> Result<(), String> {
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

pub(crate) fn protect(secret: &str) -> Result<Vec<u8>, String> {
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

/// Writes the provider's configuration: plain TCP, or TLS verified against `tls_ca`; `lines`
/// is the `Lines` filter (empty: every line). The known line ids are forgotten.
pub(crate) fn configure(
    port: u16,
    tls_ca: Option<&str>,
    lines: &str,
    log_file: &str,
) -> Result<(), String> {
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
    set_string("Lines", lines)?;
    let (key, value) = (wide(STATE_KEY), wide("LineIds"));
    // SAFETY: NUL-terminated names; a missing value is fine.
    unsafe { RegDeleteKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), value.as_ptr()) };
    Ok(())
}

/// The provider's log file for this run, emptied.
pub(crate) fn fresh_log_file() -> PathBuf {
    let log_file = std::env::temp_dir().join("cti-gateway-tsp-harness.log");
    let _ = std::fs::remove_file(&log_file);
    log_file
}

/// The exit code of a run: 0 when it finished and no callback broke a rule; otherwise every
/// problem and the provider's log on stderr, and 1.
pub(crate) fn report(outcome: Result<(), String>, log_file: &Path) -> i32 {
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
            if let Ok(log) = std::fs::read_to_string(log_file) {
                eprintln!("--- provider log ---\n{log}");
            }
            1
        }
    }
}

/// Requests `bad_inputs` may use, from its first request id on.
pub(crate) const BAD_INPUT_REQUESTS: u32 = 10;

/// Bad inputs with their LINEERR codes, on the open line `device` (`hd_line`): unknown lines,
/// a second open, NULL pointers, a too small LINEDEVCAPS, an invalid address id, invalid line
/// and call handles, an empty number. Refused requests use ids from `first_request` on.
pub(crate) fn bad_inputs(
    tsp: &Tsp,
    device: u32,
    hd_line: usize,
    first_request: u32,
) -> Result<(), String> {
    let mut next = first_request;
    let mut next_request = || {
        next += 1;
        next - 1
    };
    let mut opened = 0_usize;
    for (what, device, place, expected) in [
        (
            "an unknown line",
            999,
            &mut opened as *mut usize,
            LINEERR_BADDEVICEID,
        ),
        (
            "with NULL lphdLine",
            device,
            ptr::null_mut(),
            LINEERR_INVALPOINTER,
        ),
        (
            "a line already open",
            device,
            &mut opened as *mut usize,
            LINEERR_ALLOCATED,
        ),
    ] {
        let result = call!(
            tsp,
            "TSPI_lineOpen",
            fn(u32, usize, *mut usize, u32, LineEventProc),
            device,
            0x1_0000_0999,
            place,
            0x0003_0000,
            line_event
        );
        expect(
            result == lineerr(expected),
            format!("lineOpen of {what} gave {result:#x}"),
        )?;
    }
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
        result == lineerr(LINEERR_BADDEVICEID),
        format!("negotiating an unknown line gave {result:#x}"),
    )?;
    let result = call!(
        tsp,
        "TSPI_lineGetDevCaps",
        fn(u32, u32, u32, *mut c_void),
        device,
        0x0003_0000,
        0,
        ptr::null_mut()
    );
    expect(
        result == lineerr(LINEERR_INVALPOINTER),
        format!("LINEDEVCAPS NULL gave {result:#x}"),
    )?;
    let (result, _) = dev_caps(tsp, device, 100);
    expect(
        result == lineerr(LINEERR_STRUCTURETOOSMALL),
        format!("LINEDEVCAPS of 100 bytes gave {result:#x}"),
    )?;
    let mut caps = structure(1024);
    let result = call!(
        tsp,
        "TSPI_lineGetAddressCaps",
        fn(u32, u32, u32, u32, *mut c_void),
        device,
        1,
        0x0003_0000,
        0,
        caps.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(LINEERR_INVALADDRESSID),
        format!("address 1 gave {result:#x}"),
    )?;
    let mut status = structure(512);
    let result = call!(
        tsp,
        "TSPI_lineGetLineDevStatus",
        fn(usize, *mut c_void),
        0xDEAD,
        status.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(LINEERR_INVALLINEHANDLE),
        format!("LINEDEVSTATUS of an invalid line gave {result:#x}"),
    )?;
    let destination = wide("202");
    let empty = wide("  ");
    let mut hd_call = 0_usize;
    for (what, line, place, to, expected) in [
        (
            "on an invalid line",
            0xDEAD,
            &mut hd_call as *mut usize,
            destination.as_ptr(),
            LINEERR_INVALLINEHANDLE,
        ),
        (
            "with NULL lphdCall",
            hd_line,
            ptr::null_mut(),
            destination.as_ptr(),
            LINEERR_INVALPOINTER,
        ),
        (
            "to an empty number",
            hd_line,
            &mut hd_call as *mut usize,
            empty.as_ptr(),
            LINEERR_INVALADDRESS,
        ),
    ] {
        let request = next_request();
        let result = call!(
            tsp,
            "TSPI_lineMakeCall",
            fn(u32, usize, usize, *mut usize, *const u16, u32, *const c_void),
            request,
            line,
            0x6_0000_0000,
            place,
            to,
            0,
            ptr::null()
        );
        refused(
            &format!("lineMakeCall {what}"),
            request,
            result,
            lineerr(expected),
        )?;
    }
    let request = next_request();
    let result = user_info_request(tsp, "TSPI_lineAnswer", request, 0xBAD_CA11);
    refused(
        "lineAnswer of an invalid call",
        request,
        result,
        lineerr(LINEERR_INVALCALLHANDLE),
    )?;
    let request = next_request();
    let result = call!(tsp, "TSPI_lineHold", fn(u32, usize), request, 0xBAD_CA11);
    refused(
        "lineHold of an invalid call",
        request,
        result,
        lineerr(LINEERR_INVALCALLHANDLE),
    )?;
    let mut info = structure(1024);
    let result = call!(
        tsp,
        "TSPI_lineGetCallInfo",
        fn(usize, *mut c_void),
        0xBAD_CA11,
        info.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(LINEERR_INVALCALLHANDLE),
        format!("LINECALLINFO of an invalid call gave {result:#x}"),
    )?;
    Ok(())
}

/// LINECALLINFO of 100 bytes, less than its fixed part, is refused.
pub(crate) fn call_info_too_small(tsp: &Tsp, hd_call: usize) -> Result<(), String> {
    let mut small = structure(100);
    let result = call!(
        tsp,
        "TSPI_lineGetCallInfo",
        fn(usize, *mut c_void),
        hd_call,
        small.as_mut_ptr().cast()
    );
    expect(
        result == lineerr(LINEERR_STRUCTURETOOSMALL),
        format!("LINECALLINFO of 100 bytes gave {result:#x}"),
    )
}

/// lineMakeCall of `to` on the line `hd_line` as TAPI's call `ht_call`: the request returns
/// its id with the provider's handle filled in, and completes with `expected`. Returns the
/// provider's handle.
pub(crate) fn make_call(
    tsp: &Tsp,
    request: u32,
    (hd_line, ht_call): (usize, usize),
    to: &str,
    expected: i32,
) -> Result<usize, String> {
    let destination = wide(to);
    let mut hd_call = 0_usize;
    creates_call(request, ht_call);
    let result = call!(
        tsp,
        "TSPI_lineMakeCall",
        fn(u32, usize, usize, *mut usize, *const u16, u32, *const c_void),
        request,
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
    async_request(&format!("lineMakeCall to {to}"), request, result, expected)?;
    Ok(hd_call)
}

/// What LINECALLINFO says about a call.
#[derive(Debug)]
pub(crate) struct Info {
    /// TAPI's own field, which the provider must leave alone.
    pub(crate) h_line: u32,
    pub(crate) origin: u32,
    pub(crate) reason: u32,
    pub(crate) caller_flags: u32,
    pub(crate) caller: String,
    pub(crate) caller_name: String,
    pub(crate) called: String,
    pub(crate) connected: String,
    pub(crate) connected_name: String,
    pub(crate) redirecting: String,
}

/// LINECALLINFO of a call, every size rule checked.
pub(crate) fn call_info(tsp: &Tsp, hd_call: usize) -> Result<Info, String> {
    let mut buf = structure(2048);
    let result = call!(
        tsp,
        "TSPI_lineGetCallInfo",
        fn(usize, *mut c_void),
        hd_call,
        buf.as_mut_ptr().cast()
    );
    expect(result == 0, format!("LINECALLINFO gave {result:#x}"))?;
    check_sizes("LINECALLINFO", &buf)?;
    let info = buf.as_ptr().cast::<LINECALLINFO>();
    macro_rules! read {
        ($field:ident) => {
            // SAFETY: `buf` holds a whole LINECALLINFO; packed fields are read unaligned.
            unsafe { addr_of!((*info).$field).read_unaligned() }
        };
    }
    let text = |size: u32, offset: u32| text_at(&buf, size, offset);
    Ok(Info {
        h_line: read!(hLine),
        origin: read!(dwOrigin),
        reason: read!(dwReason),
        caller_flags: read!(dwCallerIDFlags),
        caller: text(read!(dwCallerIDSize), read!(dwCallerIDOffset))?,
        caller_name: text(read!(dwCallerIDNameSize), read!(dwCallerIDNameOffset))?,
        called: text(read!(dwCalledIDSize), read!(dwCalledIDOffset))?,
        connected: text(read!(dwConnectedIDSize), read!(dwConnectedIDOffset))?,
        connected_name: text(read!(dwConnectedIDNameSize), read!(dwConnectedIDNameOffset))?,
        redirecting: text(read!(dwRedirectingIDSize), read!(dwRedirectingIDOffset))?,
    })
}

/// The LINE_CREATE temporary ids so far.
pub(crate) fn creates(records: &[Record]) -> Vec<usize> {
    records
        .iter()
        .filter_map(|x| match x {
            Record::Event {
                msg: LINE_CREATE,
                p1,
                p2,
                ..
            } if *p1 == H_PROVIDER => Some(*p2),
            _ => None,
        })
        .collect()
}

/// The line's name and permanent id; every size rule checked.
pub(crate) fn line_caps(tsp: &Tsp, device: u32) -> Result<(String, u32), String> {
    let (result, fixed) = dev_caps(tsp, device, 292);
    expect(
        result == 0,
        format!("LINEDEVCAPS fixed size gave {result:#x}"),
    )?;
    check_sizes("LINEDEVCAPS (fixed)", &fixed)?;
    let (result, caps) = dev_caps(tsp, device, dword(&fixed, 4) as usize + 16);
    expect(result == 0, format!("LINEDEVCAPS gave {result:#x}"))?;
    check_sizes("LINEDEVCAPS", &caps)?;
    expect(
        dword(&caps, 4) == dword(&caps, 8),
        "everything fits: needed == used",
    )?;
    caps_of(&caps)
}

/// Waits for `count` LINE_CREATEs on the create procedure and numbers the lines from `base`
/// with TSPI_providerCreateLineDevice, in the order they came.
pub(crate) fn create_lines(tsp: &Tsp, count: usize, base: u32) -> Result<(), String> {
    let records = wait(&format!("{count} LINE_CREATE"), |r| {
        creates(r).len() == count
    })?;
    for record in &records {
        if let Record::Event {
            msg: LINE_CREATE,
            ht_line,
            ht_call,
            p1,
            ..
        } = record
        {
            expect(
                *p1 == H_PROVIDER && *ht_line == 0 && *ht_call == 0,
                format!("LINE_CREATE carries hProvider and no line or call: {record:?}"),
            )?;
        }
    }
    for (index, temp_id) in creates(&records).into_iter().enumerate() {
        let result = call!(
            tsp,
            "TSPI_providerCreateLineDevice",
            fn(usize, u32),
            temp_id,
            base + index as u32
        );
        expect(
            result == 0,
            format!("TSPI_providerCreateLineDevice gave {result:#x}"),
        )?;
    }
    Ok(())
}

/// A provider started again in the same process reports the lines it knows at once, numbered
/// from `base`, with the names and permanent ids of `known`.
pub(crate) fn second_start(tsp: &Tsp, base: u32, known: &[(String, u32)]) -> Result<(), String> {
    let lines = start(tsp, base)?;
    expect(
        lines as usize == known.len(),
        format!(
            "the restarted provider reported {lines} lines, expected {}",
            known.len()
        ),
    )?;
    let mut now = Vec::new();
    for device in base..base + lines {
        negotiate(tsp, device)?;
        now.push(line_caps(tsp, device)?);
    }
    let mut before = known.to_vec();
    before.sort();
    now.sort();
    expect(
        now == before,
        format!("permanent line ids after a provider restart: {before:?} → {now:?}"),
    )
}

/// The forward destinations in LINEADDRESSSTATUS.
pub(crate) fn forward_list(tsp: &Tsp, hd_line: usize) -> Result<Vec<String>, String> {
    let mut status = structure(512);
    let result = call!(
        tsp,
        "TSPI_lineGetAddressStatus",
        fn(usize, u32, *mut c_void),
        hd_line,
        0,
        status.as_mut_ptr().cast()
    );
    expect(result == 0, format!("LINEADDRESSSTATUS gave {result:#x}"))?;
    check_sizes("LINEADDRESSSTATUS", &status)?;
    let address_status = status.as_ptr().cast::<LINEADDRESSSTATUS>();
    // SAFETY: a whole LINEADDRESSSTATUS, read unaligned.
    let (entries, offset) = unsafe {
        (
            addr_of!((*address_status).dwForwardNumEntries).read_unaligned() as usize,
            addr_of!((*address_status).dwForwardOffset).read_unaligned() as usize,
        )
    };
    (0..entries)
        .map(|entry| {
            // LINEFORWARD: six DWORDs, the destination's size and offset last.
            let at = offset + entry * 24;
            text_at(&status, dword(&status, at + 16), dword(&status, at + 20))
        })
        .collect()
}

/// lineForward of the line's address: everything unconditionally to `to`, or (`None`) every
/// forwarding cancelled, with NULL for the consultation call TAPI need not get.
pub(crate) fn forward(
    tsp: &Tsp,
    request: u32,
    hd_line: usize,
    to: Option<&str>,
) -> Result<(), String> {
    // LINEFORWARDLIST: dwTotalSize, dwNumEntries, one LINEFORWARD (six DWORDs, the
    // destination's size and offset last), then the destination at offset 40.
    let list = to.map(|to| {
        let text: Vec<u8> = wide(to)
            .iter()
            .flat_map(|unit| unit.to_le_bytes())
            .collect();
        let mut list = vec![0_u8; 40];
        list[8..12].copy_from_slice(&LINEFORWARDMODE_UNCOND.to_le_bytes());
        list[24..28].copy_from_slice(&(text.len() as u32).to_le_bytes());
        list[28..32].copy_from_slice(&40_u32.to_le_bytes());
        list.extend(text);
        let total = list.len() as u32;
        list[0..4].copy_from_slice(&total.to_le_bytes());
        list[4..8].copy_from_slice(&1_u32.to_le_bytes());
        list
    });
    let mut consult = 0x5555_usize;
    let result = call!(
        tsp,
        "TSPI_lineForward",
        fn(u32, usize, u32, u32, *const c_void, u32, usize, *mut usize, *const c_void),
        request,
        hd_line,
        0,
        0,
        list.as_ref()
            .map_or(ptr::null(), |list| list.as_ptr().cast()),
        0,
        0x4_0000_0000,
        if list.is_some() {
            &mut consult
        } else {
            ptr::null_mut()
        },
        ptr::null()
    );
    if list.is_some() {
        expect(consult == 0, "lineForward leaves no consultation call")?;
    }
    async_request("lineForward", request, result, 0)
}

/// Waits until `done` holds for the records.
pub(crate) fn wait(what: &str, done: impl Fn(&[Record]) -> bool) -> Result<Vec<Record>, String> {
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

pub(crate) fn expect(condition: bool, what: impl Display) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

/// An async request must return its id; its completion is awaited and checked.
pub(crate) fn async_request(
    what: &str,
    request: u32,
    returned: i32,
    expected: i32,
) -> Result<(), String> {
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

pub(crate) fn refused(
    what: &str,
    request: u32,
    returned: i32,
    expected: i32,
) -> Result<(), String> {
    REQUESTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((request, false));
    expect(
        returned == expected,
        format!("{what} returned {returned:#x}, expected {expected:#x}"),
    )
}

pub(crate) fn state_events(records: &[Record], ht_call: usize, state: usize) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, Record::Event { msg: LINE_CALLSTATE, ht_call: c, p1, .. } if *c == ht_call && *p1 == state))
        .count()
}

pub(crate) fn dev_state_events(records: &[Record], state: usize) -> usize {
    line_dev_states(records, HT_LINE, state)
}

/// LINE_LINEDEVSTATE(`state`) messages of one line.
pub(crate) fn line_dev_states(records: &[Record], ht_line: usize, state: usize) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, Record::Event { msg: LINE_LINEDEVSTATE, p1, ht_line: line, .. } if *p1 == state && *line == ht_line))
        .count()
}

/// The driver handle of the latest LINE_NEWCALL.
pub(crate) fn last_new_call(records: &[Record]) -> Result<usize, String> {
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
pub(crate) fn structure(total: usize) -> Vec<u8> {
    let mut buf = vec![SENTINEL; total];
    buf[..4].copy_from_slice(&(total as u32).to_le_bytes());
    buf
}

pub(crate) fn dword(buf: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        buf[offset],
        buf[offset + 1],
        buf[offset + 2],
        buf[offset + 3],
    ])
}

pub(crate) fn text_at(buf: &[u8], size: u32, offset: u32) -> Result<String, String> {
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
pub(crate) fn check_sizes(name: &str, buf: &[u8]) -> Result<(), String> {
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

pub(crate) fn shutdown(tsp: Tsp) -> Result<(), String> {
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

pub(crate) fn negotiate(tsp: &Tsp, device: u32) -> Result<u32, String> {
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

pub(crate) fn start(tsp: &Tsp, base: u32) -> Result<u32, String> {
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

pub(crate) fn dev_caps(tsp: &Tsp, device: u32, total: usize) -> (i32, Vec<u8>) {
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
pub(crate) fn caps_of(buf: &[u8]) -> Result<(String, u32), String> {
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

pub(crate) fn check_requests() -> Result<(), String> {
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
