//! Filling the TAPI structures of the `TSPI_lineGet*` functions and reading LINEFORWARDLIST.
//!
//! Pure functions over the byte buffer TAPI handed over, so the size rules and the fields that
//! belong to TAPI are tested natively (pre-filled sentinels must survive).

use thiserror::Error;

use crate::model::{CallView, ForwardEntry, ForwardKind, LineView, Party};
use crate::tapi::layout::{
    line_address_caps as lac, line_address_status as las, line_call_info as lci,
    line_call_status as lcs, line_dev_caps as ldc, line_dev_status as lds, line_forward as lf,
    line_forward_list as lfl,
};
use crate::tapi::{
    self, StructError, VarStruct, addr_cap_flags, addr_feature, call_state, disconnect_mode,
    forward_mode, info_state, line_feature, misc, party_id, state_mode, version,
};

/// Text of LINEDEVCAPS.dwProviderInfo.
pub const PROVIDER_INFO: &str = "cti-gateway TAPI service provider";

/// `LINEADDRESSTYPE_PHONENUMBER`.
const ADDRESSTYPE_PHONENUMBER: u32 = 0x1;

/// `TAPIPROTOCOL_PSTN` {831CE2D6-83B5-11D1-BB5C-00C04FB6809F} in memory order.
const PROTOCOL_PSTN: [u8; 16] = [
    0xD6, 0xE2, 0x1C, 0x83, 0xB5, 0x83, 0xD1, 0x11, 0xBB, 0x5C, 0x00, 0xC0, 0x4F, 0xB6, 0x80, 0x9F,
];

/// Fixed size of LINEDEVCAPS for a negotiated TSPI version.
pub fn dev_caps_size(tspi_version: u32) -> usize {
    if tspi_version >= version::V3_0 {
        ldc::FIXED_SIZE
    } else if tspi_version >= version::V2_2 {
        ldc::ADDRESS_TYPES
    } else {
        ldc::PERMANENT_LINE_GUID
    }
}

/// Fixed size of LINECALLINFO for a negotiated TSPI version.
pub fn call_info_size(tspi_version: u32) -> usize {
    if tspi_version >= version::V3_0 {
        lci::FIXED_SIZE
    } else {
        lci::CALLER_ID_ADDRESS_TYPE
    }
}

/// `TSPI_lineGetDevCaps`: LINEDEVCAPS belongs wholly to the provider except `dwTotalSize`.
pub fn dev_caps(
    buf: &mut [u8],
    tspi_version: u32,
    switch_info: &str,
    line: &LineView,
) -> Result<(), StructError> {
    let fixed = dev_caps_size(tspi_version);
    let mut var = VarStruct::new(buf, fixed)?;
    var.clear(ldc::PROVIDER_INFO_SIZE, fixed);
    var.string(ldc::PROVIDER_INFO_SIZE, PROVIDER_INFO);
    var.string(ldc::SWITCH_INFO_SIZE, switch_info);
    var.set(ldc::PERMANENT_LINE_ID, line.permanent_id);
    var.string(ldc::LINE_NAME_SIZE, &line.name);
    var.set(ldc::STRING_FORMAT, misc::STRINGFORMAT_UNICODE);
    var.set(ldc::ADDRESS_MODES, misc::ADDRESSMODE_ADDRESSID);
    var.set(ldc::NUM_ADDRESSES, 1);
    var.set(ldc::BEARER_MODES, misc::BEARERMODE_VOICE);
    var.set(ldc::MEDIA_MODES, misc::MEDIAMODE_INTERACTIVEVOICE);
    var.set(ldc::GENERATE_DIGIT_MODES, misc::DIGITMODE_DTMF);
    var.set(ldc::MAX_NUM_ACTIVE_CALLS, 1);
    var.set(ldc::ANSWER_MODE, misc::ANSWERMODE_HOLD);
    var.set(
        ldc::LINE_STATES,
        tapi::dev_state::OTHER | tapi::dev_state::INSERVICE | tapi::dev_state::OUTOFSERVICE,
    );
    var.set(ldc::LINE_FEATURES, LINE_FEATURES);
    // A MULTI_SZ list of the device classes lineGetID knows; TAPI itself answers "tapi/line".
    var.string(ldc::DEVICE_CLASSES_SIZE, "tapi/line\0");
    if tspi_version >= version::V2_2 {
        var.set_bytes(ldc::PERMANENT_LINE_GUID, &line_guid(line.permanent_id));
    }
    if tspi_version >= version::V3_0 {
        var.set(ldc::ADDRESS_TYPES, ADDRESSTYPE_PHONENUMBER);
        var.set_bytes(ldc::PROTOCOL_GUID, &PROTOCOL_PSTN);
    }
    var.finish();
    Ok(())
}

