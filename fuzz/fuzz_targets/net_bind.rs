//! `net_bind` (Policy::net_bind over src/net/spec.rs's ports parser): one
//! or more calls, one per input line. The policy's ports are exactly the
//! union of the lists the calls took, kept sorted and merged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock::fuzzing::{check_ports, parse_ports, Ports};
use sandlock::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut policy = Policy::new();
    let mut taken: Vec<Ports> = Vec::new();
    for spec in text.split('\n').take(64) {
        let parsed = parse_ports("net_bind", spec);
        let before = policy.net.bind.clone();
        match policy.net_bind(spec) {
            Ok(()) => {
                let ports = parsed.expect("net_bind took what parse_ports refuses");
                check_ports(&ports);
                // The canonical spelling is the same list.
                assert_eq!(
                    parse_ports("net_bind", &canonical(&ports)).as_ref(),
                    Ok(&ports)
                );
                taken.push(ports);
            }
            Err(e) => {
                assert!(e.message().starts_with("net_bind: "), "{:?}", e.message());
                // A refused call changes nothing.
                assert_eq!(policy.net.bind, before, "{spec:?}");
                if let Ok(ports) = parsed {
                    // Only the total of ranges may refuse a valid list.
                    assert!(matches!(ports, Ports::List(_)), "{spec:?}");
                }
            }
        }
        match &policy.net.bind {
            None => assert!(taken.is_empty()),
            Some(bound) => check_ports(bound),
        }
    }
    // Membership once, at the end (per call it made the target slow).
    if let Some(bound) = &policy.net.bind {
        for port in probes(&taken) {
            let expected = taken.iter().any(|p| p.contains(port));
            assert_eq!(bound.contains(port), expected, "port {port} of {bound:?}");
        }
    }
});

/// The ports where membership can change: each range's ends and their
/// neighbours, and the extremes.
fn probes(taken: &[Ports]) -> Vec<u16> {
    let mut ports = vec![0, 1, 65535];
    for p in taken {
        if let Ports::List(ranges) = p {
            for r in ranges {
                ports.extend([r.lo.saturating_sub(1), r.lo, r.hi, r.hi.saturating_add(1)]);
            }
        }
    }
    ports
}

fn canonical(ports: &Ports) -> String {
    match ports {
        Ports::Any => "*".into(),
        Ports::List(ranges) => ranges
            .iter()
            .map(|r| format!("{}-{}", r.lo, r.hi))
            .collect::<Vec<_>>()
            .join(","),
    }
}
