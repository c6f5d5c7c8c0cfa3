//! Field offsets of the tapi.h structures the provider fills or reads.
//!
//! Measured with `offsetof` on the mingw-w64 `tapi.h` for x86_64 (every structure is inside
//! `#pragma pack(1)`); the harness cross-checks them against the windows-sys definitions.

/// Field offsets of `LINEDEVCAPS` (x64, `#pragma pack(1)`).
pub mod line_dev_caps {
    /// sizeof(LINEDEVCAPS) for TAPI 3.1
    pub const FIXED_SIZE: usize = 292;
    /// `dwNeededSize`
    pub const NEEDED_SIZE: usize = 4;
    /// `dwUsedSize`
    pub const USED_SIZE: usize = 8;
    /// `dwProviderInfoSize`
    pub const PROVIDER_INFO_SIZE: usize = 12;
    /// `dwProviderInfoOffset`
    pub const PROVIDER_INFO_OFFSET: usize = 16;
    /// `dwSwitchInfoSize`
    pub const SWITCH_INFO_SIZE: usize = 20;
    /// `dwSwitchInfoOffset`
    pub const SWITCH_INFO_OFFSET: usize = 24;
    /// `dwPermanentLineID`
    pub const PERMANENT_LINE_ID: usize = 28;
    /// `dwLineNameSize`
    pub const LINE_NAME_SIZE: usize = 32;
    /// `dwLineNameOffset`
    pub const LINE_NAME_OFFSET: usize = 36;
    /// `dwStringFormat`
    pub const STRING_FORMAT: usize = 40;
    /// `dwAddressModes`
    pub const ADDRESS_MODES: usize = 44;
    /// `dwNumAddresses`
    pub const NUM_ADDRESSES: usize = 48;
    /// `dwBearerModes`
    pub const BEARER_MODES: usize = 52;
    /// `dwMaxRate`
    pub const MAX_RATE: usize = 56;
    /// `dwMediaModes`
    pub const MEDIA_MODES: usize = 60;
    /// `dwGenerateToneModes`
    pub const GENERATE_TONE_MODES: usize = 64;
    /// `dwGenerateToneMaxNumFreq`
    pub const GENERATE_TONE_MAX_NUM_FREQ: usize = 68;
    /// `dwGenerateDigitModes`
    pub const GENERATE_DIGIT_MODES: usize = 72;
    /// `dwMonitorToneMaxNumFreq`
    pub const MONITOR_TONE_MAX_NUM_FREQ: usize = 76;
    /// `dwMonitorToneMaxNumEntries`
    pub const MONITOR_TONE_MAX_NUM_ENTRIES: usize = 80;
    /// `dwMonitorDigitModes`
    pub const MONITOR_DIGIT_MODES: usize = 84;
    /// `dwGatherDigitsMinTimeout`
    pub const GATHER_DIGITS_MIN_TIMEOUT: usize = 88;
    /// `dwGatherDigitsMaxTimeout`
    pub const GATHER_DIGITS_MAX_TIMEOUT: usize = 92;
    /// `dwMedCtlDigitMaxListSize`
    pub const MED_CTL_DIGIT_MAX_LIST_SIZE: usize = 96;
    /// `dwMedCtlMediaMaxListSize`
    pub const MED_CTL_MEDIA_MAX_LIST_SIZE: usize = 100;
    /// `dwMedCtlToneMaxListSize`
    pub const MED_CTL_TONE_MAX_LIST_SIZE: usize = 104;
    /// `dwMedCtlCallStateMaxListSize`
    pub const MED_CTL_CALL_STATE_MAX_LIST_SIZE: usize = 108;
    /// `dwDevCapFlags`
    pub const DEV_CAP_FLAGS: usize = 112;
    /// `dwMaxNumActiveCalls`
    pub const MAX_NUM_ACTIVE_CALLS: usize = 116;
    /// `dwAnswerMode`
    pub const ANSWER_MODE: usize = 120;
    /// `dwRingModes`
    pub const RING_MODES: usize = 124;
    /// `dwLineStates`
    pub const LINE_STATES: usize = 128;
    /// `dwUUIAcceptSize`
    pub const UUI_ACCEPT_SIZE: usize = 132;
    /// `dwUUIAnswerSize`
    pub const UUI_ANSWER_SIZE: usize = 136;
    /// `dwUUIMakeCallSize`
    pub const UUI_MAKE_CALL_SIZE: usize = 140;
    /// `dwUUIDropSize`
    pub const UUI_DROP_SIZE: usize = 144;
    /// `dwUUISendUserUserInfoSize`
    pub const UUI_SEND_USER_USER_INFO_SIZE: usize = 148;
    /// `dwUUICallInfoSize`
    pub const UUI_CALL_INFO_SIZE: usize = 152;
    /// `MinDialParams`
    pub const MIN_DIAL_PARAMS: usize = 156;
    /// `MaxDialParams`
    pub const MAX_DIAL_PARAMS: usize = 172;
    /// `DefaultDialParams`
    pub const DEFAULT_DIAL_PARAMS: usize = 188;
    /// `dwNumTerminals`
    pub const NUM_TERMINALS: usize = 204;
    /// `dwTerminalCapsSize`
    pub const TERMINAL_CAPS_SIZE: usize = 208;
    /// `dwTerminalCapsOffset`
    pub const TERMINAL_CAPS_OFFSET: usize = 212;
    /// `dwTerminalTextEntrySize`
    pub const TERMINAL_TEXT_ENTRY_SIZE: usize = 216;
    /// `dwTerminalTextSize`
    pub const TERMINAL_TEXT_SIZE: usize = 220;
    /// `dwTerminalTextOffset`
    pub const TERMINAL_TEXT_OFFSET: usize = 224;
    /// `dwDevSpecificSize`
    pub const DEV_SPECIFIC_SIZE: usize = 228;
    /// `dwDevSpecificOffset`
    pub const DEV_SPECIFIC_OFFSET: usize = 232;
    /// `dwLineFeatures`
    pub const LINE_FEATURES: usize = 236;
    /// `dwSettableDevStatus`
    pub const SETTABLE_DEV_STATUS: usize = 240;
    /// `dwDeviceClassesSize`
    pub const DEVICE_CLASSES_SIZE: usize = 244;
    /// `dwDeviceClassesOffset`
    pub const DEVICE_CLASSES_OFFSET: usize = 248;
    /// `PermanentLineGuid`
    pub const PERMANENT_LINE_GUID: usize = 252;
    /// `dwAddressTypes`
    pub const ADDRESS_TYPES: usize = 268;
    /// `ProtocolGuid`
    pub const PROTOCOL_GUID: usize = 272;
    /// `dwAvailableTracking`
    pub const AVAILABLE_TRACKING: usize = 288;
}

