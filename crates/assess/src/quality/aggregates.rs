//! Reported aggregates (sums, averages, population shares) checked against the values
//! recomputed from their components.

use std::cmp::Ordering;

use govlens_dataset::{AggregateKind, HasProvenance, Metric, ReportedAggregateRecord, SubjectKind};
use govlens_engine::decimal::{round_half_up, Decimal, Ratio};

use super::{words, Finding, FindingKind, Severity, Subject};
use crate::context::Context;
use crate::exact::{self, describe_count, exact_value, is_iso_date};
use crate::metrics::{channel_values, max_value, ChannelValue};

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for agg in &ctx.snapshot.aggregates {
        let after_cut = ctx
            .as_of()
            .is_some_and(|cut| is_iso_date(&agg.observed_on) && agg.observed_on.as_str() > cut);
        if after_cut {
            continue;
        }
        // Unreadable reported values are an integrity finding.
        let Some(reported) = exact_value(agg.value, &agg.value_as_printed) else {
            continue;
        };
        match agg.kind {
            AggregateKind::Sum => {
                combination(ctx, agg, reported, out);
                mixed_units(ctx, agg, out);
            }
            AggregateKind::Average => combination(ctx, agg, reported, out),
            AggregateKind::PopulationShare => share(ctx, agg, reported, out),
        }
    }
}

/// How a finding names the aggregate: `Table 3 "Sum"` or `reported sum`.
fn label(agg: &ReportedAggregateRecord) -> String {
    match (agg.source_table.is_empty(), agg.source_column.is_empty()) {
        (false, false) => format!("{} \"{}\"", agg.source_table, agg.source_column),
        (false, true) => format!("{} {}", agg.source_table, agg.kind),
        _ => format!("reported {}", agg.kind),
    }
}

/// Where an aggregate was printed, for sentences.
fn printed_in(agg: &ReportedAggregateRecord) -> &str {
    if agg.source_table.is_empty() {
        "The source"
    } else {
        &agg.source_table
    }
}

fn subject_name(ctx: &Context, agg: &ReportedAggregateRecord) -> String {
    match agg.subject_kind {
        SubjectKind::Platform => ctx.platform_name(&agg.subject_code),
        SubjectKind::Region => ctx.region_name(&agg.subject_code),
    }
}

fn printed_or_value(v: &ChannelValue) -> String {
    if v.value_as_printed.trim().is_empty() {
        exact::normalized(v.value).to_string()
    } else {
        v.value_as_printed.clone()
    }
}

fn until(agg: &ReportedAggregateRecord) -> Option<&str> {
    is_iso_date(&agg.observed_on).then_some(agg.observed_on.as_str())
}

/// The latest component values of an aggregate: the subject platform's channels, or
/// every channel of the region's active platforms. `None` when the subject is unknown
/// (reported by the integrity rules).
fn components(
    ctx: &Context,
    agg: &ReportedAggregateRecord,
    metric: Metric,
) -> Option<Vec<ChannelValue>> {
    let code = agg.subject_code.as_str();
    match agg.subject_kind {
        SubjectKind::Platform => {
            ctx.platform(code)?;
            Some(channel_values(ctx, code, metric, until(agg)))
        }
        SubjectKind::Region => {
            let platforms = ctx.active_platforms_of(code);
            if platforms.is_empty() && ctx.region(code).is_none() {
                return None;
            }
            Some(
                platforms
                    .iter()
                    .flat_map(|p| channel_values(ctx, &p.code, metric, until(agg)))
                    .collect(),
            )
        }
    }
}

fn combination(
    ctx: &Context,
    agg: &ReportedAggregateRecord,
    reported: Decimal,
    out: &mut Vec<Finding>,
) {
    let Some(parts) = components(ctx, agg, agg.metric) else {
        return;
    };
    let subject = Subject::Aggregate(agg.code.clone());
    let what = format!(
        "{} for {} ({})",
        label(agg),
        subject_name(ctx, agg),
        agg.metric
    );
    if parts.is_empty() {
        out.push(
            Finding::new(
                FindingKind::AggregateUnverifiable,
                Severity::Info,
                subject,
                format!(
                    "{what} is {}, but the snapshot has no {} observations to recompute it from.",
                    agg.value_as_printed,
                    words(agg.metric)
                ),
            )
            .with_values(Some(agg.value_as_printed.clone()), None)
            .with_provenance([agg.provenance()]),
        );
        return;
    }
    let finding = match (agg.kind, agg.subject_kind) {
        (AggregateKind::Average, SubjectKind::Region) => Some(
            Finding::new(
                FindingKind::AggregateUnverifiable,
                Severity::Info,
                subject,
                format!(
                    "{what} is {}; averages over a region are not recomputed, since how the \
                     source weighted its platforms is unknown.",
                    agg.value_as_printed
                ),
            )
            .with_values(Some(agg.value_as_printed.clone()), None),
        ),
        (AggregateKind::Average, _) => average(agg, &what, subject, reported, &parts),
        _ => sum(agg, &what, subject, reported, &parts, ctx),
    };
    if let Some(f) = finding {
        let provenance =
            std::iter::once(agg.provenance()).chain(parts.iter().map(|p| p.provenance.clone()));
        out.push(f.with_provenance(provenance));
    }
}

