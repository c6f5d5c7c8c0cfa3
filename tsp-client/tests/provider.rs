//! The provider core against the scripted CSTA gateway over real TCP and TLS on 127.0.0.1:
//! login, device list, lines created and removed, calls in both directions, requests with
//! one completion each, link loss and reconnect, permanent ids across restarts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use scripted_gateway::{Line, Script, ScriptedGateway};
use tsp_client::config::{Config, RawConfig};
use tsp_client::connection::{LinkError, check_reachable};
use tsp_client::line_ids::{FileStore, LineIdStore, LineIds};
use tsp_client::model::{Model, Party};
use tsp_client::provider::{Callbacks, Provider};
use tsp_client::tapi::{call_state, dev_state, msg};

/// Every wait is bounded; the scripted gateway answers in milliseconds.
const LIMIT: Duration = Duration::from_secs(10);
const HT_LINE: usize = 0x7_0000_0001;

#[derive(Clone, Debug, PartialEq)]
enum Record {
    Complete(u32, i32),
    Event {
        ht_line: usize,
        ht_call: usize,
        msg: u32,
        param1: usize,
        param2: usize,
    },
    NewCall(usize),
    Create(usize),
    Remove(u32),
}

/// Records callbacks and checks that they never overlap.
#[derive(Clone, Default)]
struct Recorder {
    records: Arc<(Mutex<Vec<Record>>, Condvar)>,
    inside: Arc<AtomicBool>,
    next_call: Arc<AtomicUsize>,
}

impl Recorder {
    fn push(&self, record: Record) {
        assert!(
            !self.inside.swap(true, Ordering::SeqCst),
            "callbacks overlap"
        );
        let (records, changed) = &*self.records;
        records.lock().unwrap().push(record);
        changed.notify_all();
        self.inside.store(false, Ordering::SeqCst);
    }

    fn snapshot(&self) -> Vec<Record> {
        self.records.0.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the records; panics with them when it does not in time.
    fn wait(&self, what: &str, done: impl Fn(&[Record]) -> bool) -> Vec<Record> {
        let deadline = Instant::now() + LIMIT;
        let (records, changed) = &*self.records;
        let mut guard = records.lock().unwrap();
        while !done(&guard) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; callbacks: {:#?}",
                *guard
            );
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
        guard.clone()
    }
}

impl Callbacks for Recorder {
    fn completion(&mut self, request: u32, result: i32) {
        self.push(Record::Complete(request, result));
    }

    fn line_event(
        &mut self,
        ht_line: usize,
        ht_call: usize,
        msg: u32,
        param1: usize,
        param2: usize,
        _: usize,
    ) {
        self.push(Record::Event {
            ht_line,
            ht_call,
            msg,
            param1,
            param2,
        });
    }

    fn new_call(&mut self, _: usize, _: usize) -> usize {
        let ht_call = 0x9_0000_0000 + self.next_call.fetch_add(1, Ordering::SeqCst);
        self.push(Record::NewCall(ht_call));
        ht_call
    }

    fn create_line(&mut self, temp_id: usize) {
        self.push(Record::Create(temp_id));
    }

    fn remove_line(&mut self, device_id: u32) {
        self.push(Record::Remove(device_id));
    }

