//! Packaging: the systemd unit, the .deb (cargo-deb) and the .rpm (cargo-generate-rpm).
//!
//! The .deb is really installed, but never on this machine (its keepalived is the oracle of
//! other tests): each install runs in a private mount namespace, chrooted into an overlayfs
//! whose lower layer is `/` and whose upper layer is a tmpfs, so every change vanishes when
//! the namespace's last process exits. Maintainer scripts cannot reach the host's systemd
//! there (`/run` is a fresh tmpfs) and `policy-rc.d` forbids service starts.
//!
//! The packages are built from the debug binary `cargo test` already built (stripped), so the
//! test costs seconds, not a release build; `cargo deb` / `cargo generate-rpm` after
//! `cargo build --release` build the real ones from the same metadata.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn have_cargo_sub(sub: &str) -> bool {
    Command::new(cargo())
        .args([sub, "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

// ---------------------------------------------------------------------------------------
// The systemd unit

/// `[Section] Key=Value` lines of a unit file (repeated keys keep every value).
fn unit_keys(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.to_string();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("unit line without '=': {line:?}"));
        out.entry(format!("{section}.{}", k.trim()))
            .or_default()
            .push(v.trim().to_string());
    }
    out
}

fn one<'a>(keys: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    match keys.get(key).map(Vec::as_slice) {
        Some([v]) => v,
        other => panic!("{key}: expected exactly one value, found {other:?}"),
    }
}

/// Both units (Debian's /etc/default and RPM's /etc/sysconfig flavour) keep the contract of
/// Debian's keepalived unit.
#[test]
fn units_keep_debians_contract() {
    for (file, env_file, var) in [
        (
            "packaging/keepalived.service",
            "-/etc/default/keepalived",
            "$DAEMON_ARGS",
        ),
        (
            "packaging/rpm/keepalived.service",
            "-/etc/sysconfig/keepalived",
            "$KEEPALIVED_OPTIONS",
        ),
    ] {
        let k = unit_keys(&read(file));
        assert_eq!(one(&k, "Service.Type"), "notify", "{file}");
        assert_eq!(one(&k, "Service.EnvironmentFile"), env_file, "{file}");
        assert_eq!(
            one(&k, "Service.ExecStart"),
            format!("/usr/sbin/keepalived --dont-fork {var}"),
            "{file}"
        );
        assert_eq!(
            one(&k, "Service.ExecReload"),
            "/bin/kill -HUP $MAINPID",
            "{file}"
        );
        assert_eq!(one(&k, "Unit.After"), "network-online.target", "{file}");
        assert_eq!(one(&k, "Unit.Wants"), "network-online.target", "{file}");
        assert_eq!(
            one(&k, "Unit.ConditionFileNotEmpty"),
            "/etc/keepalived/keepalived.conf",
            "{file}: without a configuration the service must not start"
        );
        // Debian's journald line "Started Keepalive Daemon (LVS and VRRP)." is grepped.
        assert_eq!(
            one(&k, "Unit.Description"),
            "Keepalive Daemon (LVS and VRRP)",
            "{file}"
        );
        assert_eq!(one(&k, "Install.WantedBy"), "multi-user.target", "{file}");
        // Type=notify knows the main pid; a PIDFile= would only race with it. KillMode stays
        // Debian's default (control-group): see the comment in the unit.
        assert!(!k.contains_key("Service.PIDFile"), "{file}: no PIDFile=");
        assert!(
            !k.contains_key("Service.KillMode"),
            "{file}: KillMode as Debian"
        );
        let docs = &k["Unit.Documentation"];
        assert!(docs.contains(&"man:keepalived(8)".to_string()), "{file}");
        assert!(
            docs.contains(&"man:keepalived.conf(5)".to_string()),
            "{file}"
        );
    }
}

/// The unit is the one Debian's DAEMON_ARGS file feeds: same variable, same default.
#[test]
fn default_file_matches_debians() {
    let ours = read("packaging/default/keepalived");
    let assigns: Vec<&str> = ours
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        assigns,
        ["DAEMON_ARGS=\"\""],
        "only DAEMON_ARGS, empty as Debian's"
    );
    let rpm = read("packaging/rpm/sysconfig.keepalived");
    let assigns: Vec<&str> = rpm
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        assigns,
        ["KEEPALIVED_OPTIONS=\"-D\""],
        "as upstream's sysconfig"
    );
}

