//! References that do not resolve, invalid dates, unreadable values and duplicates.

use std::collections::{BTreeMap, BTreeSet};

use govlens_dataset::{HasProvenance, ObservationRecord, SubjectKind};

use super::{Finding, FindingKind, Severity, Subject};
use crate::context::Context;
use crate::exact::{exact_value, is_iso_date};

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    references(ctx, out);
    observations(ctx, out);
    aggregates(ctx, out);
}

fn unknown(subject: Subject, message: String) -> Finding {
    Finding::new(
        FindingKind::UnknownReference,
        Severity::Warning,
        subject,
        message,
    )
}

fn references(ctx: &Context, out: &mut Vec<Finding>) {
    let snap = ctx.snapshot;
    for p in ctx.platforms() {
        if ctx.region(&p.region_code).is_none() {
            out.push(
                unknown(
                    Subject::Platform(p.code.clone()),
                    format!(
                        "Platform {} refers to unknown region {:?}.",
                        p.name, p.region_code
                    ),
                )
                .with_provenance([p.provenance()]),
            );
        }
    }
    for p in &snap.populations {
        if ctx.region(&p.region_code).is_none() {
            out.push(
                unknown(
                    Subject::Population {
                        region: p.region_code.clone(),
                        year: p.year,
                    },
                    format!(
                        "A {} population refers to unknown region {:?}.",
                        p.year, p.region_code
                    ),
                )
                .with_provenance([p.provenance()]),
            );
        }
    }
    let catalogue: BTreeSet<&str> = snap
        .service_functions
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    for f in &snap.platform_functions {
        let subject = || Subject::PlatformFunction {
            platform: f.platform_code.clone(),
            function: f.function_code.clone(),
        };
        if ctx.platform(&f.platform_code).is_none() {
            out.push(
                unknown(
                    subject(),
                    format!(
                        "A service function refers to unknown platform {:?}.",
                        f.platform_code
                    ),
                )
                .with_provenance([f.provenance()]),
            );
        }
        if !catalogue.contains(f.function_code.as_str()) {
            out.push(
                unknown(
                    subject(),
                    format!(
                        "Function {:?} of {} is not in the service-function catalogue.",
                        f.function_code,
                        ctx.platform_name(&f.platform_code)
                    ),
                )
                .with_provenance([f.provenance()]),
            );
        }
    }
    for d in &snap.policy_documents {
        if ctx.region(&d.region_code).is_none() {
            out.push(
                unknown(
                    Subject::PolicyDocument(d.code.clone()),
                    format!(
                        "Policy document {:?} refers to unknown region {:?}.",
                        d.code, d.region_code
                    ),
                )
                .with_provenance([d.provenance()]),
            );
        }
    }
}

fn observation_subject(o: &ObservationRecord) -> Subject {
    Subject::Observation {
        platform: o.platform_code.clone(),
        channel: o.channel_code.clone(),
        metric: o.metric,
        observed_on: o.observed_on.clone(),
    }
}

fn observations(ctx: &Context, out: &mut Vec<Finding>) {
    let mut unknown_platforms: BTreeMap<&str, Vec<&ObservationRecord>> = BTreeMap::new();
    let mut unknown_channels: BTreeMap<&str, Vec<&ObservationRecord>> = BTreeMap::new();
    let mut keys: BTreeMap<(&str, &str, govlens_dataset::Metric, &str), usize> = BTreeMap::new();
    for o in &ctx.snapshot.observations {
        if ctx.platform(&o.platform_code).is_none() {
            unknown_platforms
                .entry(&o.platform_code)
                .or_default()
                .push(o);
        }
        if ctx.channel(&o.channel_code).is_none() {
            unknown_channels.entry(&o.channel_code).or_default().push(o);
        }
        if !is_iso_date(&o.observed_on) {
            out.push(
                Finding::new(
                    FindingKind::InvalidDate,
                    Severity::Warning,
                    observation_subject(o),
                    format!(
                        "The {} observation of {:?} on {:?} has date {:?}, not YYYY-MM-DD; it is left out of every metric.",
                        o.metric, o.platform_code, o.channel_code, o.observed_on
                    ),
                )
                .with_provenance([o.provenance()]),
            );
        }
        if exact_value(o.value, &o.value_as_printed).is_none() {
            out.push(
                Finding::new(
                    FindingKind::UnreadableValue,
                    Severity::Warning,
                    observation_subject(o),
                    format!(
                        "The {} observation of {:?} on {:?} ({}) has no usable value (printed {:?}); it is left out of every metric.",
                        o.metric, o.platform_code, o.channel_code, o.observed_on, o.value_as_printed
                    ),
                )
                .with_values(Some(o.value_as_printed.clone()), None)
                .with_provenance([o.provenance()]),
            );
        }
        *keys
            .entry((&o.platform_code, &o.channel_code, o.metric, &o.observed_on))
            .or_default() += 1;
    }
    for (code, records) in unknown_platforms {
        out.push(
            unknown(
                Subject::Platform(code.to_string()),
                format!("{} observation(s) refer to unknown platform {code:?}; they count for no platform.", records.len()),
            )
            .with_provenance(records.iter().map(|o| o.provenance())),
        );
    }
    for (code, records) in unknown_channels {
        out.push(
            unknown(
                Subject::Channel(code.to_string()),
                format!(
                    "{} observation(s) refer to unknown channel {code:?}; they are used, but the channel is in no app-store universe.",
                    records.len()
                ),
            )
            .with_provenance(records.iter().map(|o| o.provenance())),
        );
    }
    for ((platform, channel, metric, date), n) in keys {
        if n > 1 {
            out.push(Finding::new(
                FindingKind::DuplicateObservation,
                Severity::Warning,
                Subject::Observation {
                    platform: platform.to_string(),
                    channel: channel.to_string(),
                    metric,
                    observed_on: date.to_string(),
                },
                format!("{n} observations of {metric} of {platform:?} on {channel:?} on {date}; the last one in the snapshot is used."),
            ));
        }
    }
}

fn aggregates(ctx: &Context, out: &mut Vec<Finding>) {
    for a in &ctx.snapshot.aggregates {
        let subject = || Subject::Aggregate(a.code.clone());
        let known = match a.subject_kind {
            SubjectKind::Platform => ctx.platform(&a.subject_code).is_some(),
            SubjectKind::Region => ctx.region(&a.subject_code).is_some(),
        };
        if !known {
            out.push(
                unknown(
                    subject(),
                    format!(
                        "Aggregate {:?} is about unknown {} {:?}; it is not checked.",
                        a.code, a.subject_kind, a.subject_code
                    ),
                )
                .with_provenance([a.provenance()]),
            );
        }
        if !a.observed_on.is_empty() && !is_iso_date(&a.observed_on) {
            out.push(
                Finding::new(
                    FindingKind::InvalidDate,
                    Severity::Warning,
                    subject(),
                    format!("Aggregate {:?} has date {:?}, not YYYY-MM-DD; it is checked against the latest values.", a.code, a.observed_on),
                )
                .with_provenance([a.provenance()]),
            );
        }
        if exact_value(a.value, &a.value_as_printed).is_none() {
            out.push(
                Finding::new(
                    FindingKind::UnreadableValue,
                    Severity::Warning,
                    subject(),
                    format!(
                        "Aggregate {:?} has no usable value (printed {:?}); it is not checked.",
                        a.code, a.value_as_printed
                    ),
                )
                .with_values(Some(a.value_as_printed.clone()), None)
                .with_provenance([a.provenance()]),
            );
        }
    }
}
