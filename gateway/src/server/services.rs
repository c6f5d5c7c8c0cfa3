//! CSTA services: each request checked against the client's rights, answered from the registry
//! or carried out through the PBX link that owns the device. Call control is in
//! `call_control.rs`; this module has the dispatch, the shared resolution of devices and
//! connections, and the system, monitoring, snapshot and logical-device services.

use std::sync::Arc;

use csta::error_code::{
    CstaErrorCode, OperationError as Op, StateIncompatibilityError as State,
    SubscribedResourceAvailabilityError as Subscribed, SystemResourceAvailabilityError as Resource,
};
use csta::ids::{ConnectionId, DeviceId as CstaDeviceId, MonitorCrossRefId, ServiceCrossRefId};
use csta::logical::{
    ForwardListItem, GetDoNotDisturbResponse, GetForwardingResponse, SetDoNotDisturb,
    SetDoNotDisturbResponse, SetForwarding, SetForwardingResponse,
};
use csta::message::Message;
use csta::monitoring::{MonitorObject, MonitorStart, MonitorStartResponse, MonitorStopResponse};
use csta::snapshot::{
    SnapshotCall, SnapshotCallResponse, SnapshotCallResponseInfo, SnapshotDeviceResponse,
    SnapshotDeviceResponseInfo, SnapshotResult,
};
use csta::system::{
    DeviceListItem, GetLogicalDeviceInformationResponse, GetPhysicalDeviceInformationResponse,
    GetSwitchingFunctionDevices, GetSwitchingFunctionDevicesResponse, RequestSystemStatusResponse,
    SwitchingFunctionDevices, SystemRegisterResponse, SystemStatusResponse,
};
use csta::types::{DeviceCategory, Extensions, LocalCallState, RawXml};
use pbx_soap::error::Error as PbxError;
use pbx_soap::records::{Presence, PresenceStatus};
use tracing::{debug, info};

use super::connection::Connection;
use super::convert;
use super::features;
use super::monitors::Monitor;
use crate::bridge::{CallSnapshot, LegHandle, SiteId};
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

pub(super) fn op(error: Op) -> CstaErrorCode {
    CstaErrorCode::Operation(error)
}

pub(super) fn state(error: State) -> CstaErrorCode {
    CstaErrorCode::StateIncompatibility(error)
}

pub(super) fn out_of_service() -> CstaErrorCode {
    CstaErrorCode::SystemResourceAvailability(Resource::ResourceOutOfService)
}

/// Devices per `SwitchingFunctionDevices` segment (about 200 bytes each with private data, so
/// a segment stays well below the 64 KiB frame limit).
const DEVICES_PER_SEGMENT: usize = 100;

/// The answer to a failed PBX command that is not tied to a session (`Admin`, `SetPresence`):
/// an unreachable PBX is a resource problem, a refusal is the request's.
fn pbx_failure(error: &PbxError, refused: CstaErrorCode) -> CstaErrorCode {
    match error {
        PbxError::Rejected { .. } => refused,
        PbxError::Fault(_) => op(Op::Generic),
        _ => out_of_service(),
    }
}

/// The outcome of a PBX command on a session. A refusal (`0`, `false`) or a fault from a PBX
/// that no longer knows the session (it restarted and the link has not noticed yet) means the
/// PBX is unavailable, not that the request was wrong; `Echo` tells the two apart. `refused` is
/// the answer when the session is fine.
pub(super) async fn checked<T>(
    site: &SiteSession,
    refused: CstaErrorCode,
    result: Result<T, PbxError>,
) -> Result<T, CstaErrorCode> {
    match result {
        Ok(value) => Ok(value),
        Err(PbxError::Rejected { .. }) => Err(confirm(site, refused).await),
        Err(error @ PbxError::Fault(_)) => {
            debug!(%error, "the PBX refused a command");
            Err(confirm(site, op(Op::Generic)).await)
        }
        Err(error) => {
            info!(%error, "the PBX did not carry out a command");
            Err(out_of_service())
        }
    }
}

/// The outcome of a void PBX command (it reports no refusal, only failures).
pub(super) async fn void(
    site: &SiteSession,
    result: Result<(), PbxError>,
) -> Result<(), CstaErrorCode> {
    checked(site, op(Op::Generic), result).await
}

