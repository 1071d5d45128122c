//! Conversions between records and their protobuf messages. Reading a message can fail
//! (an unspecified or unknown enum); writing one cannot.

use govlens_proto::data::v1 as pb;

use crate::records::*;
use crate::validate::Violation;

/// Maps a record enum to and from its protobuf enum, variant by variant.
macro_rules! proto_enum {
    ($name:ident, $pb:ty, [$($variant:ident),+]) => {
        impl $name {
            /// The protobuf enum value.
            pub fn to_pb(self) -> i32 {
                match self { $($name::$variant => <$pb>::$variant as i32),+ }
            }
            /// Reads a protobuf enum value; unspecified and unknown values are `None`.
            pub fn from_pb(value: i32) -> Option<Self> {
                match <$pb>::try_from(value).ok()? {
                    $(<$pb>::$variant => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

proto_enum!(
    AdminLevel,
    pb::AdminLevel,
    [Country, Province, Prefecture, County, Township, Village]
);
proto_enum!(
    PlatformKind,
    pb::PlatformKind,
    [
        GovernmentApp,
        WebPortal,
        MiniProgram,
        EmergencyPortal,
        Hotline
    ]
);
proto_enum!(
    PlatformStatus,
    pb::PlatformStatus,
    [Active, Planned, Retired]
);
proto_enum!(
    ChannelKind,
    pb::ChannelKind,
    [AppStore, Web, MiniProgramHost, Phone]
);
proto_enum!(
    Metric,
    pb::Metric,
    [
        Rating,
        RatingCount,
        Downloads,
        RegisteredUsers,
        MonthlyActiveUsers
    ]
);
proto_enum!(
    ToeDimension,
    pb::ToeDimension,
    [Technology, Organization, Environment]
);
proto_enum!(
    FunctionCategory,
    pb::FunctionCategory,
    [
        GovernmentService,
        BasicPublicService,
        ConvenienceService,
        Information,
        Participation
    ]
);
proto_enum!(Direction, pb::Direction, [HigherIsBetter, LowerIsBetter]);
proto_enum!(SubjectKind, pb::SubjectKind, [Region, Platform]);
proto_enum!(
    AggregateKind,
    pb::AggregateKind,
    [Sum, Average, PopulationShare]
);

/// Collects enum-reading failures as violations.
#[derive(Default)]
struct Reader {
    violations: Vec<Violation>,
}

impl Reader {
    fn read<T>(&mut self, field: &str, value: i32, parse: fn(i32) -> Option<T>) -> Option<T> {
        let parsed = parse(value);
        if parsed.is_none() {
            let what = if value == 0 {
                "must be set"
            } else {
                "has an unknown value"
            };
            self.violations
                .push(Violation::new(field, format!("{what} ({value})")));
        }
        parsed
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Vec<Violation>> {
        match value {
            Some(v) if self.violations.is_empty() => Ok(v),
            _ => Err(self.violations),
        }
    }
}

fn to_pb_source(p: Provenance) -> Option<pb::Provenance> {
    (p != Provenance::default()).then_some(pb::Provenance {
        document: p.document,
        table: p.table,
        row: p.row,
        column: p.column,
    })
}

fn from_pb_source(p: Option<pb::Provenance>) -> Provenance {
    p.map(|p| Provenance {
        document: p.document,
        table: p.table,
        row: p.row,
        column: p.column,
    })
    .unwrap_or_default()
}

fn with_source<T: HasProvenance>(mut record: T, source: Option<pb::Provenance>) -> T {
    record.set_provenance(from_pb_source(source));
    record
}

pub fn region_to_pb(r: RegionRecord, populations: Vec<PopulationRecord>) -> pb::Region {
    pb::Region {
        code: r.code,
        name: r.name,
        level: r.level.to_pb(),
        parent_code: r.parent_code,
        populations: populations.into_iter().map(population_figure).collect(),
    }
}

fn population_figure(p: PopulationRecord) -> pb::PopulationFigure {
    let source = to_pb_source(p.provenance());
    pb::PopulationFigure {
        year: p.year,
        population: p.population,
        value_as_printed: p.value_as_printed,
        source,
    }
}

/// A region message and the population records it carries.
pub fn region_from_pb(
    r: pb::Region,
) -> Result<(RegionRecord, Vec<PopulationRecord>), Vec<Violation>> {
    let mut rd = Reader::default();
    let level = rd.read("level", r.level, AdminLevel::from_pb);
    let populations = r
        .populations
        .into_iter()
        .map(|f| population_from_figure(&r.code, f))
        .collect();
    let record = level.map(|level| RegionRecord {
        code: r.code,
        name: r.name,
        level,
        parent_code: r.parent_code,
    });
    rd.finish(record).map(|rec| (rec, populations))
}

fn population_from_figure(region_code: &str, f: pb::PopulationFigure) -> PopulationRecord {
    with_source(
        PopulationRecord {
            region_code: region_code.to_string(),
            year: f.year,
            population: f.population,
            value_as_printed: f.value_as_printed,
            source_document: String::new(),
            source_table: String::new(),
            source_row: String::new(),
            source_column: String::new(),
        },
        f.source,
    )
}

pub fn channel_to_pb(c: ChannelRecord) -> pb::Channel {
    pb::Channel {
        code: c.code,
        name: c.name,
        kind: c.kind.to_pb(),
        vendor: c.vendor,
    }
}

pub fn channel_from_pb(c: pb::Channel) -> Result<ChannelRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let kind = rd.read("kind", c.kind, ChannelKind::from_pb);
    rd.finish(kind.map(|kind| ChannelRecord {
        code: c.code,
        name: c.name,
        kind,
        vendor: c.vendor,
    }))
}

pub fn platform_to_pb(p: PlatformRecord) -> pb::Platform {
    let source = to_pb_source(p.provenance());
    pb::Platform {
        code: p.code,
        name: p.name,
        kind: p.kind.to_pb(),
        region_code: p.region_code,
        operator: p.operator,
        launch_date: p.launch_date,
        status: p.status.to_pb(),
        url: p.url,
        source,
    }
}

pub fn platform_from_pb(p: pb::Platform) -> Result<PlatformRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let kind = rd.read("kind", p.kind, PlatformKind::from_pb);
    let status = rd.read("status", p.status, PlatformStatus::from_pb);
    let record = kind.zip(status).map(|(kind, status)| PlatformRecord {
        code: p.code,
        name: p.name,
        kind,
        region_code: p.region_code,
        operator: p.operator,
        launch_date: p.launch_date,
        status,
        url: p.url,
        source_document: String::new(),
        source_table: String::new(),
        source_row: String::new(),
        source_column: String::new(),
    });
    rd.finish(record.map(|r| with_source(r, p.source)))
}

pub fn service_function_to_pb(f: ServiceFunctionRecord) -> pb::ServiceFunction {
    pb::ServiceFunction {
        code: f.code,
        name: f.name,
        category: f.category.to_pb(),
        description: f.description,
    }
}

pub fn service_function_from_pb(
    f: pb::ServiceFunction,
) -> Result<ServiceFunctionRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let category = rd.read("category", f.category, FunctionCategory::from_pb);
    rd.finish(category.map(|category| ServiceFunctionRecord {
        code: f.code,
        name: f.name,
        category,
        description: f.description,
    }))
}

pub fn platform_function_to_pb(id: i64, f: PlatformFunctionRecord) -> pb::PlatformFunction {
    let source = to_pb_source(f.provenance());
    pb::PlatformFunction {
        id,
        platform_code: f.platform_code,
        function_code: f.function_code,
        source,
    }
}

pub fn platform_function_from_pb(f: pb::PlatformFunction) -> PlatformFunctionRecord {
    with_source(
        PlatformFunctionRecord {
            platform_code: f.platform_code,
            function_code: f.function_code,
            source_document: String::new(),
            source_table: String::new(),
            source_row: String::new(),
            source_column: String::new(),
        },
        f.source,
    )
}

pub fn indicator_to_pb(i: IndicatorRecord) -> pb::Indicator {
    pb::Indicator {
        code: i.code,
        name: i.name,
        unit: i.unit,
        direction: i.direction.to_pb(),
        dimension: i.dimension.to_pb(),
        factor: i.factor,
        description: i.description,
    }
}

pub fn indicator_from_pb(i: pb::Indicator) -> Result<IndicatorRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let direction = rd.read("direction", i.direction, Direction::from_pb);
    let dimension = rd.read("dimension", i.dimension, ToeDimension::from_pb);
    rd.finish(
        direction
            .zip(dimension)
            .map(|(direction, dimension)| IndicatorRecord {
                code: i.code,
                name: i.name,
                unit: i.unit,
                direction,
                dimension,
                factor: i.factor,
                description: i.description,
            }),
    )
}

pub fn policy_document_to_pb(d: PolicyDocumentRecord) -> pb::PolicyDocument {
    let source = to_pb_source(d.provenance());
    pb::PolicyDocument {
        code: d.code,
        region_code: d.region_code,
        title: d.title,
        issuer: d.issuer,
        year: d.year.unwrap_or(0),
        programme: d.programme,
        toe_tags: d.toe_tags.into_iter().map(ToeDimension::to_pb).collect(),
        source,
    }
}

pub fn policy_document_from_pb(
    d: pb::PolicyDocument,
) -> Result<PolicyDocumentRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let tags: Vec<Option<ToeDimension>> = d
        .toe_tags
        .iter()
        .enumerate()
        .map(|(i, t)| rd.read(&format!("toe_tags[{i}]"), *t, ToeDimension::from_pb))
        .collect();
    let tags: Option<Vec<ToeDimension>> = tags.into_iter().collect();
    let record = tags.map(|toe_tags| PolicyDocumentRecord {
        code: d.code,
        region_code: d.region_code,
        title: d.title,
        issuer: d.issuer,
        year: (d.year != 0).then_some(d.year),
        programme: d.programme,
        toe_tags,
        source_document: String::new(),
        source_table: String::new(),
        source_row: String::new(),
        source_column: String::new(),
    });
    rd.finish(record.map(|r| with_source(r, d.source)))
}

pub fn observation_to_pb(id: i64, o: ObservationRecord) -> pb::Observation {
    let source = to_pb_source(o.provenance());
    pb::Observation {
        id,
        platform_code: o.platform_code,
        channel_code: o.channel_code,
        metric: o.metric.to_pb(),
        observed_on: o.observed_on,
        value: o.value.unwrap_or_default(),
        value_as_printed: o.value_as_printed,
        source,
    }
}

/// Reads an observation; a value of exactly 0 with a printed form is read from the
/// printed form (proto3 cannot tell an unset double from 0).
pub fn observation_from_pb(o: pb::Observation) -> Result<ObservationRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let metric = rd.read("metric", o.metric, Metric::from_pb);
    let value = explicit_value(o.value, &o.value_as_printed);
    let record = metric.map(|metric| ObservationRecord {
        platform_code: o.platform_code,
        channel_code: o.channel_code,
        metric,
        observed_on: o.observed_on,
        value,
        value_as_printed: o.value_as_printed,
        source_document: String::new(),
        source_table: String::new(),
        source_row: String::new(),
        source_column: String::new(),
    });
    rd.finish(record.map(|r| with_source(r, o.source)))
}

fn explicit_value(value: f64, printed: &str) -> Option<f64> {
    (value != 0.0 || printed.is_empty()).then_some(value)
}

pub fn indicator_value_to_pb(id: i64, v: IndicatorValueRecord) -> pb::IndicatorValue {
    let source = to_pb_source(v.provenance());
    pb::IndicatorValue {
        id,
        indicator_code: v.indicator_code,
        subject_kind: v.subject_kind.to_pb(),
        subject_code: v.subject_code,
        period: v.period,
        value: v.value.unwrap_or_default(),
        value_as_printed: v.value_as_printed,
        source,
    }
}

pub fn indicator_value_from_pb(
    v: pb::IndicatorValue,
) -> Result<IndicatorValueRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let subject_kind = rd.read("subject_kind", v.subject_kind, SubjectKind::from_pb);
    let value = explicit_value(v.value, &v.value_as_printed);
    let record = subject_kind.map(|subject_kind| IndicatorValueRecord {
        indicator_code: v.indicator_code,
        subject_kind,
        subject_code: v.subject_code,
        period: v.period,
        value,
        value_as_printed: v.value_as_printed,
        source_document: String::new(),
        source_table: String::new(),
        source_row: String::new(),
        source_column: String::new(),
    });
    rd.finish(record.map(|r| with_source(r, v.source)))
}

