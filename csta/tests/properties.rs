//! Property tests: round trips of the main message types with generated values, and the two
//! fuzz properties (never panic; decode → encode → decode is stable) on generated input, so
//! they run in CI without a fuzzer.

mod common;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

use csta::call_control::MakeCall;
use csta::error_code::*;
use csta::events::{DeliveredEvent, EstablishedEvent, Event, TransferedEvent};
use csta::frame;
use csta::ids::{DynamicDeviceId, TypeOfNumber};
use csta::monitoring::{MonitorObject, MonitorStart};
use csta::session::{ApplicationInfo, Credentials, StartApplicationSession};
use csta::snapshot::{SnapshotDeviceResponse, SnapshotDeviceResponseInfo, SnapshotResult};
use csta::types::*;
use csta::{
    AvayaProtocol, CallId, ConnectionId, CstaErrorCode, CstaEvent, DeviceId, Edition, InvokeId,
    LocalDeviceId, Message, MonitorCrossRefId,
};

const TEXT: &str = "[A-Za-z0-9+:;<>&\"'@._ \u{e4}\u{f6}\u{fc}\u{20ac}\u{1F600}-]{1,24}";

fn edition() -> BoxedStrategy<Edition> {
    prop_oneof![
        select(Edition::STANDARD.to_vec()),
        (2u8..=3, 1u8..=15)
            .prop_map(|(base, level)| { Edition::Avaya(AvayaProtocol::new(base, level).unwrap()) }),
    ]
    .boxed()
}

fn device_id() -> BoxedStrategy<DeviceId> {
    let type_of_number = option::of(prop_oneof![
        select(TypeOfNumber::ALL.to_vec()),
        Just(TypeOfNumber::Other("deviceID".into())),
    ]);
    let attribute = option::of(("[a-z][a-zA-Z]{0,8}", TEXT));
    (TEXT, type_of_number, attribute)
        .prop_filter_map("valid device id", |(text, ton, attr)| {
            let mut id = DeviceId::new(text).ok()?;
            if let Some(ton) = ton {
                id = id.with_type_of_number(ton);
            }
            match attr {
                Some((name, value)) if name != "typeOfNumber" && !name.starts_with("xmlns") => {
                    id.with_attribute(name, value).ok()
                }
                _ => Some(id),
            }
        })
        .boxed()
}

fn call_id() -> BoxedStrategy<CallId> {
    TEXT.prop_filter_map("valid call id", |text| CallId::new(text).ok())
        .boxed()
}

fn connection() -> BoxedStrategy<ConnectionId> {
    let device = prop_oneof![
        device_id().prop_map(LocalDeviceId::Static),
        TEXT.prop_filter_map("valid dynamic id", |text| {
            DynamicDeviceId::new(text).ok().map(LocalDeviceId::Dynamic)
        }),
    ];
    (option::of(call_id()), option::of(device))
        .prop_filter_map("call or device", |(call, device)| {
            ConnectionId::new(call, device).ok()
        })
        .boxed()
}

fn device_ref() -> BoxedStrategy<DeviceRef> {
    prop_oneof![
        4 => device_id().prop_map(DeviceRef::Identifier),
        1 => Just(DeviceRef::NotKnown),
        1 => Just(DeviceRef::Restricted),
    ]
    .boxed()
}

fn redirection() -> BoxedStrategy<RedirectionDevice> {
    prop_oneof![
        device_id().prop_map(RedirectionDevice::NumberDialed),
        Just(RedirectionDevice::NotKnown),
        Just(RedirectionDevice::NotRequired),
        Just(RedirectionDevice::NotSpecified),
        Just(RedirectionDevice::Restricted),
    ]
    .boxed()
}

fn cause() -> BoxedStrategy<EventCause> {
    prop_oneof![
        8 => select(EventCause::ALL.to_vec()),
        1 => "[a-zA-Z]{1,12}".prop_map(|text| EventCause::parse(&text)),
    ]
    .boxed()
}

fn state() -> BoxedStrategy<LocalConnectionState> {
    select(LocalConnectionState::ALL.to_vec()).boxed()
}

/// The flags of `all` whose bit is set in `bits`.
fn pick<T: Copy, S: FromIterator<T>>(all: &[T], bits: u64) -> S {
    all.iter()
        .enumerate()
        .filter(|(at, _)| bits & (1 << at) != 0)
        .map(|(_, flag)| *flag)
        .collect()
}

