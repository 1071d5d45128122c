//! How each record kind maps onto its table: natural key, references, and conversions.
//! Written once per kind so that create, update, import and export share one path.

use govlens_dataset::records::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, EntityTrait, FromQueryResult,
    IntoActiveModel, ModelTrait, Set,
};

use crate::entities::*;

/// A reference from one record to another, by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Field of the referring record, e.g. "platform_code".
    pub field: &'static str,
    pub target: RefTarget,
    pub code: String,
}

/// Kinds that can be referenced by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefTarget {
    Region,
    Platform,
    Channel,
    ServiceFunction,
    Indicator,
}

impl RefTarget {
    pub fn noun(self) -> &'static str {
        match self {
            RefTarget::Region => "region",
            RefTarget::Platform => "platform",
            RefTarget::Channel => "channel",
            RefTarget::ServiceFunction => "service function",
            RefTarget::Indicator => "indicator",
        }
    }
}

fn subject_ref(kind: SubjectKind, code: &str) -> Reference {
    let target = match kind {
        SubjectKind::Region => RefTarget::Region,
        SubjectKind::Platform => RefTarget::Platform,
    };
    Reference {
        field: "subject_code",
        target,
        code: code.to_string(),
    }
}

fn reference(field: &'static str, target: RefTarget, code: &str) -> Reference {
    Reference {
        field,
        target,
        code: code.to_string(),
    }
}

/// A record kind stored in one table.
pub trait StoredKind: Send + Sync + 'static {
    type Entity: EntityTrait<Model = Self::Model, ActiveModel = Self::Active>;
    type Model: ModelTrait<Entity = Self::Entity>
        + FromQueryResult
        + IntoActiveModel<Self::Active>
        + Clone
        + Send
        + Sync;
    type Active: ActiveModelTrait<Entity = Self::Entity>
        + ActiveModelBehavior
        + Default
        + Send
        + Sync;
    type Record: Clone + PartialEq + Send + Sync + std::fmt::Debug;

    const KIND: ResourceKind;
    /// Singular noun for messages, e.g. "observation".
    const NOUN: &'static str;

    fn id_column() -> <Self::Entity as EntityTrait>::Column;
    fn id(m: &Self::Model) -> i64;
    /// Matches the row with the record's natural key.
    fn natural_key(r: &Self::Record) -> Condition;
    /// The natural key as text, for messages and request-id bookkeeping.
    fn key_text(r: &Self::Record) -> String;
    fn to_record(m: Self::Model) -> Self::Record;
    /// Sets every stored field of `a` from `r`.
    fn fill(r: &Self::Record, a: &mut Self::Active);
    /// Records this one refers to.
    fn references(r: &Self::Record) -> Vec<Reference>;
    fn wrap(r: Self::Record) -> AnyRecord;
    fn unwrap(r: AnyRecord) -> Option<Self::Record>;
}

/// Kinds identified by a code column.
pub trait CodedKind: StoredKind {
    fn code_column() -> <Self::Entity as EntityTrait>::Column;
}

fn text_enum<T>(parse: fn(&str) -> Option<T>, text: &str, fallback: T) -> T {
    // Rows are written only through validated records, so the fallback is never used
    // unless the table was edited by hand; it keeps reads total instead of panicking.
    parse(text).unwrap_or(fallback)
}

macro_rules! provenance_fill {
    ($r:expr, $a:expr) => {
        $a.source_document = Set($r.source_document.clone());
        $a.source_table = Set($r.source_table.clone());
        $a.source_row = Set($r.source_row.clone());
        $a.source_column = Set($r.source_column.clone());
    };
}

