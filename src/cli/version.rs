//! `-v`: keepalived's layout, so that tools reading it keep working. The first line starts
//! with the keepalived version we are compatible with (`Keepalived v2.2.7 (01/16,2022)`, what
//! exporters and config-management facts match on), then names this implementation.

/// The keepalived release whose behaviour this build reproduces.
pub const KEEPALIVED_VERSION_STRING: &str = "Keepalived v2.2.7 (01/16,2022)";

/// Feature switches in keepalived's `configure options` vocabulary. Tools look for
/// `--enable-json` here before relying on the JSON dump signal.
const CONFIGURE_OPTIONS: &str = "--prefix=/usr --sysconfdir=/etc --runstatedir=/run \
     --enable-json --enable-sha1 --with-init=systemd";

/// keepalived's "Config options" names for what this implementation provides.
const CONFIG_OPTIONS: &str = "LVS VRRP VRRP_AUTH JSON INIT=systemd SYSTEMD_NOTIFY";

/// The full `-v` text (printed on stderr, like keepalived).
pub fn version_text() -> String {
    let mut s = format!(
        "{KEEPALIVED_VERSION_STRING}, keepalived-rs {}\n\n",
        env!("CARGO_PKG_VERSION")
    );
    s.push_str("Copyright(C) the keepalived-rs authors; compatible with Keepalived 2.2.7\n\n");
    s.push_str(&format!(
        "Built with Rust for Linux {}\n",
        std::env::consts::ARCH
    ));
    if let Some(uname) = uname() {
        s.push_str(&format!("Running on {uname}\n"));
    }
    if let Some(distro) = distro() {
        s.push_str(&format!("Distro: {distro}\n"));
    }
    s.push('\n');
    s.push_str(&format!("configure options: {CONFIGURE_OPTIONS}\n\n"));
    // keepalived's option lists start with a space, hence the two after the colon.
    s.push_str(&format!("Config options:  {CONFIG_OPTIONS}\n\n"));
    s.push_str("System options:  NETLINK\n");
    s
}

/// `sysname release version`, as keepalived prints it.
fn uname() -> Option<String> {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some(format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.version)
    ))
}

/// `PRETTY_NAME` from /etc/os-release, without its quotes.
fn distro() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let v = text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    let v = v.strip_prefix('"').unwrap_or(v);
    Some(v.strip_suffix('"').unwrap_or(v).to_string())
}
