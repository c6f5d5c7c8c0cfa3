//! Call control services: each one resolves the connections it names to legs of monitored
//! lines, checks the user's rights and the legs' states, and only then asks the PBX.
//!
//! The PBX's call-control operations are mostly void: the gateway cannot learn from them
//! whether the phone did anything. So the state a service needs (ringing for AnswerCall, held
//! for RetrieveCall, answered for HoldCall, ...) is checked against the registry first, and a
//! request the PBX would silently ignore gets a `stateIncompatibility` error instead of a
//! positive answer that nothing follows.

use std::time::Instant;

use csta::call_control::{
    AlternateCall, AlternateCallResponse, AnswerCall, AnswerCallResponse, ClearCall,
    ClearCallResponse, ClearConnection, ClearConnectionResponse, ConferenceCall,
    ConferenceCallResponse, ConsultationCall, ConsultationCallResponse, DeflectCall,
    DeflectCallResponse, DirectedPickupCall, DirectedPickupCallResponse, GenerateDigits,
    GenerateDigitsResponse, GroupPickupCall, GroupPickupCallResponse, HoldCall, HoldCallResponse,
    MakeCall, MakeCallResponse, ParkCall, ParkCallResponse, ReconnectCall, ReconnectCallResponse,
    RetrieveCall, RetrieveCallResponse, SingleStepTransferCall, SingleStepTransferCallResponse,
    TransferCall, TransferCallResponse,
};
use csta::error_code::{
    CstaErrorCode, OperationError as Op, StateIncompatibilityError as State,
    SystemResourceAvailabilityError as Resource,
};
use csta::ids::{ConnectionId, DeviceId as CstaDeviceId};
use csta::message::Message;
use pbx_soap::client::{Destination as PbxDestination, PickupTarget};

use super::connection::Connection;
use super::convert;
use super::services::{Leg, checked, op, out_of_service, state, void};
use crate::bridge::{LegHandle, SiteId};
use crate::config::Right;
use crate::events::{CallId, LocalState};
use crate::numbers::{self, Destination};
use crate::pbx::{Link, SiteSession};
use crate::registry::LineView;

/// The Q.850 cause of a normal release.
const NORMAL_CLEARING: i32 = 16;

impl Connection {
    pub(super) async fn make_call(&self, request: MakeCall) -> Result<Message, CstaErrorCode> {
        let line = self.line(&request.calling_device, Right::Control)?;
        let destination = self.destination(
            &request.called_directory_number,
            &line,
            Op::InvalidCalledDeviceID,
        )?;
        let acting = self.acting(&line)?;
        let calling_device = place_call(&acting, &line, &destination).await?;
        Ok(MakeCallResponse {
            calling_device,
            call_linkage_data: None,
            extensions: None,
        }
        .into())
    }

