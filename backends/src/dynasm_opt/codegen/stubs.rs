//! The cold code after the main body: exact fallbacks of guards and scans, the output-flush calls,
//! and the shared exits (ok, out of fuel, stopped) with the epilogue.

use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{BackJump, Gen, Part, Stub};
use crate::jit::{
    jit_exact, jit_flush, EXACT_STOPPED, OFFSET_FUEL, OFFSET_OUT_LEN, OFFSET_PTR, STATUS_OK,
    STATUS_OUT_OF_FUEL, STATUS_STOPPED,
};

impl Gen<'_> {
    /// Emits every queued cold stub.
    pub(super) fn stubs(&mut self) {
        let stopped = self.stopped_exit;
        for stub in std::mem::take(&mut self.stubs) {
            match stub {
                Stub::Exact {
                    node,
                    scan,
                    label,
                    resume,
                    flags,
                } => {
                    self.mark(if scan {
                        Part::ScanFallback(node)
                    } else {
                        Part::GuardFallback(node)
                    });
                    let span = self.nodes[node].span;
                    asm!(self.ops; =>label);
                    self.store_ptr();
                    asm!(self.ops
                        ; mov rdi, r_state
                        ; mov esi, span.start as i32
                        ; mov edx, span.end as i32
                        ; mov rcx, rax
                    );
                    self.call(jit_exact as *const () as usize);
                    asm!(self.ops
                        ; cmp rax, EXACT_STOPPED as i32
                        ; je =>stopped
                    );
                    asm!(self.ops; lea r_cell, [r_tape + rax]);
                    if flags {
                        asm!(self.ops; cmp BYTE [r_cell], 0);
                    }
                    self.jump_back(BackJump::Always, resume);
                }
                Stub::Flush {
                    node,
                    label,
                    resume,
                } => {
                    self.mark(Part::OutputFlush(node));
                    asm!(self.ops; =>label);
                    self.store_ptr();
                    // Cells of the block may live in the caller-saved registers of the pool.
                    asm!(self.ops
                        ; push rdx
                        ; push rsi
                        ; push rdi
                        ; push r8
                        ; push r9
                        ; push r10
                        ; push r11
                        ; sub rsp, 8
                        ; mov rdi, r_state
                    );
                    self.call(jit_flush as *const () as usize);
                    asm!(self.ops
                        ; mov ecx, eax
                        ; add rsp, 8
                        ; pop r11
                        ; pop r10
                        ; pop r9
                        ; pop r8
                        ; pop rdi
                        ; pop rsi
                        ; pop rdx
                        ; test ecx, ecx
                        ; jnz =>stopped
                    );
                    self.jump_back(BackJump::Always, resume);
                }
            }
        }
    }

    /// The shared exits and the epilogue.
    pub(super) fn exits(&mut self) {
        self.mark(Part::Exits);
        let (ok, fuel, stopped) = (self.ok_exit, self.fuel_exit, self.stopped_exit);
        asm!(self.ops
            ; =>fuel
            ; xor r_fuel, r_fuel
            ; mov r14d, STATUS_OUT_OF_FUEL as i32
            ; jmp >flush
            ; =>ok
            ; mov r14d, STATUS_OK as i32
            ; flush:
            ; mov rax, r_cell
            ; sub rax, r_tape
            ; mov [r_state + OFFSET_PTR], rax
            ; cmp QWORD [r_state + OFFSET_OUT_LEN], 0
            ; je >done
            ; mov rdi, r_state
        );
        self.call(jit_flush as *const () as usize);
        asm!(self.ops
            ; test eax, eax
            ; jnz >failed
            ; done:
            ; mov eax, r14d
            ; jmp >epilogue
            ; failed:
            ; =>stopped
            // A callback recorded the stop (and the pointer, for exact runs).
            ; mov eax, STATUS_STOPPED as i32
            ; epilogue:
        );
        if self.options.fuel {
            asm!(self.ops; mov [r_state + OFFSET_FUEL], r_fuel);
        }
        asm!(self.ops
            ; add rsp, 8
            ; pop r15
            ; pop r14
            ; pop r13
            ; pop r12
            ; pop rbx
            ; pop rbp
            ; ret
        );
    }
}
