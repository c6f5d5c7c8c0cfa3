//! The `TSPI_*` and `TUISPI_*` exports: the only module with `unsafe`.
//!
//! Every export runs inside [`boundary`], so a panic becomes `LINEERR_OPERATIONFAILED` instead
//! of unwinding into TAPISRV. Pointer arguments are checked for NULL before use; variable-size
//! structures are handed to the safe fillers in `structs` as `&mut [u8]` of their
//! `dwTotalSize`. Nothing here blocks on the network: requests are queued and answered through
//! `ASYNC_COMPLETION` by the dispatcher thread.

// The exports are reached through the DLL's export table, not through Rust paths.
#![allow(unreachable_pub)]
// Inside the exports every unsafe operation still gets its own block and SAFETY comment.
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::c_void;
use std::fs::OpenOptions;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::{Mutex, MutexGuard};

use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_UI_FORBIDDEN, CryptUnprotectData,
};
use windows_sys::Win32::System::LibraryLoader::{
    GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
    GetModuleFileNameW, GetModuleHandleExW,
};
use windows_sys::Win32::System::Registry::{
    HKEY_LOCAL_MACHINE, REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, RRF_RT_ANY,
    RegGetValueW, RegSetKeyValueW,
};
use windows_sys::Win32::System::SystemInformation::GetTickCount;

use crate::config::{Config, LogConfig, RawConfig};
use crate::line_ids::{LineIdStore, LineIds, LineIdsError};
use crate::model::{Model, Output};
use crate::provider::{Callbacks, Provider, async_result};
use crate::structs;
use crate::tapi::{StructError, err, misc, msg, version};

/// The registry key of the configuration (under HKEY_LOCAL_MACHINE).
const CONFIG_KEY: &str = "SOFTWARE\\cti-gateway\\TSP";
/// The registry key the provider writes its permanent line ids to (NetworkService needs
/// "Set Value" on it; the installer grants it).
const STATE_KEY: &str = "SOFTWARE\\cti-gateway\\TSP\\State";
/// The value holding the permanent line ids.
const LINE_IDS_VALUE: &str = "LineIds";
/// The provider's file name as registered with TAPI.
const PROVIDER_FILE: &str = "cti-gateway.tsp";
/// `LINEDIGITMODE_DTMF` and `LINEDIGITMODE_DTMFEND`: the modes GenerateDigits can send.
const LINEDIGITMODE_DTMF: u32 = 0x2;
const LINEDIGITMODE_DTMFEND: u32 = 0x4;
/// `LINEERR_INVALDIGITMODE`.
const LINEERR_INVALDIGITMODE: i32 = 0x8000_0027_u32 as i32;
/// `MAX_PATH`: the size TAPI guarantees for the UI DLL name buffer.
const MAX_PATH: usize = 260;
/// Longest string read from a TAPI pointer (TAPI's own limits are far lower).
const MAX_STRING: usize = 4096;

type LineEventProc = unsafe extern "system" fn(usize, usize, u32, usize, usize, usize);
type CompletionProc = unsafe extern "system" fn(u32, i32);

/// Provider-wide state between the exports.
struct Global {
    /// Lines and configuration prepared by `TSPI_providerEnumDevices`.
    prepared: Option<(Config, Model)>,
    provider: Option<Provider>,
    create_proc: Option<LineEventProc>,
    h_provider: usize,
    /// Negotiated version per open line (driver line handle → version).
    versions: Vec<(usize, u32)>,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    prepared: None,
    provider: None,
    create_proc: None,
    h_provider: 0,
    versions: Vec::new(),
});

/// LINEEVENT procedures per TAPI line handle; read by the dispatcher thread.
static LINE_PROCS: Mutex<Vec<(usize, LineEventProc)>> = Mutex::new(Vec::new());

fn global() -> MutexGuard<'static, Global> {
    // A panic caught at an export leaves the state usable; take the lock over.
    GLOBAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn line_procs() -> MutexGuard<'static, Vec<(usize, LineEventProc)>> {
    LINE_PROCS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs an export's body; a panic becomes `LINEERR_OPERATIONFAILED`.
fn boundary(name: &'static str, body: impl FnOnce() -> i32) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(export = name, "panic caught at the TSPI boundary");
            err::OPERATIONFAILED
        }
    }
}

/// Runs `f` with the running provider, or fails when `TSPI_providerInit` has not run.
fn with_provider(f: impl FnOnce(&Provider) -> i32) -> i32 {
    let global = global();
    match &global.provider {
        Some(provider) => f(provider),
        None => err::OPERATIONFAILED,
    }
}

/// Early return with `LINEERR_INVALPOINTER` for a NULL pointer.
macro_rules! non_null {
    ($pointer:expr) => {
        if $pointer.is_null() {
            return err::INVALPOINTER;
        }
    };
}

/// Writes a `DWORD` through a checked pointer.
fn put(pointer: *mut u32, value: u32) -> i32 {
    non_null!(pointer);
    // SAFETY: TAPI passes a valid, writable DWORD location; NULL was checked above.
    unsafe { pointer.write_unaligned(value) };
    0
}

/// Writes a handle through a checked pointer.
fn put_handle(pointer: *mut usize, value: usize) -> i32 {
    non_null!(pointer);
    // SAFETY: TAPI passes a valid, writable handle location; NULL was checked above.
    unsafe { pointer.write_unaligned(value) };
    0
}

/// Reads a NUL-terminated UTF-16 string; `None` for NULL.
fn wide(text: *const u16) -> Option<String> {
    if text.is_null() {
        return None;
    }
    let mut units = Vec::new();
    for index in 0..MAX_STRING {
        // SAFETY: TAPI passes NUL-terminated strings; reading stops at the terminator and
        // never goes beyond MAX_STRING units.
        let unit = unsafe { text.add(index).read_unaligned() };
        if unit == 0 {
            break;
        }
        units.push(unit);
    }
    Some(String::from_utf16_lossy(&units))
}

/// Lends a TAPI variable-size structure as bytes: `dwTotalSize` bytes from `pointer`.
fn fill(pointer: *mut c_void, write: impl FnOnce(&mut [u8]) -> Result<(), StructError>) -> i32 {
    non_null!(pointer);
    // SAFETY: every TAPI structure starts with dwTotalSize; the pointer is not NULL.
    let total = unsafe { pointer.cast::<u32>().read_unaligned() } as usize;
    if total < 12 {
        return err::STRUCTURETOOSMALL;
    }
    // SAFETY: TAPI allocated dwTotalSize bytes for the structure and does not touch them
    // while the export runs.
    let buf = unsafe { std::slice::from_raw_parts_mut(pointer.cast::<u8>(), total) };
    match write(buf) {
        Ok(()) => 0,
        Err(error) => error.code(),
    }
}

