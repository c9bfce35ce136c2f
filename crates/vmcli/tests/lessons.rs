//! The lessons' exercises (`www/lessons/scenarios/`): each checks itself
//! (`vmplay run` exits 0, every `expect` passes), and each was recorded on
//! Linux with its `expect` lines turned into comments
//! (`tests/conformance/recorded/lesson_*`, and `recorded-swap/` for the
//! swap lessons): without those lines, the
//! simulator prints exactly what the kernel printed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lesson text as recorded: `expect` lines (with or without `PROC:`)
/// made into comments, so that every other line keeps its number.
fn commented(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| {
            let t = l.trim_start();
            let after_proc = t
                .split_once(':')
                .filter(|(p, _)| p.starts_with('p') && !p.contains(' '))
                .map_or(t, |(_, rest)| rest.trim_start());
            if after_proc.starts_with("expect ") {
                format!("# {l}")
            } else {
                l.to_string()
            }
        })
        .collect()
}

#[test]
fn every_lesson_exercise_passes_and_matches_its_linux_recording() {
    let dir = root().join("www/lessons/scenarios");
    let mut lessons: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vms"))
        .collect();
    lessons.sort();
    assert!(lessons.len() >= 10, "{} lessons", lessons.len());
    for path in lessons {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_vmplay"))
            .args(["run", "--check", path.to_str().unwrap()])
            .output()
            .unwrap();
        let out = String::from_utf8(o.stdout).unwrap();
        assert_eq!(o.status.code(), Some(0), "{stem}:\n{out}");
        let expects = out.lines().filter(|l| l.contains(" expect ")).count();
        assert!(expects >= 3, "{stem}: {expects} expect lines");
        assert_eq!(out.matches(" expect pass\n").count(), expects, "{stem}");

        let name = format!("lesson_{}", stem.replace('-', "_"));
        let rec = ["recorded", "recorded-swap"]
            .map(|d| root().join("tests/conformance").join(d))
            .into_iter()
            .find(|d| d.join(format!("{name}.vms")).exists())
            .unwrap_or_else(|| panic!("{name}.vms is in recorded/ or recorded-swap/"));
        let recorded_vms = std::fs::read_to_string(rec.join(format!("{name}.vms")))
            .unwrap_or_else(|e| panic!("{name}.vms: {e}"));
        assert_eq!(
            recorded_vms,
            commented(&text),
            "{name}.vms is the lesson, expects commented"
        );
        let kernel = std::fs::read_to_string(rec.join(format!("{name}.out"))).unwrap();
        // the output without the expect lines (and without the indented lines
        // of maps, which belong to the line before them)
        let mut simulated = String::new();
        let mut skip_extra = false;
        for l in out.split_inclusive('\n') {
            if l.starts_with("  ") {
                if !skip_extra {
                    simulated.push_str(l);
                }
                continue;
            }
            skip_extra = l.split(' ').nth(1) == Some("expect");
            if !skip_extra {
                simulated.push_str(l);
            }
        }
        assert_eq!(simulated, kernel, "{stem} against the kernel's {name}.out");
    }
}