pub struct Regions;
impl StoredKind for Regions {
    type Entity = region::Entity;
    type Model = region::Model;
    type Active = region::ActiveModel;
    type Record = RegionRecord;
    const KIND: ResourceKind = ResourceKind::Region;
    const NOUN: &'static str = "region";
    fn id_column() -> region::Column {
        region::Column::Id
    }
    fn id(m: &region::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &RegionRecord) -> Condition {
        Condition::all().add(region::Column::Code.eq(&r.code))
    }
    fn key_text(r: &RegionRecord) -> String {
        r.code.clone()
    }
    fn to_record(m: region::Model) -> RegionRecord {
        RegionRecord {
            code: m.code,
            name: m.name,
            level: text_enum(AdminLevel::parse, &m.level, AdminLevel::Country),
            parent_code: m.parent_code.unwrap_or_default(),
        }
    }
    fn fill(r: &RegionRecord, a: &mut region::ActiveModel) {
        a.code = Set(r.code.clone());
        a.name = Set(r.name.clone());
        a.level = Set(r.level.as_str().to_string());
        a.parent_code = Set((!r.parent_code.is_empty()).then(|| r.parent_code.clone()));
    }
    fn references(r: &RegionRecord) -> Vec<Reference> {
        if r.parent_code.is_empty() {
            vec![]
        } else {
            vec![reference("parent_code", RefTarget::Region, &r.parent_code)]
        }
    }
    fn wrap(r: RegionRecord) -> AnyRecord {
        AnyRecord::Region(r)
    }
    fn unwrap(r: AnyRecord) -> Option<RegionRecord> {
        match r {
            AnyRecord::Region(x) => Some(x),
            _ => None,
        }
    }
}
impl CodedKind for Regions {
    fn code_column() -> region::Column {
        region::Column::Code
    }
}

pub struct Populations;
impl StoredKind for Populations {
    type Entity = population::Entity;
    type Model = population::Model;
    type Active = population::ActiveModel;
    type Record = PopulationRecord;
    const KIND: ResourceKind = ResourceKind::Population;
    const NOUN: &'static str = "population";
    fn id_column() -> population::Column {
        population::Column::Id
    }
    fn id(m: &population::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &PopulationRecord) -> Condition {
        Condition::all()
            .add(population::Column::RegionCode.eq(&r.region_code))
            .add(population::Column::Year.eq(r.year))
    }
    fn key_text(r: &PopulationRecord) -> String {
        format!("{}/{}", r.region_code, r.year)
    }
    fn to_record(m: population::Model) -> PopulationRecord {
        PopulationRecord {
            region_code: m.region_code,
            year: m.year,
            population: m.population,
            value_as_printed: m.value_as_printed,
            source_document: m.source_document,
            source_table: m.source_table,
            source_row: m.source_row,
            source_column: m.source_column,
        }
    }
    fn fill(r: &PopulationRecord, a: &mut population::ActiveModel) {
        a.region_code = Set(r.region_code.clone());
        a.year = Set(r.year);
        a.population = Set(r.population);
        a.value_as_printed = Set(r.value_as_printed.clone());
        provenance_fill!(r, a);
    }
    fn references(r: &PopulationRecord) -> Vec<Reference> {
        vec![reference("region_code", RefTarget::Region, &r.region_code)]
    }
    fn wrap(r: PopulationRecord) -> AnyRecord {
        AnyRecord::Population(r)
    }
    fn unwrap(r: AnyRecord) -> Option<PopulationRecord> {
        match r {
            AnyRecord::Population(x) => Some(x),
            _ => None,
        }
    }
}

pub struct Channels;
impl StoredKind for Channels {
    type Entity = channel::Entity;
    type Model = channel::Model;
    type Active = channel::ActiveModel;
    type Record = ChannelRecord;
    const KIND: ResourceKind = ResourceKind::Channel;
    const NOUN: &'static str = "channel";
    fn id_column() -> channel::Column {
        channel::Column::Id
    }
    fn id(m: &channel::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &ChannelRecord) -> Condition {
        Condition::all().add(channel::Column::Code.eq(&r.code))
    }
    fn key_text(r: &ChannelRecord) -> String {
        r.code.clone()
    }
    fn to_record(m: channel::Model) -> ChannelRecord {
        ChannelRecord {
            code: m.code,
            name: m.name,
            kind: text_enum(ChannelKind::parse, &m.kind, ChannelKind::Web),
            vendor: m.vendor,
        }
    }
    fn fill(r: &ChannelRecord, a: &mut channel::ActiveModel) {
        a.code = Set(r.code.clone());
        a.name = Set(r.name.clone());
        a.kind = Set(r.kind.as_str().to_string());
        a.vendor = Set(r.vendor.clone());
    }
    fn references(_: &ChannelRecord) -> Vec<Reference> {
        vec![]
    }
    fn wrap(r: ChannelRecord) -> AnyRecord {
        AnyRecord::Channel(r)
    }
    fn unwrap(r: AnyRecord) -> Option<ChannelRecord> {
        match r {
            AnyRecord::Channel(x) => Some(x),
            _ => None,
        }
    }
}
impl CodedKind for Channels {
    fn code_column() -> channel::Column {
        channel::Column::Code
    }
}

