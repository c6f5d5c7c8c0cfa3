//! TAPI 2.x/3.x constants and the writer of variable-size structures.
//!
//! Everything here is platform-neutral so that the size/offset rules of TAPI structures are
//! tested natively; `ffi` only hands a `&mut [u8]` of `dwTotalSize` bytes to [`VarStruct`].
//! Values are those of the mingw-w64 `tapi.h`/`tspi.h`.

pub mod layout;

use thiserror::Error;

/// TSPI versions.
pub mod version {
    /// TAPI 2.0, the oldest version the provider supports.
    pub const V2_0: u32 = 0x0002_0000;
    /// TAPI 2.2 (adds `PermanentLineGuid` to LINEDEVCAPS).
    pub const V2_2: u32 = 0x0002_0002;
    /// TAPI 3.0, the newest version the provider implements.
    pub const V3_0: u32 = 0x0003_0000;
    /// The device id TAPISRV passes for the provider-wide negotiation.
    pub const INITIALIZE_NEGOTIATION: u32 = 0xFFFF_FFFF;
}

/// `LINEERR_*` results (negative `LONG`s).
pub mod err {
    #![allow(clippy::cast_possible_wrap)]
    /// `LINEERR_ALLOCATED`
    pub const ALLOCATED: i32 = 0x8000_0001_u32 as i32;
    /// `LINEERR_BADDEVICEID`
    pub const BADDEVICEID: i32 = 0x8000_0002_u32 as i32;
    /// `LINEERR_CALLUNAVAIL`
    pub const CALLUNAVAIL: i32 = 0x8000_0005_u32 as i32;
    /// `LINEERR_INCOMPATIBLEAPIVERSION`
    pub const INCOMPATIBLEAPIVERSION: i32 = 0x8000_000C_u32 as i32;
    /// `LINEERR_INCOMPATIBLEEXTVERSION`
    pub const INCOMPATIBLEEXTVERSION: i32 = 0x8000_000D_u32 as i32;
    /// `LINEERR_INIFILECORRUPT`
    pub const INIFILECORRUPT: i32 = 0x8000_000E_u32 as i32;
    /// `LINEERR_INVALADDRESS`
    pub const INVALADDRESS: i32 = 0x8000_0010_u32 as i32;
    /// `LINEERR_INVALADDRESSID`
    pub const INVALADDRESSID: i32 = 0x8000_0011_u32 as i32;
    /// `LINEERR_INVALADDRESSMODE`
    pub const INVALADDRESSMODE: i32 = 0x8000_0012_u32 as i32;
    /// `LINEERR_INVALCALLHANDLE`
    pub const INVALCALLHANDLE: i32 = 0x8000_0018_u32 as i32;
    /// `LINEERR_INVALCALLSTATE`
    pub const INVALCALLSTATE: i32 = 0x8000_001C_u32 as i32;
    /// `LINEERR_INVALDEVICECLASS`
    pub const INVALDEVICECLASS: i32 = 0x8000_0023_u32 as i32;
    /// `LINEERR_INVALLINEHANDLE`
    pub const INVALLINEHANDLE: i32 = 0x8000_002B_u32 as i32;
    /// `LINEERR_INVALMEDIAMODE`
    pub const INVALMEDIAMODE: i32 = 0x8000_002F_u32 as i32;
    /// `LINEERR_INVALPARAM`
    pub const INVALPARAM: i32 = 0x8000_0032_u32 as i32;
    /// `LINEERR_INVALPOINTER`
    pub const INVALPOINTER: i32 = 0x8000_0035_u32 as i32;
    /// `LINEERR_INVALTRANSFERMODE`
    pub const INVALTRANSFERMODE: i32 = 0x8000_0039_u32 as i32;
    /// `LINEERR_NODRIVER`
    pub const NODRIVER: i32 = 0x8000_0043_u32 as i32;
    /// `LINEERR_NOMEM`
    pub const NOMEM: i32 = 0x8000_0044_u32 as i32;
    /// `LINEERR_OPERATIONFAILED`
    pub const OPERATIONFAILED: i32 = 0x8000_0048_u32 as i32;
    /// `LINEERR_OPERATIONUNAVAIL`
    pub const OPERATIONUNAVAIL: i32 = 0x8000_0049_u32 as i32;
    /// `LINEERR_RESOURCEUNAVAIL`
    pub const RESOURCEUNAVAIL: i32 = 0x8000_004B_u32 as i32;
    /// `LINEERR_STRUCTURETOOSMALL`
    pub const STRUCTURETOOSMALL: i32 = 0x8000_004D_u32 as i32;
    /// `LINEERR_USERUSERINFOTOOBIG`
    pub const USERUSERINFOTOOBIG: i32 = 0x8000_0050_u32 as i32;
    /// `LINEERR_INVALFEATURE`
    pub const INVALFEATURE: i32 = 0x8000_0055_u32 as i32;
    /// `LINEERR_NOMULTIPLEINSTANCE`
    pub const NOMULTIPLEINSTANCE: i32 = 0x8000_0056_u32 as i32;
}