/// `systemd-analyze verify` reports problems on stderr but exits 0 for most of them (an
/// unknown key, a bad Type=), so any output at all is a failure.
#[test]
fn systemd_analyze_verify_is_clean() {
    if !have("systemd-analyze", "--version") {
        eprintln!("SKIP systemd_analyze_verify_is_clean: systemd-analyze is not installed");
        return;
    }
    if !Path::new("/usr/sbin/keepalived").exists() {
        // verify checks that ExecStart's program exists.
        eprintln!("SKIP systemd_analyze_verify_is_clean: no /usr/sbin/keepalived to point at");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ops-unit-verify");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let verify = |text: &str| -> String {
        // The file name decides the unit name: both are checked as keepalived.service.
        let path = dir.join("keepalived.service");
        std::fs::write(&path, text).expect("write unit");
        let out = run(Command::new("systemd-analyze").arg("verify").arg(&path));
        let mut report = String::from_utf8_lossy(&out.stderr).into_owned();
        report.push_str(&String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            report.push_str(&format!("\nexit status {}", out.status));
        }
        report
    };
    for file in [
        "packaging/keepalived.service",
        "packaging/rpm/keepalived.service",
    ] {
        let report = verify(&read(file));
        assert!(
            report.trim().is_empty(),
            "systemd-analyze verify {file}:\n{report}"
        );
    }
    // And the check can fail: a misspelt key is reported.
    let broken = read("packaging/keepalived.service").replace("Type=notify", "Typo=notify");
    assert!(
        verify(&broken).contains("Typo"),
        "systemd-analyze did not report an unknown key"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// The .deb

/// Builds the .deb once per test run; None (with a message) when cargo-deb is missing.
fn deb() -> Option<&'static Path> {
    static DEB: OnceLock<Option<PathBuf>> = OnceLock::new();
    DEB.get_or_init(|| {
        if !have_cargo_sub("deb") {
            eprintln!("SKIP: cargo-deb is not installed (cargo install --locked cargo-deb)");
            return None;
        }
        if !have("dpkg-deb", "--version") {
            eprintln!("SKIP: dpkg-deb is not installed");
            return None;
        }
        let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ops-deb");
        let _ = std::fs::remove_dir_all(&work);
        let release = work.join("target/release");
        std::fs::create_dir_all(&release).expect("temp dir");
        // cargo-deb packages `target/release/keepalived` of the target dir it is given.
        std::fs::copy(env!("CARGO_BIN_EXE_keepalived"), release.join("keepalived"))
            .expect("copy the binary");
        let out = work.join("out");
        ok(Command::new(cargo())
            .args(["deb", "--no-build", "--strip", "--fast", "--output"])
            .arg(&out)
            .env("CARGO_TARGET_DIR", work.join("target"))
            .current_dir(root()));
        let deb = std::fs::read_dir(&out)
            .expect("cargo deb output dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .expect("cargo deb wrote no .deb");
        Some(deb)
    })
    .as_deref()
}

fn field(deb: &Path, name: &str) -> String {
    ok(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
        .trim()
        .to_string()
}

#[test]
fn deb_declares_the_drop_in() {
    let Some(deb) = deb() else { return };
    let name = deb.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(name.starts_with("keepalived-rs_"), "{name}");
    assert_eq!(field(deb, "Package"), "keepalived-rs");
    assert_eq!(field(deb, "Section"), "admin");
    assert_eq!(field(deb, "Provides"), "keepalived (= 1:2.2.7)");
    assert_eq!(field(deb, "Conflicts"), "keepalived");
    assert_eq!(field(deb, "Replaces"), "keepalived");
    assert!(field(deb, "Depends").contains("libc6"), "shlibdeps ran");

    let ctrl = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ops-deb-control");
    let _ = std::fs::remove_dir_all(&ctrl);
    ok(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&ctrl));
    let conffiles = std::fs::read_to_string(ctrl.join("conffiles")).expect("conffiles");
    let mut conffiles: Vec<&str> = conffiles.lines().collect();
    conffiles.sort();
    // keepalived.conf is not among them: the package does not own it, so dpkg never
    // creates, replaces or removes it.
    assert_eq!(
        conffiles,
        [
            "/etc/default/keepalived",
            "/etc/keepalived/keepalived.conf.sample"
        ]
    );
    for script in ["postinst", "prerm", "postrm"] {
        let path = ctrl.join(script);
        ok(Command::new("sh").arg("-n").arg(&path));
        let text = std::fs::read_to_string(&path).expect("script");
        assert!(
            text.contains("keepalived.service"),
            "{script} manages keepalived.service"
        );
        assert!(
            !text.contains("keepalived.conf\""),
            "{script} must not touch keepalived.conf"
        );
    }
}

#[test]
fn deb_ships_the_expected_files() {
    let Some(deb) = deb() else { return };
    let listing = ok(Command::new("dpkg-deb").arg("-c").arg(deb));
    let mut files = BTreeMap::new();
    for line in listing.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (Some(mode), Some(path)) = (cols.first(), cols.last()) else {
            continue;
        };
        if mode.starts_with('-') {
            files.insert(path.trim_start_matches('.').to_string(), mode.to_string());
        }
    }
    let expected = [
        ("/usr/sbin/keepalived", "-rwxr-xr-x"),
        // Debian's keepalived path: see Cargo.toml and deb_replacement_with_dpkg_keeps_the_unit.
        ("/lib/systemd/system/keepalived.service", "-rw-r--r--"),
        ("/etc/default/keepalived", "-rw-r--r--"),
        ("/etc/keepalived/keepalived.conf.sample", "-rw-r--r--"),
        (
            "/usr/share/doc/keepalived-rs/examples/keepalived.conf",
            "-rw-r--r--",
        ),
        ("/usr/share/doc/keepalived-rs/README.md", "-rw-r--r--"),
        ("/usr/share/doc/keepalived-rs/copyright", "-rw-r--r--"),
        (
            "/usr/share/doc/keepalived-rs/changelog.Debian.gz",
            "-rw-r--r--",
        ),
        ("/usr/share/man/man8/keepalived.8.gz", "-rw-r--r--"),
        ("/usr/share/man/man5/keepalived.conf.5.gz", "-rw-r--r--"),
    ];
    let expected: BTreeMap<String, String> = expected
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert_eq!(files, expected, "file list of the .deb");

    // The shipped files are the repository's (man pages gzipped, as Debian policy wants).
    let x = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ops-deb-extract");
    let _ = std::fs::remove_dir_all(&x);
    ok(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&x));
    let same = |shipped: &str, source: &str| {
        let a = std::fs::read(x.join(shipped)).expect("shipped file");
        let b = std::fs::read(root().join(source)).expect("source file");
        assert!(a == b, "{shipped} differs from {source}");
    };
    same(
        "lib/systemd/system/keepalived.service",
        "packaging/keepalived.service",
    );
    same("etc/default/keepalived", "packaging/default/keepalived");
    same(
        "etc/keepalived/keepalived.conf.sample",
        "examples/keepalived.conf",
    );
    for (gz, source) in [
        ("usr/share/man/man8/keepalived.8.gz", "man/keepalived.8"),
        (
            "usr/share/man/man5/keepalived.conf.5.gz",
            "man/keepalived.conf.5",
        ),
    ] {
        let text = ok(Command::new("gzip").arg("-dc").arg(x.join(gz)));
        assert!(text == read(source), "{gz} is not {source} gzipped");
    }
    let _ = std::fs::remove_dir_all(&x);
}