/// `refused` while the PBX still knows the site's session, else the PBX is unavailable.
pub(super) async fn confirm(site: &SiteSession, refused: CstaErrorCode) -> CstaErrorCode {
    match site.client.echo(site.session).await {
        Ok(true) => refused,
        Ok(false) | Err(_) => {
            info!(
                session = site.session.handle,
                "a command failed: the PBX no longer knows the session"
            );
            out_of_service()
        }
    }
}

/// A leg of a monitored line in a call: what call control addresses.
pub(super) struct Leg {
    pub(super) line: LineView,
    pub(super) link: Link,
    pub(super) handle: LegHandle,
    /// The line's own connection state.
    pub(super) local: LocalState,
    /// The states of the call's other connections.
    others: Vec<LocalState>,
    pub(super) call: CallId,
}

/// Whether a call is answered, by the states of the connections other than one's own: nobody
/// rings, dials or is gone.
fn answered(others: impl IntoIterator<Item = LocalState>) -> bool {
    others
        .into_iter()
        .all(|other| matches!(other, LocalState::Connected | LocalState::Hold))
}

impl Leg {
    /// Whether the call is answered and this side talks (a caller is `connected` already
    /// while the far end rings).
    pub(super) fn answered(&self) -> bool {
        self.local == LocalState::Connected && answered(self.others.iter().copied())
    }

    /// The PBX session the leg is reported on.
    pub(super) fn site(&self) -> Result<SiteSession, CstaErrorCode> {
        self.link.site(self.handle.site).ok_or_else(out_of_service)
    }
}

impl Connection {
    /// Carries out one service request.
    pub(super) async fn service(&mut self, message: Message) -> Result<Reply, CstaErrorCode> {
        let answer = match message {
            Message::SystemRegister(_) => {
                self.watch_device_changes();
                let id = csta::ids::SysStatRegisterId::new(format!("{}", self.shared.next_id()))
                    .map_err(|_| op(Op::Generic))?;
                self.sys_stat_register_id = Some(id.clone());
                SystemRegisterResponse {
                    sys_stat_register_id: id,
                    actual_status_filter: None,
                    extensions: None,
                }
                .into()
            }
            Message::SystemStatus(_) => SystemStatusResponse::default().into(),
            Message::RequestSystemStatus(_) => RequestSystemStatusResponse {
                system_status: self.system_status(),
                extensions: None,
            }
            .into(),
            Message::GetCstaFeatures(_) => features::supported(self.conference_anywhere()).into(),
            Message::GetSwitchingFunctionDevices(request) => {
                return self.device_list(&request);
            }
            Message::GetPhysicalDeviceInformation(request) => {
                let line = self.line(&request.device, Right::View)?;
                GetPhysicalDeviceInformationResponse {
                    device_category: Some(category_of(&line)),
                    has_logical_element: Some(true),
                    device_model_name: None,
                    max_displays: None,
                    max_buttons: None,
                    max_lamps: None,
                    max_ring_patterns: None,
                    extensions: Some(line_private(&line)),
                }
                .into()
            }
            Message::GetLogicalDeviceInformation(request) => {
                let line = self.line(&request.device, Right::View)?;
                let conference = self.conference_offered(&line.line.device);
                GetLogicalDeviceInformationResponse {
                    device_category: Some(category_of(&line)),
                    short_form_device_id: CstaDeviceId::new(line.line.address.clone()).ok(),
                    has_physical_element: Some(true),
                    max_active_calls: None,
                    max_held_calls: None,
                    max_devices_in_conf: conference.then_some(3),
                    extensions: Some(line_private(&line)),
                }
                .into()
            }
            Message::MonitorStart(request) => self.monitor_start(request)?,
            Message::MonitorStop(request) => {
                if self
                    .remove_monitor(request.monitor_cross_ref_id.as_str())
                    .is_none()
                {
                    return Err(op(Op::InvalidMonitorCrossRefID));
                }
                MonitorStopResponse::default().into()
            }
            Message::SnapshotDevice(request) => {
                let line = self.line(&request.snapshot_object, Right::View)?;
                self.snapshot_device(&line)
            }
            Message::SnapshotCall(request) => self.snapshot_call(&request)?,
            Message::MakeCall(request) => self.make_call(request).await?,
            Message::AnswerCall(request) => self.answer_call(request).await?,
            Message::ClearConnection(request) => self.clear_connection(request).await?,
            Message::ClearCall(request) => self.clear_call(request).await?,
            Message::HoldCall(request) => self.hold_call(request).await?,
            Message::RetrieveCall(request) => self.retrieve_call(request).await?,
            Message::AlternateCall(request) => self.alternate_call(request).await?,
            Message::ReconnectCall(request) => self.reconnect_call(request).await?,
            Message::ConsultationCall(request) => self.consultation_call(request).await?,
            Message::TransferCall(request) => self.transfer_call(request).await?,
            Message::SingleStepTransferCall(request) => self.single_step_transfer(request).await?,
            Message::DeflectCall(request) => self.deflect_call(request).await?,
            Message::ConferenceCall(request) => self.conference_call(request).await?,
            Message::GenerateDigits(request) => self.generate_digits(request).await?,
            Message::GroupPickupCall(request) => self.group_pickup(request).await?,
            Message::DirectedPickupCall(request) => self.directed_pickup(request).await?,
            Message::ParkCall(request) => self.park_call(request).await?,
            Message::SetForwarding(request) => self.set_forwarding(&request).await?,
            Message::GetForwarding(request) => {
                let line = self.line(&request.device, Right::View)?;
                forwarding_of(&line).into()
            }
            Message::SetDoNotDisturb(request) => self.set_do_not_disturb(&request).await?,
            Message::GetDoNotDisturb(request) => {
                let line = self.line(&request.device, Right::View)?;
                GetDoNotDisturbResponse {
                    do_not_disturb_on: line.line.dnd,
                    call_origination: None,
                    calling_device_list: None,
                    extensions: None,
                }
                .into()
            }
            _ => return Err(op(Op::ServiceNotSupported)),
        };
        Ok(Reply::from(answer))
    }