fn services() -> BoxedStrategy<ServicesPermitted> {
    any::<[u64; 5]>()
        .prop_map(|bits| ServicesPermitted {
            call_control: pick(CallControlService::ALL, bits[0]),
            call_associated: pick(CallAssociatedService::ALL, bits[1]),
            media_attachment: pick(MediaAttachmentService::ALL, bits[2]),
            routeing: pick(RouteingService::ALL, bits[3]),
            voice: pick(VoiceService::ALL, bits[4]),
        })
        .boxed()
}

fn raw_xml() -> BoxedStrategy<RawXml> {
    (TEXT, "[a-z]{1,6}")
        .prop_map(|(text, name)| {
            let mut escaped = String::new();
            for ch in text.chars() {
                match ch {
                    '<' => escaped.push_str("&lt;"),
                    '&' => escaped.push_str("&amp;"),
                    other => escaped.push(other),
                }
            }
            RawXml::new(format!(
                "<p:{name} xmlns:p=\"urn:x\" a=\"1\">{escaped}</p:{name}><e/>"
            ))
            .unwrap()
        })
        .boxed()
}

fn extensions() -> BoxedStrategy<Option<Extensions>> {
    option::of(prop_oneof![
        raw_xml().prop_map(Extensions::private),
        "[0-9A-F]{2,8}".prop_map(|hex| Extensions {
            private_data: Some(PrivateData::String(hex)),
        }),
    ])
    .boxed()
}

fn user_data() -> BoxedStrategy<Option<UserData>> {
    option::of(prop_oneof![
        "[0-9A-F]{2,16}".prop_map(UserData::String),
        raw_xml().prop_map(UserData::Private),
    ])
    .boxed()
}

fn linkage() -> BoxedStrategy<Option<CallLinkageData>> {
    option::of(
        (option::of("[a-z]{1,8}"), "[0-9A-F]{2,32}", any::<bool>()).prop_map(
            |(domain, id, global)| CallLinkageData {
                switching_sub_domain_name: domain,
                linkage_id: if global {
                    CallLinkageId::GloballyUnique(id)
                } else {
                    CallLinkageId::SubDomain(id)
                },
            },
        ),
    )
    .boxed()
}

fn make_call() -> BoxedStrategy<Message> {
    (
        device_id(),
        device_id(),
        option::of("[0-9A-F]{2,8}"),
        option::of(select(AutoOriginate::ALL.to_vec())),
        user_data(),
        user_data(),
        extensions(),
    )
        .prop_map(
            |(calling, called, account, auto, correlator, user, extensions)| {
                MakeCall {
                    account_code: account,
                    auto_originate: auto,
                    correlator_data: correlator,
                    user_data: user,
                    extensions,
                    ..MakeCall::new(calling, called)
                }
                .into()
            },
        )
        .boxed()
}

fn monitor_start() -> BoxedStrategy<Message> {
    let object = prop_oneof![
        device_id().prop_map(MonitorObject::Device),
        connection().prop_map(MonitorObject::Call),
    ];
    let filter = option::of((any::<u64>(), any::<u64>(), any::<bool>()).prop_map(
        |(call_control, logical, maintenance)| MonitorFilter {
            call_control: Some(pick(CallControlFilterItem::ALL, call_control)),
            logical_device_feature: Some(pick(LogicalDeviceFeatureFilterItem::ALL, logical)),
            maintenance: maintenance.then(MaintenanceFilter::all),
            ..MonitorFilter::default()
        },
    ));
    (
        object,
        filter,
        option::of(select(MonitorType::ALL.to_vec())),
        extensions(),
    )
        .prop_map(
            |(monitor_object, requested_monitor_filter, monitor_type, extensions)| {
                MonitorStart {
                    monitor_object,
                    requested_monitor_filter,
                    monitor_type,
                    extensions,
                }
                .into()
            },
        )
        .boxed()
}

fn monitor_id() -> BoxedStrategy<MonitorCrossRefId> {
    TEXT.prop_filter_map("valid monitor id", |text| MonitorCrossRefId::new(text).ok())
        .boxed()
}

fn event(event: impl Strategy<Value = Event> + 'static) -> BoxedStrategy<Message> {
    (monitor_id(), event)
        .prop_map(|(monitor_cross_ref_id, event)| {
            Message::Event(CstaEvent {
                monitor_cross_ref_id,
                event,
            })
        })
        .boxed()
}

