use sandlock::Policy;
use std::ffi::OsStr;
use std::time::Instant;
fn main() {
    let mut p = Policy::new();
    for d in ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"] { p.fs_read(OsStr::new(d)).unwrap(); }
    let probe = "/work/main/target/c-tests/probe";
    p.fs_read(OsStr::new("/work/main/target/c-tests")).unwrap();
    let argv = [OsStr::new(probe), OsStr::new("exit"), OsStr::new("0")];
    let n = 300;
    let t = Instant::now();
    for _ in 0..n { let _ = sandlock::spawn::Prepared::new(&p, &argv, [-1; 3]).unwrap(); }
    println!("prepare: {:.0} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { let _ = sandlock::landlock::build_ruleset(&p).unwrap(); }
    println!("  landlock ruleset: {:.0} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { let _ = sandlock::seccomp::filter::build(&p).unwrap(); }
    println!("  filter: {:.0} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let prepared = sandlock::spawn::Prepared::new(&p, &argv, [-1; 3]).unwrap();
    let t = Instant::now();
    for _ in 0..n { let c = sandlock::spawn::spawn(&prepared).unwrap(); let mut s = sandlock::Sandbox::new(c, None).unwrap(); s.wait().unwrap(); }
    println!("spawn+wait (prepared once): {:.0} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { let mut s = sandlock::spawn(&p, &argv, [-1;3]).unwrap(); s.wait().unwrap(); }
    println!("full: {:.0} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
