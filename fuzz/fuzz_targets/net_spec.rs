//! The `net_allow` and `net_deny` spec parsers (src/net/spec.rs): what
//! parses is well formed, and its canonical spelling parses to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock::fuzzing::{check_ports, parse_cidr, parse_rule, Cidr, Ports, Protocols, Rule, Target};
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = std::str::from_utf8(data) else {
        return;
    };
    match parse_rule("net_allow", spec) {
        Ok(rule) => {
            check_rule(&rule);
            let again = canonical_rule(&rule);
            assert_eq!(
                parse_rule("net_allow", &again).as_ref(),
                Ok(&rule),
                "{spec:?} spelled {again:?}"
            );
        }
        Err(e) => check_error(e.message(), "net_allow: ", spec),
    }
    match parse_cidr("net_deny", spec) {
        Ok(cidr) => {
            check_cidr(&cidr);
            let again = canonical_cidr(&cidr);
            assert_eq!(
                parse_cidr("net_deny", &again).as_ref(),
                Ok(&cidr),
                "{spec:?}"
            );
            // Whatever net_deny takes, net_allow takes as the same block.
            let rule = parse_rule("net_allow", &again).expect("a net_deny block is a rule");
            assert_eq!(rule.target, Target::Cidr(cidr));
        }
        Err(e) => check_error(e.message(), "net_deny: ", spec),
    }
});

/// A refusal names the call, and its size is bounded whatever the spec:
/// an over-long one is refused before it is looked at (and cut in the
/// message); a shorter one may be quoted a few times, escapes and all.
fn check_error(message: &str, call: &str, spec: &str) {
    assert!(message.starts_with(call), "{message:?}");
    let bound = match spec.len() > 1024 {
        true => 512,
        false => 16 * 1024,
    };
    assert!(
        message.len() < bound,
        "{} byte message for {} byte spec",
        message.len(),
        spec.len()
    );
}

fn check_rule(rule: &Rule) {
    let p = rule.protocols;
    assert!(p.tcp || p.udp || p.icmp);
    assert!(!p.icmp || (!p.tcp && !p.udp && rule.ports == Ports::Any));
    match &rule.target {
        Target::Any => {}
        Target::Cidr(cidr) => check_cidr(cidr),
        Target::Host(name) => {
            assert!(!name.is_empty() && name.len() <= 253, "{name:?}");
            assert!(!name.ends_with('.') && !name.starts_with('.'), "{name:?}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'.'),
                "{name:?}"
            );
            // A name of digits and dots is an address, never a host.
            assert!(
                !name.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
                "{name:?}"
            );
        }
    }
    check_ports(&rule.ports);
}

fn check_cidr(cidr: &Cidr) {
    let max = match cidr.addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(v6) => {
            // Mapped blocks are kept as the IPv4 block they stand for.
            assert!(
                cidr.prefix < 96 || v6.to_ipv4_mapped().is_none(),
                "{cidr:?}"
            );
            128
        }
    };
    assert!(cidr.prefix <= max);
    // Host bits are cleared, so the block holds its own address.
    assert!(cidr.contains(cidr.addr), "{cidr:?}");
}

fn canonical_cidr(cidr: &Cidr) -> String {
    format!("{}/{}", cidr.addr, cidr.prefix)
}

fn canonical_ports(ports: &Ports) -> String {
    match ports {
        Ports::Any => "*".into(),
        Ports::List(ranges) => ranges
            .iter()
            .map(|r| match r.lo == r.hi {
                true => r.lo.to_string(),
                false => format!("{}-{}", r.lo, r.hi),
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn canonical_rule(rule: &Rule) -> String {
    let scheme = match rule.protocols {
        Protocols { icmp: true, .. } => "icmp://",
        Protocols {
            tcp: true,
            udp: true,
            ..
        } => "",
        Protocols { tcp: true, .. } => "tcp://",
        _ => "udp://",
    };
    let target = match &rule.target {
        Target::Any => "*".to_string(),
        Target::Host(name) => name.clone(),
        Target::Cidr(c) if c.addr.is_ipv6() => format!("[{}]", canonical_cidr(c)),
        Target::Cidr(c) => canonical_cidr(c),
    };
    match rule.protocols.icmp {
        true => format!("{scheme}{target}"),
        false => format!("{scheme}{target}:{}", canonical_ports(&rule.ports)),
    }
}