fn delivered() -> BoxedStrategy<Message> {
    let parties = (connection(), device_ref(), device_ref(), device_ref());
    let details = (
        option::of(redirection()),
        option::of(connection()),
        option::of(state()),
        user_data(),
        cause(),
        option::of(services()),
        option::of(device_ref()),
        linkage(),
        extensions(),
    );
    event(
        (parties, details).prop_map(|((connection, alerting, calling, called), details)| {
            let (redirection, nid, state, user, cause, services, network, linkage, extensions) =
                details;
            Event::Delivered(DeliveredEvent {
                connection,
                alerting_device: alerting,
                calling_device: calling,
                called_device: called,
                last_redirection_device: redirection,
                originating_nid_connection: nid,
                local_connection_info: state,
                correlator_data: None,
                user_data: user,
                cause,
                services_permitted: services,
                network_calling_device: network,
                network_called_device: None,
                associated_calling_device: None,
                associated_called_device: None,
                call_linkage_data: linkage,
                extensions,
            })
        }),
    )
    .boxed()
}

fn established() -> BoxedStrategy<Message> {
    let parties = (connection(), device_ref(), device_ref(), device_ref());
    let details = (
        option::of(redirection()),
        option::of(connection()),
        option::of(state()),
        user_data(),
        cause(),
        option::of(services()),
        option::of(device_ref()),
        linkage(),
        extensions(),
    );
    event(
        (parties, details).prop_map(|((connection, answering, calling, called), details)| {
            let (redirection, nid, state, correlator, cause, services, associated, linkage, ext) =
                details;
            Event::Established(EstablishedEvent {
                established_connection: connection,
                answering_device: answering,
                calling_device: calling,
                called_device: called,
                last_redirection_device: redirection,
                originating_nid_connection: nid,
                local_connection_info: state,
                correlator_data: correlator,
                user_data: None,
                cause,
                services_permitted: services,
                network_calling_device: None,
                network_called_device: None,
                associated_calling_device: associated,
                associated_called_device: None,
                call_linkage_data: linkage,
                extensions: ext,
            })
        }),
    )
    .boxed()
}

fn connection_item() -> BoxedStrategy<ConnectionListItem> {
    let endpoint = option::of(prop_oneof![
        device_id().prop_map(Endpoint::Device),
        Just(Endpoint::NotKnown),
        Just(Endpoint::Restricted),
    ]);
    (
        option::of(connection()),
        option::of(connection()),
        endpoint,
        option::of(device_id()),
    )
        .prop_map(
            |(new_connection, old_connection, endpoint, associated_nid)| ConnectionListItem {
                new_connection,
                old_connection,
                endpoint,
                associated_nid,
            },
        )
        .boxed()
}

fn transfered() -> BoxedStrategy<Message> {
    (
        (
            connection(),
            option::of(connection()),
            device_ref(),
            device_ref(),
        ),
        vec(connection_item(), 0..4),
        option::of(state()),
        cause(),
        extensions(),
    )
        .prop_map(
            |((primary, secondary, from, to), connections, state, cause, extensions)| {
                Event::Transfered(TransferedEvent {
                    primary_old_call: primary,
                    secondary_old_call: secondary,
                    transferring_device: from,
                    transferred_to_device: to,
                    transferred_connections: connections,
                    local_connection_info: state,
                    correlator_data: None,
                    user_data: None,
                    cause,
                    services_permitted: None,
                    call_linkage_data_list: None,
                    extensions,
                })
            },
        )
        .prop_flat_map(|transfered| event(Just(transfered)))
        .boxed()
}

fn snapshot_device_response() -> BoxedStrategy<Message> {
    let call_state = prop_oneof![
        vec(state(), 0..4).prop_map(LocalCallState::Compound),
        select(SimpleCallState::ALL.to_vec()).prop_map(LocalCallState::Simple),
        Just(LocalCallState::Unknown),
    ];
    let info = (
        connection(),
        option::of(device_ref()),
        call_state,
        option::of(services()),
        linkage(),
    )
        .prop_map(|(connection, endpoint, state, services, linkage)| {
            SnapshotDeviceResponseInfo {
                connection_identifier: connection,
                endpoint_device: endpoint,
                local_call_state: state,
                services_permitted: services,
                call_linkage_data: linkage,
            }
        });
    let result = prop_oneof![
        vec(info, 0..4).prop_map(SnapshotResult::Data),
        TEXT.prop_filter_map("valid cross ref", |text| {
            csta::ids::ServiceCrossRefId::new(text)
                .ok()
                .map(SnapshotResult::ServiceCrossRef)
        }),
    ];
    (result, extensions())
        .prop_map(|(result, extensions)| {
            SnapshotDeviceResponse {
                cross_ref_id_or_snapshot_data: result,
                extensions,
            }
            .into()
        })
        .boxed()
}

