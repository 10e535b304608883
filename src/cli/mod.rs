//! The command line: clap definitions here, one file per subcommand. This
//! layer orchestrates; it holds no simulation logic.

pub mod check;
pub mod inject;
pub mod list;
pub mod run;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Exit status: it went well (for a check: full marks).
pub const OK: u8 = 0;
/// It was graded or compared, and fell short.
pub const SHORT: u8 = 1;
/// Bad input or usage.
pub const BAD_INPUT: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  distlab list                          every lab
  distlab run 2                         lab 02 with ? blanks to work out
  distlab run 2 --solve                 the same, filled in
  distlab run 2 --template > a.toml     an answers file to fill in
  distlab check 2 a.toml                grade it
  distlab inject 2 --drop 0.6           what a lossier network changes
  distlab inject 3 --crash server@60ms  crash the server mid-run

Exit status: 0 went well (full marks), 1 graded and fell short, 2 bad input.";

#[derive(Parser, Debug)]
#[command(
    name = "distlab",
    version,
    about = "Learn distributed systems by breaking them: deterministic labs on lost messages, retries and RPC.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every lab: number, slug, title and kind.
    List,
    /// Run a lab: its scenario, a timeline with a column per node, and the questions.
    #[command(after_help = "\
Examples:
  distlab run 1                      question mode: outcomes are ? blanks
  distlab run 02 --solve             every blank filled in
  distlab run retry --seed 7         another scenario of the same lab
  distlab run 3 --detail 3           more of the mechanism (bits: 1 internals, 2 timers)
  distlab run 3 --format json        answers, facts and the whole trace
  distlab run labs/my-lab.toml       a lab file of your own
  distlab run 2 --set model.timeout=30ms   what a shorter timeout does
  distlab run 2 --template > answers.toml
  distlab run 9 --template > params.toml   a tune lab's parameter file")]
    Run(RunArgs),
    /// Run a lab with extra faults and compare every answer with the fault-free run.
    #[command(after_help = "\
Examples:
  distlab inject 2 --drop 0.6
  distlab inject 2 --delay 5ms..120ms --duplicate 0.2
  distlab inject 3 --crash server@60ms               (the server reboots by itself)
  distlab inject 3 --crash server@60ms --restart server@200ms
  distlab inject 2 --partition sender/receiver@50ms..250ms
  distlab inject 2 --partition receiver>sender@0ms..300ms   (one-way: acks lost)
  distlab inject 2 --plan faults.toml
  distlab inject 3 --explore 1000                   search for a schedule that breaks an invariant

A plan file holds the same faults as TOML:
  drop = 0.5
  [[fault]]
  at = \"60ms\"
  crash = \"server\"")]
    Inject(InjectArgs),
    /// Grade an answers file, or compare every lab's solved output with expected/.
    #[command(after_help = "\
Examples:
  distlab check 2 answers.toml            grade (exit 0 only for full marks)
  distlab check 9 params.toml             a tune lab: its goals over 50 seeds
  distlab check 2 answers.toml --format json
  distlab check --expected                every lab against expected/
  distlab check --expected 3 --bless      rewrite expected/03-rpc.out (read the diff first)")]
    Check(CheckArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The lab: a number (2 or 02), a slug (retry), or a path to a .toml file.
    pub lab: String,
    /// The scenario's seed [default: the lab's own].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fill in every blank.
    #[arg(long)]
    pub solve: bool,
    /// Show more of the mechanism, as a sum of bits: 1 protocol internals
    /// (acks matched, tables, work started), 2 every timer, 4 cache state.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=7))]
    pub detail: u8,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Override a lab parameter by its dotted path, validated like the file:
    /// network.drop=0.3, model.timeout=80ms, fault.0.at=120ms. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Print an answers file to fill in (for a tune lab: a parameter file),
    /// instead of the run.
    #[arg(long, conflicts_with_all = ["solve", "format"])]
    pub template: bool,
}

#[derive(clap::Args, Debug)]
pub struct InjectArgs {
    /// The lab: a number, a slug, or a path to a .toml file.
    pub lab: String,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Drop probability on every link, from 0 to 1.
    #[arg(long, value_name = "P", value_parser = probability)]
    pub drop: Option<f64>,
    /// Duplication probability on every link, from 0 to 1.
    #[arg(long, value_name = "P", value_parser = probability)]
    pub duplicate: Option<f64>,
    /// Latency uniform between MIN and MAX on every link, such as 5ms..80ms.
    #[arg(long, value_name = "MIN..MAX")]
    pub delay: Option<String>,
    /// Cut A,B from C between T1 and T2: A,B/C@T1..T2 both ways, A,B>C@T1..T2 one way.
    #[arg(long, value_name = "SPEC")]
    pub partition: Vec<String>,
    /// A burst of loss on every link: P@T1..T2 drops with probability P between T1 and T2.
    #[arg(long, value_name = "P@T1..T2")]
    pub burst: Vec<String>,
    /// A burst of duplication on every link: P@T1..T2.
    #[arg(long, value_name = "P@T1..T2")]
    pub dup_burst: Vec<String>,
    /// Crash NODE at time T: NODE@T.
    #[arg(long, value_name = "NODE@T")]
    pub crash: Vec<String>,
    /// Restart NODE at time T: NODE@T.
    #[arg(long, value_name = "NODE@T")]
    pub restart: Vec<String>,
    /// Override a lab parameter by its dotted path, validated like the file:
    /// network.drop=0.3, model.timeout=80ms, fault.0.at=120ms. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Corrupt a disk block at time T: NODE:BLOCK@T, a bit flip unless
    /// /KIND says misdirect (the next write lands on the next block) or
    /// lostwrite (the next write is never stored).
    #[arg(long, value_name = "NODE:BLOCK@T[/KIND]")]
    pub corrupt: Vec<String>,
    /// A latent sector error at time T: reads of the block fail until it is rewritten.
    #[arg(long, value_name = "NODE:BLOCK@T")]
    pub lse: Vec<String>,
    /// Explore N random fault schedules from the lab's fault space instead,
    /// check its invariants, and shrink the first that breaks one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub explore: Option<u64>,
    /// The same faults from a TOML file.
    #[arg(long, value_name = "FILE.toml")]
    pub plan: Option<PathBuf>,
    /// Show more of the mechanism in the faulted run's timeline (bits, as for run).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=7))]
    pub detail: u8,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The lab the answers are for (with --expected: only this lab).
    pub lab: Option<String>,
    /// The answers file, or for a tune lab the parameter file (start from
    /// `distlab run LAB --template`).
    pub answers: Option<PathBuf>,
    /// Override a lab parameter by its dotted path, validated like the file:
    /// network.drop=0.3, model.timeout=80ms, fault.0.at=120ms. Repeatable; added to those the
    /// answers file records.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Compare every lab's `run --solve` output at its default seed with expected/.
    #[arg(long)]
    pub expected: bool,
    /// With --expected: rewrite the expected files from this build.
    #[arg(long, requires = "expected")]
    pub bless: bool,
    /// Where the expected outputs live.
    #[arg(long, value_name = "DIR", default_value = "expected")]
    pub expected_dir: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn probability(s: &str) -> Result<f64, String> {
    let x: f64 =
        s.trim().parse().map_err(|_| format!("`{s}` is not a number: use a number from 0 to 1, such as 0.25"))?;
    crate::lab::schema::Prob::check(x).map(|p| p.0)
}

/// Runs a parsed command line and returns the exit status.
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::List => list::list(),
        Command::Run(a) => run::run(&a),
        Command::Inject(a) => inject::inject(&a),
        Command::Check(a) => check::check(&a),
    }
}
