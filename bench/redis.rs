//! Case 5: redis-server bare and in a sandbox that may bind its port,
//! driven by redis-benchmark on loopback.

use crate::common::{self, median, typical_policy};
use crate::table::{Table, Target, Value};
use sandlock::Sandbox;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server in the foreground, on loopback, persisting nothing.
fn server_argv(server: &str, port: &str) -> Vec<String> {
    [
        server,
        "--port",
        port,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--logfile",
        "",
    ]
    .map(String::from)
    .to_vec()
}

fn answers_ping(port: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(format!("127.0.0.1:{port}")) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// Supervises the sandbox, if any, while `done` is false; at most 10 s.
fn serve_until(
    sandbox: &mut Option<Sandbox>,
    mut done: impl FnMut() -> bool,
) -> Result<(), String> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > Duration::from_secs(120) {
            return Err("timed out".into());
        }
        match sandbox {
            Some(sandbox) => {
                let mut fd = libc::pollfd {
                    fd: sandbox.fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut fd, 1, 10) };
                if common::drain(sandbox) {
                    return Err(format!("the server exited: {:?}", sandbox.exit_reason()));
                }
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    Ok(())
}

/// SET and GET requests per second from redis-benchmark.
fn benchmark(
    tool: &str,
    port: &str,
    requests: &str,
    sandbox: &mut Option<Sandbox>,
) -> Result<(f64, f64), String> {
    let mut child = Command::new(tool)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-t",
            "set,get",
            "-n",
            requests,
            "-q",
            "--csv",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{tool}: {e}"))?;
    let mut status = None;
    serve_until(sandbox, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    })?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let rps = |test: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("\"{test}\"")))
            .and_then(|l| l.split(',').nth(1))
            .and_then(|v| v.trim_matches('"').parse::<f64>().ok())
            .ok_or_else(|| format!("no {test} result in {out:?}"))
    };
    Ok((rps("SET")?, rps("GET")?))
}

fn round(server: &str, tool: &str, requests: &str, sandboxed: bool) -> Result<(f64, f64), String> {
    let port = crate::syscalls::closed_port().to_string();
    let argv = server_argv(server, &port);
    // The server's log, for the reason when it fails.
    let log_path = std::env::temp_dir().join(format!("sandlock-bench-redis-{port}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| format!("{log_path:?}: {e}"))?;
    let (mut bare, mut sandbox): (Option<Child>, Option<Sandbox>) = (None, None);
    if sandboxed {
        let mut policy = typical_policy();
        policy.net_bind(&port).map_err(|e| e.to_string())?;
        // Inet sockets exist only with a net_allow rule; this one names
        // the server's own port.
        policy
            .net_allow(&format!("tcp://127.0.0.1:{port}"))
            .map_err(|e| e.to_string())?;
        let argv: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
        let out = log.as_raw_fd();
        sandbox = Some(sandlock::spawn(&policy, &argv, [-1, out, out]).map_err(|e| e.to_string())?);
    } else {
        let child = Command::new(&argv[0]).args(&argv[1..]).stdout(log).spawn();
        bare = Some(child.map_err(|e| format!("{server}: {e}"))?);
    }
    let result = serve_until(&mut sandbox, || answers_ping(&port))
        .and_then(|()| benchmark(tool, &port, requests, &mut sandbox));
    if let Some(mut child) = bare {
        // SAFETY: a plain signal to our child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let _ = child.wait();
    }
    if let Some(mut sandbox) = sandbox {
        let _ = sandbox.kill(libc::SIGTERM);
        let _ = sandbox.wait();
    }
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    result.map_err(|e| match text.lines().last() {
        Some(line) => format!("{e}; its log ends: {}", line.trim()),
        None => e,
    })
}

pub fn run(table: &mut Table) {
    let case = "5. redis-server in a sandbox that may bind its port (`net_bind`), redis-benchmark on loopback";
    let (Some(server), Some(tool)) = (
        common::which("redis-server"),
        common::which("redis-benchmark"),
    ) else {
        table.missing(case, "not installed (make bench-setup)");
        return;
    };
    let rounds = common::rounds(5);
    let requests = if common::quick() { "10000" } else { "100000" };
    let (mut set, mut get) = ([vec![], vec![]], [vec![], vec![]]);
    for _ in 0..rounds {
        for (i, sandboxed) in [(0, false), (1, true)] {
            match round(&server, &tool, requests, sandboxed) {
                Ok((s, g)) => {
                    set[i].push(s);
                    get[i].push(g);
                }
                Err(e) => {
                    let which = if sandboxed { "sandboxed" } else { "bare" };
                    table.missing(case, &format!("failed ({which}): {e}"));
                    return;
                }
            }
        }
    }
    for (name, runs) in [("SET", set), ("GET", get)] {
        let [bare, boxed] = runs.map(|v| Value::rps(median(v)));
        table.baseline(
            &format!("5. redis {name}, {requests} requests, 50 clients, bare server"),
            bare,
        );
        table.compare(
            &format!("5. redis {name}, server in a sandbox that may bind its port"),
            boxed,
            bare,
            "bare",
            Some(Target::at_least(
                boxed.v / bare.v,
                0.97,
                "97% of bare or more",
            )),
        );
    }
}