fn error_code() -> BoxedStrategy<Message> {
    prop_oneof![
        select(OperationError::ALL.to_vec()).prop_map(CstaErrorCode::Operation),
        select(SecurityError::ALL.to_vec()).prop_map(CstaErrorCode::Security),
        select(StateIncompatibilityError::ALL.to_vec())
            .prop_map(CstaErrorCode::StateIncompatibility),
        select(SystemResourceAvailabilityError::ALL.to_vec())
            .prop_map(CstaErrorCode::SystemResourceAvailability),
        select(SubscribedResourceAvailabilityError::ALL.to_vec())
            .prop_map(CstaErrorCode::SubscribedResourceAvailability),
        select(PerformanceManagementError::ALL.to_vec())
            .prop_map(CstaErrorCode::PerformanceManagement),
        select(PrivateDataError::ALL.to_vec()).prop_map(CstaErrorCode::PrivateData),
        "[a-zA-Z]{1,12}".prop_map(|value| CstaErrorCode::Operation(OperationError::parse(&value))),
        "[A-Za-z ]{1,12}[A-Za-z]".prop_map(CstaErrorCode::PrivateErrorCode),
        Just(CstaErrorCode::Unspecified),
    ]
    .prop_map(Message::from)
    .boxed()
}

fn start_application_session() -> BoxedStrategy<Message> {
    let credentials = (
        "[a-zA-Z0-9_&<]{1,12}",
        "[ -~]{1,12}",
        option::of(0u32..3600),
        any::<bool>(),
    )
        .prop_map(|(user, password, delay, avaya)| {
            let password = password.trim().to_owned();
            (
                Credentials {
                    user,
                    password,
                    session_cleanup_delay: if avaya { delay } else { None },
                    session_id: None,
                },
                avaya,
            )
        });
    (
        "[A-Za-z0-9 -]{0,10}[A-Za-z0-9]",
        option::of(credentials),
        vec(
            edition().prop_map(|edition| edition.namespace().to_owned()),
            0..3,
        ),
        option::of(1u32..100_000),
    )
        .prop_map(|(application_id, login, versions, duration)| {
            let info = login.map(|(credentials, avaya)| {
                if avaya {
                    credentials.to_avaya_xml()
                } else {
                    credentials.to_plain_xml()
                }
            });
            StartApplicationSession {
                application_info: ApplicationInfo {
                    application_id,
                    application_specific_info: info,
                },
                requested_protocol_versions: versions,
                requested_session_duration: duration,
                extensions: None,
            }
            .into()
        })
        .boxed()
}