/// Field offsets of `LINEADDRESSCAPS` (x64, `#pragma pack(1)`).
pub mod line_address_caps {
    /// sizeof(LINEADDRESSCAPS) for TAPI 3.1
    pub const FIXED_SIZE: usize = 228;
    /// `dwNeededSize`
    pub const NEEDED_SIZE: usize = 4;
    /// `dwUsedSize`
    pub const USED_SIZE: usize = 8;
    /// `dwLineDeviceID`
    pub const LINE_DEVICE_ID: usize = 12;
    /// `dwAddressSize`
    pub const ADDRESS_SIZE: usize = 16;
    /// `dwAddressOffset`
    pub const ADDRESS_OFFSET: usize = 20;
    /// `dwDevSpecificSize`
    pub const DEV_SPECIFIC_SIZE: usize = 24;
    /// `dwDevSpecificOffset`
    pub const DEV_SPECIFIC_OFFSET: usize = 28;
    /// `dwAddressSharing`
    pub const ADDRESS_SHARING: usize = 32;
    /// `dwAddressStates`
    pub const ADDRESS_STATES: usize = 36;
    /// `dwCallInfoStates`
    pub const CALL_INFO_STATES: usize = 40;
    /// `dwCallerIDFlags`
    pub const CALLER_ID_FLAGS: usize = 44;
    /// `dwCalledIDFlags`
    pub const CALLED_ID_FLAGS: usize = 48;
    /// `dwConnectedIDFlags`
    pub const CONNECTED_ID_FLAGS: usize = 52;
    /// `dwRedirectionIDFlags`
    pub const REDIRECTION_ID_FLAGS: usize = 56;
    /// `dwRedirectingIDFlags`
    pub const REDIRECTING_ID_FLAGS: usize = 60;
    /// `dwCallStates`
    pub const CALL_STATES: usize = 64;
    /// `dwDialToneModes`
    pub const DIAL_TONE_MODES: usize = 68;
    /// `dwBusyModes`
    pub const BUSY_MODES: usize = 72;
    /// `dwSpecialInfo`
    pub const SPECIAL_INFO: usize = 76;
    /// `dwDisconnectModes`
    pub const DISCONNECT_MODES: usize = 80;
    /// `dwMaxNumActiveCalls`
    pub const MAX_NUM_ACTIVE_CALLS: usize = 84;
    /// `dwMaxNumOnHoldCalls`
    pub const MAX_NUM_ON_HOLD_CALLS: usize = 88;
    /// `dwMaxNumOnHoldPendingCalls`
    pub const MAX_NUM_ON_HOLD_PENDING_CALLS: usize = 92;
    /// `dwMaxNumConference`
    pub const MAX_NUM_CONFERENCE: usize = 96;
    /// `dwMaxNumTransConf`
    pub const MAX_NUM_TRANS_CONF: usize = 100;
    /// `dwAddrCapFlags`
    pub const ADDR_CAP_FLAGS: usize = 104;
    /// `dwCallFeatures`
    pub const CALL_FEATURES: usize = 108;
    /// `dwRemoveFromConfCaps`
    pub const REMOVE_FROM_CONF_CAPS: usize = 112;
    /// `dwRemoveFromConfState`
    pub const REMOVE_FROM_CONF_STATE: usize = 116;
    /// `dwTransferModes`
    pub const TRANSFER_MODES: usize = 120;
    /// `dwParkModes`
    pub const PARK_MODES: usize = 124;
    /// `dwForwardModes`
    pub const FORWARD_MODES: usize = 128;
    /// `dwMaxForwardEntries`
    pub const MAX_FORWARD_ENTRIES: usize = 132;
    /// `dwMaxSpecificEntries`
    pub const MAX_SPECIFIC_ENTRIES: usize = 136;
    /// `dwMinFwdNumRings`
    pub const MIN_FWD_NUM_RINGS: usize = 140;
    /// `dwMaxFwdNumRings`
    pub const MAX_FWD_NUM_RINGS: usize = 144;
    /// `dwMaxCallCompletions`
    pub const MAX_CALL_COMPLETIONS: usize = 148;
    /// `dwCallCompletionConds`
    pub const CALL_COMPLETION_CONDS: usize = 152;
    /// `dwCallCompletionModes`
    pub const CALL_COMPLETION_MODES: usize = 156;
    /// `dwNumCompletionMessages`
    pub const NUM_COMPLETION_MESSAGES: usize = 160;
    /// `dwCompletionMsgTextEntrySize`
    pub const COMPLETION_MSG_TEXT_ENTRY_SIZE: usize = 164;
    /// `dwCompletionMsgTextSize`
    pub const COMPLETION_MSG_TEXT_SIZE: usize = 168;
    /// `dwCompletionMsgTextOffset`
    pub const COMPLETION_MSG_TEXT_OFFSET: usize = 172;
    /// `dwAddressFeatures`
    pub const ADDRESS_FEATURES: usize = 176;
    /// `dwPredictiveAutoTransferStates`
    pub const PREDICTIVE_AUTO_TRANSFER_STATES: usize = 180;
    /// `dwNumCallTreatments`
    pub const NUM_CALL_TREATMENTS: usize = 184;
    /// `dwCallTreatmentListSize`
    pub const CALL_TREATMENT_LIST_SIZE: usize = 188;
    /// `dwCallTreatmentListOffset`
    pub const CALL_TREATMENT_LIST_OFFSET: usize = 192;
    /// `dwDeviceClassesSize`
    pub const DEVICE_CLASSES_SIZE: usize = 196;
    /// `dwDeviceClassesOffset`
    pub const DEVICE_CLASSES_OFFSET: usize = 200;
    /// `dwMaxCallDataSize`
    pub const MAX_CALL_DATA_SIZE: usize = 204;
    /// `dwCallFeatures2`
    pub const CALL_FEATURES2: usize = 208;
    /// `dwMaxNoAnswerTimeout`
    pub const MAX_NO_ANSWER_TIMEOUT: usize = 212;
    /// `dwConnectedModes`
    pub const CONNECTED_MODES: usize = 216;
    /// `dwOfferingModes`
    pub const OFFERING_MODES: usize = 220;
    /// `dwAvailableMediaModes`
    pub const AVAILABLE_MEDIA_MODES: usize = 224;
}

