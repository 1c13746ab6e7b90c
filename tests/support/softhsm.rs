//! Throwaway SoftHSM2 tokens, p11-kit RPC servers in front of them, and running a test body
//! in a child process that has the PKCS#11 environment.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` and p11-kit's client module reads `P11_KIT_SERVER_ADDRESS`
//! when the module is initialised, once per process, and a test binary cannot change its own
//! environment safely (other tests run on other threads). So a test makes its token here
//! (every tool runs as a child process with the variables set on that process only) and
//! then runs its PKCS#11 body in a child of the test binary: [`run_in_child`] starts this
//! same binary for that one test with `SAOY_P11_CHILD` naming the token's directory and the
//! module's variables set; in the child, [`child`] returns that directory. Each child loads
//! the module fresh, so tests never share a module context.
//!
//! Tools (softhsm2-util, pkcs11-tool, p11-kit; scripts/test installs `softhsm2`, `opensc`,
//! `p11-kit`, `p11-kit-modules`) that are missing fail the test; nothing skips.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use saoy::pki::pkcs11::Pkcs11Spec;

/// SoftHSM2's module (Debian's `softhsm2`).
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// p11-kit's RPC client module (Debian's `p11-kit-modules`); it reads
/// `P11_KIT_SERVER_ADDRESS`.
pub const P11KIT_CLIENT_MODULE: &str = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so";
/// Set in a child test process: the token directory of [`SoftHsm`].
pub const CHILD_ENV: &str = "SAOY_P11_CHILD";
/// The security officer PIN of every test token.
const SO_PIN: &str = "so-pin-0000";

fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's {package} (scripts/test does)"
    );
}

/// Runs `cmd`, failing the test with its output when it fails or cannot start.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} cannot start ({e}): run scripts/test to install it"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A SoftHSM2 token in its own directory: `softhsm2.conf`, `tokens/` (SoftHSM's store),
/// the user PIN in `pin` (no newline). The directory is removed on drop (by the owner; an
/// [`SoftHsm::attach`]ed view in a child process removes nothing).
pub struct SoftHsm {
    owner: Option<tempfile::TempDir>,
    root: PathBuf,
    /// The token label.
    pub label: String,
    /// The user PIN.
    pub pin: String,
}

impl SoftHsm {
    /// Makes a directory, a SoftHSM2 config pointing `directories.tokendir` into it, and one
    /// initialised token `label` with user PIN `pin`.
    pub fn new(label: &str, pin: &str) -> Self {
        require(SOFTHSM_MODULE, "softhsm2");
        let owner = tempfile::Builder::new()
            .prefix("saoy-softhsm-")
            .tempdir()
            .expect("temp dir");
        let hsm = Self::attach(owner.path().to_path_buf(), label, pin);
        std::fs::create_dir_all(hsm.token_dir()).expect("token dir");
        std::fs::write(
            hsm.conf(),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                hsm.token_dir().display()
            ),
        )
        .expect("softhsm2.conf");
        std::fs::write(hsm.pin_file(), pin).expect("pin file");
        run(
            hsm.util().args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                pin,
                "--so-pin",
                SO_PIN,
            ]),
            "softhsm2-util --init-token",
        );
        Self {
            owner: Some(owner),
            ..hsm
        }
    }

    /// A view of a token made by [`SoftHsm::new`] in another process (the child's side).
    pub fn attach(root: PathBuf, label: &str, pin: &str) -> Self {
        Self {
            owner: None,
            root,
            label: label.to_string(),
            pin: pin.to_string(),
        }
    }

    /// The token's directory (holds everything below).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// SoftHSM's object store.
    pub fn token_dir(&self) -> PathBuf {
        self.root.join("tokens")
    }

    /// The SoftHSM2 config file (`SOFTHSM2_CONF`).
    pub fn conf(&self) -> PathBuf {
        self.root.join("softhsm2.conf")
    }

    /// The file holding the user PIN.
    pub fn pin_file(&self) -> PathBuf {
        self.root.join("pin")
    }

    /// The environment SoftHSM2 needs in a process that loads it.
    pub fn env(&self) -> Vec<(String, OsString)> {
        vec![("SOFTHSM2_CONF".into(), self.conf().into_os_string())]
    }

    fn util(&self) -> Command {
        let mut cmd = Command::new("softhsm2-util");
        cmd.env("SOFTHSM2_CONF", self.conf());
        cmd
    }

    /// Imports a PKCS#8 private key (DER) as `key_label` with CKA_ID `id_hex`: the key is
    /// written to a private staging directory outside [`SoftHsm::root`] for
    /// `softhsm2-util --import` (which makes the private and the public key object) and
    /// removed right after.
    pub fn import_pkcs8(&self, pkcs8_der: &[u8], key_label: &str, id_hex: &str) {
        let staging = tempfile::tempdir().expect("staging dir");
        let file = staging.path().join("key.pem");
        std::fs::write(&file, pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8_der)))
            .expect("staged key");
        run(
            self.util()
                .arg("--import")
                .arg(&file)
                .args(["--token", &self.label, "--label", key_label])
                .args(["--id", id_hex, "--pin", &self.pin]),
            "softhsm2-util --import",
        );
        std::fs::remove_file(&file).expect("remove staged key");
    }

    /// Imports a PKCS#8 PEM file (see [`SoftHsm::import_pkcs8`]).
    pub fn import_pem_file(&self, path: &Path, key_label: &str, id_hex: &str) {
        let text = std::fs::read_to_string(path).expect("key file");
        let block = pem::parse(text).expect("PEM key");
        self.import_pkcs8(block.contents(), key_label, id_hex);
    }

    /// Generates a key pair on the token with OpenSC's pkcs11-tool; `key_type` as it takes
    /// it: `rsa:2048`, `EC:prime256v1`, `EC:secp384r1`.
    pub fn generate(&self, key_type: &str, key_label: &str, id_hex: &str) {
        run(
            Command::new("pkcs11-tool")
                .env("SOFTHSM2_CONF", self.conf())
                .args(["--module", SOFTHSM_MODULE, "--token-label", &self.label])
                .args(["--login", "--pin", &self.pin, "--keypairgen"])
                .args(["--key-type", key_type, "--label", key_label, "--id", id_hex]),
            "pkcs11-tool --keypairgen (Debian's opensc)",
        );
    }

    /// A spec for a key of this token through `module`, PIN from [`SoftHsm::pin_file`].
    pub fn spec(&self, module: &str, key_label: Option<&str>, key_id: Option<&str>) -> Pkcs11Spec {
        Pkcs11Spec {
            module: module.into(),
            token_label: self.label.clone(),
            key_label: key_label.map(str::to_string),
            key_id: key_id.map(str::to_string),
            pin_file: Some(self.pin_file()),
            pin_env: None,
            mechanism: None,
            max_sessions: saoy::pki::pkcs11::DEFAULT_MAX_SESSIONS,
        }
    }

    /// Serves this token from a `p11-kit server` process (see [`P11KitServer`]).
    pub fn serve(&self) -> P11KitServer {
        P11KitServer::start(self)
    }
}