// ---- The callbacks, for the dispatcher thread ----

struct TapiCallbacks {
    completion: CompletionProc,
    create: Option<LineEventProc>,
    h_provider: usize,
}

impl TapiCallbacks {
    fn line_proc(ht_line: usize) -> Option<LineEventProc> {
        line_procs()
            .iter()
            .find(|(line, _)| *line == ht_line)
            .map(|(_, proc_)| *proc_)
    }
}

impl Callbacks for TapiCallbacks {
    fn completion(&mut self, request: u32, result: i32) {
        // SAFETY: the completion procedure TAPI passed to TSPI_providerInit; valid until
        // TSPI_providerShutdown, which joins this thread first.
        unsafe { (self.completion)(request, result) };
    }

    fn line_event(
        &mut self,
        ht_line: usize,
        ht_call: usize,
        msg: u32,
        p1: usize,
        p2: usize,
        p3: usize,
    ) {
        if let Some(event) = Self::line_proc(ht_line) {
            // SAFETY: the LINEEVENT procedure TAPI passed to TSPI_lineOpen for this line.
            unsafe { event(ht_line, ht_call, msg, p1, p2, p3) };
        }
    }

    fn new_call(&mut self, ht_line: usize, call: usize) -> usize {
        let mut ht_call: usize = 0;
        if let Some(event) = Self::line_proc(ht_line) {
            let slot = ptr::addr_of_mut!(ht_call) as usize;
            // SAFETY: LINE_NEWCALL passes a pointer-sized slot that TAPI fills with its handle
            // before returning; the slot outlives the call.
            unsafe { event(ht_line, 0, msg::NEWCALL, call, slot, 0) };
        }
        ht_call
    }

    fn create_line(&mut self, temp_id: usize) {
        if let Some(create) = self.create {
            // SAFETY: the create procedure TAPI passed to TSPI_providerEnumDevices.
            unsafe { create(0, 0, msg::CREATE, self.h_provider, temp_id, 0) };
        }
    }

    fn remove_line(&mut self, device_id: u32) {
        if let Some(create) = self.create {
            // SAFETY: as for create_line.
            unsafe { create(0, 0, msg::REMOVE, device_id as usize, 0, 0) };
        }
    }

    fn tick(&mut self) -> u32 {
        // SAFETY: GetTickCount has no preconditions.
        unsafe { GetTickCount() }
    }
}

// ---- Registry and DPAPI ----

enum RegValue {
    Text(String),
    Number(u32),
    Binary(Vec<u8>),
}

fn to_wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

fn registry_value(key: &str, name: &str) -> Result<Option<RegValue>, u32> {
    let (key, name) = (to_wide(key), to_wide(name));
    let mut kind = 0_u32;
    let mut size = 0_u32;
    // SAFETY: valid NUL-terminated key and value names; a NULL buffer asks for the size.
    let status = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_ANY,
            &mut kind,
            ptr::null_mut(),
            &mut size,
        )
    };
    if status == windows_sys::Win32::Foundation::ERROR_FILE_NOT_FOUND {
        return Ok(None);
    }
    if status != ERROR_SUCCESS {
        return Err(status);
    }
    let mut data = vec![0_u8; size as usize];
    // SAFETY: `data` has the `size` bytes the first call asked for.
    let status = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_ANY,
            &mut kind,
            data.as_mut_ptr().cast(),
            &mut size,
        )
    };
    if status != ERROR_SUCCESS {
        return Err(status);
    }
    data.truncate(size as usize);
    Ok(Some(match kind {
        REG_DWORD if data.len() >= 4 => {
            RegValue::Number(u32::from_le_bytes([data[0], data[1], data[2], data[3]]))
        }
        REG_SZ | REG_EXPAND_SZ | REG_MULTI_SZ => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                .collect();
            // MULTI_SZ entries become newline-separated; trailing NULs are dropped.
            let text = String::from_utf16_lossy(&units);
            RegValue::Text(text.trim_end_matches('\0').replace('\0', "\n"))
        }
        REG_BINARY => RegValue::Binary(data),
        _ => RegValue::Binary(data),
    }))
}

fn text_value(name: &str) -> Option<String> {
    match registry_value(CONFIG_KEY, name) {
        Ok(Some(RegValue::Text(text))) => Some(text),
        Ok(Some(RegValue::Number(number))) => Some(number.to_string()),
        _ => None,
    }
}