fn main_message() -> BoxedStrategy<Message> {
    prop_oneof![
        make_call(),
        monitor_start(),
        delivered(),
        established(),
        transfered(),
        snapshot_device_response(),
        error_code(),
        start_application_session(),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn main_messages_round_trip(message in main_message(), edition in edition()) {
        let bytes = message.to_bytes(&edition);
        prop_assert!(bytes.is_ascii());
        let decoded = Message::decode(&bytes);
        prop_assert!(decoded.is_ok(), "{:?}: {}", decoded, String::from_utf8_lossy(&bytes));
        prop_assert_eq!(decoded.unwrap().message, message);
    }

    #[test]
    fn credentials_survive_a_round_trip(message in start_application_session()) {
        let Message::StartApplicationSession(start) = &message else { unreachable!() };
        let bytes = message.to_bytes(&Edition::Ed3);
        let Message::StartApplicationSession(back) = Message::decode(&bytes).unwrap().message
        else {
            panic!("wrong message")
        };
        prop_assert_eq!(back.credentials(), start.credentials());
    }

    #[test]
    fn framed_messages_survive_any_split(
        messages in vec(main_message(), 1..4),
        cuts in vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut stream = Vec::new();
        for (at, message) in messages.iter().enumerate() {
            let invoke_id = InvokeId::new(at as u16 + 1).unwrap();
            frame::encode_message(invoke_id, message, &Edition::Ed3, &mut stream).unwrap();
        }
        // Feed the stream in pieces, as TCP would deliver it.
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len())).collect();
        points.push(stream.len());
        points.sort_unstable();
        let mut buffer = Vec::new();
        let mut received = Vec::new();
        let mut fed = 0;
        for point in points {
            buffer.extend_from_slice(&stream[fed..point]);
            fed = point;
            while let Some(frame) = frame::decode(&buffer, frame::MAX_FRAME_LEN).unwrap() {
                received.push((frame.invoke_id, Message::decode(frame.body).unwrap().message));
                let len = frame.len;
                buffer.drain(..len);
            }
        }
        prop_assert!(buffer.is_empty());
        prop_assert_eq!(received.len(), messages.len());
        for (at, ((invoke_id, message), sent)) in received.iter().zip(&messages).enumerate() {
            prop_assert_eq!(usize::from(invoke_id.value()), at + 1);
            prop_assert_eq!(message, sent);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        let _ = Message::decode(&bytes);
        let _ = frame::decode(&bytes, frame::MAX_FRAME_LEN);
        let _ = frame::decode(&bytes, 64);
    }

    #[test]
    fn xml_like_input_never_panics_and_is_stable(text in "[<>/=\"' a-zA-Z:&#;0-9?!\\[\\]-]{0,400}") {
        check_stable(text.as_bytes())?;
    }

    #[test]
    fn truncated_messages_never_panic(message in main_message(), cut in any::<prop::sample::Index>()) {
        let mut framed = Vec::new();
        frame::encode_message(InvokeId::EVENT, &message, &Edition::Ed6, &mut framed).unwrap();
        let cut = cut.index(framed.len());
        prop_assert_eq!(frame::decode(&framed[..cut], frame::MAX_FRAME_LEN), Ok(None));
        let body = &framed[frame::HEADER_LEN.min(cut)..cut];
        check_stable(body)?;
    }

    #[test]
    fn mutated_messages_decode_stably(
        message in main_message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = message.to_bytes(&Edition::Ed3);
        for (at, byte) in flips {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        check_stable(&bytes)?;
    }
}

/// The fuzz property: whatever decodes, encodes to something that decodes to the same value.
fn check_stable(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(first) = Message::decode(bytes) {
        let edition = first.edition.unwrap_or_default();
        let encoded = first.message.to_bytes(&edition);
        prop_assert!(encoded.is_ascii());
        let second = Message::decode(&encoded);
        prop_assert!(
            second.is_ok(),
            "{:?}: {}",
            second,
            String::from_utf8_lossy(&encoded)
        );
        prop_assert_eq!(second.unwrap().message, first.message);
    }
    Ok(())
}

/// Inputs the fuzzer found; each one once broke a property.
mod regressions {
    use super::*;

    fn stable(bytes: &[u8]) {
        check_stable(bytes).unwrap();
    }

    #[test]
    fn non_ascii_in_private_markup_is_stable() {
        stable(
            "<RequestSystemStatus><extensions><privateData><private><x a=\"\u{feff}\u{1b}\"/>\
             \u{e9}</private></privateData></extensions></RequestSystemStatus>"
                .as_bytes(),
        );
    }

    #[test]
    fn illegal_characters_after_a_child_element_are_rejected() {
        let input = "<RequestSystemStatus><extensions><privateData><private><a/>\u{ffff}\
                     </private></privateData></extensions></RequestSystemStatus>";
        assert!(matches!(
            Message::decode(input.as_bytes()),
            Err(csta::Error::IllegalChar { code: 0xFFFF, .. })
        ));
    }

    #[test]
    fn byte_order_mark_before_a_nameless_tag_does_not_panic() {
        let input = b"\xef\xbb\xbfkl\x00%dd<\xef\xbb\xbf\x00\x00\x09\x09\x09\x09\x09\x09\x09\x09\
                      \x09\x09\x09Ainterna}io\x09\x09\x09\x0d\x090\x09\x09\x09\x09\x09\
                      dddddddddddddd)ve/>\x0a";
        stable(input);
        let _ = frame::decode(input, frame::MAX_FRAME_LEN);
    }
}