/// `p11-kit server --provider libsofthsm2.so "pkcs11:token=LABEL"` in the foreground, in a
/// process group of its own (it forks a process per client connection), its socket at a
/// fixed path under the token's directory; the group is killed on drop. Clients load
/// [`P11KIT_CLIENT_MODULE`] with [`P11KitServer::env`].
pub struct P11KitServer {
    child: Child,
    conf: PathBuf,
    label: String,
    socket: PathBuf,
    /// `P11_KIT_SERVER_ADDRESS` as the server printed it (`unix:path=…`).
    pub address: String,
}

impl P11KitServer {
    fn start(hsm: &SoftHsm) -> Self {
        require(P11KIT_CLIENT_MODULE, "p11-kit-modules");
        let runtime = hsm.root().join("run");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        let socket = runtime.join("p11-kit.sock");
        let (child, address) = Self::spawn(&hsm.conf(), &hsm.label, &socket);
        Self {
            child,
            conf: hsm.conf(),
            label: hsm.label.clone(),
            socket,
            address,
        }
    }

    fn spawn(conf: &Path, label: &str, socket: &Path) -> (Child, String) {
        use std::os::unix::process::CommandExt;
        let runtime = socket.parent().expect("socket dir");
        // Its output goes to a file: a pipe closed after reading would kill it on its next
        // write (SIGPIPE).
        let log = runtime.join("p11-kit-server.out");
        let mut child = Command::new("p11-kit")
            .args([
                "server",
                "--foreground",
                "--provider",
                SOFTHSM_MODULE,
                "--name",
            ])
            .arg(socket)
            .arg(format!("pkcs11:token={label}"))
            .env("SOFTHSM2_CONF", conf)
            .env("XDG_RUNTIME_DIR", runtime)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("server log"))
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("p11-kit (Debian's p11-kit) must be installed: run scripts/test");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let address = text.lines().find_map(|l| {
                l.strip_prefix("P11_KIT_SERVER_ADDRESS=")
                    .and_then(|rest| rest.split(';').next())
                    .map(str::to_string)
            });
            if let Some(address) = address.filter(|_| socket.exists()) {
                return (child, address);
            }
            if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("p11-kit server did not come up: {text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server and every connection it serves (its process group), as a crash
    /// would: clients' sessions are gone.
    fn kill_group(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Kills the server (and its connections) and starts a new one at the same address.
    pub fn restart(&mut self) {
        self.kill_group();
        let (child, address) = Self::spawn(&self.conf, &self.label, &self.socket);
        assert_eq!(
            address, self.address,
            "the new server listens where the old one did"
        );
        self.child = child;
    }

    /// The environment a client process needs.
    pub fn env(&self) -> Vec<(String, OsString)> {
        vec![("P11_KIT_SERVER_ADDRESS".into(), self.address.clone().into())]
    }
}

impl Drop for P11KitServer {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// In a child started by [`run_in_child`]: the token directory it was given.
pub fn child() -> Option<PathBuf> {
    std::env::var_os(CHILD_ENV).map(PathBuf::from)
}

/// Runs test `name` (its full path in this binary, e.g. `pkcs11::signs`) again in a child
/// process of this test binary, with `CHILD_ENV=dir` and `env` set and `SOFTHSM2_CONF` /
/// `P11_KIT_SERVER_ADDRESS` removed unless `env` sets them; fails when the child fails or
/// did not run exactly that one test. Returns the child's output.
pub fn run_in_child(name: &str, dir: &Path, env: &[(String, OsString)]) -> String {
    wait_child(name, spawn_child(name, dir, env))
}

/// Starts what [`run_in_child`] runs without waiting; [`wait_child`] collects it.
pub fn spawn_child(name: &str, dir: &Path, env: &[(String, OsString)]) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_remove("SOFTHSM2_CONF")
        .env_remove("P11_KIT_SERVER_ADDRESS")
        .env(CHILD_ENV, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("re-run the test binary")
}

/// Waits for a child test started by [`spawn_child`]; fails when it failed or did not run
/// exactly test `name`. Returns its output.
pub fn wait_child(name: &str, child: Child) -> String {
    let out = child.wait_with_output().expect("child test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child test {name} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "child ran no test named {name}:\n{stdout}\n{stderr}"
    );
    format!("{stdout}{stderr}")
}
