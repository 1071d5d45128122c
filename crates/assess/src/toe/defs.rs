//! The TOE indicator definitions, as data.

use govlens_dataset::{Direction, IndicatorRecord, ToeDimension};

/// Definition of one derived TOE indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorDef {
    /// Stable code, `toe.<t|o|e>.<name>`.
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub direction: Direction,
    pub dimension: ToeDimension,
    /// The factor (sub-dimension) the indicator belongs to in the TOE model.
    pub factor: &'static str,
    /// The section(s) of Pan et al. (2023) the indicator operationalises.
    pub section: &'static str,
    /// How it is computed.
    pub description: &'static str,
    /// Whether it is also computed per platform (see `toe::platform_indicators`).
    pub platform_level: bool,
}

impl IndicatorDef {
    /// The definition as a data-service indicator record (the section is appended to
    /// the description).
    pub fn to_record(&self) -> IndicatorRecord {
        IndicatorRecord {
            code: self.code.to_string(),
            name: self.name.to_string(),
            unit: self.unit.to_string(),
            direction: self.direction,
            dimension: self.dimension,
            factor: self.factor.to_string(),
            description: format!(
                "{} (Pan et al. 2023, section {})",
                self.description, self.section
            ),
        }
    }
}

use Direction::{HigherIsBetter as Higher, LowerIsBetter as Lower};
use ToeDimension::{Environment, Organization, Technology};

/// Every TOE indicator, in table column order.
pub const INDICATORS: &[IndicatorDef] = &[
    IndicatorDef {
        code: "toe.t.avg_rating",
        name: "Average app rating",
        unit: "points (0-5)",
        direction: Higher,
        dimension: Technology,
        factor: "perceived_quality",
        section: "3.1.1, 3.1.2",
        description: "Mean over the region's apps of each app's average store rating (Table 2's \
                      method: plain mean of the latest rating of each store with data, \"/\" \
                      ignored), unrounded; user-perceived technical and functional quality",
        platform_level: true,
    },
    IndicatorDef {
        code: "toe.t.store_coverage",
        name: "App-store coverage",
        unit: "share (0-1)",
        direction: Higher,
        dimension: Technology,
        factor: "infrastructure",
        section: "3.1.1",
        description: "Share of app x app-store cells (Table 2's grid: the region's apps x the \
                      surveyed app stores) that have a rating; reach of the infrastructure",
        platform_level: true,
    },
    IndicatorDef {
        code: "toe.t.rating_spread",
        name: "Rating spread across stores",
        unit: "points",
        direction: Lower,
        dimension: Technology,
        factor: "infrastructure",
        section: "3.1.1",
        description: "Mean over the region's apps (with two or more store ratings) of the \
                      highest minus the lowest store rating; uneven technical support across \
                      distribution channels",
        platform_level: true,
    },
    IndicatorDef {
        code: "toe.t.function_breadth",
        name: "Breadth of service functions",
        unit: "functions",
        direction: Higher,
        dimension: Technology,
        factor: "service_functions",
        section: "3.1.2 (functions of 2.3, 2.4)",
        description: "Number of distinct service functions offered by the region's active \
                      platforms (apps and portals)",
        platform_level: true,
    },
    IndicatorDef {
        code: "toe.t.basic_service_coverage",
        name: "Basic public service coverage",
        unit: "share (0-1)",
        direction: Higher,
        dimension: Technology,
        factor: "service_functions",
        section: "3.1.2",
        description: "Share of the catalogue's basic public services (basic education, medical \
                      care, social security) offered by any active platform of the region",
        platform_level: true,
    },
    IndicatorDef {
        code: "toe.o.policy_count",
        name: "Policy documents",
        unit: "documents",
        direction: Higher,
        dimension: Organization,
        factor: "top_level_design",
        section: "2.1 (Table 1)",
        description: "Number of the region's policy documents on digital government (top-level \
                      design, policy coordination)",
        platform_level: false,
    },
    IndicatorDef {
        code: "toe.o.app_fragmentation",
        name: "Government apps (fragmentation)",
        unit: "apps",
        direction: Lower,
        dimension: Organization,
        factor: "coordination",
        section: "3.2.1",
        description: "Number of active government apps in the region; more separate apps mean \
                      more information barriers between departments",
        platform_level: false,
    },
    IndicatorDef {
        code: "toe.o.policy_org_share",
        name: "Organisation-tagged policy share",
        unit: "share (0-1)",
        direction: Higher,
        dimension: Organization,
        factor: "coordination",
        section: "3.2.1 (Table 1)",
        description: "Share of the region's policy documents tagged with the organisation \
                      dimension (coordination, sharing, management rules)",
        platform_level: false,
    },
    IndicatorDef {
        code: "toe.e.downloads_per_inhabitant",
        name: "Downloads per inhabitant",
        unit: "downloads per inhabitant",
        direction: Higher,
        dimension: Environment,
        factor: "digital_divide",
        section: "3.3.1 (Table 3, 2.2)",
        description: "Total latest downloads of the region's apps across stores divided by the \
                      region's population; uptake. Caveat: the paper's download counts are \
                      probably inflated 100x by a unit error (see quality findings)",
        platform_level: true,
    },
    IndicatorDef {
        code: "toe.e.flagship_user_share",
        name: "Flagship app user share",
        unit: "share (0-1)",
        direction: Higher,
        dimension: Environment,
        factor: "digital_divide",
        section: "2.2, 3.3.1",
        description: "Reported registered-user share of the population for the region's \
                      flagship app (by default the largest reported share among its apps); \
                      missing when none is reported (missing, not zero)",
        platform_level: false,
    },
];

/// The definition of an indicator code.
pub fn indicator_def(code: &str) -> Option<&'static IndicatorDef> {
    INDICATORS.iter().find(|d| d.code == code)
}