    pub(super) async fn answer_call(&self, request: AnswerCall) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.call_to_be_answered, Right::Control)?;
        if leg.local != LocalState::Alerting {
            return Err(state(State::NoCallToAnswer));
        }
        let site = leg.site()?;
        void(&site, site.client.user_connect(leg.handle.call).await).await?;
        Ok(AnswerCallResponse::default().into())
    }

    pub(super) async fn clear_connection(
        &self,
        request: ClearConnection,
    ) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.connection_to_be_cleared, Right::Control)?;
        let site = leg.site()?;
        void(
            &site,
            site.client
                .user_clear(leg.handle.call, NORMAL_CLEARING)
                .await,
        )
        .await?;
        Ok(ClearConnectionResponse::default().into())
    }

    /// Releases every monitored party of a call; the rights on all of them are checked before
    /// the first is released, so a refused request changes nothing.
    pub(super) async fn clear_call(&self, request: ClearCall) -> Result<Message, CstaErrorCode> {
        let (pbx, snapshot) = self.call(&request.call_to_be_cleared)?;
        let link = self
            .shared
            .link(&pbx)
            .ok_or_else(|| op(Op::InvalidCallID))?;
        let mut parties = Vec::new();
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
            parties.push(handle);
        }
        if parties.is_empty() {
            return Err(state(State::NoCallToClear));
        }
        for handle in parties {
            let site = link.site(handle.site).ok_or_else(out_of_service)?;
            void(
                &site,
                site.client.user_clear(handle.call, NORMAL_CLEARING).await,
            )
            .await?;
        }
        Ok(ClearCallResponse::default().into())
    }

    pub(super) async fn hold_call(&self, request: HoldCall) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.call_to_be_held, Right::Control)?;
        if !leg.answered() {
            return Err(state(State::InvalidConnectionState));
        }
        let site = leg.site()?;
        let silent = leg.link.config().silent_hold;
        void(&site, site.client.user_hold(leg.handle.call, silent).await).await?;
        Ok(HoldCallResponse::default().into())
    }

    pub(super) async fn retrieve_call(
        &self,
        request: RetrieveCall,
    ) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.call_to_be_retrieved, Right::Control)?;
        if leg.local != LocalState::Hold {
            return Err(state(State::NoHeldCall));
        }
        let site = leg.site()?;
        void(&site, site.client.user_retrieve(leg.handle.call).await).await?;
        Ok(RetrieveCallResponse::default().into())
    }

    pub(super) async fn alternate_call(
        &self,
        request: AlternateCall,
    ) -> Result<Message, CstaErrorCode> {
        let (held, active) = self.pair(&request.held_call, &request.active_call)?;
        if !active.answered() {
            return Err(state(State::InvalidActiveConnectionState));
        }
        let site = active.site()?;
        let silent = active.link.config().silent_hold;
        void(
            &site,
            site.client.user_hold(active.handle.call, silent).await,
        )
        .await?;
        void(&site, site.client.user_retrieve(held.handle.call).await).await?;
        Ok(AlternateCallResponse::default().into())
    }

    pub(super) async fn reconnect_call(
        &self,
        request: ReconnectCall,
    ) -> Result<Message, CstaErrorCode> {
        let (held, active) = self.pair(&request.held_call, &request.active_call)?;
        let site = active.site()?;
        void(
            &site,
            site.client
                .user_clear(active.handle.call, NORMAL_CLEARING)
                .await,
        )
        .await?;
        void(&site, site.client.user_retrieve(held.handle.call).await).await?;
        Ok(ReconnectCallResponse::default().into())
    }

    pub(super) async fn consultation_call(
        &self,
        request: ConsultationCall,
    ) -> Result<Message, CstaErrorCode> {
        let existing = self.leg(&request.existing_call, Right::Control)?;
        let held = existing.local == LocalState::Hold;
        if !held && !existing.answered() {
            return Err(state(State::InvalidConnectionState));
        }
        let destination = self.destination(
            &request.consulted_device,
            &existing.line,
            Op::InvalidCalledDeviceID,
        )?;
        let acting = self.acting(&existing.line)?;
        if !held {
            let silent = acting.link.config().silent_hold;
            let site = &acting.session;
            void(
                site,
                site.client.user_hold(existing.handle.call, silent).await,
            )
            .await?;
        }
        let initiated_call = place_call(&acting, &existing.line, &destination).await?;
        Ok(ConsultationCallResponse {
            initiated_call,
            call_linkage_data: None,
            extensions: None,
        }
        .into())
    }

    /// Joins the held and the active call; the held call's id survives (the transferred
    /// party's leg takes the conf of the call it joins).
    pub(super) async fn transfer_call(
        &self,
        request: TransferCall,
    ) -> Result<Message, CstaErrorCode> {
        let (held, active) = self.pair(&request.held_call, &request.active_call)?;
        // The consultation may still ring: a transfer before answer is allowed.
        if active.local != LocalState::Connected {
            return Err(state(State::InvalidActiveConnectionState));
        }
        let site = active.site()?;
        void(
            &site,
            site.client
                .user_transfer(held.handle.call, active.handle.call)
                .await,
        )
        .await?;
        Ok(TransferCallResponse {
            transferred_call: call_only(&held.call),
            connections: None,
            call_linkage_data_list: None,
            extensions: None,
        }
        .into())
    }

    pub(super) async fn single_step_transfer(
        &self,
        request: SingleStepTransferCall,
    ) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.active_call, Right::Control)?;
        if !leg.answered() {
            return Err(state(State::InvalidActiveConnectionState));
        }
        let destination = self.destination(
            &request.transferred_to,
            &leg.line,
            Op::InvalidDestinationDeviceID,
        )?;
        let site = leg.site()?;
        self.redirect(&site, &leg, &destination).await?;
        Ok(SingleStepTransferCallResponse {
            transferred_call: call_only(&leg.call),
            connections: None,
            call_linkage_data_list: None,
            extensions: None,
        }
        .into())
    }

    pub(super) async fn deflect_call(
        &self,
        request: DeflectCall,
    ) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.call_to_be_diverted, Right::Control)?;
        if leg.local != LocalState::Alerting {
            return Err(state(State::InvalidConnectionState));
        }
        let destination = self.destination(
            &request.new_destination,
            &leg.line,
            Op::InvalidDestinationDeviceID,
        )?;
        let site = leg.site()?;
        self.redirect(&site, &leg, &destination).await?;
        Ok(DeflectCallResponse::default().into())
    }

    /// Asks an innovaphone phone for its three-party conference of the active call and one
    /// held call (remote-control code 4); phones of other makes ignore it.
    pub(super) async fn conference_call(
        &self,
        request: ConferenceCall,
    ) -> Result<Message, CstaErrorCode> {
        let (_held, active) = self.pair(&request.held_call, &request.active_call)?;
        if active.link.config().no_3pty {
            return Err(op(Op::ServiceNotSupported));
        }
        if !active.answered() {
            return Err(state(State::InvalidActiveConnectionState));
        }
        let site = active.site()?;
        void(&site, site.client.user_rc(active.handle.call, 4).await).await?;
        Ok(ConferenceCallResponse {
            conference_call: call_only(&active.call),
            connections: None,
            call_linkage_data_list: None,
            extensions: None,
        }
        .into())
    }

    pub(super) async fn generate_digits(
        &self,
        request: GenerateDigits,
    ) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.connection_to_send_digits, Right::Control)?;
        if !leg.answered() {
            return Err(state(State::InvalidConnectionState));
        }
        let digits = &request.characters_to_send;
        if digits.is_empty()
            || !digits
                .chars()
                .all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c))
        {
            return Err(op(Op::InvalidParameterValue));
        }
        let site = leg.site()?;
        void(
            &site,
            site.client.user_dtmf(leg.handle.call, false, digits).await,
        )
        .await?;
        Ok(GenerateDigitsResponse::default().into())
    }

    pub(super) async fn group_pickup(
        &self,
        request: GroupPickupCall,
    ) -> Result<Message, CstaErrorCode> {
        let line = self.line(&request.new_destination, Right::Control)?;
        let acting = self.acting(&line)?;
        let (site, user) = (&acting.session, acting.user);
        let target = match &request.pick_group {
            Some(group) => PickupTarget::Group(group.as_str().to_owned()),
            None => PickupTarget::Implicit,
        };
        checked(
            site,
            state(State::NoCallToAnswer),
            site.client.user_pickup(user, &target).await,
        )
        .await?;
        Ok(GroupPickupCallResponse::default().into())
    }

    /// Takes a ringing (or parked) call to the requesting device. The PBX picks up by call
    /// handle, or by the long name of the ringing object for a call the gateway does not know.
    pub(super) async fn directed_pickup(
        &self,
        request: DirectedPickupCall,
    ) -> Result<Message, CstaErrorCode> {
        let line = self.line(&request.requesting_device, Right::Control)?;
        let acting = self.acting(&line)?;
        let (site, user) = (&acting.session, acting.user);
        let victim = &request.call_to_be_picked_up;
        let (target, picked) = match self.leg(victim, Right::View) {
            Ok(leg) => {
                if !matches!(leg.local, LocalState::Alerting | LocalState::Hold) {
                    return Err(state(State::InvalidConnectionState));
                }
                if leg.link.pbx() != acting.link.pbx() || leg.handle.site != acting.site {
                    return Err(op(Op::RequestIncompatibleWithPickupDevice));
                }
                let picked = convert::connection(&leg.call, line.line.device.as_str());
                (PickupTarget::Call(leg.handle.call), Some(picked))
            }
            Err(error) => {
                let known = victim
                    .device
                    .as_ref()
                    .and_then(|device| self.shared.find_line(device.as_str()));
                match known {
                    Some(victim_line) if victim_line.pbx == line.pbx => {
                        if !self.allows(Right::View, &victim_line) {
                            return Err(op(Op::PrivilegeViolationSpecifiedDevice));
                        }
                        (PickupTarget::Cn(victim_line.line.cn), None)
                    }
                    Some(_) => return Err(op(Op::RequestIncompatibleWithPickupDevice)),
                    None => return Err(error),
                }
            }
        };
        checked(
            site,
            state(State::NoCallToAnswer),
            site.client.user_pickup(user, &target).await,
        )
        .await?;
        Ok(DirectedPickupCallResponse {
            picked_call: picked,
            extensions: None,
        }
        .into())
    }

    pub(super) async fn park_call(&self, request: ParkCall) -> Result<Message, CstaErrorCode> {
        let leg = self.leg(&request.parking, Right::Control)?;
        if !leg.answered() {
            return Err(state(State::InvalidConnectionState));
        }
        let park_to = self
            .shared
            .find_line(request.park_to.as_str())
            .filter(|view| view.pbx == leg.line.pbx)
            .ok_or_else(|| op(Op::InvalidParkToDeviceID))?;
        let site = leg.site()?;
        checked(
            &site,
            op(Op::RequestIncompatibleWithParkToDevice),
            site.client
                .user_park(leg.handle.call, &park_to.line.cn, -1)
                .await,
        )
        .await?;
        Ok(ParkCallResponse {
            parked_to: Some(convert::connection(&leg.call, park_to.line.device.as_str())),
            extensions: None,
        }
        .into())
    }

    /// The held and the active leg of a two-call service, at the same device, the held one
    /// on hold.
    fn pair(
        &self,
        held: &ConnectionId,
        active: &ConnectionId,
    ) -> Result<(Leg, Leg), CstaErrorCode> {
        let held = self.leg(held, Right::Control)?;
        let active = self.leg(active, Right::Control)?;
        if held.line.line.device != active.line.line.device {
            return Err(op(Op::NotSameDevice));
        }
        if held.local != LocalState::Hold {
            return Err(state(State::InvalidHeldConnectionState));
        }
        Ok((held, active))
    }

    /// Sends a leg's call to a new destination (`UserRedirect`: the destination's forwards
    /// are not followed, as a deflection or transfer target is chosen on purpose).
    async fn redirect(
        &self,
        site: &SiteSession,
        leg: &Leg,
        destination: &PbxDestination,
    ) -> Result<(), CstaErrorCode> {
        let moved = checked(
            site,
            op(Op::InvalidDestination),
            site.client
                .user_redirect(leg.handle.call, destination, 0)
                .await,
        )
        .await?;
        if !moved {
            return Err(super::services::confirm(site, op(Op::InvalidDestination)).await);
        }
        Ok(())
    }

    /// The PBX destination a client names: a line of the same PBX by its device id, else a
    /// number (international numbers made diallable with the PBX's numbering) or a SIP name.
    /// `invalid` is the error for text that is neither.
    fn destination(
        &self,
        id: &CstaDeviceId,
        from: &LineView,
        invalid: Op,
    ) -> Result<PbxDestination, CstaErrorCode> {
        if let Some(line) = self.shared.find_line(id.as_str())
            && line.pbx == from.pbx
        {
            return Ok(PbxDestination::E164(line.line.address));
        }
        let link = self
            .shared
            .link(&from.pbx)
            .ok_or_else(|| op(Op::InvalidDeviceID))?;
        match numbers::parse_destination(id.as_str()) {
            Ok(Destination::Number(number)) => Ok(PbxDestination::E164(
                numbers::international_to_dialable(&number, &link.config().numbering),
            )),
            Ok(Destination::Name(name)) => Ok(PbxDestination::H323(name)),
            Err(_) => Err(op(invalid)),
        }
    }

    /// The PBX session and user handle that act for a line, which must be usable: a line
    /// whose phone is not registered is out of service; a PBX that is down is unavailable.
    fn acting(&self, line: &LineView) -> Result<Acting, CstaErrorCode> {
        let link = self.link_of(line)?;
        let (site, user) = link
            .read(|bridge| bridge.user_handle(&line.line.device))
            .ok_or_else(out_of_service)?;
        let session = link.site(site).ok_or_else(out_of_service)?;
        if !line.line.in_service {
            return Err(CstaErrorCode::SystemResourceAvailability(
                Resource::DeviceOutOfService,
            ));
        }
        Ok(Acting {
            link,
            site,
            session,
            user,
        })
    }
}

