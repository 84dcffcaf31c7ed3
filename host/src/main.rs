//! The `classified` command: parse the arguments, pick the command once, run it, and turn a fatal
//! error into one line and an exit code.
//!
//! The tests build this same file into their own copy of the program (`tests/src/bin/`).

use clap::Parser;
use classified::cli::{Cli, Command};
use classified::commands;
use classified::error::Error;
use classified::lens::Catalog;
use classified::settings::{Env, Settings};

pub fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let settings = Settings::load(&Env::from_process()?)?;
    match cli.command {
        Command::Summary(args) => match args.shard.resolve()? {
            Some(spec) => classified::shard::summary::run(args.validate(settings)?, spec),
            None => commands::summary::run(args.validate(settings)?).map(drop),
        },
        Command::Train(args) => commands::train::run(args.validate(settings)?),
        Command::Batches(cmd) => commands::batches::run(cmd, &settings),
        Command::Report(args) => commands::report::run(&args),
        Command::Compare(args) => commands::compare::run(*args, settings),
        Command::Filter(args) => commands::filter::run(args.validate(settings)?),
        Command::Merge(args) => commands::merge::run(args),
        Command::Launch(args) => commands::launch::run(args),
        Command::Lenses(cmd) => {
            let catalog = Catalog::new(settings.lens_dir.iter().cloned().collect());
            commands::lenses::run(cmd, &catalog)
        }
    }
}
