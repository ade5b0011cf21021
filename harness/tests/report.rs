//! The HTML report rendered from a fixed results file: structure, charts, self-containment.

use std::path::Path;

use bfjit_harness::report::{load_check, load_results, render};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn sample_page(with_check: bool) -> String {
    let results = load_results(&data("results-sample.json")).expect("sample results load");
    let check =
        with_check.then(|| load_check(&data("check-sample.json")).expect("sample check loads"));
    render(&results, check.as_ref()).expect("sample renders")
}

/// Checks that every non-void element is closed in order (a "valid-ish" HTML check).
fn assert_balanced(html: &str) {
    const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link", "wbr"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("every tag is closed with >") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(!name.is_empty(), "empty tag name in <{tag}>");
        if VOID.contains(&name.as_str()) {
            continue;
        }
        if tag.starts_with('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

#[test]
fn report_has_tables_charts_and_no_external_urls() {
    let html = sample_page(true);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_balanced(&html);

    // Self-contained: no URL, no external script, stylesheet or image.
    for forbidden in [
        "http://", "https://", "<script", "<link", "<img", "url(", "@import", "//cdn",
    ] {
        assert!(!html.contains(forbidden), "the report contains {forbidden}");
    }

    // One results table per workload, the summary matrix, the scaling table, the check table.
    assert_eq!(html.matches("<table class=\"results\">").count(), 2);
    assert_eq!(html.matches("<table class=\"matrix\">").count(), 1);
    assert_eq!(html.matches("<table class=\"scaling\">").count(), 1);
    assert_eq!(html.matches("<table class=\"check\">").count(), 1);

    // Charts: overview, two workloads, scaling; each in a wide and a narrow rendering.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 8);
    assert_eq!(html.matches("</svg>").count(), 8);
    assert!(html.contains("aria-label=\"compile time against program size\""));
    assert!(html.contains("log scale"), "wide ranges use a log axis");

    // Columns the issue asks for.
    for header in [
        "compile",
        "run",
        "total",
        "vs reference",
        "vs c-naive",
        "run spread",
    ] {
        assert!(
            html.contains(&format!(">{header}")),
            "missing column {header}"
        );
    }
}

#[test]
fn report_states_failures_caps_and_environment() {
    let html = sample_page(true);
    // The wrong answer is shown as such, with its detail, never as a time.
    assert!(html.contains("cranelift on fizzbuzz: wrong output"));
    assert!(html.contains("output differs at byte 17"));
    assert!(html.contains("failed verification"));
    // The capped reference run and the skipped scaling sizes are stated.
    assert!(html.contains("1 (capped)"));
    assert!(html.contains("one run only"));
    assert!(html.contains("over the 4.0 s budget"));
    // Unsupported backends are skipped with a note.
    assert!(html.contains("unsupported: needs aarch64"));
    // Speed-ups against the reference and the C baseline.
    // mandelbrot, cranelift: total 0.024 + 0.052 s; reference 4.2 s; c-naive 1.9 + 0.041 s.
    let cranelift_row = html
        .split("<table class=\"results\">")
        .nth(1)
        .expect("a mandelbrot table")
        .split("<td>cranelift</td>")
        .nth(1)
        .expect("a cranelift row")
        .split("</tr>")
        .next()
        .unwrap();
    assert!(cranelift_row.contains("55.3×"), "{cranelift_row}");
    assert!(cranelift_row.contains("25.5×"), "{cranelift_row}");
    assert!(cranelift_row.contains("run 80.8×"), "{cranelift_row}");
    // Environment.
    for text in [
        "Sample CPU @ 3.00GHz",
        "rustc 1.95.0 (sample)",
        "cc (Sample) 12.2.0",
        "cranelift-codegen 0.135.8",
    ] {
        assert!(html.contains(text), "missing {text}");
    }
    // Differential check.
    assert!(html.contains("1 divergence"));
    assert!(html.contains("divergence-1.bf"));
}

#[test]
fn report_without_check_says_so() {
    let html = sample_page(false);
    assert!(html.contains("No differential-check summary was found"));
    assert!(!html.contains("<table class=\"check\">"));
    assert_balanced(&html);
}

#[test]
fn text_from_results_is_escaped() {
    let mut results = load_results(&data("results-sample.json")).unwrap();
    results.workloads[0].name = "<b>bold</b>".to_string();
    results.workloads[0].cells[1].detail = Some("a < b & c".to_string());
    let html = render(&results, None).unwrap();
    assert!(!html.contains("<b>bold</b>"));
    assert!(html.contains("&lt;b&gt;bold&lt;"));
    assert!(html.contains("a &lt; b &amp; c"));
    assert_balanced(&html);
}

#[test]
fn skipped_cells_are_listed_as_not_measured() {
    let mut results = load_results(&data("results-sample.json")).unwrap();
    let cell = &mut results.workloads[1].cells[3];
    cell.verdict = bfjit_harness::bench::Verdict::Skipped;
    cell.detail = Some("not measured: over the 20.0 s compile budget".to_string());
    cell.compile = None;
    cell.run = None;
    let html = render(&results, None).unwrap();
    assert!(html.contains("1 cell not measured"));
    assert!(html.contains("c-naive on fizzbuzz: not measured"));
    assert_balanced(&html);
}
