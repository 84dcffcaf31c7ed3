//! The `classified` subcommands, one module each.

pub mod lenses;
