//! The bindings generator, built from the workspace so it always matches the library:
//! `uniffi-bindgen generate target/debug/libcodex_router_ffi.so --language python --out-dir DIR`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
