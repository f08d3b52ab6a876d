//! `include/floss.h` is generated from the sources by cbindgen; this test
//! regenerates it in memory and fails on any difference.
//! `FLOSS_BLESS=1 cargo test --test header` rewrites the committed file.

use std::path::Path;

#[test]
fn committed_header_is_what_cbindgen_generates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to parse the crate");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = root.join("include/floss.h");
    if std::env::var_os("FLOSS_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/floss.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/floss.h is stale: run `FLOSS_BLESS=1 cargo test --test header` and commit it"
    );
}

/// The header's version macros are Cargo.toml's version (the one source of
/// version numbers; build.rs, the Makefile, CMakeLists.txt and the Python
/// package read Cargo.toml, and the installed CMake package reads these
/// macros).
#[test]
fn header_version_is_the_crate_version() {
    use floss::ffi::types::{FLOSS_VERSION_MAJOR, FLOSS_VERSION_MINOR, FLOSS_VERSION_PATCH};
    let header = format!("{FLOSS_VERSION_MAJOR}.{FLOSS_VERSION_MINOR}.{FLOSS_VERSION_PATCH}");
    assert_eq!(header, env!("CARGO_PKG_VERSION"), "update src/ffi/types.rs");
}