/// Debian's own package checker: warnings are allowed (the synopsis comes from the crate's
/// description), errors are not.
#[test]
fn deb_has_no_lintian_errors() {
    let Some(deb) = deb() else { return };
    if !have("lintian", "--version") {
        eprintln!("SKIP deb_has_no_lintian_errors: lintian is not installed");
        return;
    }
    let out = run(Command::new("lintian")
        .args(["--fail-on", "error", "--tag-display-limit", "0"])
        .arg(deb));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));
    assert!(
        out.status.success(),
        "lintian --fail-on error: {}",
        out.status
    );
}

/// Runs in a private mount namespace (`unshare -m`): overlay of `/` on a tmpfs, chroot,
/// install, report `key: value` lines.
const INSTALL_SCRIPT: &str = r#"
set -u
deb="$1"; mode="$2"; T="$3"
mount -t tmpfs ops-pkg "$T"
mkdir -p "$T/upper" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$T/root"
R="$T/root"
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts" 2>/dev/null || true
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
name=$(basename "$deb"); cp "$deb" "$R/tmp/$name"
inroot() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
say() { echo "$1: $2"; }
say keepalived-before "$(inroot dpkg-query -W -f='${Status}' keepalived 2>/dev/null || echo absent)"
case "$mode" in
apt|dpkg)
  # An operator's existing configuration, which the package must leave alone.
  mkdir -p "$R/etc/keepalived"
  cat > "$R/etc/keepalived/keepalived.conf" <<'CONF'