/// LINEEVENT message numbers (`dwMsg`).
pub mod msg {
    /// `LINE_ADDRESSSTATE`
    pub const ADDRESSSTATE: u32 = 0;
    /// `LINE_CALLINFO`
    pub const CALLINFO: u32 = 1;
    /// `LINE_CALLSTATE`
    pub const CALLSTATE: u32 = 2;
    /// `LINE_CLOSE`
    pub const CLOSE: u32 = 3;
    /// `LINE_GENERATE`
    pub const GENERATE: u32 = 7;
    /// `LINE_LINEDEVSTATE`
    pub const LINEDEVSTATE: u32 = 8;
    /// `LINE_CREATE`
    pub const CREATE: u32 = 19;
    /// `LINE_REMOVE`
    pub const REMOVE: u32 = 25;
    /// `LINE_NEWCALL` (`TSPI_MESSAGE_BASE + 0`)
    pub const NEWCALL: u32 = 500;
}

/// `LINECALLSTATE_*`
pub mod call_state {
    /// `LINECALLSTATE_IDLE`
    pub const IDLE: u32 = 0x1;
    /// `LINECALLSTATE_OFFERING`
    pub const OFFERING: u32 = 0x2;
    /// `LINECALLSTATE_ACCEPTED`
    pub const ACCEPTED: u32 = 0x4;
    /// `LINECALLSTATE_DIALTONE`
    pub const DIALTONE: u32 = 0x8;
    /// `LINECALLSTATE_DIALING`
    pub const DIALING: u32 = 0x10;
    /// `LINECALLSTATE_RINGBACK`
    pub const RINGBACK: u32 = 0x20;
    /// `LINECALLSTATE_BUSY`
    pub const BUSY: u32 = 0x40;
    /// `LINECALLSTATE_CONNECTED`
    pub const CONNECTED: u32 = 0x100;
    /// `LINECALLSTATE_PROCEEDING`
    pub const PROCEEDING: u32 = 0x200;
    /// `LINECALLSTATE_ONHOLD`
    pub const ONHOLD: u32 = 0x400;
    /// `LINECALLSTATE_CONFERENCED`
    pub const CONFERENCED: u32 = 0x800;
    /// `LINECALLSTATE_ONHOLDPENDCONF`
    pub const ONHOLDPENDCONF: u32 = 0x1000;
    /// `LINECALLSTATE_ONHOLDPENDTRANSFER`
    pub const ONHOLDPENDTRANSFER: u32 = 0x2000;
    /// `LINECALLSTATE_DISCONNECTED`
    pub const DISCONNECTED: u32 = 0x4000;
    /// Every state the provider reports (LINEADDRESSCAPS.dwCallStates). ACCEPTED (lineAccept)
    /// and ONHOLDPENDCONF (lineSetupConference) belong to services the provider does not offer.
    pub const ALL_REPORTED: u32 = IDLE
        | OFFERING
        | DIALTONE
        | DIALING
        | RINGBACK
        | BUSY
        | CONNECTED
        | PROCEEDING
        | ONHOLD
        | CONFERENCED
        | ONHOLDPENDTRANSFER
        | DISCONNECTED;
}

