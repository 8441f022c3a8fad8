//! The reader fuzzer (placeholder seam: filled in by the fuzzing work).

fn main() {
    eprintln!("splatpress-fuzz: not built yet");
    std::process::exit(2);
}