fn number_value(name: &str) -> Option<u32> {
    match registry_value(CONFIG_KEY, name) {
        Ok(Some(RegValue::Number(number))) => Some(number),
        Ok(Some(RegValue::Text(text))) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Decrypts a DPAPI blob (CryptProtectData of the UTF-8 password).
fn unprotect(blob: &[u8]) -> Option<String> {
    let input = CRYPT_INTEGER_BLOB {
        cbData: u32::try_from(blob.len()).ok()?,
        pbData: blob.as_ptr() as *mut u8,
    };
    let mut output = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: ptr::null_mut(),
    };
    // SAFETY: `input` points at `blob` for the duration of the call; DPAPI allocates the
    // output with LocalAlloc, freed below.
    let ok = unsafe {
        CryptUnprotectData(
            &input,
            ptr::null_mut(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut output,
        )
    };
    if ok == 0 || output.pbData.is_null() {
        return None;
    }
    // SAFETY: on success DPAPI returns cbData readable bytes at pbData.
    let plain =
        unsafe { std::slice::from_raw_parts(output.pbData, output.cbData as usize) }.to_vec();
    // SAFETY: pbData was allocated by DPAPI with LocalAlloc.
    unsafe { LocalFree(output.pbData.cast()) };
    String::from_utf8(plain).ok()
}

fn read_config() -> RawConfig {
    let password = match registry_value(CONFIG_KEY, "Password") {
        Ok(Some(RegValue::Binary(blob))) => {
            let plain = unprotect(&blob);
            if plain.is_none() {
                tracing::error!("`Password` cannot be decrypted with DPAPI on this machine");
            }
            plain
        }
        _ => text_value("PasswordPlain"),
    };
    RawConfig {
        server: text_value("Server"),
        port: number_value("Port"),
        tls: number_value("Tls"),
        tls_ca_file: text_value("TlsCaFile"),
        tls_server_name: text_value("TlsServerName"),
        user: text_value("User"),
        password,
        lines: text_value("Lines"),
        reconnect_max_seconds: number_value("ReconnectMaxSeconds"),
        log_file: text_value("LogFile"),
        log_level: text_value("LogLevel"),
    }
}

/// The permanent line ids in `HKLM\SOFTWARE\cti-gateway\TSP\State`, value `LineIds`.
struct RegistryStore;

impl LineIdStore for RegistryStore {
    fn load(&self) -> Result<Option<String>, LineIdsError> {
        match registry_value(STATE_KEY, LINE_IDS_VALUE) {
            Ok(Some(RegValue::Text(text))) => Ok(Some(text)),
            Ok(Some(_)) => Err(LineIdsError::Registry(
                windows_sys::Win32::Foundation::ERROR_INVALID_DATA,
            )),
            Ok(None) => Ok(None),
            Err(status) => Err(LineIdsError::Registry(status)),
        }
    }

    fn save(&self, text: &str) -> Result<(), LineIdsError> {
        let (key, name, data) = (to_wide(STATE_KEY), to_wide(LINE_IDS_VALUE), to_wide(text));
        let bytes = u32::try_from(data.len() * 2).map_err(|_| LineIdsError::Registry(0))?;
        // SAFETY: valid NUL-terminated names and a REG_SZ payload of `bytes` bytes.
        let status = unsafe {
            RegSetKeyValueW(
                HKEY_LOCAL_MACHINE,
                key.as_ptr(),
                name.as_ptr(),
                REG_SZ,
                data.as_ptr().cast(),
                bytes,
            )
        };
        if status == ERROR_SUCCESS {
            Ok(())
        } else {
            Err(LineIdsError::Registry(status))
        }
    }
}

fn start_logging(log: &LogConfig) {
    match OpenOptions::new().create(true).append(true).open(&log.file) {
        Ok(file) => {
            // A second provider start in the same process keeps the first subscriber.
            let _ = tracing_subscriber::fmt()
                .with_writer(Mutex::new(file))
                .with_max_level(log.level)
                .try_init();
        }
        Err(error) => eprintln!("cti-gateway.tsp: cannot open the log file: {error}"),
    }
}

/// Reads configuration and known lines (once per start).
fn prepare() -> Result<(Config, Model), i32> {
    let raw = read_config();
    let config = Config::from_raw(raw).map_err(|error| {
        tracing::error!(%error, "the provider configuration is invalid; no lines are served");
        err::INIFILECORRUPT
    })?;
    if let Some(log) = &config.log {
        start_logging(log);
    }
    let ids = match RegistryStore.load() {
        Ok(Some(text)) => LineIds::decode(&text).unwrap_or_else(|error| {
            tracing::warn!(%error, "stored permanent line ids are unreadable; starting afresh");
            LineIds::default()
        }),
        Ok(None) => LineIds::default(),
        Err(error) => {
            tracing::warn!(%error, "cannot read the stored permanent line ids");
            LineIds::default()
        }
    };
    let model = Model::new(ids, config.line_filter.clone());
    Ok((config, model))
}

// ---- Provider exports ----

/// `TSPI_lineNegotiateTSPIVersion`: TSPI 2.0 to 3.0.
///
/// # Safety
/// `version_out` must be NULL or point to a writable DWORD.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineNegotiateTSPIVersion(
    device_id: u32,
    low: u32,
    high: u32,
    version_out: *mut u32,
) -> i32 {
    boundary("TSPI_lineNegotiateTSPIVersion", || {
        non_null!(version_out);
        if device_id != version::INITIALIZE_NEGOTIATION {
            let known = with_provider(|provider| {
                if provider
                    .read(|model| model.line_by_device(device_id))
                    .is_some()
                {
                    0
                } else {
                    err::BADDEVICEID
                }
            });
            if known != 0 {
                return known;
            }
        }
        if high < version::V2_0 || low > version::V3_0 {
            return err::INCOMPATIBLEAPIVERSION;
        }
        put(version_out, high.min(version::V3_0))
    })
}

/// `TSPI_providerEnumDevices`: the lines known from earlier runs; new ones follow as
/// LINE_CREATE once the gateway's device list arrives.
///
/// # Safety
/// The count pointers must be NULL or writable DWORDs; `create_proc` is TAPI's procedure.
#[no_mangle]
pub unsafe extern "system" fn TSPI_providerEnumDevices(
    _permanent_provider_id: u32,
    num_lines: *mut u32,
    num_phones: *mut u32,
    h_provider: usize,
    create_proc: Option<LineEventProc>,
    _phone_create_proc: usize,
) -> i32 {
    boundary("TSPI_providerEnumDevices", || {
        non_null!(num_lines);
        non_null!(num_phones);
        let (config, model) = match prepare() {
            Ok(prepared) => prepared,
            Err(code) => return code,
        };
        let count = u32::try_from(model.line_count()).unwrap_or(0);
        let mut global = global();
        global.prepared = Some((config, model));
        global.create_proc = create_proc;
        global.h_provider = h_provider;
        put(num_lines, count);
        put(num_phones, 0)
    })
}

/// `TSPI_providerInit`: numbers the lines and starts the connection and dispatcher threads.
///
/// # Safety
/// `options` must be NULL or a writable DWORD; `completion` is TAPI's procedure.
#[no_mangle]
pub unsafe extern "system" fn TSPI_providerInit(
    _tspi_version: u32,
    _permanent_provider_id: u32,
    line_device_id_base: u32,
    _phone_device_id_base: u32,
    num_lines: usize,
    _num_phones: usize,
    completion: Option<CompletionProc>,
    options: *mut u32,
) -> i32 {
    boundary("TSPI_providerInit", || {
        let completion = match completion {
            Some(completion) => completion,
            None => return err::INVALPOINTER,
        };
        let mut global = global();
        if global.provider.is_some() {
            return err::NOMULTIPLEINSTANCE;
        }
        let prepared = match global.prepared.take() {
            Some(prepared) => Ok(prepared),
            None => prepare(),
        };
        let (config, mut model) = match prepared {
            Ok(prepared) => prepared,
            Err(code) => return code,
        };
        if model.line_count() != num_lines {
            tracing::warn!(
                expected = model.line_count(),
                num_lines,
                "TAPI reports another line count"
            );
        }
        model.set_device_id_base(line_device_id_base);
        let callbacks = TapiCallbacks {
            completion,
            create: global.create_proc,
            h_provider: global.h_provider,
        };
        global.provider = Some(Provider::start(
            &config,
            model,
            Box::new(RegistryStore),
            Box::new(callbacks),
        ));
        if !options.is_null() {
            put(options, 0);
        }
        tracing::info!(
            lines = num_lines,
            base = line_device_id_base,
            "provider started"
        );
        0
    })
}

/// `TSPI_providerShutdown`: completes what is pending and joins every thread; no callback
/// follows.
#[no_mangle]
pub extern "system" fn TSPI_providerShutdown(
    _tspi_version: u32,
    _permanent_provider_id: u32,
) -> i32 {
    boundary("TSPI_providerShutdown", || {
        let provider = {
            let mut global = global();
            global.prepared = None;
            global.versions.clear();
            global.create_proc = None;
            global.provider.take()
        };
        if let Some(provider) = provider {
            provider.shutdown();
        }
        line_procs().clear();
        tracing::info!("provider stopped");
        0
    })
}

/// `TSPI_providerCreateLineDevice`: TAPI numbered a line announced with LINE_CREATE.
#[no_mangle]
pub extern "system" fn TSPI_providerCreateLineDevice(temp_id: usize, device_id: u32) -> i32 {
    boundary("TSPI_providerCreateLineDevice", || {
        with_provider(|provider| {
            match provider.apply(|model| {
                model
                    .create_line(temp_id, device_id)
                    .map(|()| ((), Vec::new()))
            }) {
                Ok(()) => 0,
                Err(code) => code,
            }
        })
    })
}

/// `TSPI_providerConfig` (obsolete; its presence lets the control panel list the provider).
#[no_mangle]
pub extern "system" fn TSPI_providerConfig(_owner: usize, _permanent_provider_id: u32) -> i32 {
    boundary("TSPI_providerConfig", || 0)
}

/// `TSPI_providerInstall` (obsolete; see `TSPI_providerConfig`).
#[no_mangle]
pub extern "system" fn TSPI_providerInstall(_owner: usize, _permanent_provider_id: u32) -> i32 {
    boundary("TSPI_providerInstall", || 0)
}

/// `TSPI_providerRemove` (obsolete; see `TSPI_providerConfig`).
#[no_mangle]
pub extern "system" fn TSPI_providerRemove(_owner: usize, _permanent_provider_id: u32) -> i32 {
    boundary("TSPI_providerRemove", || 0)
}

/// `TSPI_providerGenericDialogData`: the provider opens no dialogs.
#[no_mangle]
pub extern "system" fn TSPI_providerGenericDialogData(
    _object_id: usize,
    _object_type: u32,
    _params: *mut c_void,
    _size: u32,
) -> i32 {
    boundary("TSPI_providerGenericDialogData", || err::OPERATIONUNAVAIL)
}

/// `TSPI_providerUIIdentify`: the UI DLL is the provider itself.
///
/// # Safety
/// `name` must be NULL or a buffer of at least MAX_PATH wide characters.
#[no_mangle]
pub unsafe extern "system" fn TSPI_providerUIIdentify(name: *mut u16) -> i32 {
    boundary("TSPI_providerUIIdentify", || {
        non_null!(name);
        let mut module = ptr::null_mut();
        let anchor = TSPI_providerUIIdentify as *const u16;
        // SAFETY: looks up the module containing this function without changing its count.
        let found = unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS
                    | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                anchor,
                &mut module,
            )
        };
        if found == 0 {
            return err::OPERATIONFAILED;
        }
        // SAFETY: TAPI guarantees MAX_PATH characters at `name`; the length passed says so.
        let written = unsafe { GetModuleFileNameW(module, name, MAX_PATH as u32) };
        if written == 0 || written as usize >= MAX_PATH {
            return err::OPERATIONFAILED;
        }
        0
    })
}

