//! Scans (`[>]`, `[<<]`): stride ±1 compares 16 (SSE2) or 32 (AVX2) cells per step, loading only
//! windows that lie wholly inside the tape, then finishes cell by cell; other strides run four steps
//! per bounds check. A step off the tape jumps to the scan's cold exact fallback.

// dynasm expands dynamic registers (`Rb(reg)`) to `reg.into()`, a no-op conversion for our `u8`s.
#![allow(clippy::useless_conversion)]

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

use super::{Gen, Part, Simd, Stub};

/// `vpmovmskb eax, ymm1`, encoded by hand (dynasm 5.1 rejects the 256-bit form's operand sizes).
const VPMOVMSKB_EAX_YMM1: [u8; 4] = [0xc5, 0xfd, 0xd7, 0xc1];
/// `vpmovmskb ecx, ymm1`, encoded by hand.
const VPMOVMSKB_ECX_YMM1: [u8; 4] = [0xc5, 0xfd, 0xd7, 0xc9];

impl Gen<'_> {
    /// `Scan { stride }` at node `index`.
    pub(super) fn scan(&mut self, index: usize, stride: i32) {
        self.mark(Part::Node(index));
        if self.facts.cell_before() == Some(0) {
            // Known to stand on a zero cell: the scan does nothing.
            return;
        }
        let done = self.ops.new_dynamic_label();
        let out = self.ops.new_dynamic_label();
        let tape_len = self.tape_len as i64;
        self.test_cell();
        asm!(self.ops; jz =>done);
        match stride {
            0 => {
                // `[]` on a non-zero cell never ends: run it exactly (it spins, as the reference
                // does, until fuel—unmetered in exact runs—or forever). The optimizer does not make
                // these; this keeps the generator total.
                asm!(self.ops; jmp =>out);
            }
            1 => self.scan_right(out, done),
            -1 => self.scan_left(out, done),
            s if (s as i64).abs() >= tape_len => {
                // Any step leaves the tape.
                asm!(self.ops; jmp =>out);
            }
            s if s > 0 => self.scan_strided_right(s, out, done),
            s => self.scan_strided_left(-s, out, done),
        }
        asm!(self.ops; =>done);
        self.stubs.push(Stub::Exact {
            node: index,
            scan: true,
            label: out,
            resume: self.ops.offset(),
            flags: false,
        });
        self.flags = None;
    }

    /// Stride +1: vector windows `[p, p + w)` while they end inside the tape, then cell by cell.
    /// On entry the current cell is non-zero.
    fn scan_right(&mut self, out: DynamicLabel, done: DynamicLabel) {
        let len = self.tape_len as i32;
        let w = self.options.simd.width();
        asm!(self.ops
            ; lea rdi, [r_cell + 1]
            ; lea rsi, [r_tape + len]
        );
        match self.options.simd {
            Simd::Sse2 => asm!(self.ops
                ; pxor xmm0, xmm0
                ; vector:
                ; lea rax, [rdi + w]
                ; cmp rax, rsi
                ; ja >tail
                ; movdqu xmm1, [rdi]
                ; pcmpeqb xmm1, xmm0
                ; pmovmskb eax, xmm1
                ; test eax, eax
                ; jnz >found
                ; add rdi, w
                ; jmp <vector
            ),
            Simd::Avx2 => asm!(self.ops
                ; vpxor ymm0, ymm0, ymm0
                ; vector:
                ; lea rax, [rdi + w]
                ; cmp rax, rsi
                ; ja >tail_v
                ; vpcmpeqb ymm1, ymm0, [rdi]
                ; .bytes VPMOVMSKB_EAX_YMM1.iter().copied()
                ; test eax, eax
                ; jnz >found_v
                ; add rdi, w
                ; jmp <vector
                ; found_v:
                ; vzeroupper
                ; jmp >found
                ; tail_v:
                ; vzeroupper
                ; jmp >tail
            ),
        }
        asm!(self.ops
            ; found:
            ; bsf eax, eax
            ; add rdi, rax
            ; jmp >set
            ; tail:
            ; cmp rdi, rsi
            ; jae >none
            ; cmp BYTE [rdi], 0
            ; je >set
            ; add rdi, 1
            ; jmp <tail
            ; none:
            // Every cell from the pointer to the end is non-zero: the step off the last one fails.
            ; lea r_cell, [r_tape + (len - 1)]
            ; jmp =>out
            ; set:
            ; mov r_cell, rdi
            ; jmp =>done
        );
    }

    /// Stride -1: vector windows `[p - w + 1, p]` while they start inside the tape, then cell by cell.
    fn scan_left(&mut self, out: DynamicLabel, done: DynamicLabel) {
        let w = self.options.simd.width();
        asm!(self.ops
            ; lea rdi, [r_cell - 1]
        );
        match self.options.simd {
            Simd::Sse2 => asm!(self.ops
                ; pxor xmm0, xmm0
                ; vector:
                ; lea rax, [rdi - (w - 1)]
                ; cmp rax, r_tape
                ; jb >tail
                ; movdqu xmm1, [rax]
                ; pcmpeqb xmm1, xmm0
                ; pmovmskb ecx, xmm1
                ; test ecx, ecx
                ; jnz >found
                ; sub rdi, w
                ; jmp <vector
            ),
            Simd::Avx2 => asm!(self.ops
                ; vpxor ymm0, ymm0, ymm0
                ; vector:
                ; lea rax, [rdi - (w - 1)]
                ; cmp rax, r_tape
                ; jb >tail_v
                ; vpcmpeqb ymm1, ymm0, [rax]
                ; .bytes VPMOVMSKB_ECX_YMM1.iter().copied()
                ; test ecx, ecx
                ; jnz >found_v
                ; sub rdi, w
                ; jmp <vector
                ; found_v:
                ; vzeroupper
                ; jmp >found
                ; tail_v:
                ; vzeroupper
                ; jmp >tail
            ),
        }
        asm!(self.ops
            ; found:
            // The highest zero in the window is the nearest one.
            ; bsr ecx, ecx
            ; lea rdi, [rax + rcx]
            ; jmp >set
            ; tail:
            ; cmp rdi, r_tape
            ; jb >none
            ; cmp BYTE [rdi], 0
            ; je >set
            ; sub rdi, 1
            ; jmp <tail
            ; none:
            // Every cell from the pointer down to 0 is non-zero: the step off cell 0 fails.
            ; mov r_cell, r_tape
            ; jmp =>out
            ; set:
            ; mov r_cell, rdi
            ; jmp =>done
        );
    }

    /// Stride `s >= 2` (and `s < tape_len`): four steps per bounds check while they fit, then one.
    fn scan_strided_right(&mut self, s: i32, out: DynamicLabel, done: DynamicLabel) {
        let last = self.tape_len as i64 - 1;
        // One step from p is allowed when p + s <= last.
        let one = (last - s as i64) as i32;
        let four = last - 4 * s as i64;
        asm!(self.ops; lea rdx, [r_tape + one]);
        if four >= 0 {
            let four = four as i32;
            asm!(self.ops
                ; lea rsi, [r_tape + four]
                ; fast:
                ; cmp r_cell, rsi
                ; ja >slow
                ; cmp BYTE [r_cell + s], 0
                ; je >at1
                ; cmp BYTE [r_cell + 2 * s], 0
                ; je >at2
                ; cmp BYTE [r_cell + 3 * s], 0
                ; je >at3
                ; lea r_cell, [r_cell + 4 * s]
                ; cmp BYTE [r_cell], 0
                ; jne <fast
                ; jmp =>done
                ; at1:
                ; lea r_cell, [r_cell + s]
                ; jmp =>done
                ; at2:
                ; lea r_cell, [r_cell + 2 * s]
                ; jmp =>done
                ; at3:
                ; lea r_cell, [r_cell + 3 * s]
                ; jmp =>done
            );
        }
        asm!(self.ops
            ; slow:
            ; cmp r_cell, rdx
            ; ja =>out
            ; add r_cell, s
            ; cmp BYTE [r_cell], 0
            ; jne <slow
            ; jmp =>done
        );
    }

    /// Stride `-s` with `s >= 2` (and `s < tape_len`).
    fn scan_strided_left(&mut self, s: i32, out: DynamicLabel, done: DynamicLabel) {
        let four = 4 * s as i64;
        asm!(self.ops; lea rdx, [r_tape + s]);
        if four < self.tape_len as i64 {
            let four = four as i32;
            asm!(self.ops
                ; lea rsi, [r_tape + four]
                ; fast:
                ; cmp r_cell, rsi
                ; jb >slow
                ; cmp BYTE [r_cell - s], 0
                ; je >at1
                ; cmp BYTE [r_cell - 2 * s], 0
                ; je >at2
                ; cmp BYTE [r_cell - 3 * s], 0
                ; je >at3
                ; lea r_cell, [r_cell - 4 * s]
                ; cmp BYTE [r_cell], 0
                ; jne <fast
                ; jmp =>done
                ; at1:
                ; lea r_cell, [r_cell - s]
                ; jmp =>done
                ; at2:
                ; lea r_cell, [r_cell - 2 * s]
                ; jmp =>done
                ; at3:
                ; lea r_cell, [r_cell - 3 * s]
                ; jmp =>done
            );
        }
        asm!(self.ops
            ; slow:
            ; cmp r_cell, rdx
            ; jb =>out
            ; sub r_cell, s
            ; cmp BYTE [r_cell], 0
            ; jne <slow
            ; jmp =>done
        );
    }
}