pub fn reported_aggregate_to_pb(a: ReportedAggregateRecord) -> pb::ReportedAggregate {
    let source = to_pb_source(a.provenance());
    pb::ReportedAggregate {
        code: a.code,
        kind: a.kind.to_pb(),
        subject_kind: a.subject_kind.to_pb(),
        subject_code: a.subject_code,
        metric: a.metric.to_pb(),
        observed_on: a.observed_on,
        value: a.value.unwrap_or_default(),
        value_as_printed: a.value_as_printed,
        description: a.description,
        source,
    }
}

pub fn reported_aggregate_from_pb(
    a: pb::ReportedAggregate,
) -> Result<ReportedAggregateRecord, Vec<Violation>> {
    let mut rd = Reader::default();
    let kind = rd.read("kind", a.kind, AggregateKind::from_pb);
    let subject_kind = rd.read("subject_kind", a.subject_kind, SubjectKind::from_pb);
    let metric = rd.read("metric", a.metric, Metric::from_pb);
    let value = explicit_value(a.value, &a.value_as_printed);
    let record = match (kind, subject_kind, metric) {
        (Some(kind), Some(subject_kind), Some(metric)) => Some(ReportedAggregateRecord {
            code: a.code,
            kind,
            subject_kind,
            subject_code: a.subject_code,
            metric,
            observed_on: a.observed_on,
            value,
            value_as_printed: a.value_as_printed,
            description: a.description,
            source_document: String::new(),
            source_table: String::new(),
            source_row: String::new(),
            source_column: String::new(),
        }),
        _ => None,
    };
    rd.finish(record.map(|r| with_source(r, a.source)))
}