/// `TSPI_lineGetAddressCaps` for the single address of a line.
pub fn address_caps(buf: &mut [u8], line: &LineView) -> Result<(), StructError> {
    let mut var = VarStruct::new(buf, lac::FIXED_SIZE)?;
    var.clear(lac::LINE_DEVICE_ID, lac::FIXED_SIZE);
    var.set(lac::LINE_DEVICE_ID, line.device_id);
    var.string(lac::ADDRESS_SIZE, &line.address);
    var.set(lac::ADDRESS_SHARING, misc::ADDRESSSHARING_PRIVATE);
    var.set(lac::ADDRESS_STATES, tapi::address_state::FORWARD);
    var.set(
        lac::CALL_INFO_STATES,
        info_state::ALL_REPORTED | APPSPECIFIC,
    );
    let party_flags = party_id::ADDRESS | party_id::NAME | party_id::BLOCKED | party_id::UNKNOWN;
    for field in [
        lac::CALLER_ID_FLAGS,
        lac::CALLED_ID_FLAGS,
        lac::CONNECTED_ID_FLAGS,
        lac::REDIRECTION_ID_FLAGS,
        lac::REDIRECTING_ID_FLAGS,
    ] {
        var.set(field, party_flags | party_id::UNAVAIL);
    }
    var.set(lac::CALL_STATES, call_state::ALL_REPORTED);
    var.set(lac::DIAL_TONE_MODES, state_mode::DIALTONE_NORMAL);
    var.set(lac::BUSY_MODES, state_mode::BUSY_STATION);
    var.set(lac::DISCONNECT_MODES, disconnect_mode::ALL_REPORTED);
    var.set(lac::MAX_NUM_ACTIVE_CALLS, 1);
    var.set(lac::MAX_NUM_ON_HOLD_CALLS, 4);
    var.set(lac::MAX_NUM_ON_HOLD_PENDING_CALLS, 1);
    var.set(lac::MAX_NUM_CONFERENCE, 3);
    var.set(lac::MAX_NUM_TRANS_CONF, 1);
    var.set(
        lac::ADDR_CAP_FLAGS,
        addr_cap_flags::DIALED
            | addr_cap_flags::TRANSFERHELD
            | addr_cap_flags::TRANSFERMAKE
            | addr_cap_flags::CONFERENCEHELD
            | addr_cap_flags::CONFERENCEMAKE
            | addr_cap_flags::FWDSTATUSVALID,
    );
    var.set(lac::CALL_FEATURES, tapi::call_feature::ALL);
    var.set(
        lac::TRANSFER_MODES,
        misc::TRANSFERMODE_TRANSFER | misc::TRANSFERMODE_CONFERENCE,
    );
    var.set(
        lac::FORWARD_MODES,
        forward_mode::UNCOND | forward_mode::BUSY | forward_mode::NOANSW,
    );
    var.set(lac::MAX_FORWARD_ENTRIES, 3);
    var.set(lac::ADDRESS_FEATURES, ADDRESS_FEATURES);
    var.set(
        lac::CONNECTED_MODES,
        state_mode::CONNECTED_ACTIVE | state_mode::CONNECTED_ACTIVEHELD,
    );
    var.set(lac::OFFERING_MODES, state_mode::OFFERING_ACTIVE);
    var.set(lac::AVAILABLE_MEDIA_MODES, misc::MEDIAMODE_INTERACTIVEVOICE);
    var.finish();
    Ok(())
}

/// `TSPI_lineGetLineDevStatus`; `dwNumOpens`, `dwOpenMediaModes` and `dwAppInfo*` are TAPI's.
pub fn line_dev_status(buf: &mut [u8], line: &LineView) -> Result<(), StructError> {
    let mut var = VarStruct::new(buf, lds::FIXED_SIZE)?;
    var.set(lds::NUM_ACTIVE_CALLS, line.active_calls);
    var.set(lds::NUM_ON_HOLD_CALLS, line.held_calls);
    var.set(lds::NUM_ON_HOLD_PEND_CALLS, 0);
    var.set(
        lds::LINE_FEATURES,
        if line.in_service { LINE_FEATURES } else { 0 },
    );
    var.set(lds::NUM_CALL_COMPLETIONS, 0);
    var.set(lds::RING_MODE, 0);
    var.set(lds::SIGNAL_LEVEL, 0xFFFF);
    var.set(lds::BATTERY_LEVEL, 0xFFFF);
    var.set(lds::ROAM_MODE, LINEROAMMODE_UNAVAIL);
    var.set(
        lds::DEV_STATUS_FLAGS,
        if line.in_service {
            LINEDEVSTATUSFLAGS_CONNECTED | LINEDEVSTATUSFLAGS_INSERVICE
        } else {
            0
        },
    );
    var.item(lds::TERMINAL_MODES_SIZE, &[]);
    var.item(lds::DEV_SPECIFIC_SIZE, &[]);
    var.set(lds::AVAILABLE_MEDIA_MODES, misc::MEDIAMODE_INTERACTIVEVOICE);
    var.finish();
    Ok(())
}

