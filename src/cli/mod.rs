//! The command line: clap definitions here, one file per subcommand. This
//! layer orchestrates; it holds no simulation logic.

pub mod check;
pub mod inject;
pub mod list;
pub mod new;
pub mod output;
pub mod run;
pub mod schema;
pub mod secret;
pub mod validate;

use crate::grade::export::Format as ReportFormat;
use crate::grade::report::Shard;
use crate::grade::Reveal;
use crate::models::MODEL_NAMES;
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
  distlab check --submissions class/    grade a whole class
  distlab validate my-lab.toml          every problem in a lab file

Exit status: 0 went well (full marks), 1 graded and fell short, 2 bad input.";

#[derive(Parser, Debug)]
#[command(
    name = "distlab",
    version,
    about = "Learn distributed systems by breaking them: deterministic labs on lost messages, retries, RPC and AFS caching.",
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
  distlab run 5 --solve --detail 7   AFS: fetches and stores, callbacks, cache state
  distlab run 3 --format json        answers, facts and the whole trace
  distlab run 1 --diagram            a space-time diagram instead of the timeline
  distlab run 1 --diagram --solve    ... with every arrival drawn
  distlab run 3 --ascii              the diagram in plain ASCII
  distlab run 2 --solve --html r.html   a report to open in a browser
  distlab run labs/my-lab.toml       a lab file of your own
  distlab run 2 --set model.timeout=30ms   what a shorter timeout does
  distlab run 6 --set model.data=216,194,107,66   checksums of the book's homework bytes
  distlab run 2 --template > answers.toml
  distlab run 9 --template > params.toml   a tune lab's parameter file
  distlab run 2 --student jdoe       jdoe's variant (course secret: DISTLAB_SECRET)
  distlab run 2 --student jdoe --template > jdoe-02.toml")]
    Run(RunArgs),
    /// Run a lab with extra faults and compare every answer with the fault-free run.
    #[command(after_help = "\
Examples:
  distlab inject 2 --drop 0.6
  distlab inject 2 --delay 5ms..120ms --duplicate 0.2
  distlab inject 3 --crash server@60ms               (the server reboots by itself)
  distlab inject 3 --crash server@60ms --restart server@200ms
  distlab inject 5 --crash server@1230ms --detail 2  (AFS clients revalidate)
  distlab inject 6 --lse host:3@50ms --corrupt mirror:0@150ms/swap
  distlab inject 2 --partition sender/receiver@50ms..250ms
  distlab inject 2 --partition receiver>sender@0ms..300ms   (one-way: acks lost)
  distlab inject 2 --plan faults.toml
  distlab inject 3 --explore 1000                   search for a schedule that breaks an invariant
  distlab inject 3 --crash server@140ms --diagram     the faulted run as a diagram
  distlab inject 3 --crash server@140ms --html r.html  both runs side by side

A plan file holds the same faults as TOML:
  drop = 0.5
  [[fault]]
  at = \"60ms\"
  crash = \"server\"")]
    Inject(InjectArgs),
    /// Grade an answers file or a class folder, or compare every lab's solved output with expected/.
    #[command(after_help = "\
Examples:
  distlab check 2 answers.toml            grade (exit 0 only for full marks)
  distlab check 9 params.toml             a tune lab: its goals over 50 seeds
  distlab check 2 answers.toml --format json
  distlab check 2 answers.toml --student jdoe --format gradescope --output results.json
  distlab check --submissions class/      a table of students × labs
  distlab check --submissions class/ --labs 1,2 --format csv --output grades.csv
  distlab check --submissions class/ --variants --secret-file secret.txt
  distlab check --submissions class/ --shard 2/3 --format json --output part2.json
  distlab check --merge part1.json part2.json part3.json --format junit
  distlab check --expected                every lab against expected/
  distlab check --expected 3 --bless      rewrite expected/03-rpc.out (read the diff first)

A class folder holds one folder per student (its name is the student id),
each with answers files that name their lab: class/<student>/02-retry.toml.
A student variant's seed comes from the lab, the student id and the course
secret (DISTLAB_SECRET or --secret-file); without a secret a public derivation
is used, with a warning. --reveal decides whether expected answers appear:
by default `all` for a file graded at its own seed, `never` for a student
variant, a class and a merge.

Exit status: single file: 0 full marks, 1 not; class or merge: 0 everything
graded (whatever the scores), 1 some submissions could not be graded; 2 bad
input or usage.")]
    Check(CheckArgs),
    /// List every problem in lab files (all of them, not just the first), with file:line:col.
    #[command(after_help = "\
Examples:
  distlab validate my-lab.toml
  distlab validate labs/                  every .toml file in a folder

