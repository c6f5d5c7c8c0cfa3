//! Property tests: encode → decode is the identity for requests and responses in both dialects
//! and both array namings, and no input makes a decoder panic.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use pbx_soap::envelope::{
    ArrayNaming, Dialect, FindUserRequest, InitializeFlags, InitializeRequest, Operation, Request,
    Response, UserCallRequest, VersionInfo, WsdlVersion, decode_request, decode_response,
    encode_request, encode_response,
};
use pbx_soap::records::{
    AnyInfo, CallInfo, CallState, Device, Group, Info, Msg, No, PartyRole, Presence,
    PresenceStatus, RegInfo, UserInfo,
};

/// Text that XML 1.0 can carry unchanged: printable ASCII (markup characters included), tab,
/// line feed and some non-ASCII. Carriage returns are left out because XML parsers normalise
/// them.
fn text() -> impl Strategy<Value = String> {
    "[\t\n -~\u{e4}\u{df}\u{2026}\u{1f600}]{0,10}"
}

fn flags() -> impl Strategy<Value = InitializeFlags> {
    any::<[bool; 6]>().prop_map(|[v, v501, v700, v800, vx1000, vx1100]| InitializeFlags {
        v,
        v501,
        v700,
        v800,
        vx1000,
        vx1100,
    })
}

/// `FindUser` and `LocationUrl` have no `v` part.
fn string_flags() -> impl Strategy<Value = InitializeFlags> {
    flags().prop_map(|flags| InitializeFlags { v: false, ..flags })
}