pub struct Platforms;
impl StoredKind for Platforms {
    type Entity = platform::Entity;
    type Model = platform::Model;
    type Active = platform::ActiveModel;
    type Record = PlatformRecord;
    const KIND: ResourceKind = ResourceKind::Platform;
    const NOUN: &'static str = "platform";
    fn id_column() -> platform::Column {
        platform::Column::Id
    }
    fn id(m: &platform::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &PlatformRecord) -> Condition {
        Condition::all().add(platform::Column::Code.eq(&r.code))
    }
    fn key_text(r: &PlatformRecord) -> String {
        r.code.clone()
    }
    fn to_record(m: platform::Model) -> PlatformRecord {
        PlatformRecord {
            code: m.code,
            name: m.name,
            kind: text_enum(PlatformKind::parse, &m.kind, PlatformKind::GovernmentApp),
            region_code: m.region_code,
            operator: m.operator,
            launch_date: m.launch_date,
            status: text_enum(PlatformStatus::parse, &m.status, PlatformStatus::Active),
            url: m.url,
            source_document: m.source_document,
            source_table: m.source_table,
            source_row: m.source_row,
            source_column: m.source_column,
        }
    }
    fn fill(r: &PlatformRecord, a: &mut platform::ActiveModel) {
        a.code = Set(r.code.clone());
        a.name = Set(r.name.clone());
        a.kind = Set(r.kind.as_str().to_string());
        a.region_code = Set(r.region_code.clone());
        a.operator = Set(r.operator.clone());
        a.launch_date = Set(r.launch_date.clone());
        a.status = Set(r.status.as_str().to_string());
        a.url = Set(r.url.clone());
        provenance_fill!(r, a);
    }
    fn references(r: &PlatformRecord) -> Vec<Reference> {
        vec![reference("region_code", RefTarget::Region, &r.region_code)]
    }
    fn wrap(r: PlatformRecord) -> AnyRecord {
        AnyRecord::Platform(r)
    }
    fn unwrap(r: AnyRecord) -> Option<PlatformRecord> {
        match r {
            AnyRecord::Platform(x) => Some(x),
            _ => None,
        }
    }
}
impl CodedKind for Platforms {
    fn code_column() -> platform::Column {
        platform::Column::Code
    }
}

pub struct ServiceFunctions;
impl StoredKind for ServiceFunctions {
    type Entity = service_function::Entity;
    type Model = service_function::Model;
    type Active = service_function::ActiveModel;
    type Record = ServiceFunctionRecord;
    const KIND: ResourceKind = ResourceKind::ServiceFunction;
    const NOUN: &'static str = "service function";
    fn id_column() -> service_function::Column {
        service_function::Column::Id
    }
    fn id(m: &service_function::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &ServiceFunctionRecord) -> Condition {
        Condition::all().add(service_function::Column::Code.eq(&r.code))
    }
    fn key_text(r: &ServiceFunctionRecord) -> String {
        r.code.clone()
    }
    fn to_record(m: service_function::Model) -> ServiceFunctionRecord {
        ServiceFunctionRecord {
            code: m.code,
            name: m.name,
            category: text_enum(
                FunctionCategory::parse,
                &m.category,
                FunctionCategory::GovernmentService,
            ),
            description: m.description,
        }
    }
    fn fill(r: &ServiceFunctionRecord, a: &mut service_function::ActiveModel) {
        a.code = Set(r.code.clone());
        a.name = Set(r.name.clone());
        a.category = Set(r.category.as_str().to_string());
        a.description = Set(r.description.clone());
    }
    fn references(_: &ServiceFunctionRecord) -> Vec<Reference> {
        vec![]
    }
    fn wrap(r: ServiceFunctionRecord) -> AnyRecord {
        AnyRecord::ServiceFunction(r)
    }
    fn unwrap(r: AnyRecord) -> Option<ServiceFunctionRecord> {
        match r {
            AnyRecord::ServiceFunction(x) => Some(x),
            _ => None,
        }
    }
}
impl CodedKind for ServiceFunctions {
    fn code_column() -> service_function::Column {
        service_function::Column::Code
    }
}

