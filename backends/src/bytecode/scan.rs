//! Zero-finding scans (`[>>]`-style loops folded to `Scan`): short strides test sixteen steps per
//! chunk with branch-free vector compares, then step one stride at a time near the tape's ends.
//! Every index is checked (slices, `first_chunk` and `last_chunk`), so a scan never reads off the
//! tape.

/// A scan by `stride` from `p` (on the tape): `Ok` with the zero cell found, or `Err` with the last
/// cell before the step that would leave the tape. Not inlined: its vector registers and loops
/// would crowd the dispatch loop's registers, and the call passes everything in registers. Each
/// short stride has its own small function (entered by a jump), so a scan saves and restores only
/// the registers its own loops use.
#[inline(never)]
pub(super) fn scan_strided(tape: &[u8], p: usize, stride: i32) -> Result<usize, usize> {
    // Sixteen steps per test for the short strides (records of 1 to 8 cells; 32 for stride 1), then
    // stepping from where that stopped.
    macro_rules! lanes {
        ($($s:literal => $n:literal),*) => {
            match stride {
                $($s => scan_by::<$s, $n, true>(tape, p),)*
                $(-$s => scan_by::<$s, $n, false>(tape, p),)*
                _ => scan_other(tape, p, stride),
            }
        };
    }
    lanes!(1 => 32, 2 => 32, 3 => 48, 4 => 64, 5 => 80, 6 => 96, 7 => 112, 8 => 128)
}

/// A scan by a stride without lanes of its own (as [`scan_strided`]). Out of line so that
/// [`scan_strided`] is only a jump to the function of its stride (its registers would otherwise be
/// saved and restored around every scan).
#[inline(never)]
fn scan_other(tape: &[u8], p: usize, stride: i32) -> Result<usize, usize> {
    scan_steps(tape, p, stride)
}

/// A scan by `S` cells forward (or backward), `N = 16 * S` cells per test (32 for stride 1).
#[inline(never)]
fn scan_by<const S: usize, const N: usize, const FORWARD: bool>(
    tape: &[u8],
    p: usize,
) -> Result<usize, usize> {
    let chunks = if FORWARD {
        forward_lanes::<S, N>(tape, p)
    } else {
        backward_lanes::<S, N>(tape, p)
    };
    match chunks {
        Ok(found) => Ok(found),
        Err(next) if FORWARD => scan_steps(tape, next, S as i32),
        Err(next) => scan_steps(tape, next, -(S as i32)),
    }
}

/// A scan by `stride` from `p`, four steps per bounds check, then one at a time (as
/// [`scan_strided`]).
#[inline(always)]
fn scan_steps(tape: &[u8], p: usize, stride: i32) -> Result<usize, usize> {
    let len = tape.len();
    let step = stride.unsigned_abs() as usize;
    let mut p = p;
    if stride > 0 {
        // Four steps per bounds check; the next position stays on the tape.
        while p + 4 * step < len {
            // In bounds: `p + 3 * step < len`, so all four indices are on the tape.
            let four = four_cells(tape, [p, p + step, p + 2 * step, p + 3 * step]);
            if let Some(k) = first_zero(four) {
                return Ok(p + k * step);
            }
            p += 4 * step;
        }
        loop {
            if tape[p] == 0 {
                return Ok(p);
            }
            if p + step >= len {
                return Err(p);
            }
            p += step;
        }
    } else {
        while p < len && p >= 4 * step {
            // In bounds: `p < len` and `p - 3 * step > 0`, so all four indices are on the tape.
            let four = four_cells(tape, [p, p - step, p - 2 * step, p - 3 * step]);
            if let Some(k) = first_zero(four) {
                return Ok(p - k * step);
            }
            p -= 4 * step;
        }
        loop {
            if tape[p] == 0 {
                return Ok(p);
            }
            if p < step {
                return Err(p);
            }
            p -= step;
        }
    }
}

/// A forward scan by `S` from `p` over whole chunks of `N` cells (a multiple of `S`), testing all
/// the chunk's steps at once: the zero found, or the first position not tested (on the tape: the
/// chunks end before the last cell).
#[inline(always)]
fn forward_lanes<const S: usize, const N: usize>(tape: &[u8], p: usize) -> Result<usize, usize> {
    let fill = Lanes::<S, N>::fill(&Lanes::<S, N>::FORWARD);
    if 16 % S == 0 {
        // Counting the chunks first (a division) makes the shortest loop for these strides.
        let end = tape.len() - 1;
        let (chunks, _) = tape[p.min(end)..end].as_chunks::<N>();
        for (k, chunk) in chunks.iter().enumerate() {
            if has_zero_lane::<S, N>(chunk, &fill, &Lanes::<S, N>::FORWARD_STEPS) {
                let j = (0..N / S).position(|j| chunk[j * S] == 0).unwrap_or(0);
                return Ok(p + k * N + j * S);
            }
        }
        return Err(p + chunks.len() * N);
    }
    // Otherwise chunk by chunk, without the division (its setup cost more than the loop's test).
    let cells = &tape[..tape.len() - 1];
    let mut q = p;
    while let Some(chunk) = cells.get(q..).and_then(|rest| rest.first_chunk::<N>()) {
        if has_zero_lane::<S, N>(chunk, &fill, &Lanes::<S, N>::FORWARD_STEPS) {
            let j = (0..N / S).position(|j| chunk[j * S] == 0).unwrap_or(0);
            return Ok(q + j * S);
        }
        q += N;
    }
    Err(q)
}

