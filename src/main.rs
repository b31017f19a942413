use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(covshard::cli::main() as u8)
}

// `plan` builds tens of thousands of small strings (node ids, paths, estimates) per run;
// mimalloc takes `plan --all` on 50,000 tests from about 510 to 440 ms against glibc's
// allocator (benchmarks/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