/// `TSPI_lineGetAddressStatus`, with the forwarding list (do-not-disturb as an unconditional
/// forward without destination, the way applications set it).
pub fn address_status(buf: &mut [u8], line: &LineView) -> Result<(), StructError> {
    let mut var = VarStruct::new(buf, las::FIXED_SIZE)?;
    let in_use = line.active_calls + line.held_calls;
    var.set(las::NUM_IN_USE, u32::from(in_use > 0));
    var.set(las::NUM_ACTIVE_CALLS, line.active_calls);
    var.set(las::NUM_ON_HOLD_CALLS, line.held_calls);
    var.set(las::NUM_ON_HOLD_PEND_CALLS, 0);
    var.set(
        las::ADDRESS_FEATURES,
        if line.in_service { ADDRESS_FEATURES } else { 0 },
    );
    var.set(las::NUM_RINGS_NO_ANSWER, 0);
    let mut entries: Vec<(u32, &str)> = line
        .forwards
        .iter()
        .map(|(kind, to)| (mode_of(*kind), to.as_str()))
        .collect();
    if line.dnd {
        entries.push((forward_mode::UNCOND, ""));
    }
    var.set(
        las::FORWARD_NUM_ENTRIES,
        u32::try_from(entries.len()).unwrap_or(0),
    );
    let blob = forward_blob(var.next_offset(), &entries);
    if !var.item(las::FORWARD_SIZE, &blob) {
        // The list did not fit: TAPI reads dwNeededSize and asks again.
        var.set(las::FORWARD_NUM_ENTRIES, 0);
    }
    var.item(las::TERMINAL_MODES_SIZE, &[]);
    var.item(las::DEV_SPECIFIC_SIZE, &[]);
    var.finish();
    Ok(())
}

/// `TSPI_lineGetCallInfo`. TAPI owns `hLine`, the monitor modes, owner/monitor counts and the
/// app name, displayable address, called party and comment items: they are left as they are.
pub fn call_info(
    buf: &mut [u8],
    tspi_version: u32,
    call: &CallView,
    name_of: &dyn Fn(&str) -> Option<String>,
) -> Result<(), StructError> {
    let mut var = VarStruct::new(buf, call_info_size(tspi_version))?;
    var.set(lci::LINE_DEVICE_ID, call.device_id);
    var.set(lci::ADDRESS_ID, 0);
    var.set(lci::BEARER_MODE, misc::BEARERMODE_VOICE);
    var.set(lci::RATE, 0);
    var.set(lci::MEDIA_MODE, misc::MEDIAMODE_INTERACTIVEVOICE);
    var.set(lci::APP_SPECIFIC, call.app_specific);
    var.set(lci::CALL_ID, call.call_id);
    var.set(lci::RELATED_CALL_ID, call.related_call_id);
    var.set(lci::CALL_PARAM_FLAGS, 0);
    var.set(lci::CALL_STATES, call_state::ALL_REPORTED);
    var.set_bytes(lci::DIAL_PARAMS, &[0; 16]);
    var.set(lci::ORIGIN, call.origin);
    var.set(lci::REASON, call.reason);
    var.set(lci::COMPLETION_ID, 0);
    var.set(lci::COUNTRY_CODE, 0);
    var.set(lci::TRUNK, 0xFFFF_FFFF);
    let parties = [
        (lci::CALLER_ID_FLAGS, &call.caller),
        (lci::CALLED_ID_FLAGS, &call.called),
        (lci::CONNECTED_ID_FLAGS, &call.connected),
        (lci::REDIRECTION_ID_FLAGS, &call.redirection),
        (lci::REDIRECTING_ID_FLAGS, &call.redirecting),
    ];
    for (flags, party) in parties {
        // Each party is FLAGS, SIZE, OFFSET, NAMESIZE, NAMEOFFSET.
        let (bits, number, name) = party_fields(party.as_ref(), name_of);
        var.set(flags, bits);
        var.string(flags + 4, &number);
        var.string(flags + 12, &name);
    }
    for item in [
        lci::DISPLAY_SIZE,
        lci::USER_USER_INFO_SIZE,
        lci::HIGH_LEVEL_COMP_SIZE,
        lci::LOW_LEVEL_COMP_SIZE,
        lci::CHARGING_INFO_SIZE,
        lci::TERMINAL_MODES_SIZE,
        lci::DEV_SPECIFIC_SIZE,
        lci::CALL_DATA_SIZE,
        lci::SENDING_FLOWSPEC_SIZE,
        lci::RECEIVING_FLOWSPEC_SIZE,
    ] {
        var.item(item, &[]);
    }
    var.set(lci::CALL_TREATMENT, 0);
    if tspi_version >= version::V3_0 {
        for (field, party) in [
            (lci::CALLER_ID_ADDRESS_TYPE, &call.caller),
            (lci::CALLED_ID_ADDRESS_TYPE, &call.called),
            (lci::CONNECTED_ID_ADDRESS_TYPE, &call.connected),
            (lci::REDIRECTION_ID_ADDRESS_TYPE, &call.redirection),
            (lci::REDIRECTING_ID_ADDRESS_TYPE, &call.redirecting),
        ] {
            let known = matches!(party, Some(Party::Known(_)));
            var.set(field, if known { ADDRESSTYPE_PHONENUMBER } else { 0 });
        }
    }
    var.finish();
    Ok(())
}