Exit status: 0 every file is valid, 1 some problems were found, 2 bad usage.")]
    Validate(ValidateArgs),
    /// Write a commented starter lab for a built-in model (it validates and runs).
    #[command(after_help = "\
Examples:
  distlab new labs/07-my-retry.toml --model reliable
  distlab new my-rpc.toml --model rpc && distlab run my-rpc.toml --solve

The lab number and slug come from the file name (07-my-retry.toml: lab 7,
slug my-retry). An existing file is never overwritten.")]
    New(NewArgs),
    /// Print a JSON Schema of the lab format, for editors (taplo, Even Better TOML).
    #[command(after_help = "\
Examples:
  distlab schema > distlab-lab.schema.json

Then point your editor at it, for instance with a first line in the lab file:
  #:schema ./distlab-lab.schema.json")]
    Schema,
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
    /// (acks matched, tables, work started), 2 every timer and heartbeat,
    /// 4 state such as caches and replica logs. What each bit shows in each
    /// lab: docs/LAB_FORMAT.md.
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
    #[arg(long, conflicts_with_all = ["solve", "format", "diagram", "ascii", "html"])]
    pub template: bool,
    /// A student's variant: its seed comes from the lab, this id and the
    /// course secret, and is never shown (the sheet shows a variant code).
    #[arg(long, value_name = "ID", conflicts_with = "seed")]
    pub student: Option<String>,
    /// The course secret for --student, from a file [default: $DISTLAB_SECRET].
    #[arg(long, value_name = "FILE", requires = "student")]
    pub secret_file: Option<PathBuf>,
    #[command(flatten)]
    pub pictures: PictureArgs,
}

/// How to picture a run, for `run` and `inject`.
#[derive(clap::Args, Debug, Default)]
pub struct PictureArgs {
    /// Draw a space-time diagram in place of the timeline: a line per node,
    /// time running down, an arrow per message from send to arrival.
    #[arg(long, conflicts_with = "format")]
    pub diagram: bool,
    /// Draw the diagram with ASCII characters only (implies --diagram).
    #[arg(long, conflicts_with = "format")]
    pub ascii: bool,
    /// Write a self-contained HTML report (diagram, scenario, questions) to
    /// FILE, `-` for stdout. Nothing else is printed unless --diagram is given.
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub html: Option<PathBuf>,
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
    /// /KIND says swap (two neighbouring bytes trade places), misdirect (the
    /// next write lands on the next block) or lostwrite (the next write is
    /// never stored).
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
    /// --diagram and --ascii draw the faulted run; --html shows both runs side by side.
    #[command(flatten)]
    pub pictures: PictureArgs,
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
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Whether expected answers appear in the report [default: all for a file
    /// at its own seed; never for a student variant, a class or a merge].
    #[arg(long, value_enum)]
    pub reveal: Option<Reveal>,
    /// Grade the file as this student's variant (it must name this student,
    /// or no one).
    #[arg(long, value_name = "ID", conflicts_with_all = ["expected", "submissions", "merge"])]
    pub student: Option<String>,
    /// The course secret for student variants, from a file [default: $DISTLAB_SECRET].
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Grade a class: DIR/<student>/<answers files>, each file naming its lab.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["expected", "merge"])]
    pub submissions: Option<PathBuf>,
    /// With --submissions: only these labs, as columns [default: every lab the files name].
    #[arg(long, value_name = "LAB,...", value_delimiter = ',', requires = "submissions")]
    pub labs: Vec<String>,
    /// With --submissions: grade with N threads [default: every core].
    #[arg(long, value_name = "N", requires = "submissions", value_parser = jobs)]
    pub jobs: Option<usize>,
    /// With --submissions: grade only the K-th of N deterministic slices of the students.
    #[arg(long, value_name = "K/N", requires = "submissions", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// With --submissions: grade every file as its folder's student variant
    /// (a file naming a `seed` is then an error).
    #[arg(long, requires = "submissions")]
    pub variants: bool,
    /// Join the JSON reports of --shard runs (or re-render one report) in any format.
    #[arg(long, value_name = "FILE.json", num_args = 1.., conflicts_with = "expected")]
    pub merge: Vec<PathBuf>,
    /// Write the report to FILE (atomically: all of it or nothing) instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "expected")]
    pub output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Lab files, or folders of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// Where to write the lab: a new .toml file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The built-in model the lab uses.
    #[arg(long, value_name = "MODEL", value_parser = clap::builder::PossibleValuesParser::new(MODEL_NAMES))]
    pub model: String,
}

fn jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a number of threads: use a whole number from 1 to 1024")),
    }
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
        Command::Validate(a) => validate::validate(&a),
        Command::New(a) => new::new(&a),
        Command::Schema => schema::schema(),
    }
}
