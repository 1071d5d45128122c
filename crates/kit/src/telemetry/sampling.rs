//! Which incoming calls are traced: the standard `OTEL_TRACES_SAMPLER` and
//! `OTEL_TRACES_SAMPLER_ARG`, decided once per call before any span exists.
//!
//! A traced call gets the full span (logs carry its fields, the trace is exported). A
//! call that is not traced gets no span at all, which is most of what a cached read
//! costs otherwise (see BENCHMARKS.md); it still has a trace id, which its access log
//! line and internal-error lines carry and which its upstream calls pass on as "not
//! sampled", so one call is never half traced.

use std::sync::OnceLock;

use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt, TraceFlags, TraceId};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample,
};

use crate::config::ConfigError;

pub const ENV_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
pub const ENV_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";

/// How a call without a caller's decision (a root) is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootSampling {
    AlwaysOn,
    AlwaysOff,
    /// The share of roots traced, in [0, 1].
    Ratio(f64),
}

/// The sampler of this process, as the OpenTelemetry specification names them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceSampling {
    /// Follow the caller's `traceparent` decision when there is one.
    pub parent_based: bool,
    pub root: RootSampling,
}

impl TraceSampling {
    /// The default: follow the caller; trace our own roots only when something
    /// exports them (otherwise a root span would be made for nobody).
    pub fn default_for(exporting: bool) -> TraceSampling {
        TraceSampling {
            parent_based: true,
            root: if exporting {
                RootSampling::AlwaysOn
            } else {
                RootSampling::AlwaysOff
            },
        }
    }

    /// Reads `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; unknown names and
    /// ratios outside [0, 1] are refused, so a typo does not silently trace everything
    /// (or nothing).
    pub fn from_lookup(
        exporting: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<TraceSampling, ConfigError> {
        let Some(name) = lookup(ENV_SAMPLER).filter(|v| !v.trim().is_empty()) else {
            return Ok(Self::default_for(exporting));
        };
        let ratio = || -> Result<f64, ConfigError> {
            match lookup(ENV_SAMPLER_ARG).filter(|v| !v.trim().is_empty()) {
                None => Ok(1.0),
                Some(arg) => arg
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| ConfigError {
                        variable: ENV_SAMPLER_ARG,
                        message: format!("{arg:?} is not a ratio between 0 and 1"),
                    }),
            }
        };
        let (parent_based, root) = match name.trim().to_ascii_lowercase().as_str() {
            "always_on" => (false, RootSampling::AlwaysOn),
            "always_off" => (false, RootSampling::AlwaysOff),
            "traceidratio" => (false, RootSampling::Ratio(ratio()?)),
            "parentbased_always_on" => (true, RootSampling::AlwaysOn),
            "parentbased_always_off" => (true, RootSampling::AlwaysOff),
            "parentbased_traceidratio" => (true, RootSampling::Ratio(ratio()?)),
            other => {
                return Err(ConfigError {
                    variable: ENV_SAMPLER,
                    message: format!(
                        "{other:?} is not a sampler; use always_on, always_off, traceidratio, \
                         parentbased_always_on, parentbased_always_off or parentbased_traceidratio"
                    ),
                })
            }
        };
        Ok(TraceSampling { parent_based, root })
    }

    /// The SDK sampler that decides incoming calls.
    pub fn sampler(&self) -> Sampler {
        let root = match self.root {
            RootSampling::AlwaysOn => Sampler::AlwaysOn,
            RootSampling::AlwaysOff => Sampler::AlwaysOff,
            RootSampling::Ratio(r) => Sampler::TraceIdRatioBased(r),
        };
        if self.parent_based {
            Sampler::ParentBased(Box::new(root))
        } else {
            root
        }
    }

    /// The tracer provider's sampler: see [`ProviderSampler`].
    pub fn provider_sampler(&self) -> ProviderSampler {
        let root = match self.root {
            RootSampling::AlwaysOff => Sampler::AlwaysOff,
            RootSampling::AlwaysOn | RootSampling::Ratio(_) => Sampler::AlwaysOn,
        };
        ProviderSampler {
            otherwise: Sampler::ParentBased(Box::new(root)),
        }
    }
}

/// Marks the context of a call [`decide`] chose to trace; every span below it inherits
/// the mark.
#[derive(Debug, Clone, Copy)]
struct TracedCall;

/// The tracer provider's sampler. A call's own span and every span below it (database
/// and Redis commands, upstream calls) follow [`decide`]'s decision for the call, which
/// it marks in the context, so the SDK does not decide again (with `always_on`, a
/// caller's "not sampled" would otherwise drop the spans of a call we trace). Work a
/// process starts on its own follows its parent, and is a root only when roots are
/// traced at all.
#[derive(Debug, Clone)]
pub struct ProviderSampler {
    otherwise: Sampler,
}

