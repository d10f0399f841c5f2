//! Charts, one file per figure, drawn with plotters to SVG and to PNG.
//!
//! The PNG text uses DejaVu Sans embedded in the binary (`assets/fonts/`), so a machine with no
//! system fonts renders legible labels. Figures read only `RunReport`; drawing errors are
//! returned, never unwrapped.

mod breakdown;
mod cost;
mod init;
mod latency;
mod summary;
mod timeline;
mod usage;

use std::io::Cursor;
use std::sync::Once;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

pub use breakdown::Breakdown;
pub use cost::CostCurve;
pub use init::InitHistogram;
pub use latency::LatencySpectrum;
pub use summary::SideBySide;
pub use timeline::Timeline;
pub use usage::Usage;

use super::Exporter;
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (960, 560);
/// The font family registered for all text.
pub const FONT: &str = "sans-serif";
/// One colour per target, in target order.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

static EMBEDDED_FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and valid; a failure here would only lose text, not the chart.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, EMBEDDED_FONT);
    });
}

/// Draws the legend of `chart` in the shared style.
///
/// # Errors
/// When plotters fails to draw it.
pub fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    size: u32,
) -> anyhow::Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, size))
        .draw()
        .map_err(|e| anyhow!("legend: {e}"))
}

/// Width of one entry of a name strip: a swatch and up to ~22 characters.
const STRIP_ENTRY: usize = 200;

/// Rows a strip of these names takes at the chart's width.
pub fn strip_rows<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    let per_row = (SIZE.0 as usize / STRIP_ENTRY).max(1);
    names.count().div_ceil(per_row).max(1)
}

/// The targets' colours and names in rows below a figure's panels, in target order.
///
/// # Errors
/// When plotters fails to draw it.
pub fn name_strip<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: impl Iterator<Item = &'a str>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let per_row = (SIZE.0 as usize / STRIP_ENTRY).max(1);
    for (i, name) in names.enumerate() {
        let (x, y) = ((16 + (i % per_row) * STRIP_ENTRY) as i32, (4 + (i / per_row) * 22) as i32);
        let color = PALETTE[i % PALETTE.len()];
        area.draw(&Rectangle::new([(x, y + 3), (x + 14, y + 17)], color.filled()))
            .map_err(|e| anyhow!("strip: {e}"))?;
        let shown: String =
            if name.chars().count() > 22 { name.chars().take(21).chain(['…']).collect() } else { name.into() };
        area.draw(&Text::new(shown, (x + 20, y + 2), (FONT, 15))).map_err(|e| anyhow!("strip: {e}"))?;
    }
    Ok(())
}

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Base file name without extension, e.g. `latency`.
    fn name(&self) -> &'static str;
    /// Draws the figure.
    ///
    /// # Errors
    /// When plotters fails to draw (the message says which part).
    fn draw<DB: DrawingBackend>(
        &self,
        report: &RunReport,
        analysis: &Analysis,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

/// Output format of a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

/// An exporter writing one figure in one format.
pub struct ChartExporter<F: Figure> {
    pub figure: F,
    pub format: Format,
}

impl<F: Figure> Exporter for ChartExporter<F> {
    fn file_name(&self) -> String {
        match self.format {
            Format::Svg => format!("{}.svg", self.figure.name()),
            Format::Png => format!("{}.png", self.figure.name()),
        }
    }

    fn serialize(&self, report: &RunReport, analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
        register_font();
        match self.format {
            Format::Svg => {
                let mut svg = String::new();
                {
                    let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                    root.fill(&WHITE).map_err(|e| anyhow!("svg background: {e}"))?;
                    self.figure.draw(report, analysis, &root)?;
                    root.present().map_err(|e| anyhow!("svg: {e}"))?;
                }
                Ok(svg.into_bytes())
            }
            Format::Png => {
                let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
                {
                    let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
                    root.fill(&WHITE).map_err(|e| anyhow!("png background: {e}"))?;
                    self.figure.draw(report, analysis, &root)?;
                    root.present().map_err(|e| anyhow!("png: {e}"))?;
                }
                let image =
                    image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels).ok_or_else(|| anyhow!("png buffer size"))?;
                let mut png = Vec::new();
                image.write_to(&mut Cursor::new(&mut png), image::ImageOutputFormat::Png)?;
                Ok(png)
            }
        }
    }
}

/// Every figure, each as SVG and PNG.
pub fn all_charts() -> Vec<Box<dyn Exporter>> {
    let mut all = both(LatencySpectrum);
    all.extend(both(Timeline));
    all.extend(both(InitHistogram));
    all.extend(both(CostCurve));
    all.extend(both(SideBySide));
    all.extend(both(Usage));
    all.extend(both(Breakdown));
    all
}

/// Both formats of a figure.
pub fn both<F: Figure + Clone + 'static>(figure: F) -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(ChartExporter { figure: figure.clone(), format: Format::Svg }),
        Box::new(ChartExporter { figure, format: Format::Png }),
    ]
}
