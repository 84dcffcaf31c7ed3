//! The `classified` program, built inside the tests package so its end-to-end tests can spawn it.

fn main() {
    classified::cli::main();
}
