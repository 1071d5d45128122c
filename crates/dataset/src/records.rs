//! The records GovLens stores, in the flat shape the CSV and JSON bundles use.
//! Provenance is flattened into `source_*` columns so that every CSV row carries its own.

use serde::{Deserialize, Serialize};

/// Declares a string-valued enum (snake_case in files) with its list of names.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name used in files and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// Reads the name used in files and the database.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Administrative level of a region.
    AdminLevel { Country => "country", Province => "province", Prefecture => "prefecture",
                 County => "county", Township => "township", Village => "village" });
text_enum!(
    /// Kind of platform.
    PlatformKind { GovernmentApp => "government_app", WebPortal => "web_portal",
                   MiniProgram => "mini_program", EmergencyPortal => "emergency_portal",
                   Hotline => "hotline" });
text_enum!(
    /// Lifecycle status of a platform.
    PlatformStatus { Active => "active", Planned => "planned", Retired => "retired" });
text_enum!(
    /// Kind of distribution channel.
    ChannelKind { AppStore => "app_store", Web => "web", MiniProgramHost => "mini_program_host",
                  Phone => "phone" });
text_enum!(
    /// What an observation measures.
    Metric { Rating => "rating", RatingCount => "rating_count", Downloads => "downloads",
             RegisteredUsers => "registered_users", MonthlyActiveUsers => "monthly_active_users" });
text_enum!(
    /// TOE framework dimension.
    ToeDimension { Technology => "technology", Organization => "organization",
                   Environment => "environment" });
text_enum!(
    /// Category of a service function.
    FunctionCategory { GovernmentService => "government_service",
                       BasicPublicService => "basic_public_service",
                       ConvenienceService => "convenience_service",
                       Information => "information", Participation => "participation" });
text_enum!(
    /// Whether higher indicator values are better.
    Direction { HigherIsBetter => "higher_is_better", LowerIsBetter => "lower_is_better" });
text_enum!(
    /// What an indicator value or aggregate describes.
    SubjectKind { Region => "region", Platform => "platform" });
text_enum!(
    /// How a source aggregated its components.
    AggregateKind { Sum => "sum", Average => "average", PopulationShare => "population_share" });

/// Where a figure comes from: a document and a cell in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provenance {
    pub document: String,
    pub table: String,
    pub row: String,
    pub column: String,
}

/// An administrative region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionRecord {
    pub code: String,
    pub name: String,
    pub level: AdminLevel,
    #[serde(default)]
    pub parent_code: String,
}

/// A region's population in one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationRecord {
    pub region_code: String,
    pub year: i32,
    pub population: i64,
    #[serde(default)]
    pub value_as_printed: String,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub source_table: String,
    #[serde(default)]
    pub source_row: String,
    #[serde(default)]
    pub source_column: String,
}

/// A distribution channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub code: String,
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default)]
    pub vendor: String,
}

/// A digital-government platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformRecord {
    pub code: String,
    pub name: String,
    pub kind: PlatformKind,
    pub region_code: String,
    #[serde(default)]
    pub operator: String,
    /// YYYY-MM-DD, or empty when unknown.
    #[serde(default)]
    pub launch_date: String,
    pub status: PlatformStatus,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub source_table: String,
    #[serde(default)]
    pub source_row: String,
    #[serde(default)]
    pub source_column: String,
}

/// A service function in the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFunctionRecord {
    pub code: String,
    pub name: String,
    pub category: FunctionCategory,
    #[serde(default)]
    pub description: String,
}

/// A platform offers a service function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformFunctionRecord {
    pub platform_code: String,
    pub function_code: String,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub source_table: String,
    #[serde(default)]
    pub source_row: String,
    #[serde(default)]
    pub source_column: String,
}

/// Definition of an indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRecord {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub unit: String,
    pub direction: Direction,
    pub dimension: ToeDimension,
    #[serde(default)]
    pub factor: String,
    #[serde(default)]
    pub description: String,
}

/// A policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDocumentRecord {
    pub code: String,
    pub region_code: String,
    pub title: String,
    #[serde(default)]
    pub issuer: String,
    /// Year of issue, when known.
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub programme: String,
    /// TOE dimensions, separated by ';' in files.
    #[serde(default, with = "tag_list")]
    pub toe_tags: Vec<ToeDimension>,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub source_table: String,
    #[serde(default)]
    pub source_row: String,
    #[serde(default)]
    pub source_column: String,
}