/// `TUISPI_providerInstall`: refuses a second registration of the provider.
///
/// # Safety
/// Called by TAPI in an application process with its UI callback.
#[no_mangle]
pub unsafe extern "system" fn TUISPI_providerInstall(
    _callback: usize,
    _owner: usize,
    _permanent_provider_id: u32,
) -> i32 {
    boundary("TUISPI_providerInstall", || {
        if provider_registered() {
            err::NOMULTIPLEINSTANCE
        } else {
            0
        }
    })
}

/// `TUISPI_providerRemove`: nothing to clean up beyond what TAPI removes.
///
/// # Safety
/// Called by TAPI in an application process with its UI callback.
#[no_mangle]
pub unsafe extern "system" fn TUISPI_providerRemove(
    _callback: usize,
    _owner: usize,
    _permanent_provider_id: u32,
) -> i32 {
    boundary("TUISPI_providerRemove", || 0)
}

/// `TUISPI_providerConfig`: configuration lives in the registry (README); no dialog.
///
/// # Safety
/// Called by TAPI in an application process with its UI callback.
#[no_mangle]
pub unsafe extern "system" fn TUISPI_providerConfig(
    _callback: usize,
    _owner: usize,
    _permanent_provider_id: u32,
) -> i32 {
    boundary("TUISPI_providerConfig", || 0)
}

/// Whether `cti-gateway.tsp` is already listed under TAPI's Providers key.
fn provider_registered() -> bool {
    let key = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Telephony\\Providers";
    let count = match registry_value(key, "NumProviders") {
        Ok(Some(RegValue::Number(count))) => count,
        _ => return false,
    };
    (0..count).any(|index| {
        matches!(
            registry_value(key, &format!("ProviderFilename{index}")),
            Ok(Some(RegValue::Text(name))) if name.eq_ignore_ascii_case(PROVIDER_FILE)
        )
    })
}

// ---- Line exports ----

