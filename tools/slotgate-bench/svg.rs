//! A self-contained SVG chart: panels side by side, one figure each against
//! a level (concurrency for `load`: requests/s and p99 latency; burst size
//! for `burst`), one curve per target. No script, no external style sheet,
//! so any browser opens it from disk.
//!
//! The levels are placed evenly on the x axis (they are usually a geometric
//! series such as 1, 16, 64, 256), each labelled with its value.

use slotgate::text::escape::xml as escape;
use std::fmt::Write as _;

/// One target's curve: (concurrency, requests/s, p99 in ms) per level.
pub struct Series {
    pub name: String,
    pub points: Vec<(usize, f64, f64)>,
}

const PANEL_W: f64 = 460.0;
const PANEL_H: f64 = 300.0;
const MARGIN_L: f64 = 70.0;
const MARGIN_R: f64 = 20.0;
const MARGIN_T: f64 = 40.0;
const MARGIN_B: f64 = 50.0;
const LEGEND_H: f64 = 22.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A "nice" axis top and step: 1, 2 or 5 times a power of ten, five-ish ticks.
fn nice_axis(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.2);
    }
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    ((max / step).ceil() * step, step)
}

fn tick_label(value: f64, step: f64) -> String {
    if step >= 1000.0 && value >= 1000.0 {
        format!("{}k", value / 1000.0)
    } else if step >= 1.0 {
        format!("{value:.0}")
    } else {
        let decimals = (-step.log10().floor()) as usize;
        format!("{value:.decimals$}")
    }
}

/// One target's curve for `chart_panels`: per level, one value per panel.
pub struct MultiSeries {
    pub name: String,
    pub points: Vec<(usize, Vec<f64>)>,
}

/// The `load` chart for `levels` (the concurrencies, in order): requests/s
/// and p99 latency.
pub fn chart(title: &str, levels: &[usize], series: &[Series]) -> String {
    let series: Vec<MultiSeries> = series
        .iter()
        .map(|s| MultiSeries {
            name: s.name.clone(),
            points: s.points.iter().map(|p| (p.0, vec![p.1, p.2])).collect(),
        })
        .collect();
    chart_panels(
        title,
        "concurrency (connections)",
        &["requests/s", "p99 latency (ms)"],
        levels,
        &series,
    )
}