/// `LINEDISCONNECTMODE_*`
pub mod disconnect_mode {
    /// `LINEDISCONNECTMODE_NORMAL`
    pub const NORMAL: u32 = 0x1;
    /// `LINEDISCONNECTMODE_UNKNOWN`
    pub const UNKNOWN: u32 = 0x2;
    /// `LINEDISCONNECTMODE_REJECT`
    pub const REJECT: u32 = 0x4;
    /// `LINEDISCONNECTMODE_PICKUP`
    pub const PICKUP: u32 = 0x8;
    /// `LINEDISCONNECTMODE_FORWARDED`
    pub const FORWARDED: u32 = 0x10;
    /// `LINEDISCONNECTMODE_BUSY`
    pub const BUSY: u32 = 0x20;
    /// `LINEDISCONNECTMODE_NOANSWER`
    pub const NOANSWER: u32 = 0x40;
    /// `LINEDISCONNECTMODE_BADADDRESS`
    pub const BADADDRESS: u32 = 0x80;
    /// `LINEDISCONNECTMODE_UNREACHABLE`
    pub const UNREACHABLE: u32 = 0x100;
    /// `LINEDISCONNECTMODE_CONGESTION`
    pub const CONGESTION: u32 = 0x200;
    /// `LINEDISCONNECTMODE_INCOMPATIBLE`
    pub const INCOMPATIBLE: u32 = 0x400;
    /// `LINEDISCONNECTMODE_UNAVAIL`
    pub const UNAVAIL: u32 = 0x800;
    /// `LINEDISCONNECTMODE_DONOTDISTURB`
    pub const DONOTDISTURB: u32 = 0x40000;
    /// `LINEDISCONNECTMODE_CANCELLED`
    pub const CANCELLED: u32 = 0x80000;
    /// Every mode the provider reports (LINEADDRESSCAPS.dwDisconnectModes).
    pub const ALL_REPORTED: u32 = NORMAL
        | REJECT
        | PICKUP
        | FORWARDED
        | BUSY
        | NOANSWER
        | BADADDRESS
        | CONGESTION
        | INCOMPATIBLE
        | UNAVAIL
        | DONOTDISTURB
        | CANCELLED;
}

/// State modes sent in `dwParam2` of LINE_CALLSTATE for the other states.
pub mod state_mode {
    /// `LINECONNECTEDMODE_ACTIVE`
    pub const CONNECTED_ACTIVE: u32 = 0x1;
    /// `LINECONNECTEDMODE_ACTIVEHELD`
    pub const CONNECTED_ACTIVEHELD: u32 = 0x4;
    /// `LINEOFFERINGMODE_ACTIVE`
    pub const OFFERING_ACTIVE: u32 = 0x1;
    /// `LINEBUSYMODE_STATION`
    pub const BUSY_STATION: u32 = 0x1;
    /// `LINEBUSYMODE_UNKNOWN`
    pub const BUSY_UNKNOWN: u32 = 0x4;
    /// `LINEDIALTONEMODE_NORMAL`
    pub const DIALTONE_NORMAL: u32 = 0x1;
}

