//! Envelope codec against the hand-written fixtures in `tests/fixtures/` (see its README), the
//! exact request shapes, and every malformed-input path.

use std::path::PathBuf;

use pbx_soap::envelope::{
    ArrayNaming, Dialect, Fault, FindUserRequest, InitializeFlags, InitializeRequest, Operation,
    Request, Response, UserCallRequest, VersionInfo, WsdlVersion, decode_request, decode_response,
    encode_fault, encode_request, encode_response,
};
use pbx_soap::error::{DecodeError, Error};
use pbx_soap::records::{
    AnyInfo, CallInfo, CallState, Device, Group, Info, Msg, No, PartyRole, Presence,
    PresenceStatus, UserInfo,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn no(kind: &str, cn: &str, dn: &str, e164: &str, h323: &str) -> No {
    No {
        kind: PartyRole::parse(kind),
        cn: cn.into(),
        dn: dn.into(),
        e164: e164.into(),
        h323: h323.into(),
    }
}

fn group(name: &str, active: bool) -> Group {
    Group {
        group: name.into(),
        active,
    }
}

fn alice() -> UserInfo {
    UserInfo {
        active: true,
        cn: "Alice Example".into(),
        dn: "Alice".into(),
        kind: "ep".into(),
        e164: "201".into(),
        h323: "alice".into(),
        state: 1,
        guid: "0123456789abcdef0123456789abcdef".into(),
        ..UserInfo::default()
    }
}

fn bob() -> UserInfo {
    UserInfo {
        active: true,
        cn: "Bob Example".into(),
        dn: "Bob".into(),
        kind: "ep".into(),
        e164: "202".into(),
        h323: "bob".into(),
        guid: "00000000000000000000000000000002".into(),
        ..UserInfo::default()
    }
}

fn decode(operation: Operation, name: &str) -> Response {
    decode_response(operation, &fixture(name)).unwrap_or_else(|error| panic!("{name}: {error:?}"))
}

#[test]
fn poll_rpc_with_observed_member_names() {
    let conf = "fedcba9876543210fedcba9876543210";
    let expected = AnyInfo {
        user: vec![
            UserInfo {
                channel: 1,
                groups: vec![group("sales", false), group("tapi", true)],
                loc: "berlin".into(),
                node: "root".into(),
                object: "user".into(),
                nodenum: "4930".into(),
                presence: Some(Presence {
                    status: Some(PresenceStatus::Open),
                    activity: Some("busy".into()),
                    note: Some("in a meeting & more".into()),
                }),
                domain: "example.com".into(),
                email: vec!["alice@example.com".into(), "a.example@example.com".into()],
                info: vec![Info::string("fake", "4930200")],
                ..alice()
            },
            UserInfo {
                active: true,
                ..UserInfo::default()
            },
        ],
        call: vec![
            CallInfo {
                user: 7,
                call: 9,
                reg: 0,
                active: true,
                state: CallState(132),
                no: vec![
                    no("this", "Alice Example", "Alice", "201", "alice"),
                    no("peer", "", "Bob", "0301234", ""),
                ],
                msg: Msg::RAlert,
                info: vec![Info::string("conf", conf)],
            },
            CallInfo {
                user: 7,
                call: 9,
                reg: 0,
                active: false,
                state: CallState(135),
                no: vec![],
                msg: Msg::Del,
                info: vec![
                    Info::string("conf", conf),
                    Info::new("cause", 16, "Normal call clearing"),
                ],
            },
        ],
        ..AnyInfo::default()
    };
    let Response::Poll(any) = decode(Operation::Poll, "poll-rpc-observed.xml") else {
        panic!("not a poll response");
    };
    assert_eq!(any, expected);
    assert!(any.user[1].is_end_of_dump());
    assert_eq!(any.call[0].conf(), Some(conf));
}

#[test]
fn poll_rpc_with_item_members_types_and_nil() {
    let expected = AnyInfo {
        user: vec![UserInfo {
            active: false,
            cn: "Carol".into(),
            dn: "Carol C.".into(),
            kind: "gw".into(),
            e164: "9".into(),
            h323: "carol".into(),
            state: 0,
            channel: 2,
            alert: 1,
            guid: "ffffffffffffffffffffffffffffffff".into(),
            groups: vec![group("trunks", true)],
            cfg: true,
            presence: None,
            ..UserInfo::default()
        }],
        call: vec![CallInfo {
            user: 12,
            call: -3,
            reg: 0,
            active: true,
            state: CallState(0x105),
            no: vec![
                no("peer", "Dave", "Dave D.", "204", "dave"),
                no("leg2orig", "Eve", "", "205", ""),
            ],
            msg: Msg::XFacility,
            info: vec![],
        }],
        ..AnyInfo::default()
    };
    assert_eq!(
        decode(Operation::Poll, "poll-rpc-item.xml"),
        Response::Poll(expected)
    );
}

#[test]
fn poll_doc_literal_flattened() {
    let expected = AnyInfo {
        user: vec![UserInfo {
            groups: vec![group("sales", false), group("tapi", true)],
            node: "root".into(),
            nodenum: "4930".into(),
            object: "user".into(),
            presence: Some(Presence {
                status: None,
                activity: Some("dnd".into()),
                note: None,
            }),
            h323email: true,
            email: vec!["alice@example.com".into(), "a.example@example.com".into()],
            fake: "4930200".into(),
            ..alice()
        }],
        call: vec![
            CallInfo {
                user: 7,
                call: 10,
                reg: 0,
                active: true,
                state: CallState(1),
                no: vec![
                    no("peer", "Bob Example", "Bob", "202", "bob"),
                    no("this", "Alice Example", "Alice", "201", "alice"),
                ],
                msg: Msg::RSetup,
                info: vec![Info::string("conf", "00112233445566778899aabbccddeeff")],
            },
            CallInfo {
                user: 7,
                call: 10,
                active: true,
                state: CallState(4),
                msg: Msg::XAlert,
                ..CallInfo::default()
            },
        ],
        ..AnyInfo::default()
    };
    let Response::Poll(any) = decode(Operation::Poll, "poll-doc.xml") else {
        panic!("not a poll response");
    };
    assert_eq!(any, expected);
    assert!(any.user[0].presence.as_ref().is_some_and(Presence::dnd));
}

#[test]
fn empty_poll() {
    let Response::Poll(any) = decode(Operation::Poll, "poll-empty-rpc.xml") else {
        panic!("not a poll response");
    };
    assert!(any.is_empty());
}

#[test]
fn find_user_in_both_dialects() {
    let alice = UserInfo {
        groups: vec![group("tapi", false)],
        ..alice()
    };
    assert_eq!(
        decode(Operation::FindUser, "finduser-rpc.xml"),
        Response::FindUser(vec![alice.clone(), bob()])
    );
    let with_presence = |user: UserInfo| UserInfo {
        presence: Some(Presence::default()),
        ..user
    };
    assert_eq!(
        decode(Operation::FindUser, "finduser-doc.xml"),
        Response::FindUser(vec![with_presence(alice), with_presence(bob())])
    );
}

#[test]
fn version_in_both_dialects() {
    let expected = |wsdl_version| {
        Response::Version(VersionInfo {
            wsdl_version,
            gatekeeper_id: "pbx.example.com".into(),
            location: "master".into(),
            firmware_version: "13r2 sr5 IP811[13.4250]".into(),
            serial_number: "00-90-33-00-00-2d".into(),
        })
    };
    assert_eq!(
        decode(Operation::Version, "version-rpc.xml"),
        expected(1000)
    );
    assert_eq!(
        decode(Operation::Version, "version-doc.xml"),
        expected(1100)
    );
}

#[test]
fn initialize_session_and_key() {
    assert_eq!(
        decode(Operation::Initialize, "initialize-rpc.xml"),
        Response::Initialize {
            session: 3,
            key: -1_588_245
        }
    );
}

#[test]
fn calls_and_devices_in_both_dialects() {
    let call = CallInfo {
        active: true,
        state: CallState(5),
        no: vec![no("peer", "Bob Example", "Bob", "202", "bob")],
        msg: Msg::XConn,
        info: vec![Info::string("conf", "00112233445566778899aabbccddeeff")],
        ..CallInfo::default()
    };
    assert_eq!(
        decode(Operation::Calls, "calls-rpc.xml"),
        Response::Calls(vec![call.clone()])
    );
    assert_eq!(
        decode(Operation::Calls, "calls-doc.xml"),
        Response::Calls(vec![call])
    );
    let devices = vec![
        Device {
            hw: "IP232-01".into(),
            text: "Desk phone".into(),
        },
        Device {
            hw: "softphone".into(),
            text: "myApps <laptop>".into(),
        },
    ];
    assert_eq!(
        decode(Operation::Devices, "devices-rpc.xml"),
        Response::Devices(devices.clone())
    );
    assert_eq!(
        decode(Operation::Devices, "devices-doc.xml"),
        Response::Devices(devices)
    );
}

#[test]
fn user_find_destination_in_both_dialects() {
    assert_eq!(
        decode(
            Operation::UserFindDestination,
            "userfinddestination-rpc.xml"
        ),
        Response::UserFindDestination {
            incomplete: true,
            user: None
        }
    );
    let bob = UserInfo {
        state: 1,
        presence: Some(Presence {
            status: Some(PresenceStatus::Closed),
            ..Presence::default()
        }),
        ..bob()
    };
    assert_eq!(
        decode(
            Operation::UserFindDestination,
            "userfinddestination-doc.xml"
        ),
        Response::UserFindDestination {
            incomplete: false,
            user: Some(bob)
        }
    );
}

#[test]
fn void_response_in_the_binding_namespace() {
    assert_eq!(
        decode(Operation::UserEnd, "userend-rpc.xml"),
        Response::Void
    );
}

#[test]
fn fault_becomes_a_typed_error() {
    let error = decode_response(Operation::Poll, &fixture("fault.xml")).unwrap_err();
    let Error::Fault(fault) = error else {
        panic!("expected a fault, got {error:?}")
    };
    assert_eq!(
        fault,
        Fault {
            code: "SOAP-ENV:Client".into(),
            string: "invalid session".into()
        }
    );

    let mut encoded = Vec::new();
    let fault = Fault {
        code: "SOAP-ENV:Server".into(),
        string: "no <such> session & more".into(),
    };
    encode_fault(&fault, &mut encoded);
    let Err(Error::Fault(decoded)) = decode_response(Operation::Echo, &encoded) else {
        panic!("encoded fault not decoded as a fault");
    };
    assert_eq!(decoded, fault);
}

fn request(name: &str) -> Request {
    decode_request(&fixture(name)).unwrap_or_else(|error| panic!("{name}: {error:?}"))
}

#[test]
fn requests_in_toolkit_shapes() {
    assert_eq!(
        request("request-initialize-rpc.xml"),
        Request::Initialize(InitializeRequest {
            user: "_TAPI_".into(),
            appl: "crm dialer".into(),
            flags: WsdlVersion::Pbx1000.flags(),
        })
    );
    assert_eq!(
        request("request-poll-undeclared-prefix.xml"),
        Request::Poll { session: 17 }
    );
    assert_eq!(
        request("request-usercall-nil.xml"),
        Request::UserCall(UserCallRequest {
            user: 42,
            cn: String::new(),
            e164: "0301234567".into(),
            h323: String::new(),
            rc: 0,
            srce164: "r".into(),
        })
    );
    assert_eq!(
        request("request-userinfotx-doc.xml"),
        Request::UserInfo {
            call: 31,
            recv: true,
            cdpn: "4711".into(),
            key: String::new(),
            dsp: "Dialling \u{2026}".into(),
        }
    );
    assert_eq!(
        request("request-finduser-doc.xml"),
        Request::FindUser(FindUserRequest {
            flags: InitializeFlags {
                v: false,
                ..WsdlVersion::Pbx1100.flags()
            },
            cn: "Bob Example".into(),
            h323: String::new(),
            e164: String::new(),
            count: 50,
            next: true,
            nohide: false,
        })
    );
    assert_eq!(
        request("request-userend-binding.xml"),
        Request::UserEnd { user: 5 }
    );
    assert_eq!(
        request("request-setpresence-rpc.xml"),
        Request::SetPresence {
            presence: Presence {
                status: Some(PresenceStatus::Closed),
                activity: Some("vacation".into()),
                note: Some("back on Monday".into()),
            },
            im: false,
            contact: "calendar:".into(),
            guid: "*".into(),
            h323: "alice".into(),
        }
    );
}

/// `Initialize` as sent by clients of each WSDL revision: 0 (pbx500), 2 (pbx501), 3 (pbx700),
/// 4 (pbx800) and 5 (pbx10_00 / pbx11_00) flags, booleans spelled every accepted way.
#[test]
fn initialize_with_any_number_of_flags() {
    let cases: [(&str, InitializeFlags, u16); 6] = [
        ("", InitializeFlags::NONE, 0),
        (
            "<v>1</v><v501>1</v501>",
            InitializeFlags {
                v: true,
                v501: true,
                ..InitializeFlags::NONE
            },
            501,
        ),
        (
            "<v>true</v><v501>True</v501><v700>1</v700>",
            InitializeFlags {
                v: true,
                v501: true,
                v700: true,
                ..InitializeFlags::NONE
            },
            700,
        ),
        (
            "<v>1</v><v501>1</v501><v700>1</v700><v800>1</v800>",
            WsdlVersion::Pbx800.flags(),
            800,
        ),
        (
            "<v>1</v><v501>1</v501><v700>1</v700><v800>1</v800><vx1000>1</vx1000>",
            WsdlVersion::Pbx1000.flags(),
            1000,
        ),
        (
            "<v>1</v><v501>1</v501><v700>1</v700><v800>1</v800><vx1100>1</vx1100>",
            WsdlVersion::Pbx1100.flags(),
            1100,
        ),
    ];
    for (flags_xml, flags, level) in cases {
        let xml = format!(
            "<Envelope><Body><Initialize><user>_TAPI_</user><appl>a</appl>{flags_xml}\
             </Initialize></Body></Envelope>"
        );
        let Ok(Request::Initialize(initialize)) = decode_request(xml.as_bytes()) else {
            panic!("{xml}");
        };
        assert_eq!(initialize.flags, flags, "{xml}");
        assert_eq!(initialize.flags.level(), level, "{xml}");
        let dialect = if level == 1100 {
            Dialect::DocLiteral
        } else {
            Dialect::RpcEncoded
        };
        assert_eq!(initialize.flags.dialect(), dialect);
    }
}

#[test]
fn poll_request_exactly_as_a_pbx10_client_sends_it() {
    let mut out = Vec::new();
    encode_request(
        &Request::Poll { session: 5 },
        WsdlVersion::Pbx1000,
        &mut out,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope \
         xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:ns1=\"http://innovaphone.com/pbx\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">\
         <SOAP-ENV:Body><ns1:Poll><session xsi:type=\"xsd:int\">5</session></ns1:Poll>\
         </SOAP-ENV:Body></SOAP-ENV:Envelope>"
    );
}

#[test]
fn doc_literal_request_is_qualified_and_renames_user_info() {
    let mut out = Vec::new();
    let request = Request::UserInfo {
        call: 3,
        recv: false,
        cdpn: "12".into(),
        key: "".into(),
        dsp: "".into(),
    };
    encode_request(&request, WsdlVersion::Pbx1100, &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(
            "<soap:Body><UserInfoTx xmlns=\"http://innovaphone.com/pbx\"><call>3</call>\
             <recv>false</recv><cdpn>12</cdpn><key></key><dsp></dsp></UserInfoTx></soap:Body>"
        ),
        "{text}"
    );
    assert!(!text.contains("xsi:type"), "{text}");
}

#[test]
fn rpc_requests_carry_every_part_with_its_type() {
    let mut out = Vec::new();
    let call = UserCallRequest {
        user: 4,
        e164: "0301234".into(),
        ..UserCallRequest::default()
    };
    encode_request(&Request::UserCall(call), WsdlVersion::Pbx1000, &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(
            "<ns1:UserCall><user xsi:type=\"xsd:int\">4</user>\
             <cn xsi:type=\"xsd:string\"></cn><e164 xsi:type=\"xsd:string\">0301234</e164>\
             <h323 xsi:type=\"xsd:string\"></h323><reg xsi:type=\"xsd:int\">0</reg>\
             <info xsi:type=\"SOAP-ENC:Array\" SOAP-ENC:arrayType=\"ns1:Info[0]\"></info>\
             <rc xsi:type=\"xsd:int\">0</rc><srce164 xsi:type=\"xsd:string\"></srce164>\
             </ns1:UserCall>"
        ),
        "{text}"
    );
    assert!(!text.contains("nil"), "{text}");
}

#[test]
fn pbx800_requests_follow_the_pbx800_wsdl() {
    let encode = |request: &Request, version| {
        let mut out = Vec::new();
        encode_request(request, version, &mut out);
        String::from_utf8(out).unwrap()
    };
    let initialize = Request::Initialize(InitializeRequest {
        user: "_TAPI_".into(),
        appl: "gw".into(),
        flags: WsdlVersion::Pbx800.flags(),
    });
    let text = encode(&initialize, WsdlVersion::Pbx800);
    assert!(
        text.contains("<v800 xsi:type=\"xsd:boolean\">true</v800></ns1:Initialize>"),
        "{text}"
    );
    assert!(!text.contains("vx1000"), "{text}");

    let hold = Request::UserHold {
        call: 1,
        remote: false,
    };
    assert!(!encode(&hold, WsdlVersion::Pbx800).contains("remote"));
    assert!(
        encode(&hold, WsdlVersion::Pbx1000)
            .contains("<remote xsi:type=\"xsd:boolean\">false</remote>")
    );
    let find = Request::FindUser(FindUserRequest {
        flags: WsdlVersion::Pbx800.flags(),
        ..FindUserRequest::default()
    });
    let text = encode(&find, WsdlVersion::Pbx800);
    assert!(
        text.contains("<v501 xsi:type=\"xsd:string\">true</v501>"),
        "{text}"
    );
    assert!(
        !text.contains("nohide") && !text.contains("vx1000") && !text.contains("<v "),
        "{text}"
    );
}

#[test]
fn soap_actions_come_from_the_wsdls() {
    assert_eq!(
        Operation::Poll.soap_action(WsdlVersion::Pbx1000),
        "http://innovaphone.com/pbx#Poll"
    );
    assert_eq!(
        Operation::UserDtmf.soap_action(WsdlVersion::Pbx800),
        "http://innovaphone.com/pbx#UserDTMF"
    );
    assert_eq!(
        Operation::UserEnd.soap_action(WsdlVersion::Pbx1000),
        "capeconnect:pbx:pbxPortType#UserEnd"
    );
    assert_eq!(
        Operation::UserEnd.soap_action(WsdlVersion::Pbx1100),
        "http://innovaphone.com/pbx/UserEnd"
    );
    assert_eq!(
        Operation::UserInfo.soap_action(WsdlVersion::Pbx1100),
        "http://innovaphone.com/pbx/UserInfo"
    );
}

#[test]
fn user_end_and_echo_use_the_binding_namespace() {
    for request in [
        Request::UserEnd { user: 1 },
        Request::Echo { session: 1, key: 2 },
    ] {
        let mut out = Vec::new();
        encode_request(&request, WsdlVersion::Pbx1000, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("xmlns:ns1=\"http://innovaphone/binding\""),
            "{text}"
        );
    }
}

#[test]
fn operation_names_round_trip() {
    for &operation in Operation::ALL {
        assert_eq!(Operation::from_name(operation.name()), Some(operation));
    }
    assert_eq!(Operation::ALL.len(), 34);
    assert_eq!(
        Operation::from_name("UserInfoTx"),
        Some(Operation::UserInfo)
    );
    assert_eq!(Operation::from_name("userdtmf"), Some(Operation::UserDtmf));
    assert_eq!(Operation::from_name("Nope"), None);
}

#[test]
fn rpc_response_member_names_follow_the_naming() {
    let any = AnyInfo {
        user: vec![UserInfo {
            groups: vec![group("g", true)],
            ..alice()
        }],
        call: vec![CallInfo {
            no: vec![no("peer", "", "", "1", "")],
            info: vec![Info::string("conf", "x")],
            ..CallInfo::default()
        }],
        ..AnyInfo::default()
    };
    let encode = |naming| {
        let mut out = Vec::new();
        encode_response(
            Operation::Poll,
            &Response::Poll(any.clone()),
            Dialect::RpcEncoded,
            naming,
            &mut out,
        );
        String::from_utf8(out).unwrap()
    };
    let observed = encode(ArrayNaming::Observed);
    for member in [
        "<user xsi:type=\"ns1:UserInfo\">",
        "<call xsi:type=\"ns1:CallInfo\">",
        "<No xsi:type=\"ns1:No\">",
        "<groups xsi:type=\"ns1:Group\">",
        "<item xsi:type=\"ns1:Info\">",
        "SOAP-ENC:arrayType=\"ns1:CallInfo[1]\"",
    ] {
        assert!(observed.contains(member), "{member} missing in {observed}");
    }
    let item = encode(ArrayNaming::Item);
    for member in [
        "<item xsi:type=\"ns1:UserInfo\">",
        "<item xsi:type=\"ns1:No\">",
        "<item xsi:type=\"ns1:Group\">",
    ] {
        assert!(item.contains(member), "{member} missing in {item}");
    }
    for naming in [ArrayNaming::Observed, ArrayNaming::Item] {
        assert_eq!(
            decode_response(Operation::Poll, encode(naming).as_bytes()).unwrap(),
            Response::Poll(any.clone())
        );
    }
}

#[test]
fn doc_literal_responses_are_flattened_and_qualified() {
    let mut out = Vec::new();
    let calls = Response::Calls(vec![CallInfo {
        no: vec![no("peer", "", "", "1", "")],
        ..CallInfo::default()
    }]);
    encode_response(
        Operation::Calls,
        &calls,
        Dialect::DocLiteral,
        ArrayNaming::Observed,
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(
            "<CallsResponse xmlns=\"http://innovaphone.com/pbx\"><CallInfo><user>0</user>"
        ),
        "{text}"
    );
    assert!(
        text.contains("<state>0</state><No><type>peer</type>"),
        "{text}"
    );
    assert!(
        !text.contains("xsi:type") && !text.contains("return"),
        "{text}"
    );

    let mut out = Vec::new();
    let version = Response::Version(VersionInfo {
        wsdl_version: 1100,
        ..VersionInfo::default()
    });
    encode_response(
        Operation::Version,
        &version,
        Dialect::DocLiteral,
        ArrayNaming::Observed,
        &mut out,
    );
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("<VersionResult>1100</VersionResult>")
    );

    let mut out = Vec::new();
    encode_response(
        Operation::UserInfo,
        &Response::Void,
        Dialect::DocLiteral,
        ArrayNaming::Item,
        &mut out,
    );
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("<UserInfoTxResponse xmlns=")
    );
}