/// A connection that names only a call.
fn call_only(call: &CallId) -> ConnectionId {
    ConnectionId {
        call: Some(convert::call_id(call)),
        device: None,
    }
}

/// Who acts for a line on the PBX: its user handle on a site's session.
struct Acting {
    link: Link,
    site: SiteId,
    session: SiteSession,
    user: i32,
}

/// Places a call from a line (`UserCall`) and returns its connection at the line. The bridge
/// is told first, so that the call's events carry the cause `makeCall`, and the call's leg is
/// claimed at once, so that the answer carries the call id the events will carry.
async fn place_call(
    acting: &Acting,
    line: &LineView,
    destination: &PbxDestination,
) -> Result<ConnectionId, CstaErrorCode> {
    acting.link.apply(|bridge| {
        bridge.expect_make_call(&line.line.device, Instant::now());
        ((), Vec::new(), Default::default())
    });
    let site = &acting.session;
    let call = checked(
        site,
        op(Op::RequestIncompatibleWithCallingDevice),
        site.client.user_call(acting.user, destination, 0, "").await,
    )
    .await
    .inspect_err(|_| {
        acting.link.apply(|bridge| {
            bridge.cancel_make_call(&line.line.device);
            ((), Vec::new(), Default::default())
        });
    })?;
    let handle = LegHandle {
        site: acting.site,
        user: acting.user,
        call,
    };
    let call_id = acting
        .link
        .apply(|bridge| {
            (
                bridge.claim_make_call(handle),
                Vec::new(),
                Default::default(),
            )
        })
        .ok_or_else(out_of_service)?;
    Ok(convert::connection(&call_id, line.line.device.as_str()))
}