/// Field offsets of `LINECALLINFO` (x64, `#pragma pack(1)`).
pub mod line_call_info {
    /// sizeof(LINECALLINFO) for TAPI 3.1
    pub const FIXED_SIZE: usize = 344;
    /// `dwNeededSize`
    pub const NEEDED_SIZE: usize = 4;
    /// `dwUsedSize`
    pub const USED_SIZE: usize = 8;
    /// `hLine`
    pub const H_LINE: usize = 12;
    /// `dwLineDeviceID`
    pub const LINE_DEVICE_ID: usize = 16;
    /// `dwAddressID`
    pub const ADDRESS_ID: usize = 20;
    /// `dwBearerMode`
    pub const BEARER_MODE: usize = 24;
    /// `dwRate`
    pub const RATE: usize = 28;
    /// `dwMediaMode`
    pub const MEDIA_MODE: usize = 32;
    /// `dwAppSpecific`
    pub const APP_SPECIFIC: usize = 36;
    /// `dwCallID`
    pub const CALL_ID: usize = 40;
    /// `dwRelatedCallID`
    pub const RELATED_CALL_ID: usize = 44;
    /// `dwCallParamFlags`
    pub const CALL_PARAM_FLAGS: usize = 48;
    /// `dwCallStates`
    pub const CALL_STATES: usize = 52;
    /// `dwMonitorDigitModes`
    pub const MONITOR_DIGIT_MODES: usize = 56;
    /// `dwMonitorMediaModes`
    pub const MONITOR_MEDIA_MODES: usize = 60;
    /// `DialParams`
    pub const DIAL_PARAMS: usize = 64;
    /// `dwOrigin`
    pub const ORIGIN: usize = 80;
    /// `dwReason`
    pub const REASON: usize = 84;
    /// `dwCompletionID`
    pub const COMPLETION_ID: usize = 88;
    /// `dwNumOwners`
    pub const NUM_OWNERS: usize = 92;
    /// `dwNumMonitors`
    pub const NUM_MONITORS: usize = 96;
    /// `dwCountryCode`
    pub const COUNTRY_CODE: usize = 100;
    /// `dwTrunk`
    pub const TRUNK: usize = 104;
    /// `dwCallerIDFlags`
    pub const CALLER_ID_FLAGS: usize = 108;
    /// `dwCallerIDSize`
    pub const CALLER_ID_SIZE: usize = 112;
    /// `dwCallerIDOffset`
    pub const CALLER_ID_OFFSET: usize = 116;
    /// `dwCallerIDNameSize`
    pub const CALLER_ID_NAME_SIZE: usize = 120;
    /// `dwCallerIDNameOffset`
    pub const CALLER_ID_NAME_OFFSET: usize = 124;
    /// `dwCalledIDFlags`
    pub const CALLED_ID_FLAGS: usize = 128;
    /// `dwCalledIDSize`
    pub const CALLED_ID_SIZE: usize = 132;
    /// `dwCalledIDOffset`
    pub const CALLED_ID_OFFSET: usize = 136;
    /// `dwCalledIDNameSize`
    pub const CALLED_ID_NAME_SIZE: usize = 140;
    /// `dwCalledIDNameOffset`
    pub const CALLED_ID_NAME_OFFSET: usize = 144;
    /// `dwConnectedIDFlags`
    pub const CONNECTED_ID_FLAGS: usize = 148;
    /// `dwConnectedIDSize`
    pub const CONNECTED_ID_SIZE: usize = 152;
    /// `dwConnectedIDOffset`
    pub const CONNECTED_ID_OFFSET: usize = 156;
    /// `dwConnectedIDNameSize`
    pub const CONNECTED_ID_NAME_SIZE: usize = 160;
    /// `dwConnectedIDNameOffset`
    pub const CONNECTED_ID_NAME_OFFSET: usize = 164;
    /// `dwRedirectionIDFlags`
    pub const REDIRECTION_ID_FLAGS: usize = 168;
    /// `dwRedirectionIDSize`
    pub const REDIRECTION_ID_SIZE: usize = 172;
    /// `dwRedirectionIDOffset`
    pub const REDIRECTION_ID_OFFSET: usize = 176;
    /// `dwRedirectionIDNameSize`
    pub const REDIRECTION_ID_NAME_SIZE: usize = 180;
    /// `dwRedirectionIDNameOffset`
    pub const REDIRECTION_ID_NAME_OFFSET: usize = 184;
    /// `dwRedirectingIDFlags`
    pub const REDIRECTING_ID_FLAGS: usize = 188;
    /// `dwRedirectingIDSize`
    pub const REDIRECTING_ID_SIZE: usize = 192;
    /// `dwRedirectingIDOffset`
    pub const REDIRECTING_ID_OFFSET: usize = 196;
    /// `dwRedirectingIDNameSize`
    pub const REDIRECTING_ID_NAME_SIZE: usize = 200;
    /// `dwRedirectingIDNameOffset`
    pub const REDIRECTING_ID_NAME_OFFSET: usize = 204;
    /// `dwAppNameSize`
    pub const APP_NAME_SIZE: usize = 208;
    /// `dwAppNameOffset`
    pub const APP_NAME_OFFSET: usize = 212;
    /// `dwDisplayableAddressSize`
    pub const DISPLAYABLE_ADDRESS_SIZE: usize = 216;
    /// `dwDisplayableAddressOffset`
    pub const DISPLAYABLE_ADDRESS_OFFSET: usize = 220;
    /// `dwCalledPartySize`
    pub const CALLED_PARTY_SIZE: usize = 224;
    /// `dwCalledPartyOffset`
    pub const CALLED_PARTY_OFFSET: usize = 228;
    /// `dwCommentSize`
    pub const COMMENT_SIZE: usize = 232;
    /// `dwCommentOffset`
    pub const COMMENT_OFFSET: usize = 236;
    /// `dwDisplaySize`
    pub const DISPLAY_SIZE: usize = 240;
    /// `dwDisplayOffset`
    pub const DISPLAY_OFFSET: usize = 244;
    /// `dwUserUserInfoSize`
    pub const USER_USER_INFO_SIZE: usize = 248;
    /// `dwUserUserInfoOffset`
    pub const USER_USER_INFO_OFFSET: usize = 252;
    /// `dwHighLevelCompSize`
    pub const HIGH_LEVEL_COMP_SIZE: usize = 256;
    /// `dwHighLevelCompOffset`
    pub const HIGH_LEVEL_COMP_OFFSET: usize = 260;
    /// `dwLowLevelCompSize`
    pub const LOW_LEVEL_COMP_SIZE: usize = 264;
    /// `dwLowLevelCompOffset`
    pub const LOW_LEVEL_COMP_OFFSET: usize = 268;
    /// `dwChargingInfoSize`
    pub const CHARGING_INFO_SIZE: usize = 272;
    /// `dwChargingInfoOffset`
    pub const CHARGING_INFO_OFFSET: usize = 276;
    /// `dwTerminalModesSize`
    pub const TERMINAL_MODES_SIZE: usize = 280;
    /// `dwTerminalModesOffset`
    pub const TERMINAL_MODES_OFFSET: usize = 284;
    /// `dwDevSpecificSize`
    pub const DEV_SPECIFIC_SIZE: usize = 288;
    /// `dwDevSpecificOffset`
    pub const DEV_SPECIFIC_OFFSET: usize = 292;
    /// `dwCallTreatment`
    pub const CALL_TREATMENT: usize = 296;
    /// `dwCallDataSize`
    pub const CALL_DATA_SIZE: usize = 300;
    /// `dwCallDataOffset`
    pub const CALL_DATA_OFFSET: usize = 304;
    /// `dwSendingFlowspecSize`
    pub const SENDING_FLOWSPEC_SIZE: usize = 308;
    /// `dwSendingFlowspecOffset`
    pub const SENDING_FLOWSPEC_OFFSET: usize = 312;
    /// `dwReceivingFlowspecSize`
    pub const RECEIVING_FLOWSPEC_SIZE: usize = 316;
    /// `dwReceivingFlowspecOffset`
    pub const RECEIVING_FLOWSPEC_OFFSET: usize = 320;
    /// `dwCallerIDAddressType`
    pub const CALLER_ID_ADDRESS_TYPE: usize = 324;
    /// `dwCalledIDAddressType`
    pub const CALLED_ID_ADDRESS_TYPE: usize = 328;
    /// `dwConnectedIDAddressType`
    pub const CONNECTED_ID_ADDRESS_TYPE: usize = 332;
    /// `dwRedirectionIDAddressType`
    pub const REDIRECTION_ID_ADDRESS_TYPE: usize = 336;
    /// `dwRedirectingIDAddressType`
    pub const REDIRECTING_ID_ADDRESS_TYPE: usize = 340;
}