    fn tick(&mut self) -> u32 {
        0
    }
}

fn config(gateway: &ScriptedGateway, password: &str) -> Config {
    Config::from_raw(RawConfig {
        server: Some("127.0.0.1".to_owned()),
        port: Some(u32::from(gateway.addr().port())),
        user: Some("tsp".to_owned()),
        password: Some(password.to_owned()),
        reconnect_max_seconds: Some(1),
        ..RawConfig::default()
    })
    .unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tsp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn store(&self) -> FileStore {
        FileStore::new(self.0.join("lines.txt"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A provider as TAPISRV starts it: the lines known from the store, numbered from 0.
fn start(config: &Config, store: FileStore, recorder: &Recorder) -> (Provider, usize) {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::DEBUG)
        .try_init();
    let ids = store
        .load()
        .unwrap()
        .map(|text| LineIds::decode(&text).unwrap())
        .unwrap_or_default();
    let mut model = Model::new(ids, config.line_filter.clone());
    model.set_device_id_base(0);
    let lines = model.line_count();
    (
        Provider::start(config, model, Box::new(store), Box::new(recorder.clone())),
        lines,
    )
}

fn creates(records: &[Record]) -> Vec<usize> {
    records
        .iter()
        .filter_map(|record| match record {
            Record::Create(temp_id) => Some(*temp_id),
            _ => None,
        })
        .collect()
}

fn count_state(records: &[Record], state: u32) -> usize {
    records
        .iter()
        .filter(|record| matches!(record, Record::Event { msg: msg::CALLSTATE, param1, .. } if *param1 == state as usize))
        .count()
}

/// Creates the announced lines as TAPI would and opens the one for `device`.
fn open(provider: &Provider, recorder: &Recorder, device: &str, count: usize) -> usize {
    let records = recorder.wait("LINE_CREATE for every line", |r| creates(r).len() >= count);
    for (index, temp_id) in creates(&records).into_iter().enumerate() {
        let device_id = u32::try_from(index).unwrap();
        provider
            .apply(|model| {
                model
                    .create_line(temp_id, device_id)
                    .map(|()| ((), Vec::new()))
            })
            .unwrap();
    }
    let device_id = (0..u32::try_from(count).unwrap())
        .find(|id| {
            provider
                .read(|model| model.line_by_device(*id))
                .map(|line| line.address)
                == Some(device.to_owned())
        })
        .expect("line exists");
    provider
        .apply(|model| model.open_line(device_id, HT_LINE))
        .unwrap()
}

fn wait_monitored(gateway: &ScriptedGateway, device: &str) {
    assert!(
        gateway.wait_until(LIMIT, |gw| gw.monitored(device)),
        "no monitor on {device}: {:?}",
        gateway.log()
    );
}

#[test]
fn incoming_call_is_offered_answered_held_retrieved_and_dropped() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("incoming");
    let recorder = Recorder::default();
    let (provider, known) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    assert_eq!(known, 0, "first start knows no lines");
    let line = open(&provider, &recorder, "201", 3);
    wait_monitored(&gateway, "201");

    let call = gateway.ring("201", "+4930123456");
    let records = recorder.wait("OFFERING", |r| count_state(r, call_state::OFFERING) == 1);
    let ht_call = match records.iter().position(|r| matches!(r, Record::NewCall(_))) {
        Some(index) => {
            let offering = &records[index + 1];
            assert!(
                matches!(
                    offering,
                    Record::Event {
                        msg: msg::CALLSTATE,
                        param1: 2,
                        param2: 1,
                        ht_line: HT_LINE,
                        ..
                    }
                ),
                "LINE_NEWCALL is followed by OFFERING/ACTIVE: {offering:?}"
            );
            match records[index] {
                Record::NewCall(ht_call) => ht_call,
                _ => unreachable!(),
            }
        }
        None => panic!("no LINE_NEWCALL: {records:?}"),
    };
    assert!(records.iter().all(
        |r| !matches!(r, Record::Event { ht_call: other, .. } if *other != 0 && *other != ht_call)
    ));
    let hd_call = provider
        .read(|model| {
            (0x1000..0x1100)
                .find(|hd| model.call(*hd).map(|view| view.state) == Some(call_state::OFFERING))
        })
        .expect("the call is known");
    let view = provider.read(|model| model.call(hd_call)).unwrap();
    assert_eq!(view.caller, Some(Party::Known("+4930123456".to_owned())));

    provider
        .apply(|model| model.answer(11, hd_call).map(|out| ((), out)))
        .unwrap();
    recorder.wait("answer completion and CONNECTED", |r| {
        r.contains(&Record::Complete(11, 0)) && count_state(r, call_state::CONNECTED) == 1
    });
    provider
        .apply(|model| model.hold(12, hd_call).map(|out| ((), out)))
        .unwrap();
    recorder.wait("ONHOLD", |r| {
        r.contains(&Record::Complete(12, 0)) && count_state(r, call_state::ONHOLD) == 1
    });
    provider
        .apply(|model| model.unhold(13, hd_call).map(|out| ((), out)))
        .unwrap();
    recorder.wait("CONNECTED again", |r| {
        r.contains(&Record::Complete(13, 0)) && count_state(r, call_state::CONNECTED) == 2
    });
    provider
        .apply(|model| model.drop_call(14, hd_call).map(|out| ((), out)))
        .unwrap();
    let records = recorder.wait("IDLE", |r| {
        r.contains(&Record::Complete(14, 0)) && count_state(r, call_state::IDLE) == 1
    });
    assert!(records.iter().all(|r| !matches!(
        r,
        Record::Event {
            ht_call: 0,
            msg: msg::CALLSTATE,
            ..
        }
    )));
    assert!(
        gateway
            .log()
            .contains(&format!("ClearConnection:{call}@201"))
    );
    let _ = line;
    provider.shutdown();
    let after = recorder.snapshot().len();
    assert!(
        gateway.wait_until(LIMIT, |gw| gw
            .log()
            .contains(&"StopApplicationSession".to_owned())),
        "the session is ended: {:?}",
        gateway.log()
    );
    assert!(
        gateway.wait_until(LIMIT, |gw| !gw.monitored("201")),
        "the connection is closed"
    );
    gateway.ring("201", "+4930999");
    assert_eq!(
        recorder.snapshot().len(),
        after,
        "no callback after shutdown"
    );
}

#[test]
fn make_call_completes_before_any_event_of_the_new_call() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("make");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    let line = open(&provider, &recorder, "201", 3);
    wait_monitored(&gateway, "201");
    let ht_call = 0x8_0000_0042;
    let before = recorder.snapshot().len();
    let hd_call = provider
        .apply(|model| model.make_call(21, line, ht_call, "202"))
        .unwrap();
    let records = recorder.wait("CONNECTED", |r| count_state(r, call_state::CONNECTED) == 1);
    let new: Vec<&Record> = records[before..].iter().collect();
    assert_eq!(
        new[0],
        &Record::Complete(21, 0),
        "the completion comes first: {new:?}"
    );
    let states: Vec<usize> = new[1..]
        .iter()
        .filter_map(|r| match r {
            Record::Event {
                msg: msg::CALLSTATE,
                ht_call: call,
                param1,
                ..
            } => {
                assert_eq!(*call, ht_call, "events use TAPI's handle");
                Some(*param1)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [0x8, 0x10, 0x20, 0x100],
        "DIALTONE, DIALING, RINGBACK, CONNECTED"
    );
    assert!(
        new.iter().all(|r| !matches!(r, Record::NewCall(_))),
        "no LINE_NEWCALL for a made call"
    );
    assert!(provider.read(|model| model.call(hd_call)).is_some());
    // A refused destination completes with LINEERR_INVALADDRESS.
    provider
        .apply(|model| model.make_call(22, line, ht_call + 1, "999"))
        .unwrap();
    recorder.wait("refused MakeCall", |r| {
        r.contains(&Record::Complete(22, tsp_client::tapi::err::INVALADDRESS))
    });
    provider.shutdown();
}

#[test]
fn link_loss_takes_lines_out_of_service_and_reconnect_brings_them_back() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("reconnect");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    open(&provider, &recorder, "202", 3);
    wait_monitored(&gateway, "202");
    gateway.ring("202", "203");
    recorder.wait("OFFERING", |r| count_state(r, call_state::OFFERING) == 1);

    gateway.disconnect_all();
    let dev_state = |state: u32| {
        move |r: &[Record]| {
            r.iter()
                .filter(|record| matches!(record, Record::Event { msg: msg::LINEDEVSTATE, param1, .. } if *param1 == state as usize))
                .count()
        }
    };
    recorder.wait("OUTOFSERVICE and the call gone", |r| {
        dev_state(dev_state::OUTOFSERVICE)(r) == 1 && count_state(r, call_state::IDLE) == 1
    });
    recorder.wait("INSERVICE after the reconnect", |r| {
        dev_state(dev_state::INSERVICE)(r) == 1
    });
    assert_eq!(gateway.logins(), 2);
    assert!(gateway.monitored("202"), "the monitor was restarted");
    // The call still rings at the gateway: the snapshot brings it back as a new TAPI call.
    let records = recorder.wait("the ringing call re-introduced", |r| {
        count_state(r, call_state::OFFERING) == 2
    });
    let new_calls = records
        .iter()
        .filter(|r| matches!(r, Record::NewCall(_)))
        .count();
    assert_eq!(new_calls, 2);
    assert!(gateway.log().contains(&"SnapshotDevice:202".to_owned()));
    // No second LINE_CREATE: the same lines came back.
    assert_eq!(creates(&recorder.snapshot()).len(), 3);
    provider.shutdown();
}

#[test]
fn a_session_the_gateway_ends_is_started_again() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("terminated");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    open(&provider, &recorder, "201", 3);
    wait_monitored(&gateway, "201");
    gateway.terminate_sessions();
    let dev_state = |state: u32, r: &[Record]| {
        r.iter()
            .filter(|record| {
                matches!(record, Record::Event { msg: msg::LINEDEVSTATE, param1, .. } if *param1 == state as usize)
            })
            .count()
    };
    recorder.wait("OUTOFSERVICE and INSERVICE again", |r| {
        dev_state(dev_state::OUTOFSERVICE, r) == 1 && dev_state(dev_state::INSERVICE, r) == 1
    });
    assert_eq!(gateway.logins(), 2);
    provider.shutdown();
}

#[test]
fn device_list_changes_create_and_remove_lines() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("devices");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    open(&provider, &recorder, "201", 3);
    gateway.set_lines(vec![Line::new("201"), Line::new("202"), Line::new("204")]);
    let records = recorder.wait("LINE_CREATE 4 and LINE_REMOVE", |r| {
        creates(r).len() == 4 && r.iter().any(|record| matches!(record, Record::Remove(_)))
    });
    let removed = records.iter().find_map(|r| match r {
        Record::Remove(id) => Some(*id),
        _ => None,
    });
    assert_eq!(
        provider.read(|model| model.line_by_device(removed.unwrap())),
        None,
        "the removed line is gone"
    );
    provider.shutdown();
}

#[test]
fn permanent_ids_survive_restarts_and_renumbering() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("ids");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    open(&provider, &recorder, "201", 3);
    let first: Vec<(String, u32)> = provider.read(|model| {
        (0..3)
            .filter_map(|id| model.line_by_device(id))
            .map(|line| (line.address, line.permanent_id))
            .collect()
    });
    provider.shutdown();
    gateway.stop();

