//! CSTA services: each request checked against the client's rights, answered from the registry
//! or carried out through the PBX link that owns the device.

use std::time::Instant;

use csta::error_code::{
    CstaErrorCode, OperationError as Op, StateIncompatibilityError as State,
    SubscribedResourceAvailabilityError as Subscribed, SystemResourceAvailabilityError as Resource,
};
use csta::escape::EscapeResponse;
use csta::ids::{ConnectionId, DeviceId as CstaDeviceId, MonitorCrossRefId, ServiceCrossRefId};
use csta::logical::{
    ForwardListItem, GetDoNotDisturbResponse, GetForwardingResponse, SetDoNotDisturbResponse,
    SetForwardingResponse,
};
use csta::message::Message;
use csta::monitoring::{MonitorObject, MonitorStartResponse, MonitorStopResponse};
use csta::snapshot::{
    SnapshotCallResponse, SnapshotCallResponseInfo, SnapshotDeviceResponse,
    SnapshotDeviceResponseInfo, SnapshotResult,
};
use csta::system::{
    DeviceListItem, GetLogicalDeviceInformationResponse, GetPhysicalDeviceInformationResponse,
    GetSwitchingFunctionDevicesResponse, RequestSystemStatusResponse, SwitchingFunctionDevices,
    SystemRegisterResponse, SystemStatusResponse,
};
use csta::types::{DeviceCategory, Extensions, LocalCallState, RawXml};
use pbx_soap::client::{Destination as PbxDestination, PickupTarget};
use pbx_soap::records::Presence;

use super::connection::Connection;
use super::convert;
use super::features;
use super::monitors::Monitor;
use crate::bridge::{LegHandle, SiteId};
use crate::config::Right;
use crate::events::{CallId, DeviceId, ForwardKind, LocalState};
use crate::numbers::{self, Destination};
use crate::pbx::{Link, SiteSession, admin};
use crate::registry::LineView;

/// The answer to a request and the server-initiated messages that follow it.
pub(super) struct Reply {
    pub(super) response: Message,
    pub(super) then: Vec<Message>,
}

impl From<Message> for Reply {
    fn from(response: Message) -> Self {
        Self {
            response,
            then: Vec::new(),
        }
    }
}

fn op(error: Op) -> CstaErrorCode {
    CstaErrorCode::Operation(error)
}

fn state(error: State) -> CstaErrorCode {
    CstaErrorCode::StateIncompatibility(error)
}

/// Devices per `SwitchingFunctionDevices` segment (about 200 bytes each with private data, so
/// a segment stays well below the 64 KiB frame limit).
const DEVICES_PER_SEGMENT: usize = 100;

/// Maps a PBX failure to the CSTA answer: the PBX being unreachable is a resource problem, a
/// refusal is the request's problem.
fn pbx_failure(error: &pbx_soap::error::Error) -> CstaErrorCode {
    use pbx_soap::error::Error as E;
    match error {
        E::Rejected { .. } => op(Op::RequestIncompatibleWithObject),
        E::Fault(_) => op(Op::Generic),
        _ => CstaErrorCode::SystemResourceAvailability(Resource::ResourceOutOfService),
    }
}

/// A leg of a monitored line in a call: what call control addresses.
struct Leg {
    line: LineView,
    link: Link,
    handle: LegHandle,
    local: LocalState,
    call: CallId,
}

