//! The report's charts, drawn with `plotters` into SVG strings that are inlined in the page.
//!
//! Each chart is drawn at a fixed logical size; the page's CSS scales it to the column width (the
//! SVG keeps its `viewBox`). Time axes switch to a log scale when the values span more than
//! [`LOG_THRESHOLD`]×. Failed cells are drawn as a red note instead of a bar, never as a time.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::format_secs;

/// The ratio between the largest and smallest value above which a time axis is logarithmic.
pub const LOG_THRESHOLD: f64 = 20.0;

const FONT: &str = "sans-serif";

/// The logical size and type sizes of a chart: the page carries a wide and a narrow rendering of
/// each chart and shows one of them depending on the screen width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canvas {
    /// Logical width in SVG units.
    pub width: u32,
    /// Base font size.
    pub font: u32,
    /// Width of the area for row labels in bar charts.
    pub label_area: u32,
}

impl Canvas {
    /// For desktop screens (shown up to 900 px wide).
    pub const WIDE: Canvas = Canvas {
        width: 900,
        font: 14,
        label_area: 130,
    };
    /// For phones (shown about 360 px wide, so fonts stay legible).
    pub const NARROW: Canvas = Canvas {
        width: 420,
        font: 14,
        label_area: 104,
    };
}
const COMPILE_COLOR: RGBColor = RGBColor(0xf2, 0xa6, 0x4b);
const RUN_COLOR: RGBColor = RGBColor(0x2f, 0x6f, 0xb3);
/// Whole-process time (start-up included).
const PROCESS_COLOR: RGBColor = RGBColor(0x7b, 0x5e, 0xa7);
const FAIL_COLOR: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);

/// Colours for series, by backend index (repeats after ten).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0x55, 0x55, 0x55),
];

/// A series colour for the backend at `index` in the results' backend list.
pub fn palette(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Why a chart could not be drawn.
#[derive(Debug)]
pub struct ChartError(pub String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

fn err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError(format!("{e:?}"))
}

/// Makes plotters' SVG fit for inlining: no XML namespace URL (the HTML parser supplies it), and a
/// class for the stylesheet.
fn finish(svg: String, label: &str) -> String {
    let svg = svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    svg.replacen(
        "<svg ",
        &format!("<svg class=\"chart\" role=\"img\" aria-label=\"{label}\" "),
        1,
    )
}

/// One row of a bar chart: a label and either bars or a failure note.
#[derive(Clone, Debug)]
pub struct BarRow {
    /// Row label (a backend name).
    pub label: String,
    /// The bars, `(series index, value)`: index 0 and 1 are compile and run in [`time_bars`].
    pub values: Vec<Option<f64>>,
    /// Shown instead of bars when there are no values (e.g. "wrong output").
    pub note: Option<String>,
}

/// How values on the x axis are written.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    /// Seconds, written with an adaptive unit.
    Seconds,
    /// A ratio, written like `12.3×`.
    Ratio,
}

fn fmt_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Seconds => format_secs(v),
        Unit::Ratio => {
            if v >= 10.0 {
                format!("{v:.0}×")
            } else if v >= 1.0 {
                format!("{v:.1}×")
            } else {
                format!("{v:.2}×")
            }
        }
    }
}