/// Field offsets of `LINECALLSTATUS` (x64, `#pragma pack(1)`).
pub mod line_call_status {
    /// sizeof(LINECALLSTATUS) for TAPI 3.1
    pub const FIXED_SIZE: usize = 56;
    /// `dwNeededSize`
    pub const NEEDED_SIZE: usize = 4;
    /// `dwUsedSize`
    pub const USED_SIZE: usize = 8;
    /// `dwCallState`
    pub const CALL_STATE: usize = 12;
    /// `dwCallStateMode`
    pub const CALL_STATE_MODE: usize = 16;
    /// `dwCallPrivilege`
    pub const CALL_PRIVILEGE: usize = 20;
    /// `dwCallFeatures`
    pub const CALL_FEATURES: usize = 24;
    /// `dwDevSpecificSize`
    pub const DEV_SPECIFIC_SIZE: usize = 28;
    /// `dwDevSpecificOffset`
    pub const DEV_SPECIFIC_OFFSET: usize = 32;
    /// `dwCallFeatures2`
    pub const CALL_FEATURES2: usize = 36;
    /// `tStateEntryTime`
    pub const STATE_ENTRY_TIME: usize = 40;
}

/// Field offsets of `LINEDEVSTATUS` (x64, `#pragma pack(1)`).
pub mod line_dev_status {
    /// sizeof(LINEDEVSTATUS) for TAPI 3.1
    pub const FIXED_SIZE: usize = 88;
    /// `dwNeededSize`
    pub const NEEDED_SIZE: usize = 4;
    /// `dwUsedSize`
    pub const USED_SIZE: usize = 8;
    /// `dwNumOpens`
    pub const NUM_OPENS: usize = 12;
    /// `dwOpenMediaModes`
    pub const OPEN_MEDIA_MODES: usize = 16;
    /// `dwNumActiveCalls`
    pub const NUM_ACTIVE_CALLS: usize = 20;
    /// `dwNumOnHoldCalls`
    pub const NUM_ON_HOLD_CALLS: usize = 24;
    /// `dwNumOnHoldPendCalls`
    pub const NUM_ON_HOLD_PEND_CALLS: usize = 28;
    /// `dwLineFeatures`
    pub const LINE_FEATURES: usize = 32;
    /// `dwNumCallCompletions`
    pub const NUM_CALL_COMPLETIONS: usize = 36;
    /// `dwRingMode`
    pub const RING_MODE: usize = 40;
    /// `dwSignalLevel`
    pub const SIGNAL_LEVEL: usize = 44;
    /// `dwBatteryLevel`
    pub const BATTERY_LEVEL: usize = 48;
    /// `dwRoamMode`
    pub const ROAM_MODE: usize = 52;
    /// `dwDevStatusFlags`
    pub const DEV_STATUS_FLAGS: usize = 56;
    /// `dwTerminalModesSize`
    pub const TERMINAL_MODES_SIZE: usize = 60;
    /// `dwTerminalModesOffset`
    pub const TERMINAL_MODES_OFFSET: usize = 64;
    /// `dwDevSpecificSize`
    pub const DEV_SPECIFIC_SIZE: usize = 68;
    /// `dwDevSpecificOffset`
    pub const DEV_SPECIFIC_OFFSET: usize = 72;
    /// `dwAvailableMediaModes`
    pub const AVAILABLE_MEDIA_MODES: usize = 76;
    /// `dwAppInfoSize`
    pub const APP_INFO_SIZE: usize = 80;
    /// `dwAppInfoOffset`
    pub const APP_INFO_OFFSET: usize = 84;
}

