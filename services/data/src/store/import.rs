//! Bulk import: a batch is validated as a whole and written in one transaction, so it
//! lands entirely or not at all. Records are matched on natural keys, which makes
//! importing the same data twice a no-op.

use std::collections::{BTreeMap, HashMap, HashSet};

use govlens_dataset::records::{AnyRecord, ResourceKind};
use govlens_kit::{FieldViolation, ServiceError, ServiceResult};
use sea_orm::sea_query::{Expr, ExprTrait, Iden, LockType, OnConflict, Value, ValueTuple};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, ConnectionTrait, DatabaseTransaction, DbBackend,
    DbErr, EntityName, EntityTrait, IntoActiveModel, Iterable, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, SqlErr, Statement, TransactionTrait,
};

use super::kinds::*;
use super::{
    bump_revision, check_references, db_error, find, upsert, upsert_region, Outcome, Store,
};
use crate::access::{anchors, anchors_of_model, authorize, current_actor, Anchor, Audit};
use crate::entities::*;

/// A record of a batch with its position and origin, for error messages.
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub index: usize,
    pub origin: String,
    pub record: AnyRecord,
}

/// Created, updated and unchanged counts of one resource kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }

    pub fn merge(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// The oneof field name of a record kind in `Record`, for violation paths.
pub fn field_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Region => "region",
        ResourceKind::Population => "population",
        ResourceKind::Channel => "channel",
        ResourceKind::Platform => "platform",
        ResourceKind::ServiceFunction => "service_function",
        ResourceKind::PlatformFunction => "platform_function",
        ResourceKind::Indicator => "indicator",
        ResourceKind::PolicyDocument => "policy_document",
        ResourceKind::Observation => "observation",
        ResourceKind::IndicatorValue => "indicator_value",
        ResourceKind::ReportedAggregate => "reported_aggregate",
    }
}

/// A violation on one record of a batch: `records[i].<kind>.<field>`, with the origin.
pub fn record_violation(
    item_index: usize,
    origin: &str,
    kind: Option<ResourceKind>,
    field: &str,
    description: &str,
) -> FieldViolation {
    let field = crate::service::support::message_field(field);
    let path = match (kind, field.is_empty()) {
        (Some(k), false) => format!("records[{item_index}].{}.{field}", field_name(k)),
        (Some(k), true) => format!("records[{item_index}].{}", field_name(k)),
        (None, _) => format!("records[{item_index}].{field}"),
    };
    let description = if origin.is_empty() {
        description.to_string()
    } else {
        format!("{origin}: {description}")
    };
    FieldViolation::new(path, description)
}

fn key_of(record: &AnyRecord) -> String {
    match record {
        AnyRecord::Region(r) => Regions::key_text(r),
        AnyRecord::Population(r) => Populations::key_text(r),
        AnyRecord::Channel(r) => Channels::key_text(r),
        AnyRecord::Platform(r) => Platforms::key_text(r),
        AnyRecord::ServiceFunction(r) => ServiceFunctions::key_text(r),
        AnyRecord::PlatformFunction(r) => PlatformFunctions::key_text(r),
        AnyRecord::Indicator(r) => Indicators::key_text(r),
        AnyRecord::PolicyDocument(r) => PolicyDocuments::key_text(r),
        AnyRecord::Observation(r) => Observations::key_text(r),
        AnyRecord::IndicatorValue(r) => IndicatorValues::key_text(r),
        AnyRecord::ReportedAggregate(r) => ReportedAggregates::key_text(r),
    }
}

/// Checks each record on its own and against the rest of the batch, and orders the
/// batch so that referenced records come first (parents before child regions).
pub fn prepare_batch(mut items: Vec<BatchItem>) -> Result<Vec<BatchItem>, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let mut seen: HashMap<(ResourceKind, String), usize> = HashMap::new();
    for item in &mut items {
        let kind = item.record.kind();
        if let Err(vs) = govlens_dataset::prepare(&mut item.record) {
            for v in vs {
                violations.push(record_violation(
                    item.index,
                    &item.origin,
                    Some(kind),
                    &v.field,
                    &v.description,
                ));
            }
            continue;
        }
        if let Some(first) = seen.insert((kind, key_of(&item.record)), item.index) {
            violations.push(record_violation(
                item.index,
                &item.origin,
                Some(kind),
                "",
                &format!(
                    "repeats the key {:?} of records[{first}] in the same batch",
                    key_of(&item.record)
                ),
            ));
        }
    }
    if !violations.is_empty() {
        return Err(violations);
    }
    let depth = region_depths(&items)?;
    items.sort_by_key(|item| {
        (
            item.record.kind(),
            depth.get(&item.index).copied().unwrap_or(0),
            item.index,
        )
    });
    Ok(items)
}

/// Depth of each region of the batch within the batch's own hierarchy; a cycle is an error.
fn region_depths(items: &[BatchItem]) -> Result<HashMap<usize, usize>, Vec<FieldViolation>> {
    let parents: HashMap<&str, (&str, usize, &str)> = items
        .iter()
        .filter_map(|item| match &item.record {
            AnyRecord::Region(r) => Some((
                r.code.as_str(),
                (r.parent_code.as_str(), item.index, item.origin.as_str()),
            )),
            _ => None,
        })
        .collect();
    let mut depths = HashMap::new();
    for (code, (_, index, origin)) in &parents {
        let mut depth = 0;
        let mut at = *code;
        let mut visited = HashSet::new();
        while let Some((parent, _, _)) = parents.get(at) {
            if !visited.insert(at) {
                return Err(vec![record_violation(
                    *index,
                    origin,
                    Some(ResourceKind::Region),
                    "parent_code",
                    "the batch's regions form a cycle",
                )]);
            }
            depth += 1;
            at = parent;
        }
        depths.insert(*index, depth);
    }
    Ok(depths)
}