/// `TSPI_lineGetCallStatus`; `dwCallPrivilege` is TAPI's.
pub fn call_status(buf: &mut [u8], call: &CallView) -> Result<(), StructError> {
    let mut var = VarStruct::new(buf, lcs::FIXED_SIZE)?;
    var.set(lcs::CALL_STATE, call.state);
    var.set(lcs::CALL_STATE_MODE, call.mode);
    var.set(lcs::CALL_FEATURES, call.features);
    var.item(lcs::DEV_SPECIFIC_SIZE, &[]);
    var.set(lcs::CALL_FEATURES2, 0);
    var.clear(lcs::STATE_ENTRY_TIME, lcs::FIXED_SIZE);
    var.finish();
    Ok(())
}

/// `TSPI_lineGetCallHubTracking`: LINECALLHUBTRACKINGINFO, no call hub tracking available.
pub fn call_hub_tracking(buf: &mut [u8]) -> Result<(), StructError> {
    let mut var = VarStruct::new(buf, 20)?;
    var.set(12, 0);
    var.set(16, 0);
    var.finish();
    Ok(())
}

/// A LINEFORWARDLIST the provider cannot use.
#[derive(Clone, Copy, Debug, Eq, Error, PartialEq)]
pub enum ForwardListError {
    /// `dwTotalSize` is too small for the entries it claims.
    #[error("LINEFORWARDLIST of {total} bytes cannot hold {entries} entries")]
    TooSmall {
        /// `dwTotalSize`.
        total: usize,
        /// `dwNumEntries`.
        entries: u32,
    },
    /// An entry has a mode the gateway cannot forward (specific callers, unknown).
    #[error("forward mode {0:#x} is not supported")]
    UnsupportedMode(u32),
    /// A destination string lies outside the structure.
    #[error("forward destination {0} lies outside the structure")]
    BadDestination(usize),
}

impl ForwardListError {
    /// The `LINEERR_*` code.
    pub fn code(self) -> i32 {
        match self {
            Self::TooSmall { .. } => tapi::err::STRUCTURETOOSMALL,
            Self::UnsupportedMode(_) => tapi::err::INVALPARAM,
            Self::BadDestination(_) => tapi::err::INVALPOINTER,
        }
    }
}

/// Reads a LINEFORWARDLIST (`buf` holds its `dwTotalSize` bytes).
pub fn forward_list(buf: &[u8]) -> Result<Vec<ForwardEntry>, ForwardListError> {
    // dwTotalSize and dwNumEntries, then the LINEFORWARD array.
    const HEADER: usize = 8;
    let entries = dword(buf, lfl::NUM_ENTRIES).unwrap_or(0);
    let needed = usize::try_from(entries)
        .ok()
        .and_then(|count| count.checked_mul(lf::FIXED_SIZE))
        .and_then(|size| size.checked_add(HEADER));
    if buf.len() < HEADER || !needed.map_or(false, |needed| needed <= buf.len()) {
        return Err(ForwardListError::TooSmall {
            total: buf.len(),
            entries,
        });
    }
    let mut list = Vec::new();
    for index in 0..usize::try_from(entries).unwrap_or(0) {
        let base = HEADER + index * lf::FIXED_SIZE;
        let mode = dword(buf, base + lf::FORWARD_MODE).unwrap_or(0);
        let size = dword(buf, base + lf::DEST_ADDRESS_SIZE).unwrap_or(0);
        let offset = dword(buf, base + lf::DEST_ADDRESS_OFFSET).unwrap_or(0);
        let destination = if size == 0 {
            String::new()
        } else {
            tapi::read_string(buf, size, offset).ok_or(ForwardListError::BadDestination(index))?
        };
        let destination = destination.trim().to_owned();
        let kinds: &[ForwardKind] = match mode {
            0x1..=0x8 => &[ForwardKind::Immediate],
            0x10..=0x80 => &[ForwardKind::Busy],
            0x100..=0x800 => &[ForwardKind::NoAnswer],
            0x1000..=0x8000 => &[ForwardKind::Busy, ForwardKind::NoAnswer],
            other => return Err(ForwardListError::UnsupportedMode(other)),
        };
        if !mode.is_power_of_two() || mode & SPECIFIC_MODES != 0 {
            return Err(ForwardListError::UnsupportedMode(mode));
        }
        if destination.is_empty() {
            if kinds == [ForwardKind::Immediate] {
                list.push(ForwardEntry::DoNotDisturb);
                continue;
            }
            return Err(ForwardListError::BadDestination(index));
        }
        for kind in kinds {
            list.push(ForwardEntry::Forward {
                kind: *kind,
                to: destination.clone(),
            });
        }
    }
    Ok(list)
}