/// Field offsets of `LINEADDRESSSTATUS` (x64, `#pragma pack(1)`).
pub mod line_address_status {
    /// sizeof(LINEADDRESSSTATUS) for TAPI 3.1
    pub const FIXED_SIZE: usize = 64;
    /// `dwNeededSize`
    pub const NEEDED_SIZE: usize = 4;
    /// `dwUsedSize`
    pub const USED_SIZE: usize = 8;
    /// `dwNumInUse`
    pub const NUM_IN_USE: usize = 12;
    /// `dwNumActiveCalls`
    pub const NUM_ACTIVE_CALLS: usize = 16;
    /// `dwNumOnHoldCalls`
    pub const NUM_ON_HOLD_CALLS: usize = 20;
    /// `dwNumOnHoldPendCalls`
    pub const NUM_ON_HOLD_PEND_CALLS: usize = 24;
    /// `dwAddressFeatures`
    pub const ADDRESS_FEATURES: usize = 28;
    /// `dwNumRingsNoAnswer`
    pub const NUM_RINGS_NO_ANSWER: usize = 32;
    /// `dwForwardNumEntries`
    pub const FORWARD_NUM_ENTRIES: usize = 36;
    /// `dwForwardSize`
    pub const FORWARD_SIZE: usize = 40;
    /// `dwForwardOffset`
    pub const FORWARD_OFFSET: usize = 44;
    /// `dwTerminalModesSize`
    pub const TERMINAL_MODES_SIZE: usize = 48;
    /// `dwTerminalModesOffset`
    pub const TERMINAL_MODES_OFFSET: usize = 52;
    /// `dwDevSpecificSize`
    pub const DEV_SPECIFIC_SIZE: usize = 56;
    /// `dwDevSpecificOffset`
    pub const DEV_SPECIFIC_OFFSET: usize = 60;
}

