//! `govlens`: run the embedded suite (`govlens up`) and talk to a running one.

mod client;
mod export;
mod health;
mod import;
mod list;
mod recommend;
mod scoring;
mod table;
mod token;
mod up;

use clap::{Parser, Subcommand};

/// GovLens: assessment of digital-government platforms.
#[derive(Parser)]
#[command(name = "govlens", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole suite in this process on the embedded default (SQLite file,
    /// in-process cache), loading the paper's dataset on first start.
    Up(up::UpArgs),
    /// Import a bundle (a directory of CSV files or a JSON file) into a running suite.
    Import(import::ImportArgs),
    /// Export everything from a running suite as CSV files or JSON.
    Export(export::ExportArgs),
    /// List records of a running suite.
    List(list::ListArgs),
    /// Exit 0 when a service reports SERVING (for container healthchecks).
    Health(health::HealthArgs),
    /// Score regions and platforms with a model (TOE by default).
    Score(scoring::ScoreArgs),
    /// Compare two or more regions side by side, indicator by indicator.
    Compare(scoring::CompareArgs),
    /// Explain one region's or platform's score.
    Explain(scoring::ExplainArgs),
    /// Data-quality findings: aggregates that disagree with their components, gaps, implausible values.
    Quality(scoring::QualityArgs),
    /// Platform metrics computed from observations (Table 2's average and more).
    Metrics(scoring::QualityArgs),
    /// Monte Carlo uncertainty of ranks over weights (and methods).
    Uncertainty(scoring::UncertaintyArgs),
    /// Diagnose the TOE construction dilemmas of a region, with evidence.
    Diagnose(recommend::RegionArgs),
    /// Rank the optimisation paths for a region, with what-if projections.
    Recommend(recommend::RegionArgs),
    /// Write an HTML and Markdown report for one or more regions.
    Report(recommend::ReportArgs),
    /// Run the embedded suite on the paper's dataset and write the Sichuan-Guizhou report.
    Demo(recommend::DemoArgs),
    /// Issue, list and revoke API tokens (in the data service's database).
    Token(token::TokenArgs),
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`govlens score | head`)
/// would panic; the default action ends the process quietly, as other tools do.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before the runtime starts any thread;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> std::process::ExitCode {
    restore_default_sigpipe();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("govlens: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(Cli::parse()))
}

async fn run(cli: Cli) -> std::process::ExitCode {
    let result = match cli.command {
        Command::Up(args) => up::run(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::List(args) => list::run(args).await,
        Command::Health(args) => health::run(args).await,
        Command::Score(args) => scoring::score(args).await,
        Command::Compare(args) => scoring::compare(args).await,
        Command::Explain(args) => scoring::explain_unit(args).await,
        Command::Quality(args) => scoring::quality(args).await,
        Command::Metrics(args) => scoring::metrics(args).await,
        Command::Uncertainty(args) => scoring::uncertainty(args).await,
        Command::Diagnose(args) => recommend::diagnose(args).await,
        Command::Recommend(args) => recommend::recommend(args).await,
        Command::Report(args) => recommend::report(args).await,
        Command::Demo(args) => recommend::demo(args).await,
        Command::Token(args) => token::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("govlens: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