pub struct PlatformFunctions;
impl StoredKind for PlatformFunctions {
    type Entity = platform_function::Entity;
    type Model = platform_function::Model;
    type Active = platform_function::ActiveModel;
    type Record = PlatformFunctionRecord;
    const KIND: ResourceKind = ResourceKind::PlatformFunction;
    const NOUN: &'static str = "platform function";
    fn id_column() -> platform_function::Column {
        platform_function::Column::Id
    }
    fn id(m: &platform_function::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &PlatformFunctionRecord) -> Condition {
        Condition::all()
            .add(platform_function::Column::PlatformCode.eq(&r.platform_code))
            .add(platform_function::Column::FunctionCode.eq(&r.function_code))
    }
    fn key_text(r: &PlatformFunctionRecord) -> String {
        format!("{}/{}", r.platform_code, r.function_code)
    }
    fn to_record(m: platform_function::Model) -> PlatformFunctionRecord {
        PlatformFunctionRecord {
            platform_code: m.platform_code,
            function_code: m.function_code,
            source_document: m.source_document,
            source_table: m.source_table,
            source_row: m.source_row,
            source_column: m.source_column,
        }
    }
    fn fill(r: &PlatformFunctionRecord, a: &mut platform_function::ActiveModel) {
        a.platform_code = Set(r.platform_code.clone());
        a.function_code = Set(r.function_code.clone());
        provenance_fill!(r, a);
    }
    fn references(r: &PlatformFunctionRecord) -> Vec<Reference> {
        vec![
            reference("platform_code", RefTarget::Platform, &r.platform_code),
            reference(
                "function_code",
                RefTarget::ServiceFunction,
                &r.function_code,
            ),
        ]
    }
    fn wrap(r: PlatformFunctionRecord) -> AnyRecord {
        AnyRecord::PlatformFunction(r)
    }
    fn unwrap(r: AnyRecord) -> Option<PlatformFunctionRecord> {
        match r {
            AnyRecord::PlatformFunction(x) => Some(x),
            _ => None,
        }
    }
}

pub struct Indicators;
impl StoredKind for Indicators {
    type Entity = indicator::Entity;
    type Model = indicator::Model;
    type Active = indicator::ActiveModel;
    type Record = IndicatorRecord;
    const KIND: ResourceKind = ResourceKind::Indicator;
    const NOUN: &'static str = "indicator";
    fn id_column() -> indicator::Column {
        indicator::Column::Id
    }
    fn id(m: &indicator::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &IndicatorRecord) -> Condition {
        Condition::all().add(indicator::Column::Code.eq(&r.code))
    }
    fn key_text(r: &IndicatorRecord) -> String {
        r.code.clone()
    }
    fn to_record(m: indicator::Model) -> IndicatorRecord {
        IndicatorRecord {
            code: m.code,
            name: m.name,
            unit: m.unit,
            direction: text_enum(Direction::parse, &m.direction, Direction::HigherIsBetter),
            dimension: text_enum(ToeDimension::parse, &m.dimension, ToeDimension::Technology),
            factor: m.factor,
            description: m.description,
        }
    }
    fn fill(r: &IndicatorRecord, a: &mut indicator::ActiveModel) {
        a.code = Set(r.code.clone());
        a.name = Set(r.name.clone());
        a.unit = Set(r.unit.clone());
        a.direction = Set(r.direction.as_str().to_string());
        a.dimension = Set(r.dimension.as_str().to_string());
        a.factor = Set(r.factor.clone());
        a.description = Set(r.description.clone());
    }
    fn references(_: &IndicatorRecord) -> Vec<Reference> {
        vec![]
    }
    fn wrap(r: IndicatorRecord) -> AnyRecord {
        AnyRecord::Indicator(r)
    }
    fn unwrap(r: AnyRecord) -> Option<IndicatorRecord> {
        match r {
            AnyRecord::Indicator(x) => Some(x),
            _ => None,
        }
    }
}
impl CodedKind for Indicators {
    fn code_column() -> indicator::Column {
        indicator::Column::Code
    }
}