fn presence() -> impl Strategy<Value = Presence> {
    (
        option::of(prop_oneof![
            Just(PresenceStatus::Open),
            Just(PresenceStatus::Closed)
        ]),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(|(status, activity, note)| Presence {
            status,
            activity,
            note,
        })
}

fn info() -> impl Strategy<Value = Info> {
    (text(), any::<i32>(), text()).prop_map(|(kind, vali, vals)| Info { kind, vali, vals })
}

fn no() -> impl Strategy<Value = No> {
    (text(), text(), text(), text(), text()).prop_map(|(kind, cn, dn, e164, h323)| No {
        kind: PartyRole::parse(&kind),
        cn,
        dn,
        e164,
        h323,
    })
}

fn call_info() -> impl Strategy<Value = CallInfo> {
    (
        any::<(i32, i32, i32, bool, i32)>(),
        vec(no(), 0..3),
        prop_oneof![Just("x-setup".to_owned()), Just("del".to_owned()), text()],
        vec(info(), 0..3),
    )
        .prop_map(
            |((user, call, reg, active, state), no, msg, info)| CallInfo {
                user,
                call,
                reg,
                active,
                state: CallState(state),
                no,
                msg: Msg::parse(&msg),
                info,
            },
        )
}

fn user_info() -> impl Strategy<Value = UserInfo> {
    (
        (any::<bool>(), text(), text(), text(), text(), text()),
        (any::<(i32, i32, i32)>(), text()),
        vec(
            (text(), any::<bool>()).prop_map(|(group, active)| Group { group, active }),
            0..3,
        ),
        (text(), text(), text(), text(), any::<bool>()),
        (option::of(presence()), text(), any::<bool>()),
        // Empty addresses cannot be told from an empty flattened list.
        (vec("[a-z@.]{1,8}", 0..3), text(), vec(info(), 0..3)),
    )
        .prop_map(
            |(
                (active, cn, dn, kind, e164, h323),
                ((state, channel, alert), guid),
                groups,
                (loc, node, object, nodenum, cfg),
                (presence, domain, h323email),
                (email, fake, info),
            )| UserInfo {
                active,
                cn,
                dn,
                kind,
                e164,
                h323,
                state,
                channel,
                alert,
                guid,
                groups,
                loc,
                node,
                object,
                nodenum,
                cfg,
                presence,
                domain,
                h323email,
                email,
                fake,
                info,
            },
        )
}

fn reg_info() -> impl Strategy<Value = RegInfo> {
    (any::<(bool, i32, i32)>(), text(), text(), vec(info(), 0..2)).prop_map(
        |((active, user, reg), hw, soap, info)| RegInfo {
            active,
            user,
            reg,
            hw,
            soap,
            info,
        },
    )
}

fn request() -> impl Strategy<Value = Request> {
    let sessions = prop_oneof![
        Just(Request::Version),
        (text(), text(), flags()).prop_map(|(user, appl, flags)| {
            Request::Initialize(InitializeRequest { user, appl, flags })
        }),
        any::<(i32, i32)>().prop_map(|(session, key)| Request::Echo { session, key }),
        any::<i32>().prop_map(|session| Request::End { session }),
        any::<i32>().prop_map(|session| Request::Poll { session }),
        (any::<i32>(), text()).prop_map(|(session, name)| Request::License { session, name }),
        text().prop_map(|xml| Request::Admin { xml }),
        (any::<i32>(), text(), any::<(bool, bool)>(), text()).prop_map(
            |(session, user, (xfer, disc), hw)| Request::UserInitialize {
                session,
                user,
                xfer,
                disc,
                hw
            }
        ),
        any::<i32>().prop_map(|user| Request::UserEnd { user }),
        (any::<i32>(), text()).prop_map(|(session, user)| Request::Devices { session, user }),
        (any::<i32>(), text()).prop_map(|(session, user)| Request::Calls { session, user }),
    ];
    let directory = prop_oneof![
        (
            string_flags(),
            text(),
            text(),
            text(),
            any::<(i32, bool, bool)>()
        )
            .prop_map(|(flags, cn, h323, e164, (count, next, nohide))| {
                Request::FindUser(FindUserRequest {
                    flags,
                    cn,
                    h323,
                    e164,
                    count,
                    next,
                    nohide,
                })
            }),
        (any::<i32>(), text(), text())
            .prop_map(|(user, e164, h323)| Request::UserFindDestination { user, e164, h323 }),
        (string_flags(), text(), any::<bool>())
            .prop_map(|(flags, loc, tls)| Request::LocationUrl { flags, loc, tls }),
        (any::<i32>(), text()).prop_map(|(user, num)| Request::UserLocalNum { user, num }),
        (presence(), any::<bool>(), text(), text(), text()).prop_map(
            |(presence, im, contact, guid, h323)| Request::SetPresence {
                presence,
                im,
                contact,
                guid,
                h323
            }
        ),
        (text(), text()).prop_map(|(guid, kind)| Request::UserLicense { guid, kind }),
    ];
    let calls =
        prop_oneof![
            (any::<(i32, i32)>(), text(), text(), text(), text()).prop_map(
                |((user, rc), cn, e164, h323, srce164)| {
                    Request::UserCall(UserCallRequest {
                        user,
                        cn,
                        e164,
                        h323,
                        rc,
                        srce164,
                    })
                }
            ),
            any::<(i32, i32)>().prop_map(|(call, cause)| Request::UserClear { call, cause }),
            any::<i32>().prop_map(|call| Request::UserConnect { call }),
            any::<(i32, bool)>().prop_map(|(call, remote)| Request::UserHold { call, remote }),
            any::<i32>().prop_map(|call| Request::UserRetrieve { call }),
            any::<(i32, i32)>().prop_map(|(a, b)| Request::UserTransfer { a, b }),
            any::<(i32, i32, bool, bool)>()
                .prop_map(|(a, b, user, peer)| Request::UserMediaTransfer { a, b, user, peer }),
            (any::<(i32, i32)>(), text(), text(), text()).prop_map(
                |((call, rc), cn, e164, h323)| {
                    Request::UserRedirect {
                        call,
                        cn,
                        e164,
                        h323,
                        rc,
                    }
                }
            ),
            (any::<i32>(), text(), text(), text()).prop_map(|(call, cn, e164, h323)| {
                Request::UserReroute {
                    call,
                    cn,
                    e164,
                    h323,
                }
            }),
            (any::<(i32, i32)>(), text(), text()).prop_map(|((user, call), cn, group)| {
                Request::UserPickup {
                    user,
                    cn,
                    call,
                    group,
                }
            }),
            (any::<(i32, i32)>(), text()).prop_map(|((call, position), cn)| Request::UserPark {
                call,
                cn,
                position
            }),
        ];
    let signalling = prop_oneof![
        (any::<i32>(), text(), text()).prop_map(|(call, e164, h323)| Request::UserCtComplete {
            call,
            e164,
            h323
        }),
        any::<(i32, i32)>().prop_map(|(call, rc)| Request::UserRc { call, rc }),
        (any::<(i32, bool)>(), text()).prop_map(|((call, recv), dtmf)| Request::UserDtmf {
            call,
            recv,
            dtmf
        }),
        (any::<(i32, bool)>(), text()).prop_map(|((call, recv), uui)| Request::UserUui {
            call,
            recv,
            uui
        }),
        (any::<(i32, bool)>(), text(), text(), text()).prop_map(
            |((call, recv), cdpn, key, dsp)| {
                Request::UserInfo {
                    call,
                    recv,
                    cdpn,
                    key,
                    dsp,
                }
            }
        ),
        (any::<i32>(), (text(), text(), text()), (text(), text())).prop_map(
            |(user, (e164, h323, msg), (src_e164, src_h323))| Request::UserMessage {
                user,
                e164,
                h323,
                msg,
                src_e164,
                src_h323
            }
        ),
    ];
    prop_oneof![sessions, directory, calls, signalling]
}

/// A response together with an operation whose answer has that shape.
fn response() -> impl Strategy<Value = (Operation, Response)> {
    let int_operations = [
        Operation::Echo,
        Operation::UserInitialize,
        Operation::UserCall,
        Operation::UserPickup,
        Operation::UserPark,
        Operation::UserMessage,
        Operation::SetPresence,
    ];
    let void_operations = [
        Operation::End,
        Operation::UserEnd,
        Operation::UserClear,
        Operation::UserHold,
        Operation::UserTransfer,
        Operation::UserDtmf,
        Operation::UserInfo,
    ];
    prop_oneof![
        (any::<i32>(), text(), text(), text(), text()).prop_map(
            |(wsdl_version, gatekeeper_id, location, firmware_version, serial_number)| {
                let version = VersionInfo {
                    wsdl_version,
                    gatekeeper_id,
                    location,
                    firmware_version,
                    serial_number,
                };
                (Operation::Version, Response::Version(version))
            }
        ),
        any::<(i32, i32)>().prop_map(|(session, key)| (
            Operation::Initialize,
            Response::Initialize { session, key }
        )),
        (
            proptest::sample::select(int_operations.to_vec()),
            any::<i32>()
        )
            .prop_map(|(operation, value)| (operation, Response::Int(value))),
        (
            proptest::sample::select(vec![
                Operation::UserRedirect,
                Operation::UserReroute,
                Operation::UserLicense
            ]),
            any::<bool>()
        )
            .prop_map(|(operation, value)| (operation, Response::Bool(value))),
        (
            proptest::sample::select(vec![
                Operation::Admin,
                Operation::LocationUrl,
                Operation::UserLocalNum,
                Operation::License
            ]),
            text()
        )
            .prop_map(|(operation, value)| (operation, Response::String(value))),
        proptest::sample::select(void_operations.to_vec())
            .prop_map(|operation| (operation, Response::Void)),
        (
            vec(user_info(), 0..3),
            vec(call_info(), 0..4),
            vec(reg_info(), 0..2),
            vec(info(), 0..2)
        )
            .prop_map(|(user, call, reg, info)| {
                (
                    Operation::Poll,
                    Response::Poll(AnyInfo {
                        user,
                        call,
                        reg,
                        info,
                    }),
                )
            }),
        vec(
            (text(), text()).prop_map(|(hw, text)| Device { hw, text }),
            0..3
        )
        .prop_map(|devices| (Operation::Devices, Response::Devices(devices))),
        vec(call_info(), 0..3).prop_map(|calls| (Operation::Calls, Response::Calls(calls))),
        vec(user_info(), 0..3).prop_map(|users| (Operation::FindUser, Response::FindUser(users))),
        (any::<bool>(), option::of(user_info())).prop_map(|(incomplete, user)| {
            (
                Operation::UserFindDestination,
                Response::UserFindDestination { incomplete, user },
            )
        }),
    ]
}

fn version() -> impl Strategy<Value = WsdlVersion> {
    prop_oneof![
        Just(WsdlVersion::Pbx800),
        Just(WsdlVersion::Pbx1000),
        Just(WsdlVersion::Pbx1100)
    ]
}

fn dialect_and_naming() -> impl Strategy<Value = (Dialect, ArrayNaming)> {
    (
        prop_oneof![Just(Dialect::RpcEncoded), Just(Dialect::DocLiteral)],
        prop_oneof![Just(ArrayNaming::Observed), Just(ArrayNaming::Item)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(request in request(), version in version()) {
        let mut out = Vec::new();
        encode_request(&request, version, &mut out);
        let decoded = decode_request(&out);
        prop_assert!(decoded.is_ok(), "{:?} for {}", decoded, String::from_utf8_lossy(&out));
        prop_assert_eq!(decoded.unwrap(), request);
    }

    #[test]
    fn responses_round_trip(
        (operation, response) in response(),
        (dialect, naming) in dialect_and_naming(),
    ) {
        let mut out = Vec::new();
        encode_response(operation, &response, dialect, naming, &mut out);
        let decoded = decode_response(operation, &out);
        prop_assert!(decoded.is_ok(), "{:?} for {}", decoded, String::from_utf8_lossy(&out));
        prop_assert_eq!(decoded.unwrap(), response);
    }

    #[test]
    fn decoders_never_panic_on_bytes(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode_request(&bytes);
        let _ = decode_response(Operation::Poll, &bytes);
    }

    /// Cut and corrupted versions of a valid envelope: every outcome is a value or a typed
    /// error, never a panic.
    #[test]
    fn decoders_never_panic_on_damaged_envelopes(
        (operation, response) in response(),
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
    ) {
        let mut out = Vec::new();
        encode_response(operation, &response, Dialect::RpcEncoded, ArrayNaming::Observed, &mut out);
        let mut damaged = out.clone();
        let (position, byte) = flip;
        let position = position.index(damaged.len());
        damaged[position] = byte;
        let _ = decode_response(operation, &damaged);
        let _ = decode_request(&damaged);
        let _ = decode_response(operation, &out[..cut.index(out.len())]);
    }
}