/// A backward scan by `S` from `p` over whole chunks of `N` cells (a multiple of `S`) ending at
/// `p`: the zero found, or the first position not tested (on the tape: the chunks start after
/// cell 0).
#[inline(always)]
fn backward_lanes<const S: usize, const N: usize>(tape: &[u8], p: usize) -> Result<usize, usize> {
    let fill = Lanes::<S, N>::fill(&Lanes::<S, N>::BACKWARD);
    if 16 % S == 0 {
        // As in `forward_lanes`.
        let (_, chunks) = tape[1..=p].as_rchunks::<N>();
        for (k, chunk) in chunks.iter().rev().enumerate() {
            if has_zero_lane::<S, N>(chunk, &fill, &Lanes::<S, N>::BACKWARD_STEPS) {
                let j = (0..N / S)
                    .position(|j| chunk[N - 1 - j * S] == 0)
                    .unwrap_or(0);
                return Ok(p - k * N - j * S);
            }
        }
        return Err(p - chunks.len() * N);
    }
    // `top` is one past the chunk's last cell; chunks stay above cell 0.
    let mut top = p + 1;
    while top > N {
        let Some(chunk) = tape[..top].last_chunk::<N>() else {
            break;
        };
        if has_zero_lane::<S, N>(chunk, &fill, &Lanes::<S, N>::BACKWARD_STEPS) {
            let j = (0..N / S)
                .position(|j| chunk[N - 1 - j * S] == 0)
                .unwrap_or(0);
            return Ok(top - 1 - j * S);
        }
        top -= N;
    }
    Err(top - 1)
}

/// Which cells of an `N`-cell chunk a scan by `S` steps on.
struct Lanes<const S: usize, const N: usize>;

impl<const S: usize, const N: usize> Lanes<S, N> {
    /// The steps of a forward scan entering the chunk at its first cell: 0 on a step, 0xff
    /// elsewhere.
    const FORWARD: [u8; N] = lane_pattern(S, 0);
    /// The steps of a backward scan entering the chunk at its last cell (as [`Lanes::FORWARD`]).
    const BACKWARD: [u8; N] = lane_pattern(S, (N - 1) % S);
    /// [`Lanes::FORWARD`] as flags.
    const FORWARD_STEPS: [bool; N] = step_flags(S, 0);
    /// [`Lanes::BACKWARD`] as flags.
    const BACKWARD_STEPS: [bool; N] = step_flags(S, (N - 1) % S);

    /// The pattern [`has_zero_lane`] gets: the constant when `S` divides 16, else a copy the
    /// optimizer cannot see into. With the constant in view LLVM folds the off-step bytes away
    /// (`x | 0xff`, `min(y, 0xff)`) and tests the steps' cells one by one in scalar code; an
    /// opaque copy held in vector registers keeps every row's `por`/`pminub`.
    #[inline(always)]
    fn fill(pattern: &'static [u8; N]) -> [u8; N] {
        if 16 % S == 0 {
            *pattern
        } else {
            *std::hint::black_box(pattern)
        }
    }
}

/// `N` bytes, 0 at the indices `phase + k * s` and 0xff elsewhere.
const fn lane_pattern<const N: usize>(s: usize, phase: usize) -> [u8; N] {
    let mut fill = [0xff; N];
    let mut i = phase;
    while i < N {
        fill[i] = 0;
        i += s;
    }
    fill
}

/// `N` flags, set at the indices `phase + k * s`.
const fn step_flags<const N: usize>(s: usize, phase: usize) -> [bool; N] {
    let mut steps = [false; N];
    let mut i = 0;
    while i < N {
        steps[i] = i % s == phase;
        i += 1;
    }
    steps
}

/// Whether a cell of `chunk` on a step (`fill` 0 and `steps` set there) holds 0, written
/// branch-free so that it compiles to vector instructions and one test.
///
/// When `S` divides 16 every 16-cell row has its steps in the same lanes: the rows' compares with 0
/// are ORed and one mask test picks the lanes (LLVM sees the constant pattern: `pcmpeqb`, `por`
/// per row). Otherwise each row is ORed with `fill` (cells off the steps become 0xff) and the
/// rows' bytewise minimum is compared with 0 once (`por`, `pminub` per row), with `fill` opaque
/// ([`Lanes::fill`]).
#[inline(always)]
fn has_zero_lane<const S: usize, const N: usize>(
    chunk: &[u8; N],
    fill: &[u8; N],
    steps: &[bool; N],
) -> bool {
    if 16 % S == 0 {
        // As flags, not `fill`: LLVM then tests the ORed compares with one mask (`test $0x1111`
        // for stride 4) instead of ORing `fill` into every row.
        let mut any = false;
        for (&cell, &step) in chunk.iter().zip(steps) {
            any |= (cell == 0) & step;
        }
        return any;
    }
    let mut low = [0xffu8; 16];
    let (rows, _) = chunk.as_chunks::<16>();
    let (fills, _) = fill.as_chunks::<16>();
    for (row, fill) in rows.iter().zip(fills) {
        for i in 0..16 {
            low[i] = low[i].min(row[i] | fill[i]);
        }
    }
    low.iter().fold(false, |any, &cell| any | (cell == 0))
}

/// The cells at four indices.
///
/// # Contract
/// Every index must be an index of `tape`.
#[inline(always)]
fn four_cells(tape: &[u8], at: [usize; 4]) -> [u8; 4] {
    // In bounds: the caller guarantees every index is on the tape.
    [tape[at[0]], tape[at[1]], tape[at[2]], tape[at[3]]]
}

/// The position of the first zero of four cells.
#[inline(always)]
fn first_zero(c: [u8; 4]) -> Option<usize> {
    if c[0] == 0 {
        Some(0)
    } else if c[1] == 0 {
        Some(1)
    } else if c[2] == 0 {
        Some(2)
    } else if c[3] == 0 {
        Some(3)
    } else {
        None
    }
}