/// Field offsets of `VARSTRING` (x64, `#pragma pack(1)`).
pub mod var_string {
    /// sizeof(VARSTRING) for TAPI 3.1
    pub const FIXED_SIZE: usize = 24;
    /// `dwNeededSize`
    pub const NEEDED_SIZE: usize = 4;
    /// `dwUsedSize`
    pub const USED_SIZE: usize = 8;
    /// `dwStringFormat`
    pub const STRING_FORMAT: usize = 12;
    /// `dwStringSize`
    pub const STRING_SIZE: usize = 16;
    /// `dwStringOffset`
    pub const STRING_OFFSET: usize = 20;
}

/// Field offsets of `LINEFORWARDLIST` (x64, `#pragma pack(1)`).
pub mod line_forward_list {
    /// sizeof(LINEFORWARDLIST) for TAPI 3.1
    pub const FIXED_SIZE: usize = 40;
    /// `dwNumEntries`
    pub const NUM_ENTRIES: usize = 4;
}

/// Field offsets of `LINEFORWARD` (x64, `#pragma pack(1)`).
pub mod line_forward {
    /// `dwForwardMode`
    pub const FORWARD_MODE: usize = 0;
    /// sizeof(LINEFORWARD) for TAPI 3.1
    pub const FIXED_SIZE: usize = 32;
    /// `dwCallerAddressSize`
    pub const CALLER_ADDRESS_SIZE: usize = 4;
    /// `dwCallerAddressOffset`
    pub const CALLER_ADDRESS_OFFSET: usize = 8;
    /// `dwDestCountryCode`
    pub const DEST_COUNTRY_CODE: usize = 12;
    /// `dwDestAddressSize`
    pub const DEST_ADDRESS_SIZE: usize = 16;
    /// `dwDestAddressOffset`
    pub const DEST_ADDRESS_OFFSET: usize = 20;
    /// `dwCallerAddressType`
    pub const CALLER_ADDRESS_TYPE: usize = 24;
    /// `dwDestAddressType`
    pub const DEST_ADDRESS_TYPE: usize = 28;
}