/// `TSPI_lineOpen`: starts the line's monitor in the background.
///
/// # Safety
/// `hd_line` must be NULL or writable; `event` is TAPI's procedure for this line.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineOpen(
    device_id: u32,
    ht_line: usize,
    hd_line: *mut usize,
    tspi_version: u32,
    event: Option<LineEventProc>,
) -> i32 {
    boundary("TSPI_lineOpen", || {
        non_null!(hd_line);
        let event = match event {
            Some(event) => event,
            None => return err::INVALPOINTER,
        };
        {
            let mut procs = line_procs();
            procs.retain(|(line, _)| *line != ht_line);
            procs.push((ht_line, event));
        }
        let mut global = global();
        let opened = match &global.provider {
            Some(provider) => provider.apply(|model| model.open_line(device_id, ht_line)),
            None => Err(err::OPERATIONFAILED),
        };
        match opened {
            Ok(line) => {
                global.versions.retain(|(handle, _)| *handle != line);
                global.versions.push((line, tspi_version));
                put_handle(hd_line, line)
            }
            Err(code) => code,
        }
    })
}

/// `TSPI_lineClose`.
#[no_mangle]
pub extern "system" fn TSPI_lineClose(line: usize) -> i32 {
    boundary("TSPI_lineClose", || {
        let result = with_provider(|provider| {
            match provider.apply(|model| model.close_line(line).map(|out| ((), out))) {
                Ok(()) => 0,
                Err(code) => code,
            }
        });
        global().versions.retain(|(handle, _)| *handle != line);
        result
    })
}

/// `TSPI_lineCloseCall`.
#[no_mangle]
pub extern "system" fn TSPI_lineCloseCall(call: usize) -> i32 {
    boundary("TSPI_lineCloseCall", || {
        with_provider(|provider| {
            match provider.apply(|model| model.close_call(call).map(|out| ((), out))) {
                Ok(()) => 0,
                Err(code) => code,
            }
        })
    })
}

/// `TSPI_lineGetDevCaps`.
///
/// # Safety
/// `caps` must be NULL or a LINEDEVCAPS of `dwTotalSize` bytes.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetDevCaps(
    device_id: u32,
    tspi_version: u32,
    _ext_version: u32,
    caps: *mut c_void,
) -> i32 {
    boundary("TSPI_lineGetDevCaps", || {
        with_provider(
            |provider| match provider.read(|model| model.line_by_device(device_id)) {
                Some(line) => fill(caps, |buf| {
                    structs::dev_caps(buf, tspi_version, provider.switch_info(), &line)
                }),
                None => err::BADDEVICEID,
            },
        )
    })
}

/// `TSPI_lineGetAddressCaps`: one address per line.
///
/// # Safety
/// `caps` must be NULL or a LINEADDRESSCAPS of `dwTotalSize` bytes.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetAddressCaps(
    device_id: u32,
    address_id: u32,
    _tspi_version: u32,
    _ext_version: u32,
    caps: *mut c_void,
) -> i32 {
    boundary("TSPI_lineGetAddressCaps", || {
        with_provider(
            |provider| match provider.read(|model| model.line_by_device(device_id)) {
                None => err::BADDEVICEID,
                Some(_) if address_id != 0 => err::INVALADDRESSID,
                Some(line) => fill(caps, |buf| structs::address_caps(buf, &line)),
            },
        )
    })
}

/// `TSPI_lineGetLineDevStatus`.
///
/// # Safety
/// `status` must be NULL or a LINEDEVSTATUS of `dwTotalSize` bytes.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetLineDevStatus(line: usize, status: *mut c_void) -> i32 {
    boundary("TSPI_lineGetLineDevStatus", || {
        with_provider(
            |provider| match provider.read(|model| model.line_by_handle(line)) {
                Some(view) => fill(status, |buf| structs::line_dev_status(buf, &view)),
                None => err::INVALLINEHANDLE,
            },
        )
    })
}

/// `TSPI_lineGetAddressStatus`.
///
/// # Safety
/// `status` must be NULL or a LINEADDRESSSTATUS of `dwTotalSize` bytes.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetAddressStatus(
    line: usize,
    address_id: u32,
    status: *mut c_void,
) -> i32 {
    boundary("TSPI_lineGetAddressStatus", || {
        with_provider(
            |provider| match provider.read(|model| model.line_by_handle(line)) {
                None => err::INVALLINEHANDLE,
                Some(_) if address_id != 0 => err::INVALADDRESSID,
                Some(view) => fill(status, |buf| structs::address_status(buf, &view)),
            },
        )
    })
}

/// `TSPI_lineGetNumAddressIDs`: always 1.
///
/// # Safety
/// `count` must be NULL or a writable DWORD.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetNumAddressIDs(line: usize, count: *mut u32) -> i32 {
    boundary("TSPI_lineGetNumAddressIDs", || {
        with_provider(
            |provider| match provider.read(|model| model.line_by_handle(line)) {
                Some(_) => put(count, 1),
                None => err::INVALLINEHANDLE,
            },
        )
    })
}

/// `TSPI_lineGetAddressID`: address 0 when the dialable address is the line's.
///
/// # Safety
/// `address_id` must be NULL or writable; `address` NULL or a UTF-16 string.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetAddressID(
    line: usize,
    address_id: *mut u32,
    mode: u32,
    address: *const u16,
    _size: u32,
) -> i32 {
    boundary("TSPI_lineGetAddressID", || {
        non_null!(address_id);
        if mode != misc::ADDRESSMODE_DIALABLEADDR {
            return err::INVALADDRESSMODE;
        }
        let wanted = match wide(address) {
            Some(wanted) => wanted,
            None => return err::INVALPOINTER,
        };
        with_provider(
            |provider| match provider.read(|model| model.line_by_handle(line)) {
                Some(view) if view.address == wanted.trim() => put(address_id, 0),
                Some(_) => err::INVALADDRESS,
                None => err::INVALLINEHANDLE,
            },
        )
    })
}

/// `TSPI_lineGetCallAddressID`: always address 0.
///
/// # Safety
/// `address_id` must be NULL or a writable DWORD.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetCallAddressID(call: usize, address_id: *mut u32) -> i32 {
    boundary("TSPI_lineGetCallAddressID", || {
        with_provider(|provider| match provider.read(|model| model.call(call)) {
            Some(_) => put(address_id, 0),
            None => err::INVALCALLHANDLE,
        })
    })
}

