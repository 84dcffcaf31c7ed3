//! The `classified` program, built inside the tests package so its end-to-end tests can spawn it:
//! the very `main.rs` of the host.

#[path = "../../../host/src/main.rs"]
mod program;

fn main() {
    program::main();
}
