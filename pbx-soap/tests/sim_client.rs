//! The real client against the simulator: every operation, and every call scenario with the
//! exact record sequences of the README tables, in the pbx800, pbx10_00 (rpc/encoded) and
//! pbx11_00 (doc/literal) dialects.
#![cfg(feature = "sim")]

mod sim_support;

use std::time::Duration;

use pbx_soap::client::{Destination, PickupTarget};
use pbx_soap::envelope::{FindUserRequest, WsdlVersion};
use pbx_soap::error::Error;
use pbx_soap::records::{Presence, PresenceStatus};
use pbx_soap::sim::{Directory, SimConfig, SimHandle};

use sim_support::{Monitor, quick, start};

async fn demo(wsdl: WsdlVersion) -> (SimHandle, Monitor) {
    let config = SimConfig {
        no_answer: Duration::from_millis(300),
        ..quick()
    };
    let sim = start(config, Directory::demo()).await;
    let monitor = Monitor::start(&sim, wsdl).await;
    (sim, monitor)
}

async fn basic_calls(wsdl: WsdlVersion) {
    let (sim, mut m) = demo(wsdl).await;
    let (anna, ben) = (m.watch("Anna Becker").await, m.watch("Ben Fischer").await);
    // Anna calls Ben with UserCall; Ben's phone accepts on UserConnect; Anna clears.
    let call = m
        .client
        .user_call(anna, &Destination::E164("202".into()), 0, "")
        .await
        .expect("user call");
    let anna_records = m.records(anna, 3).await;
    assert_eq!(
        anna_records[0].call, call,
        "UserCall returns the caller's call handle"
    );
    assert_eq!(
        anna_records
            .iter()
            .map(sim_support::line)
            .collect::<Vec<_>>(),
        [
            "r-setup 0x1 peer=202",
            "x-call-proc 0x3 peer=202",
            "x-alert 0x4 peer=202"
        ]
    );
    let ben_records = m.records(ben, 2).await;
    assert_eq!(
        ben_records
            .iter()
            .map(sim_support::line)
            .collect::<Vec<_>>(),
        ["x-setup 0x81 peer=201", "r-alert 0x84 peer=201"]
    );
    assert_eq!(
        anna_records[0].conf(),
        ben_records[0].conf(),
        "one conference id per call"
    );
    assert_eq!(anna_records[0].conf().map(str::len), Some(32));
    let calls = m
        .client
        .calls(m.session, "Ben Fischer")
        .await
        .expect("calls");
    assert_eq!(
        calls.iter().map(sim_support::line).collect::<Vec<_>>(),
        ["r-alert 0x84 peer=201"]
    );
    m.client
        .user_connect(ben_records[0].call)
        .await
        .expect("connect");
    assert_eq!(m.lines(ben, 1).await, ["r-conn 0x85 peer=201"]);
    assert_eq!(m.lines(anna, 1).await, ["x-conn 0x5 peer=202"]);
    m.client.user_clear(call, 0).await.expect("clear");
    assert_eq!(
        m.lines(anna, 2).await,
        ["r-rel 0x6 peer=202 cause=16", "del 0x6 peer=202 cause=16"]
    );
    assert_eq!(
        m.lines(ben, 2).await,
        ["x-rel 0x87 peer=201 cause=16", "del 0x87 peer=201 cause=16"]
    );

    // Ben rejects busy (UserClear with cause 17 on the ringing call).
    let call = sim.dial("201", "202").expect("dial");
    m.lines(anna, 3).await;
    let ringing = m.records(ben, 2).await[0].call;
    m.client.user_clear(ringing, 17).await.expect("reject");
    assert_eq!(
        m.lines(ben, 2).await,
        ["r-rel 0x86 peer=201 cause=17", "del 0x86 peer=201 cause=17"]
    );
    assert_eq!(
        m.lines(anna, 2).await,
        ["x-rel 0x7 peer=202 cause=17", "del 0x7 peer=202 cause=17"]
    );
    assert!(sim.conf(call).is_none());

    // Hold and retrieve through SOAP.
    let call = sim.dial("201", "202").expect("dial");
    sim.answer(call, "202").expect("answer");
    let anna_call = m.records(anna, 4).await[0].call;
    m.lines(ben, 3).await;
    m.client.user_hold(anna_call, false).await.expect("hold");
    assert_eq!(m.lines(anna, 1).await, ["r-fty 0x105 peer=202"]);
    assert_eq!(m.lines(ben, 1).await, ["x-fty 0x285 peer=201"]);
    m.client.user_retrieve(anna_call).await.expect("retrieve");
    assert_eq!(m.lines(anna, 1).await, ["r-fty 0x5 peer=202"]);
    assert_eq!(m.lines(ben, 1).await, ["x-fty 0x85 peer=201"]);
    // DTMF, UUI and INFO.
    m.client
        .user_dtmf(anna_call, false, "42")
        .await
        .expect("dtmf");
    assert_eq!(m.lines(anna, 1).await, ["r-info 0x5 peer=202 dtmf=42"]);
    assert_eq!(m.lines(ben, 1).await, ["x-info 0x85 peer=201 dtmf=42"]);
    m.client
        .user_uui(anna_call, true, "note")
        .await
        .expect("uui");
    assert_eq!(m.lines(anna, 1).await, ["x-info 0x5 peer=202 uui=note"]);
    m.client
        .user_info(anna_call, false, "1", "", "hello")
        .await
        .expect("info");
    assert_eq!(
        m.lines(ben, 1).await,
        ["x-info 0x85 peer=201 cdpn=1 dsp=hello"]
    );
    m.lines(anna, 1).await;
    // Display-only and media-only operations.
    m.client
        .user_ct_complete(anna_call, "299", "")
        .await
        .expect("ct complete");
    assert_eq!(m.lines(anna, 1).await, ["x-ct 0x5 peer=299"]);
    m.client.user_rc(anna_call, 14).await.expect("rc");
    m.client
        .user_media_transfer(anna_call, anna_call, true, true)
        .await
        .expect("media transfer");
    m.quiet(anna).await;
    // Ben hangs up.
    sim.hangup(call, "Ben Fischer").expect("hangup");
    assert_eq!(
        m.lines(ben, 2).await,
        ["r-rel 0x86 peer=201 cause=16", "del 0x86 peer=201 cause=16"]
    );
    assert_eq!(
        m.lines(anna, 2).await,
        ["x-rel 0x7 peer=299 cause=16", "del 0x7 peer=299 cause=16"]
    );
    // Caller gives up while it rings.
    let call = sim.dial("201", "202").expect("dial");
    sim.hangup(call, "201").expect("abandon");
    m.lines(anna, 5).await;
    assert_eq!(
        m.lines(ben, 4).await[2..],
        ["x-rel 0x87 peer=201 cause=16", "del 0x87 peer=201 cause=16"]
    );
    sim.shutdown().await;
}