/// `TSPI_lineGetCallInfo`.
///
/// # Safety
/// `info` must be NULL or a LINECALLINFO of `dwTotalSize` bytes.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetCallInfo(call: usize, info: *mut c_void) -> i32 {
    boundary("TSPI_lineGetCallInfo", || {
        let global = global();
        let provider = match &global.provider {
            Some(provider) => provider,
            None => return err::OPERATIONFAILED,
        };
        let found = provider.read(|model| {
            let view = model.call(call)?;
            Some((view, model.line_of_call(call), model.device_names()))
        });
        let (view, line, names) = match found {
            Some(found) => found,
            None => return err::INVALCALLHANDLE,
        };
        // The structure's size depends on the version negotiated when the line was opened.
        let tspi_version = global
            .versions
            .iter()
            .find(|(handle, _)| Some(*handle) == line)
            .map_or(version::V3_0, |(_, version)| *version);
        let name_of = |number: &str| names.get(number).cloned();
        fill(info, |buf| {
            structs::call_info(buf, tspi_version, &view, &name_of)
        })
    })
}

/// `TSPI_lineGetCallStatus`.
///
/// # Safety
/// `status` must be NULL or a LINECALLSTATUS of `dwTotalSize` bytes.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetCallStatus(call: usize, status: *mut c_void) -> i32 {
    boundary("TSPI_lineGetCallStatus", || {
        with_provider(|provider| match provider.read(|model| model.call(call)) {
            Some(view) => fill(status, |buf| structs::call_status(buf, &view)),
            None => err::INVALCALLHANDLE,
        })
    })
}

/// `TSPI_lineGetCallIDs` (TSPI 3.0).
///
/// # Safety
/// The pointers must be NULL or writable DWORDs.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetCallIDs(
    call: usize,
    address_id: *mut u32,
    call_id: *mut u32,
    related_call_id: *mut u32,
) -> i32 {
    boundary("TSPI_lineGetCallIDs", || {
        non_null!(address_id);
        non_null!(call_id);
        non_null!(related_call_id);
        with_provider(|provider| match provider.read(|model| model.call(call)) {
            Some(view) => {
                put(address_id, 0);
                put(call_id, view.call_id);
                put(related_call_id, view.related_call_id)
            }
            None => err::INVALCALLHANDLE,
        })
    })
}

/// `TSPI_lineGetID`: TAPI answers `tapi/line` itself; the provider has no other classes.
///
/// # Safety
/// `device_id` must be NULL or a VARSTRING.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetID(
    _line: usize,
    _address_id: u32,
    _call: usize,
    _select: u32,
    device_id: *mut c_void,
    _class: *const u16,
    _process: usize,
) -> i32 {
    boundary("TSPI_lineGetID", || {
        non_null!(device_id);
        err::INVALDEVICECLASS
    })
}

/// `TSPI_lineGetExtensionID`: no device-specific extensions.
///
/// # Safety
/// `extension_id` must be NULL or a writable LINEEXTENSIONID (16 bytes).
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetExtensionID(
    _device_id: u32,
    _tspi_version: u32,
    extension_id: *mut u32,
) -> i32 {
    boundary("TSPI_lineGetExtensionID", || {
        non_null!(extension_id);
        for index in 0..4 {
            // SAFETY: LINEEXTENSIONID is four DWORDs at a non-NULL pointer.
            unsafe { extension_id.add(index).write_unaligned(0) };
        }
        0
    })
}

/// `TSPI_lineNegotiateExtVersion`: no extensions.
#[no_mangle]
pub extern "system" fn TSPI_lineNegotiateExtVersion(
    _device_id: u32,
    _tspi_version: u32,
    _low: u32,
    _high: u32,
    _version: *mut u32,
) -> i32 {
    boundary("TSPI_lineNegotiateExtVersion", || err::OPERATIONUNAVAIL)
}

/// `TSPI_lineSelectExtVersion`: only "no extension" (0) can be selected.
#[no_mangle]
pub extern "system" fn TSPI_lineSelectExtVersion(_line: usize, ext_version: u32) -> i32 {
    boundary("TSPI_lineSelectExtVersion", || {
        if ext_version == 0 {
            0
        } else {
            err::OPERATIONUNAVAIL
        }
    })
}

/// `TSPI_lineSetDefaultMediaDetection`: every call is interactive voice; TAPI filters.
#[no_mangle]
pub extern "system" fn TSPI_lineSetDefaultMediaDetection(_line: usize, _media_modes: u32) -> i32 {
    boundary("TSPI_lineSetDefaultMediaDetection", || 0)
}

/// `TSPI_lineSetStatusMessages`: the provider reports everything; TAPI filters per app.
#[no_mangle]
pub extern "system" fn TSPI_lineSetStatusMessages(
    _line: usize,
    _line_states: u32,
    _address_states: u32,
) -> i32 {
    boundary("TSPI_lineSetStatusMessages", || 0)
}

/// `TSPI_lineSetMediaMode`: only interactive voice.
#[no_mangle]
pub extern "system" fn TSPI_lineSetMediaMode(call: usize, media_mode: u32) -> i32 {
    boundary("TSPI_lineSetMediaMode", || {
        with_provider(|provider| match provider.read(|model| model.call(call)) {
            None => err::INVALCALLHANDLE,
            Some(_) if media_mode & !misc::MEDIAMODE_INTERACTIVEVOICE != 0 => err::INVALMEDIAMODE,
            Some(_) => 0,
        })
    })
}

/// `TSPI_lineSetAppSpecific`.
#[no_mangle]
pub extern "system" fn TSPI_lineSetAppSpecific(call: usize, value: u32) -> i32 {
    boundary("TSPI_lineSetAppSpecific", || {
        with_provider(|provider| {
            match provider.apply(|model| model.set_app_specific(call, value).map(|out| ((), out))) {
                Ok(()) => 0,
                Err(code) => code,
            }
        })
    })
}

/// `TSPI_lineSetCurrentLocation`: locations do not change what the gateway dials.
#[no_mangle]
pub extern "system" fn TSPI_lineSetCurrentLocation(_location: u32) -> i32 {
    boundary("TSPI_lineSetCurrentLocation", || 0)
}

/// `TSPI_lineGetCallHubTracking`: no call hub tracking.
///
/// # Safety
/// `info` must be NULL or a LINECALLHUBTRACKINGINFO of `dwTotalSize` bytes.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGetCallHubTracking(_line: usize, info: *mut c_void) -> i32 {
    boundary("TSPI_lineGetCallHubTracking", || {
        fill(info, structs::call_hub_tracking)
    })
}

