use bfjit_harness::generate::{ShapeStream, Piece};
use bfjit_harness::oracle::*;
use std::time::Instant;
#[test]
fn diag() {
    let mut stream = ShapeStream::new(2);
    let mut disc = std::collections::HashMap::<String,(u32,u32)>::new();
    let cl = bfjit_backends::backend_by_name("cranelift").unwrap();
    let mut slow = vec![];
    let mut nd = 0; for _ in 0..1000 {
        let s = stream.next_shape();
        let case = s.to_case();
        let r = run_reference(&case, DEFAULT_BUDGET);
        let d = r.status == bfjit_backends::Status::OutOfFuel; if d {nd+=1;}
        for p in &s.pieces {
            let k = format!("{:?}", p).split(|c: char| !c.is_alphanumeric()).next().unwrap().to_string();
            let k = if let Piece::Clear(st) = p { format!("Clear{st}") } else if let Piece::Mul{step,..} = p { format!("Mul{step}")} else {k};
            let e = disc.entry(k).or_default(); e.0 += 1; if d { e.1 += 1; }
        }
        let t = Instant::now();
        if std::env::var("CL").is_ok() { let _ = run_in_process(cl, &case.program, &case.config.with_fuel(Some(r.fuel_used)), &case.input); }
        let el = t.elapsed();
        let nest = s.pieces.iter().any(|p| matches!(p, Piece::Nest{depth,..} if *depth > 50));
        slow.push((el.as_millis(), case.program.len(), nest));
    }
    let mut v: Vec<_> = disc.into_iter().collect(); v.sort();
    for (k,(n,d)) in v { eprintln!("{k:10} {n:5} discarded {d:5} ({:.0}%)", 100.0*d as f64/n as f64); }
    eprintln!("discarded {nd}/1000"); slow.sort();
    eprintln!("cranelift ms: median {:?} p90 {:?} max {:?}", slow[slow.len()/2], slow[slow.len()*9/10], slow.last());
    let tot: u128 = slow.iter().map(|x| x.0).sum();
    let nest: u128 = slow.iter().filter(|x| x.2).map(|x| x.0).sum();
    eprintln!("total {tot} ms, of which deep-nest programs {nest} ms");
}
