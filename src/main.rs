use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(covshard::cli::main() as u8)
}

// Selection builds tens of thousands of small strings (node ids, paths) per run; mimalloc cut
// its CPU time by about a fifth against glibc's allocator (benchmarks/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