/// `TSPI_lineSetCallHubTracking`: not available.
#[no_mangle]
pub extern "system" fn TSPI_lineSetCallHubTracking(_line: usize, _info: *mut c_void) -> i32 {
    boundary("TSPI_lineSetCallHubTracking", || err::OPERATIONUNAVAIL)
}

// ---- Asynchronous line exports ----

/// Runs an async request: the request id on success, the error otherwise.
fn request(request_id: u32, run: impl FnOnce(&Provider) -> Result<(), i32>) -> i32 {
    with_provider(|provider| async_result(request_id, run(provider)))
}

/// An async request on one call (lineAnswer, lineDrop, lineHold, lineUnhold).
fn call_request(
    name: &'static str,
    request_id: u32,
    call: usize,
    operation: fn(&mut Model, u32, usize) -> Result<Vec<Output>, i32>,
) -> i32 {
    boundary(name, || {
        request(request_id, |provider| {
            provider.apply(|model| operation(model, request_id, call).map(|out| ((), out)))
        })
    })
}

/// An async request on one call with a destination or digits (lineBlindTransfer,
/// lineRedirect, lineDial); a NULL string is an invalid address.
fn addressed_request(
    name: &'static str,
    request_id: u32,
    call: usize,
    address: *const u16,
    operation: fn(&mut Model, u32, usize, &str) -> Result<Vec<Output>, i32>,
) -> i32 {
    boundary(name, || {
        let address = match wide(address) {
            Some(address) => address,
            None => return err::INVALADDRESS,
        };
        request(request_id, |provider| {
            provider
                .apply(|model| operation(model, request_id, call, &address).map(|out| ((), out)))
        })
    })
}

/// `TSPI_lineMakeCall` → CSTA MakeCall.
///
/// # Safety
/// `hd_call` must be NULL or writable; `destination` NULL or a UTF-16 string.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineMakeCall(
    request_id: u32,
    line: usize,
    ht_call: usize,
    hd_call: *mut usize,
    destination: *const u16,
    _country_code: u32,
    _call_params: *const c_void,
) -> i32 {
    boundary("TSPI_lineMakeCall", || {
        non_null!(hd_call);
        let destination = match wide(destination) {
            Some(destination) => destination,
            None => return err::INVALADDRESS,
        };
        request(request_id, |provider| {
            let call =
                provider.apply(|model| model.make_call(request_id, line, ht_call, &destination))?;
            put_handle(hd_call, call);
            Ok(())
        })
    })
}

/// `TSPI_lineAnswer` → AnswerCall (user-user information is not supported and ignored).
#[no_mangle]
pub extern "system" fn TSPI_lineAnswer(
    request_id: u32,
    call: usize,
    _user_info: *const u8,
    _size: u32,
) -> i32 {
    call_request("TSPI_lineAnswer", request_id, call, Model::answer)
}

/// `TSPI_lineDrop` → ClearConnection.
#[no_mangle]
pub extern "system" fn TSPI_lineDrop(
    request_id: u32,
    call: usize,
    _user_info: *const u8,
    _size: u32,
) -> i32 {
    call_request("TSPI_lineDrop", request_id, call, Model::drop_call)
}

/// `TSPI_lineHold` → HoldCall.
#[no_mangle]
pub extern "system" fn TSPI_lineHold(request_id: u32, call: usize) -> i32 {
    call_request("TSPI_lineHold", request_id, call, Model::hold)
}

/// `TSPI_lineUnhold` → RetrieveCall.
#[no_mangle]
pub extern "system" fn TSPI_lineUnhold(request_id: u32, call: usize) -> i32 {
    call_request("TSPI_lineUnhold", request_id, call, Model::unhold)
}

/// `TSPI_lineSwapHold` → AlternateCall.
#[no_mangle]
pub extern "system" fn TSPI_lineSwapHold(request_id: u32, active: usize, held: usize) -> i32 {
    boundary("TSPI_lineSwapHold", || {
        request(request_id, |provider| {
            provider.apply(|model| {
                model
                    .swap_hold(request_id, active, held)
                    .map(|out| ((), out))
            })
        })
    })
}

/// `TSPI_lineBlindTransfer` → SingleStepTransferCall.
///
/// # Safety
/// `destination` must be NULL or a UTF-16 string.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineBlindTransfer(
    request_id: u32,
    call: usize,
    destination: *const u16,
    _country_code: u32,
) -> i32 {
    addressed_request(
        "TSPI_lineBlindTransfer",
        request_id,
        call,
        destination,
        Model::blind_transfer,
    )
}

/// `TSPI_lineRedirect` → DeflectCall.
///
/// # Safety
/// `destination` must be NULL or a UTF-16 string.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineRedirect(
    request_id: u32,
    call: usize,
    destination: *const u16,
    _country_code: u32,
) -> i32 {
    addressed_request(
        "TSPI_lineRedirect",
        request_id,
        call,
        destination,
        Model::redirect,
    )
}

/// `TSPI_lineDial` on a connected call → GenerateDigits.
///
/// # Safety
/// `digits` must be NULL or a UTF-16 string.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineDial(
    request_id: u32,
    call: usize,
    digits: *const u16,
    _country_code: u32,
) -> i32 {
    addressed_request("TSPI_lineDial", request_id, call, digits, Model::dial)
}

/// `TSPI_lineCompleteTransfer` → TransferCall, or ConferenceCall with a new conference call.
///
/// # Safety
/// `hd_conf_call` must be NULL or writable (required for the conference mode).
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineCompleteTransfer(
    request_id: u32,
    call: usize,
    consult: usize,
    ht_conf_call: usize,
    hd_conf_call: *mut usize,
    mode: u32,
) -> i32 {
    boundary("TSPI_lineCompleteTransfer", || {
        let conference = match mode {
            misc::TRANSFERMODE_TRANSFER => None,
            misc::TRANSFERMODE_CONFERENCE => {
                non_null!(hd_conf_call);
                Some(ht_conf_call)
            }
            _ => return err::INVALTRANSFERMODE,
        };
        request(request_id, |provider| {
            let created = provider
                .apply(|model| model.complete_transfer(request_id, call, consult, conference))?;
            if let Some(parent) = created {
                put_handle(hd_conf_call, parent);
            }
            Ok(())
        })
    })
}