/// Forward modes that name specific callers (`*SPECIFIC`), which the gateway cannot do.
const SPECIFIC_MODES: u32 = 0x8 | 0x80 | 0x800 | 0x8000;
/// `LINEFEATURE_*` of an in-service line.
const LINE_FEATURES: u32 = line_feature::MAKECALL
    | line_feature::FORWARD
    | line_feature::FORWARDFWD
    | line_feature::FORWARDDND;
/// `LINEADDRFEATURE_*` of an in-service address.
const ADDRESS_FEATURES: u32 = addr_feature::MAKECALL
    | addr_feature::FORWARD
    | addr_feature::FORWARDFWD
    | addr_feature::FORWARDDND;
/// `LINECALLINFOSTATE_APPSPECIFIC`.
const APPSPECIFIC: u32 = 0x20;
/// `LINEROAMMODE_UNAVAIL`.
const LINEROAMMODE_UNAVAIL: u32 = 0x2;
/// `LINEDEVSTATUSFLAGS_CONNECTED`.
const LINEDEVSTATUSFLAGS_CONNECTED: u32 = 0x1;
/// `LINEDEVSTATUSFLAGS_INSERVICE`.
const LINEDEVSTATUSFLAGS_INSERVICE: u32 = 0x4;

fn mode_of(kind: ForwardKind) -> u32 {
    match kind {
        ForwardKind::Immediate => forward_mode::UNCOND,
        ForwardKind::Busy => forward_mode::BUSY,
        ForwardKind::NoAnswer => forward_mode::NOANSW,
    }
}

/// LINEFORWARD entries followed by their destination strings, for a blob placed at `base`.
fn forward_blob(base: usize, entries: &[(u32, &str)]) -> Vec<u8> {
    let mut fixed = Vec::new();
    let mut strings = Vec::new();
    let strings_start = base + entries.len() * lf::FIXED_SIZE;
    for (mode, destination) in entries {
        let text: Vec<u8> = if destination.is_empty() {
            Vec::new()
        } else {
            destination
                .encode_utf16()
                .chain(std::iter::once(0))
                .flat_map(u16::to_le_bytes)
                .collect()
        };
        let offset = if text.is_empty() {
            0
        } else {
            strings_start + strings.len()
        };
        let mut entry = [0_u8; lf::FIXED_SIZE];
        entry[lf::FORWARD_MODE..lf::FORWARD_MODE + 4].copy_from_slice(&mode.to_le_bytes());
        let size = u32::try_from(text.len()).unwrap_or(0);
        let offset = u32::try_from(offset).unwrap_or(0);
        entry[lf::DEST_ADDRESS_SIZE..lf::DEST_ADDRESS_SIZE + 4]
            .copy_from_slice(&size.to_le_bytes());
        entry[lf::DEST_ADDRESS_OFFSET..lf::DEST_ADDRESS_OFFSET + 4]
            .copy_from_slice(&offset.to_le_bytes());
        entry[lf::DEST_ADDRESS_TYPE..lf::DEST_ADDRESS_TYPE + 4]
            .copy_from_slice(&ADDRESSTYPE_PHONENUMBER.to_le_bytes());
        fixed.extend_from_slice(&entry);
        strings.extend(text);
    }
    fixed.extend(strings);
    fixed
}

fn party_fields(
    party: Option<&Party>,
    name_of: &dyn Fn(&str) -> Option<String>,
) -> (u32, String, String) {
    match party {
        Some(Party::Known(number)) => match name_of(number) {
            Some(name) => (party_id::ADDRESS | party_id::NAME, number.clone(), name),
            None => (party_id::ADDRESS, number.clone(), String::new()),
        },
        Some(Party::Restricted) => (party_id::BLOCKED, String::new(), String::new()),
        Some(Party::NotKnown) => (party_id::UNKNOWN, String::new(), String::new()),
        None => (party_id::UNAVAIL, String::new(), String::new()),
    }
}