! the operator's own configuration
global_defs {
    router_id ops-keep
    dynamic_interfaces
}
vrrp_instance OPS_KEEP {
    interface ops-eth0
    virtual_router_id 42
    priority 100
    virtual_ipaddress {
        192.0.2.42/32
    }
}
CONF
  say conf-before "$(sha256sum < "$R/etc/keepalived/keepalived.conf")"
  ;;
fresh)
  inroot dpkg --purge keepalived > /dev/null 2>&1
  rm -rf "$R/etc/keepalived"
  ;;
esac
if [ "$mode" = apt ]; then
  inroot apt-get install -y -o Debug::NoLocking=1 "/tmp/$name" > "$T/log" 2>&1
else
  inroot dpkg -i "/tmp/$name" > "$T/log" 2>&1
fi
rc=$?
say install-rc "$rc"
[ "$rc" = 0 ] || sed 's/^/install-log: /' "$T/log"
if [ -e "$R/etc/keepalived/keepalived.conf" ]; then
  say conf-after "$(sha256sum < "$R/etc/keepalived/keepalived.conf")"
  say check-conf-rc "$(inroot /usr/sbin/keepalived --check -f /etc/keepalived/keepalived.conf >/dev/null 2>&1; echo $?)"
else
  say conf-after absent
fi
say status-rs "$(inroot dpkg-query -W -f='${Status}' keepalived-rs 2>/dev/null)"
say status-keepalived "$(inroot dpkg-query -W -f='${Status}' keepalived 2>/dev/null || echo absent)"
say version "$(inroot /usr/sbin/keepalived --version 2>&1 | sed -n 1p)"
say v-rc "$(inroot /usr/sbin/keepalived -v >/dev/null 2>&1; echo $?)"
say check-sample-rc "$(inroot /usr/sbin/keepalived --check -f /etc/keepalived/keepalived.conf.sample >/dev/null 2>&1; echo $?)"
say unit "$(cat "$R/lib/systemd/system/keepalived.service" 2>/dev/null | sha256sum)"
say enabled "$([ -L "$R/etc/systemd/system/multi-user.target.wants/keepalived.service" ] && echo yes || echo no)"
say man8 "$(zcat "$R/usr/share/man/man8/keepalived.8.gz" 2>/dev/null | sha256sum)"
say man5 "$(zcat "$R/usr/share/man/man5/keepalived.conf.5.gz" 2>/dev/null | sha256sum)"
if [ "$mode" = fresh ]; then
  inroot dpkg --purge keepalived-rs > "$T/log" 2>&1
  say purge-rc "$?"
  say purged-binary "$([ -e "$R/usr/sbin/keepalived" ] && echo present || echo gone)"
  say purged-unit "$([ -e "$R/lib/systemd/system/keepalived.service" ] && echo present || echo gone)"
  say purged-default "$([ -e "$R/etc/default/keepalived" ] && echo present || echo gone)"
  say purged-link "$([ -L "$R/etc/systemd/system/multi-user.target.wants/keepalived.service" ] && echo present || echo gone)"
fi
"#;

fn sha_of(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    String::from_utf8_lossy(&child.wait_with_output().expect("sha256sum").stdout)
        .trim()
        .to_string()
}

/// Installs the .deb in a throw-away overlay of this machine; None when that is not possible.
fn install_in_overlay(mode: &str) -> Option<BTreeMap<String, String>> {
    let deb = deb()?;
    if !is_root() {
        eprintln!("SKIP: installing the .deb in an overlay needs root");
        return None;
    }
    if !have("unshare", "--version") || !have("chroot", "--version") {
        eprintln!("SKIP: unshare or chroot is missing (util-linux, coreutils)");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ops-install-{mode}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).expect("temp dir");
    let script = dir.join("install.sh");
    std::fs::write(&script, INSTALL_SCRIPT).expect("write script");
    let out = run(Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh"])
        .arg(&script)
        .arg(deb)
        .arg(mode)
        .arg(&mnt));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if stdout.is_empty() && stderr.contains("overlay") {
        eprintln!("SKIP: this kernel cannot mount an overlay of /: {stderr}");
        return None;
    }
    eprintln!("{stdout}{stderr}");
    let mut report = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((k, v)) = line.split_once(": ") {
            report
                .entry(k.to_string())
                .and_modify(|old: &mut String| {
                    old.push('\n');
                    old.push_str(v);
                })
                .or_insert_with(|| v.to_string());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(report)
}

fn get<'a>(r: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    r.get(k).map(String::as_str).unwrap_or("<missing>")
}