// ---- malformed input -------------------------------------------------------------------------

fn request_error(xml: &str) -> DecodeError {
    match decode_request(xml.as_bytes()) {
        Ok(request) => panic!("{xml} decoded as {request:?}"),
        Err(error) => error,
    }
}

fn response_error(operation: Operation, xml: &[u8]) -> Error {
    match decode_response(operation, xml) {
        Ok(response) => panic!("decoded as {response:?}"),
        Err(error) => error,
    }
}

#[test]
fn malformed_xml_is_a_typed_error() {
    let error = request_error("<Envelope><Body><Poll><session>1</sess></Poll></Body></Envelope>");
    assert!(matches!(error, DecodeError::Xml { .. }), "{error:?}");
    let error = request_error("<Envelope><Body><Poll a=\"1></Poll></Body></Envelope>");
    assert!(matches!(error, DecodeError::Xml { .. }), "{error:?}");
    let error = request_error("<Envelope><Body><Poll><session>1");
    assert!(
        matches!(&error, DecodeError::Truncated { element } if element == "session"),
        "{error:?}"
    );
    let error =
        request_error("<Envelope><Body><Poll><session>&bogus;</session></Poll></Body></Envelope>");
    assert!(
        matches!(&error, DecodeError::UnknownEntity { name } if name == "bogus"),
        "{error:?}"
    );
}