/// Field offsets of `LINECALLPARAMS` (x64, `#pragma pack(1)`).
pub mod line_call_params {
    /// sizeof(LINECALLPARAMS) for TAPI 3.1
    pub const FIXED_SIZE: usize = 180;
    /// `dwBearerMode`
    pub const BEARER_MODE: usize = 4;
    /// `dwMinRate`
    pub const MIN_RATE: usize = 8;
    /// `dwMaxRate`
    pub const MAX_RATE: usize = 12;
    /// `dwMediaMode`
    pub const MEDIA_MODE: usize = 16;
    /// `dwCallParamFlags`
    pub const CALL_PARAM_FLAGS: usize = 20;
    /// `dwAddressMode`
    pub const ADDRESS_MODE: usize = 24;
    /// `dwAddressID`
    pub const ADDRESS_ID: usize = 28;
    /// `DialParams`
    pub const DIAL_PARAMS: usize = 32;
    /// `dwOrigAddressSize`
    pub const ORIG_ADDRESS_SIZE: usize = 48;
    /// `dwOrigAddressOffset`
    pub const ORIG_ADDRESS_OFFSET: usize = 52;
    /// `dwDisplayableAddressSize`
    pub const DISPLAYABLE_ADDRESS_SIZE: usize = 56;
    /// `dwDisplayableAddressOffset`
    pub const DISPLAYABLE_ADDRESS_OFFSET: usize = 60;
    /// `dwCalledPartySize`
    pub const CALLED_PARTY_SIZE: usize = 64;
    /// `dwCalledPartyOffset`
    pub const CALLED_PARTY_OFFSET: usize = 68;
    /// `dwCommentSize`
    pub const COMMENT_SIZE: usize = 72;
    /// `dwCommentOffset`
    pub const COMMENT_OFFSET: usize = 76;
    /// `dwUserUserInfoSize`
    pub const USER_USER_INFO_SIZE: usize = 80;
    /// `dwUserUserInfoOffset`
    pub const USER_USER_INFO_OFFSET: usize = 84;
    /// `dwHighLevelCompSize`
    pub const HIGH_LEVEL_COMP_SIZE: usize = 88;
    /// `dwHighLevelCompOffset`
    pub const HIGH_LEVEL_COMP_OFFSET: usize = 92;
    /// `dwLowLevelCompSize`
    pub const LOW_LEVEL_COMP_SIZE: usize = 96;
    /// `dwLowLevelCompOffset`
    pub const LOW_LEVEL_COMP_OFFSET: usize = 100;
    /// `dwDevSpecificSize`
    pub const DEV_SPECIFIC_SIZE: usize = 104;
    /// `dwDevSpecificOffset`
    pub const DEV_SPECIFIC_OFFSET: usize = 108;
    /// `dwPredictiveAutoTransferStates`
    pub const PREDICTIVE_AUTO_TRANSFER_STATES: usize = 112;
    /// `dwTargetAddressSize`
    pub const TARGET_ADDRESS_SIZE: usize = 116;
    /// `dwTargetAddressOffset`
    pub const TARGET_ADDRESS_OFFSET: usize = 120;
    /// `dwSendingFlowspecSize`
    pub const SENDING_FLOWSPEC_SIZE: usize = 124;
    /// `dwSendingFlowspecOffset`
    pub const SENDING_FLOWSPEC_OFFSET: usize = 128;
    /// `dwReceivingFlowspecSize`
    pub const RECEIVING_FLOWSPEC_SIZE: usize = 132;
    /// `dwReceivingFlowspecOffset`
    pub const RECEIVING_FLOWSPEC_OFFSET: usize = 136;
    /// `dwDeviceClassSize`
    pub const DEVICE_CLASS_SIZE: usize = 140;
    /// `dwDeviceClassOffset`
    pub const DEVICE_CLASS_OFFSET: usize = 144;
    /// `dwDeviceConfigSize`
    pub const DEVICE_CONFIG_SIZE: usize = 148;
    /// `dwDeviceConfigOffset`
    pub const DEVICE_CONFIG_OFFSET: usize = 152;
    /// `dwCallDataSize`
    pub const CALL_DATA_SIZE: usize = 156;
    /// `dwCallDataOffset`
    pub const CALL_DATA_OFFSET: usize = 160;
    /// `dwNoAnswerTimeout`
    pub const NO_ANSWER_TIMEOUT: usize = 164;
    /// `dwCallingPartyIDSize`
    pub const CALLING_PARTY_ID_SIZE: usize = 168;
    /// `dwCallingPartyIDOffset`
    pub const CALLING_PARTY_ID_OFFSET: usize = 172;
    /// `dwAddressType`
    pub const ADDRESS_TYPE: usize = 176;
}