/// Reads an import/export message into a record. Ids in messages are ignored: records
/// are identified by their natural keys.
pub fn record_from_pb(r: pb::Record) -> Result<AnyRecord, Vec<Violation>> {
    use pb::record::Kind;
    let Some(kind) = r.kind else {
        return Err(vec![Violation::new("kind", "must be set")]);
    };
    Ok(match kind {
        Kind::Region(x) => {
            let (region, populations) = region_from_pb(x)?;
            if !populations.is_empty() {
                return Err(vec![Violation::new(
                    "populations",
                    "import populations as population records",
                )]);
            }
            AnyRecord::Region(region)
        }
        Kind::Population(p) => AnyRecord::Population(population_from_figure(
            &p.region_code,
            p.figure.unwrap_or_default(),
        )),
        Kind::Channel(x) => AnyRecord::Channel(channel_from_pb(x)?),
        Kind::Platform(x) => AnyRecord::Platform(platform_from_pb(x)?),
        Kind::ServiceFunction(x) => AnyRecord::ServiceFunction(service_function_from_pb(x)?),
        Kind::PlatformFunction(x) => AnyRecord::PlatformFunction(platform_function_from_pb(x)),
        Kind::Indicator(x) => AnyRecord::Indicator(indicator_from_pb(x)?),
        Kind::PolicyDocument(x) => AnyRecord::PolicyDocument(policy_document_from_pb(x)?),
        Kind::Observation(x) => AnyRecord::Observation(observation_from_pb(x)?),
        Kind::IndicatorValue(x) => AnyRecord::IndicatorValue(indicator_value_from_pb(x)?),
        Kind::ReportedAggregate(x) => AnyRecord::ReportedAggregate(reported_aggregate_from_pb(x)?),
    })
}