/// `LINECALLINFOSTATE_*` bits of LINE_CALLINFO.
pub mod info_state {
    /// `LINECALLINFOSTATE_CALLID`
    pub const CALLID: u32 = 0x40;
    /// `LINECALLINFOSTATE_RELATEDCALLID`
    pub const RELATEDCALLID: u32 = 0x80;
    /// `LINECALLINFOSTATE_ORIGIN`
    pub const ORIGIN: u32 = 0x100;
    /// `LINECALLINFOSTATE_REASON`
    pub const REASON: u32 = 0x200;
    /// `LINECALLINFOSTATE_CALLERID`
    pub const CALLERID: u32 = 0x8000;
    /// `LINECALLINFOSTATE_CALLEDID`
    pub const CALLEDID: u32 = 0x10000;
    /// `LINECALLINFOSTATE_CONNECTEDID`
    pub const CONNECTEDID: u32 = 0x20000;
    /// `LINECALLINFOSTATE_REDIRECTIONID`
    pub const REDIRECTIONID: u32 = 0x40000;
    /// `LINECALLINFOSTATE_REDIRECTINGID`
    pub const REDIRECTINGID: u32 = 0x80000;
    /// Every bit the provider reports (LINEADDRESSCAPS.dwCallInfoStates).
    pub const ALL_REPORTED: u32 = CALLID
        | RELATEDCALLID
        | ORIGIN
        | REASON
        | CALLERID
        | CALLEDID
        | CONNECTEDID
        | REDIRECTIONID
        | REDIRECTINGID;
}

/// `LINECALLPARTYID_*`
pub mod party_id {
    /// `LINECALLPARTYID_BLOCKED`
    pub const BLOCKED: u32 = 0x1;
    /// `LINECALLPARTYID_NAME`
    pub const NAME: u32 = 0x4;
    /// `LINECALLPARTYID_ADDRESS`
    pub const ADDRESS: u32 = 0x8;
    /// `LINECALLPARTYID_UNKNOWN`
    pub const UNKNOWN: u32 = 0x20;
    /// `LINECALLPARTYID_UNAVAIL`
    pub const UNAVAIL: u32 = 0x40;
}

/// `LINECALLORIGIN_*`
pub mod origin {
    /// `LINECALLORIGIN_OUTBOUND`
    pub const OUTBOUND: u32 = 0x1;
    /// `LINECALLORIGIN_INTERNAL`
    pub const INTERNAL: u32 = 0x2;
    /// `LINECALLORIGIN_EXTERNAL`
    pub const EXTERNAL: u32 = 0x4;
    /// `LINECALLORIGIN_UNKNOWN`
    pub const UNKNOWN: u32 = 0x10;
    /// `LINECALLORIGIN_CONFERENCE`
    pub const CONFERENCE: u32 = 0x40;
    /// `LINECALLORIGIN_INBOUND`
    pub const INBOUND: u32 = 0x80;
}

/// `LINECALLREASON_*`
pub mod reason {
    /// `LINECALLREASON_DIRECT`
    pub const DIRECT: u32 = 0x1;
    /// `LINECALLREASON_FWDBUSY`
    pub const FWDBUSY: u32 = 0x2;
    /// `LINECALLREASON_FWDNOANSWER`
    pub const FWDNOANSWER: u32 = 0x4;
    /// `LINECALLREASON_FWDUNCOND`
    pub const FWDUNCOND: u32 = 0x8;
    /// `LINECALLREASON_PICKUP`
    pub const PICKUP: u32 = 0x10;
    /// `LINECALLREASON_REDIRECT`
    pub const REDIRECT: u32 = 0x40;
    /// `LINECALLREASON_TRANSFER`
    pub const TRANSFER: u32 = 0x100;
    /// `LINECALLREASON_UNKNOWN`
    pub const UNKNOWN: u32 = 0x400;
}

/// `LINEDEVSTATE_*`
pub mod dev_state {
    /// `LINEDEVSTATE_OTHER`
    pub const OTHER: u32 = 0x1;
    /// `LINEDEVSTATE_INSERVICE`
    pub const INSERVICE: u32 = 0x40;
    /// `LINEDEVSTATE_OUTOFSERVICE`
    pub const OUTOFSERVICE: u32 = 0x80;
    /// `LINEDEVSTATE_OPEN`
    pub const OPEN: u32 = 0x200;
    /// `LINEDEVSTATE_CLOSE`
    pub const CLOSE: u32 = 0x400;
    /// `LINEDEVSTATE_REINIT`
    pub const REINIT: u32 = 0x40000;
    /// `LINEDEVSTATE_REMOVED`
    pub const REMOVED: u32 = 0x100_0000;
}