/// `TSPI_lineForward` → SetForwarding/SetDoNotDisturb; LINE_ADDRESSSTATE follows the
/// gateway's confirmation.
///
/// # Safety
/// `list` must be NULL or a LINEFORWARDLIST of `dwTotalSize` bytes; `hd_consult_call` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineForward(
    request_id: u32,
    line: usize,
    _all_addresses: u32,
    address_id: u32,
    list: *const c_void,
    _rings_no_answer: u32,
    _ht_consult_call: usize,
    hd_consult_call: *mut usize,
    _call_params: *const c_void,
) -> i32 {
    boundary("TSPI_lineForward", || {
        if address_id != 0 && _all_addresses == 0 {
            return err::INVALADDRESSID;
        }
        let entries = if list.is_null() {
            None
        } else {
            // SAFETY: a LINEFORWARDLIST starts with dwTotalSize; the pointer is not NULL.
            let total = unsafe { list.cast::<u32>().read_unaligned() } as usize;
            if total < 8 {
                return err::STRUCTURETOOSMALL;
            }
            // SAFETY: TAPI allocated dwTotalSize bytes for the list.
            let bytes = unsafe { std::slice::from_raw_parts(list.cast::<u8>(), total) };
            match structs::forward_list(bytes) {
                Ok(entries) => Some(entries),
                Err(error) => return error.code(),
            }
        };
        if !hd_consult_call.is_null() {
            put_handle(hd_consult_call, 0);
        }
        request(request_id, |provider| {
            provider.apply(|model| {
                model
                    .forward(request_id, line, entries)
                    .map(|out| ((), out))
            })
        })
    })
}

/// `TSPI_lineGenerateDigits` → GenerateDigits; LINE_GENERATE reports the end.
///
/// # Safety
/// `digits` must be NULL (cancel) or a UTF-16 string.
#[no_mangle]
pub unsafe extern "system" fn TSPI_lineGenerateDigits(
    call: usize,
    end_to_end_id: u32,
    digit_mode: u32,
    digits: *const u16,
    _duration: u32,
) -> i32 {
    boundary("TSPI_lineGenerateDigits", || {
        if digit_mode != LINEDIGITMODE_DTMF && digit_mode != LINEDIGITMODE_DTMFEND {
            return LINEERR_INVALDIGITMODE;
        }
        let digits = match wide(digits) {
            Some(digits) => digits,
            // Cancelling: digits are handed to the gateway at once, nothing is left to cancel.
            None => return 0,
        };
        with_provider(|provider| {
            match provider.apply(|model| {
                model
                    .generate_digits(call, end_to_end_id, &digits)
                    .map(|out| ((), out))
            }) {
                Ok(()) => 0,
                Err(code) => code,
            }
        })
    })
}

/// `TSPI_lineSetupTransfer`: the provider uses the TRANSFERHELD/TRANSFERMAKE model
/// (lineHold + lineMakeCall + lineCompleteTransfer), as LINEADDRESSCAPS says.
#[no_mangle]
pub extern "system" fn TSPI_lineSetupTransfer(
    _request_id: u32,
    _call: usize,
    _ht_consult: usize,
    _hd_consult: *mut usize,
    _params: *const c_void,
) -> i32 {
    boundary("TSPI_lineSetupTransfer", || err::OPERATIONUNAVAIL)
}

/// `TSPI_linePickup`: not offered by the gateway's CSTA interface yet.
#[no_mangle]
pub extern "system" fn TSPI_linePickup(
    _request_id: u32,
    _line: usize,
    _address_id: u32,
    _ht_call: usize,
    _hd_call: *mut usize,
    _destination: *const u16,
    _group: *const u16,
) -> i32 {
    boundary("TSPI_linePickup", || err::OPERATIONUNAVAIL)
}

/// `TSPI_linePark`: not offered by the gateway's CSTA interface yet.
#[no_mangle]
pub extern "system" fn TSPI_linePark(
    _request_id: u32,
    _call: usize,
    _mode: u32,
    _address: *const u16,
    _non_dir_address: *mut c_void,
) -> i32 {
    boundary("TSPI_linePark", || err::OPERATIONUNAVAIL)
}

/// `TSPI_lineUnpark`: not offered by the gateway's CSTA interface yet.
#[no_mangle]
pub extern "system" fn TSPI_lineUnpark(
    _request_id: u32,
    _line: usize,
    _address_id: u32,
    _ht_call: usize,
    _hd_call: *mut usize,
    _address: *const u16,
) -> i32 {
    boundary("TSPI_lineUnpark", || err::OPERATIONUNAVAIL)
}

/// `TSPI_lineDevSpecific`: no vendor extensions.
#[no_mangle]
pub extern "system" fn TSPI_lineDevSpecific(
    _request_id: u32,
    _line: usize,
    _address_id: u32,
    _call: usize,
    _params: *mut c_void,
    _size: u32,
) -> i32 {
    boundary("TSPI_lineDevSpecific", || err::OPERATIONUNAVAIL)
}

/// `TSPI_lineDevSpecificFeature`: no vendor extensions.
#[no_mangle]
pub extern "system" fn TSPI_lineDevSpecificFeature(
    _request_id: u32,
    _line: usize,
    _feature: u32,
    _params: *mut c_void,
    _size: u32,
) -> i32 {
    boundary("TSPI_lineDevSpecificFeature", || err::OPERATIONUNAVAIL)
}

/// `TSPI_lineSendUserUserInfo`: user-user information does not reach the PBX.
#[no_mangle]
pub extern "system" fn TSPI_lineSendUserUserInfo(
    _request_id: u32,
    _call: usize,
    _info: *const u8,
    _size: u32,
) -> i32 {
    boundary("TSPI_lineSendUserUserInfo", || err::OPERATIONUNAVAIL)
}

/// `TSPI_lineSetCallData`: call data does not reach the PBX.
#[no_mangle]
pub extern "system" fn TSPI_lineSetCallData(
    _request_id: u32,
    _call: usize,
    _data: *mut c_void,
    _size: u32,
) -> i32 {
    boundary("TSPI_lineSetCallData", || err::OPERATIONUNAVAIL)
}

/// `TSPI_lineSetCallParams`: bearer mode and rate are fixed (voice).
#[no_mangle]
pub extern "system" fn TSPI_lineSetCallParams(
    _request_id: u32,
    _call: usize,
    _bearer_mode: u32,
    _min_rate: u32,
    _max_rate: u32,
    _dial_params: *const c_void,
) -> i32 {
    boundary("TSPI_lineSetCallParams", || err::OPERATIONUNAVAIL)
}
