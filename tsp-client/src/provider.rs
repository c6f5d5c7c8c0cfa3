//! The running provider: owns the model, the gateway connection and the dispatcher thread.
//!
//! Every TSPI call locks the state, asks the [`Model`], and queues what the model returned:
//! CSTA requests go to the connection's writer (in order), TAPI callbacks go to the one
//! dispatcher thread. So callbacks are never concurrent, never run while the state lock is
//! held, and keep the order in which the model produced them. `shutdown` completes whatever
//! is still pending and joins every thread before it returns; no callback follows it.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use crate::config::Config;
use crate::connection::{Connection, LinkEvents, LinkSender};
use crate::line_ids::LineIdStore;
use crate::model::{CallEvent, Device, DeviceEvent, ErrorClass, Model, Output, Response};
use crate::tapi::{err, msg};

/// The TAPI callbacks the dispatcher thread calls; `ffi` implements them with the function
/// pointers TAPISRV passed, tests with a recorder.
pub trait Callbacks: Send {
    /// `ASYNC_COMPLETION`.
    fn completion(&mut self, request: u32, result: i32);
    /// A LINEEVENT on an open line.
    fn line_event(
        &mut self,
        ht_line: usize,
        ht_call: usize,
        msg: u32,
        param1: usize,
        param2: usize,
        param3: usize,
    );
    /// `LINE_NEWCALL`; returns the `HTAPICALL` TAPI wrote, 0 when TAPI refused the call.
    fn new_call(&mut self, ht_line: usize, call: usize) -> usize;
    /// `LINE_CREATE` through the create procedure of `TSPI_providerEnumDevices`.
    fn create_line(&mut self, temp_id: usize);
    /// `LINE_REMOVE` through the create procedure.
    fn remove_line(&mut self, device_id: u32);
    /// Milliseconds since boot (`GetTickCount`), for LINE_GENERATE.
    fn tick(&mut self) -> u32;
}

/// A provider with its threads running.
pub struct Provider {
    shared: Arc<Shared>,
    connection: Option<Connection>,
    dispatcher: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    switch_info: String,
}

struct State {
    model: Model,
    link: Option<LinkSender>,
    /// Calls TAPI refused at LINE_NEWCALL (it wrote no handle): forgotten at the next chance.
    refused: Arc<Mutex<Vec<usize>>>,
    dispatch: Sender<Job>,
    store: Box<dyn LineIdStore>,
}

enum Job {
    Output(Output),
    Stop,
}