/// `LINEADDRESSSTATE_*`
pub mod address_state {
    /// `LINEADDRESSSTATE_FORWARD`
    pub const FORWARD: u32 = 0x40;
}

/// `LINECALLFEATURE_*`
pub mod call_feature {
    /// `LINECALLFEATURE_ANSWER`
    pub const ANSWER: u32 = 0x4;
    /// `LINECALLFEATURE_BLINDTRANSFER`
    pub const BLINDTRANSFER: u32 = 0x8;
    /// `LINECALLFEATURE_COMPLETETRANSF`
    pub const COMPLETETRANSF: u32 = 0x20;
    /// `LINECALLFEATURE_DROP`
    pub const DROP: u32 = 0x80;
    /// `LINECALLFEATURE_GENERATEDIGITS`
    pub const GENERATEDIGITS: u32 = 0x200;
    /// `LINECALLFEATURE_HOLD`
    pub const HOLD: u32 = 0x800;
    /// `LINECALLFEATURE_REDIRECT`
    pub const REDIRECT: u32 = 0x20000;
    /// `LINECALLFEATURE_SWAPHOLD`
    pub const SWAPHOLD: u32 = 0x400_0000;
    /// `LINECALLFEATURE_UNHOLD`
    pub const UNHOLD: u32 = 0x800_0000;
    /// Every call feature the provider implements.
    pub const ALL: u32 = ANSWER
        | BLINDTRANSFER
        | COMPLETETRANSF
        | DROP
        | GENERATEDIGITS
        | HOLD
        | REDIRECT
        | SWAPHOLD
        | UNHOLD;
}

/// `LINEADDRCAPFLAGS_*`
pub mod addr_cap_flags {
    /// `LINEADDRCAPFLAGS_DIALED`
    pub const DIALED: u32 = 0x20;
    /// `LINEADDRCAPFLAGS_ORIGOFFHOOK`
    pub const ORIGOFFHOOK: u32 = 0x40;
    /// `LINEADDRCAPFLAGS_TRANSFERHELD`
    pub const TRANSFERHELD: u32 = 0x1000;
    /// `LINEADDRCAPFLAGS_TRANSFERMAKE`
    pub const TRANSFERMAKE: u32 = 0x2000;
    /// `LINEADDRCAPFLAGS_CONFERENCEHELD`
    pub const CONFERENCEHELD: u32 = 0x4000;
    /// `LINEADDRCAPFLAGS_CONFERENCEMAKE`
    pub const CONFERENCEMAKE: u32 = 0x8000;
    /// `LINEADDRCAPFLAGS_FWDSTATUSVALID`
    pub const FWDSTATUSVALID: u32 = 0x2_0000;
}

/// `LINEADDRFEATURE_*`
pub mod addr_feature {
    /// `LINEADDRFEATURE_FORWARD`
    pub const FORWARD: u32 = 0x1;
    /// `LINEADDRFEATURE_MAKECALL`
    pub const MAKECALL: u32 = 0x2;
    /// `LINEADDRFEATURE_FORWARDFWD`
    pub const FORWARDFWD: u32 = 0x1000;
    /// `LINEADDRFEATURE_FORWARDDND`
    pub const FORWARDDND: u32 = 0x2000;
}

/// `LINEFEATURE_*`
pub mod line_feature {
    /// `LINEFEATURE_FORWARD`
    pub const FORWARD: u32 = 0x4;
    /// `LINEFEATURE_MAKECALL`
    pub const MAKECALL: u32 = 0x8;
    /// `LINEFEATURE_FORWARDFWD`
    pub const FORWARDFWD: u32 = 0x80;
    /// `LINEFEATURE_FORWARDDND`
    pub const FORWARDDND: u32 = 0x100;
}