impl ShouldSample for ProviderSampler {
    fn should_sample(
        &self,
        parent: Option<&opentelemetry::Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[opentelemetry::KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> opentelemetry_sdk::trace::SamplingResult {
        match parent {
            Some(cx) if cx.get::<TracedCall>().is_some() => {
                opentelemetry_sdk::trace::SamplingResult {
                    decision: SamplingDecision::RecordAndSample,
                    attributes: Vec::new(),
                    trace_state: cx.span().span_context().trace_state().clone(),
                }
            }
            _ => self
                .otherwise
                .should_sample(parent, trace_id, name, span_kind, attributes, links),
        }
    }
}

/// The sampler of incoming calls, set once by [`super::init`]. Without it (servers
/// built in tests without telemetry) every call gets a span, as before sampling.
static CALL_SAMPLER: OnceLock<Sampler> = OnceLock::new();

pub(crate) fn install(sampling: &TraceSampling) {
    let _ = CALL_SAMPLER.set(sampling.sampler());
}

/// What one incoming call gets.
pub(crate) enum CallTracing {
    /// Traced: make the span, joined to this parent context.
    Span(opentelemetry::Context),
    /// Not traced: no span; this context (the caller's trace, with a span id of our
    /// own marked not sampled) is current while the call runs, for its logs and its
    /// upstream calls.
    Unsampled(opentelemetry::Context),
}

/// Decides whether the call named `name`, whose caller sent `parent`, is traced.
pub(crate) fn decide(parent: opentelemetry::Context, name: &str) -> CallTracing {
    match CALL_SAMPLER.get() {
        Some(sampler) => decide_with(sampler, parent, name),
        None => CallTracing::Span(parent),
    }
}

fn decide_with(sampler: &Sampler, parent: opentelemetry::Context, name: &str) -> CallTracing {
    let ids = RandomIdGenerator::default();
    let caller = parent.span().span_context().clone();
    let trace_id = if caller.is_valid() {
        caller.trace_id()
    } else {
        ids.new_trace_id()
    };
    let result = sampler.should_sample(Some(&parent), trace_id, name, &SpanKind::Server, &[], &[]);
    if result.decision == SamplingDecision::RecordAndSample {
        return CallTracing::Span(parent.with_value(TracedCall));
    }
    let own = SpanContext::new(
        trace_id,
        ids.new_span_id(),
        TraceFlags::default(),
        true,
        result.trace_state,
    );
    CallTracing::Unsampled(parent.with_remote_span_context(own))
}

/// The trace context of the code running now: the current span's when it has one,
/// otherwise that of an untraced call ([`CallTracing::Unsampled`]).
pub fn current_context() -> opentelemetry::Context {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = tracing::Span::current();
    if span.is_disabled() {
        opentelemetry::Context::current()
    } else {
        span.context()
    }
}

/// The trace id of the code running now, if it runs for a call.
pub fn current_trace_id() -> Option<TraceId> {
    let id = current_context().span().span_context().trace_id();
    (id != TraceId::INVALID).then_some(id)
}

/// `work`, run in the trace of the code running now (its span, or an untraced call's
/// context) wherever it is polled: for work a call hands to another task.
pub fn in_current_trace<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    use opentelemetry::context::FutureExt as _;
    use tracing::Instrument as _;
    work.with_context(opentelemetry::Context::current())
        .instrument(tracing::Span::current())
}

/// Whether the code running now is part of a traced call: client spans (Redis
/// commands) are made only then.
pub fn in_traced_call() -> bool {
    !tracing::Span::current().is_disabled()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::SpanId;
    use std::collections::HashMap;

    fn parse(exporting: bool, vars: &[(&str, &str)]) -> Result<TraceSampling, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TraceSampling::from_lookup(exporting, |k| vars.get(k).cloned())
    }

    #[test]
    fn roots_are_traced_by_default_only_when_exported() {
        let exported = parse(true, &[]).unwrap();
        assert_eq!(exported.root, RootSampling::AlwaysOn);
        assert!(exported.parent_based);
        let local = parse(false, &[]).unwrap();
        assert_eq!(local.root, RootSampling::AlwaysOff);
        assert!(local.parent_based);
    }

    #[test]
    fn the_standard_names_and_ratio_are_read() {
        let s = parse(
            false,
            &[
                (ENV_SAMPLER, "parentbased_traceidratio"),
                (ENV_SAMPLER_ARG, "0.25"),
            ],
        )
        .unwrap();
        assert_eq!(
            s,
            TraceSampling {
                parent_based: true,
                root: RootSampling::Ratio(0.25)
            }
        );
        let s = parse(false, &[(ENV_SAMPLER, "ALWAYS_ON")]).unwrap();
        assert_eq!(
            s,
            TraceSampling {
                parent_based: false,
                root: RootSampling::AlwaysOn
            }
        );
        // The specification's default ratio.
        let s = parse(true, &[(ENV_SAMPLER, "traceidratio")]).unwrap();
        assert_eq!(s.root, RootSampling::Ratio(1.0));
    }

