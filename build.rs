//! Gives the shared library its SONAME on ELF platforms, so that programs
//! linked against `libfloss.so` record `libfloss.so.MAJOR` (found through
//! `LD_LIBRARY_PATH` or the loader's paths once the library is installed or
//! moved) instead of the path it was linked from.
//!
//! The major version comes from Cargo.toml, the one source of version numbers:
//! every 0.x release only adds functions, fields and statuses (see
//! CHANGELOG.md), so 0.x keeps the SONAME `libfloss.so.0`. cargo-c
//! (`cargo cinstall`) passes the same SONAME (`version_suffix_components = 1`
//! in `[package.metadata.capi.library]`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = !matches!(os.as_str(), "macos" | "ios" | "windows");
    if elf {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libfloss.so.{major}");
    }
}
