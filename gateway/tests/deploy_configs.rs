//! Every example configuration under `deploy/` is valid, says what its comments promise, and
//! starts a real gateway.
//!
//! Each `*.toml` file is copied into a temporary directory together with the files it refers
//! to (password files, and PEM certificates and keys generated with rcgen), so relative paths
//! resolve exactly as they do next to an installed configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use csta::message::Message;
use csta::system::GetSwitchingFunctionDevices;
use gateway::client::{ClientConfig, ClientError, ClientTls, CstaClient, Login};
use gateway::config::{Config, ConfigErrors, ListenerConfig, Right, Sources};
use gateway::daemon::Gateway;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Fewer files than this means the search went wrong, not that the examples are fine.
const EXPECTED_AT_LEAST: usize = 6;

/// Upper bound for any single network step against the in-process gateway.
const STEP: Duration = Duration::from_secs(20);

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every `*.toml` under `deploy/`, as paths relative to it, sorted.
fn example_files() -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, found);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "toml")
            {
                found.push(path.strip_prefix(root).expect("below the root").to_owned());
            }
        }
    }
    let root = deploy_dir();
    let mut found = Vec::new();
    walk(&root, &root, &mut found);
    found.sort();
    found
}

/// A CA with a server certificate for `localhost`, written out as PEM on demand, and client
/// certificates for any subject.
struct Pki {
    issuer: Issuer<'static, KeyPair>,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_chain_pem: String,
    server_key_pem: String,
}