fn average(
    agg: &ReportedAggregateRecord,
    what: &str,
    subject: Subject,
    reported: Decimal,
    parts: &[ChannelValue],
) -> Option<Finding> {
    let values: Vec<Decimal> = parts.iter().map(|p| p.value).collect();
    let places = reported.scale();
    let Some(mean) = exact::mean(&values) else {
        return Some(overflow(agg, what, subject));
    };
    let rounded = round_half_up(mean, places);
    if rounded == reported.to_string() {
        return None;
    }
    let listed: Vec<String> = parts.iter().map(printed_or_value).collect();
    Some(
        Finding::new(
            FindingKind::AggregateMismatch,
            Severity::Error,
            subject,
            format!(
                "{what} is printed as {}, but the mean of its {} channel value(s) ({}) is {} \
                 (exactly {mean}), which is {rounded} at the printed precision.",
                agg.value_as_printed,
                parts.len(),
                listed.join(", "),
                round_half_up(mean, places + 3),
            ),
        )
        .with_values(Some(agg.value_as_printed.clone()), Some(rounded)),
    )
}

fn sum(
    agg: &ReportedAggregateRecord,
    what: &str,
    subject: Subject,
    reported: Decimal,
    parts: &[ChannelValue],
    ctx: &Context,
) -> Option<Finding> {
    let values: Vec<Decimal> = parts.iter().map(|p| p.value).collect();
    let Some(total) = exact::sum(&values) else {
        return Some(overflow(agg, what, subject));
    };
    if exact::cmp(&total, &reported) == Ordering::Equal {
        return None;
    }
    let listed: Vec<String> = parts
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                ctx.channel_name(&p.channel_code),
                printed_or_value(p)
            )
        })
        .collect();
    let ratio = exact::finite(reported.to_f64() / total.to_f64());
    let mut message = format!(
        "{what} is printed as {} ({}), but its {} channel value(s) add up to {}: {}.",
        agg.value_as_printed,
        exact::grouped(&reported),
        parts.len(),
        describe_count(&total),
        listed.join(" + "),
    );
    if let Some(r) = ratio {
        message.push_str(&format!(" Reported / recomputed = {r:.4}."));
    }
    let non_negative = values.iter().all(|v| v.units() >= 0);
    if let Some(largest) = max_value(parts).filter(|_| non_negative) {
        if exact::cmp(&reported, &largest.value) == Ordering::Less {
            message.push_str(&format!(
                " The printed sum is smaller than one of its parts ({} {}).",
                ctx.channel_name(&largest.channel_code),
                printed_or_value(largest)
            ));
        }
    }
    let mut finding = Finding::new(
        FindingKind::AggregateMismatch,
        Severity::Error,
        subject,
        message,
    )
    .with_values(
        Some(agg.value_as_printed.clone()),
        Some(exact::normalized(total).to_string()),
    );
    finding.ratio = ratio;
    Some(finding)
}

fn overflow(agg: &ReportedAggregateRecord, what: &str, subject: Subject) -> Finding {
    Finding::new(
        FindingKind::AggregateUnverifiable,
        Severity::Warning,
        subject,
        format!("{what} could not be recomputed: its components are too large or too precise."),
    )
    .with_values(Some(agg.value_as_printed.clone()), None)
}