/// A horizontal grouped bar chart, one group per row; the axis is logarithmic when the values span
/// more than [`LOG_THRESHOLD`]×. `series` names and colours the bars of each group.
pub fn bar_chart(
    canvas: Canvas,
    title: &str,
    rows: &[BarRow],
    series: &[(&str, RGBColor)],
    unit: Unit,
) -> Result<String, ChartError> {
    let values: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.values.iter().flatten().copied())
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    let group = series.len().max(1) as u32;
    let row_height = (canvas.font) * group + 14;
    let legend = if series.len() > 1 { 26 } else { 0 };
    let height = 48 + legend + row_height * rows.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (canvas.width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(0.0, f64::max);
        let (lo, hi) = if values.is_empty() {
            (0.1, 1.0)
        } else {
            (lo, hi)
        };
        let log = hi / lo > LOG_THRESHOLD;
        let n = rows.len().max(1) as f64;
        let label_area = canvas.label_area;
        if log {
            let range = (lo / 2.0)..(hi * 4.0);
            let mut chart = ChartBuilder::on(&root)
                .margin_top(8 + legend)
                .margin_right(24)
                .margin_left(8)
                .x_label_area_size(28)
                .y_label_area_size(label_area)
                .build_cartesian_2d(range.clone().log_scale(), 0.0..n)
                .map_err(err)?;
            draw_bars(&mut chart, &root, canvas, rows, series, unit, range.start)?;
        } else {
            let range = 0.0..(hi * 1.25);
            let mut chart = ChartBuilder::on(&root)
                .margin_top(8 + legend)
                .margin_right(24)
                .margin_left(8)
                .x_label_area_size(28)
                .y_label_area_size(label_area)
                .build_cartesian_2d(range.clone(), 0.0..n)
                .map_err(err)?;
            draw_bars(&mut chart, &root, canvas, rows, series, unit, range.start)?;
        }
        if series.len() > 1 {
            let mut x = canvas.label_area as i32 + 8;
            for (name, color) in series {
                root.draw(&Rectangle::new([(x, 10), (x + 14, 24)], color.filled()))
                    .map_err(err)?;
                root.draw(&Text::new(
                    name.to_string(),
                    (x + 20, 17),
                    TextStyle::from((FONT, canvas.font).into_font())
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(err)?;
                x += 40 + 9 * name.len() as i32;
            }
            let scale = if log { "log scale" } else { "linear scale" };
            // Only where the legend leaves room (the axis ticks say it too).
            if x + 9 * scale.len() as i32 <= canvas.width as i32 - 24 {
                root.draw(&Text::new(
                    scale.to_string(),
                    (canvas.width as i32 - 24, 17),
                    TextStyle::from((FONT, canvas.font - 1).into_font())
                        .color(&MUTED)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
                ))
                .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(finish(svg, title))
}

fn draw_bars<X>(
    chart: &mut ChartContext<
        '_,
        SVGBackend<'_>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    canvas: Canvas,
    rows: &[BarRow],
    series: &[(&str, RGBColor)],
    unit: Unit,
    base: f64,
) -> Result<(), ChartError>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let fmt = move |v: &f64| fmt_value(unit, *v);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .y_labels(0)
        .x_labels(if canvas.width < 600 { 4 } else { 8 })
        .x_label_formatter(&fmt)
        .label_style((FONT, canvas.font - 1))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .draw()
        .map_err(err)?;
    let group = series.len().max(1) as f64;
    let n = rows.len();
    for (i, row) in rows.iter().enumerate() {
        // Row 0 at the top.
        let top = (n - i) as f64;
        let slot = 0.8 / group;
        let (label_x, label_y) = chart.backend_coord(&(base, top - 0.5));
        root.draw(&Text::new(
            row.label.clone(),
            (label_x - 8, label_y),
            TextStyle::from((FONT, canvas.font).into_font())
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
        if row.values.iter().all(Option::is_none) {
            let note = row.note.clone().unwrap_or_else(|| "no time".to_string());
            let (x, y) = chart.backend_coord(&(base, top - 0.5));
            root.draw(&Text::new(
                note,
                (x + 6, y),
                TextStyle::from((FONT, canvas.font - 1).into_font())
                    .color(&FAIL_COLOR)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
            continue;
        }
        for (k, value) in row.values.iter().enumerate() {
            let Some(value) = value.filter(|v| *v > 0.0) else {
                continue;
            };
            let color = series.get(k).map_or(RUN_COLOR, |s| s.1);
            let y0 = top - 0.1 - slot * k as f64;
            let y1 = y0 - slot * 0.9;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(base, y1), (value, y0)],
                    color.filled(),
                )))
                .map_err(err)?;
            let (x, y) = chart.backend_coord(&(value, (y0 + y1) / 2.0));
            root.draw(&Text::new(
                fmt_value(unit, value),
                (x + 4, y),
                TextStyle::from((FONT, canvas.font - 2).into_font())
                    .color(&MUTED)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        }
    }
    Ok(())
}

/// The per-workload chart: compile and run median per backend.
pub fn time_bars(canvas: Canvas, title: &str, rows: &[BarRow]) -> Result<String, ChartError> {
    // A third value, when any row has one, is the whole-process time.
    let process = rows
        .iter()
        .any(|r| r.values.get(2).is_some_and(Option::is_some));
    let series: &[(&str, RGBColor)] = if process {
        &[
            ("compile", COMPILE_COLOR),
            ("run", RUN_COLOR),
            ("process", PROCESS_COLOR),
        ]
    } else {
        &[("compile", COMPILE_COLOR), ("run", RUN_COLOR)]
    };
    bar_chart(canvas, title, rows, series, Unit::Seconds)
}

/// One line of the scaling chart: a backend's `(commands, seconds)` points.
#[derive(Clone, Debug)]
pub struct ScalingLine {
    /// Backend name.
    pub backend: String,
    /// Its colour index.
    pub color: usize,
    /// `(commands, median compile seconds)`, ascending.
    pub points: Vec<(f64, f64)>,
}

/// The compile-time scaling chart: compile time against program size, log-log, one line per backend.
pub fn scaling_chart(canvas: Canvas, lines: &[ScalingLine]) -> Result<String, ChartError> {
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|y| *y > 0.0)
        .collect();
    let x_lo = xs.iter().copied().fold(f64::INFINITY, f64::min).min(1e4);
    let x_hi = xs.iter().copied().fold(0.0, f64::max).max(1e6);
    let y_lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let y_hi = ys.iter().copied().fold(0.0, f64::max);
    let (y_lo, y_hi) = if ys.is_empty() {
        (1e-3, 1.0)
    } else {
        (y_lo, y_hi)
    };
    let height = if canvas.width < 600 { 380 } else { 460 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (canvas.width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(if canvas.width < 600 { 100 } else { 140 })
            .x_label_area_size(44)
            .y_label_area_size(if canvas.width < 600 { 64 } else { 80 })
            .build_cartesian_2d(
                ((x_lo / 1.6)..(x_hi * 1.6)).log_scale(),
                ((y_lo / 2.0)..(y_hi * 2.0)).log_scale(),
            )
            .map_err(err)?;
        let x_fmt = |v: &f64| {
            if *v >= 1e6 {
                format!("{}M", v / 1e6)
            } else if *v >= 1e3 {
                format!("{}k", v / 1e3)
            } else {
                format!("{v}")
            }
        };
        let y_fmt = |v: &f64| format_secs(*v);
        chart
            .configure_mesh()
            .x_desc("program size (BF commands, log scale)")
            .y_desc("compile time (log scale)")
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, canvas.font - 1))
            .axis_desc_style((FONT, canvas.font - 1))
            .light_line_style(RGBColor(0xf3, 0xf3, 0xf3))
            .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
            .draw()
            .map_err(err)?;
        let mut ends = Vec::new();
        for line in lines {
            let color = palette(line.color);
            let style = ShapeStyle::from(&color).stroke_width(2);
            chart
                .draw_series(LineSeries::new(line.points.iter().copied(), style))
                .map_err(err)?;
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|&p| Circle::new(p, 4, color.filled())),
                )
                .map_err(err)?;
            if let Some(&(x, y)) = line.points.last() {
                let (px, py) = chart.backend_coord(&(x, y));
                ends.push((py, px, line.backend.clone(), color));
            }
        }
        // End-of-line labels, pushed apart so that close lines keep readable names.
        ends.sort_by_key(|e| e.0);
        let gap = canvas.font as i32 + 1;
        let mut last = i32::MIN / 2;
        for (py, px, name, color) in ends {
            let y = py.max(last + gap);
            last = y;
            root.draw(&Text::new(
                name,
                (px + 8, y),
                TextStyle::from((FONT, canvas.font - 1).into_font())
                    .color(&color)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(finish(svg, "compile time against program size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, values: &[Option<f64>]) -> BarRow {
        BarRow {
            label: label.into(),
            values: values.to_vec(),
            note: None,
        }
    }

    #[test]
    fn wide_ranges_get_a_log_axis_and_failures_a_note() {
        let mut failed = row("broken", &[None, None]);
        failed.note = Some("wrong output".into());
        let svg = time_bars(
            Canvas::WIDE,
            "t",
            &[
                row("slow", &[Some(0.001), Some(10.0)]),
                failed,
                row("fast", &[Some(1e-5), Some(0.01)]),
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg class=\"chart\""));
        assert!(svg.contains("log scale"));
        assert!(svg.contains("wrong output"));
        assert!(!svg.contains("http"));
        let narrow = time_bars(Canvas::NARROW, "t", &[row("a", &[Some(1.0), Some(2.0)])]).unwrap();
        assert!(narrow.contains("linear scale"));
    }

    #[test]
    fn scaling_chart_labels_lines() {
        let svg = scaling_chart(
            Canvas::NARROW,
            &[ScalingLine {
                backend: "cranelift".into(),
                color: 0,
                points: vec![(1e4, 0.001), (1e5, 0.01), (1e6, 0.1)],
            }],
        )
        .unwrap();
        assert!(svg.contains("cranelift"));
        assert!(svg.contains("<path") || svg.contains("<polyline"));
    }
}