    /// Whether the user holds `right` on a line.
    pub(super) fn allows(&self, right: Right, line: &LineView) -> bool {
        self.identity
            .user()
            .is_some_and(|user| user.allows(right, line.line.device.as_str(), &line.line.groups))
    }

    /// Finds the line a client names, in any of the accepted forms, and checks the right.
    pub(super) fn line(&self, id: &CstaDeviceId, right: Right) -> Result<LineView, CstaErrorCode> {
        let line = self
            .shared
            .find_line(id.as_str())
            .ok_or_else(|| op(Op::InvalidDeviceID))?;
        if !self.allows(right, &line) {
            return Err(op(Op::PrivilegeViolationSpecifiedDevice));
        }
        Ok(line)
    }

    pub(super) fn link_of(&self, line: &LineView) -> Result<Link, CstaErrorCode> {
        self.shared
            .link(&line.pbx)
            .cloned()
            .ok_or_else(|| op(Op::InvalidDeviceID))
    }

    /// Resolves a connection (call and device, both required) to a leg of a monitored line.
    pub(super) fn leg(
        &self,
        connection: &ConnectionId,
        right: Right,
    ) -> Result<Leg, CstaErrorCode> {
        let (Some(call), Some(device)) = (&connection.call, &connection.device) else {
            return Err(op(Op::InvalidConnectionID));
        };
        let line = self
            .shared
            .find_line(device.as_str())
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        if !self.allows(right, &line) {
            return Err(op(Op::PrivilegeViolationSpecifiedDevice));
        }
        let call = CallId::new(call.as_str());
        let snapshot = line
            .calls
            .iter()
            .find(|snapshot| snapshot.id == call)
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        let own = snapshot
            .connections
            .iter()
            .find(|c| c.line.as_ref() == Some(&line.line.device))
            .ok_or_else(|| op(Op::InvalidConnectionID))?;
        let handle = own.handle.ok_or_else(|| op(Op::InvalidConnectionID))?;
        let local = own.local;
        let others = snapshot
            .connections
            .iter()
            .filter(|c| c.line.as_ref() != Some(&line.line.device))
            .map(|c| c.local)
            .collect();
        let link = self.link_of(&line)?;
        Ok(Leg {
            line,
            link,
            handle,
            local,
            others,
            call,
        })
    }

