//! Differential test against keepalived 2.2.7's own `-t` verdicts on the shared corpus
//! (`../shared/corpus/keepalived-samples` and `../shared/corpus/github`).
//!
//! For every config we compare our exit status and the set of line numbers we flag with the
//! oracle's. The machine is pinned to the environment the verdicts were recorded in
//! (`oracle-env.sh`: host name `vm`, interfaces eth0..eth3 and eth0.1, cwd /tmp), so the test
//! needs no root. Files where we knowingly differ are listed, with the reason, in
//! `tests/corpus_known_differences.tsv`; every other file must agree exactly, and a listed file
//! that starts agreeing must be removed from the list.

use keepalived_rs::config::host::{FileStat, Host, SystemHost};
use keepalived_rs::config::{diag::Severity, load_with, LoadOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

struct OracleHost;

impl Host for OracleHost {
    fn read_file(&self, p: &Path) -> std::io::Result<Vec<u8>> {
        SystemHost.read_file(p)
    }
    fn stat(&self, p: &Path) -> Option<FileStat> {
        SystemHost.stat(p)
    }
    fn glob(&self, p: &str) -> Vec<String> {
        SystemHost.glob(p)
    }
    fn interface_exists(&self, n: &str) -> bool {
        matches!(n, "lo" | "eth0" | "eth1" | "eth2" | "eth3" | "eth0.1")
    }
    fn user(&self, n: &str) -> Option<(u32, u32)> {
        SystemHost.user(n)
    }
    fn group(&self, n: &str) -> Option<u32> {
        SystemHost.group(n)
    }
    fn hostname(&self) -> String {
        "vm".into()
    }
    fn resolves(&self, n: &str) -> bool {
        // The oracle ran in an empty network namespace: only literal addresses and names from
        // /etc/hosts resolve.
        n == "localhost"
    }
    fn path_dirs(&self) -> Vec<PathBuf> {
        // The PATH keepalived ran with when the verdicts were recorded (root's default).
        std::env::split_paths("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .collect()
    }
    fn lstat(&self, p: &Path) -> Option<FileStat> {
        SystemHost.lstat(p)
    }
    fn realpath(&self, p: &Path) -> Option<PathBuf> {
        SystemHost.realpath(p)
    }
    fn euid(&self) -> (u32, u32) {
        // The oracle ran as root.
        (0, 0)
    }
    fn cwd(&self) -> PathBuf {
        "/tmp".into()
    }
    fn canonical(&self, p: &Path) -> PathBuf {
        SystemHost.canonical(p)
    }
    fn netns_exists(&self, _: &str) -> bool {
        // The oracle ran with no named network namespaces (/run/netns empty).
        false
    }
}

fn corpus_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    d.is_dir().then_some(d)
}

/// Line numbers keepalived flagged, from its recorded stderr.
fn oracle_lines(stderr: &str) -> BTreeSet<u32> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('(')?;
            let close = rest.find(')')?;
            let inner = &rest[..close];
            let n = inner.rsplit("Line ").next()?;
            if !inner.contains("Line ") {
                return None;
            }
            n.trim().parse().ok()
        })
        .collect()
}

struct Outcome {
    file: String,
    ok: bool,
    detail: String,
}

fn check_dir(dir: &Path) -> Vec<Outcome> {
    let verdicts = std::fs::read_to_string(dir.join("VERDICTS.tsv")).unwrap_or_default();
    let mut out = Vec::new();
    for row in verdicts.lines().skip(1) {
        let file = row.split('\t').next().unwrap_or("");
        if file.is_empty() {
            continue;
        }
        let oracle = dir.join("oracle");
        let rc: u8 = std::fs::read_to_string(oracle.join(format!("{file}.rc")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(255);
        let want = oracle_lines(
            &std::fs::read_to_string(oracle.join(format!("{file}.stderr"))).unwrap_or_default(),
        );
        let loaded = load_with(&dir.join(file), &LoadOptions::default(), &OracleHost);
        let got_rc = loaded.exit_status();
        let got: BTreeSet<u32> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Info)
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        let ok = got_rc == rc && got == want;
        let detail = if ok {
            String::new()
        } else {
            let missing: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            let msgs: Vec<String> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.severity >= Severity::Info)
                .map(|d| format!("{}:{}", d.span.map_or(0, |s| s.line), d.message))
                .collect();
            format!(
                "rc ours {got_rc} oracle {rc}; lines missing {missing:?} extra {extra:?}; ours: {}",
                msgs.join(" | ")
            )
        };
        out.push(Outcome {
            file: file.to_string(),
            ok,
            detail,
        });
    }
    out
}

#[test]
fn corpus_agrees_with_keepalived() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIP: ../shared/corpus is absent; the differential corpus test did not run");
        return;
    };
    let known: BTreeMap<String, String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_known_differences.tsv"),
    )
    .unwrap_or_default()
    .lines()
    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    .filter_map(|l| l.split_once('\t'))
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let mut all = check_dir(&dir.join("keepalived-samples"));
    all.extend(check_dir(&dir.join("github")));
    let agree = all.iter().filter(|o| o.ok).count();
    let report: String = all
        .iter()
        .filter(|o| !o.ok)
        .map(|o| format!("{}\t{}\n", o.file, o.detail.replace('\n', "\\n")))
        .collect();
    let report_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus-report.tsv");
    let _ = std::fs::write(&report_path, &report);
    println!(
        "corpus agreement: {agree}/{} = {:.1}% (details of disagreements: {})",
        all.len(),
        100.0 * agree as f64 / all.len().max(1) as f64,
        report_path.display()
    );
    let unexpected: Vec<&Outcome> = all
        .iter()
        .filter(|o| !o.ok && !known.contains_key(&o.file))
        .collect();
    let fixed: Vec<&Outcome> = all
        .iter()
        .filter(|o| o.ok && known.contains_key(&o.file))
        .collect();
    for o in &unexpected {
        println!("DISAGREES: {}\t{}", o.file, o.detail);
    }
    for o in &fixed {
        println!("NOW AGREES (remove from the known list): {}", o.file);
    }
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{} unexpected disagreements, {} fixed files still listed as known",
        unexpected.len(),
        fixed.len()
    );
}
