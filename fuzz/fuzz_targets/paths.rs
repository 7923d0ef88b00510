//! The pure path functions of fs_deny's resolver: `split` (src/paths.rs),
//! `as_caller` (src/observed.rs) and `followed` (src/onbehalf.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock::fuzzing::{as_caller, followed, split};

fuzz_target!(|data: &[u8]| {
    // Two ids, then a path and a symlink target separated by a NUL (a
    // path a child passes has none).
    let (ids, rest) = data.split_at(data.len().min(8));
    let mut id = [0u8; 8];
    id[..ids.len()].copy_from_slice(ids);
    let pid = i32::from_ne_bytes(id[..4].try_into().unwrap()) & 0x3fff_ffff;
    let tid = i32::from_ne_bytes(id[4..].try_into().unwrap()) & 0x3fff_ffff;
    let (path, target) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };

    check_split(path);
    check_split(target);

    let spelled = as_caller(path, pid, tid);
    let own = format!("/proc/{pid}").into_bytes();
    let prefixes: [(&[u8], Vec<u8>); 6] = [
        (b"/proc/self", own.clone()),
        (
            b"/proc/thread-self",
            format!("/proc/{pid}/task/{tid}").into_bytes(),
        ),
        (b"/dev/fd", format!("/proc/{pid}/fd").into_bytes()),
        (b"/dev/stdin", format!("/proc/{pid}/fd/0").into_bytes()),
        (b"/dev/stdout", format!("/proc/{pid}/fd/1").into_bytes()),
        (b"/dev/stderr", format!("/proc/{pid}/fd/2").into_bytes()),
    ];
    let matched = prefixes.iter().find(|(prefix, _)| {
        path.starts_with(prefix) && matches!(path.get(prefix.len()), None | Some(b'/'))
    });
    match matched {
        Some((prefix, replacement)) => {
            // /proc/self and the rest become the caller's own, and what
            // follows the prefix is kept.
            assert!(spelled.starts_with(&own), "{spelled:?}");
            assert!(spelled.starts_with(replacement));
            assert_eq!(&spelled[replacement.len()..], &path[prefix.len()..]);
            // Spelled once, it names no "self" left to spell.
            assert_eq!(as_caller(&spelled, pid, tid), spelled);
        }
        None => assert_eq!(spelled, path),
    }

    let joined = followed(path, target);
    if target.first() == Some(&b'/') {
        assert_eq!(joined, target);
    } else {
        let (dir, _) = split(path);
        assert!(joined.starts_with(dir));
        assert!(joined.ends_with(target));
        let sep = usize::from(!dir.ends_with(b"/"));
        assert_eq!(joined.len(), dir.len() + sep + target.len());
        if sep == 1 {
            assert_eq!(joined[dir.len()], b'/');
        }
    }
});

/// The directory part and the final name re-join to the path.
fn check_split(path: &[u8]) {
    let (dir, name) = split(path);
    assert!(!name.contains(&b'/'), "{path:?}");
    assert!(!dir.is_empty());
    match path.iter().rposition(|&b| b == b'/') {
        None => assert_eq!((dir, name), (&b"."[..], path)),
        Some(0) => {
            assert_eq!(dir, b"/");
            assert_eq!([dir, name].concat(), path);
        }
        Some(_) => assert_eq!([dir, b"/", name].concat(), path),
    }
}