impl Pki {
    fn generate() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "deploy example CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server = server_params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write the CA");
        Self {
            ca_file,
            _dir: dir,
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_chain_pem: format!("{}{}", server.pem(), ca.pem()),
            server_key_pem: server_key.serialize_pem(),
            issuer,
        }
    }

    /// A client certificate whose common name and DNS name are `subject`.
    fn client(&self, subject: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(vec![subject.to_owned()]).expect("client params");
        params.distinguished_name.push(DnType::CommonName, subject);
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("client certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }

    /// What a file referenced by `key` (a dotted configuration key) holds.
    fn content_for(&self, key: &str) -> String {
        match key.rsplit('.').next() {
            Some("password_file") => format!("{}\n", password_of_file(key)),
            Some("cert_file") => self.server_chain_pem.clone(),
            Some("key_file") => self.server_key_pem.clone(),
            Some("ca_file" | "client_ca_file") => self.ca_pem.clone(),
            _ => panic!("no test material for a file under {key}; extend Pki::content_for"),
        }
    }
}

/// The password written into the file of a `password_file` key: distinct per key, so the
/// test can tell that each was read from its own file.
fn password_of_file(key: &str) -> String {
    format!("secret of {key}")
}

/// One example copied into a temporary directory with the files it refers to.
struct Staged {
    name: String,
    text: String,
    origin: PathBuf,
    _dir: tempfile::TempDir,
}

impl Staged {
    fn new(relative: &Path, pki: &Pki) -> Self {
        let name = relative.display().to_string();
        let text = std::fs::read_to_string(deploy_dir().join(relative))
            .unwrap_or_else(|error| panic!("{name}: cannot read: {error}"));
        let dir = tempfile::tempdir().expect("temp dir");
        let origin = dir.path().join(relative.file_name().expect("a file name"));
        std::fs::write(&origin, &text).expect("write the copy");
        for (key, value) in leaves(&name, &text) {
            if !key.ends_with("_file") {
                continue;
            }
            let config::ValueKind::String(path) = value.kind else {
                panic!("{name}: {key} is not a string");
            };
            let path = Path::new(&path);
            assert!(
                path.is_relative(),
                "{name}: {key} = {} is absolute; examples use paths relative to the file",
                path.display()
            );
            let target = dir.path().join(path);
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("create dirs");
            std::fs::write(&target, pki.content_for(&key)).expect("write a referenced file");
        }
        Self {
            name,
            text,
            origin,
            _dir: dir,
        }
    }

    fn sources(&self, env: BTreeMap<String, String>) -> Sources {
        Sources {
            toml: self.text.clone(),
            origin: self.origin.clone(),
            env,
        }
    }

    fn load(&self) -> Result<Config, ConfigErrors> {
        Config::load(&self.sources(BTreeMap::new()))
    }

    fn config(&self) -> Config {
        self.load()
            .unwrap_or_else(|errors| panic!("{} is invalid:\n{errors}", self.name))
    }
}

/// Every leaf value of a TOML document by its dotted key (arrays count as leaves).
fn leaves(name: &str, text: &str) -> BTreeMap<String, config::Value> {
    fn walk(prefix: &str, value: config::Value, out: &mut BTreeMap<String, config::Value>) {
        match value.kind {
            config::ValueKind::Table(table) => {
                for (key, value) in table {
                    let path = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, value, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned(), value);
            }
        }
    }
    let root = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .and_then(|built| built.try_deserialize::<config::Value>())
        .unwrap_or_else(|error| panic!("{name} is not TOML: {error}"));
    let mut out = BTreeMap::new();
    walk("", root, &mut out);
    out
}

fn stage_all(pki: &Pki) -> Vec<Staged> {
    example_files()
        .iter()
        .map(|relative| Staged::new(relative, pki))
        .collect()
}

#[test]
fn every_example_configuration_is_valid() {
    let pki = Pki::generate();
    let examples = stage_all(&pki);
    assert!(
        examples.len() >= EXPECTED_AT_LEAST,
        "found only {} configuration files under {}: {:?}",
        examples.len(),
        deploy_dir().display(),
        examples
            .iter()
            .map(|example| &example.name)
            .collect::<Vec<_>>()
    );
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|example| {
            example
                .load()
                .err()
                .map(|errors| format!("{}: {errors}", example.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "invalid example configurations:\n{}",
        failures.join("\n")
    );
    for example in &examples {
        let leaves = leaves(&example.name, &example.text);
        for pbx in &example.config().pbx {
            let key = format!("pbx.{}.password_file", pbx.name);
            if leaves.contains_key(&key) {
                assert_eq!(
                    pbx.password.expose(),
                    password_of_file(&key),
                    "{}: the PBX password must come from {key}",
                    example.name
                );
            }
        }
    }
}

#[test]
fn minimal_has_one_of_each() {
    let pki = Pki::generate();
    let config = Staged::new(Path::new("config/minimal.toml"), &pki).config();
    assert_eq!(config.pbx.len(), 1);
    assert_eq!(config.listeners.len(), 1);
    assert!(
        config.listeners[0].tls.is_none(),
        "the minimal listener is plain"
    );
    assert_eq!(config.users.len(), 1);
    assert!(config.users[0].password_hash.is_some());
}

#[test]
fn multi_pbx_has_two_systems_with_distinct_prefixes_a_standby_and_slaves() {
    let pki = Pki::generate();
    let config = Staged::new(Path::new("config/multi-pbx.toml"), &pki).config();
    assert_eq!(config.pbx.len(), 2);
    let prefixes: BTreeSet<&str> = config
        .pbx
        .iter()
        .map(|pbx| pbx.device_prefix.as_str())
        .collect();
    assert_eq!(
        prefixes.len(),
        2,
        "device prefixes must differ: {prefixes:?}"
    );
    assert!(
        !prefixes.contains(""),
        "both systems carry a prefix: {prefixes:?}"
    );
    assert!(
        config.pbx.iter().any(|pbx| pbx.standby_url.is_some()),
        "a standby URL"
    );
    assert!(
        config.pbx.iter().all(|pbx| pbx.monitor_slaves),
        "slaves are monitored"
    );
    let desk = config
        .user("subsidiary-desk")
        .expect("user subsidiary-desk");
    let subsidiary = config
        .pbx
        .iter()
        .find(|pbx| pbx.name == "subsidiary")
        .expect("pbx");
    let hq = config.pbx.iter().find(|pbx| pbx.name == "hq").expect("pbx");
    let own = format!("{}201", subsidiary.device_prefix);
    let other = format!("{}201", hq.device_prefix);
    assert!(desk.allows(Right::Control, &own, &[]));
    assert!(
        !desk.allows(Right::View, &other, &[]),
        "the desk sees only its own system"
    );
}

#[test]
fn tls_example_maps_a_client_certificate_and_has_a_read_only_loopback_listener() {
    let pki = Pki::generate();
    let config = Staged::new(Path::new("config/tls.toml"), &pki).config();
    let tls = config
        .listeners
        .iter()
        .find_map(|listener| listener.tls.as_ref())
        .expect("a TLS listener");
    assert!(
        tls.client_ca_file.is_some(),
        "client certificates are enabled"
    );
    assert!(
        config.users.iter().any(|user| user.tls_subject.is_some()),
        "a certificate user"
    );
    let local = config
        .listeners
        .iter()
        .find(|listener| listener.anonymous_user.is_some())
        .expect("an anonymous listener");
    assert!(
        local.address.ip().is_loopback(),
        "the anonymous listener is on loopback"
    );
    assert!(local.tls.is_none());
    assert!(local.system_status_first);
    let anonymous = config
        .user(local.anonymous_user.as_deref().expect("set"))
        .expect("user");
    assert!(anonymous.allows(Right::View, "201", &[]));
    assert!(anonymous.allows(Right::Monitor, "201", &[]));
    assert!(
        !anonymous.allows(Right::Control, "201", &[]),
        "read-only: no call control"
    );
    assert!(
        !anonymous.allows(Right::Forward, "201", &[]),
        "read-only: no forwarding"
    );
}

#[test]
fn container_examples_serve_every_interface_and_read_secrets_from_files() {
    let pki = Pki::generate();
    for name in ["config/container.toml", "kubernetes/gateway.toml"] {
        let example = Staged::new(Path::new(name), &pki);
        let config = example.config();
        for listener in &config.listeners {
            assert!(
                listener.address.ip().is_unspecified(),
                "{name}: {} binds all",
                listener.name
            );
        }
        let admin = config
            .admin
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: an admin endpoint"));
        assert!(
            admin.address.ip().is_unspecified(),
            "{name}: probes reach the admin port"
        );
        assert!(
            config
                .listeners
                .iter()
                .any(|listener| listener.tls.is_some()),
            "{name}: TLS"
        );
        let leaves = leaves(name, &example.text);
        for pbx in &config.pbx {
            assert!(
                leaves.contains_key(&format!("pbx.{}.password_file", pbx.name)),
                "{name}: the PBX password of {} comes from a mounted secret",
                pbx.name
            );
        }
    }
}

/// Which keys the loader knows in each section, read from its own "unknown field" messages,
/// so that a key added to the loader and missing from full.toml fails this test.
fn known_keys() -> BTreeMap<&'static str, BTreeSet<String>> {
    const PROBE: &str = "zz_probe_key";
    const BASE: &str = "[pbx.p]\nurl = \"http://127.0.0.1/PBX0/user.soap\"\npassword = \"x\"\n\
                        [listener.l]\naddress = \"127.0.0.1:1\"\n";
    let sections = [
        ("", format!("{PROBE} = 1\n{BASE}")),
        (
            "pbx.*",
            format!("{BASE}[pbx.q]\nurl = \"http://127.0.0.1/\"\n{PROBE} = 1\n"),
        ),
        ("pbx.*.tls", format!("{BASE}[pbx.p.tls]\n{PROBE} = 1\n")),
        (
            "pbx.*.numbering",
            format!("{BASE}[pbx.p.numbering]\n{PROBE} = 1\n"),
        ),
        (
            "listener.*",
            format!("{BASE}[listener.m]\naddress = \"127.0.0.1:2\"\n{PROBE} = 1\n"),
        ),
        (
            "listener.*.tls",
            format!("{BASE}[listener.l.tls]\n{PROBE} = 1\n"),
        ),
        ("user.*", format!("{BASE}[user.u]\n{PROBE} = 1\n")),
        ("sessions", format!("{BASE}[sessions]\n{PROBE} = 1\n")),
        ("admin", format!("{BASE}[admin]\n{PROBE} = 1\n")),
        ("shutdown", format!("{BASE}[shutdown]\n{PROBE} = 1\n")),
    ];
    sections
        .into_iter()
        .map(|(section, toml)| {
            let errors =
                Config::load(&Sources::from_toml(&toml)).expect_err("an unknown key is an error");
            let problem = errors
                .issues
                .iter()
                .find(|issue| issue.problem.contains(PROBE))
                .unwrap_or_else(|| panic!("no unknown-key issue for [{section}]:\n{errors}"));
            let (_, expected) = problem
                .problem
                .split_once("expected")
                .unwrap_or_else(|| panic!("no key list in: {}", problem.problem));
            // Nested tables add " for key `tls`", which is not one of the keys.
            let expected = expected.split(" for key ").next().unwrap_or_default();
            let keys: BTreeSet<String> = expected
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            assert!(
                !keys.is_empty(),
                "no keys listed for [{section}]: {}",
                problem.problem
            );
            (section, keys)
        })
        .collect()
}

/// The section pattern (`pbx.*.tls`) and key of a dotted path in a document.
fn section_and_key(path: &str) -> Vec<(String, String)> {
    let mut parts: Vec<String> = path.split('.').map(str::to_owned).collect();
    if parts.len() > 1 && matches!(parts[0].as_str(), "pbx" | "listener" | "user") {
        parts[1] = "*".to_owned();
    }
    // Every table on the way holds the next part as a key: `pbx.*` holds `tls`, and so on.
    let mut pairs = vec![(String::new(), parts[0].clone())];
    let first_key = usize::from(parts.len() > 1 && parts[1] == "*") + 1;
    for index in first_key..parts.len() {
        pairs.push((parts[..index].join("."), parts[index].clone()));
    }
    pairs
}

#[test]
fn full_reference_sets_every_key_the_loader_knows() {
    let pki = Pki::generate();
    let example = Staged::new(Path::new("config/full.toml"), &pki);
    example.config();
    let mut present: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in leaves(&example.name, &example.text).keys() {
        for (section, key) in section_and_key(path) {
            present.entry(section).or_default().insert(key);
        }
    }
    let mut missing = Vec::new();
    for (section, keys) in known_keys() {
        let set = present.get(section).cloned().unwrap_or_default();
        for key in keys.difference(&set) {
            // `password` and `password_file` exclude each other; the reference sets the file
            // and shows the inline form as a comment.
            let commented = format!("# {key} = ");
            if section == "pbx.*" && key == "password" && example.text.contains(&commented) {
                continue;
            }
            missing.push(if section.is_empty() {
                key.clone()
            } else {
                format!("{section}.{key}")
            });
        }
    }
    assert!(missing.is_empty(), "full.toml does not set: {missing:?}");
}

/// A `password_hash` line of an example and the password its comment names.
struct DocumentedHash {
    /// The `[user.NAME]` section the line belongs to.
    user: String,
    /// 1-based line number, for messages.
    line: usize,
    hash: String,
    /// From `password "..."` in the comment block right above the line.
    password: Option<String>,
}

fn documented_hashes(text: &str) -> Vec<DocumentedHash> {
    let lines: Vec<&str> = text.lines().collect();
    let mut user = String::new();
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix("[user.") {
            user = section.trim_end_matches(']').to_owned();
        }
        let Some(value) = line.strip_prefix("password_hash = ") else {
            continue;
        };
        let password = lines[..index]
            .iter()
            .rev()
            .take_while(|line| line.trim_start().starts_with('#'))
            .find_map(|line| {
                let (_, rest) = line.split_once("password \"")?;
                rest.split_once('"')
                    .map(|(password, _)| password.to_owned())
            });
        found.push(DocumentedHash {
            user: user.clone(),
            line: index + 1,
            hash: value.trim_matches('"').to_owned(),
            password,
        });
    }
    found
}

#[test]
fn every_password_hash_matches_the_password_its_comment_names() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for relative in example_files() {
        let name = relative.display().to_string();
        let text = std::fs::read_to_string(deploy_dir().join(&relative)).expect("readable");
        for documented in documented_hashes(&text) {
            let at = format!("{name}:{}", documented.line);
            let Some(password) = &documented.password else {
                wrong.push(format!("{at}: no comment above names the password"));
                continue;
            };
            let parsed = PasswordHash::new(&documented.hash).expect("the loader accepted it");
            assert_eq!(parsed.algorithm.as_str(), "argon2id", "{at}");
            if Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_err()
            {
                wrong.push(format!("{at}: not a hash of {password:?}"));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        checked >= EXPECTED_AT_LEAST,
        "only {checked} password hashes found"
    );
}

#[test]
fn manifests_publish_the_ports_the_container_configurations_use() {
    let pki = Pki::generate();
    let read = |name: &str| {
        std::fs::read_to_string(deploy_dir().join(name))
            .unwrap_or_else(|error| panic!("deploy/{name}: {error}"))
    };
    let ports = |config: &Config| -> BTreeSet<u16> {
        config
            .listeners
            .iter()
            .map(|listener| listener.address.port())
            .chain(config.admin.iter().map(|admin| admin.address.port()))
            .collect()
    };
    let container = Staged::new(Path::new("config/container.toml"), &pki).config();
    let containerfile = read("container/Containerfile");
    let exposed: BTreeSet<u16> = containerfile
        .lines()
        .filter_map(|line| line.strip_prefix("EXPOSE "))
        .flat_map(|ports| {
            ports
                .split_whitespace()
                .filter_map(|port| port.parse().ok())
        })
        .collect();
    assert_eq!(
        exposed,
        ports(&container),
        "Containerfile EXPOSE vs config/container.toml"
    );
    let compose = read("container/compose.yaml");
    for port in ports(&container) {
        assert!(
            compose.contains(&format!(":{port}:{port}\"")),
            "compose.yaml publishes {port}"
        );
    }
    let admin = container.admin.as_ref().expect("admin").address.port();
    assert!(
        containerfile.contains(&format!("/{admin}")),
        "the HEALTHCHECK probes port {admin}"
    );

    let kubernetes = Staged::new(Path::new("kubernetes/gateway.toml"), &pki).config();
    let deployment = read("kubernetes/deployment.yaml");
    for port in ports(&kubernetes) {
        assert!(
            deployment.contains(&format!("containerPort: {port}")),
            "deployment: {port}"
        );
    }
    let service = read("kubernetes/service.yaml");
    for listener in &kubernetes.listeners {
        let port = listener.address.port();
        assert!(
            service.contains(&format!("port: {port}")),
            "service.yaml: {port}"
        );
    }
}

/// A loopback port where nothing listens: the examples' PBXs are never reached.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Overrides that move every address of an example to loopback: PBX URLs to a dead port,
/// listeners and the admin endpoint to ephemeral ports.
fn loopback_overrides(config: &Config) -> BTreeMap<String, String> {
    let dead = format!("http://127.0.0.1:{}/PBX0/user.soap", dead_port());
    let mut env = BTreeMap::new();
    for pbx in &config.pbx {
        let name = pbx.name.to_uppercase();
        env.insert(format!("CTI_GATEWAY__PBX__{name}__URL"), dead.clone());
        if pbx.standby_url.is_some() {
            env.insert(
                format!("CTI_GATEWAY__PBX__{name}__STANDBY_URL"),
                dead.clone(),
            );
        }
    }
    for listener in &config.listeners {
        let name = listener.name.to_uppercase();
        env.insert(
            format!("CTI_GATEWAY__LISTENER__{name}__ADDRESS"),
            "127.0.0.1:0".to_owned(),
        );
    }
    if config.admin.is_some() {
        env.insert(
            "CTI_GATEWAY__ADMIN__ADDRESS".to_owned(),
            "127.0.0.1:0".to_owned(),
        );
    }
    env
}

/// The status code of `GET path` over HTTP/1.0, as the container's health check sends it.
async fn http_status(address: SocketAddr, path: &str) -> u16 {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.expect("connect to admin");
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .await
            .expect("send");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .expect("read the answer");
        answer
    };
    let answer = tokio::time::timeout(STEP, exchange)
        .await
        .expect("admin answers in time");
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}

fn tls_connector(
    pki: &Pki,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).expect("CA accepted");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert], key)
            .expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A CSTA connection to a listener, over TLS when it has TLS.