#[test]
fn garbage_and_empty_documents() {
    assert!(matches!(request_error(""), DecodeError::NoRootElement));
    assert!(matches!(
        request_error("hello, this is no XML"),
        DecodeError::NoRootElement
    ));
    let error = response_error(
        Operation::Poll,
        b"<html><body>502 Bad Gateway</body></html>",
    );
    assert!(
        matches!(&error, Error::Decode(DecodeError::NotAnEnvelope { root }) if root == "html"),
        "{error:?}"
    );
    let error = response_error(Operation::Poll, &[0xff, 0xfe, 0x00, 0x3c]);
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
}

#[test]
fn envelope_structure_errors() {
    assert!(matches!(
        request_error("<Envelope><Header/></Envelope>"),
        DecodeError::MissingBody
    ));
    assert!(matches!(
        request_error("<s:Envelope xmlns:s=\"x\"><s:Body>  </s:Body></s:Envelope>"),
        DecodeError::EmptyBody
    ));
    let error = request_error("<Envelope><Body><DropTables/></Body></Envelope>");
    assert!(
        matches!(&error, DecodeError::UnknownOperation { name } if name == "DropTables"),
        "{error:?}"
    );
    let error = response_error(
        Operation::Poll,
        b"<Envelope><Body><EchoResponse><return>1</return></EchoResponse></Body></Envelope>",
    );
    assert!(
        matches!(&error, Error::Decode(DecodeError::UnexpectedResponse { expected, found })
            if expected == "PollResponse" && found == "EchoResponse"),
        "{error:?}"
    );
}

#[test]
fn unreadable_values_are_errors_not_defaults() {
    let error =
        request_error("<Envelope><Body><Poll><session>seven</session></Poll></Body></Envelope>");
    assert!(
        matches!(&error, DecodeError::InvalidInteger { element, value } if element == "session" && value == "seven"),
        "{error:?}"
    );
    let error = request_error(
        "<Envelope><Body><Poll><session>4294967296</session></Poll></Body></Envelope>",
    );
    assert!(
        matches!(error, DecodeError::InvalidInteger { .. }),
        "{error:?}"
    );
    let error = request_error(
        "<Envelope><Body><UserHold><call>1</call><remote>yes</remote></UserHold></Body></Envelope>",
    );
    assert!(
        matches!(&error, DecodeError::InvalidBoolean { element, value } if element == "remote" && value == "yes"),
        "{error:?}"
    );
    let error = response_error(
        Operation::Poll,
        b"<Envelope><Body><PollResponse><return><call><call><state>x</state></call></call></return></PollResponse></Body></Envelope>",
    );
    assert!(
        matches!(error, Error::Decode(DecodeError::InvalidInteger { .. })),
        "{error:?}"
    );
}
