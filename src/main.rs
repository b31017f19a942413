use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(covshard::cli::main() as u8)
}