    /// The call a connection names by its call id, with the PBX it belongs to.
    pub(super) fn call(
        &self,
        connection: &ConnectionId,
    ) -> Result<(Arc<str>, CallSnapshot), CstaErrorCode> {
        connection
            .call
            .as_ref()
            .and_then(|call| self.shared.registry.call(call.as_str()))
            .ok_or_else(|| op(Op::InvalidCallID))
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

    fn monitor_start(&mut self, request: MonitorStart) -> Result<Message, CstaErrorCode> {
        let MonitorObject::Device(device) = &request.monitor_object else {
            return Err(op(Op::InvalidMonitorObject));
        };
        let line = self.line(device, Right::Monitor)?;
        if self.monitor_count() >= self.shared.sessions_config.max_monitors {
            return Err(CstaErrorCode::SubscribedResourceAvailability(
                Subscribed::ObjectMonitorLimitExceeded,
            ));
        }
        let cross_ref = MonitorCrossRefId::new(format!("{}", self.shared.next_id()))
            .map_err(|_| op(Op::Generic))?;
        let filter = request.requested_monitor_filter.unwrap_or_default();
        self.add_monitor(Monitor {
            cross_ref: cross_ref.clone(),
            device: line.line.device,
            filter: filter.clone(),
        });
        self.shared.metrics.monitor_started();
        Ok(MonitorStartResponse {
            monitor_cross_ref_id: cross_ref,
            actual_monitor_filter: Some(filter),
            monitor_existing_calls: Some(false),
            extensions: None,
        }
        .into())
    }

    /// The calls at a line, inline: for each the line's connection, the far end, and the
    /// states of every connection with the line's own first.
    fn snapshot_device(&self, line: &LineView) -> Message {
        let conference = self.conference_offered(&line.line.device);
        let mine =
            |c: &&crate::bridge::ConnectionSnapshot| c.line.as_ref() == Some(&line.line.device);
        let items = line
            .calls
            .iter()
            .filter_map(|call| {
                let own = call.connections.iter().find(mine)?;
                let others: Vec<_> = call.connections.iter().filter(|c| !mine(c)).collect();
                let states = std::iter::once(own.local)
                    .chain(others.iter().map(|c| c.local))
                    .map(convert::local_state)
                    .collect();
                Some(SnapshotDeviceResponseInfo {
                    connection_identifier: convert::connection(&call.id, line.line.device.as_str()),
                    endpoint_device: others.first().map(|c| convert::device_ref(&c.device)),
                    local_call_state: LocalCallState::Compound(states),
                    services_permitted: Some(convert::services_permitted(
                        own.local,
                        answered(others.iter().map(|c| c.local)),
                        conference,
                    )),
                    call_linkage_data: convert::linkage(call.conf.as_deref()),
                })
            })
            .collect();
        SnapshotDeviceResponse {
            cross_ref_id_or_snapshot_data: SnapshotResult::Data(items),
            extensions: None,
        }
        .into()
    }

    /// A call by id; the user must be allowed to view one of its lines.
    fn snapshot_call(&self, request: &SnapshotCall) -> Result<Message, CstaErrorCode> {
        let (pbx, snapshot) = self.call(&request.snapshot_object)?;
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
            .enumerate()
            .map(|(index, connection)| SnapshotCallResponseInfo {
                device_on_call: Some(convert::device_ref(&connection.device)),
                call_identifier: Some(match connection.device.id() {
                    Some(id) => convert::connection(&snapshot.id, id.as_str()),
                    None => ConnectionId {
                        call: Some(convert::call_id(&snapshot.id)),
                        device: None,
                    },
                }),
                local_connection_info: Some(convert::local_state(connection.local)),
                services_permitted: connection.line.as_ref().map(|_| {
                    let others = snapshot
                        .connections
                        .iter()
                        .enumerate()
                        .filter(|(other, _)| *other != index)
                        .map(|(_, other)| other.local);
                    convert::services_permitted(connection.local, answered(others), conference)
                }),
            })
            .collect();
        Ok(SnapshotCallResponse {
            cross_ref_id_or_snapshot_data: SnapshotResult::Data(items),
            calling_device: None,
            called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            correlator_data: None,
            call_linkage_data: convert::linkage(snapshot.conf.as_deref()),
            extensions: None,
        }
        .into())
    }

    async fn set_forwarding(&self, request: &SetForwarding) -> Result<Message, CstaErrorCode> {
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
        let link = self.link_of(&line)?;
        let site = link.site(SiteId::MASTER).ok_or_else(out_of_service)?;
        let cn = &line.line.cn;
        let cleared = site
            .client
            .admin(&admin::clear(cn, kind))
            .await
            .map_err(|e| pbx_failure(&e, op(Op::RequestIncompatibleWithDevice)))?;
        if !admin::is_ok(&cleared) {
            return Err(op(Op::RequestIncompatibleWithDevice));
        }
        if let Some(target) = &target {
            let answer = site
                .client
                .admin(&admin::set(cn, kind, target))
                .await
                .map_err(|e| pbx_failure(&e, op(Op::InvalidForwardingDestination)))?;
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
        Ok(SetForwardingResponse::default().into())
    }

    /// Do-not-disturb is the presence activity `dnd`: switching it on replaces the activity,
    /// switching it off clears `dnd` only; status and note stay as the user set them.
    async fn set_do_not_disturb(
        &self,
        request: &SetDoNotDisturb,
    ) -> Result<Message, CstaErrorCode> {
        let line = self.line(&request.device, Right::Forward)?;
        let link = self.link_of(&line)?;
        let site = link.site(SiteId::MASTER).ok_or_else(out_of_service)?;
        let (guid, h323, current) = link.read(|bridge| {
            bridge
                .object(&line.line.cn)
                .map(|object| {
                    (
                        object.guid.clone(),
                        object.h323.clone(),
                        object.presence.clone().unwrap_or_default(),
                    )
                })
                .unwrap_or_default()
        });
        let activity = if request.do_not_disturb_on {
            Some("dnd".to_owned())
        } else {
            current.activity.filter(|activity| activity != "dnd")
        };
        let presence = Presence {
            status: Some(current.status.unwrap_or(PresenceStatus::Open)),
            activity,
            note: current.note,
        };
        // `*` when the GUID is unknown: the PBX then goes by the h323 name.
        let guid = if guid.is_empty() {
            "*".to_owned()
        } else {
            guid
        };
        let done = site
            .client
            .set_presence(&presence, false, "", &guid, &h323)
            .await
            .map_err(|e| pbx_failure(&e, op(Op::RequestIncompatibleWithDevice)))?;
        if !done {
            return Err(op(Op::RequestIncompatibleWithDevice));
        }
        Ok(SetDoNotDisturbResponse::default().into())
    }

    /// The device list: a response with a cross reference, then the segments. The client is
    /// told of later changes from the moment the list is read. (A list asked for before every
    /// PBX link finished its first sync is held back by the connection first.)
    pub(super) fn device_list(
        &mut self,
        request: &GetSwitchingFunctionDevices,
    ) -> Result<Reply, CstaErrorCode> {
        self.watch_device_changes();
        let wanted = match &request.requested_device_id {
            Some(id) => Some(self.line(id, Right::View)?.line.device),
            None => None,
        };
        let category = request.requested_device_category.as_ref();
        let lines: Vec<LineView> = self
            .shared
            .registry
            .lines()
            .into_iter()
            .filter(|line| self.allows(Right::View, line))
            .filter(|line| {
                wanted
                    .as_ref()
                    .is_none_or(|wanted| line.line.device == *wanted)
            })
            .filter(|line| category.is_none_or(|category| *category == category_of(line)))
            .collect();
        let cross_ref = ServiceCrossRefId::new(format!("{}", self.shared.next_id()))
            .map_err(|_| op(Op::Generic))?;
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
        Ok(Reply {
            response: Message::from(GetSwitchingFunctionDevicesResponse {
                service_cross_ref_id: cross_ref,
                extensions: None,
            }),
            then,
        })
    }
}

/// The immediate, busy and no-answer forwarding of a line, as the PBX reported them last.
fn forwarding_of(line: &LineView) -> GetForwardingResponse {
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
    GetForwardingResponse {
        forwarding_list: Some(items),
        extensions: None,
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
