//! Tests of `handjit`: its whole output decodes, and it agrees with the reference.

use super::x64::encode;
use super::HandJit;
use crate::backend::compile_and_run;
use crate::config::Config;
use crate::outcome::compare;
use crate::reference::Reference;
use crate::syntax::Program;

#[test]
fn generated_code_decodes_completely() {
    let program = Program::parse("+[>,.<-]>[<]++[->+++<]").unwrap();
    let nodes = crate::ir::blocks::guard(&program, crate::ir::lower(&program));
    let config = Config::default().with_fuel(Some(9));
    let planned = crate::ir::plan::PlannedIr::decide(&program, nodes, config.tape_len()).unwrap();
    let bytes = encode(planned, &config).unwrap();
    let mut decoder = iced_x86::Decoder::new(64, &bytes, iced_x86::DecoderOptions::NONE);
    let mut count = 0;
    while decoder.can_decode() {
        assert!(!decoder.decode().is_invalid());
        count += 1;
    }
    assert!(count > 20, "{count} instructions");
}

#[test]
fn hello_and_wrapping() {
    for src in ["++++++++[>++++++++<-]>+.-.+.", "-.+."] {
        let program = Program::parse(src).unwrap();
        let want = compile_and_run(&Reference, &program, &Config::default(), b"").unwrap();
        let got = compile_and_run(&HandJit, &program, &Config::default(), b"").unwrap();
        assert_eq!(compare(&want, &got), None, "{src}");
    }
}