    // Restart: the lines are reported before any connection, with the same ids.
    let mut renumbered = Script::standard();
    renumbered.lines[0].id = "301".to_owned();
    let gateway = ScriptedGateway::start(renumbered).unwrap();
    let recorder = Recorder::default();
    let (provider, known) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    assert_eq!(known, 3);
    let before: Vec<(String, u32)> = provider.read(|model| {
        (0..3)
            .filter_map(|id| model.line_by_device(id))
            .map(|line| (line.address, line.permanent_id))
            .collect()
    });
    assert_eq!(before, first);
    let line = provider.apply(|model| model.open_line(0, HT_LINE)).unwrap();
    assert!(
        gateway.wait_until(LIMIT, |gw| gw.monitored("301")),
        "{:?}",
        gateway.log()
    );
    let after = provider.read(|model| model.line_by_handle(line)).unwrap();
    assert_eq!(
        (after.address.as_str(), after.permanent_id),
        ("301", first[0].1)
    );
    assert!(
        creates(&recorder.snapshot()).is_empty(),
        "no new line for a renumbered one"
    );
    provider.shutdown();
}

#[test]
fn refused_login_keeps_the_lines_out_of_service() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("refused");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "wrong"), dir.store(), &recorder);
    assert!(gateway.wait_until(LIMIT, |gw| {
        gw.log()
            .iter()
            .filter(|l| *l == "StartApplicationSession:refused")
            .count()
            >= 2
    }));
    assert_eq!(gateway.logins(), 0);
    assert!(creates(&recorder.snapshot()).is_empty());
    provider.shutdown();
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tls_config(gateway: &ScriptedGateway, ca: &str, name: &str) -> Config {
    Config::from_raw(RawConfig {
        server: Some("127.0.0.1".to_owned()),
        port: Some(u32::from(gateway.addr().port())),
        tls: Some(1),
        tls_ca_file: Some(fixture(ca).display().to_string()),
        tls_server_name: Some(name.to_owned()),
        user: Some("tsp".to_owned()),
        password: Some("secret".to_owned()),
        reconnect_max_seconds: Some(1),
        ..RawConfig::default()
    })
    .unwrap()
}

