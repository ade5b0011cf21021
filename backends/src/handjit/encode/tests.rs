//! Tests of the hand encoder: every instruction form decodes (iced-x86) to what it claims.

use super::Reg::*;
use super::*;
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

/// Every instruction in `bytes`, decoded and formatted, one string each.
fn decode(bytes: &[u8]) -> Vec<String> {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_branch_leading_zeros(false);
    let mut out = Vec::new();
    while decoder.can_decode() {
        let instr = decoder.decode();
        assert!(!instr.is_invalid(), "invalid bytes in {bytes:02x?}");
        let mut text = String::new();
        formatter.format(&instr, &mut text);
        out.push(text);
    }
    out
}

/// Emits one instruction, then checks its bytes and its decoding.
fn check(emit: impl FnOnce(&mut Code), bytes: &[u8], text: &str) {
    let mut code = Code::new();
    emit(&mut code);
    assert_eq!(code.bytes, bytes, "bytes of {text}");
    assert_eq!(decode(&code.bytes), [text], "decoding of {bytes:02x?}");
}

#[test]
fn pushes_and_pops() {
    check(|c| c.push(Rbp), &[0x55], "push rbp");
    check(|c| c.push(Rbx), &[0x53], "push rbx");
    check(|c| c.push(R12), &[0x41, 0x54], "push r12");
    check(|c| c.push(R14), &[0x41, 0x56], "push r14");
    check(|c| c.pop(R13), &[0x41, 0x5d], "pop r13");
    check(|c| c.pop(Rbp), &[0x5d], "pop rbp");
    check(|c| c.ret(), &[0xc3], "ret");
}

#[test]
fn register_moves() {
    check(|c| c.mov_rr(Rbp, Rsp), &[0x48, 0x89, 0xe5], "mov rbp,rsp");
    check(|c| c.mov_rr(Rbx, Rdi), &[0x48, 0x89, 0xfb], "mov rbx,rdi");
    check(|c| c.mov_rr(Rdi, Rbx), &[0x48, 0x89, 0xdf], "mov rdi,rbx");
    check(|c| c.mov_rr(R13, Rax), &[0x49, 0x89, 0xc5], "mov r13,rax");
    check(|c| c.mov_rr(Rcx, R13), &[0x4c, 0x89, 0xe9], "mov rcx,r13");
}

#[test]
fn loads_and_stores() {
    check(
        |c| c.mov_load(R12, Mem::base(Rbx, 0)),
        &[0x4c, 0x8b, 0x23],
        "mov r12,[rbx]",
    );
    check(
        |c| c.mov_load(R14, Mem::base(Rbx, 8)),
        &[0x4c, 0x8b, 0x73, 0x08],
        "mov r14,[rbx+8]",
    );
    check(
        |c| c.mov_store(Mem::base(Rbx, 16), R13),
        &[0x4c, 0x89, 0x6b, 0x10],
        "mov [rbx+10h],r13",
    );
    check(
        |c| c.mov_store_imm(Mem::base(Rbx, 24), 0),
        &[0x48, 0xc7, 0x43, 0x18, 0, 0, 0, 0],
        "mov qword ptr [rbx+18h],0",
    );
    check(
        |c| c.mov_load(Rax, Mem::base(Rsp, 0)),
        &[0x48, 0x8b, 0x04, 0x24],
        "mov rax,[rsp]",
    );
    check(
        |c| c.mov_load(Rax, Mem::base(R13, 0)),
        &[0x49, 0x8b, 0x45, 0x00],
        "mov rax,[r13]",
    );
}

#[test]
fn cell_operations() {
    let cell = |disp| Mem::indexed(R12, R13, disp);
    check(
        |c| c.add8_imm(cell(0), 3),
        &[0x43, 0x80, 0x04, 0x2c, 0x03],
        "add byte ptr [r12+r13],3",
    );
    check(
        |c| c.add8_imm(cell(-2), 0xff),
        &[0x43, 0x80, 0x44, 0x2c, 0xfe, 0xff],
        "add byte ptr [r12+r13-2],0FFh",
    );
    check(
        |c| c.add8_imm(cell(1000), 1),
        &[0x43, 0x80, 0x84, 0x2c, 0xe8, 0x03, 0x00, 0x00, 0x01],
        "add byte ptr [r12+r13+3E8h],1",
    );
    check(
        |c| c.mov_store8_imm(cell(5), 7),
        &[0x43, 0xc6, 0x44, 0x2c, 0x05, 0x07],
        "mov byte ptr [r12+r13+5],7",
    );
    check(
        |c| c.cmp8_imm(cell(0), 0),
        &[0x43, 0x80, 0x3c, 0x2c, 0x00],
        "cmp byte ptr [r12+r13],0",
    );
    check(
        |c| c.movzx8(Rsi, cell(0)),
        &[0x43, 0x0f, 0xb6, 0x34, 0x2c],
        "movzx esi,byte ptr [r12+r13]",
    );
    check(
        |c| c.movzx8(Rax, cell(-1)),
        &[0x43, 0x0f, 0xb6, 0x44, 0x2c, 0xff],
        "movzx eax,byte ptr [r12+r13-1]",
    );
    check(
        |c| c.lea(Rsi, cell(2)),
        &[0x4b, 0x8d, 0x74, 0x2c, 0x02],
        "lea rsi,[r12+r13+2]",
    );
    check(
        |c| c.add8_reg(cell(1), Rcx),
        &[0x43, 0x00, 0x4c, 0x2c, 0x01],
        "add [r12+r13+1],cl",
    );
    check(
        |c| c.imul_imm(Rcx, Rax, 3),
        &[0x6b, 0xc8, 0x03],
        "imul ecx,eax,3",
    );
    check(
        |c| c.imul_imm(Rcx, Rax, 255),
        &[0x69, 0xc8, 0xff, 0, 0, 0],
        "imul ecx,eax,0FFh",
    );
}

