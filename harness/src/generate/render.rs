//! Rendering a [`Shape`] as BF source: each piece's idiom, with the moves that keep balanced loops
//! balanced.

use super::{Piece, Shape};

fn repeat(out: &mut String, positive: char, negative: char, n: i32) {
    let c = if n >= 0 { positive } else { negative };
    out.extend(std::iter::repeat_n(c, n.unsigned_abs() as usize));
}

/// The net pointer movement of a piece when it is known statically.
fn net_move(piece: &Piece) -> Option<i32> {
    Some(match piece {
        Piece::Add(_) | Piece::Output | Piece::Input(_) | Piece::Clear(_) | Piece::Mul { .. } => 0,
        Piece::Move(n) => *n as i32,
        Piece::Block(bytes) => bytes
            .iter()
            .map(|b| match b % 5 {
                2 => -1,
                3 => 1,
                _ => 0,
            })
            .sum(),
        Piece::Walk {
            right,
            len,
            back,
            looped: false,
        } => {
            if *back {
                0
            } else if *right {
                *len as i32
            } else {
                -(*len as i32)
            }
        }
        Piece::Counted { balanced: true, .. } => 0,
        _ => return None,
    })
}

fn render(piece: &Piece, out: &mut String) {
    match piece {
        Piece::Add(n) => repeat(out, '+', '-', *n as i32),
        Piece::Move(n) => repeat(out, '>', '<', *n as i32),
        Piece::Output => out.push('.'),
        Piece::Input(n) => out.extend(std::iter::repeat_n(',', *n as usize)),
        Piece::Clear(step) => {
            out.push('[');
            repeat(out, '+', '-', *step as i32);
            out.push(']');
        }
        Piece::Mul {
            step,
            targets,
            step_first,
        } => {
            out.push('[');
            if *step_first {
                repeat(out, '+', '-', *step as i32);
            }
            let mut at = 0i32;
            for &(offset, factor) in targets {
                repeat(out, '>', '<', offset as i32 - at);
                repeat(out, '+', '-', factor as i32);
                at = offset as i32;
            }
            repeat(out, '>', '<', -at);
            if !*step_first {
                repeat(out, '+', '-', *step as i32);
            }
            out.push(']');
        }
        Piece::Scan { stride, cells } => {
            for &value in cells {
                out.extend(std::iter::repeat_n('+', value as usize));
                repeat(out, '>', '<', *stride as i32);
            }
            repeat(out, '>', '<', -(*stride as i32) * cells.len() as i32);
            out.push('[');
            repeat(out, '>', '<', *stride as i32);
            out.push(']');
        }
        Piece::Counted {
            count,
            body,
            balanced,
        } => {
            out.extend(std::iter::repeat_n('+', *count as usize));
            out.push('[');
            let mut net = Some(0i32);
            for p in body {
                render(p, out);
                net = net.and_then(|n| net_move(p).map(|m| n + m));
            }
            if *balanced {
                repeat(out, '>', '<', -net.unwrap_or(0));
            }
            out.push_str("-]");
        }
        Piece::Loop(body) => {
            out.push('[');
            body.iter().for_each(|p| render(p, out));
            out.push(']');
        }
        Piece::Walk {
            right,
            len,
            back,
            looped,
        } => {
            let n = if *right { *len as i32 } else { -(*len as i32) };
            if *looped {
                out.push_str("+[");
                repeat(out, '>', '<', n.signum());
                out.push_str("+]");
            } else {
                repeat(out, '>', '<', n);
                if *back {
                    repeat(out, '>', '<', -n);
                }
            }
        }
        Piece::Nest { depth, body } => {
            out.push('+');
            out.extend(std::iter::repeat_n('[', *depth as usize));
            body.iter().for_each(|p| render(p, out));
            out.push_str("[-]");
            out.extend(std::iter::repeat_n(']', *depth as usize));
        }
        Piece::Block(bytes) => out.extend(bytes.iter().map(|b| b"+-<>."[*b as usize % 5] as char)),
    }
}

impl Shape {
    /// The BF source of this shape (pieces separated by spaces, which are comments).
    pub fn source(&self) -> String {
        let mut out = String::new();
        repeat(&mut out, '>', '<', self.origin as i32);
        for piece in &self.pieces {
            if !out.is_empty() {
                out.push(' ');
            }
            render(piece, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::EofPolicy;

    #[test]
    fn pieces_render_as_documented() {
        let mul = Piece::Mul {
            step: -1,
            targets: vec![(1, 2), (-2, -1)],
            step_first: true,
        };
        let shape = Shape {
            origin: 2,
            pieces: vec![
                mul,
                Piece::Clear(-2),
                Piece::Scan {
                    stride: 2,
                    cells: vec![1, 3],
                },
            ],
            input: vec![],
            tape_len: 8,
            eof: EofPolicy::Zero,
        };
        assert_eq!(shape.source(), ">> [->++<<<->>] [--] +>>+++>><<<<[>>]");
    }
}
