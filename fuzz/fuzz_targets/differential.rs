//! Generated program + input + configuration (from the fuzzer's bytes): every backend agrees with
//! `reference`.
#![no_main]

use bfjit_harness::generate::Shape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|shape: Shape| bfjit_harness::fuzz_targets::differential(&shape));
