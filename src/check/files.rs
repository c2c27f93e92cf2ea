//! FILE_CHECK's I/O for the checker driver: the first read of every track file a FILE_CHECK
//! follows (keepalived's `init_track_files`, before IPVS is programmed) and the watcher that
//! reports later values (the `track_file` watcher VRRP uses, [`TrackFileWatcher`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::spec::Probe;
use crate::ipvs::desired::LvsConfig;
use crate::notify::track_file::{read_value, TrackFileWatcher, WatchedFile};

/// Is the directory a track file lives in there? (keepalived drops a track file whose
/// directory does not exist: "Track file directory for NAME does not exist - removing".)
fn directory_exists(path: &Path) -> bool {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.is_dir(),
        _ => true,
    }
}

/// Reads each FILE_CHECK's track file into its spec ([`super::spec::FileSpec::initial`]; an
/// unreadable file or a bad number reads as 0, as keepalived starts). Returns keepalived's
/// messages, and the files to watch afterwards (name, path), each once.
pub fn read_initial(cfg: &mut LvsConfig) -> (Vec<String>, Vec<(String, PathBuf)>) {
    let mut msgs = Vec::new();
    let mut watch: Vec<(String, PathBuf)> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for f in cfg
        .virtual_servers
        .iter_mut()
        .flat_map(|v| v.reals.iter_mut())
        .flat_map(|r| r.checkers.iter_mut())
        .filter_map(|c| match &mut c.probe {
            Probe::File(f) => Some(f),
            _ => None,
        })
    {
        if dropped.contains(&f.name) {
            continue;
        }
        if !watch.iter().any(|(n, _)| n == &f.name) {
            if !directory_exists(&f.path) {
                msgs.push(format!(
                    "Track file directory for {} does not exist - removing",
                    f.name
                ));
                dropped.push(f.name.clone());
                continue;
            }
            watch.push((f.name.clone(), f.path.clone()));
        }
        f.initial = read_value(&f.path).unwrap_or(0);
    }
    (msgs, watch)
}

/// The values of the watched track files as they change.
pub struct FileWatch {
    rx: mpsc::Receiver<(String, i64)>,
    // keeps `rx` pending (not closed) when nothing is watched
    _tx: mpsc::Sender<(String, i64)>,
    _watcher: Option<TrackFileWatcher>,
}

impl FileWatch {
    /// Starts watching `files` on the current tokio runtime, reading them every `period`.
    pub fn start(files: Vec<(String, PathBuf)>, period: Duration) -> FileWatch {
        let (tx, rx) = mpsc::channel(64);
        let watcher = (!files.is_empty()).then(|| {
            let files = files
                .into_iter()
                .map(|(name, path)| WatchedFile { name, path })
                .collect();
            TrackFileWatcher::start(files, period, tx.clone())
        });
        FileWatch {
            rx,
            _tx: tx,
            _watcher: watcher,
        }
    }

    /// The next (name, value); pending forever when nothing is watched.
    pub async fn next(&mut self) -> Option<(String, i64)> {
        self.rx.recv().await
    }
}
