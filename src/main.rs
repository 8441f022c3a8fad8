//! The `splatpress` command: everything is in the library's `cli` module (feature "cli"),
//! which the Python module's console command calls too.

fn main() -> std::process::ExitCode {
    splatpress::cli::main_with_args(std::env::args_os())
}
