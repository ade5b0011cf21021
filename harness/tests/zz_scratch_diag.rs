use bfjit_backends::Backend;
use bfjit_harness::generate::ShapeStream;
use bfjit_harness::oracle::*;
use bfjit_harness::broken::ALL;
use std::time::Instant;
#[test]
fn diag() {
    for b in ALL.iter().skip(1).take(7) {
        let mut oracle = Oracle::new(vec![Engine::Backend(b)], DEFAULT_BUDGET);
        let mut stream = ShapeStream::new(1);
        let t0 = Instant::now();
        let mut worst = (0u128, 0usize, 0u64, String::new());
        let mut found = None;
        for n in 1..=300 {
            let case = stream.next_shape().to_case();
            let t = Instant::now();
            let r = oracle.check(&case);
            let el = t.elapsed().as_millis();
            if el > worst.0 { worst = (el, case.program.len(), r.budget, format!("{:?} {}", r.verdict, case.config.tape_len)); }
            if found.is_none() && r.first_divergence().is_some() { found = Some(n); }
        }
        eprintln!("{:24} 300 cases {:?} first {:?} worst {:?}", b.name(), t0.elapsed(), found, worst);
    }
}
