//! Case 1: fork+exec+wait of /bin/true, bare, under libsandlock, under
//! bubblewrap and under the upstream sandlock, per spawn.

use crate::common::{self, median, typical_policy, SYSTEM_DIRS};
use crate::table::{Table, Target, Value};
use std::ffi::{CString, OsStr};
use std::path::Path;
use std::time::Instant;

const TRUE: &str = "/bin/true";

/// Microseconds of one fork + execv + waitpid of `argv`.
fn fork_exec_us(argv: &[CString]) -> f64 {
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let start = Instant::now();
    // SAFETY: the child only calls execv and _exit.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork");
        if pid == 0 {
            libc::execv(ptrs[0], ptrs.as_ptr());
            libc::_exit(127);
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        assert_eq!(status, 0, "{argv:?} failed");
    }
    start.elapsed().as_secs_f64() * 1e6
}

fn cstrings(args: &[String]) -> Vec<CString> {
    args.iter()
        .map(|a| CString::new(a.as_str()).unwrap())
        .collect()
}

/// bwrap with the same view as the typical policy: the system directories
/// read-only (a merged-/usr link as a link), no network.
fn bwrap_argv(bwrap: &str) -> Vec<String> {
    let mut argv = vec![bwrap.to_string()];
    for dir in SYSTEM_DIRS {
        let path = Path::new(dir);
        if let Ok(target) = std::fs::read_link(path) {
            argv.extend([
                "--symlink".into(),
                target.to_string_lossy().into(),
                dir.to_string(),
            ]);
        } else if path.exists() {
            argv.extend(["--ro-bind".into(), dir.to_string(), dir.to_string()]);
        }
    }
    argv.extend([
        "--unshare-net".into(),
        "--die-with-parent".into(),
        TRUE.into(),
    ]);
    argv
}

/// Why bwrap cannot be measured here, if it cannot.
fn bwrap_problem(argv: &[String]) -> Option<String> {
    match std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "fails here: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        )),
        Err(e) => Some(format!("cannot run: {e}")),
    }
}

/// The upstream package's own median per spawn, or why there is none.
pub fn upstream(args: &[&str]) -> Result<f64, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/upstream.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        return Err(if text.is_empty() {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_string()
        } else {
            text
        });
    }
    text.parse().map_err(|_| format!("printed {text:?}"))
}

pub fn upstream_version() -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/upstream.py");
    let out = std::process::Command::new("python3")
        .args([script, "version"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn run(table: &mut Table) {
    let rounds = common::rounds(7);
    let per_round = if common::quick() { 10 } else { 40 };
    let policy = typical_policy();
    let bare_argv = cstrings(&[TRUE.to_string()]);
    let bwrap = common::which("bwrap").map(|b| bwrap_argv(&b));
    let bwrap_error = match &bwrap {
        None => Some("not installed (make bench-setup)".to_string()),
        Some(argv) => bwrap_problem(argv),
    };
    let bwrap_c = bwrap.as_deref().map(cstrings);
    let version = upstream_version();
    let mut upstream_error = None;

    let (mut bare, mut boxed, mut wrapped, mut upstream_us) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        for _ in 0..per_round {
            bare.push(fork_exec_us(&bare_argv));
            boxed.push(common::time_us(|| {
                let mut sandbox = sandlock::spawn(&policy, &[OsStr::new(TRUE)], [-1; 3]).unwrap();
                sandbox.wait().unwrap();
                assert_eq!(sandbox.exit_reason(), sandlock::ExitReason::Normal(0));
            }));
            if let (None, Some(argv)) = (&bwrap_error, &bwrap_c) {
                wrapped.push(fork_exec_us(argv));
            }
        }
        if upstream_error.is_none() {
            match upstream(&["spawn", &per_round.to_string()]) {
                Ok(us) => upstream_us.push(us),
                Err(e) => upstream_error = Some(e),
            }
        }
    }
    let bare = Value::us(median(bare));
    let boxed = Value::us(median(boxed));
    table.baseline("1. spawn+wait of /bin/true, bare fork+exec", bare);
    table.compare(
        "1. the same under libsandlock (system dirs readable, no network)",
        boxed,
        bare,
        "bare",
        Some(Target::at_most(
            boxed.v / bare.v,
            1.3,
            "within 1.3x of bare",
        )),
    );
    let upstream_row = match &version {
        Some(v) => format!("1. the same under upstream sandlock {v} (PyPI, `Sandbox.run`)"),
        None => "1. the same under upstream sandlock (PyPI, `Sandbox.run`)".to_string(),
    };
    let mut peers = Vec::new();
    for (name, row, error, runs) in [
        (
            "bwrap",
            "1. the same under bubblewrap (same dirs read-only, `--unshare-net`)",
            bwrap_error,
            wrapped,
        ),
        (
            "upstream sandlock",
            upstream_row.as_str(),
            upstream_error,
            upstream_us,
        ),
    ] {
        match error {
            Some(e) => table.missing(row, &e),
            None => {
                let v = Value::us(median(runs));
                table.compare(row, v, bare, "bare", None);
                peers.push((name, v));
            }
        }
    }
    let fastest = peers.iter().min_by(|a, b| a.1.v.total_cmp(&b.1.v));
    if let Some((name, fastest)) = fastest {
        table.compare(
            "1. libsandlock against the fastest peer measured",
            boxed,
            *fastest,
            name,
            Some(Target::at_most(
                boxed.v / fastest.v,
                1.0,
                "faster than every peer",
            )),
        );
    }
}
