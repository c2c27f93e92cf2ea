//! keepalived.conf: load (includes, `@` lines, `$` definitions, `~SEQ`), lex, parse against the
//! keyword tables, decode into the model, validate. Every step reports [`diag::Diagnostic`]s.

pub mod decode;
pub mod diag;
pub mod engine;
pub mod fuzz;
pub mod hint;
pub mod host;
pub mod keywords;
pub mod lexer;
pub mod render;
pub mod routes;
pub mod source;
pub mod validate;
pub mod values;

use diag::{Diagnostic, SourceMap};
use std::path::{Path, PathBuf};

/// What a load needs to know beyond the file itself.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-i/--config-id`; `None` means the host name up to the first dot.
    pub config_id: Option<String>,
    /// `-e/--all-config`: missing or unreadable config/include files are errors.
    pub all_config: bool,
    /// Seed for `${_RANDOM}` (keepalived seeds from the time unless `random_seed` is set).
    pub random_seed: u64,
}

/// The result of loading a configuration: the model (always, possibly partial), every
/// diagnostic in source order, and the files that were read (for rendering).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub model: crate::model::Config,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// The main config file as given.
    pub path: PathBuf,
    /// `net_namespace` names a namespace that does not exist: keepalived 2.2.7 stops right
    /// after reading the global configuration (the daemon exits 0 after logging "Unable to set
    /// network namespace NAME - exiting"; `-t` prints only the parent's messages and exits 0),
    /// so the VRRP, checker and BFD configuration is not checked.
    pub missing_net_namespace: Option<String>,
}

impl Loaded {
    /// keepalived 2.2.7 `-t` exit status for this load.
    pub fn exit_status(&self) -> u8 {
        let status = diag::exit_status(&self.diagnostics);
        if self.missing_net_namespace.is_some() {
            // Only a parse abort or a config-file error (-e) ends keepalived before it tries
            // to enter the namespace; otherwise it exits 0 whatever the parent reported.
            let early = self
                .diagnostics
                .iter()
                .any(|d| matches!(d.severity, diag::Severity::Abort | diag::Severity::Security));
            return if early { status } else { 0 };
        }
        status
    }
}

/// Loads, parses and validates `path` against the real machine.
pub fn load(path: &Path, opts: &LoadOptions) -> Loaded {
    load_with(path, opts, &host::SystemHost)
}

/// Loads with an explicit view of the machine (tests pin it down).
pub fn load_with(path: &Path, opts: &LoadOptions, host: &dyn host::Host) -> Loaded {
    let config_id = opts.config_id.clone().unwrap_or_else(|| {
        let h = host.hostname();
        h.split('.').next().unwrap_or("").to_string()
    });
    let read = source::read(
        path,
        &source::ReadOptions {
            config_id,
            all_config: opts.all_config,
            random_seed: opts.random_seed,
        },
        host,
    );
    let mut diagnostics = read.diagnostics;
    let (lexed, lex_diags) = engine::tokenize(&read.lines, &read.text);
    diagnostics.extend(lex_diags);

    // One pass per keepalived process, each with its own activation of root keywords.
    let mut model = crate::model::Config::default();
    let mut aborted = false;
    let mut default_user = None;
    let mut missing_interface = false;
    let mut missing_net_namespace = None;
    for pass in engine::Pass::ALL {
        // Children inherit what the parent parsed (keepalived forks after reading globals).
        let mut builder = decode::Builder::new(
            crate::model::Config {
                global: model.global.clone(),
                ..Default::default()
            },
            host,
        );
        builder.default_user = default_user;
        let mut ctx = engine::Ctx::new(&lexed, pass, builder);
        let r = ctx.run();
        diagnostics.append(&mut ctx.diags);
        default_user = ctx.b.default_user;
        if pass == engine::Pass::Vrrp {
            missing_interface = ctx.b.missing_interface;
        }
        let cfg = ctx.b.cfg;
        match pass {
            engine::Pass::Parent => {
                model.global = cfg.global;
                model.parsed.extend(
                    cfg.parsed.into_iter().filter(|(k, _)| {
                        keywords::section_of(root(k)) == keywords::Section::Global
                    }),
                );
            }
            engine::Pass::Checker => {
                model.virtual_servers = cfg.virtual_servers;
                model.virtual_server_groups = cfg.virtual_server_groups;
                model.ssl = cfg.ssl;
                model.parsed.extend(
                    cfg.parsed
                        .into_iter()
                        .filter(|(k, _)| keywords::section_of(root(k)) == keywords::Section::Check),
                );
            }
            engine::Pass::Vrrp => {
                // The deprecated `vrrp_instance { lvs_sync_daemon_interface }` sets it here
                // (in keepalived only the VRRP process sees that form).
                model.global.lvs_sync_daemon = cfg.global.lvs_sync_daemon;
                model.vrrp_instances = cfg.vrrp_instances;
                model.vrrp_scripts = cfg.vrrp_scripts;
                model.vrrp_sync_groups = cfg.vrrp_sync_groups;
                model.track_files = cfg.track_files;
                model.track_processes = cfg.track_processes;
                model.static_ipaddress = cfg.static_ipaddress;
                model.static_routes = cfg.static_routes;
                model.static_rules = cfg.static_rules;
                model.linkbeat_interfaces = cfg.linkbeat_interfaces;
                model.garp_groups = cfg.garp_groups;
                model.parsed.extend(cfg.parsed.into_iter().filter(|(k, _)| {
                    matches!(
                        keywords::section_of(root(k)),
                        keywords::Section::Vrrp | keywords::Section::TrackFile
                    )
                }));
            }
            engine::Pass::Bfd => {
                model.bfd_instances = cfg.bfd_instances;
            }
        }
        if r.is_err() {
            aborted = true;
            break;
        }
        if pass == engine::Pass::Parent {
            if let Some(ns) = model.global.net_namespace.clone() {
                if !host.netns_exists(&ns) {
                    diagnostics.push(Diagnostic::new(
                        diag::Severity::Note,
                        "net-namespace-missing",
                        format!(
                            "network namespace {ns} does not exist (/run/netns/{ns}): keepalived exits here without checking the VRRP, checker and BFD configuration"
                        ),
                    ));
                    missing_net_namespace = Some(ns);
                    break;
                }
            }
        }
    }
    if !aborted && missing_net_namespace.is_none() {
        diagnostics.extend(validate::validate(&mut model, host, missing_interface));
    }
    let mut diagnostics = dedup(diagnostics);
    hint::brace_in_comment(&mut diagnostics, &read.sources);
    Loaded {
        model,
        diagnostics,
        sources: read.sources,
        path: path.to_path_buf(),
        missing_net_namespace,
    }
}

