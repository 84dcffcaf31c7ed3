//! `classified lenses …` (placeholder until the component work lands).

use crate::error::Error;
use crate::lens::Catalog;

#[derive(Debug, clap::Subcommand)]
pub enum LensesCommand {
    /// List the built-in and user lenses.
    List,
}

pub fn run(cmd: LensesCommand, catalog: &Catalog) -> Result<(), Error> {
    match cmd {
        LensesCommand::List => {
            for name in catalog.names() {
                println!("{name}");
            }
            Ok(())
        }
    }
}