fn join_tags(tags: &[ToeDimension]) -> String {
    tags.iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

fn split_tags(text: &str) -> Vec<ToeDimension> {
    text.split(';').filter_map(ToeDimension::parse).collect()
}

pub struct PolicyDocuments;
impl StoredKind for PolicyDocuments {
    type Entity = policy_document::Entity;
    type Model = policy_document::Model;
    type Active = policy_document::ActiveModel;
    type Record = PolicyDocumentRecord;
    const KIND: ResourceKind = ResourceKind::PolicyDocument;
    const NOUN: &'static str = "policy document";
    fn id_column() -> policy_document::Column {
        policy_document::Column::Id
    }
    fn id(m: &policy_document::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &PolicyDocumentRecord) -> Condition {
        Condition::all().add(policy_document::Column::Code.eq(&r.code))
    }
    fn key_text(r: &PolicyDocumentRecord) -> String {
        r.code.clone()
    }
    fn to_record(m: policy_document::Model) -> PolicyDocumentRecord {
        PolicyDocumentRecord {
            code: m.code,
            region_code: m.region_code,
            title: m.title,
            issuer: m.issuer,
            year: m.year,
            programme: m.programme,
            toe_tags: split_tags(&m.toe_tags),
            source_document: m.source_document,
            source_table: m.source_table,
            source_row: m.source_row,
            source_column: m.source_column,
        }
    }
    fn fill(r: &PolicyDocumentRecord, a: &mut policy_document::ActiveModel) {
        a.code = Set(r.code.clone());
        a.region_code = Set(r.region_code.clone());
        a.title = Set(r.title.clone());
        a.issuer = Set(r.issuer.clone());
        a.year = Set(r.year);
        a.programme = Set(r.programme.clone());
        a.toe_tags = Set(join_tags(&r.toe_tags));
        provenance_fill!(r, a);
    }
    fn references(r: &PolicyDocumentRecord) -> Vec<Reference> {
        vec![reference("region_code", RefTarget::Region, &r.region_code)]
    }
    fn wrap(r: PolicyDocumentRecord) -> AnyRecord {
        AnyRecord::PolicyDocument(r)
    }
    fn unwrap(r: AnyRecord) -> Option<PolicyDocumentRecord> {
        match r {
            AnyRecord::PolicyDocument(x) => Some(x),
            _ => None,
        }
    }
}
impl CodedKind for PolicyDocuments {
    fn code_column() -> policy_document::Column {
        policy_document::Column::Code
    }
}

pub struct Observations;
impl StoredKind for Observations {
    type Entity = observation::Entity;
    type Model = observation::Model;
    type Active = observation::ActiveModel;
    type Record = ObservationRecord;
    const KIND: ResourceKind = ResourceKind::Observation;
    const NOUN: &'static str = "observation";
    fn id_column() -> observation::Column {
        observation::Column::Id
    }
    fn id(m: &observation::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &ObservationRecord) -> Condition {
        Condition::all()
            .add(observation::Column::PlatformCode.eq(&r.platform_code))
            .add(observation::Column::ChannelCode.eq(&r.channel_code))
            .add(observation::Column::Metric.eq(r.metric.as_str()))
            .add(observation::Column::ObservedOn.eq(&r.observed_on))
    }
    fn key_text(r: &ObservationRecord) -> String {
        format!(
            "{}/{}/{}/{}",
            r.platform_code, r.channel_code, r.metric, r.observed_on
        )
    }
    fn to_record(m: observation::Model) -> ObservationRecord {
        ObservationRecord {
            platform_code: m.platform_code,
            channel_code: m.channel_code,
            metric: text_enum(Metric::parse, &m.metric, Metric::Rating),
            observed_on: m.observed_on,
            value: Some(m.value),
            value_as_printed: m.value_as_printed,
            source_document: m.source_document,
            source_table: m.source_table,
            source_row: m.source_row,
            source_column: m.source_column,
        }
    }
    fn fill(r: &ObservationRecord, a: &mut observation::ActiveModel) {
        a.platform_code = Set(r.platform_code.clone());
        a.channel_code = Set(r.channel_code.clone());
        a.metric = Set(r.metric.as_str().to_string());
        a.observed_on = Set(r.observed_on.clone());
        a.value = Set(r.value.unwrap_or_default());
        a.value_as_printed = Set(r.value_as_printed.clone());
        provenance_fill!(r, a);
    }
    fn references(r: &ObservationRecord) -> Vec<Reference> {
        vec![
            reference("platform_code", RefTarget::Platform, &r.platform_code),
            reference("channel_code", RefTarget::Channel, &r.channel_code),
        ]
    }
    fn wrap(r: ObservationRecord) -> AnyRecord {
        AnyRecord::Observation(r)
    }
    fn unwrap(r: AnyRecord) -> Option<ObservationRecord> {
        match r {
            AnyRecord::Observation(x) => Some(x),
            _ => None,
        }
    }
}

pub struct IndicatorValues;
impl StoredKind for IndicatorValues {
    type Entity = indicator_value::Entity;
    type Model = indicator_value::Model;
    type Active = indicator_value::ActiveModel;
    type Record = IndicatorValueRecord;
    const KIND: ResourceKind = ResourceKind::IndicatorValue;
    const NOUN: &'static str = "indicator value";
    fn id_column() -> indicator_value::Column {
        indicator_value::Column::Id
    }
    fn id(m: &indicator_value::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &IndicatorValueRecord) -> Condition {
        Condition::all()
            .add(indicator_value::Column::IndicatorCode.eq(&r.indicator_code))
            .add(indicator_value::Column::SubjectKind.eq(r.subject_kind.as_str()))
            .add(indicator_value::Column::SubjectCode.eq(&r.subject_code))
            .add(indicator_value::Column::Period.eq(&r.period))
    }
    fn key_text(r: &IndicatorValueRecord) -> String {
        format!(
            "{}/{}/{}/{}",
            r.indicator_code, r.subject_kind, r.subject_code, r.period
        )
    }
    fn to_record(m: indicator_value::Model) -> IndicatorValueRecord {
        IndicatorValueRecord {
            indicator_code: m.indicator_code,
            subject_kind: text_enum(SubjectKind::parse, &m.subject_kind, SubjectKind::Region),
            subject_code: m.subject_code,
            period: m.period,
            value: Some(m.value),
            value_as_printed: m.value_as_printed,
            source_document: m.source_document,
            source_table: m.source_table,
            source_row: m.source_row,
            source_column: m.source_column,
        }
    }
    fn fill(r: &IndicatorValueRecord, a: &mut indicator_value::ActiveModel) {
        a.indicator_code = Set(r.indicator_code.clone());
        a.subject_kind = Set(r.subject_kind.as_str().to_string());
        a.subject_code = Set(r.subject_code.clone());
        a.period = Set(r.period.clone());
        a.value = Set(r.value.unwrap_or_default());
        a.value_as_printed = Set(r.value_as_printed.clone());
        provenance_fill!(r, a);
    }
    fn references(r: &IndicatorValueRecord) -> Vec<Reference> {
        vec![
            reference("indicator_code", RefTarget::Indicator, &r.indicator_code),
            subject_ref(r.subject_kind, &r.subject_code),
        ]
    }
    fn wrap(r: IndicatorValueRecord) -> AnyRecord {
        AnyRecord::IndicatorValue(r)
    }
    fn unwrap(r: AnyRecord) -> Option<IndicatorValueRecord> {
        match r {
            AnyRecord::IndicatorValue(x) => Some(x),
            _ => None,
        }
    }
}

pub struct ReportedAggregates;
impl StoredKind for ReportedAggregates {
    type Entity = reported_aggregate::Entity;
    type Model = reported_aggregate::Model;
    type Active = reported_aggregate::ActiveModel;
    type Record = ReportedAggregateRecord;
    const KIND: ResourceKind = ResourceKind::ReportedAggregate;
    const NOUN: &'static str = "reported aggregate";
    fn id_column() -> reported_aggregate::Column {
        reported_aggregate::Column::Id
    }
    fn id(m: &reported_aggregate::Model) -> i64 {
        m.id
    }
    fn natural_key(r: &ReportedAggregateRecord) -> Condition {
        Condition::all().add(reported_aggregate::Column::Code.eq(&r.code))
    }
    fn key_text(r: &ReportedAggregateRecord) -> String {
        r.code.clone()
    }
    fn to_record(m: reported_aggregate::Model) -> ReportedAggregateRecord {
        ReportedAggregateRecord {
            code: m.code,
            kind: text_enum(AggregateKind::parse, &m.kind, AggregateKind::Sum),
            subject_kind: text_enum(SubjectKind::parse, &m.subject_kind, SubjectKind::Platform),
            subject_code: m.subject_code,
            metric: text_enum(Metric::parse, &m.metric, Metric::Rating),
            observed_on: m.observed_on,
            value: Some(m.value),
            value_as_printed: m.value_as_printed,
            description: m.description,
            source_document: m.source_document,
            source_table: m.source_table,
            source_row: m.source_row,
            source_column: m.source_column,
        }
    }
    fn fill(r: &ReportedAggregateRecord, a: &mut reported_aggregate::ActiveModel) {
        a.code = Set(r.code.clone());
        a.kind = Set(r.kind.as_str().to_string());
        a.subject_kind = Set(r.subject_kind.as_str().to_string());
        a.subject_code = Set(r.subject_code.clone());
        a.metric = Set(r.metric.as_str().to_string());
        a.observed_on = Set(r.observed_on.clone());
        a.value = Set(r.value.unwrap_or_default());
        a.value_as_printed = Set(r.value_as_printed.clone());
        a.description = Set(r.description.clone());
        provenance_fill!(r, a);
    }
    fn references(r: &ReportedAggregateRecord) -> Vec<Reference> {
        vec![subject_ref(r.subject_kind, &r.subject_code)]
    }
    fn wrap(r: ReportedAggregateRecord) -> AnyRecord {
        AnyRecord::ReportedAggregate(r)
    }
    fn unwrap(r: AnyRecord) -> Option<ReportedAggregateRecord> {
        match r {
            AnyRecord::ReportedAggregate(x) => Some(x),
            _ => None,
        }
    }
}
impl CodedKind for ReportedAggregates {
    fn code_column() -> reported_aggregate::Column {
        reported_aggregate::Column::Code
    }
}

/// `substr(column, 1, len(prefix)) = prefix`: a case-sensitive prefix match on both
/// PostgreSQL and SQLite (SQLite's LIKE ignores ASCII case, so "zone" would match "ZONE").
pub fn starts_with<C: ColumnTrait>(column: C, prefix: &str) -> sea_orm::sea_query::SimpleExpr {
    // i32: PostgreSQL has substr(text, integer, integer) but no bigint variant.
    let length = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
    Expr::expr(
        sea_orm::sea_query::Func::cust("substr")
            .arg(Expr::col(column))
            .arg(1)
            .arg(length),
    )
    .eq(prefix)
}
