//! Events as one readable line or one JSON object, for `cti-gateway monitor`.

use csta::events::{CstaEvent, Event};
use csta::ids::ConnectionId;
use csta::types::{DeviceRef, LocalConnectionState};
use serde_json::{Map, Value};

fn device(device: &DeviceRef) -> String {
    match device {
        DeviceRef::Identifier(id) => id.as_str().to_owned(),
        DeviceRef::NotKnown => "unknown".to_owned(),
        DeviceRef::Restricted => "restricted".to_owned(),
    }
}

fn call(connection: &ConnectionId) -> String {
    connection
        .call
        .as_ref()
        .map(|call| call.as_str().to_owned())
        .unwrap_or_default()
}

/// The fields of an event worth showing, in a stable order: (name, value).
pub fn fields(event: &Event) -> Vec<(&'static str, String)> {
    let local = |state: &Option<LocalConnectionState>| state.map(|state| state.as_str().to_owned());
    let mut fields: Vec<(&'static str, Option<String>)> = Vec::new();
    match event {
        Event::ServiceInitiated(e) => {
            fields.push(("call", Some(call(&e.initiated_connection))));
            fields.push(("device", Some(device(&e.initiating_device))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Originated(e) => {
            fields.push(("call", Some(call(&e.originated_connection))));
            fields.push(("calling", Some(device(&e.calling_device))));
            fields.push(("called", Some(device(&e.called_device))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Delivered(e) => {
            fields.push(("call", Some(call(&e.connection))));
            fields.push(("alerting", Some(device(&e.alerting_device))));
            fields.push(("calling", Some(device(&e.calling_device))));
            fields.push(("called", Some(device(&e.called_device))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Established(e) => {
            fields.push(("call", Some(call(&e.established_connection))));
            fields.push(("answering", Some(device(&e.answering_device))));
            fields.push(("calling", Some(device(&e.calling_device))));
            fields.push(("called", Some(device(&e.called_device))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Held(e) => {
            fields.push(("call", Some(call(&e.held_connection))));
            fields.push(("holding", Some(device(&e.holding_device))));
            fields.push(("local", local(&e.local_connection_info)));
        }
        Event::Retrieved(e) => {
            fields.push(("call", Some(call(&e.retrieved_connection))));
            fields.push(("retrieving", Some(device(&e.retrieving_device))));
            fields.push(("local", local(&e.local_connection_info)));
        }
        Event::ConnectionCleared(e) => {
            fields.push(("call", Some(call(&e.dropped_connection))));
            fields.push((
                "dropped",
                e.dropped_connection
                    .device
                    .as_ref()
                    .map(|device| device.as_str().to_owned()),
            ));
            fields.push(("releasing", Some(device(&e.releasing_device))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::CallCleared(e) => {
            fields.push(("call", Some(call(&e.cleared_call))));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Diverted(e) => {
            fields.push(("call", Some(call(&e.connection))));
            fields.push(("diverting", Some(device(&e.diverting_device))));
            fields.push(("to", Some(device(&e.new_destination))));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Transfered(e) => {
            fields.push(("call", Some(call(&e.primary_old_call))));
            fields.push(("secondary", e.secondary_old_call.as_ref().map(call)));
            fields.push(("transferring", Some(device(&e.transferring_device))));
            fields.push(("to", Some(device(&e.transferred_to_device))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Conferenced(e) => {
            fields.push(("call", Some(call(&e.primary_old_call))));
            fields.push(("conferencing", Some(device(&e.conferencing_device))));
            fields.push(("added", Some(device(&e.added_party))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Failed(e) => {
            fields.push(("call", Some(call(&e.failed_connection))));
            fields.push(("failing", Some(device(&e.failing_device))));
            fields.push(("called", Some(device(&e.called_device))));
            fields.push(("local", local(&e.local_connection_info)));
            fields.push(("cause", Some(e.cause.to_string())));
        }
        Event::Queued(e) => {
            fields.push(("call", Some(call(&e.queued_connection))));
            fields.push(("queue", Some(device(&e.queue))));
            fields.push(("calling", Some(device(&e.calling_device))));
        }
        Event::NetworkReached(e) => {
            fields.push(("call", Some(call(&e.outbound_connection))));
            fields.push(("trunk", Some(device(&e.network_interface_used))));
            fields.push(("called", Some(device(&e.called_device))));
        }
        Event::DigitsDialed(e) => {
            fields.push(("call", Some(call(&e.dialing_connection))));
            fields.push(("digits", Some(e.dialing_sequence.as_str().to_owned())));
        }
        Event::Forwarding(e) => {
            fields.push(("device", Some(device(&e.device))));
            fields.push(("type", e.forwarding_type.as_ref().map(ToString::to_string)));
            fields.push(("on", Some(e.forward_status.to_string())));
            fields.push(("to", e.forward_to.as_ref().map(|to| to.as_str().to_owned())));
        }
        Event::DoNotDisturb(e) => {
            fields.push(("device", Some(device(&e.device))));
            fields.push(("on", Some(e.do_not_disturb_on.to_string())));
        }
        Event::BackInService(e) => fields.push(("device", Some(device(&e.device)))),
        Event::OutOfService(e) => fields.push(("device", Some(device(&e.device)))),
        _ => {}
    }
    fields
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .collect()
}

/// The event name without the `Event` suffix (`Delivered`).
pub fn short_name(event: &Event) -> &'static str {
    let name = event.name();
    name.strip_suffix("Event").unwrap_or(name)
}

/// One readable line: `Delivered  call=... alerting=201 calling=202 ...`.
pub fn line(event: &CstaEvent) -> String {
    let mut text = format!("{:<17}", short_name(&event.event));
    for (name, value) in fields(&event.event) {
        text.push(' ');
        text.push_str(name);
        text.push('=');
        text.push_str(&value);
    }
    text
}

/// One JSON object with the event name, the monitor and the fields.
pub fn json(event: &CstaEvent) -> Value {
    let mut object = Map::new();
    object.insert("event".to_owned(), Value::from(short_name(&event.event)));
    object.insert(
        "monitor".to_owned(),
        Value::from(event.monitor_cross_ref_id.as_str()),
    );
    for (name, value) in fields(&event.event) {
        object.insert(name.to_owned(), Value::from(value));
    }
    Value::Object(object)
}
