//! The test harness of cti-gateway: a gateway in-process on port 0, CSTA clients, test
//! credentials and certificates. Used by the end-to-end tests (`tests/e2e`) and the benchmark.

pub mod bench;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use gateway::client::{ClientConfig, ClientTls, CstaClient, Login};
use gateway::config::{Config, Sources};
use gateway::daemon::Gateway;

/// Installs a test subscriber once (`RUST_LOG` controls it).
pub fn subscribe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// A password hash that verifies quickly (test parameters, not for production).
pub fn quick_hash(password: &str) -> String {
    let params = Params::new(8, 1, 1, None).expect("valid argon2 parameters");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"cti-gateway-test").expect("valid salt");
    argon2
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing works")
        .to_string()
}

/// TLS material of a test CA: a server certificate for `localhost`/127.0.0.1 and a client
/// certificate, written as PEM files into a temporary directory.
pub struct TestCertificates {
    /// Keeps the files alive.
    pub dir: tempfile::TempDir,
    /// The CA certificate.
    pub ca: PathBuf,
    /// Server certificate chain.
    pub server_cert: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
    /// Client certificate (common name `crm.example.com`).
    pub client_cert: PathBuf,
    /// Client key.
    pub client_key: PathBuf,
}

impl TestCertificates {
    /// Generates a CA, a server and a client certificate.
    pub fn generate() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_key = KeyPair::generate().expect("key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "cti-gateway test CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let server_key = KeyPair::generate().expect("key");
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server = server_params
            .signed_by(&server_key, &issuer)
            .expect("server cert");
        let client_key = KeyPair::generate().expect("key");
        let mut client_params =
            CertificateParams::new(vec!["crm.example.com".to_owned()]).expect("params");
        client_params
            .distinguished_name
            .push(DnType::CommonName, "crm.example.com");
        let client = client_params
            .signed_by(&client_key, &issuer)
            .expect("client cert");
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write PEM");
            path
        };
        Self {
            ca: write("ca.pem", ca.pem()),
            server_cert: write("server.pem", server.pem()),
            server_key: write("server.key", server_key.serialize_pem()),
            client_cert: write("client.pem", client.pem()),
            client_key: write("client.key", client_key.serialize_pem()),
            dir,
        }
    }
}

/// A gateway running in this process.
pub struct TestGateway {
    /// The daemon.
    pub gateway: Gateway,
    /// Keeps referenced files alive.
    pub files: Option<tempfile::TempDir>,
}

impl TestGateway {
    /// Starts a gateway from a TOML configuration (relative paths against `dir`).
    pub async fn start(toml: &str, dir: Option<tempfile::TempDir>) -> Self {
        Self::start_tweaked(toml, dir, |_| {}).await
    }

    /// Starts a gateway from a TOML configuration changed by `tweak` after validation (for
    /// settings tests need below what operators may configure, such as short poll timeouts).
    pub async fn start_tweaked(
        toml: &str,
        dir: Option<tempfile::TempDir>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        subscribe();
        let mut sources = Sources::from_toml(toml);
        if let Some(dir) = &dir {
            sources.origin = dir.path().join("gateway.toml");
        }
        let mut config =
            Config::load(&sources).unwrap_or_else(|errors| panic!("test config invalid: {errors}"));
        tweak(&mut config);
        let gateway = Gateway::start(config).await.expect("gateway starts");
        Self {
            gateway,
            files: dir,
        }
    }

    /// The address of the listener with this name.
    pub fn addr(&self, listener: &str) -> SocketAddr {
        self.gateway
            .csta_addresses()
            .iter()
            .find(|(name, _)| name == listener)
            .map(|(_, address)| *address)
            .unwrap_or_else(|| panic!("no listener {listener}"))
    }

    /// A plain client of a listener, not logged in.
    pub fn client_config(&self, listener: &str) -> ClientConfig {
        let mut config = ClientConfig::new(self.addr(listener).to_string());
        config.timeout = Duration::from_secs(10);
        config
    }

