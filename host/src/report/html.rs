//! report.html: the templates in `html/` (compiled into the binary) filled with a [`ReportView`].
//! minijinja escapes every value in a `.html` template for HTML, so dataset text, rationales,
//! errors and names always appear as text; only the SVG the report builds itself (`svg.rs`, which
//! escapes its own texts) is inserted as markup, with `|safe`.

use super::AtomicFile;
use super::view::ReportView;
use crate::error::Error;
use minijinja::Environment;
use std::path::{Path, PathBuf};

pub const REPORT_HTML: &str = "report.html";

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in [
        ("report.html", include_str!("html/report.html")),
        ("example.html", include_str!("html/example.html")),
        ("compare.html", include_str!("html/compare.html")),
        ("style.css", include_str!("html/style.css")),
    ] {
        env.add_template(name, source)
            .expect("the report templates parse");
    }
    env.add_filter("fixed", |value: f64, digits: Option<usize>| {
        format!("{value:.*}", digits.unwrap_or(2))
    });
    env
}

/// The report as HTML text. `compare` is the agreement section's values, when there is one.
pub fn render(view: &ReportView, compare: Option<&serde_json::Value>) -> Result<String, Error> {
    let env = environment();
    let template = env.get_template("report.html").expect("added above");
    template
        .render(minijinja::context! {
            generated => &view.generated,
            run => &view.run,
            uses_model => view.uses_model,
            sections => &view.sections,
            compare => compare,
        })
        .map_err(|e| Error::Internal(format!("rendering report.html failed: {e:#}")))
}

/// Write `report.html` into `dir`.
pub fn write(dir: &Path, html: &str) -> Result<PathBuf, Error> {
    AtomicFile::write(&dir.join(REPORT_HTML), html.as_bytes())
}
