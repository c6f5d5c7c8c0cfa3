//! Settings of a simulated PBX: where it listens, how it authenticates, and the behaviour the
//! spec leaves open (timeouts, batch sizes, message names).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::envelope::ArrayNaming;
use crate::records::Msg;
use crate::sim::SimError;

/// How the simulator challenges HTTP clients (the PBX supports Digest, and Basic only
/// when the box option "allow HTTP basic authentication" is on).
///
/// Exhaustive: these are the two schemes of HTTP authentication the PBX speaks.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum AuthMode {
    /// Challenge with Basic; Basic and Digest credentials are both accepted.
    #[default]
    Basic,
    /// Challenge with Digest (MD5, `qop=auth`); Basic credentials are refused.
    Digest,
}

/// A certificate chain and its private key in PEM, for HTTPS.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TlsPem {
    /// One or more `CERTIFICATE` blocks, leaf first.
    pub cert_chain: String,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: String,
}

impl TlsPem {
    /// A fresh self-signed certificate for the given names (`localhost`, `127.0.0.1`, ...),
    /// for labs and tests; clients must trust it explicitly.
    pub fn self_signed(names: &[&str]) -> Result<Self, SimError> {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let certified = rcgen::generate_simple_self_signed(names).map_err(SimError::Certificate)?;
        Ok(Self {
            cert_chain: certified.cert.pem(),
            private_key: certified.signing_key.serialize_pem(),
        })
    }
}

/// Message names the model uses where the PBX's spelling is not documented; each can be
/// changed to exercise a client's tolerance.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Vocabulary {
    /// Sent to a caller after `r-setup` while the PBX routes the call; `None` skips it.
    pub call_proc: Option<Msg>,
    /// On the leg whose user holds or retrieves.
    pub hold: Msg,
    /// On the peer's leg when it is held, retrieved or parked.
    pub held: Msg,
    /// On a leg whose peer changed by a transfer or an unpark.
    pub transferred: Msg,
    /// On the new leg of a parked call.
    pub parked: Msg,
    /// On a leg after `UserCtComplete` (display update).
    pub ct_complete: Msg,
    /// On the leg of a user who sends DTMF or INFO.
    pub info_sent: Msg,
    /// On the leg that receives DTMF, INFO or UUI.
    pub info_received: Msg,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Self {
            call_proc: Some(Msg::XCallProc),
            hold: Msg::RFacility,
            held: Msg::XFacility,
            transferred: Msg::RCt,
            parked: Msg::XFacility,
            ct_complete: Msg::XCt,
            info_sent: Msg::RInfo,
            info_received: Msg::XInfo,
        }
    }
}

/// What `Version` reports.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PbxIdentity {
    /// `WSDLVersion`.
    pub wsdl_version: i32,
    /// `GatekeeperID`; also the `domain` of pbx10 UserInfos.
    pub gatekeeper_id: String,
    /// `FirmwareVersion`.
    pub firmware: String,
    /// `SerialNumber`.
    pub serial: String,
}

impl Default for PbxIdentity {
    fn default() -> Self {
        Self {
            wsdl_version: 1000,
            gatekeeper_id: "sim.pbx.example".to_owned(),
            firmware: "13r3 sr12 IP811[13.6012], Bootcode[13.6012], Hardware[811]".to_owned(),
            serial: "00-90-33-51-00-01".to_owned(),
        }
    }
}

/// Settings of one simulated PBX. The defaults are those of a real PBX where known (60 s
/// long poll) and small, safe values otherwise; tests shorten what they wait for.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Path of the SOAP endpoint.
    pub path: String,
    /// This PBX's location name (the `h323` of its PBX object); objects whose `loc` names
    /// another location are homed there and only reported here.
    pub location: String,
    /// SOAP URLs of the other locations, for `LocationUrl`.
    pub locations: BTreeMap<String, String>,
    /// HTTP login of the administrator.
    pub admin_user: String,
    /// Password of the administrator.
    pub admin_password: String,
    /// Realm of the HTTP authentication challenge.
    pub realm: String,
    /// Basic or Digest challenges.
    pub auth: AuthMode,
    /// How long a `Poll` waits for records before it returns empty.
    pub poll_timeout: Duration,
    /// Most records one `Poll` returns (larger dumps take several polls).
    pub poll_batch: usize,
    /// How long a session outlives the last HTTP connection that carried one of its requests.
    pub session_expiry: Duration,
    /// Array member names of rpc/encoded responses.
    pub naming: ArrayNaming,
    /// Serve HTTPS with this certificate instead of HTTP.
    pub tls: Option<TlsPem>,
    /// How long a call rings before `cfnr` applies.
    pub no_answer: Duration,
    /// Largest request body accepted (larger ones get HTTP 413).
    pub max_body: usize,
    /// Message names for the steps whose spelling is not documented.
    pub vocabulary: Vocabulary,
    /// Whether clearing a forward from the phone posts `cfg` (a real PBX does not).
    pub phone_clear_posts_cfg: bool,
    /// Whether a new user handle is told about calls already in progress (one record per leg
    /// repeating its last message).
    pub report_existing_calls: bool,
    /// Largest `FindUser` `count` honoured; larger counts are cut to it.
    pub max_find_count: usize,
    /// What `Version` reports.
    pub identity: PbxIdentity,
    /// Seed of session keys and conference ids.
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            path: "/PBX0/user.soap".to_owned(),
            location: "master".to_owned(),
            locations: BTreeMap::new(),
            admin_user: "admin".to_owned(),
            admin_password: "ip800".to_owned(),
            realm: "PBX".to_owned(),
            auth: AuthMode::Basic,
            poll_timeout: Duration::from_secs(60),
            poll_batch: 100,
            session_expiry: Duration::from_secs(10),
            naming: ArrayNaming::Observed,
            tls: None,
            no_answer: Duration::from_secs(20),
            max_body: 1 << 20,
            vocabulary: Vocabulary::default(),
            phone_clear_posts_cfg: false,
            report_existing_calls: true,
            max_find_count: 1000,
            identity: PbxIdentity::default(),
            seed: 0x5eed,
        }
    }
}