/// What every successful install must show.
fn assert_installed(r: &BTreeMap<String, String>) {
    assert_eq!(get(r, "install-rc"), "0", "install failed:\n{r:#?}");
    assert_eq!(get(r, "status-rs"), "install ok installed");
    assert!(
        get(r, "version").contains("keepalived-rs"),
        "/usr/sbin/keepalived is ours: {}",
        get(r, "version")
    );
    assert_eq!(get(r, "v-rc"), "0", "keepalived -v");
    assert_eq!(
        get(r, "check-sample-rc"),
        "0",
        "keepalived --check -f /etc/keepalived/keepalived.conf.sample"
    );
    assert_eq!(
        get(r, "unit"),
        sha_of(&read("packaging/keepalived.service")),
        "/lib/systemd/system/keepalived.service is our unit"
    );
    assert_eq!(get(r, "enabled"), "yes", "keepalived.service enabled");
    assert_eq!(get(r, "man8"), sha_of(&read("man/keepalived.8")));
    assert_eq!(get(r, "man5"), sha_of(&read("man/keepalived.conf.5")));
}

/// The operator's path: `apt-get install ./keepalived-rs_*.deb` on a machine running Debian's
/// keepalived with its own keepalived.conf.
#[test]
fn deb_replaces_debians_keepalived_with_apt() {
    let Some(r) = install_in_overlay("apt") else {
        return;
    };
    assert_installed(&r);
    if get(&r, "keepalived-before").starts_with("install ok") {
        assert_ne!(
            get(&r, "status-keepalived"),
            "install ok installed",
            "Debian's keepalived was replaced"
        );
    }
    assert_eq!(
        get(&r, "conf-after"),
        get(&r, "conf-before"),
        "the existing keepalived.conf survived the install unchanged"
    );
    assert_eq!(get(&r, "check-conf-rc"), "0", "it still validates");
}

/// `dpkg -i` replaces keepalived in one step (Conflicts + Replaces): dpkg unpacks ours, then
/// removes keepalived's files. Had the unit gone to /usr/lib/systemd/system, removing
/// keepalived's /lib/systemd/system/keepalived.service would delete it through the merged-/usr
/// symlink (observed); at keepalived's own path dpkg sees it was taken over.
#[test]
fn deb_replacement_with_dpkg_keeps_the_unit() {
    let Some(r) = install_in_overlay("dpkg") else {
        return;
    };
    assert_installed(&r);
    assert_eq!(get(&r, "conf-after"), get(&r, "conf-before"));
}

/// A machine without keepalived: the package installs, creates no keepalived.conf (so the
/// unit's ConditionFileNotEmpty keeps the service off until the operator writes one), and a
/// purge removes everything it installed.
#[test]
fn deb_on_a_fresh_system_creates_no_config_and_purges_cleanly() {
    let Some(r) = install_in_overlay("fresh") else {
        return;
    };
    assert_installed(&r);
    assert_eq!(
        get(&r, "conf-after"),
        "absent",
        "no keepalived.conf created"
    );
    assert_eq!(get(&r, "purge-rc"), "0");
    assert_eq!(get(&r, "purged-binary"), "gone");
    assert_eq!(get(&r, "purged-unit"), "gone");
    assert_eq!(get(&r, "purged-default"), "gone");
    assert_eq!(get(&r, "purged-link"), "gone");
}

// ---------------------------------------------------------------------------------------
// The .rpm

/// Builds the .rpm once per test run; None (with a message) when the tools are missing.
fn rpm_package() -> Option<&'static Path> {
    static RPM: OnceLock<Option<PathBuf>> = OnceLock::new();
    RPM.get_or_init(|| {
        if !have_cargo_sub("generate-rpm") {
            eprintln!(
                "SKIP: cargo-generate-rpm is not installed (cargo install --locked cargo-generate-rpm)"
            );
            return None;
        }
        if !have("rpm", "--version") {
            eprintln!("SKIP: rpm is not installed (apt-get install rpm)");
            return None;
        }
        let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ops-rpm");
        let _ = std::fs::remove_dir_all(&work);
        let release = work.join("target/release");
        std::fs::create_dir_all(&release).expect("temp dir");
        // cargo-generate-rpm does not strip: do what the README tells a release build to do.
        ok(Command::new("strip")
            .arg("-o")
            .arg(release.join("keepalived"))
            .arg(env!("CARGO_BIN_EXE_keepalived")));
        let out = work.join("out");
        std::fs::create_dir_all(&out).expect("temp dir");
        ok(Command::new(cargo())
            .args(["generate-rpm", "--target-dir"])
            .arg(work.join("target"))
            .arg("--output")
            .arg(&out)
            .current_dir(root()));
        let rpm = std::fs::read_dir(&out)
            .expect("cargo generate-rpm output dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "rpm"))
            .expect("cargo generate-rpm wrote no .rpm");
        Some(rpm)
    })
    .as_deref()
}

