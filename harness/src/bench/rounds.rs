//! Timed runs taken in rounds: every cell of one workload runs once per round, in an order that
//! rotates from round to round, so that a machine whose speed drifts (a busy or throttled VM) slows
//! every engine alike instead of whichever happened to be timed during the slow spell. Ratios between
//! cells of one workload are what `bfjit bench` reports; this is what makes them side by side.

use std::time::Duration;

/// Runs `run(cell)` `planned[cell]` times for every cell, one run per cell per round, the round's
/// first cell rotating by one each round. A cell whose run fails runs no more: its result is the
/// failure; the other cells go on. Returns, per cell, its run times or its first failure.
pub fn in_rounds<E>(
    planned: &[usize],
    mut run: impl FnMut(usize) -> Result<Duration, E>,
) -> Vec<Result<Vec<Duration>, E>> {
    let cells = planned.len();
    let mut results: Vec<Result<Vec<Duration>, E>> =
        planned.iter().map(|&n| Ok(Vec::with_capacity(n))).collect();
    let rounds = planned.iter().copied().max().unwrap_or(0);
    for round in 0..rounds {
        for k in 0..cells {
            let cell = (round + k) % cells;
            if round >= planned[cell] {
                continue;
            }
            let Ok(times) = &mut results[cell] else {
                continue;
            };
            match run(cell) {
                Ok(time) => times.push(time),
                Err(failure) => results[cell] = Err(failure),
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_runs_every_cell_once_in_a_rotating_order() {
        let mut order = Vec::new();
        let results = in_rounds::<()>(&[3, 3, 3], |cell| {
            order.push(cell);
            Ok(Duration::from_millis(cell as u64))
        });
        assert_eq!(order, [0, 1, 2, 1, 2, 0, 2, 0, 1]);
        for (cell, result) in results.iter().enumerate() {
            assert_eq!(
                result.as_ref().unwrap(),
                &vec![Duration::from_millis(cell as u64); 3]
            );
        }
    }

    #[test]
    fn a_cell_with_fewer_planned_runs_stops_early_and_the_others_go_on() {
        let mut order = Vec::new();
        let results = in_rounds::<()>(&[1, 3], |cell| {
            order.push(cell);
            Ok(Duration::ZERO)
        });
        assert_eq!(order, [0, 1, 1, 1]);
        assert_eq!(results[0].as_ref().unwrap().len(), 1);
        assert_eq!(results[1].as_ref().unwrap().len(), 3);
    }

    #[test]
    fn a_failed_run_ends_only_its_own_cell() {
        let mut runs = [0; 2];
        let results = in_rounds(&[4, 4], |cell| {
            runs[cell] += 1;
            if cell == 0 && runs[0] == 2 {
                Err("wrong output")
            } else {
                Ok(Duration::ZERO)
            }
        });
        assert_eq!(runs, [2, 4]);
        assert_eq!(results[0], Err("wrong output"));
        assert_eq!(results[1].as_ref().unwrap().len(), 4);
    }

    #[test]
    fn no_cells_or_no_runs_run_nothing() {
        assert!(in_rounds::<()>(&[], |_| unreachable!()).is_empty());
        let results = in_rounds::<()>(&[0, 0], |_| unreachable!());
        assert!(results.iter().all(|r| r.as_ref().unwrap().is_empty()));
    }
}
