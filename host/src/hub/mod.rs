//! Hugging Face Hub datasets: what the user typed ([`spec`]) and which repo files make which
//! config and split ([`layout`]).

pub mod layout;
pub mod spec;