    /// A client logged in with plain credentials.
    pub async fn login(&self, listener: &str, user: &str, password: &str) -> CstaClient {
        let mut config = self.client_config(listener);
        config.login = Some(Login {
            user: user.to_owned(),
            password: password.to_owned(),
            avaya: false,
            duration: 600,
        });
        CstaClient::connect(&config).await.expect("login")
    }

    /// A TLS client configuration trusting `ca`.
    pub fn tls_config(&self, listener: &str, ca: &std::path::Path) -> ClientConfig {
        let mut config = self.client_config(listener);
        config.tls = Some(ClientTls {
            ca_file: Some(ca.to_owned()),
            danger_accept_invalid_certs: false,
            server_name: Some("localhost".to_owned()),
            client_certificate: None,
        });
        config
    }
}

/// A PBX simulator with the demo directory and a gateway in front of it.
pub struct SimGateway {
    /// The simulator.
    pub sim: pbx_soap::sim::SimHandle,
    /// The gateway.
    pub gateway: TestGateway,
}

/// The gateway configuration of [`SimGateway`]: listener `csta` with full rights for the
/// anonymous user `all`, listener `login` requiring a login, users `crm` (password `secret`,
/// every right), `viewer` (view only) and `office` (monitor and control of 20x only).
pub fn sim_gateway_config(sim_url: &str, extra: &str) -> String {
    format!(
        r#"
        [pbx.main]
        url = "{sim_url}"
        password = "ip800"
        reconnect_min = "100ms"
        reconnect_max = "1s"
        echo_interval = "1s"

        [listener.csta]
        address = "127.0.0.1:0"
        anonymous_user = "all"

        [listener.login]
        address = "127.0.0.1:0"

        [user.all]
        view = ["*"]
        monitor = ["*"]
        control = ["*"]
        forward = ["*"]

        [user.crm]
        password_hash = "{crm}"
        view = ["*"]
        monitor = ["*"]
        control = ["*"]
        forward = ["*"]

        [user.viewer]
        password_hash = "{viewer}"
        view = ["*"]

        [user.office]
        password_hash = "{office}"
        view = ["*"]
        monitor = ["20?"]
        control = ["20?"]

        [sessions]
        cleanup_delay = "30s"
        {extra}
        "#,
        crm = quick_hash("secret"),
        viewer = quick_hash("secret"),
        office = quick_hash("secret"),
    )
}

impl SimGateway {
    /// Starts the simulator (long polls of 2 s) and the gateway, and waits until every line
    /// is in service.
    pub async fn start(extra: &str) -> Self {
        Self::start_with(
            pbx_soap::sim::SimConfig::default(),
            pbx_soap::sim::Directory::demo(),
            extra,
        )
        .await
    }

    /// Starts with a given simulator configuration and directory.
    pub async fn start_with(
        sim_config: pbx_soap::sim::SimConfig,
        directory: pbx_soap::sim::Directory,
        extra: &str,
    ) -> Self {
        Self::start_tweaked(sim_config, directory, extra, |_| {}).await
    }

    /// Starts like [`SimGateway::start_with`] and lets `tweak` change the loaded
    /// configuration (e.g. a PBX option) before the gateway starts.
    pub async fn start_tweaked(
        mut sim_config: pbx_soap::sim::SimConfig,
        directory: pbx_soap::sim::Directory,
        extra: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        subscribe();
        sim_config.poll_timeout = Duration::from_secs(2);
        let sim = pbx_soap::sim::Sim::start(sim_config, directory)
            .await
            .expect("simulator starts");
        let gateway =
            TestGateway::start_tweaked(&sim_gateway_config(&sim.url(), extra), None, tweak).await;
        assert!(
            gateway
                .gateway
                .wait_in_service(Duration::from_secs(20))
                .await,
            "lines in service: {} of {}",
            gateway.gateway.registry().lines_in_service(),
            gateway.gateway.registry().line_count()
        );
        Self { sim, gateway }
    }

    /// A client of the `csta` listener (anonymous, every right).
    pub async fn client(&self) -> CstaClient {
        CstaClient::connect(&self.gateway.client_config("csta"))
            .await
            .expect("connect")
    }
}