async fn transfers(wsdl: WsdlVersion) {
    let (sim, mut m) = demo(wsdl).await;
    let anna = m.watch("Anna Becker").await;
    let ben = m.watch("Ben Fischer").await;
    let clara = m.watch("Clara Hoffmann").await;
    // Consultation transfer with UserTransfer: Ben calls Anna, Anna consults Clara.
    let first = sim.dial("Ben Fischer", "201").expect("dial");
    let held = m.records(anna, 2).await[0].call;
    m.client.user_connect(held).await.expect("answer");
    m.client.user_hold(held, false).await.expect("hold");
    let consult = m
        .client
        .user_call(anna, &Destination::Cn("Clara Hoffmann".into()), 0, "")
        .await
        .expect("consult");
    m.lines(anna, 5).await;
    let clara_call = m.records(clara, 2).await[0].call;
    m.client
        .user_connect(clara_call)
        .await
        .expect("Clara answers on her phone");
    m.lines(clara, 1).await;
    m.lines(anna, 1).await;
    m.lines(ben, 5).await;
    m.client
        .user_transfer(held, consult)
        .await
        .expect("transfer");
    assert_eq!(m.lines(ben, 1).await, ["r-ct 0x5 peer=203 ct=201"]);
    assert_eq!(m.lines(clara, 1).await, ["r-ct 0x85 peer=202 ct=201"]);
    assert_eq!(
        m.lines(anna, 4).await,
        [
            "r-rel 0x186 peer=202",
            "del 0x186 peer=202",
            "r-rel 0x6 peer=203",
            "del 0x6 peer=203"
        ]
    );
    sim.hangup(first, "203").expect("hangup");
    assert_eq!(
        m.lines(clara, 2).await[1],
        "del 0x86 peer=202 ct=201 cause=16"
    );
    assert_eq!(m.lines(ben, 2).await[1], "del 0x7 peer=203 ct=201 cause=16");

    // Blind transfer while the target rings, watched with xfer.
    let observer = m.watch_with("Anna Becker", true, false, "").await;
    let first = sim.dial("Ben Fischer", "201").expect("dial");
    sim.answer(first, "201").expect("answer");
    sim.hold(first, "201").expect("hold");
    let second = sim.dial("201", "203").expect("consult");
    m.clear().await;
    sim.transfer(first, second, "201")
        .expect("transfer while ringing");
    assert_eq!(
        m.lines(observer, 3).await,
        [
            "r-ct 0x84 peer=202 xfer=203",
            "r-rel 0x6 peer=203",
            "del 0x6 peer=203"
        ]
    );
    assert_eq!(m.lines(anna, 4).await[0], "r-rel 0x186 peer=202");
    sim.answer(first, "203").expect("answer");
    assert_eq!(
        m.lines(observer, 1).await,
        ["x-conn 0x85 peer=202 xfer=203"]
    );
    sim.hangup(first, "202").expect("hangup");
    assert_eq!(
        m.lines(observer, 2).await[1],
        "del 0x87 peer=202 xfer=203 cause=16"
    );

    // Redirect ignores the destination's forwards, reroute obeys them.
    m.client.admin(r#"<add-attrib><user cn="Clara Hoffmann"><cd type="cfu"><ep e164="204"/></cd></user></add-attrib>"#).await.expect("admin");
    let david = m.watch("David Klein").await;
    m.clear().await;
    sim.dial("201", "202").expect("dial");
    m.lines(anna, 3).await;
    let ringing = m.records(ben, 2).await[0].call;
    assert!(
        m.client
            .user_redirect(ringing, &Destination::E164("203".into()), 0)
            .await
            .expect("redirect")
    );
    assert_eq!(
        m.lines(ben, 2).await,
        ["x-rel 0x87 peer=201", "del 0x87 peer=201"]
    );
    let at_clara = m.records(clara, 2).await;
    assert_eq!(
        at_clara.iter().map(sim_support::line).collect::<Vec<_>>(),
        [
            "x-setup 0x81 peer=201 leg2orig=202 leg2=202",
            "r-alert 0x84 peer=201 leg2orig=202 leg2=202"
        ],
        "redirect ignores Clara's cfu"
    );
    assert_eq!(
        m.lines(anna, 1).await,
        ["x-alert 0x4 peer=203 leg2orig=202 leg2=202"]
    );
    let at_clara = at_clara[0].call;
    assert!(
        m.client
            .user_reroute(at_clara, &Destination::H323("ben".into()))
            .await
            .expect("reroute")
    );
    assert_eq!(
        m.lines(ben, 2).await[0],
        "x-setup 0x81 peer=201 leg2orig=202 leg2=203"
    );
    assert!(
        !m.client
            .user_redirect(at_clara, &Destination::E164("299".into()), 0)
            .await
            .expect("gone"),
        "the old leg is gone"
    );
    m.quiet(david).await;
    sim.shutdown().await;
}

/// Clara (203) took Anna's (201) call from Ben (202): Ben's leg in `ben_state` is cleared
/// with cause 26, and Anna sees `anna_line`.
async fn picked_from_ben(
    m: &mut Monitor,
    picked: i32,
    [clara, ben, anna]: [i32; 3],
    ben_state: i32,
    anna_line: &str,
) {
    assert_ne!(picked, 0);
    assert_eq!(
        m.lines(clara, 2).await,
        [
            "r-setup 0x1 peer=201 picking=- ct=202",
            "x-conn 0x5 peer=201 picking=- ct=202"
        ]
    );
    let cleared = format!("{ben_state:#x} peer=201 cause=26");
    assert_eq!(
        m.lines(ben, 2).await,
        [format!("x-rel {cleared}"), format!("del {cleared}")]
    );
    assert_eq!(m.lines(anna, 1).await, [anna_line]);
}

async fn park_and_pickup(wsdl: WsdlVersion) {
    let (sim, mut m) = demo(wsdl).await;
    let anna = m.watch("Anna Becker").await;
    let ben = m.watch("Ben Fischer").await;
    let clara = m.watch("Clara Hoffmann").await;
    let call = sim.dial("201", "202").expect("dial");
    sim.answer(call, "202").expect("answer");
    m.lines(anna, 4).await;
    let ben_call = m.records(ben, 3).await[0].call;
    let parked = m.client.user_park(ben_call, "", -1).await.expect("park");
    assert_ne!(parked, 0);
    assert_eq!(
        m.lines(ben, 3).await,
        [
            "x-fty 0x8 peer=201",
            "r-rel 0x86 peer=201 parked-to=202",
            "del 0x86 peer=201 parked-to=202"
        ]
    );
    assert_eq!(m.lines(anna, 1).await, ["x-fty 0x205 peer=202"]);
    let picked = m
        .client
        .user_pickup(clara, &PickupTarget::Call(parked))
        .await
        .expect("unpark");
    picked_from_ben(&mut m, picked, [clara, ben, anna], 0x7, "r-ct 0x5 peer=203").await;
    m.client.user_clear(picked, 16).await.expect("clear");
    m.clear().await;
    // Group pickup of a ringing call, then pickup by name finds nothing.
    sim.dial("201", "202").expect("dial");
    m.clear().await;
    let picked = m
        .client
        .user_pickup(clara, &PickupTarget::Group("office".into()))
        .await
        .expect("pickup");
    picked_from_ben(
        &mut m,
        picked,
        [clara, ben, anna],
        0x87,
        "x-conn 0x5 peer=203",
    )
    .await;
    for target in [
        PickupTarget::Cn("Ben Fischer".into()),
        PickupTarget::Implicit,
    ] {
        let nothing = m.client.user_pickup(clara, &target).await;
        assert!(
            matches!(nothing, Err(Error::Rejected { .. })),
            "nothing rings: {nothing:?}"
        );
    }
    sim.shutdown().await;
}

async fn special_objects_and_devices(wsdl: WsdlVersion) {
    let (sim, mut m) = demo(wsdl).await;
    let anna = m.watch("Anna Becker").await;
    let trunk = m.watch("Trunk").await;
    // An external caller through the trunk.
    let call = sim.external_call("0301234567", "201").expect("external");
    assert_eq!(
        m.lines(trunk, 3).await,
        [
            "r-setup 0x1 peer=201",
            "x-call-proc 0x3 peer=201",
            "x-alert 0x4 peer=201"
        ]
    );
    assert_eq!(
        m.lines(anna, 2).await,
        [
            "x-setup 0x81 peer=00301234567",
            "r-alert 0x84 peer=00301234567"
        ]
    );
    sim.answer(call, "201").expect("answer");
    assert_eq!(m.lines(trunk, 1).await, ["x-conn 0x5 peer=201"]);
    sim.hangup(call, "0301234567").expect("hangup");
    assert_eq!(
        m.lines(anna, 3).await[1..],
        [
            "x-rel 0x87 peer=00301234567 cause=16",
            "del 0x87 peer=00301234567 cause=16"
        ]
    );
    m.lines(trunk, 2).await;
    // An external number dialled through the trunk.
    let call = sim.dial("201", "0030999").expect("dial out");
    assert_eq!(
        m.lines(trunk, 2).await,
        ["x-setup 0x81 peer=201", "r-alert 0x84 peer=201"]
    );
    sim.answer(call, "030999").expect("the far end answers");
    assert_eq!(m.lines(anna, 4).await[3], "x-conn 0x5 peer=0030999");
    sim.hangup(call, "201").expect("hangup");
    m.clear().await;
    // A third-party phone: UserCall rings it first, then calls the destination.
    let greta = m.watch("Greta Neumann").await;
    let ben = m.watch("Ben Fischer").await;
    let call = m
        .client
        .user_call(greta, &Destination::E164("202".into()), 0, "")
        .await
        .expect("user call");
    assert_eq!(
        m.lines(greta, 2).await,
        ["x-setup 0x81 peer=202", "r-alert 0x84 peer=202"]
    );
    m.client
        .user_connect(call)
        .await
        .expect("ignored by third-party devices");
    m.quiet(greta).await;
    let reference = sim
        .with_model(|model, _| model.call_of_handle(call))
        .expect("call");
    sim.answer(reference, "207")
        .expect("Greta lifts the handset");
    assert_eq!(
        m.lines(greta, 2).await,
        ["r-conn 0x85 peer=202", "x-alert 0x85 peer=202"]
    );
    assert_eq!(
        m.lines(ben, 2).await,
        ["x-setup 0x81 peer=207", "r-alert 0x84 peer=207"]
    );
    sim.hangup(reference, "207").expect("hangup");
    m.clear().await;
    // The broadcast group rings its members; the queue answers itself.
    let (david, emma) = (m.watch("David Klein").await, m.watch("Emma Wagner").await);
    let call = sim.dial("201", "260").expect("group call");
    assert_eq!(
        m.lines(david, 2).await,
        [
            "x-setup 0x81 peer=201 leg2=260",
            "r-alert 0x84 peer=201 leg2=260"
        ]
    );
    sim.answer(call, "205").expect("Emma answers");
    assert_eq!(m.lines(emma, 3).await[2], "r-conn 0x85 peer=201 leg2=260");
    assert_eq!(
        m.lines(david, 2).await,
        [
            "x-rel 0x87 peer=201 leg2=260 cause=26",
            "del 0x87 peer=201 leg2=260 cause=26"
        ]
    );
    assert_eq!(m.lines(anna, 4).await[3], "x-conn 0x5 peer=205");
    sim.hangup(call, "201").expect("hangup");
    let hotline = m.watch("Hotline").await;
    sim.dial("202", "250").expect("queue call");
    assert_eq!(
        m.lines(hotline, 2).await,
        ["x-setup 0x81 peer=202", "r-conn 0x85 peer=202"]
    );
    // Clara's two devices ring together; handles per device see their own.
    let clara_phone = m
        .watch_with("Clara Hoffmann", false, false, "phone-203")
        .await;
    let clara_soft = m
        .watch_with("Clara Hoffmann", false, false, "soft-203")
        .await;
    let devices = m
        .client
        .devices(m.session, "Clara Hoffmann")
        .await
        .expect("devices");
    assert_eq!(
        devices.iter().map(|d| d.hw.as_str()).collect::<Vec<_>>(),
        ["phone-203", "soft-203"]
    );
    let call = sim.dial("201", "203").expect("dial");
    assert_eq!(m.lines(clara_soft, 2).await[1], "r-alert 0x84 peer=201");
    sim.answer_at(call, "203", "phone-203")
        .expect("answer at the desk phone");
    assert_eq!(m.lines(clara_phone, 3).await[2], "r-conn 0x85 peer=201");
    assert_eq!(
        m.lines(clara_soft, 2).await,
        ["x-rel 0x87 peer=201 cause=26", "del 0x87 peer=201 cause=26"]
    );
    sim.shutdown().await;
}

async fn forwards_and_presence(wsdl: WsdlVersion) {
    let (sim, mut m) = demo(wsdl).await;
    let (anna, ben, clara) = (
        m.watch("Anna Becker").await,
        m.watch("Ben Fischer").await,
        m.watch("Clara Hoffmann").await,
    );
    // cfnr set with Admin, applied after the no-answer time.
    let set = m.client.admin(r#"<add-attrib><user cn="Ben Fischer"><cd type="cfnr"><ep e164="203"/></cd></user></add-attrib>"#).await.expect("admin");
    assert_eq!(set, "<ok/>");
    assert!(
        m.user_infos("Ben Fischer", 1).await.iter().any(|u| u.cfg),
        "cfg posted"
    );
    let shown = m
        .client
        .admin(r#"<show><user cn="Ben Fischer"/></show>"#)
        .await
        .expect("show");
    assert!(
        shown.contains(r#"<cd type="cfnr"><ep e164="203"/></cd>"#),
        "{shown}"
    );
    let call = sim.dial("201", "202").expect("dial");
    m.lines(anna, 3).await;
    assert_eq!(
        m.lines(ben, 4).await[2..],
        ["x-rel 0x87 peer=201 cause=19", "del 0x87 peer=201 cause=19"],
        "no answer after 300 ms"
    );
    assert_eq!(
        m.lines(clara, 2).await[0],
        "x-setup 0x81 peer=201 leg2orig=202 leg2=202"
    );
    assert_eq!(
        m.lines(anna, 1).await,
        ["x-alert 0x4 peer=203 leg2orig=202 leg2=202"]
    );
    sim.hangup(call, "201").expect("hangup");
    m.client
        .admin(r#"<del-attrib><user cn="Ben Fischer"><cd type="cfnr"/></user></del-attrib>"#)
        .await
        .expect("admin");
    m.clear().await;
    // A forward set on the phone posts cfg; cleared on the phone it posts nothing.
    sim.set_forward("Ben Fischer", pbx_soap::sim::ForwardKind::Busy, Some("203"))
        .expect("cfb");
    assert!(m.user_infos("Ben Fischer", 1).await[0].cfg);
    sim.set_forward("Ben Fischer", pbx_soap::sim::ForwardKind::Busy, None)
        .expect("clear");
    while m.poll().await {}
    assert!(m.users.iter().all(|u| u.cn != "Ben Fischer"));
    // SetPresence by name; dnd rejects calls as busy.
    let dnd = Presence {
        status: Some(PresenceStatus::Open),
        activity: Some("dnd".into()),
        note: Some("focus".into()),
    };
    assert!(
        m.client
            .set_presence(&dnd, false, "", "*", "ben")
            .await
            .expect("presence")
    );
    let posted = m.user_infos("Ben Fischer", 1).await;
    assert_eq!(
        posted[0].presence.as_ref(),
        Some(&dnd),
        "every revision here has v800"
    );
    sim.dial("201", "202").expect("dial");
    assert_eq!(
        m.lines(anna, 4).await[2..],
        ["x-rel 0x7 peer=202 cause=17", "del 0x7 peer=202 cause=17"]
    );
    assert!(
        !m.client
            .set_presence(&dnd, false, "", "*", "nobody")
            .await
            .expect("unknown")
    );
    sim.shutdown().await;
}

async fn directory_and_session_operations(wsdl: WsdlVersion) {
    let (sim, mut m) = demo(wsdl).await;
    let version = m.client.version().await.expect("version");
    assert_eq!(
        (version.wsdl_version, version.location.as_str()),
        (1000, "master")
    );
    assert!(
        version.serial_number.starts_with("00-90-33-"),
        "{}",
        version.serial_number
    );
    assert_eq!(
        m.client.license(m.session, "Port").await.expect("license"),
        ""
    );
    let page = m
        .client
        .find_user(&FindUserRequest {
            cn: "Anna".into(),
            count: 3,
            ..FindUserRequest::default()
        })
        .await
        .expect("find");
    assert_eq!(
        page.iter().map(|u| u.cn.as_str()).collect::<Vec<_>>(),
        ["Anna Becker", "Ben Fischer", "Clara Hoffmann"]
    );
    let next = m
        .client
        .find_user(&FindUserRequest {
            cn: "Clara Hoffmann".into(),
            count: 1,
            next: true,
            ..FindUserRequest::default()
        })
        .await
        .expect("next");
    assert_eq!(next[0].cn, "David Klein");
    let all = m.client.find_all_users().await.expect("all");
    assert_eq!(all.len(), 26, "every object but the hidden monitoring user");
    let hidden = m
        .client
        .find_user(&FindUserRequest {
            cn: "_".into(),
            count: 1,
            nohide: true,
            ..FindUserRequest::default()
        })
        .await
        .expect("nohide");
    assert_eq!(hidden[0].cn, "_TAPI_");
    let by_number = m
        .client
        .find_user(&FindUserRequest {
            e164: "8301".into(),
            count: 1,
            ..FindUserRequest::default()
        })
        .await
        .expect("number");
    assert_eq!(by_number[0].cn, "Vera Richter");
    assert_eq!(
        (by_number[0].node.as_str(), by_number[0].nodenum.as_str()),
        ("berlin", "8")
    );
    let vera = m.watch("Vera Richter").await;
    assert_eq!(
        m.client
            .user_local_num(vera, "8302")
            .await
            .expect("local num"),
        "302"
    );
    let anna = m.watch("Anna Becker").await;
    let (incomplete, found) = m
        .client
        .user_find_destination(anna, "830", "")
        .await
        .expect("find destination");
    assert!(incomplete && found.is_none());
    let (incomplete, found) = m
        .client
        .user_find_destination(anna, "8303", "")
        .await
        .expect("find destination");
    assert!(!incomplete);
    assert_eq!(found.map(|u| u.cn).as_deref(), Some("Xenia Vogel"));
    assert_eq!(
        m.client.location_url("", false).await.expect("own url"),
        sim.url()
    );
    assert!(
        m.client
            .user_license(&all[0].guid, "Port")
            .await
            .expect("license")
    );
    assert_ne!(
        m.client
            .user_message(anna, "202", "", "hi", "", "")
            .await
            .expect("message"),
        0
    );
    assert!(matches!(
        m.client.user_message(anna, "299", "", "hi", "", "").await,
        Err(Error::Rejected { .. })
    ));
    let unknown = m
        .client
        .user_initialize(m.session, "Nobody", false, false, "")
        .await;
    assert!(
        matches!(unknown, Err(Error::Rejected { .. })),
        "{unknown:?}"
    );
    let ghost = m
        .client
        .user_initialize(m.session, "Anna Becker", false, false, "no-such-device")
        .await
        .expect("ghost");
    assert_ne!(ghost, 0, "a handle even for a device that does not exist");
    // Admin add and del move objects in and out of the session's scope.
    m.clear().await;
    let added = m
        .client
        .admin(
            r#"<add><user cn="Temp" e164="230"><grp name="tapi"/><device hw="t1"/></user></add>"#,
        )
        .await
        .expect("add");
    assert_eq!(added, "<ok/>");
    assert!(m.user_infos("Temp", 1).await[0].active);
    assert_eq!(
        m.client
            .admin(r#"<del><user cn="Temp"/></del>"#)
            .await
            .expect("del"),
        "<ok/>"
    );
    assert!(
        !m.user_infos("Temp", 1).await[0].active,
        "a final inactive record"
    );
    assert!(
        m.client
            .admin("<show>")
            .await
            .expect("bad xml")
            .starts_with("<error reason=\"malformed xml")
    );
    // UserEnd stops the records; End ends the session.
    m.client.user_end(anna).await.expect("user end");
    sim.dial("201", "202").expect("dial");
    m.quiet(anna).await;
    let session = pbx_soap::client::Session {
        handle: m.session,
        key: m.key,
    };
    assert!(m.client.echo(session).await.expect("echo"));
    m.client.end(m.session).await.expect("end");
    assert!(!m.client.echo(session).await.expect("echo"));
    assert_eq!(sim.session_count(), 0);
    sim.shutdown().await;
}

macro_rules! in_every_dialect {
    ($($scenario:ident),*) => {
        mod pbx800 {
            $(#[tokio::test] async fn $scenario() { super::$scenario(pbx_soap::envelope::WsdlVersion::Pbx800).await })*
        }
        mod pbx1000 {
            $(#[tokio::test] async fn $scenario() { super::$scenario(pbx_soap::envelope::WsdlVersion::Pbx1000).await })*
        }
        mod pbx1100 {
            $(#[tokio::test] async fn $scenario() { super::$scenario(pbx_soap::envelope::WsdlVersion::Pbx1100).await })*
        }
    };
}

in_every_dialect!(
    basic_calls,
    transfers,
    park_and_pickup,
    special_objects_and_devices,
    forwards_and_presence,
    directory_and_session_operations
);
