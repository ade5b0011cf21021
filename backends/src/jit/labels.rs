//! Jump labels of the one-to-one JITs. A label is one 4-byte slot: either the code offset it is bound
//! to, or the last of the `rel32` jumps waiting for it, whose fields chain the waiting jumps (each
//! holds the offset of the previous one). So a forward jump needs no fixup record: binding walks the
//! chain and patches every jump. A label the translation is done with is released and its slot
//! reused, so the table only holds the labels still in use.

use crate::backend::CompileError;

/// A label: an index into the table.
pub(crate) type Label = u32;

/// The flag of a bound slot (code offsets stay below 2 GiB, the reach of a `rel32`).
const BOUND: u32 = 1 << 31;
/// The end of a chain of waiting jumps (no `rel32` field of code under 2 GiB starts there).
const NO_JUMP: u32 = BOUND - 1;

/// The labels of one translation.
#[derive(Default)]
pub(crate) struct Labels {
    slots: Vec<u32>,
    /// Released slots, reused first.
    free: Vec<Label>,
}

fn too_large() -> CompileError {
    CompileError::TooLarge("generated code of more than 2 GiB".into())
}

fn bug(what: &str) -> CompileError {
    CompileError::Bug(format!("one-to-one JIT labels: {what}"))
}

/// An offset in the code as a slot value.
fn offset(at: usize) -> Result<u32, CompileError> {
    u32::try_from(at)
        .ok()
        .filter(|&at| at < NO_JUMP)
        .ok_or_else(too_large)
}

/// Points the `rel32` field at `at` to `target`.
fn patch(code: &mut [u8], at: u32, target: u32) {
    let rel = target.wrapping_sub(at + 4) as i32;
    let at = at as usize;
    code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
}

impl Labels {
    /// A new, unbound label.
    pub(crate) fn new_label(&mut self) -> Label {
        if let Some(label) = self.free.pop() {
            return label;
        }
        self.slots.push(NO_JUMP);
        // Fewer labels than code bytes: the count stays far below 2^32 for code under 2 GiB.
        (self.slots.len() - 1) as Label
    }

    /// Makes the `rel32` field at `at` in `code` (already emitted) jump to `label`: at once when it
    /// is bound, else when it is.
    pub(crate) fn link(
        &mut self,
        code: &mut [u8],
        at: usize,
        label: Label,
    ) -> Result<(), CompileError> {
        let at = offset(at)?;
        let slot = &mut self.slots[label as usize];
        if *slot & BOUND != 0 {
            patch(code, at, *slot & !BOUND);
        } else {
            code[at as usize..at as usize + 4].copy_from_slice(&slot.to_le_bytes());
            *slot = at;
        }
        Ok(())
    }

    /// Binds `label` to offset `here` of `code`, patching the jumps waiting for it.
    pub(crate) fn bind(
        &mut self,
        code: &mut [u8],
        label: Label,
        here: usize,
    ) -> Result<(), CompileError> {
        let here = offset(here)?;
        let slot = &mut self.slots[label as usize];
        if *slot & BOUND != 0 {
            return Err(bug("a label bound twice"));
        }
        let mut next = std::mem::replace(slot, here | BOUND);
        while next != NO_JUMP {
            let at = next as usize;
            let field: [u8; 4] = code[at..at + 4].try_into().expect("4 bytes");
            patch(code, next, here);
            next = u32::from_le_bytes(field);
        }
        Ok(())
    }

    /// Gives `label`'s slot back for reuse: no jump to it may follow. Releasing a label with jumps
    /// still waiting for it is a bug.
    pub(crate) fn release(&mut self, label: Label) -> Result<(), CompileError> {
        let slot = &mut self.slots[label as usize];
        if *slot & BOUND == 0 && *slot != NO_JUMP {
            return Err(bug("a label released with jumps waiting"));
        }
        *slot = NO_JUMP;
        self.free.push(label);
        Ok(())
    }

    /// Whether no jump waits for a label that was never bound.
    pub(crate) fn all_bound(&self) -> bool {
        self.slots.iter().all(|&s| s & BOUND != 0 || s == NO_JUMP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `rel32` field's target.
    fn target(code: &[u8], at: usize) -> i64 {
        at as i64 + 4 + i32::from_le_bytes(code[at..at + 4].try_into().unwrap()) as i64
    }

    #[test]
    fn forward_and_backward_jumps_are_patched_and_slots_reused() {
        let mut code = vec![0u8; 64];
        let mut labels = Labels::default();
        let (fwd, back) = (labels.new_label(), labels.new_label());
        labels.bind(&mut code, back, 4).unwrap();
        labels.link(&mut code, 10, back).unwrap();
        labels.link(&mut code, 20, fwd).unwrap();
        labels.link(&mut code, 30, fwd).unwrap();
        assert!(!labels.all_bound());
        assert!(labels.release(fwd).is_err(), "jumps still wait for it");
        labels.bind(&mut code, fwd, 50).unwrap();
        assert!(labels.all_bound());
        assert_eq!(target(&code, 10), 4);
        assert_eq!(target(&code, 20), 50);
        assert_eq!(target(&code, 30), 50);
        assert!(labels.bind(&mut code, fwd, 60).is_err(), "bound twice");
        labels.release(fwd).unwrap();
        labels.release(back).unwrap();
        let again = labels.new_label();
        assert!(again == fwd || again == back);
        labels.link(&mut code, 40, again).unwrap();
        labels.bind(&mut code, again, 12).unwrap();
        assert_eq!(target(&code, 40), 12);
        assert_eq!(labels.slots.len(), 2);
    }
}
