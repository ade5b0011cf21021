//! Arbitrary bytes never panic the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| bfjit_harness::fuzz_targets::parse(bytes));
