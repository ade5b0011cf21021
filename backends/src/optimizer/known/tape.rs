//! The abstract tape of the known-value walk: cells relative to an origin, known or not.

use std::collections::HashMap;

use crate::ir::Op;

/// A fast hash for cell positions (the std SipHash dominates the walk otherwise).
#[derive(Default)]
struct PositionHasher(u64);

impl std::hash::Hasher for PositionHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

type Cells = HashMap<i64, Option<u8>, std::hash::BuildHasherDefault<PositionHasher>>;

/// The most cells the tape's direct window covers; cells beyond it live in a hash map.
const WINDOW_CELLS: usize = 1 << 12;

/// The abstract tape during the walk: cells relative to an origin, `rest` for every cell not listed.
///
/// A cell is listed when it was written since the last [`Tape::forget_all`]. Cells near the ones
/// used first sit in a window of slots indexed directly, each stamped with the generation that wrote
/// it, so forgetting everything is one increment; cells too far away for the window go to a hash
/// map.
pub(super) struct Tape {
    pos: i64,
    /// `Some(0)` while every cell not listed is still 0 (from the start of the program).
    rest: Option<u8>,
    /// The current generation: a slot is listed when its stamp equals it.
    generation: u32,
    /// The position of `window[0]`.
    base: i64,
    window: Vec<(u32, Option<u8>)>,
    /// Listed cells outside the window.
    far: Cells,
}

impl Tape {
    pub(super) fn new() -> Tape {
        Tape {
            pos: 0,
            rest: Some(0),
            generation: 1,
            base: 0,
            window: Vec::new(),
            far: Cells::default(),
        }
    }

    /// The slot of absolute position `at`, when the window covers it.
    #[inline]
    fn slot(&self, at: i64) -> Option<usize> {
        let index = at.checked_sub(self.base)?;
        (0..self.window.len() as i64)
            .contains(&index)
            .then_some(index as usize)
    }

    /// Grows the window to cover `at` when it can stay within [`WINDOW_CELLS`]; its slot if so.
    fn cover(&mut self, at: i64) -> Option<usize> {
        if let Some(slot) = self.slot(at) {
            return Some(slot);
        }
        let len = self.window.len() as i64;
        if len == 0 {
            self.base = at - 64;
            self.window = vec![(0, None); 128];
            return self.slot(at);
        }
        let (lo, hi) = (self.base.min(at), (self.base + len).max(at + 1));
        if hi - lo > WINDOW_CELLS as i64 {
            return None;
        }
        // Double the window (within the limit) towards `at`.
        let grow = (hi - lo).max(2 * len).min(WINDOW_CELLS as i64) - len;
        if at < self.base {
            let mut window = vec![(0, None); grow as usize];
            window.extend_from_slice(&self.window);
            self.window = window;
            self.base -= grow;
        } else {
            self.window.resize((len + grow) as usize, (0, None));
        }
        self.slot(at)
    }

    #[inline]
    pub(super) fn get(&self, offset: i64) -> Option<u8> {
        let at = self.pos + offset;
        match self.slot(at) {
            Some(slot) => match self.window[slot] {
                (stamp, value) if stamp == self.generation => value,
                _ => self.rest,
            },
            None => match self.far.get(&at) {
                Some(v) => *v,
                None => self.rest,
            },
        }
    }

    #[inline]
    pub(super) fn put(&mut self, offset: i64, value: Option<u8>) {
        let at = self.pos + offset;
        // Most cells are in the window already.
        if let Some(slot) = self.slot(at) {
            self.window[slot] = (self.generation, value);
            return;
        }
        self.put_outside(at, value);
    }

    /// [`Tape::put`] of a cell the window does not cover yet.
    #[inline(never)]
    fn put_outside(&mut self, at: i64, value: Option<u8>) {
        match self.cover(at) {
            Some(slot) => self.window[slot] = (self.generation, value),
            None if value.is_none() && self.rest.is_none() => {
                self.far.remove(&at);
            }
            None => {
                self.far.insert(at, value);
            }
        }
    }

    /// Back to the start of the program: pointer at 0, every cell 0 (the window is kept).
    pub(super) fn reset(&mut self) {
        self.forget_all();
        self.pos = 0;
        self.rest = Some(0);
    }

