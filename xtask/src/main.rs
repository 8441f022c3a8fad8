//! Project tasks: `cargo xtask <task>`.

mod ptx;

const HELP: &str = "usage: cargo xtask <task>
tasks:
  ptx [--check] [--validate]   compile kernels/*.cu to kernels/ptx/*.ptx (NVRTC 11.8, compute_75);
                               --check: fail if the committed PTX is stale, then run ptxas;
                               --validate: ptxas sm_75/sm_86 on the committed PTX";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ptx") => ptx::run(&args[1..]),
        _ => Err(HELP.to_string()),
    };
    if let Err(message) = result {
        eprintln!("{message}");
        std::process::exit(1);
    }
}
