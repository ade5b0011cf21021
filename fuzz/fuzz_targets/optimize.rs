//! Optimized IR (the passes chosen by the fuzzer) agrees with the unoptimized IR.
#![no_main]

use bfjit_harness::generate::Shape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Shape, u8)| {
    bfjit_harness::fuzz_targets::optimize_agrees(&input.0, input.1)
});