/// `LINEFORWARDMODE_*`
pub mod forward_mode {
    /// `LINEFORWARDMODE_UNCOND`
    pub const UNCOND: u32 = 0x1;
    /// `LINEFORWARDMODE_BUSY`
    pub const BUSY: u32 = 0x10;
    /// `LINEFORWARDMODE_NOANSW`
    pub const NOANSW: u32 = 0x100;
    /// `LINEFORWARDMODE_BUSYNA`
    pub const BUSYNA: u32 = 0x1000;
}

/// Remaining single constants.
pub mod misc {
    /// `STRINGFORMAT_UNICODE`
    pub const STRINGFORMAT_UNICODE: u32 = 3;
    /// `STRINGFORMAT_BINARY`
    pub const STRINGFORMAT_BINARY: u32 = 4;
    /// `LINEBEARERMODE_VOICE`
    pub const BEARERMODE_VOICE: u32 = 0x1;
    /// `LINEMEDIAMODE_INTERACTIVEVOICE`
    pub const MEDIAMODE_INTERACTIVEVOICE: u32 = 0x4;
    /// `LINEADDRESSMODE_ADDRESSID`
    pub const ADDRESSMODE_ADDRESSID: u32 = 0x1;
    /// `LINEADDRESSMODE_DIALABLEADDR`
    pub const ADDRESSMODE_DIALABLEADDR: u32 = 0x2;
    /// `LINEADDRESSSHARING_PRIVATE`
    pub const ADDRESSSHARING_PRIVATE: u32 = 0x1;
    /// `LINEDIGITMODE_DTMF`
    pub const DIGITMODE_DTMF: u32 = 0x2;
    /// `LINEDEVCAPFLAGS_CLOSEDROP`
    pub const DEVCAPFLAGS_CLOSEDROP: u32 = 0x20;
    /// `LINEDEVCAPFLAGS_LOCAL`
    pub const DEVCAPFLAGS_LOCAL: u32 = 0x2000;
    /// `LINEANSWERMODE_HOLD`
    pub const ANSWERMODE_HOLD: u32 = 0x2;
    /// `LINETRANSFERMODE_TRANSFER`
    pub const TRANSFERMODE_TRANSFER: u32 = 0x1;
    /// `LINETRANSFERMODE_CONFERENCE`
    pub const TRANSFERMODE_CONFERENCE: u32 = 0x2;
    /// `LINEGENERATETERM_DONE`
    pub const GENERATETERM_DONE: u32 = 0x1;
    /// `LINEGENERATETERM_CANCEL`
    pub const GENERATETERM_CANCEL: u32 = 0x2;
    /// `LINETSPIOPTION_NONREENTRANT`
    pub const TSPIOPTION_NONREENTRANT: u32 = 0x1;
    /// `LINECALLSELECT_LINE`
    pub const CALLSELECT_LINE: u32 = 0x1;
    /// `LINECALLSELECT_ADDRESS`
    pub const CALLSELECT_ADDRESS: u32 = 0x2;
    /// `LINECALLSELECT_CALL`
    pub const CALLSELECT_CALL: u32 = 0x4;
}

/// A TAPI structure that cannot be filled.
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
pub enum StructError {
    /// `dwTotalSize` is smaller than the fixed part (`LINEERR_STRUCTURETOOSMALL`).
    #[error("dwTotalSize {total} is smaller than the fixed part of {fixed} bytes")]
    TooSmall {
        /// The size TAPI gave.
        total: usize,
        /// The fixed size for the negotiated version.
        fixed: usize,
    },
}

impl StructError {
    /// The `LINEERR_*` code for the error.
    pub fn code(self) -> i32 {
        match self {
            Self::TooSmall { .. } => err::STRUCTURETOOSMALL,
        }
    }
}

/// Writes one variable-size TAPI structure (`dwTotalSize`, `dwNeededSize`, `dwUsedSize`, a fixed
/// part and a variable area) into the buffer TAPI handed over.
///
/// The rules of TAPI 2.x: `dwTotalSize` is never written; variable items go contiguously after
/// the fixed part and are never truncated — an item that does not fit gets size and offset 0 and
/// only raises `dwNeededSize`, which the caller uses to retry with a bigger buffer. Fields the
/// writer is not told to set keep their content, so TAPI-owned fields survive.
#[derive(Debug)]
pub struct VarStruct<'a> {
    buf: &'a mut [u8],
    used: usize,
    needed: usize,
}