fn share(ctx: &Context, agg: &ReportedAggregateRecord, reported: Decimal, out: &mut Vec<Finding>) {
    let code = agg.subject_code.as_str();
    let region = match agg.subject_kind {
        SubjectKind::Platform => match ctx.platform(code) {
            Some(p) => p.region_code.clone(),
            None => return,
        },
        SubjectKind::Region => code.to_string(),
    };
    let Some(counts) = components(ctx, agg, agg.metric) else {
        return;
    };
    let subject = Subject::Aggregate(agg.code.clone());
    let who = subject_name(ctx, agg);
    let region_name = ctx.region_name(&region);
    let metric = words(agg.metric);
    let what = format!(
        "{} reports that {} of {region_name}'s population are {metric} of {who}",
        printed_in(agg),
        agg.value_as_printed,
    );
    let year = exact::year_of(&agg.observed_on);
    let population = ctx.population(&region, year);
    let base = std::iter::once(agg.provenance())
        .chain(population.map(HasProvenance::provenance))
        .collect::<Vec<_>>();

    let Some(pop) = population else {
        out.push(
            Finding::new(
                FindingKind::PopulationShareUnverifiable,
                Severity::Info,
                subject,
                format!("{what}; the snapshot has no population of {region_name}, so the share cannot be verified."),
            )
            .with_values(Some(agg.value_as_printed.clone()), None)
            .with_provenance(base),
        );
        return;
    };
    let implied = reported.to_f64() * pop.population as f64;
    let population_text = format!("{} population {}", pop.year, grouped_int(pop.population));

    if counts.is_empty() {
        let mut message = format!(
            "{what}; the snapshot has no {metric} counts for {who}, so the share cannot be \
             verified. It implies about {} {metric} ({} x {population_text}).",
            grouped_f64(implied),
            agg.value_as_printed,
        );
        if agg.subject_kind == SubjectKind::Platform {
            let downloads = channel_values(ctx, code, Metric::Downloads, until(agg));
            let values: Vec<Decimal> = downloads.iter().map(|d| d.value).collect();
            if let (false, Some(total)) = (downloads.is_empty(), exact::sum(&values)) {
                message.push_str(&format!(
                    " For context only: its recorded downloads, {}, are {:.2} per inhabitant; \
                     downloads are not users.",
                    describe_count(&total),
                    total.to_f64() / pop.population as f64
                ));
            }
        }
        out.push(
            Finding::new(
                FindingKind::PopulationShareUnverifiable,
                Severity::Info,
                subject,
                message,
            )
            .with_values(Some(agg.value_as_printed.clone()), None)
            .with_provenance(base),
        );
        return;
    }

    let values: Vec<Decimal> = counts.iter().map(|c| c.value).collect();
    let Some(total) = exact::sum(&values) else {
        return;
    };
    let places = reported.scale();
    let recomputed = share_ratio(&total, pop.population)
        .map(|r| round_half_up(r, places))
        .unwrap_or_else(|| {
            format!(
                "{:.*}",
                places as usize,
                total.to_f64() / pop.population as f64
            )
        });
    if recomputed == reported.to_string() {
        return;
    }
    let provenance = base
        .into_iter()
        .chain(counts.iter().map(|c| c.provenance.clone()));
    out.push(
        Finding::new(
            FindingKind::AggregateMismatch,
            Severity::Warning,
            subject,
            format!(
                "{what}, but the snapshot's {metric} counts, {}, are {recomputed} of the \
                 {population_text} (reported {reported}). Counts and population may be from \
                 different dates.",
                describe_count(&total),
            ),
        )
        .with_values(Some(agg.value_as_printed.clone()), Some(recomputed))
        .with_provenance(provenance),
    );
}

/// `total / population` exactly, when it fits.
fn share_ratio(total: &Decimal, population: i64) -> Option<Ratio> {
    let den = 10i128
        .checked_pow(total.scale())?
        .checked_mul(i128::from(population))?;
    Ratio::new(total.units(), den).ok()
}

fn grouped_int(n: i64) -> String {
    Decimal::new(i128::from(n), 0).map_or_else(|_| n.to_string(), |d| exact::grouped(&d))
}

fn grouped_f64(x: f64) -> String {
    Decimal::from_f64(x.round()).map_or_else(|_| format!("{x:.0}"), |d| exact::grouped(&d))
}

/// Components of a reported sum printed in different units ("494 million" beside
/// "460000"), noted as information.
fn mixed_units(ctx: &Context, agg: &ReportedAggregateRecord, out: &mut Vec<Finding>) {
    let Some(parts) = components(ctx, agg, agg.metric) else {
        return;
    };
    if parts.len() < 2 || parts.iter().any(|p| p.value_as_printed.trim().is_empty()) {
        return;
    }
    let units: Vec<String> = parts
        .iter()
        .map(|p| exact::printed_unit(&p.value_as_printed))
        .collect();
    let mut distinct = units.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() < 2 {
        return;
    }
    let listed: Vec<String> = parts
        .iter()
        .zip(&units)
        .map(|(p, u)| {
            let unit = if u.is_empty() { "no unit" } else { u.as_str() };
            format!(
                "{} {} ({unit})",
                ctx.channel_name(&p.channel_code),
                p.value_as_printed
            )
        })
        .collect();
    out.push(
        Finding::new(
            FindingKind::MixedPrintedUnits,
            Severity::Info,
            Subject::Aggregate(agg.code.clone()),
            format!(
                "The parts of {} for {} are printed in different units: {}.",
                label(agg),
                subject_name(ctx, agg),
                listed.join(", ")
            ),
        )
        .with_hint(
            "A bare figure beside figures in millions or thousands suggests the units were \
                 not applied consistently across the row; check the source.",
        )
        .with_provenance(
            std::iter::once(agg.provenance()).chain(parts.iter().map(|p| p.provenance.clone())),
        ),
    );
}