fn root(path: &str) -> &str {
    path.split('/').next().unwrap_or("")
}

/// keepalived prints a message once per pass; we print each (line, message) once, keeping the
/// first occurrence's place.
fn dedup(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    diags
        .into_iter()
        .filter(|d| seen.insert((d.span.map(|s| (s.file, s.line)), d.message.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use host::MemHost;

    const CONF: &str = "vrrp_instance VI_1 {\n interface eth9\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1/24 dev eth9\n }\n}\n";

    fn check(text: &str) -> Loaded {
        let host = MemHost::new(&[("/c/k.conf", text)], &["lo"]);
        load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &host)
    }

    /// Checked against Debian's keepalived 2.2.7 in an empty network namespace: exit 5 with the
    /// two interface warnings, exit 0 once `dynamic_interfaces` is set.
    #[test]
    fn missing_interfaces_warn_unless_dynamic_interfaces() {
        let l = check(CONF);
        assert_eq!(l.exit_status(), 5);
        let msgs: Vec<&str> = l.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(msgs.contains(&"WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist"));
        assert!(msgs.contains(&"WARNING - interface eth9 for ip address 10.0.0.1/24 doesn't exist"));
        assert!(msgs.contains(&"Non-existent interface specified in configuration"));

        let l = check(&format!("global_defs {{\n dynamic_interfaces\n}}\n{CONF}"));
        assert_eq!(l.exit_status(), 0, "{:?}", l.diagnostics);
    }

    /// Observed with keepalived 2.2.7 -t: a missing include is only reported (exit 0), but
    /// with -e it is a config file error and -t exits 6; a missing main file with -e exits 4.
    #[test]
    fn include_checks_follow_dash_e() {
        let host = MemHost::new(&[("/c/k.conf", "include /c/nothere.conf\n")], &[]);
        let plain = load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &host);
        assert_eq!(plain.exit_status(), 0);
        assert_eq!(
            plain.diagnostics[0].message,
            "Config files missing '/c/nothere.conf'."
        );
        let e = LoadOptions {
            all_config: true,
            ..Default::default()
        };
        assert_eq!(
            load_with(Path::new("/c/k.conf"), &e, &host).exit_status(),
            6
        );
        assert_eq!(
            load_with(Path::new("/c/missing.conf"), &e, &host).exit_status(),
            4
        );
        assert_eq!(
            load_with(Path::new("/c/missing.conf"), &LoadOptions::default(), &host).exit_status(),
            0
        );
    }
}
