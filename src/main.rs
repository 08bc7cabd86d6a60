use std::process::ExitCode;

fn main() -> ExitCode {
    cicero::cli::main()
}