impl Connection {
    /// Carries out one service request.
    pub(super) async fn service(&mut self, message: Message) -> Result<Reply, CstaErrorCode> {
        match message {
            Message::SystemRegister(_) => {
                self.registered = true;
                self.wants_device_changes = true;
                self.ensure_subscribed();
                let id = csta::ids::SysStatRegisterId::new(format!("{}", self.shared.next_id()))
                    .map_err(|_| op(Op::Generic))?;
                self.sys_stat_register_id = Some(id.clone());
                Ok(Message::from(SystemRegisterResponse {
                    sys_stat_register_id: id,
                    actual_status_filter: None,
                    extensions: None,
                })
                .into())
            }
            Message::SystemStatus(_) => Ok(Message::from(SystemStatusResponse::default()).into()),
            Message::RequestSystemStatus(_) => Ok(Message::from(RequestSystemStatusResponse {
                system_status: self.system_status(),
                extensions: None,
            })
            .into()),
            Message::GetCstaFeatures(_) => {
                Ok(Message::from(features::supported(self.conference_anywhere())).into())
            }
            Message::GetSwitchingFunctionDevices(request) => {
                self.wants_device_changes = true;
                self.ensure_subscribed();
                let category = request.requested_device_category;
                let wanted = request.requested_device_id.map(|id| id.as_str().to_owned());
                Ok(self.device_list(wanted.as_deref(), category))
            }
            Message::GetPhysicalDeviceInformation(request) => {
                let line = self.line(&request.device, Right::View)?;
                Ok(Message::from(GetPhysicalDeviceInformationResponse {
                    device_category: Some(category_of(&line)),
                    has_logical_element: Some(true),
                    device_model_name: None,
                    max_displays: None,
                    max_buttons: None,
                    max_lamps: None,
                    max_ring_patterns: None,
                    extensions: Some(line_private(&line)),
                })
                .into())
            }
            Message::GetLogicalDeviceInformation(request) => {
                let line = self.line(&request.device, Right::View)?;
                Ok(Message::from(GetLogicalDeviceInformationResponse {
                    device_category: Some(category_of(&line)),
                    short_form_device_id: CstaDeviceId::new(line.line.address.clone()).ok(),
                    has_physical_element: Some(true),
                    max_active_calls: None,
                    max_held_calls: None,
                    max_devices_in_conf: Some(3),
                    extensions: Some(line_private(&line)),
                })
                .into())
            }
            Message::MonitorStart(request) => {
                let MonitorObject::Device(device) = &request.monitor_object else {
                    return Err(op(Op::InvalidMonitorObject));
                };
                let line = self.line(device, Right::Monitor)?;
                if self.monitors.len() >= self.shared.sessions_config.max_monitors {
                    return Err(CstaErrorCode::SubscribedResourceAvailability(
                        Subscribed::ObjectMonitorLimitExceeded,
                    ));
                }
                let cross_ref = MonitorCrossRefId::new(format!("{}", self.shared.next_id()))
                    .map_err(|_| op(Op::Generic))?;
                let filter = request.requested_monitor_filter.unwrap_or_default();
                self.monitors.add(Monitor {
                    cross_ref: cross_ref.clone(),
                    device: line.line.device.clone(),
                    filter: filter.clone(),
                });
                self.ensure_subscribed();
                self.shared.metrics.monitor_started();
                Ok(Message::from(MonitorStartResponse {
                    monitor_cross_ref_id: cross_ref,
                    actual_monitor_filter: Some(filter),
                    monitor_existing_calls: Some(false),
                    extensions: None,
                })
                .into())
            }
            Message::MonitorStop(request) => {
                if self
                    .monitors
                    .remove(request.monitor_cross_ref_id.as_str())
                    .is_none()
                {
                    return Err(op(Op::InvalidMonitorCrossRefID));
                }
                self.release_subscription();
                Ok(Message::from(MonitorStopResponse::default()).into())
            }
            Message::SnapshotDevice(request) => {
                let line = self.line(&request.snapshot_object, Right::View)?;
                let conference = self.conference_offered(&line.line.device);
                let items = line
                    .calls
                    .iter()
                    .filter_map(|call| {
                        let own = call
                            .connections
                            .iter()
                            .find(|c| c.line.as_ref() == Some(&line.line.device))?;
                        let far = call
                            .connections
                            .iter()
                            .find(|c| c.line.as_ref() != Some(&line.line.device));
                        Some(SnapshotDeviceResponseInfo {
                            connection_identifier: convert::connection(
                                &call.id,
                                line.line.device.as_str(),
                            ),
                            endpoint_device: far.map(|c| convert::device_ref(&c.device)),
                            local_call_state: LocalCallState::Compound(vec![convert::local_state(
                                own.local,
                            )]),
                            services_permitted: Some(convert::services_permitted(
                                own.local, conference,
                            )),
                            call_linkage_data: convert::linkage(call.conf.as_deref()),
                        })
                    })
                    .collect();
                Ok(Message::from(SnapshotDeviceResponse {
                    cross_ref_id_or_snapshot_data: SnapshotResult::Data(items),
                    extensions: None,
                })
                .into())
            }
            Message::SnapshotCall(request) => {
                let call = request
                    .snapshot_object
                    .call
                    .as_ref()
                    .ok_or_else(|| op(Op::InvalidCallID))?;
                let (pbx, snapshot) = self
                    .shared
                    .registry
                    .call(call.as_str())
                    .ok_or_else(|| op(Op::InvalidCallID))?;
                let visible = snapshot.connections.iter().any(|connection| {
                    connection
                        .line
                        .as_ref()
                        .and_then(|device| self.shared.registry.line(device.as_str()))
                        .is_some_and(|line| self.allows(Right::View, &line))
                });
                if !visible {
                    return Err(op(Op::PrivilegeViolationSpecifiedDevice));
                }
                let conference = self
                    .shared
                    .link(&pbx)
                    .is_some_and(|link| !link.config().no_3pty);
                let items = snapshot
                    .connections
                    .iter()
                    .map(|connection| SnapshotCallResponseInfo {
                        device_on_call: Some(convert::device_ref(&connection.device)),
                        call_identifier: Some(match connection.device.id() {
                            Some(id) => convert::connection(&snapshot.id, id.as_str()),
                            None => ConnectionId {
                                call: Some(convert::call_id(&snapshot.id)),
                                device: None,
                            },
                        }),
                        local_connection_info: Some(convert::local_state(connection.local)),
                        services_permitted: connection
                            .line
                            .as_ref()
                            .map(|_| convert::services_permitted(connection.local, conference)),
                    })
                    .collect();
                Ok(Message::from(SnapshotCallResponse {
                    cross_ref_id_or_snapshot_data: SnapshotResult::Data(items),
                    calling_device: None,
                    called_device: None,
                    associated_calling_device: None,
                    associated_called_device: None,
                    correlator_data: None,
                    call_linkage_data: convert::linkage(snapshot.conf.as_deref()),
                    extensions: None,
                })
                .into())
            }
            Message::MakeCall(request) => {
                let line = self.line(&request.calling_device, Right::Control)?;
                let destination =
                    destination(&request.called_directory_number, &line, &self.shared)?;
                let (link, site, user) = self.acting(&line)?;
                link.apply(|bridge| {
                    bridge.expect_make_call(&line.line.device, Instant::now());
                    ((), Vec::new(), Default::default())
                });
                let call = site
                    .client
                    .user_call(user, &destination, 0, "")
                    .await
                    .map_err(|error| pbx_failure(&error))?;
                let call_id = claim(
                    &link,
                    LegHandle {
                        site: site_id(&line),
                        user,
                        call,
                    },
                )?;
                Ok(Message::from(csta::call_control::MakeCallResponse {
                    calling_device: convert::connection(&call_id, line.line.device.as_str()),
                    call_linkage_data: None,
                    extensions: None,
                })
                .into())
            }
            Message::AnswerCall(request) => {
                let leg = self.leg(&request.call_to_be_answered, Right::Control)?;
                if leg.local != LocalState::Alerting {
                    return Err(state(State::NoCallToAnswer));
                }
                let site = self.site(&leg)?;
                site.client
                    .user_connect(leg.handle.call)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::AnswerCallResponse::default()).into())
            }
            Message::ClearConnection(request) => {
                let leg = self.leg(&request.connection_to_be_cleared, Right::Control)?;
                let site = self.site(&leg)?;
                site.client
                    .user_clear(leg.handle.call, 16)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::ClearConnectionResponse::default()).into())
            }
            Message::ClearCall(request) => {
                let call = request
                    .call_to_be_cleared
                    .call
                    .as_ref()
                    .ok_or_else(|| op(Op::InvalidCallID))?;
                let (pbx, snapshot) = self
                    .shared
                    .registry
                    .call(call.as_str())
                    .ok_or_else(|| op(Op::InvalidCallID))?;
                let link = self
                    .shared
                    .link(&pbx)
                    .ok_or_else(|| op(Op::InvalidCallID))?
                    .clone();
                let mut cleared = 0;
                for connection in &snapshot.connections {
                    let (Some(device), Some(handle)) = (&connection.line, connection.handle) else {
                        continue;
                    };
                    let Some(line) = self.shared.registry.line(device.as_str()) else {
                        continue;
                    };
                    if !self.allows(Right::Control, &line) {
                        return Err(op(Op::PrivilegeViolationSpecifiedDevice));
                    }
                    let site = link.site(handle.site).ok_or_else(out_of_service)?;
                    site.client
                        .user_clear(handle.call, 16)
                        .await
                        .map_err(|e| pbx_failure(&e))?;
                    cleared += 1;
                }
                if cleared == 0 {
                    return Err(state(State::NoCallToClear));
                }
                Ok(Message::from(csta::call_control::ClearCallResponse::default()).into())
            }
            Message::HoldCall(request) => {
                let leg = self.leg(&request.call_to_be_held, Right::Control)?;
                if leg.local != LocalState::Connected {
                    return Err(state(State::InvalidConnectionState));
                }
                let site = self.site(&leg)?;
                let silent = leg.link.config().silent_hold;
                site.client
                    .user_hold(leg.handle.call, silent)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::HoldCallResponse::default()).into())
            }
            Message::RetrieveCall(request) => {
                let leg = self.leg(&request.call_to_be_retrieved, Right::Control)?;
                if leg.local != LocalState::Hold {
                    return Err(state(State::NoHeldCall));
                }
                let site = self.site(&leg)?;
                site.client
                    .user_retrieve(leg.handle.call)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::RetrieveCallResponse::default()).into())
            }
            Message::AlternateCall(request) => {
                let held = self.leg(&request.held_call, Right::Control)?;
                let active = self.leg(&request.active_call, Right::Control)?;
                same_device(&held, &active)?;
                let site = self.site(&active)?;
                let silent = active.link.config().silent_hold;
                site.client
                    .user_hold(active.handle.call, silent)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                site.client
                    .user_retrieve(held.handle.call)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::AlternateCallResponse::default()).into())
            }
            Message::ReconnectCall(request) => {
                let active = self.leg(&request.active_call, Right::Control)?;
                let held = self.leg(&request.held_call, Right::Control)?;
                same_device(&held, &active)?;
                let site = self.site(&active)?;
                site.client
                    .user_clear(active.handle.call, 16)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                site.client
                    .user_retrieve(held.handle.call)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::ReconnectCallResponse::default()).into())
            }
            Message::ConsultationCall(request) => {
                let existing = self.leg(&request.existing_call, Right::Control)?;
                let destination =
                    destination(&request.consulted_device, &existing.line, &self.shared)?;
                let (link, site, user) = self.acting(&existing.line)?;
                if existing.local == LocalState::Connected {
                    let silent = link.config().silent_hold;
                    site.client
                        .user_hold(existing.handle.call, silent)
                        .await
                        .map_err(|e| pbx_failure(&e))?;
                }
                link.apply(|bridge| {
                    bridge.expect_make_call(&existing.line.line.device, Instant::now());
                    ((), Vec::new(), Default::default())
                });
                let call = site
                    .client
                    .user_call(user, &destination, 0, "")
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                let call_id = claim(
                    &link,
                    LegHandle {
                        site: existing.handle.site,
                        user,
                        call,
                    },
                )?;
                Ok(Message::from(csta::call_control::ConsultationCallResponse {
                    initiated_call: convert::connection(
                        &call_id,
                        existing.line.line.device.as_str(),
                    ),
                    call_linkage_data: None,
                    extensions: None,
                })
                .into())
            }
            Message::TransferCall(request) => {
                let held = self.leg(&request.held_call, Right::Control)?;
                let active = self.leg(&request.active_call, Right::Control)?;
                same_device(&held, &active)?;
                let site = self.site(&active)?;
                site.client
                    .user_transfer(held.handle.call, active.handle.call)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::TransferCallResponse {
                    transferred_call: ConnectionId {
                        call: Some(convert::call_id(&held.call)),
                        device: None,
                    },
                    connections: None,
                    call_linkage_data_list: None,
                    extensions: None,
                })
                .into())
            }
            Message::SingleStepTransferCall(request) => {
                let leg = self.leg(&request.active_call, Right::Control)?;
                let destination = destination(&request.transferred_to, &leg.line, &self.shared)?;
                let site = self.site(&leg)?;
                let moved = site
                    .client
                    .user_redirect(leg.handle.call, &destination, 0)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                if !moved {
                    return Err(op(Op::InvalidDestination));
                }
                Ok(
                    Message::from(csta::call_control::SingleStepTransferCallResponse {
                        transferred_call: ConnectionId {
                            call: Some(convert::call_id(&leg.call)),
                            device: None,
                        },
                        connections: None,
                        call_linkage_data_list: None,
                        extensions: None,
                    })
                    .into(),
                )
            }
            Message::DeflectCall(request) => {
                let leg = self.leg(&request.call_to_be_diverted, Right::Control)?;
                if leg.local != LocalState::Alerting {
                    return Err(state(State::InvalidConnectionState));
                }
                let destination = destination(&request.new_destination, &leg.line, &self.shared)?;
                let site = self.site(&leg)?;
                let moved = site
                    .client
                    .user_redirect(leg.handle.call, &destination, 0)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                if !moved {
                    return Err(op(Op::InvalidDestination));
                }
                Ok(Message::from(csta::call_control::DeflectCallResponse::default()).into())
            }
            Message::ConferenceCall(request) => {
                let held = self.leg(&request.held_call, Right::Control)?;
                let active = self.leg(&request.active_call, Right::Control)?;
                same_device(&held, &active)?;
                if active.link.config().no_3pty {
                    return Err(op(Op::ServiceNotSupported));
                }
                let site = self.site(&active)?;
                // Remote-control code 4 toggles the phone's three-party conference of the active
                // call and one held call.
                site.client
                    .user_rc(active.handle.call, 4)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::ConferenceCallResponse {
                    conference_call: ConnectionId {
                        call: Some(convert::call_id(&active.call)),
                        device: None,
                    },
                    connections: None,
                    call_linkage_data_list: None,
                    extensions: None,
                })
                .into())
            }
            Message::GenerateDigits(request) => {
                let leg = self.leg(&request.connection_to_send_digits, Right::Control)?;
                if leg.local != LocalState::Connected {
                    return Err(state(State::InvalidConnectionState));
                }
                if request.characters_to_send.is_empty()
                    || !request
                        .characters_to_send
                        .chars()
                        .all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c))
                {
                    return Err(op(Op::InvalidParameterValue));
                }
                let site = self.site(&leg)?;
                site.client
                    .user_dtmf(leg.handle.call, false, &request.characters_to_send)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::GenerateDigitsResponse::default()).into())
            }
            Message::GroupPickupCall(request) => {
                let line = self.line(&request.new_destination, Right::Control)?;
                let (_link, site, user) = self.acting(&line)?;
                let target = match &request.pick_group {
                    Some(group) => PickupTarget::Group(group.as_str().to_owned()),
                    None => PickupTarget::Implicit,
                };
                let call = site
                    .client
                    .user_pickup(user, &target)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                let _ = call;
                Ok(Message::from(csta::call_control::GroupPickupCallResponse {
                    picked_call: None,
                    extensions: None,
                })
                .into())
            }
            Message::DirectedPickupCall(request) => {
                let line = self.line(&request.requesting_device, Right::Control)?;
                let (link, site, user) = self.acting(&line)?;
                let victim = request.call_to_be_picked_up;
                // The PBX picks up by call handle (of a leg it reports to this session) or by
                // the long name of the ringing object; it has no pickup by number.
                let target = match self.leg(&victim, Right::View) {
                    Ok(leg)
                        if leg.link.pbx() == link.pbx() && leg.handle.site == site_id(&line) =>
                    {
                        PickupTarget::Call(leg.handle.call)
                    }
                    _ => match victim
                        .device
                        .as_ref()
                        .and_then(|device| self.shared.registry.line(device.as_str()))
                    {
                        Some(victim_line) if victim_line.pbx == line.pbx => {
                            PickupTarget::Cn(victim_line.line.cn.clone())
                        }
                        _ => return Err(op(Op::RequestIncompatibleWithObject)),
                    },
                };
                site.client
                    .user_pickup(user, &target)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(
                    Message::from(csta::call_control::DirectedPickupCallResponse {
                        picked_call: None,
                        extensions: None,
                    })
                    .into(),
                )
            }
            Message::ParkCall(request) => {
                let leg = self.leg(&request.parking, Right::Control)?;
                let target = match self.shared.registry.line(request.park_to.as_str()) {
                    Some(view) if view.pbx == leg.line.pbx => view.line.cn.clone(),
                    _ if request.park_to.as_str() == leg.line.line.device.as_str() => String::new(),
                    _ => return Err(op(Op::InvalidParkToObjectType)),
                };
                let site = self.site(&leg)?;
                site.client
                    .user_park(leg.handle.call, &target, -1)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                Ok(Message::from(csta::call_control::ParkCallResponse {
                    parked_to: None,
                    extensions: None,
                })
                .into())
            }
            Message::SetForwarding(request) => {
                let line = self.line(&request.device, Right::Forward)?;
                let kind = match &request.forwarding_type {
                    None => ForwardKind::Immediate,
                    Some(kind) => {
                        convert::forward_kind(kind).ok_or_else(|| op(Op::InvalidForwardingType))?
                    }
                };
                let target = match (&request.forward_dn, request.activate_forward) {
                    (Some(dn), true) => Some(match numbers::parse_destination(dn.as_str()) {
                        Ok(Destination::Number(number)) => numbers::international_to_dialable(
                            &number,
                            &self.link_of(&line)?.config().numbering,
                        ),
                        Ok(Destination::Name(name)) => name,
                        Err(_) => return Err(op(Op::InvalidForwardingDestination)),
                    }),
                    (None, true) => return Err(op(Op::InvalidForwardingDestination)),
                    (_, false) => None,
                };
                self.set_forward(&line, kind, target.as_deref()).await?;
                Ok(Message::from(SetForwardingResponse::default()).into())
            }
            Message::GetForwarding(request) => {
                let line = self.line(&request.device, Right::View)?;
                let items = [
                    ForwardKind::Immediate,
                    ForwardKind::Busy,
                    ForwardKind::NoAnswer,
                ]
                .into_iter()
                .map(|kind| {
                    let to = line.line.forwards.get(&kind);
                    ForwardListItem {
                        forwarding_type: Some(convert::forwarding_type(kind)),
                        forward_status: to.is_some(),
                        forward_dn: to.map(|to| convert::device_id(to)),
                        forward_default: None,
                        ring_count: None,
                        ring_duration: None,
                    }
                })
                .collect();
                Ok(Message::from(GetForwardingResponse {
                    forwarding_list: Some(items),
                    extensions: None,
                })
                .into())
            }
            Message::SetDoNotDisturb(request) => {
                let line = self.line(&request.device, Right::Forward)?;
                let link = self.link_of(&line)?;
                let site = link.site(SiteId::MASTER).ok_or_else(out_of_service)?;
                let (guid, h323) = link.read(|bridge| {
                    bridge
                        .object(&line.line.cn)
                        .map(|object| (object.guid.clone(), object.h323.clone()))
                        .unwrap_or_default()
                });
                let presence = Presence {
                    status: Some(pbx_soap::records::PresenceStatus::Open),
                    activity: request.do_not_disturb_on.then(|| "dnd".to_owned()),
                    note: None,
                };
                let guid = if guid.is_empty() {
                    "*".to_owned()
                } else {
                    guid
                };
                let done = site
                    .client
                    .set_presence(&presence, false, "", &guid, &h323)
                    .await
                    .map_err(|e| pbx_failure(&e))?;
                if !done {
                    return Err(op(Op::RequestIncompatibleWithObject));
                }
                Ok(Message::from(SetDoNotDisturbResponse::default()).into())
            }
            Message::GetDoNotDisturb(request) => {
                let line = self.line(&request.device, Right::View)?;
                Ok(Message::from(GetDoNotDisturbResponse {
                    do_not_disturb_on: line.line.dnd,
                    call_origination: None,
                    calling_device_list: None,
                    extensions: None,
                })
                .into())
            }
            Message::Escape(_) => Err(op(Op::ServiceNotSupported)),
            Message::EscapeResponse(EscapeResponse { .. }) => Err(op(Op::ServiceNotSupported)),
            _ => Err(op(Op::ServiceNotSupported)),
        }
    }

    /// Whether the user holds `right` on a line.
    pub(super) fn allows(&self, right: Right, line: &LineView) -> bool {
        self.identity
            .user()
            .is_some_and(|user| user.allows(right, line.line.device.as_str(), &line.line.groups))
    }

    /// Finds the line a client names, in any of the accepted forms, and checks the right.
    fn line(&self, id: &CstaDeviceId, right: Right) -> Result<LineView, CstaErrorCode> {
        let line = self
            .shared
            .find_line(id.as_str())
            .ok_or_else(|| op(Op::InvalidDeviceID))?;
        if !self.allows(right, &line) {
            return Err(op(Op::PrivilegeViolationSpecifiedDevice));
        }
        Ok(line)
    }

    fn link_of(&self, line: &LineView) -> Result<Link, CstaErrorCode> {
        self.shared
            .link(&line.pbx)
            .cloned()
            .ok_or_else(|| op(Op::InvalidDeviceID))
    }

    /// The link, site session and user handle that act for a line.
    fn acting(&self, line: &LineView) -> Result<(Link, SiteSession, i32), CstaErrorCode> {
        let link = self.link_of(line)?;
        let (site, user) = link
            .read(|bridge| bridge.user_handle(&line.line.device))
            .ok_or_else(out_of_service)?;
        let session = link.site(site).ok_or_else(out_of_service)?;
        Ok((link, session, user))
    }

    /// Resolves a connection to a leg of a monitored line.
    fn leg(&self, connection: &ConnectionId, right: Right) -> Result<Leg, CstaErrorCode> {
        let device = connection
            .device
            .as_ref()
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        let call = connection
            .call
            .as_ref()
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        let line = self
            .shared
            .find_line(device.as_str())
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        if !self.allows(right, &line) {
            return Err(op(Op::PrivilegeViolationSpecifiedDevice));
        }
        let call_id = CallId::new(call.as_str());
        let snapshot = line
            .calls
            .iter()
            .find(|snapshot| snapshot.id == call_id)
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        let own = snapshot
            .connections
            .iter()
            .find(|c| c.line.as_ref() == Some(&line.line.device))
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        let handle = own.handle.ok_or_else(|| op(Op::InvalidConnectionID))?;
        let local = own.local;
        let link = self.link_of(&line)?;
        Ok(Leg {
            line,
            link,
            handle,
            local,
            call: call_id,
        })
    }

    fn site(&self, leg: &Leg) -> Result<SiteSession, CstaErrorCode> {
        leg.link.site(leg.handle.site).ok_or_else(out_of_service)
    }

    /// Whether ConferenceCall is offered for a device (its PBX allows the phones' 3PTY).
    pub(super) fn conference_offered(&self, device: &DeviceId) -> bool {
        self.shared
            .registry
            .line(device.as_str())
            .and_then(|line| {
                self.shared
                    .link(&line.pbx)
                    .map(|link| !link.config().no_3pty)
            })
            .unwrap_or(false)
    }

    fn conference_anywhere(&self) -> bool {
        self.shared
            .links
            .values()
            .any(|link| !link.config().no_3pty)
    }

    async fn set_forward(
        &self,
        line: &LineView,
        kind: ForwardKind,
        target: Option<&str>,
    ) -> Result<(), CstaErrorCode> {
        let link = self.link_of(line)?;
        let site = link.site(SiteId::MASTER).ok_or_else(out_of_service)?;
        let cn = &line.line.cn;
        let cleared = site
            .client
            .admin(&admin::clear(cn, kind))
            .await
            .map_err(|e| pbx_failure(&e))?;
        if !admin::is_ok(&cleared) {
            return Err(op(Op::RequestIncompatibleWithObject));
        }
        if let Some(target) = target {
            let answer = site
                .client
                .admin(&admin::set(cn, kind, target))
                .await
                .map_err(|e| pbx_failure(&e))?;
            if !admin::is_ok(&answer) {
                return Err(op(Op::InvalidForwardingDestination));
            }
        }
        // The PBX posts `cfg` for the change; read the result back now so that GetForwarding
        // right after this answer sees it.
        if let Ok(show) = site.client.admin(&admin::show(cn)).await {
            let forwards = admin::forwards(&show);
            link.apply(|bridge| ((), bridge.set_forwards(cn, forwards), Default::default()));
        }
        Ok(())
    }

    /// The device list: a response with a cross reference, then the segments.
    fn device_list(&self, wanted: Option<&str>, category: Option<DeviceCategory>) -> Reply {
        let lines: Vec<LineView> = self
            .shared
            .registry
            .lines()
            .into_iter()
            .filter(|line| self.allows(Right::View, line))
            .filter(|line| wanted.is_none_or(|wanted| line.line.device.as_str() == wanted))
            .filter(|line| {
                category
                    .as_ref()
                    .is_none_or(|category| *category == category_of(line))
            })
            .collect();
        let id = self.shared.next_id();
        let cross_ref = ServiceCrossRefId::new(format!("{id}")).unwrap_or_else(|_| {
            // Decimal digits are a valid cross reference.
            ServiceCrossRefId::new("0").expect("\"0\" is a valid cross reference")
        });
        let chunks: Vec<&[LineView]> = if lines.is_empty() {
            vec![&[]]
        } else {
            lines.chunks(DEVICES_PER_SEGMENT).collect()
        };
        let count = chunks.len();
        let then = chunks
            .into_iter()
            .enumerate()
            .map(|(index, chunk)| {
                let items = chunk
                    .iter()
                    .map(|line| DeviceListItem {
                        device_id: convert::device_id(line.line.device.as_str()),
                        device_category: Some(category_of(line)),
                        device_model_name: None,
                    })
                    .collect::<Vec<_>>();
                Message::from(SwitchingFunctionDevices {
                    service_cross_ref_id: cross_ref.clone(),
                    segment_id: Some(u32::try_from(index + 1).unwrap_or(u32::MAX)),
                    last_segment: index + 1 == count,
                    device_list: Some(items),
                    extensions: Some(devices_private(chunk)),
                })
            })
            .collect();
        Reply {
            response: Message::from(GetSwitchingFunctionDevicesResponse {
                service_cross_ref_id: cross_ref,
                extensions: None,
            }),
            then,
        }
    }
}

