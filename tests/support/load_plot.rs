//! The load harness's latency plot: one panel per scenario, latency (ms, log scale) against
//! concurrent clients (log scale); per (store, replicas) one colour, p50 and p99 of saoy as
//! solid lines (thick, thin), the baseline's as dashed lines of the same colour.

use std::path::Path;

use plotters::prelude::*;

use super::load::{Report, Scenario, Step};

const PANEL: (u32, u32) = (520, 460);
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

type Failure = Box<dyn std::error::Error>;

/// Draws `report`'s steps into an SVG at `path`.
pub fn svg(report: &Report, path: &Path) -> Result<(), Failure> {
    let scenarios = &report.options.scenarios;
    let width = PANEL.0 * scenarios.len().max(1) as u32;
    let root = SVGBackend::new(path, (width, PANEL.1)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, scenarios.len().max(1)));
    for (panel, &scenario) in panels.iter().zip(scenarios) {
        let steps: Vec<&Step> = report
            .steps
            .iter()
            .filter(|s| s.scenario == scenario)
            .collect();
        draw_panel(panel, scenario, &steps, report)?;
    }
    root.present()?;
    Ok(())
}

fn bounds(steps: &[&Step]) -> ((f64, f64), (f64, f64)) {
    let xs = steps.iter().map(|s| s.concurrency as f64);
    let (x0, x1) = xs.fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let ys = steps.iter().flat_map(|s| {
        let mut v = vec![s.saoy.latency_ms.p50, s.saoy.latency_ms.p99];
        if let Some(b) = &s.baseline {
            v.extend([b.latency_ms.p50, b.latency_ms.p99]);
        }
        v
    });
    let (y0, y1) = ys
        .filter(|y| *y > 0.0)
        .fold((f64::MAX, 0.0f64), |(a, b), y| (a.min(y), b.max(y)));
    let x = if x0 > x1 {
        (1.0, 2.0)
    } else {
        (x0 / 1.3, x1 * 1.3)
    };
    let y = if y0 > y1 {
        (0.1, 1.0)
    } else {
        (y0 / 1.5, y1 * 1.5)
    };
    (x, y)
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    scenario: Scenario,
    steps: &[&Step],
    report: &Report,
) -> Result<(), Failure> {
    let ((x0, x1), (y0, y1)) = bounds(steps);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{} latency (ms): thick p50, thin p99, dashed baseline",
                scenario.name()
            ),
            ("sans-serif", 15),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("concurrent clients")
        .y_desc("ms")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .max_light_lines(1)
        .draw()?;
    let mut colour = 0;
    for &store in &report.options.stores {
        for &replicas in &report.options.replicas {
            let mut mine: Vec<&Step> = steps
                .iter()
                .copied()
                .filter(|s| s.store == store && s.replicas == replicas)
                .collect();
            if mine.is_empty() {
                continue;
            }
            mine.sort_by_key(|s| s.concurrency);
            let c = COLOURS[colour % COLOURS.len()];
            colour += 1;
            let name = format!("{} ×{replicas}", store.name());
            draw_series(&mut chart, &mine, c, &name)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

fn draw_series<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    steps: &[&Step],
    c: RGBColor,
    name: &str,
) -> Result<(), Failure>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let x = |s: &Step| s.concurrency as f64;
    for (pick, width) in [(0usize, 2u32), (1usize, 1u32)] {
        let value = |m: &super::load::Measure| match pick {
            0 => m.latency_ms.p50,
            _ => m.latency_ms.p99,
        };
        let points: Vec<(f64, f64)> = steps.iter().map(|s| (x(s), value(&s.saoy))).collect();
        let style = c.stroke_width(width);
        let line = chart.draw_series(LineSeries::new(points.clone(), style))?;
        if pick == 0 {
            // One legend entry per configuration: the caption says which line is which.
            line.label(name.to_string())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, c.filled())))?;
        let base: Vec<(f64, f64)> = steps
            .iter()
            .filter_map(|s| s.baseline.as_ref().map(|b| (x(s), value(b))))
            .collect();
        if base.is_empty() {
            continue;
        }
        chart.draw_series(DashedLineSeries::new(base, 6, 4, style))?;
    }
    Ok(())
}