/// One value of one metric of one platform on one channel at one date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationRecord {
    pub platform_code: String,
    pub channel_code: String,
    pub metric: Metric,
    /// YYYY-MM-DD.
    pub observed_on: String,
    /// The value; read from `value_as_printed` when absent.
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub value_as_printed: String,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub source_table: String,
    #[serde(default)]
    pub source_row: String,
    #[serde(default)]
    pub source_column: String,
}

/// The value of an indicator for a region or platform in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorValueRecord {
    pub indicator_code: String,
    pub subject_kind: SubjectKind,
    pub subject_code: String,
    pub period: String,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub value_as_printed: String,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub source_table: String,
    #[serde(default)]
    pub source_row: String,
    #[serde(default)]
    pub source_column: String,
}

/// A total, average or share as a source printed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedAggregateRecord {
    pub code: String,
    pub kind: AggregateKind,
    pub subject_kind: SubjectKind,
    pub subject_code: String,
    pub metric: Metric,
    #[serde(default)]
    pub observed_on: String,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub value_as_printed: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub source_table: String,
    #[serde(default)]
    pub source_row: String,
    #[serde(default)]
    pub source_column: String,
}

/// Records that carry flattened provenance.
pub trait HasProvenance {
    fn provenance(&self) -> Provenance;
    fn set_provenance(&mut self, p: Provenance);
}

macro_rules! has_provenance {
    ($($t:ty),+) => {$(
        impl HasProvenance for $t {
            fn provenance(&self) -> Provenance {
                Provenance {
                    document: self.source_document.clone(),
                    table: self.source_table.clone(),
                    row: self.source_row.clone(),
                    column: self.source_column.clone(),
                }
            }
            fn set_provenance(&mut self, p: Provenance) {
                self.source_document = p.document;
                self.source_table = p.table;
                self.source_row = p.row;
                self.source_column = p.column;
            }
        }
    )+};
}
has_provenance!(
    PopulationRecord,
    PlatformRecord,
    PlatformFunctionRecord,
    PolicyDocumentRecord,
    ObservationRecord,
    IndicatorValueRecord,
    ReportedAggregateRecord
);

/// TOE tags as one ';'-separated text field, so they fit a CSV cell.
mod tag_list {
    use super::ToeDimension;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tags: &[ToeDimension], s: S) -> Result<S::Ok, S::Error> {
        let joined: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
        s.serialize_str(&joined.join(";"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ToeDimension>, D::Error> {
        let text = String::deserialize(d)?;
        text.split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                ToeDimension::parse(t)
                    .ok_or_else(|| D::Error::custom(format!("unknown TOE dimension {t:?}")))
            })
            .collect()
    }
}

/// Any record, tagged with its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRecord {
    Region(RegionRecord),
    Population(PopulationRecord),
    Channel(ChannelRecord),
    Platform(PlatformRecord),
    ServiceFunction(ServiceFunctionRecord),
    PlatformFunction(PlatformFunctionRecord),
    Indicator(IndicatorRecord),
    PolicyDocument(PolicyDocumentRecord),
    Observation(ObservationRecord),
    IndicatorValue(IndicatorValueRecord),
    ReportedAggregate(ReportedAggregateRecord),
}

text_enum!(
    /// Resource kinds, in the order an import applies them (referenced kinds first).
    ResourceKind { Region => "regions", Population => "populations", Channel => "channels",
                   Platform => "platforms", ServiceFunction => "service_functions",
                   PlatformFunction => "platform_functions", Indicator => "indicators",
                   PolicyDocument => "policy_documents", Observation => "observations",
                   IndicatorValue => "indicator_values", ReportedAggregate => "reported_aggregates" });

impl AnyRecord {
    /// The resource kind of this record.
    pub fn kind(&self) -> ResourceKind {
        match self {
            AnyRecord::Region(_) => ResourceKind::Region,
            AnyRecord::Population(_) => ResourceKind::Population,
            AnyRecord::Channel(_) => ResourceKind::Channel,
            AnyRecord::Platform(_) => ResourceKind::Platform,
            AnyRecord::ServiceFunction(_) => ResourceKind::ServiceFunction,
            AnyRecord::PlatformFunction(_) => ResourceKind::PlatformFunction,
            AnyRecord::Indicator(_) => ResourceKind::Indicator,
            AnyRecord::PolicyDocument(_) => ResourceKind::PolicyDocument,
            AnyRecord::Observation(_) => ResourceKind::Observation,
            AnyRecord::IndicatorValue(_) => ResourceKind::IndicatorValue,
            AnyRecord::ReportedAggregate(_) => ResourceKind::ReportedAggregate,
        }
    }
}
