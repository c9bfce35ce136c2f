//! What the command-line tests share: running the built `vmplay`, reading
//! what it printed, writing a scenario for it to run.

// Each test binary uses the part it needs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn vmplay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmplay"))
        .args(args)
        .output()
        .expect("vmplay runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Write `content` as `name` in a temporary folder of this test binary's
/// own (`vmplay-TAG-PID`), and return its path.
pub fn scenario(tag: &str, name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmplay-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}
