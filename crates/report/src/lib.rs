//! GovLens report rendering (pure: no I/O, no clock, no randomness).
//!
//! A service fills a [`ReportInput`] from the scoring, assessment and diagnosis
//! results and asks for one of two renderings:
//!
//! * [`render_html`]: one self-contained HTML5 page (inline CSS, inline SVG
//!   charts, no scripts, no external URLs or fonts), XHTML-compatible so it
//!   parses as XML, readable on screen and printable;
//! * [`render_markdown`]: the same content as GitHub-flavoured Markdown, with
//!   the charts replaced by tables.
//!
//! The two charts are also available on their own: [`radar_svg`] (TOE radar,
//! one polygon per region) and [`store_chart_svg`] (grouped rating bars per app
//! and store, with "no data" marks for ratings the source printed as "/").
//!
//! All text in the input is untrusted and escaped wherever it is written.
//! Output is deterministic: the same input gives byte-identical output, and the
//! only time in it is [`ReportInput::generated_at`].

#![warn(missing_docs)]

mod html;
mod markdown;
mod model;
mod svg;
pub mod text;

pub use html::render_html;
pub use markdown::render_markdown;
pub use model::{
    DilemmaRow, DilemmaStatus, DimensionChange, DimensionScore, EvidenceRow, FindingRow,
    PlatformRow, QualityRow, RatingCell, RecommendationRow, RegionDiagnosis, RegionRecommendations,
    RegionSummary, ReportInput, WhatIf,
};
pub use svg::{radar_svg, store_chart_svg};
