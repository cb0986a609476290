//! Replays every committed fuzz input (`fuzz/corpus/<target>/*`) through the same function
//! the fuzz target runs, on the stable compiler and without the fuzzer, so an input that
//! once crashed stays fixed.

use codex_router_core::fuzzing;
use std::path::Path;

#[test]
fn every_corpus_file_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut total = 0;
    for target in fuzzing::TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} has no inputs", dir.display());
        for path in &files {
            let data = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| fuzzing::run(target, &data));
            assert!(
                matches!(outcome, Ok(true)),
                "{target} fails on {}",
                path.display()
            );
        }
        total += files.len();
    }
    // Every folder is a target: a corpus whose target was renamed would silently stop
    // being replayed.
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_string_lossy();
        assert!(
            fuzzing::TARGETS.contains(&name.as_ref()),
            "fuzz/corpus/{name} belongs to no target"
        );
    }
    println!("replayed {total} fuzz inputs");
}