#[test]
fn tls_link_carries_calls_and_untrusted_certificates_are_refused() {
    let gateway = ScriptedGateway::start_tls(
        Script::standard(),
        &fixture("gateway.pem"),
        &fixture("gateway.key"),
    )
    .unwrap();
    check_reachable(&tls_config(&gateway, "ca.pem", "localhost")).unwrap();
    assert!(matches!(
        check_reachable(&tls_config(&gateway, "other-ca.pem", "localhost")),
        Err(LinkError::Tls(_))
    ));
    assert!(matches!(
        check_reachable(&tls_config(&gateway, "ca.pem", "gateway.example")),
        Err(LinkError::Tls(_))
    ));
    assert!(matches!(
        check_reachable(&tls_config(&gateway, "missing.pem", "localhost")),
        Err(LinkError::CaFile { .. })
    ));

    let dir = TempDir::new("tls");
    let recorder = Recorder::default();
    let (provider, _) = start(
        &tls_config(&gateway, "ca.pem", "localhost"),
        dir.store(),
        &recorder,
    );
    open(&provider, &recorder, "203", 3);
    wait_monitored(&gateway, "203");
    gateway.ring("203", "201");
    recorder.wait("OFFERING over TLS", |r| {
        count_state(r, call_state::OFFERING) == 1
    });
    provider.shutdown();
}

