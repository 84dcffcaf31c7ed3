//! The `classified` command.

fn main() {
    classified::cli::main();
}
