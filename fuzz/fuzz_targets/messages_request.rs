#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    codex_router_core::fuzzing::messages_request(data);
});
