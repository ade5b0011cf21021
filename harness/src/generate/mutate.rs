//! Mutating existing programs: command-level edits that keep brackets balanced.

use proptest::prelude::Rng;

/// Mutates the commands of `source` (comments are dropped) one to three times: insert, delete or
/// swap commands, wrap a balanced range in a loop, unwrap or delete a loop, duplicate a loop.
/// The result is bracket-balanced whenever `source` is.
pub fn mutate(source: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut cmds: Vec<u8> = source
        .iter()
        .copied()
        .filter(|b| b"+-<>.,[]".contains(b))
        .collect();
    let rounds = 1 + rng.next_u32() % 3;
    for _ in 0..rounds {
        mutate_once(&mut cmds, rng);
    }
    cmds
}

fn below(rng: &mut impl Rng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        rng.next_u32() as usize % n
    }
}

/// Index of the bracket matching the one at `i` (the program must be balanced).
fn partner(cmds: &[u8], i: usize) -> usize {
    let mut depth = 0i64;
    if cmds[i] == b'[' {
        for (j, &c) in cmds.iter().enumerate().skip(i) {
            depth += i64::from(c == b'[') - i64::from(c == b']');
            if depth == 0 {
                return j;
            }
        }
    } else {
        for j in (0..=i).rev() {
            depth += i64::from(cmds[j] == b']') - i64::from(cmds[j] == b'[');
            if depth == 0 {
                return j;
            }
        }
    }
    i
}

fn mutate_once(cmds: &mut Vec<u8>, rng: &mut impl Rng) {
    let plain: Vec<usize> = (0..cmds.len())
        .filter(|&i| !b"[]".contains(&cmds[i]))
        .collect();
    let opens: Vec<usize> = (0..cmds.len()).filter(|&i| cmds[i] == b'[').collect();
    match rng.next_u32() % 7 {
        0 => {
            let at = below(rng, cmds.len() + 1);
            cmds.insert(at, b"+-<>.,"[below(rng, 6)]);
        }
        1 if !plain.is_empty() => {
            cmds.remove(plain[below(rng, plain.len())]);
        }
        2 if cmds.len() >= 2 => {
            let i = below(rng, cmds.len() - 1);
            if !b"[]".contains(&cmds[i]) && !b"[]".contains(&cmds[i + 1]) {
                cmds.swap(i, i + 1);
            }
        }
        3 => {
            // Wrap a balanced range [start, end) in a new loop.
            let start = below(rng, cmds.len() + 1);
            let mut ends = vec![start];
            let mut depth = 0i64;
            for (j, &c) in cmds.iter().enumerate().skip(start) {
                depth += i64::from(c == b'[') - i64::from(c == b']');
                if depth < 0 {
                    break;
                }
                if depth == 0 {
                    ends.push(j + 1);
                }
            }
            let end = ends[below(rng, ends.len())];
            cmds.insert(end, b']');
            cmds.insert(start, b'[');
        }
        4 if !opens.is_empty() => {
            let open = opens[below(rng, opens.len())];
            let close = partner(cmds, open);
            cmds.remove(close);
            cmds.remove(open);
        }
        5 if !opens.is_empty() => {
            let open = opens[below(rng, opens.len())];
            let close = partner(cmds, open);
            cmds.drain(open..=close);
        }
        6 if !opens.is_empty() => {
            let open = opens[below(rng, opens.len())];
            let close = partner(cmds, open);
            let copy: Vec<u8> = cmds[open..=close].to_vec();
            cmds.splice(close + 1..close + 1, copy);
        }
        _ => {
            let at = below(rng, cmds.len() + 1);
            cmds.insert(at, b".,"[below(rng, 2)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::shape_strategy;
    use bfjit_backends::Program;
    use proptest::prelude::*;
    use proptest::test_runner::{RngAlgorithm, TestRng};

    proptest! {
        #[test]
        fn mutants_stay_balanced(shape in shape_strategy(), seed in any::<u64>()) {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&seed.to_le_bytes());
            let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
            let mutant = mutate(shape.source().as_bytes(), &mut rng);
            prop_assert!(Program::parse(mutant.clone()).is_ok(), "{}", String::from_utf8_lossy(&mutant));
        }
    }
}