fn out_of_service() -> CstaErrorCode {
    CstaErrorCode::SystemResourceAvailability(Resource::ResourceOutOfService)
}

fn site_id(line: &LineView) -> SiteId {
    line.line.site
}

fn same_device(a: &Leg, b: &Leg) -> Result<(), CstaErrorCode> {
    if a.line.line.device != b.line.line.device {
        return Err(op(Op::NotSameDevice));
    }
    Ok(())
}

fn claim(link: &Link, handle: LegHandle) -> Result<CallId, CstaErrorCode> {
    link.apply(|bridge| {
        (
            bridge.claim_make_call(handle),
            Vec::new(),
            Default::default(),
        )
    })
    .ok_or_else(out_of_service)
}

/// The PBX destination a client names: a line by its device id, else a number (international
/// numbers made diallable with the PBX's numbering) or a SIP name.
fn destination(
    id: &CstaDeviceId,
    from: &LineView,
    shared: &super::Shared,
) -> Result<PbxDestination, CstaErrorCode> {
    if let Some(line) = shared.registry.line(id.as_str())
        && line.pbx == from.pbx
    {
        return Ok(PbxDestination::E164(line.line.address.clone()));
    }
    let link = shared
        .link(&from.pbx)
        .ok_or_else(|| op(Op::InvalidDeviceID))?;
    match numbers::parse_destination(id.as_str()) {
        Ok(Destination::Number(number)) => Ok(PbxDestination::E164(
            numbers::international_to_dialable(&number, &link.config().numbering),
        )),
        Ok(Destination::Name(name)) => Ok(PbxDestination::H323(name)),
        Err(_) => Err(op(Op::InvalidCalledDeviceID)),
    }
}