fn rpm_query(rpm: &Path, args: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = ok(Command::new("rpm").arg("-qp").args(args).arg(rpm))
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn rpm_declares_the_drop_in_and_ships_the_expected_files() {
    let Some(rpm) = rpm_package() else { return };
    let info = ok(Command::new("rpm").arg("-qpi").arg(rpm));
    assert!(info.contains("Name        : keepalived-rs"), "{info}");
    assert!(
        rpm_query(rpm, &["--provides"]).contains(&"keepalived = 2.2.7".to_string()),
        "Provides keepalived"
    );
    assert_eq!(rpm_query(rpm, &["--conflicts"]), ["keepalived"]);
    // rpm has no Replaces: Obsoletes is how dnf/zypper swap keepalived for keepalived-rs.
    assert_eq!(rpm_query(rpm, &["--obsoletes"]), ["keepalived < 2.2.8"]);
    assert_eq!(
        rpm_query(rpm, &["-l"]),
        [
            "/etc/keepalived/keepalived.conf.sample",
            "/etc/sysconfig/keepalived",
            "/usr/lib/systemd/system/keepalived.service",
            "/usr/sbin/keepalived",
            "/usr/share/doc/keepalived-rs/examples/keepalived.conf",
            "/usr/share/man/man5/keepalived.conf.5",
            "/usr/share/man/man8/keepalived.8",
        ]
    );
    // %config(noreplace) files; keepalived.conf is not in the package at all.
    assert_eq!(
        rpm_query(rpm, &["-c"]),
        [
            "/etc/keepalived/keepalived.conf.sample",
            "/etc/sysconfig/keepalived"
        ]
    );
    let scripts = ok(Command::new("rpm").args(["-qp", "--scripts"]).arg(rpm));
    for s in ["postinstall", "preuninstall", "postuninstall"] {
        assert!(
            scripts.contains(&format!("{s} scriptlet")),
            "{s}:\n{scripts}"
        );
    }
}

/// Installs the .rpm's files into an empty root (rpm --root, no scriptlets, no dependency
/// check: this is Debian), over an existing keepalived.conf, and runs the installed binary.
#[test]
fn rpm_installs_into_an_empty_root_without_touching_keepalived_conf() {
    let Some(rpm) = rpm_package() else { return };
    if !is_root() {
        eprintln!("SKIP: rpm --root needs root");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ops-rpm-root");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("etc/keepalived")).expect("temp root");
    let conf = dir.join("etc/keepalived/keepalived.conf");
    let mine = "! the operator's own configuration\nglobal_defs {\n    router_id ops-rpm\n}\n";
    std::fs::write(&conf, mine).expect("write conf");
    ok(Command::new("rpm").arg("--root").arg(&dir).arg("--initdb"));
    ok(Command::new("rpm")
        .arg("--root")
        .arg(&dir)
        .args(["-i", "--nodeps", "--noscripts"])
        .arg(rpm));
    assert_eq!(std::fs::read_to_string(&conf).expect("conf"), mine);
    let bin = dir.join("usr/sbin/keepalived");
    let v = run(Command::new(&bin).arg("-v"));
    assert!(v.status.success(), "keepalived -v: {}", v.status);
    assert!(String::from_utf8_lossy(&v.stderr).contains("keepalived-rs"));
    let check = run(Command::new(&bin)
        .arg("--check")
        .arg("-f")
        .arg(dir.join("etc/keepalived/keepalived.conf.sample")));
    assert_eq!(check.status.code(), Some(0), "--check of the sample");
    assert_eq!(
        std::fs::read(dir.join("usr/lib/systemd/system/keepalived.service")).expect("unit"),
        read("packaging/rpm/keepalived.service").into_bytes()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