fn dev_states(records: &[Record], state: u32) -> usize {
    records
        .iter()
        .filter(|record| {
            matches!(record, Record::Event { msg: msg::LINEDEVSTATE, param1, .. } if *param1 == state as usize)
        })
        .count()
}

fn count(log: &[String], entry: &str) -> usize {
    log.iter().filter(|line| *line == entry).count()
}

#[test]
fn a_devices_changed_notice_makes_the_provider_list_the_lines_again() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("announced");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    open(&provider, &recorder, "201", 3);
    wait_monitored(&gateway, "201");
    gateway.announce_lines(vec![Line::new("201"), Line::new("202"), Line::new("204")]);
    recorder.wait("LINE_CREATE for 204 and LINE_REMOVE for 203", |r| {
        creates(r).len() == 4 && r.iter().any(|record| matches!(record, Record::Remove(_)))
    });
    let log = gateway.log();
    assert_eq!(
        count(&log, "SwFunctionDevicesChangedResponse"),
        1,
        "{log:?}"
    );
    assert_eq!(count(&log, "GetSwitchingFunctionDevices"), 2, "{log:?}");
    provider.shutdown();
}

#[test]
fn a_restarted_gateway_that_lists_no_lines_yet_takes_none_away() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("empty-list");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    open(&provider, &recorder, "202", 3);
    wait_monitored(&gateway, "202");
    gateway.restart_with(Vec::new());
    assert!(gateway.wait_until(LIMIT, |gw| {
        count(&gw.log(), "GetSwitchingFunctionDevices") == 2
    }));
    recorder.wait("OUTOFSERVICE", |r| {
        dev_states(r, dev_state::OUTOFSERVICE) == 1
    });
    // The gateway's PBX link is up: it announces its lines.
    gateway.announce_lines(Script::standard().lines);
    recorder.wait("INSERVICE", |r| dev_states(r, dev_state::INSERVICE) == 1);
    wait_monitored(&gateway, "202");
    let records = recorder.snapshot();
    assert!(
        !records.iter().any(|r| matches!(r, Record::Remove(_))),
        "no LINE_REMOVE: {records:?}"
    );
    assert_eq!(creates(&records).len(), 3, "no new LINE_CREATE");
    provider.shutdown();
}

#[test]
fn lost_messages_bring_the_calls_up_to_date() {
    let gateway = ScriptedGateway::start(Script::standard()).unwrap();
    let dir = TempDir::new("lost");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    open(&provider, &recorder, "201", 3);
    wait_monitored(&gateway, "201");
    let call = gateway.ring("201", "+4930123");
    recorder.wait("OFFERING", |r| count_state(r, call_state::OFFERING) == 1);
    // Answered at the phone, and the events were lost on the way.
    gateway.connect_silently(&call);
    gateway.lose_messages();
    recorder.wait("CONNECTED from the snapshot", |r| {
        count_state(r, call_state::CONNECTED) == 1
    });
    let log = gateway.log();
    assert_eq!(count(&log, "SystemStatusResponse"), 1, "{log:?}");
    assert_eq!(count(&log, "SnapshotDevice:201"), 2, "{log:?}");
    assert!(
        gateway.wait_until(LIMIT, |gw| count(&gw.log(), "GetSwitchingFunctionDevices")
            == 2),
        "the device list is asked for again: {:?}",
        gateway.log()
    );
    provider.shutdown();
}

#[test]
fn a_line_listed_out_of_service_is_listed_again_once_monitored() {
    let mut script = Script::standard();
    script.lines[1].in_service = false;
    let gateway = ScriptedGateway::start(script).unwrap();
    let dir = TempDir::new("listed-out");
    let recorder = Recorder::default();
    let (provider, _) = start(&config(&gateway, "secret"), dir.store(), &recorder);
    let line = open(&provider, &recorder, "202", 3);
    wait_monitored(&gateway, "202");
    assert!(
        gateway.wait_until(LIMIT, |gw| count(&gw.log(), "GetSwitchingFunctionDevices")
            == 2),
        "the list is asked for again: {:?}",
        gateway.log()
    );
    assert!(
        !provider
            .read(|model| model.line_by_handle(line))
            .unwrap()
            .in_service
    );
    provider.shutdown();
}