fn category_of(line: &LineView) -> DeviceCategory {
    match line.line.object_kind.as_str() {
        "waiting" => DeviceCategory::GroupAcd,
        "broadcast" => DeviceCategory::GroupHunt,
        "gw" => DeviceCategory::NetworkInterface,
        _ => DeviceCategory::Station,
    }
}

/// The gateway's private data namespace.
pub const PRIVATE_NAMESPACE: &str = "urn:cti-gateway:1";

fn xml_attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => out.push_str(&format!("&#{};", u32::from(c))),
        }
    }
    out
}

fn device_private(line: &LineView) -> String {
    format!(
        "<cti:device id=\"{}\" name=\"{}\" key=\"{}\" address=\"{}\" inService=\"{}\"/>",
        xml_attribute(line.line.device.as_str()),
        xml_attribute(&line.line.name),
        xml_attribute(&line.line.key),
        xml_attribute(&line.line.address),
        line.line.in_service
    )
}

/// Display names and stable keys of a device list segment, as private data.
fn devices_private(lines: &[LineView]) -> Extensions {
    let mut xml = format!("<cti:devices xmlns:cti=\"{PRIVATE_NAMESPACE}\">");
    for line in lines {
        xml.push_str(&device_private(line));
    }
    xml.push_str("</cti:devices>");
    Extensions::private(RawXml::new(xml).unwrap_or_default())
}

fn line_private(line: &LineView) -> Extensions {
    let xml = format!(
        "<cti:devices xmlns:cti=\"{PRIVATE_NAMESPACE}\">{}</cti:devices>",
        device_private(line)
    );
    Extensions::private(RawXml::new(xml).unwrap_or_default())
}