    #[test]
    fn unknown_samplers_and_bad_ratios_are_refused() {
        let e = parse(true, &[(ENV_SAMPLER, "sometimes")]).unwrap_err();
        assert_eq!(e.variable, ENV_SAMPLER);
        for bad in ["1.5", "-0.1", "half"] {
            let e = parse(
                true,
                &[(ENV_SAMPLER, "traceidratio"), (ENV_SAMPLER_ARG, bad)],
            )
            .unwrap_err();
            assert_eq!(e.variable, ENV_SAMPLER_ARG, "{bad}");
        }
    }

    fn remote_parent(sampled: bool) -> opentelemetry::Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            flags,
            true,
            Default::default(),
        ))
    }

    fn decided_by(sampling: TraceSampling, parent: opentelemetry::Context) -> CallTracing {
        decide_with(&sampling.sampler(), parent, "x")
    }

    /// The trace id and flags an untraced call passes on.
    fn passed_on(tracing: CallTracing) -> (TraceId, bool) {
        match tracing {
            CallTracing::Unsampled(cx) => {
                let sc = cx.span().span_context().clone();
                assert!(sc.is_valid());
                (sc.trace_id(), sc.is_sampled())
            }
            CallTracing::Span(_) => panic!("expected an untraced call"),
        }
    }

    #[test]
    fn an_untraced_call_passes_on_its_callers_trace_as_not_sampled() {
        let local = TraceSampling::default_for(false);
        let (trace, sampled) = passed_on(decided_by(local, remote_parent(false)));
        assert_eq!(trace, TraceId::from(7u128));
        assert!(!sampled);
        // A root gets a trace id of its own, for its logs and upstream calls.
        let (trace, sampled) = passed_on(decided_by(local, opentelemetry::Context::new()));
        assert_ne!(trace, TraceId::INVALID);
        assert!(!sampled);
    }

    #[test]
    fn the_spans_of_a_traced_call_are_sampled_whatever_its_caller_said() {
        // always_on traces a call whose caller did not sample it: its spans must not be
        // dropped by the SDK for following the caller.
        let always = TraceSampling {
            parent_based: false,
            root: RootSampling::AlwaysOn,
        };
        let CallTracing::Span(cx) = decided_by(always, remote_parent(false)) else {
            panic!("always_on traces every call");
        };
        let provider = always.provider_sampler();
        let sample = |cx: &opentelemetry::Context| {
            provider
                .should_sample(
                    Some(cx),
                    TraceId::from(7u128),
                    "x",
                    &SpanKind::Server,
                    &[],
                    &[],
                )
                .decision
        };
        assert_eq!(sample(&cx), SamplingDecision::RecordAndSample);
        // Without the call's mark, a span under an unsampled parent is dropped.
        assert_eq!(sample(&remote_parent(false)), SamplingDecision::Drop);
        assert_eq!(
            sample(&remote_parent(true)),
            SamplingDecision::RecordAndSample
        );
    }

    /// Keeps the spans that end, in memory.
    #[derive(Debug, Clone, Default)]
    struct Ended(std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

    impl opentelemetry_sdk::trace::SpanProcessor for Ended {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
        fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
            self.0.lock().unwrap().push(span);
        }
        fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(
            &self,
            _: std::time::Duration,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_call_traced_against_its_callers_decision_is_exported_with_the_spans_below_it() {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let always = TraceSampling {
            parent_based: false,
            root: RootSampling::AlwaysOn,
        };
        let ended = Ended::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_sampler(always.provider_sampler())
            .with_span_processor(ended.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let CallTracing::Span(cx) = decided_by(always, remote_parent(false)) else {
                panic!("always_on traces every call");
            };
            let call = tracing::info_span!("call");
            let _ = call.set_parent(cx);
            call.in_scope(|| tracing::info_span!("statement").in_scope(|| {}));
        });
        let ended = ended.0.lock().unwrap();
        let mut names: Vec<&str> = ended.iter().map(|s| s.name.as_ref()).collect();
        names.sort();
        assert_eq!(names, ["call", "statement"]);
        assert!(ended
            .iter()
            .all(|s| s.span_context.trace_id() == TraceId::from(7u128)
                && s.span_context.is_sampled()));
    }

    #[test]
    fn parent_based_sampling_follows_the_caller() {
        let local = TraceSampling::default_for(false);
        assert!(matches!(
            decided_by(local, remote_parent(true)),
            CallTracing::Span(_)
        ));
        assert!(matches!(
            decided_by(local, remote_parent(false)),
            CallTracing::Unsampled(_)
        ));
        assert!(matches!(
            decided_by(local, opentelemetry::Context::new()),
            CallTracing::Unsampled(_)
        ));
        let exported = TraceSampling::default_for(true);
        assert!(matches!(
            decided_by(exported, opentelemetry::Context::new()),
            CallTracing::Span(_)
        ));
        assert!(matches!(
            decided_by(exported, remote_parent(false)),
            CallTracing::Unsampled(_)
        ));
    }
}