/// A chart with one panel per entry of `panels` (its label), each plotting
/// the value of that index in every point, against `levels` on an x axis
/// labelled `x_label`.
pub fn chart_panels(
    title: &str,
    x_label: &str,
    panels: &[&str],
    levels: &[usize],
    series: &[MultiSeries],
) -> String {
    let width = panels.len().max(1) as f64 * PANEL_W;
    let height = PANEL_H + LEGEND_H * series.len().max(1) as f64 + 30.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="15">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    for (k, label) in panels.iter().enumerate() {
        let axes = Axes {
            left: PANEL_W * k as f64,
            label,
            x_label,
            levels,
        };
        panel(&mut out, &axes, series, |p| {
            p.1.get(k).copied().unwrap_or(0.0)
        });
    }
    for (i, s) in series.iter().enumerate() {
        let y = PANEL_H + 20.0 + LEGEND_H * i as f64;
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(
            out,
            r#"<line x1="{MARGIN_L}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2.5"/>"#,
            MARGIN_L + 30.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}">{}</text>"#,
            MARGIN_L + 38.0,
            y + 4.0,
            escape(&s.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Where a panel goes and what its axes say.
struct Axes<'a> {
    /// Horizontal offset.
    left: f64,
    label: &'a str,
    x_label: &'a str,
    levels: &'a [usize],
}

/// One panel, plotting `value` of each point.
fn panel(
    out: &mut String,
    axes: &Axes,
    series: &[MultiSeries],
    value: impl Fn(&(usize, Vec<f64>)) -> f64,
) {
    let Axes {
        left,
        label,
        x_label,
        levels,
    } = *axes;
    let x0 = left + MARGIN_L;
    let x1 = left + PANEL_W - MARGIN_R;
    let y0 = PANEL_H - MARGIN_B; // the axis line, value 0
    let y1 = MARGIN_T;
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(&value))
        .fold(0.0, f64::max);
    let (top, step) = nice_axis(max * 1.05);
    let x_of = |level: usize| -> f64 {
        let i = levels.iter().position(|&l| l == level).unwrap_or(0);
        if levels.len() <= 1 {
            (x0 + x1) / 2.0
        } else {
            x0 + 15.0 + (x1 - x0 - 30.0) * i as f64 / (levels.len() - 1) as f64
        }
    };
    let y_of = |v: f64| y0 - (y0 - y1) * (v / top);
    let _ = writeln!(out, "<g>");
    // Grid and y ticks.
    let ticks = (top / step).round() as usize;
    for t in 0..=ticks {
        let v = step * t as f64;
        let y = y_of(v);
        let _ = writeln!(
            out,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e0e0e0"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            x0 - 6.0,
            y + 4.0,
            tick_label(v, step)
        );
    }
    // Axes.
    let _ = writeln!(
        out,
        r#"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/>"#
    );
    let _ = writeln!(
        out,
        r#"<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>"#
    );
    for &level in levels {
        let x = x_of(level);
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{}" stroke="black"/>"#,
            y0 + 4.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{level}</text>"#,
            y0 + 17.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        y0 + 36.0,
        escape(x_label)
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
        (x0 + x1) / 2.0,
        y1 - 10.0,
        escape(label)
    );
    // Curves.
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x_of(p.0), y_of(value(p))))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{}"/>"#,
            points.join(" ")
        );
        for p in &s.points {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{} at {}: {:.3}</title></circle>"#,
                x_of(p.0),
                y_of(value(p)),
                escape(&s.name),
                p.0,
                value(p)
            );
        }
    }
    let _ = writeln!(out, "</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Check that every tag is closed in order, and that text holds no raw
    /// `<` or `&` outside entities: a minimal well-formedness check.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..20]);
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
                    "bad entity {entity}"
                );
            }
            let close = rest[open..].find('>').expect("unterminated tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
            let name = tag
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap();
            if let Some(closing) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(closing.trim()), "mismatched </{closing}>");
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            // Attribute values are quoted and the quotes balance.
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag}"
            );
            rest = &rest[close + 1..];
            if stack.is_empty() {
                assert!(rest.trim().is_empty(), "content after the root element");
                return;
            }
        }
        panic!("unclosed elements: {stack:?}");
    }

    #[test]
    fn chart_is_well_formed_with_awkward_names() {
        let series = vec![
            Series {
                name: "slotgate <event> & \"friends\"".into(),
                points: vec![(1, 1000.0, 0.2), (16, 12000.0, 1.5), (64, 15000.0, 6.0)],
            },
            Series {
                name: "nginx".into(),
                points: vec![(1, 900.0, 0.25), (16, 11000.0, 1.8), (64, 16000.0, 5.0)],
            },
        ];
        let svg = chart("load: keep-alive, 5 s", &[1, 16, 64], &series);
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("&lt;event&gt; &amp; &quot;friends&quot;"));
    }

    #[test]
    fn chart_with_one_level_or_no_data_is_still_well_formed() {
        assert_well_formed(&chart(
            "one",
            &[8],
            &[Series {
                name: "a".into(),
                points: vec![(8, 5.0, 0.0)],
            }],
        ));
        assert_well_formed(&chart("none", &[], &[]));
    }

    #[test]
    fn three_panel_chart_is_well_formed() {
        let series = vec![MultiSeries {
            name: "a".into(),
            points: vec![(100, vec![1.0, 2.0, 3.0]), (1000, vec![4.0, 5.0, 6.0])],
        }];
        let svg = chart_panels(
            "burst",
            "burst size (connections)",
            &["avg (ms)", "p99 (ms)", "max (ms)"],
            &[100, 1000],
            &series,
        );
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("burst size (connections)"));
        assert!(svg.contains(r#"width="1380""#));
    }

    #[test]
    fn axes_round_up_to_one_two_five() {
        assert_eq!(nice_axis(12_345.0), (15_000.0, 5_000.0));
        assert_eq!(nice_axis(0.9), (1.0, 0.2));
        assert_eq!(nice_axis(0.0), (1.0, 0.2));
        assert_eq!(tick_label(20_000.0, 5_000.0), "20k");
        assert_eq!(tick_label(0.4, 0.2), "0.4");
    }
}