async fn apply<K: StoredKind>(
    tx: &DatabaseTransaction,
    record: &K::Record,
    known: &mut HashSet<(RefTarget, String)>,
) -> ServiceResult<Result<Outcome, Vec<FieldViolation>>> {
    let violations = check_references(tx, &K::references(record), known)
        .await
        .map_err(db_error)?;
    if !violations.is_empty() {
        return Ok(Err(violations));
    }
    let (outcome, _) = upsert::<K, _>(tx, record, |_| {}).await.map_err(db_error)?;
    Ok(Ok(outcome))
}

async fn apply_any(
    tx: &DatabaseTransaction,
    record: &AnyRecord,
    known: &mut HashSet<(RefTarget, String)>,
) -> ServiceResult<Result<Outcome, Vec<FieldViolation>>> {
    let result = match record {
        AnyRecord::Region(r) => {
            let violations = check_references(tx, &Regions::references(r), known)
                .await
                .map_err(db_error)?;
            if !violations.is_empty() {
                return Ok(Err(violations));
            }
            match upsert_region(tx, r).await {
                Ok((outcome, _)) => Ok(outcome),
                Err(ServiceError::InvalidArgument { violations, .. }) => Err(violations),
                Err(e) => return Err(e),
            }
        }
        AnyRecord::Population(r) => apply::<Populations>(tx, r, known).await?,
        AnyRecord::Channel(r) => apply::<Channels>(tx, r, known).await?,
        AnyRecord::Platform(r) => apply::<Platforms>(tx, r, known).await?,
        AnyRecord::ServiceFunction(r) => apply::<ServiceFunctions>(tx, r, known).await?,
        AnyRecord::PlatformFunction(r) => apply::<PlatformFunctions>(tx, r, known).await?,
        AnyRecord::Indicator(r) => apply::<Indicators>(tx, r, known).await?,
        AnyRecord::PolicyDocument(r) => apply::<PolicyDocuments>(tx, r, known).await?,
        AnyRecord::Observation(r) => apply::<Observations>(tx, r, known).await?,
        AnyRecord::IndicatorValue(r) => apply::<IndicatorValues>(tx, r, known).await?,
        AnyRecord::ReportedAggregate(r) => apply::<ReportedAggregates>(tx, r, known).await?,
    };
    if result.is_ok() {
        if let Some(target) = own_target(record) {
            known.insert(target);
        }
    }
    Ok(result)
}

/// The references of any record.
pub fn references_of(record: &AnyRecord) -> Vec<Reference> {
    match record {
        AnyRecord::Region(r) => Regions::references(r),
        AnyRecord::Population(r) => Populations::references(r),
        AnyRecord::Channel(r) => Channels::references(r),
        AnyRecord::Platform(r) => Platforms::references(r),
        AnyRecord::ServiceFunction(r) => ServiceFunctions::references(r),
        AnyRecord::PlatformFunction(r) => PlatformFunctions::references(r),
        AnyRecord::Indicator(r) => Indicators::references(r),
        AnyRecord::PolicyDocument(r) => PolicyDocuments::references(r),
        AnyRecord::Observation(r) => Observations::references(r),
        AnyRecord::IndicatorValue(r) => IndicatorValues::references(r),
        AnyRecord::ReportedAggregate(r) => ReportedAggregates::references(r),
    }
}

async fn stored<K: StoredKind>(
    tx: &DatabaseTransaction,
    r: &K::Record,
) -> ServiceResult<Option<AnyRecord>> {
    Ok(find::<K, _>(tx, K::natural_key(r))
        .await
        .map_err(db_error)?
        .map(|m| K::wrap(K::to_record(m))))
}

/// The stored record with the same natural key, if any (what an import overwrites).
async fn stored_of(
    tx: &DatabaseTransaction,
    record: &AnyRecord,
) -> ServiceResult<Option<AnyRecord>> {
    match record {
        AnyRecord::Region(r) => stored::<Regions>(tx, r).await,
        AnyRecord::Population(r) => stored::<Populations>(tx, r).await,
        AnyRecord::Channel(r) => stored::<Channels>(tx, r).await,
        AnyRecord::Platform(r) => stored::<Platforms>(tx, r).await,
        AnyRecord::ServiceFunction(r) => stored::<ServiceFunctions>(tx, r).await,
        AnyRecord::PlatformFunction(r) => stored::<PlatformFunctions>(tx, r).await,
        AnyRecord::Indicator(r) => stored::<Indicators>(tx, r).await,
        AnyRecord::PolicyDocument(r) => stored::<PolicyDocuments>(tx, r).await,
        AnyRecord::Observation(r) => stored::<Observations>(tx, r).await,
        AnyRecord::IndicatorValue(r) => stored::<IndicatorValues>(tx, r).await,
        AnyRecord::ReportedAggregate(r) => stored::<ReportedAggregates>(tx, r).await,
    }
}

/// Checks the caller may write `record` where it is now (if stored) and, after the
/// write, where it will be.
async fn authorize_item(
    tx: &DatabaseTransaction,
    record: &AnyRecord,
    after_write: bool,
) -> ServiceResult<()> {
    let what = format!("{}s", record.kind().as_str().replace('_', " "));
    if after_write {
        return authorize(tx, &anchors(record), &what).await;
    }
    // Skipped for admins and unscoped editors, who may write anywhere: a 1M-row import
    // should not pay a lookup per row for nothing.
    if current_actor()?.principal.scope.is_none() {
        return Ok(());
    }
    match stored_of(tx, record).await? {
        Some(before) => authorize(tx, &anchors(&before), &what).await,
        None => Ok(()),
    }
}

fn own_target(record: &AnyRecord) -> Option<(RefTarget, String)> {
    match record {
        AnyRecord::Region(r) => Some((RefTarget::Region, r.code.clone())),
        AnyRecord::Platform(r) => Some((RefTarget::Platform, r.code.clone())),
        AnyRecord::Channel(r) => Some((RefTarget::Channel, r.code.clone())),
        AnyRecord::ServiceFunction(r) => Some((RefTarget::ServiceFunction, r.code.clone())),
        AnyRecord::Indicator(r) => Some((RefTarget::Indicator, r.code.clone())),
        _ => None,
    }
}