impl<'a> VarStruct<'a> {
    /// Starts writing a structure whose `dwTotalSize` is `buf.len()`.
    pub fn new(buf: &'a mut [u8], fixed_size: usize) -> Result<Self, StructError> {
        if buf.len() < fixed_size {
            return Err(StructError::TooSmall {
                total: buf.len(),
                fixed: fixed_size,
            });
        }
        Ok(Self {
            buf,
            used: fixed_size,
            needed: fixed_size,
        })
    }

    /// Sets the fixed `DWORD` at `offset` (little-endian, as on every Windows target).
    pub fn set(&mut self, offset: usize, value: u32) {
        self.buf[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Zeroes the fixed bytes `from..to` (fields the provider owns and does not report).
    pub fn clear(&mut self, from: usize, to: usize) {
        self.buf[from..to].iter_mut().for_each(|byte| *byte = 0);
    }

    /// Copies raw bytes into the fixed part (GUIDs, embedded structures).
    pub fn set_bytes(&mut self, offset: usize, bytes: &[u8]) {
        self.buf[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    /// Appends `text` as NUL-terminated UTF-16 and points the `(size, offset)` pair that starts
    /// at `size_field` at it. Empty text sets the pair to 0.
    pub fn string(&mut self, size_field: usize, text: &str) {
        if text.is_empty() {
            self.item(size_field, &[]);
            return;
        }
        let bytes: Vec<u8> = text
            .encode_utf16()
            .chain(std::iter::once(0))
            .flat_map(u16::to_le_bytes)
            .collect();
        self.item(size_field, &bytes);
    }

    /// Where the next variable item would start.
    pub fn next_offset(&self) -> usize {
        self.used
    }

    /// Appends raw bytes as a variable item described by the pair at `size_field`; returns
    /// whether it was placed (false: omitted, only `dwNeededSize` grew).
    pub fn item(&mut self, size_field: usize, bytes: &[u8]) -> bool {
        let fits = self.used + bytes.len() <= self.buf.len();
        if bytes.is_empty() || !fits {
            self.set(size_field, 0);
            self.set(size_field + 4, 0);
        } else {
            let offset = self.used;
            self.buf[offset..offset + bytes.len()].copy_from_slice(bytes);
            self.used += bytes.len();
            self.set(size_field, len_u32(bytes.len()));
            self.set(size_field + 4, len_u32(offset));
        }
        self.needed += bytes.len();
        fits && !bytes.is_empty()
    }

    /// Writes `dwNeededSize` and `dwUsedSize`.
    pub fn finish(mut self) {
        let (needed, used) = (len_u32(self.needed), len_u32(self.used));
        self.set(4, needed);
        self.set(8, used);
    }
}

/// Converts a structure length to a `DWORD`; TAPI structures are far below 4 GiB.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Reads a NUL-terminated UTF-16 string of a TAPI structure's variable area, as written by the
/// application (LINEFORWARD addresses, LINECALLPARAMS fields).
pub fn read_string(buf: &[u8], size: u32, offset: u32) -> Option<String> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    let bytes = buf.get(start..start.checked_add(len)?)?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|unit| *unit != 0)
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: u8 = 0xA5;

    fn dword(buf: &[u8], offset: usize) -> u32 {
        u32::from_le_bytes([
            buf[offset],
            buf[offset + 1],
            buf[offset + 2],
            buf[offset + 3],
        ])
    }

    #[test]
    fn too_small_fixed_part_is_rejected() {
        let mut buf = vec![SENTINEL; 23];
        let error = VarStruct::new(&mut buf, 24).unwrap_err();
        assert_eq!(
            error,
            StructError::TooSmall {
                total: 23,
                fixed: 24
            }
        );
        assert_eq!(error.code(), err::STRUCTURETOOSMALL);
        assert!(buf.iter().all(|byte| *byte == SENTINEL), "nothing written");
    }

    #[test]
    fn everything_fits_needed_equals_used() {
        let mut buf = vec![SENTINEL; 100];
        let mut var = VarStruct::new(&mut buf, 24).unwrap();
        var.set(12, 3);
        var.string(16, "ab");
        var.finish();
        assert_eq!(dword(&buf, 0), 0xA5A5_A5A5, "dwTotalSize untouched");
        assert_eq!(dword(&buf, 4), 30);
        assert_eq!(dword(&buf, 8), 30);
        assert_eq!(dword(&buf, 16), 6);
        assert_eq!(dword(&buf, 20), 24);
        assert_eq!(&buf[24..30], &[b'a', 0, b'b', 0, 0, 0]);
        assert!(buf[30..].iter().all(|byte| *byte == SENTINEL));
    }

    #[test]
    fn item_that_does_not_fit_is_omitted_not_truncated() {
        let mut buf = vec![SENTINEL; 52];
        let mut var = VarStruct::new(&mut buf, 36).unwrap();
        var.string(12, "first"); // 12 bytes: fits at 36..48
        var.string(20, "second"); // 14 bytes: only 4 left, omitted whole
        var.item(28, &[1, 2]); // 2 bytes: still fits after the omitted item
        var.finish();
        assert_eq!((dword(&buf, 12), dword(&buf, 16)), (12, 36));
        assert_eq!((dword(&buf, 20), dword(&buf, 24)), (0, 0), "omitted item");
        assert_eq!((dword(&buf, 28), dword(&buf, 32)), (2, 48));
        assert_eq!(&buf[36..40], &[b'f', 0, b'i', 0]);
        assert_eq!(&buf[48..50], &[1, 2]);
        assert_eq!(dword(&buf, 8), 50, "used");
        assert_eq!(dword(&buf, 4), 36 + 12 + 14 + 2, "needed counts every item");
    }

    #[test]
    fn unset_fields_keep_tapi_content() {
        let mut buf = vec![SENTINEL; 64];
        let mut var = VarStruct::new(&mut buf, 64).unwrap();
        var.set(12, 7);
        var.clear(20, 24);
        var.finish();
        assert_eq!(dword(&buf, 12), 7);
        assert_eq!(dword(&buf, 16), 0xA5A5_A5A5);
        assert_eq!(dword(&buf, 20), 0);
        assert_eq!(dword(&buf, 24), 0xA5A5_A5A5);
    }

    #[test]
    fn empty_string_has_no_item() {
        let mut buf = vec![SENTINEL; 64];
        let mut var = VarStruct::new(&mut buf, 24).unwrap();
        var.string(12, "");
        var.finish();
        assert_eq!((dword(&buf, 12), dword(&buf, 16)), (0, 0));
        assert_eq!(dword(&buf, 4), 24);
    }

    #[test]
    fn read_string_stops_at_nul_and_rejects_out_of_bounds() {
        let mut buf = vec![0_u8; 8];
        buf.extend("12+".encode_utf16().chain([0]).flat_map(u16::to_le_bytes));
        assert_eq!(read_string(&buf, 8, 8).as_deref(), Some("12+"));
        assert_eq!(read_string(&buf, 100, 8), None);
        assert_eq!(read_string(&buf, 2, u32::MAX), None);
    }

    #[test]
    fn layout_matches_tapi_sizes() {
        assert_eq!(layout::line_dev_caps::FIXED_SIZE, 292);
        assert_eq!(layout::line_dev_caps::PERMANENT_LINE_GUID, 252);
        assert_eq!(layout::line_call_info::FIXED_SIZE, 344);
        assert_eq!(layout::line_call_info::CALLER_ID_ADDRESS_TYPE, 324);
        assert_eq!(layout::line_address_caps::FIXED_SIZE, 228);
        assert_eq!(layout::line_call_status::FIXED_SIZE, 56);
        assert_eq!(layout::var_string::FIXED_SIZE, 24);
    }
}