#[test]
fn arithmetic_and_compares() {
    check(
        |c| c.add_imm(R13, 1),
        &[0x49, 0x83, 0xc5, 0x01],
        "add r13,1",
    );
    check(
        |c| c.add_imm(R13, -300),
        &[0x49, 0x81, 0xc5, 0xd4, 0xfe, 0xff, 0xff],
        "add r13,0FFFFFFFFFFFFFED4h",
    );
    check(
        |c| c.sub_mem_imm(Mem::base(Rbx, 24), 1),
        &[0x48, 0x83, 0x6b, 0x18, 0x01],
        "sub qword ptr [rbx+18h],1",
    );
    check(
        |c| c.cmp_imm(R13, 2),
        &[0x49, 0x83, 0xfd, 0x02],
        "cmp r13,2",
    );
    check(
        |c| c.cmp_imm(Rax, -1),
        &[0x48, 0x83, 0xf8, 0xff],
        "cmp rax,0FFFFFFFFFFFFFFFFh",
    );
    check(
        |c| c.cmp_imm(R13, 200),
        &[0x49, 0x81, 0xfd, 0xc8, 0, 0, 0],
        "cmp r13,0C8h",
    );
    check(|c| c.cmp_rr(Rax, R14), &[0x4c, 0x39, 0xf0], "cmp rax,r14");
    check(|c| c.test_rr(Rax, Rax), &[0x48, 0x85, 0xc0], "test rax,rax");
    check(|c| c.test_rr32(Rax, Rax), &[0x85, 0xc0], "test eax,eax");
    check(
        |c| c.lea(Rax, Mem::base(R13, 7)),
        &[0x49, 0x8d, 0x45, 0x07],
        "lea rax,[r13+7]",
    );
}

#[test]
fn immediates_and_calls() {
    check(
        |c| c.mov_r32_imm(Rsi, 0x1234),
        &[0xbe, 0x34, 0x12, 0, 0],
        "mov esi,1234h",
    );
    check(|c| c.mov_r32_imm(Rax, 2), &[0xb8, 2, 0, 0, 0], "mov eax,2");
    check(
        |c| c.mov_r64_imm64(Rax, 0x1122_3344_5566_7788),
        &[0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11],
        "mov rax,1122334455667788h",
    );
    check(|c| c.call_r(Rax), &[0xff, 0xd0], "call rax");
    check(|c| c.jmp_r(Rax), &[0xff, 0xe0], "jmp rax");
    check(|c| c.jmp_r(R11), &[0x41, 0xff, 0xe3], "jmp r11");
}

#[test]
fn jumps_patch_to_their_targets() {
    // A backward jcc and a forward jmp, patched, then decoded with their targets.
    let mut code = Code::new();
    code.ret(); // target 0
    let back = code.jcc(Cond::Ne);
    code.patch(back, 0).unwrap();
    let fwd = code.jmp();
    let target = code.pos() + 1;
    code.ret();
    code.ret();
    code.patch(fwd, target).unwrap();
    assert_eq!(
        code.bytes,
        [0xc3, 0x0f, 0x85, 0xf9, 0xff, 0xff, 0xff, 0xe9, 0x01, 0, 0, 0, 0xc3, 0xc3]
    );
    assert_eq!(
        decode(&code.bytes),
        ["ret", "jne 0", "jmp 0Dh", "ret", "ret"]
    );
    let mut code = Code::new();
    let at = code.call_rel();
    code.patch(at, 0x20).unwrap();
    assert_eq!(code.bytes, [0xe8, 0x1b, 0, 0, 0]);
    assert_eq!(decode(&code.bytes), ["call 20h"]);
    for (cond, name) in [
        (Cond::B, "jb"),
        (Cond::Ae, "jae"),
        (Cond::E, "je"),
        (Cond::S, "js"),
        (Cond::L, "jl"),
    ] {
        let mut code = Code::new();
        let at = code.jcc(cond);
        code.patch(at, 6).unwrap();
        assert_eq!(decode(&code.bytes), [format!("{name} 6")]);
    }
}