/// Writes a run of records one at a time (regions: each one's path depends on the
/// regions written before it).
async fn import_one_by_one(
    tx: &DatabaseTransaction,
    run: &[BatchItem],
    known: &mut HashSet<(RefTarget, String)>,
    violations: &mut Vec<FieldViolation>,
) -> ServiceResult<Counts> {
    let mut counts = Counts::default();
    for item in run {
        let kind = item.record.kind();
        let at = |e: ServiceError| annotate_denial(e, item.index, kind);
        authorize_item(tx, &item.record, false).await.map_err(at)?;
        match apply_any(tx, &item.record, known).await? {
            Ok(outcome) => {
                authorize_item(tx, &item.record, true).await.map_err(at)?;
                counts.add(outcome)
            }
            Err(vs) => violations.extend(vs.into_iter().map(|v| {
                record_violation(
                    item.index,
                    &item.origin,
                    Some(kind),
                    &v.field,
                    &v.description,
                )
            })),
        }
    }
    Ok(counts)
}

/// Bound parameters per statement, below PostgreSQL's 65535 and SQLite's 32766.
fn max_parameters(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Postgres => 60_000,
        _ => 30_000,
    }
}

/// Most rows per multi-row INSERT.
const INSERT_ROWS: usize = 5_000;
/// Most keys per `(key columns) IN (...)` lookup.
const LOOKUP_ROWS: usize = 1_000;

/// A kind written in bulk: its natural key columns (those of its unique index, the
/// conflict target) and a borrowed view of its records.
trait BulkKind: StoredKind {
    fn key_columns() -> Vec<<Self::Entity as EntityTrait>::Column>;
    fn peek(r: &AnyRecord) -> Option<&Self::Record>;
}