/// Writes a record as an import/export message.
pub fn record_to_pb(record: AnyRecord, origin: String) -> pb::Record {
    use pb::record::Kind;
    let kind = match record {
        AnyRecord::Region(x) => Kind::Region(region_to_pb(x, Vec::new())),
        AnyRecord::Population(p) => Kind::Population(pb::PopulationRecord {
            region_code: p.region_code.clone(),
            figure: Some(population_figure(p)),
        }),
        AnyRecord::Channel(x) => Kind::Channel(channel_to_pb(x)),
        AnyRecord::Platform(x) => Kind::Platform(platform_to_pb(x)),
        AnyRecord::ServiceFunction(x) => Kind::ServiceFunction(service_function_to_pb(x)),
        AnyRecord::PlatformFunction(x) => Kind::PlatformFunction(platform_function_to_pb(0, x)),
        AnyRecord::Indicator(x) => Kind::Indicator(indicator_to_pb(x)),
        AnyRecord::PolicyDocument(x) => Kind::PolicyDocument(policy_document_to_pb(x)),
        AnyRecord::Observation(x) => Kind::Observation(observation_to_pb(0, x)),
        AnyRecord::IndicatorValue(x) => Kind::IndicatorValue(indicator_value_to_pb(0, x)),
        AnyRecord::ReportedAggregate(x) => Kind::ReportedAggregate(reported_aggregate_to_pb(x)),
    };
    pb::Record {
        origin,
        kind: Some(kind),
    }
}
