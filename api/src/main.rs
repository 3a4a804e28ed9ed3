//! The `devex` binary: dispatches to the command line.

fn main() -> std::process::ExitCode {
    api::cli::main()
}