macro_rules! bulk_kind {
    ($kind:ty, $variant:ident, $entity:ident, [$($col:ident),+]) => {
        impl BulkKind for $kind {
            fn key_columns() -> Vec<$entity::Column> {
                vec![$($entity::Column::$col),+]
            }
            fn peek(r: &AnyRecord) -> Option<&Self::Record> {
                match r {
                    AnyRecord::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}

bulk_kind!(Populations, Population, population, [RegionCode, Year]);
bulk_kind!(Channels, Channel, channel, [Code]);
bulk_kind!(Platforms, Platform, platform, [Code]);
bulk_kind!(ServiceFunctions, ServiceFunction, service_function, [Code]);
bulk_kind!(
    PlatformFunctions,
    PlatformFunction,
    platform_function,
    [PlatformCode, FunctionCode]
);
bulk_kind!(Indicators, Indicator, indicator, [Code]);
bulk_kind!(PolicyDocuments, PolicyDocument, policy_document, [Code]);
bulk_kind!(
    Observations,
    Observation,
    observation,
    [PlatformCode, ChannelCode, Metric, ObservedOn]
);
bulk_kind!(
    IndicatorValues,
    IndicatorValue,
    indicator_value,
    [IndicatorCode, SubjectKind, SubjectCode, Period]
);
bulk_kind!(
    ReportedAggregates,
    ReportedAggregate,
    reported_aggregate,
    [Code]
);

fn active_of<K: StoredKind>(r: &K::Record) -> K::Active {
    let mut active = <K::Active as Default>::default();
    K::fill(r, &mut active);
    active
}

/// The codes among `codes` that exist in `target`'s table, share-locked like
/// [`super::reference_exists`] locks them.
async fn existing_codes(
    tx: &DatabaseTransaction,
    target: RefTarget,
    codes: Vec<String>,
) -> Result<HashSet<String>, DbErr> {
    async fn of<K: CodedKind>(
        tx: &DatabaseTransaction,
        codes: Vec<String>,
    ) -> Result<Vec<String>, DbErr> {
        let mut found = Vec::new();
        for chunk in codes.chunks(LOOKUP_ROWS) {
            found.extend(
                K::Entity::find()
                    .select_only()
                    .column(K::code_column())
                    .filter(K::code_column().is_in(chunk.iter().cloned()))
                    .lock(LockType::Share)
                    .into_tuple::<String>()
                    .all(tx)
                    .await?,
            );
        }
        Ok(found)
    }
    let found = match target {
        RefTarget::Region => of::<Regions>(tx, codes).await?,
        RefTarget::Platform => of::<Platforms>(tx, codes).await?,
        RefTarget::Channel => of::<Channels>(tx, codes).await?,
        RefTarget::ServiceFunction => of::<ServiceFunctions>(tx, codes).await?,
        RefTarget::Indicator => of::<Indicators>(tx, codes).await?,
    };
    Ok(found.into_iter().collect())
}

/// [`check_references`] for a whole run: one lookup per referenced table. Returns,
/// per record, the violations of its references.
async fn check_run_references(
    tx: &DatabaseTransaction,
    refs: &[Vec<Reference>],
    known: &mut HashSet<(RefTarget, String)>,
) -> Result<Vec<Vec<FieldViolation>>, DbErr> {
    let mut wanted: HashMap<RefTarget, HashSet<&str>> = HashMap::new();
    for r in refs.iter().flatten() {
        if !known.contains(&(r.target, r.code.clone())) {
            wanted.entry(r.target).or_default().insert(&r.code);
        }
    }
    for (target, codes) in wanted {
        let codes = codes.into_iter().map(str::to_string).collect();
        for code in existing_codes(tx, target, codes).await? {
            known.insert((target, code));
        }
    }
    Ok(refs
        .iter()
        .map(|rs| {
            rs.iter()
                .filter(|r| !known.contains(&(r.target, r.code.clone())))
                .map(|r| {
                    FieldViolation::new(
                        r.field,
                        format!("{} {:?} does not exist", r.target.noun(), r.code),
                    )
                })
                .collect()
        })
        .collect())
}

/// The stored rows with the natural keys of `records`, by [`StoredKind::key_text`].
async fn stored_rows<K: BulkKind>(
    tx: &DatabaseTransaction,
    records: &[&K::Record],
) -> Result<HashMap<String, K::Model>, DbErr> {
    let columns = K::key_columns();
    let mut out = HashMap::new();
    for chunk in records.chunks(LOOKUP_ROWS) {
        let keys: Vec<ValueTuple> = chunk
            .iter()
            .map(|r| {
                let active = active_of::<K>(r);
                ValueTuple::Many(
                    columns
                        .iter()
                        .map(|c| active.get(*c).into_value().unwrap_or(Value::String(None)))
                        .collect(),
                )
            })
            .collect();
        let columns = columns.iter().map(|c| Expr::col(*c));
        let rows = K::Entity::find()
            .filter(Expr::tuple(columns).in_tuples(keys))
            .all(tx)
            .await?;
        for m in rows {
            out.insert(K::key_text(&K::to_record(m.clone())), m);
        }
    }
    Ok(out)
}

/// PostgreSQL array element type of a column, for the UNNEST insert; `None` for types
/// it does not handle (the kind then uses multi-row VALUES).
fn pg_element_type(column_type: &ColumnType) -> Option<&'static str> {
    Some(match column_type {
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => "text",
        ColumnType::Double => "float8",
        ColumnType::Float => "float4",
        ColumnType::Integer => "int4",
        ColumnType::BigInteger => "int8",
        ColumnType::SmallInteger => "int2",
        ColumnType::Boolean => "bool",
        _ => return None,
    })
}

/// Appends `value` as an element of a PostgreSQL array literal; false for a value it
/// cannot write.
fn push_array_element(out: &mut String, value: &Value) -> bool {
    use std::fmt::Write;
    fn float(out: &mut String, f: f64) {
        // Display writes the shortest text that reads back as the same f64.
        if f.is_nan() {
            out.push_str("NaN");
        } else if f.is_infinite() {
            out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        } else {
            let _ = write!(out, "{f}");
        }
    }
    match value {
        Value::String(None)
        | Value::Double(None)
        | Value::Float(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::SmallInt(None)
        | Value::Bool(None) => out.push_str("NULL"),
        Value::String(Some(s)) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Value::Double(Some(f)) => float(out, *f),
        Value::Float(Some(f)) => float(out, f64::from(*f)),
        Value::Int(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        Value::SmallInt(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        Value::Bool(Some(b)) => out.push_str(if *b { "t" } else { "f" }),
        _ => return false,
    }
    true
}

/// A chunk of records as one PostgreSQL array per column, for `INSERT ... SELECT * FROM
/// unnest($1::text[], ...)`: the statement is the same whatever the row count, so
/// PostgreSQL parses and plans it once, not a VALUES row per record.
struct UnnestRows {
    /// `"table" ("column", ...) SELECT * FROM unnest($1::text[], ...)`
    insert: String,
    /// The natural key columns, quoted and comma-separated: the conflict target.
    keys: String,
    /// The id column, quoted.
    id: String,
    /// One array literal per column.
    arrays: Vec<Value>,
}

impl UnnestRows {
    /// The arrays of `records`; `None` if a column's type or value is not handled here
    /// (the kind then uses multi-row VALUES).
    fn of<K: BulkKind>(records: &[&K::Record]) -> Option<UnnestRows> {
        let actives: Vec<K::Active> = records.iter().map(|r| active_of::<K>(r)).collect();
        let first = actives.first()?;
        let columns: Vec<_> = <K::Entity as EntityTrait>::Column::iter()
            .filter(|c| first.get(*c).is_set())
            .collect();
        let mut arrays: Vec<String> = columns
            .iter()
            .map(|_| String::with_capacity(records.len() * 16))
            .collect();
        for (i, active) in actives.iter().enumerate() {
            for (c, array) in columns.iter().zip(arrays.iter_mut()) {
                array.push(if i == 0 { '{' } else { ',' });
                match active.get(*c).into_value() {
                    Some(value) if push_array_element(array, &value) => {}
                    _ => return None,
                }
            }
        }
        let quote = |name: String| format!("\"{}\"", name.replace('"', "\"\""));
        let mut parameters = Vec::with_capacity(columns.len());
        for (n, c) in columns.iter().enumerate() {
            let element = pg_element_type(c.def().get_column_type())?;
            parameters.push(format!("${}::{element}[]", n + 1));
        }
        let names: Vec<String> = columns.iter().map(|c| quote(Iden::to_string(c))).collect();
        let keys: Vec<String> = K::key_columns()
            .into_iter()
            .map(|c| quote(Iden::to_string(&c)))
            .collect();
        Some(UnnestRows {
            insert: format!(
                "{} ({}) SELECT * FROM unnest({})",
                quote(K::Entity::default().table_name().to_string()),
                names.join(", "),
                parameters.join(", "),
            ),
            keys: keys.join(", "),
            id: quote(Iden::to_string(&K::id_column())),
            arrays: arrays
                .into_iter()
                .map(|mut array| {
                    array.push('}');
                    Value::String(Some(array))
                })
                .collect(),
        })
    }

    /// `INSERT ...`, no conflict handling: fails on a key that is stored already.
    fn plain(&self) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("INSERT INTO {}", self.insert),
            self.arrays.clone(),
        )
    }

    /// `INSERT ... ON CONFLICT (natural key) DO NOTHING RETURNING id`: the ids of the
    /// rows it created.
    fn skipping_stored(self) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "INSERT INTO {} ON CONFLICT ({}) DO NOTHING RETURNING {}",
                self.insert, self.keys, self.id
            ),
            self.arrays,
        )
    }
}

/// The UNNEST arrays of a run of records of one kind, one per insert statement, as
/// [`insert_new`] splits them on PostgreSQL.
fn unnest_chunks<K: BulkKind>(run: &[BatchItem]) -> Option<Vec<Option<UnnestRows>>> {
    let records: Vec<&K::Record> = run
        .iter()
        .map(|item| K::peek(&item.record))
        .collect::<Option<_>>()?;
    Some(
        records
            .chunks(INSERT_ROWS)
            .map(UnnestRows::of::<K>)
            .collect(),
    )
}

/// [`unnest_chunks`] for a run of any bulk-written kind.
fn unnest_run(kind: ResourceKind, run: &[BatchItem]) -> Option<Vec<Option<UnnestRows>>> {
    match kind {
        ResourceKind::Region => None,
        ResourceKind::Population => unnest_chunks::<Populations>(run),
        ResourceKind::Channel => unnest_chunks::<Channels>(run),
        ResourceKind::Platform => unnest_chunks::<Platforms>(run),
        ResourceKind::ServiceFunction => unnest_chunks::<ServiceFunctions>(run),
        ResourceKind::PlatformFunction => unnest_chunks::<PlatformFunctions>(run),
        ResourceKind::Indicator => unnest_chunks::<Indicators>(run),
        ResourceKind::PolicyDocument => unnest_chunks::<PolicyDocuments>(run),
        ResourceKind::Observation => unnest_chunks::<Observations>(run),
        ResourceKind::IndicatorValue => unnest_chunks::<IndicatorValues>(run),
        ResourceKind::ReportedAggregate => unnest_chunks::<ReportedAggregates>(run),
    }
}

/// The runs of one kind of a prepared batch: (start, length).
fn runs(items: &[BatchItem]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let kind = items[start].record.kind();
        let len = items[start..]
            .iter()
            .take_while(|item| item.record.kind() == kind)
            .count();
        out.push((start, len));
        start += len;
    }
    out
}

