//! track_file watcher on real files.

use keepalived_rs::notify::track_file::{TrackFileWatcher, WatchedFile};
use std::time::Duration;
use tokio::sync::mpsc;

async fn next(rx: &mut mpsc::Receiver<(String, i64)>) -> (String, i64) {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("value in time")
        .expect("watcher alive")
}

/// Atomic replace: a poll never sees a half-written file (keepalived reacts to IN_CLOSE_WRITE;
/// the polling watcher could read a file between truncate and write).
fn put(f: &std::path::Path, v: &str) {
    let t = f.with_extension("tmp");
    std::fs::write(&t, v).unwrap();
    std::fs::rename(&t, f).unwrap();
}

#[tokio::test]
async fn reports_changes_missing_as_zero_and_keeps_the_value_on_bad_numbers() {
    let d = std::env::temp_dir().join(format!("ka-rs-tf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join("val");
    let (tx, mut rx) = mpsc::channel(8);
    let w = TrackFileWatcher::start(
        vec![WatchedFile {
            name: "tf".into(),
            path: f.clone(),
        }],
        Duration::from_millis(20),
        tx,
    );
    assert_eq!(next(&mut rx).await, ("tf".to_string(), 0));
    put(&f, "0x10\n");
    assert_eq!(next(&mut rx).await, ("tf".to_string(), 16));
    // Out of range: ignored, the value stays 16; the next good value comes through.
    put(&f, "99999999999\n");
    tokio::time::sleep(Duration::from_millis(100)).await;
    put(&f, "-3");
    assert_eq!(next(&mut rx).await, ("tf".to_string(), -3));
    std::fs::remove_file(&f).unwrap();
    assert_eq!(next(&mut rx).await, ("tf".to_string(), 0));
    w.stop();
}