/// A GUID for LINEDEVCAPS.PermanentLineGuid that stays with the permanent line id.
fn line_guid(permanent_id: u32) -> [u8; 16] {
    let mut guid = [
        0x6B, 0x1D, 0x3C, 0x52, 0x0E, 0x4A, 0x4F, 0x49, 0x9C, 0x61, 0, 0, 0, 0, 0, 0,
    ];
    guid[12..].copy_from_slice(&permanent_id.to_le_bytes());
    guid
}

fn dword(buf: &[u8], offset: usize) -> Option<u32> {
    let bytes = buf.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: u8 = 0xA5;

    fn line() -> LineView {
        LineView {
            permanent_id: 0x1234_5678,
            name: "Alice (201)".to_owned(),
            address: "201".to_owned(),
            device_id: 7,
            in_service: true,
            active_calls: 1,
            held_calls: 1,
            forwards: vec![(ForwardKind::Busy, "300".to_owned())],
            dnd: true,
        }
    }

    fn read(buf: &[u8], offset: usize) -> u32 {
        dword(buf, offset).unwrap()
    }

    fn text(buf: &[u8], size_field: usize) -> String {
        tapi::read_string(buf, read(buf, size_field), read(buf, size_field + 4)).unwrap()
    }

    #[test]
    fn dev_caps_fixed_size_follows_the_version_and_too_small_is_refused() {
        for (tspi, fixed) in [
            (version::V2_0, 252),
            (version::V2_2, 268),
            (version::V3_0, 292),
        ] {
            let mut small = vec![SENTINEL; fixed - 1];
            assert_eq!(
                dev_caps(&mut small, tspi, "gw", &line()),
                Err(StructError::TooSmall {
                    total: fixed - 1,
                    fixed
                })
            );
            let mut exact = vec![SENTINEL; fixed];
            dev_caps(&mut exact, tspi, "gw", &line()).unwrap();
            assert_eq!(read(&exact, 0), 0xA5A5_A5A5, "dwTotalSize is TAPI's");
            assert_eq!(read(&exact, ldc::USED_SIZE), u32::try_from(fixed).unwrap());
            assert!(read(&exact, ldc::NEEDED_SIZE) > u32::try_from(fixed).unwrap());
            assert_eq!(
                read(&exact, ldc::LINE_NAME_SIZE),
                0,
                "omitted, not truncated"
            );
            assert_eq!(read(&exact, ldc::PERMANENT_LINE_ID), 0x1234_5678);
        }
    }

    #[test]
    fn dev_caps_with_room_has_every_string() {
        let mut buf = vec![SENTINEL; 1024];
        dev_caps(&mut buf, version::V3_0, "gw.example:4721", &line()).unwrap();
        assert_eq!(read(&buf, ldc::NEEDED_SIZE), read(&buf, ldc::USED_SIZE));
        assert_eq!(text(&buf, ldc::LINE_NAME_SIZE), "Alice (201)");
        assert_eq!(text(&buf, ldc::PROVIDER_INFO_SIZE), PROVIDER_INFO);
        assert_eq!(text(&buf, ldc::SWITCH_INFO_SIZE), "gw.example:4721");
        assert_eq!(read(&buf, ldc::STRING_FORMAT), misc::STRINGFORMAT_UNICODE);
        assert_eq!(read(&buf, ldc::NUM_ADDRESSES), 1);
        assert_eq!(read(&buf, ldc::ADDRESS_TYPES), ADDRESSTYPE_PHONENUMBER);
        assert_eq!(
            &buf[ldc::PERMANENT_LINE_GUID + 12..ldc::PERMANENT_LINE_GUID + 16],
            &0x1234_5678_u32.to_le_bytes()
        );
        let used = usize::try_from(read(&buf, ldc::USED_SIZE)).unwrap();
        assert!(
            buf[used..].iter().all(|byte| *byte == SENTINEL),
            "nothing past dwUsedSize"
        );
    }

    #[test]
    fn address_caps_advertise_the_transfer_and_conference_models() {
        let mut buf = vec![SENTINEL; 512];
        address_caps(&mut buf, &line()).unwrap();
        let flags = read(&buf, lac::ADDR_CAP_FLAGS);
        for flag in [
            addr_cap_flags::TRANSFERHELD,
            addr_cap_flags::TRANSFERMAKE,
            addr_cap_flags::CONFERENCEHELD,
            addr_cap_flags::CONFERENCEMAKE,
        ] {
            assert_ne!(flags & flag, 0, "{flag:#x}");
        }
        assert_eq!(read(&buf, lac::LINE_DEVICE_ID), 7);
        assert_eq!(text(&buf, lac::ADDRESS_SIZE), "201");
        assert_eq!(read(&buf, lac::CALL_FEATURES), tapi::call_feature::ALL);
        assert_eq!(
            read(&buf, lac::CALL_FEATURES) & 0x0200_0000,
            0,
            "no SETUPTRANSFER"
        );
    }

    #[test]
    fn call_info_keeps_tapi_owned_fields() {
        let mut buf = vec![SENTINEL; 1024];
        let call = CallView {
            device_id: 7,
            state: call_state::CONNECTED,
            call_id: 42,
            origin: tapi::origin::INTERNAL,
            reason: tapi::reason::DIRECT,
            caller: Some(Party::Known("202".to_owned())),
            called: Some(Party::Known("201".to_owned())),
            connected: Some(Party::Restricted),
            ..CallView::default()
        };
        let name_of = |number: &str| (number == "202").then(|| "Bob".to_owned());
        call_info(&mut buf, version::V3_0, &call, &name_of).unwrap();
        for owned in [
            lci::H_LINE,
            lci::MONITOR_DIGIT_MODES,
            lci::MONITOR_MEDIA_MODES,
            lci::NUM_OWNERS,
            lci::NUM_MONITORS,
            lci::APP_NAME_SIZE,
            lci::DISPLAYABLE_ADDRESS_SIZE,
            lci::CALLED_PARTY_SIZE,
            lci::COMMENT_SIZE,
            lci::COMMENT_OFFSET,
        ] {
            assert_eq!(
                read(&buf, owned),
                0xA5A5_A5A5,
                "offset {owned} belongs to TAPI"
            );
        }
        assert_eq!(read(&buf, lci::CALL_ID), 42);
        assert_eq!(
            read(&buf, lci::CALLER_ID_FLAGS),
            party_id::ADDRESS | party_id::NAME
        );
        assert_eq!(text(&buf, lci::CALLER_ID_SIZE), "202");
        assert_eq!(text(&buf, lci::CALLER_ID_NAME_SIZE), "Bob");
        assert_eq!(read(&buf, lci::CALLED_ID_FLAGS), party_id::ADDRESS);
        assert_eq!(read(&buf, lci::CALLED_ID_NAME_SIZE), 0);
        assert_eq!(read(&buf, lci::CONNECTED_ID_FLAGS), party_id::BLOCKED);
        assert_eq!(read(&buf, lci::REDIRECTING_ID_FLAGS), party_id::UNAVAIL);
        assert_eq!(
            read(&buf, lci::CALLER_ID_ADDRESS_TYPE),
            ADDRESSTYPE_PHONENUMBER
        );
        assert_eq!(read(&buf, lci::CONNECTED_ID_ADDRESS_TYPE), 0);
    }

    #[test]
    fn call_info_for_tspi_2_stops_before_the_3_0_fields() {
        let mut buf = vec![SENTINEL; 324];
        call_info(&mut buf, version::V2_0, &CallView::default(), &|_| None).unwrap();
        assert_eq!(read(&buf, lci::USED_SIZE), 324);
        let mut small = vec![SENTINEL; 323];
        assert!(call_info(&mut small, version::V2_0, &CallView::default(), &|_| None).is_err());
    }

    #[test]
    fn call_status_keeps_the_privilege() {
        let mut buf = vec![SENTINEL; 56];
        let call = CallView {
            state: call_state::OFFERING,
            mode: 1,
            features: 0x4,
            ..CallView::default()
        };
        call_status(&mut buf, &call).unwrap();
        assert_eq!(read(&buf, lcs::CALL_STATE), call_state::OFFERING);
        assert_eq!(read(&buf, lcs::CALL_FEATURES), 0x4);
        assert_eq!(read(&buf, lcs::CALL_PRIVILEGE), 0xA5A5_A5A5);
    }

    #[test]
    fn line_dev_status_keeps_tapi_counts_and_follows_the_service_state() {
        let mut buf = vec![SENTINEL; 128];
        line_dev_status(&mut buf, &line()).unwrap();
        for owned in [
            lds::NUM_OPENS,
            lds::OPEN_MEDIA_MODES,
            lds::APP_INFO_SIZE,
            lds::APP_INFO_OFFSET,
        ] {
            assert_eq!(
                read(&buf, owned),
                0xA5A5_A5A5,
                "offset {owned} belongs to TAPI"
            );
        }
        assert_eq!(read(&buf, lds::NUM_ACTIVE_CALLS), 1);
        assert_eq!(read(&buf, lds::NUM_ON_HOLD_CALLS), 1);
        assert_eq!(read(&buf, lds::LINE_FEATURES), LINE_FEATURES);
        assert_ne!(
            read(&buf, lds::DEV_STATUS_FLAGS) & LINEDEVSTATUSFLAGS_INSERVICE,
            0
        );
        let out_of_service = LineView {
            in_service: false,
            ..line()
        };
        line_dev_status(&mut buf, &out_of_service).unwrap();
        assert_eq!(read(&buf, lds::LINE_FEATURES), 0);
        assert_eq!(read(&buf, lds::DEV_STATUS_FLAGS), 0);
        assert_eq!(
            line_dev_status(&mut [0; 87], &line()),
            Err(StructError::TooSmall {
                total: 87,
                fixed: 88
            })
        );
    }

    #[test]
    fn address_status_lists_forwards_inside_the_structure_or_not_at_all() {
        let mut buf = vec![SENTINEL; 256];
        address_status(&mut buf, &line()).unwrap();
        assert_eq!(read(&buf, las::FORWARD_NUM_ENTRIES), 2);
        let offset = usize::try_from(read(&buf, las::FORWARD_OFFSET)).unwrap();
        assert_eq!(offset, las::FIXED_SIZE);
        assert_eq!(read(&buf, offset + lf::FORWARD_MODE), forward_mode::BUSY);
        let size = read(&buf, offset + lf::DEST_ADDRESS_SIZE);
        let dest = read(&buf, offset + lf::DEST_ADDRESS_OFFSET);
        assert_eq!(tapi::read_string(&buf, size, dest).unwrap(), "300");
        let dnd = offset + lf::FIXED_SIZE;
        assert_eq!(read(&buf, dnd + lf::FORWARD_MODE), forward_mode::UNCOND);
        assert_eq!(read(&buf, dnd + lf::DEST_ADDRESS_SIZE), 0);
        assert_eq!(read(&buf, las::NUM_IN_USE), 1);

        let mut small = vec![SENTINEL; las::FIXED_SIZE + 10];
        address_status(&mut small, &line()).unwrap();
        assert_eq!(read(&small, las::FORWARD_NUM_ENTRIES), 0);
        assert_eq!(read(&small, las::FORWARD_SIZE), 0);
        assert_eq!(read(&small, las::NEEDED_SIZE), read(&buf, las::NEEDED_SIZE));
    }

    fn forward_list_bytes(entries: &[(u32, &str)]) -> Vec<u8> {
        let mut buf = vec![0_u8; 8];
        let blob = forward_blob(8, entries);
        buf.extend(blob);
        let total = u32::try_from(buf.len()).unwrap();
        buf[0..4].copy_from_slice(&total.to_le_bytes());
        buf[4..8].copy_from_slice(&u32::try_from(entries.len()).unwrap().to_le_bytes());
        buf
    }

    #[test]
    fn forward_list_is_read_and_checked() {
        let buf =
            forward_list_bytes(&[(forward_mode::UNCOND, "300"), (forward_mode::BUSYNA, "301")]);
        assert_eq!(
            forward_list(&buf).unwrap(),
            [
                ForwardEntry::Forward {
                    kind: ForwardKind::Immediate,
                    to: "300".to_owned()
                },
                ForwardEntry::Forward {
                    kind: ForwardKind::Busy,
                    to: "301".to_owned()
                },
                ForwardEntry::Forward {
                    kind: ForwardKind::NoAnswer,
                    to: "301".to_owned()
                },
            ]
        );
        let dnd = forward_list_bytes(&[(forward_mode::UNCOND, "")]);
        assert_eq!(forward_list(&dnd).unwrap(), [ForwardEntry::DoNotDisturb]);
        assert_eq!(
            forward_list(&forward_list_bytes(&[(0x8, "300")])),
            Err(ForwardListError::UnsupportedMode(0x8))
        );
        assert_eq!(
            forward_list(&forward_list_bytes(&[(0x10000, "300")])),
            Err(ForwardListError::UnsupportedMode(0x10000))
        );
        assert_eq!(
            forward_list(&forward_list_bytes(&[(forward_mode::BUSY, "")])),
            Err(ForwardListError::BadDestination(0))
        );
        let mut short = forward_list_bytes(&[(forward_mode::UNCOND, "300")]);
        short[4] = 9;
        assert_eq!(
            forward_list(&short),
            Err(ForwardListError::TooSmall {
                total: 48,
                entries: 9
            })
        );
        let mut outside = forward_list_bytes(&[(forward_mode::UNCOND, "300")]);
        outside[8 + lf::DEST_ADDRESS_OFFSET] = 200;
        assert_eq!(
            forward_list(&outside),
            Err(ForwardListError::BadDestination(0))
        );
        assert_eq!(
            ForwardListError::BadDestination(0).code(),
            tapi::err::INVALPOINTER
        );
    }
}
