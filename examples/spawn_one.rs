use std::ffi::OsStr;
fn main() {
    let mut p = sandlock::Policy::new();
    for d in ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"] { p.fs_read(OsStr::new(d)).unwrap(); }
    p.fs_read(OsStr::new("/work/main/target/c-tests")).unwrap();
    let argv = [OsStr::new("/work/main/target/c-tests/probe"), OsStr::new("exit"), OsStr::new("0")];
    for _ in 0..3 { let mut s = sandlock::spawn(&p, &argv, [-1;3]).unwrap(); s.wait().unwrap(); }
}