/// Whether any of a few records spread over `records` (the first, the middle one, the
/// last) is stored: a guess whether the chunk holds stored keys, cheaper than asking
/// for each.
async fn some_stored<K: BulkKind>(
    tx: &DatabaseTransaction,
    records: &[&K::Record],
) -> Result<bool, DbErr> {
    let Some(last) = records.len().checked_sub(1) else {
        return Ok(false);
    };
    let mut sample: Vec<&K::Record> = vec![records[0], records[last / 2], records[last]];
    sample.dedup_by_key(|r| K::key_text(r));
    // One lookup per key, each an equality on every column of the unique index. (ORed in
    // one statement, PostgreSQL factors the columns the keys share out of the OR and
    // may scan every row with that prefix.)
    for r in sample {
        let found = K::Entity::find()
            .select_only()
            .column(K::id_column())
            .filter(K::natural_key(r))
            .into_tuple::<i64>()
            .one(tx)
            .await?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Inserts `rows` assuming none is stored, within a savepoint: true if they were all
/// created; false, with nothing written, if a key was stored already (one the guess
/// missed, or one a concurrent writer committed meanwhile).
async fn insert_all_new(tx: &DatabaseTransaction, rows: &UnnestRows) -> Result<bool, DbErr> {
    let savepoint = tx.begin().await?;
    match savepoint.execute_raw(rows.plain()).await {
        Ok(_) => {
            savepoint.commit().await?;
            Ok(true)
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            savepoint.rollback().await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Inserts the records whose natural key is not stored yet, in multi-row statements;
/// returns the stored rows of the others (keyed by [`StoredKind::key_text`]).
///
/// On PostgreSQL, a chunk none of whose sampled keys is stored is first inserted as it
/// is, without `ON CONFLICT`: that checks each key once where `ON CONFLICT` checks it,
/// then inserts it speculatively and confirms it. Should a key turn out to be stored,
/// that insert is undone and the chunk takes the `ON CONFLICT` path.
///
/// `prebuilt`, if given, holds the arrays of `records` chunk by chunk
/// ([`unnest_chunks`]), built while the previous batch was written.
async fn insert_new<K: BulkKind>(
    tx: &DatabaseTransaction,
    records: &[&K::Record],
    prebuilt: Option<Vec<Option<UnnestRows>>>,
) -> Result<HashMap<String, K::Model>, DbErr> {
    let backend = tx.get_database_backend();
    let columns = <K::Entity as EntityTrait>::Column::iter().count().max(1);
    let rows_per_statement = match backend {
        // UNNEST binds one array per column, whatever the row count.
        DbBackend::Postgres => INSERT_ROWS,
        _ => (max_parameters(backend) / columns).clamp(1, INSERT_ROWS),
    };
    let mut prebuilt = prebuilt.map(Vec::into_iter);
    let mut stored = HashMap::new();
    for chunk in records.chunks(rows_per_statement) {
        let unnest = match (backend, prebuilt.as_mut()) {
            (DbBackend::Postgres, Some(arrays)) => arrays.next().flatten(),
            (DbBackend::Postgres, None) => UnnestRows::of::<K>(chunk),
            _ => None,
        };
        let created = match unnest {
            Some(rows) => {
                if !some_stored::<K>(tx, chunk).await? && insert_all_new(tx, &rows).await? {
                    continue;
                }
                tx.query_all_raw(rows.skipping_stored()).await?
            }
            None => {
                let mut insert =
                    K::Entity::insert_many(chunk.iter().map(|r| active_of::<K>(r))).into_query();
                insert
                    .on_conflict(
                        OnConflict::columns(K::key_columns())
                            .do_nothing()
                            .to_owned(),
                    )
                    .returning_col(K::id_column());
                tx.query_all(&insert).await?
            }
        };
        if created.len() == chunk.len() {
            continue;
        }
        // Some keys were stored already: those rows are the ones this statement did
        // not create.
        let created: HashSet<i64> = created
            .iter()
            .map(|row| row.try_get_by_index::<i64>(0))
            .collect::<Result<_, _>>()?;
        for (key, m) in stored_rows::<K>(tx, chunk).await? {
            if !created.contains(&K::id(&m)) {
                stored.insert(key, m);
            }
        }
    }
    Ok(stored)
}

/// Anchors as a hashable key, to authorize each distinct set once.
fn anchor_key(anchors: &[Anchor]) -> Vec<(bool, String)> {
    anchors
        .iter()
        .map(|a| match a {
            Anchor::Region(code) => (false, code.clone()),
            Anchor::Platform(code) => (true, code.clone()),
        })
        .collect()
}

/// The first of `anchor_sets` (position, anchors) the caller may not write at.
async fn first_denial(
    tx: &DatabaseTransaction,
    anchor_sets: impl Iterator<Item = (usize, Vec<Anchor>)>,
    allowed: &mut HashSet<Vec<(bool, String)>>,
    what: &str,
) -> ServiceResult<Option<(usize, ServiceError)>> {
    for (position, anchors) in anchor_sets {
        let key = anchor_key(&anchors);
        if allowed.contains(&key) {
            continue;
        }
        match authorize(tx, &anchors, what).await {
            Ok(()) => {
                allowed.insert(key);
            }
            Err(e @ ServiceError::PermissionDenied(_)) => return Ok(Some((position, e))),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Writes a run of records of one kind in bulk, with the outcome the one-by-one path
/// would have: the same violations, the same first denial, the same counts.
async fn import_run<K: BulkKind>(
    tx: &DatabaseTransaction,
    run: &[BatchItem],
    prebuilt: Option<Vec<Option<UnnestRows>>>,
    known: &mut HashSet<(RefTarget, String)>,
    violations: &mut Vec<FieldViolation>,
) -> ServiceResult<Counts> {
    let kind = K::KIND;
    let records: Vec<&K::Record> = run
        .iter()
        .map(|item| {
            K::peek(&item.record).ok_or_else(|| {
                ServiceError::internal(anyhow::anyhow!("a run of records mixes kinds"))
            })
        })
        .collect::<ServiceResult<_>>()?;
    let refs: Vec<Vec<Reference>> = records.iter().map(|r| K::references(r)).collect();
    let problems = check_run_references(tx, &refs, known)
        .await
        .map_err(db_error)?;
    // Positions in the run of the records whose references resolve.
    let mut valid = Vec::with_capacity(records.len());
    for (position, (item, vs)) in run.iter().zip(problems).enumerate() {
        if vs.is_empty() {
            valid.push(position);
            if let Some(target) = own_target(&item.record) {
                known.insert(target);
            }
        }
        violations.extend(vs.into_iter().map(|v| {
            record_violation(
                item.index,
                &item.origin,
                Some(kind),
                &v.field,
                &v.description,
            )
        }));
    }
    let what = format!("{}s", kind.as_str().replace('_', " "));
    let scoped = current_actor()?.principal.scope.is_some();
    let mut stored = HashMap::new();
    if scoped {
        // One by one, record i is checked where it is stored (step 2i) and, if its
        // references resolve, where it will be (step 2i+1); the first denied step wins.
        // Neither depends on the other records of the run, so both are checked up front.
        stored = stored_rows::<K>(tx, &records).await.map_err(db_error)?;
        let mut allowed = HashSet::new();
        let before = records.iter().enumerate().filter_map(|(i, r)| {
            stored
                .get(&K::key_text(r))
                .map(|m| (2 * i, anchors_of_model::<K>(m)))
        });
        let before = first_denial(tx, before, &mut allowed, &what).await?;
        let after = valid.iter().map(|&i| (2 * i + 1, anchors(&run[i].record)));
        let after = first_denial(tx, after, &mut allowed, &what).await?;
        let denial = match (before, after) {
            (Some(b), Some(a)) => Some(if b.0 < a.0 { b } else { a }),
            (b, a) => b.or(a),
        };
        if let Some((step, e)) = denial {
            return Err(annotate_denial(e, run[step / 2].index, kind));
        }
    } else if let Some(&first) = valid.first() {
        // Admins and unscoped editors may write anywhere: one call checks they may write.
        authorize(tx, &anchors(&run[first].record), &what)
            .await
            .map_err(|e| annotate_denial(e, run[first].index, kind))?;
    }
    let mut counts = Counts::default();
    let valid: Vec<&K::Record> = valid.into_iter().map(|i| records[i]).collect();
    let new: Vec<&K::Record> = if stored.is_empty() {
        valid.clone()
    } else {
        valid
            .iter()
            .filter(|r| !stored.contains_key(&K::key_text(r)))
            .copied()
            .collect()
    };
    // The arrays built ahead hold every record of the run: usable if all are inserted.
    let prebuilt = prebuilt.filter(|_| new.len() == records.len());
    stored.extend(
        insert_new::<K>(tx, &new, prebuilt)
            .await
            .map_err(db_error)?,
    );
    if stored.is_empty() {
        // Every record was new (the common case of a first import).
        counts.created = valid.len() as i64;
        return Ok(counts);
    }
    for record in valid {
        match stored.remove(&K::key_text(record)) {
            None => counts.add(Outcome::Created),
            Some(existing) if K::to_record(existing.clone()) == *record => {
                counts.add(Outcome::Unchanged)
            }
            Some(existing) => {
                let mut active = existing.into_active_model();
                K::fill(record, &mut active);
                active.update(tx).await.map_err(db_error)?;
                counts.add(Outcome::Updated)
            }
        }
    }
    Ok(counts)
}

/// Result of one committed batch.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    pub counts: BTreeMap<ResourceKind, Counts>,
    pub revision: i64,
}

/// A batch checked on its own ([`prepare_batch`]): what [`Store::import_prepared`]
/// writes. Preparing needs no database, so a stream prepares the next batch while the
/// previous one is written.
pub struct PreparedBatch {
    total: usize,
    items: Vec<BatchItem>,
    /// On PostgreSQL, the UNNEST arrays of each bulk-written run, by the run's start.
    arrays: HashMap<usize, Vec<Option<UnnestRows>>>,
    /// What the batch writes and reads, to tell whether it may be written while an
    /// earlier batch commits ([`PreparedBatch::depends_on`]).
    keys: BatchKeys,
}

/// The natural keys a batch writes, the codes it makes referable, and the codes it
/// refers to.
#[derive(Debug, Default)]
pub struct BatchKeys {
    /// Writing a region can rewrite the paths of its descendants, rows outside the
    /// batch's own keys (and what scoped authorization reads): never overlapped (test
    /// `a_region_moved_by_one_batch_moves_the_regions_the_next_batch_writes`).
    has_regions: bool,
    writes: HashSet<(ResourceKind, String)>,
    defines: HashSet<(RefTarget, String)>,
    refers_to: HashSet<(RefTarget, String)>,
}

impl BatchKeys {
    fn of(items: &[BatchItem]) -> BatchKeys {
        let mut keys = BatchKeys::default();
        for item in items {
            keys.has_regions |= item.record.kind() == ResourceKind::Region;
            keys.writes
                .insert((item.record.kind(), key_of(&item.record)));
            if let Some(own) = own_target(&item.record) {
                keys.defines.insert(own);
            }
            for reference in references_of(&item.record) {
                keys.refers_to.insert((reference.target, reference.code));
            }
        }
        keys
    }
}

/// When a batch's transaction may commit: after the batch before it has (batches of
/// one stream commit in order), and whom to tell once it has.
#[derive(Debug, Default)]
pub struct CommitOrder {
    /// True once the batch before has committed; false (or dropped) if it did not.
    pub after: Option<tokio::sync::oneshot::Receiver<bool>>,
    /// Told true once this batch has committed; dropped otherwise.
    pub then: Option<tokio::sync::oneshot::Sender<bool>>,
}

impl PreparedBatch {
    /// Checks each record on its own and against the rest of the batch; the error lists
    /// every violation with its record and field. For PostgreSQL, also builds the
    /// arrays the records will be inserted with.
    pub fn new(items: Vec<BatchItem>, backend: DbBackend) -> ServiceResult<PreparedBatch> {
        let total = items.len();
        let items = prepare_batch(items).map_err(|v| invalid_batch(total, v))?;
        let mut arrays = HashMap::new();
        if backend == DbBackend::Postgres {
            for (start, len) in runs(&items) {
                let run = &items[start..start + len];
                if let Some(chunks) = unnest_run(run[0].record.kind(), run) {
                    arrays.insert(start, chunks);
                }
            }
        }
        let keys = BatchKeys::of(&items);
        Ok(PreparedBatch {
            total,
            items,
            arrays,
            keys,
        })
    }

    /// Whether writing this batch before `earlier` has committed could give another
    /// result than writing it after: it writes a key `earlier` writes (its insert
    /// would wait on `earlier`'s row, or count differently), refers to a code
    /// `earlier` defines (which it cannot see yet), or either writes regions.
    /// Otherwise the two touch disjoint rows, and neither ever waits on the other's
    /// locks. (A code a batch defines is also a key it writes.)
    pub fn depends_on(&self, earlier: &BatchKeys) -> bool {
        self.keys.has_regions
            || earlier.has_regions
            || self.keys.writes.iter().any(|k| earlier.writes.contains(k))
            || self
                .keys
                .refers_to
                .iter()
                .any(|r| earlier.defines.contains(r))
    }

    /// Keeps the keys when the batch is handed to the writer.
    pub fn take_keys(&mut self) -> BatchKeys {
        std::mem::take(&mut self.keys)
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl Store {
    /// Validates and writes one batch atomically. Nothing is written unless every
    /// record is valid; the error lists every violation with its record and field.
    pub async fn import_batch(&self, items: Vec<BatchItem>) -> ServiceResult<BatchResult> {
        self.import_prepared(PreparedBatch::new(items, self.backend())?)
            .await
    }

    /// Writes one prepared batch atomically: nothing is written unless every record's
    /// references resolve and the caller may write every record.
    pub async fn import_prepared(&self, batch: PreparedBatch) -> ServiceResult<BatchResult> {
        self.import_in_order(batch, CommitOrder::default())
            .await?
            .ok_or_else(|| {
                ServiceError::internal(anyhow::anyhow!(
                    "a batch with nothing before it was not committed"
                ))
            })
    }

    /// [`Store::import_prepared`] for one batch of a stream: writes it, then commits
    /// only once the batch before has (`order.after`). `None`: that batch failed, so
    /// this one was rolled back.
    pub async fn import_in_order(
        &self,
        batch: PreparedBatch,
        order: CommitOrder,
    ) -> ServiceResult<Option<BatchResult>> {
        let PreparedBatch {
            total,
            items,
            mut arrays,
            keys: _,
        } = batch;
        let tx = self.connection().begin().await.map_err(db_error)?;
        let mut known = HashSet::new();
        let mut counts: BTreeMap<ResourceKind, Counts> = BTreeMap::new();
        let mut violations = Vec::new();
        // prepare_batch sorted the batch by kind: each run of one kind is written in bulk,
        // except regions, whose paths depend on the regions written before them.
        for (start, len) in runs(&items) {
            let run = &items[start..start + len];
            let kind = run[0].record.kind();
            let prebuilt = arrays.remove(&start);
            let run_counts = match kind {
                ResourceKind::Region => {
                    import_one_by_one(&tx, run, &mut known, &mut violations).await?
                }
                ResourceKind::Population => {
                    import_run::<Populations>(&tx, run, prebuilt, &mut known, &mut violations)
                        .await?
                }
                ResourceKind::Channel => {
                    import_run::<Channels>(&tx, run, prebuilt, &mut known, &mut violations).await?
                }
                ResourceKind::Platform => {
                    import_run::<Platforms>(&tx, run, prebuilt, &mut known, &mut violations).await?
                }
                ResourceKind::ServiceFunction => {
                    import_run::<ServiceFunctions>(&tx, run, prebuilt, &mut known, &mut violations)
                        .await?
                }
                ResourceKind::PlatformFunction => {
                    import_run::<PlatformFunctions>(&tx, run, prebuilt, &mut known, &mut violations)
                        .await?
                }
                ResourceKind::Indicator => {
                    import_run::<Indicators>(&tx, run, prebuilt, &mut known, &mut violations)
                        .await?
                }
                ResourceKind::PolicyDocument => {
                    import_run::<PolicyDocuments>(&tx, run, prebuilt, &mut known, &mut violations)
                        .await?
                }
                ResourceKind::Observation => {
                    import_run::<Observations>(&tx, run, prebuilt, &mut known, &mut violations)
                        .await?
                }
                ResourceKind::IndicatorValue => {
                    import_run::<IndicatorValues>(&tx, run, prebuilt, &mut known, &mut violations)
                        .await?
                }
                ResourceKind::ReportedAggregate => {
                    import_run::<ReportedAggregates>(
                        &tx,
                        run,
                        prebuilt,
                        &mut known,
                        &mut violations,
                    )
                    .await?
                }
            };
            if run_counts != Counts::default() {
                counts.entry(kind).or_default().merge(run_counts);
            }
        }
        if !violations.is_empty() {
            tx.rollback().await.map_err(db_error)?;
            return Err(invalid_batch(total, violations));
        }
        if let Some(after) = order.after {
            if !after.await.unwrap_or(false) {
                tx.rollback().await.map_err(db_error)?;
                return Ok(None);
            }
        }
        let changed = counts.values().any(|c| c.created + c.updated > 0);
        let revision = if changed {
            let revision = bump_revision(&tx).await.map_err(db_error)?;
            let summary: Vec<String> = counts
                .iter()
                .map(|(kind, c)| {
                    format!(
                        "{}: {} created, {} updated, {} unchanged",
                        kind.as_str(),
                        c.created,
                        c.updated,
                        c.unchanged
                    )
                })
                .collect();
            let audit = Audit {
                action: "import",
                resource: "records",
                key: format!("{total} records; {}", summary.join("; ")),
                request_id: None,
            };
            crate::access::record(&tx, audit, revision).await?;
            revision
        } else {
            super::current_revision(&tx).await.map_err(db_error)?
        };
        tx.commit().await.map_err(db_error)?;
        if let Some(then) = order.then {
            let _ = then.send(true);
        }
        if changed {
            self.published(revision).await;
        }
        Ok(Some(BatchResult { counts, revision }))
    }

    /// Every record, read in one transaction, in an order import accepts back.
    pub async fn export_all(&self) -> ServiceResult<(Vec<AnyRecord>, i64)> {
        let tx = self.snapshot().await?;
        let revision = super::current_revision(&tx).await.map_err(db_error)?;
        let mut out = Vec::new();
        // Parents before children: a parent's path is a prefix of its children's.
        for m in region::Entity::find()
            .order_by_asc(region::Column::Path)
            .all(&tx)
            .await
            .map_err(db_error)?
        {
            out.push(AnyRecord::Region(Regions::to_record(m)));
        }
        collect::<Populations>(&tx, &mut out).await?;
        collect::<Channels>(&tx, &mut out).await?;
        collect::<Platforms>(&tx, &mut out).await?;
        collect::<ServiceFunctions>(&tx, &mut out).await?;
        collect::<PlatformFunctions>(&tx, &mut out).await?;
        collect::<Indicators>(&tx, &mut out).await?;
        collect::<PolicyDocuments>(&tx, &mut out).await?;
        collect::<Observations>(&tx, &mut out).await?;
        collect::<IndicatorValues>(&tx, &mut out).await?;
        collect::<ReportedAggregates>(&tx, &mut out).await?;
        tx.commit().await.map_err(db_error)?;
        Ok((out, revision))
    }

    /// A read-only transaction that sees one consistent state (REPEATABLE READ on
    /// PostgreSQL; SQLite transactions are snapshots already).
    pub async fn snapshot(&self) -> ServiceResult<DatabaseTransaction> {
        let c = self.connection();
        let tx = if c.get_database_backend() == sea_orm::DbBackend::Postgres {
            c.begin_with_config(
                Some(sea_orm::IsolationLevel::RepeatableRead),
                Some(sea_orm::AccessMode::ReadOnly),
            )
            .await
        } else {
            c.begin().await
        };
        tx.map_err(db_error)
    }
}

async fn collect<K: StoredKind>(
    tx: &DatabaseTransaction,
    out: &mut Vec<AnyRecord>,
) -> ServiceResult<()> {
    const PAGE: u64 = 5000;
    let mut after = 0;
    loop {
        let rows = super::page::<K, _>(tx, sea_orm::Condition::all(), after, PAGE)
            .await
            .map_err(db_error)?;
        let Some(last) = rows.last() else { break };
        after = K::id(last);
        let full = rows.len() as u64 == PAGE;
        out.extend(rows.into_iter().map(|m| K::wrap(K::to_record(m))));
        if !full {
            break;
        }
    }
    Ok(())
}

/// A denial names the record it is about.
fn annotate_denial(e: ServiceError, index: usize, kind: ResourceKind) -> ServiceError {
    match e {
        ServiceError::PermissionDenied(message) => ServiceError::PermissionDenied(format!(
            "records[{index}] ({}): {message}",
            kind.as_str()
        )),
        other => other,
    }
}

fn invalid_batch(total: usize, violations: Vec<FieldViolation>) -> ServiceError {
    let first = violations
        .first()
        .map(|v| format!("{}: {}", v.field, v.description))
        .unwrap_or_default();
    ServiceError::invalid(
        format!(
            "the batch of {total} records was not imported: {} problem(s), first {first}",
            violations.len()
        ),
        violations,
    )
}