async fn connect(
    pki: &Pki,
    listener: &ListenerConfig,
    address: SocketAddr,
    client_cert: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> CstaClient {
    let settings = ClientConfig::new(address.to_string());
    let tcp = tokio::time::timeout(STEP, TcpStream::connect(address))
        .await
        .expect("connect in time")
        .expect("connect");
    if listener.tls.is_none() {
        return CstaClient::over(tcp, &settings);
    }
    let name = ServerName::try_from("localhost").expect("a DNS name");
    let stream = tokio::time::timeout(STEP, tls_connector(pki, client_cert).connect(name, tcp))
        .await
        .expect("TLS handshake in time")
        .expect("TLS handshake");
    CstaClient::over(stream, &settings)
}

/// Asks for the device list: answered for a connection with an identity, refused without.
async fn device_list(client: &CstaClient) -> Result<Message, ClientError> {
    let request = GetSwitchingFunctionDevices {
        requested_device_id: None,
        requested_device_category: None,
        extensions: None,
    };
    client.request(request.into()).await
}

fn assert_answered(outcome: Result<Message, ClientError>, context: &str) {
    match outcome {
        Ok(Message::GetSwitchingFunctionDevicesResponse(_)) => {}
        other => panic!("{context}: expected the device list to be answered, got {other:?}"),
    }
}

/// Starts a gateway from the example (moved to loopback) and checks what it promises: health
/// and readiness answers, anonymous access only where configured, certificate logins and
/// password logins with the documented password.
async fn start_and_probe(example: &Staged, pki: &Pki) {
    let name = &example.name;
    let env = loopback_overrides(&example.config());
    let config = Config::load(&example.sources(env))
        .unwrap_or_else(|errors| panic!("{name} with loopback overrides:\n{errors}"));
    let gateway = Gateway::start(config.clone())
        .await
        .unwrap_or_else(|error| panic!("{name} does not start: {error}"));
    assert_eq!(
        gateway.csta_addresses().len(),
        config.listeners.len(),
        "{name}: listeners"
    );

    if let Some(admin) = gateway.admin_address() {
        assert_eq!(
            http_status(admin, "/healthz").await,
            200,
            "{name}: /healthz"
        );
        assert_eq!(
            http_status(admin, "/readyz").await,
            503,
            "{name}: /readyz without a PBX"
        );
    }

    let logins = documented_hashes(&example.text);
    for (listener_name, address) in gateway.csta_addresses() {
        let listener = config
            .listeners
            .iter()
            .find(|listener| &listener.name == listener_name)
            .expect("a configured listener");
        let context = format!("{name}: listener {listener_name}");

        let mut client = connect(pki, listener, *address, None).await;
        if listener.system_status_first {
            let first = tokio::time::timeout(STEP, client.next_incoming())
                .await
                .expect("in time");
            assert!(
                matches!(first, Some(Message::SystemStatus(_))),
                "{context}: SystemStatus first, got {first:?}"
            );
        }
        let outcome = tokio::time::timeout(STEP, device_list(&client))
            .await
            .expect("in time");
        if listener.anonymous_user.is_some() {
            assert_answered(outcome, &format!("{context} (anonymous)"));
        } else {
            assert!(
                matches!(outcome, Err(ClientError::Csta { .. })),
                "{context}: a connection without login must be refused, got {outcome:?}"
            );
        }

        if listener
            .tls
            .as_ref()
            .is_some_and(|tls| tls.client_ca_file.is_some())
        {
            for user in config
                .users
                .iter()
                .filter(|user| user.tls_subject.is_some())
            {
                let subject = user.tls_subject.as_deref().expect("filtered");
                let client = connect(pki, listener, *address, Some(pki.client(subject))).await;
                let outcome = tokio::time::timeout(STEP, device_list(&client))
                    .await
                    .expect("in time");
                assert_answered(outcome, &format!("{context}: certificate of {subject}"));
            }
        }

        for documented in &logins {
            let user = &documented.user;
            let password = documented
                .password
                .clone()
                .expect("checked by the hash test");
            let mut settings = ClientConfig::new(address.to_string());
            settings.tls = listener.tls.as_ref().map(|_| ClientTls {
                ca_file: Some(pki.ca_file.clone()),
                server_name: Some("localhost".to_owned()),
                ..ClientTls::default()
            });
            settings.login = Some(Login {
                user: user.clone(),
                password,
                avaya: false,
                duration: 60,
            });
            let client = tokio::time::timeout(STEP, CstaClient::connect(&settings))
                .await
                .expect("login in time")
                .unwrap_or_else(|error| panic!("{context}: login as {user}: {error}"));
            let outcome = tokio::time::timeout(STEP, device_list(&client))
                .await
                .expect("in time");
            assert_answered(outcome, &format!("{context}: logged in as {user}"));
        }
    }

    assert!(
        gateway.stop().await,
        "{name}: stops within its grace period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_starts_a_gateway_that_behaves_as_documented() {
    let pki = Pki::generate();
    let examples = stage_all(&pki);
    assert!(examples.len() >= EXPECTED_AT_LEAST);
    for example in &examples {
        start_and_probe(example, &pki).await;
    }
}
