//! `make bench` (bench/run.sh): how far libsandlock is from doing nothing
//! and from the tools a user would otherwise reach for, each case next to
//! its baseline measured in the same run. Prints a markdown report that
//! bench/run.sh also writes to bench/results.md.
//!
//! Cases: spawn (spawn.rs); a trapped syscall against the raw seccomp
//! round trip, a notification-heavy walk and untrapped syscalls
//! (syscalls.rs); scale (scale.rs); a real server (redis.rs).
//!
//! SANDLOCK_BENCH_QUICK=1 runs one short round of each (a smoke run);
//! SANDLOCK_BENCH_CASES=1,2b,4 runs only those.

mod common;
mod redis;
mod scale;
mod spawn;
mod syscalls;
mod table;

use std::time::Instant;

fn machine() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("")
        .trim()
        .to_string();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / (1024.0 * 1024.0));
    format!(
        "Linux {}, {cpus} CPUs ({model}), {mem_gib:.0} GiB",
        kernel.trim()
    )
}

/// SANDLOCK_BENCH_CASES=2,4 (say) runs only those cases; all by default.
fn wanted(case: &str) -> bool {
    match std::env::var("SANDLOCK_BENCH_CASES") {
        Ok(list) => list.split(',').any(|c| c.trim() == case),
        Err(_) => true,
    }
}

type Case<'a> = (
    &'static str,
    &'static str,
    &'a mut dyn FnMut(&mut table::Table),
);

fn main() {
    let start = Instant::now();
    let mut table = table::Table::default();
    let mut scale = Vec::new();
    let cases: [Case; 7] = [
        ("1", "spawn", &mut spawn::run),
        ("2", "supervised syscall", &mut syscalls::supervised),
        ("2b", "find walk", &mut syscalls::find_walk),
        ("3", "unsupervised syscalls", &mut syscalls::unsupervised),
        ("4", "scale", &mut |_| scale = scale::run()),
        ("5", "redis", &mut redis::run),
        ("other", "limits and fs_deny", &mut syscalls::others),
    ];
    for (case, what, run) in cases {
        if wanted(case) {
            eprintln!("bench: {case}. {what}");
            run(&mut table);
        }
    }

    println!("# libsandlock benchmarks");
    println!();
    println!("{}", machine());
    println!();
    table.print();
    println!();
    for line in scale {
        println!("{line}");
    }
    println!();
    println!(
        "Medians over repeated runs{}; {:.0} s in all. Rerun: `make bench-setup` (once), then `make bench`.",
        if common::quick() { " (SANDLOCK_BENCH_QUICK: one short round each, not for comparison)" } else { "" },
        start.elapsed().as_secs_f64()
    );
}