impl Provider {
    /// Starts the dispatcher and the connection to the gateway. `model` holds the lines
    /// reported to `TSPI_providerEnumDevices`, already numbered.
    pub fn start(
        config: &Config,
        model: Model,
        store: Box<dyn LineIdStore>,
        callbacks: Box<dyn Callbacks>,
    ) -> Self {
        let (dispatch, jobs) = mpsc::channel();
        let refused = Arc::new(Mutex::new(Vec::new()));
        let dispatcher_refused = Arc::clone(&refused);
        let dispatcher = thread::Builder::new()
            .name("tsp-dispatcher".to_owned())
            .spawn(move || dispatch_loop(&jobs, callbacks, &dispatcher_refused))
            .map_err(|error| tracing::error!(%error, "cannot start the dispatcher thread"))
            .ok();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                model,
                link: None,
                refused,
                dispatch,
                store,
            }),
            switch_info: format!("cti-gateway {}:{}", config.server, config.port),
        });
        let events: Arc<dyn LinkEvents> = shared.clone();
        let connection = Connection::spawn(config, events);
        Self {
            shared,
            connection: Some(connection),
            dispatcher,
        }
    }

    /// Runs a TSPI request against the model and performs what it returned.
    pub fn apply<T>(
        &self,
        request: impl FnOnce(&mut Model) -> Result<(T, Vec<Output>), i32>,
    ) -> Result<T, i32> {
        let mut state = self.shared.lock();
        let (value, outputs) = request(&mut state.model)?;
        state.perform(outputs);
        Ok(value)
    }

    /// Reads the model (the `TSPI_lineGet*` functions answer from this cache, never from the
    /// network).
    pub fn read<T>(&self, query: impl FnOnce(&Model) -> T) -> T {
        query(&self.shared.lock().model)
    }

    /// LINEDEVCAPS.dwSwitchInfo: which gateway serves the lines.
    pub fn switch_info(&self) -> &str {
        &self.shared.switch_info
    }

    /// Stops the connection, completes pending requests with an error, delivers the last
    /// callbacks and joins every thread. Nothing calls TAPI after this returns.
    pub fn shutdown(mut self) {
        if let Some(connection) = self.connection.take() {
            connection.shutdown();
        }
        {
            let mut state = self.shared.lock();
            state.link = None;
            let outputs = state.model.fail_all();
            state.perform(outputs);
            // Sending fails only if the dispatcher already ended; then there is nothing to stop.
            let _ = state.dispatch.send(Job::Stop);
        }
        if let Some(dispatcher) = self.dispatcher.take() {
            if dispatcher.join().is_err() {
                tracing::warn!("the dispatcher thread panicked");
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic inside a TSPI call is caught at the export; the state it leaves is still the
        // best the provider has, so a poisoned lock is taken over rather than propagated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl LinkEvents for Shared {
    fn link_up(&self, link: LinkSender) {
        tracing::info!(gateway = %self.switch_info, "logged in to the gateway");
        let mut state = self.lock();
        state.link = Some(link);
        state.model.link_up();
    }

    fn devices(&self, devices: Vec<Device>) {
        tracing::info!(lines = devices.len(), "device list received");
        let ids = {
            let mut state = self.lock();
            let outputs = state.model.set_devices(devices);
            state.perform(outputs);
            state.model.take_changed_ids()
        };
        if let Some(text) = ids {
            let state = self.lock();
            if let Err(error) = state.store.save(&text) {
                tracing::warn!(%error, "cannot persist the permanent line ids");
            }
        }
    }

    fn response(&self, invoke: u16, response: Response) {
        let mut state = self.lock();
        let outputs = state.model.response(invoke, response);
        state.perform(outputs);
    }

    fn call_event(&self, cross_ref: &str, event: CallEvent) {
        let mut state = self.lock();
        let outputs = state.model.call_event(cross_ref, event);
        state.perform(outputs);
    }

    fn device_event(&self, cross_ref: &str, event: DeviceEvent) {
        let mut state = self.lock();
        let outputs = state.model.device_event(cross_ref, event);
        state.perform(outputs);
    }

    fn messages_lost(&self) {
        let mut state = self.lock();
        let outputs = state.model.resync();
        state.perform(outputs);
    }

    fn link_down(&self) {
        tracing::info!(gateway = %self.switch_info, "link to the gateway lost");
        let mut state = self.lock();
        state.link = None;
        let outputs = state.model.link_down();
        state.perform(outputs);
    }
}

impl State {
    /// Queues the model's outputs; called with the state lock held, so the order of requests
    /// on the wire and of callbacks is the order the model produced them.
    fn perform(&mut self, outputs: Vec<Output>) {
        let refused: Vec<usize> = self
            .refused
            .lock()
            .map(|mut refused| refused.drain(..).collect())
            .unwrap_or_default();
        for call in refused {
            // TAPI never knew the call, so the ForgetCall output has no one to tell.
            let _ = self.model.close_call(call);
        }
        let mut queue: std::collections::VecDeque<Output> = outputs.into();
        while let Some(output) = queue.pop_front() {
            match output {
                Output::Send { invoke, request } => {
                    let sent = match &self.link {
                        Some(link) => link.send(invoke, &request),
                        None => Err(crate::connection::LinkError::Closed),
                    };
                    if let Err(error) = sent {
                        // The request never left: answer it here so TAPI still gets its one
                        // completion (an address CSTA cannot carry is the usual cause).
                        tracing::info!(invoke, %error, "request not sent");
                        let class = match error {
                            crate::connection::LinkError::Encode(_) => ErrorClass::InvalidAddress,
                            _ => ErrorClass::ResourceUnavailable,
                        };
                        queue.extend(self.model.response(invoke, Response::Error(class)));
                    }
                }
                Output::ListDevices => {
                    // Without a link there is nothing to ask: the next login lists the devices.
                    if let Some(link) = &self.link {
                        if let Err(error) = link.list_devices() {
                            tracing::debug!(%error, "device list not asked for");
                        }
                    }
                }
                other => {
                    if self.dispatch.send(Job::Output(other)).is_err() {
                        tracing::warn!("callback dropped: the dispatcher has stopped");
                    }
                }
            }
        }
    }
}

/// The dispatcher: performs callbacks one at a time and maps driver call handles to TAPI's.
fn dispatch_loop(
    jobs: &Receiver<Job>,
    mut callbacks: Box<dyn Callbacks>,
    refused: &Mutex<Vec<usize>>,
) {
    let mut tapi_calls: BTreeMap<usize, usize> = BTreeMap::new();
    while let Ok(Job::Output(output)) = jobs.recv() {
        match output {
            Output::Complete { request, result } => callbacks.completion(request, result),
            Output::NewCall { ht_line, call } => {
                let ht_call = callbacks.new_call(ht_line, call);
                if ht_call == 0 {
                    tracing::warn!(call, "TAPI refused a new call; its events are dropped");
                    if let Ok(mut refused) = refused.lock() {
                        refused.push(call);
                    }
                } else {
                    tapi_calls.insert(call, ht_call);
                }
            }
            Output::BindCall { call, ht_call } => {
                tapi_calls.insert(call, ht_call);
            }
            Output::ForgetCall { call } => {
                tapi_calls.remove(&call);
            }
            Output::Event {
                ht_line,
                call,
                msg,
                param1,
                param2,
                param3,
                param2_call,
            } => {
                let ht_call = match call {
                    None => 0,
                    Some(call) => match tapi_calls.get(&call) {
                        Some(ht_call) => *ht_call,
                        None => continue,
                    },
                };
                let param2 = match param2_call {
                    Some(parent) => tapi_calls.get(&parent).copied().unwrap_or(0),
                    None => param2,
                };
                // LINE_GENERATE carries the tick count of the moment TAPI hears about it.
                let param3 = if msg == msg::GENERATE {
                    callbacks.tick() as usize
                } else {
                    param3
                };
                callbacks.line_event(ht_line, ht_call, msg, param1, param2, param3);
            }
            Output::CreateLine { temp_id } => callbacks.create_line(temp_id),
            Output::RemoveLine { device_id } => callbacks.remove_line(device_id),
            Output::ListDevices | Output::Send { .. } => {}
        }
    }
}

/// The result of an async TSPI function: the request id, or the error, as TAPI expects.
pub fn async_result(request: u32, result: Result<(), i32>) -> i32 {
    match result {
        Ok(()) => i32::try_from(request).unwrap_or(err::OPERATIONFAILED),
        Err(code) => code,
    }
}
