//! The `devex` binary: dispatches to the command line.

/// Returns freed memory to the system, so `devex serve` shrinks back after a
/// large computation instead of keeping its peak (see bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    api::cli::main()
}
