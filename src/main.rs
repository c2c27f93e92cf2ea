use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(keepalived_rs::cli::run(std::env::args_os()))
}