    pub(super) fn forget_all(&mut self) {
        if self.generation == u32::MAX {
            self.window.fill((0, None));
            self.generation = 0;
        }
        self.generation += 1;
        self.far.clear();
        self.rest = None;
    }

    pub(super) fn apply(&mut self, op: &Op) {
        match op {
            Op::Add { offset, delta } => {
                let v = self.get(*offset as i64).map(|v| v.wrapping_add(*delta));
                self.put(*offset as i64, v);
            }
            Op::Set { offset, value } => self.put(*offset as i64, Some(*value)),
            Op::Input { offset } => self.put(*offset as i64, None),
            Op::MulLoop { offset, targets } => {
                let from = *offset as i64;
                match self.get(from) {
                    Some(0) => {}
                    Some(k) => {
                        for t in targets {
                            let at = from + t.offset as i64;
                            let v = self
                                .get(at)
                                .map(|v| v.wrapping_add(k.wrapping_mul(t.factor)));
                            self.put(at, v);
                        }
                    }
                    None => {
                        for t in targets {
                            self.put(from + t.offset as i64, None);
                        }
                    }
                }
                self.put(from, Some(0));
            }
            Op::Move { by } => self.pos += *by as i64,
            Op::Output { .. } | Op::Guard { .. } => {}
            Op::Scan { .. } | Op::LoopStart | Op::LoopEnd => {
                unreachable!("handled by the walk")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One step of the model test.
    #[derive(Clone, Debug)]
    enum Step {
        Put(i64, Option<u8>),
        Move(i64),
        ForgetAll,
        Reset,
    }

    /// Offsets near the pointer (inside the window), just beyond what one doubling covers, and far
    /// beyond the window's limit (into the hash map).
    fn offset() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => -100i64..100,
            3 => -600i64..600,
            2 => -5000i64..5000,
            1 => -70_000i64..70_000,
        ]
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (offset(), proptest::option::of(any::<u8>())).prop_map(|(o, v)| Step::Put(o, v)),
            3 => offset().prop_map(Step::Move),
            1 => Just(Step::ForgetAll),
            1 => Just(Step::Reset),
        ]
    }

    #[test]
    fn a_cell_exactly_at_the_window_limit_reads_back_after_the_window_grows_over_it() {
        let mut tape = Tape::new();
        tape.put(0, Some(1));
        // The window may span exactly `WINDOW_CELLS` cells: this one is inside (not a far cell that
        // a later growth would hide).
        let edge = -64 + WINDOW_CELLS as i64 - 1;
        tape.put(edge, Some(7));
        for at in (0..edge).step_by(100) {
            tape.put(at, Some(2));
        }
        assert_eq!(tape.get(edge), Some(7));
        assert_eq!(tape.get(edge + 1), Some(0));
    }

    proptest! {
        /// The tape answers every read exactly like a plain map of the cells written since the last
        /// forget (window growth, far cells and generations are invisible).
        #[test]
        fn tape_reads_back_what_a_plain_map_holds(steps in prop::collection::vec(step(), 1..120)) {
            let mut tape = Tape::new();
            let mut model: HashMap<i64, Option<u8>> = HashMap::new();
            let (mut pos, mut rest) = (0i64, Some(0u8));
            let mut touched = vec![0i64];
            for step in steps {
                match step {
                    Step::Put(offset, value) => {
                        tape.put(offset, value);
                        model.insert(pos + offset, value);
                        touched.push(pos + offset);
                    }
                    Step::Move(by) => {
                        tape.apply(&Op::Move { by: by as i32 });
                        pos += by;
                    }
                    Step::ForgetAll => {
                        tape.forget_all();
                        model.clear();
                        rest = None;
                    }
                    Step::Reset => {
                        tape.reset();
                        model.clear();
                        pos = 0;
                        rest = Some(0);
                    }
                }
                for &at in &touched {
                    let expected = model.get(&at).copied().unwrap_or(rest);
                    prop_assert_eq!(tape.get(at - pos), expected, "cell {}", at);
                }
            }
        }
    }
}
