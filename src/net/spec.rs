//! The text form of network rules, as a C caller writes them.
//!
//! A `net_allow` rule is `[scheme://]target[:ports]`: the scheme is `tcp`,
//! `udp` or `icmp` (none means tcp and udp); the target is a hostname, an
//! IPv4 or IPv6 address, a CIDR, or `*`/empty for any address (an IPv6
//! target is bracketed when ports follow, `[::1]:9000`, and may be bare when
//! they do not, `fe80::/10`); the ports are `*`, or a comma list of ports and
//! `lo-hi` ranges, and leaving them out means all ports (ICMP takes none).
//! `net_bind` takes only the ports part and `net_deny` only an address or
//! CIDR. Parsing is strict on purpose: anything ambiguous (`010.0.0.1`,
//! `10.1`), malformed or with trailing junk is refused with a message that
//! names the call and quotes the spec, rather than guessed at.

use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest spec we look at; real rules are far shorter, and a bound keeps
/// error messages and work small.
const MAX_SPEC_LEN: usize = 1024;

/// Longest hostname (RFC 1123, without the optional trailing dot).
const MAX_HOSTNAME_LEN: usize = 253;

/// Longest label of a hostname.
const MAX_LABEL_LEN: usize = 63;

/// Which protocols a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Protocols {
    pub tcp: bool,
    pub udp: bool,
    pub icmp: bool,
}

/// An address block. `addr` always has the bits below `prefix` cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// The block holding exactly `addr`: a /32 or a /128.
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr {
            addr,
            prefix: max_prefix(addr),
        }
    }

    /// Whether `ip` lies in the block. An IPv4 address is never in an IPv6
    /// block or the other way round; callers that want `::ffff:a.b.c.d` to
    /// count as IPv4 pass it through [`effective_destination`] first.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.addr
            }
            _ => false,
        }
    }
}

/// Where a rule lets traffic go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Any address of any family.
    Any,
    Cidr(Cidr),
    /// A hostname, lowercased, without a trailing dot.
    Host(String),
}

/// An inclusive range of ports, `lo <= hi`, both at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

/// Which ports a rule covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ports {
    Any,
    /// Sorted by `lo`, overlapping and adjacent ranges merged, never empty.
    List(Vec<PortRange>),
}

impl Ports {
    pub fn contains(&self, port: u16) -> bool {
        match self {
            Ports::Any => true,
            Ports::List(ranges) => ranges.iter().any(|r| r.lo <= port && port <= r.hi),
        }
    }
}

/// One `net_allow` rule. For ICMP rules `ports` is always [`Ports::Any`]:
/// ICMP has no ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub protocols: Protocols,
    pub target: Target,
    pub ports: Ports,
}

/// `sandlock_policy_net_allow` spec. `what` is the API name used in messages ("net_allow").
pub fn parse_rule(what: &str, spec: &str) -> Result<Rule> {
    check_spec(spec)
        .and_then(rule)
        .map_err(|why| invalid(what, spec, &why))
}

/// A ports list alone ("8080", "8080,9000-9005", "*"): the ports part of
/// a `net_bind` spec (see `parse_bind`), fuzzed by itself.
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_ports(what: &str, spec: &str) -> Result<Ports> {
    check_spec(spec)
        .and_then(ports)
        .map_err(|why| invalid(what, spec, &why))
}

/// One `net_bind` rule: the ports, and the address they may be bound on
/// (`None`: any, the unspecified address included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindRule {
    pub address: Option<IpAddr>,
    pub ports: Ports,
}

/// `sandlock_policy_net_bind` argument: `ports` (on any address), or
/// `address:ports` with an IPv4 address or a bracketed IPv6 one
/// (`127.0.0.1:8080`, `[::1]:8080`).
pub fn parse_bind(what: &str, spec: &str) -> Result<BindRule> {
    check_spec(spec)
        .and_then(bind_rule)
        .map_err(|why| invalid(what, spec, &why))
}

fn bind_rule(spec: &str) -> Parsed<BindRule> {
    let (address, ports_text) = if let Some(inner) = spec.strip_prefix('[') {
        let Some((inside, after)) = inner.split_once(']') else {
            return Err("missing ']' after a bracketed address".into());
        };
        let address: Ipv6Addr = inside
            .parse()
            .map_err(|_| format!("{inside:?} is not an IPv6 address"))?;
        let Some(ports) = after.strip_prefix(':') else {
            return Err("an address needs its ports: [address]:ports".into());
        };
        (Some(IpAddr::V6(address)), ports)
    } else {
        match spec.matches(':').count() {
            0 => (None, spec),
            1 => {
                let (text, ports) = spec.split_once(':').unwrap_or((spec, ""));
                let address: Ipv4Addr = text.parse().map_err(|_| {
                    format!("{text:?} is not an IPv4 address (no hostnames here; IPv6 goes in brackets: [::1]:8080)")
                })?;
                (Some(IpAddr::V4(address)), ports)
            }
            _ => return Err("an IPv6 address goes in brackets: [address]:ports".into()),
        }
    };
    Ok(BindRule {
        address,
        ports: ports(ports_text)?,
    })
}

/// `sandlock_policy_net_deny` argument: an IPv4/IPv6 address or CIDR, optionally bracketed v6; no scheme, no ports, no hostnames, not empty, not "*".
pub fn parse_cidr(what: &str, spec: &str) -> Result<Cidr> {
    check_spec(spec)
        .and_then(deny_cidr)
        .map_err(|why| invalid(what, spec, &why))
}

/// The address a packet to `ip` really reaches, for matching: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes that IPv4 address; 0.0.0.0 becomes 127.0.0.1 and :: becomes ::1 (connecting to the unspecified address reaches the local host). Anything else unchanged.
pub fn effective_destination(ip: IpAddr) -> IpAddr {
    // Unmap first so that ::ffff:0.0.0.0 also ends up at 127.0.0.1.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => ip,
    }
}

/// Inner parsers say what is wrong as plain text; the public functions add
/// the call name and the spec.
type Parsed<T> = std::result::Result<T, String>;

fn invalid(what: &str, spec: &str, why: &str) -> Error {
    Error::invalid(format!("{what}: {}: {why}", quote(spec)))
}

/// The spec as it appears in messages: Debug quoting, so control characters
/// show as escapes. An over-long spec is cut, or one bad call could produce
/// a message of any size.
fn quote(spec: &str) -> String {
    if spec.len() <= MAX_SPEC_LEN {
        return format!("{spec:?}");
    }
    let mut cut = 64;
    while !spec.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{:?}... ({} bytes)", &spec[..cut], spec.len())
}

/// Checks every kind of spec shares: not empty, not huge, and no whitespace
/// or control characters (which would only hide what the rule says).
fn check_spec(spec: &str) -> Parsed<&str> {
    if spec.is_empty() {
        return Err("empty spec".into());
    }
    if spec.len() > MAX_SPEC_LEN {
        return Err(format!("spec is longer than {MAX_SPEC_LEN} bytes"));
    }
    if let Some(c) = spec.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{c:?} is not allowed in a spec"));
    }
    Ok(spec)
}

/// `[scheme://]target[:ports]`.
fn rule(spec: &str) -> Parsed<Rule> {
    let (protocols, rest) = scheme(spec)?;
    let (target_text, ports_text) = split_target(rest)?;
    let target = target(target_text)?;
    let ports = match ports_text {
        None => Ports::Any,
        Some(_) if protocols.icmp => return Err("icmp has no ports (write icmp://target)".into()),
        Some(text) => ports(text)?,
    };
    Ok(Rule {
        protocols,
        target,
        ports,
    })
}

/// Splits off `scheme://`; without one the rule is for TCP and UDP.
fn scheme(spec: &str) -> Parsed<(Protocols, &str)> {
    let Some((name, rest)) = spec.split_once("://") else {
        let both = Protocols {
            tcp: true,
            udp: true,
            icmp: false,
        };
        return Ok((both, spec));
    };
    let protocols = match name {
        "tcp" => Protocols {
            tcp: true,
            ..Protocols::default()
        },
        "udp" => Protocols {
            udp: true,
            ..Protocols::default()
        },
        "icmp" => Protocols {
            icmp: true,
            ..Protocols::default()
        },
        _ => {
            return Err(format!(
                "unknown scheme {name:?} (expected tcp, udp or icmp)"
            ))
        }
    };
    Ok((protocols, rest))
}

/// Splits `target[:ports]`, returning the ports text only if a ':' was
/// there (so `host:` yields an empty ports text, which is an error later,
/// not "all ports").
fn split_target(rest: &str) -> Parsed<(&str, Option<&str>)> {
    if let Some(inner) = rest.strip_prefix('[') {
        let Some((inside, after)) = inner.split_once(']') else {
            return Err("missing ']' after a bracketed address".into());
        };
        if inside.is_empty() {
            return Err("empty brackets".into());
        }
        if !inside.contains(':') {
            return Err(format!(
                "brackets are only for IPv6 addresses, not {inside:?}"
            ));
        }
        // Keep the brackets: target() knows them to mean "must be IPv6".
        let target = &rest[..inside.len() + 2];
        return match after {
            "" => Ok((target, None)),
            _ => match after.strip_prefix(':') {
                Some(ports) => Ok((target, Some(ports))),
                None => Err(format!("unexpected {after:?} after ']'")),
            },
        };
    }
    if rest.contains('[') {
        return Err("'[' may only open the target".into());
    }
    match rest.matches(':').count() {
        0 => Ok((rest, None)),
        1 => {
            let (target, ports) = rest.split_once(':').unwrap_or((rest, ""));
            if ports.starts_with('/') {
                return Err(format!(
                    "{ports:?} is not a port list (a scheme is written tcp://, udp:// or icmp://)"
                ));
            }
            Ok((target, Some(ports)))
        }
        // Two or more colons without brackets: a bare IPv6 address or CIDR,
        // which cannot carry ports. One that reads as an address and a port
        // too ("::1:80") is refused: brackets say which was meant.
        _ => match looks_like_address_and_port(rest) {
            Some((address, port)) => Err(format!(
                "ambiguous: write [{address}]:{port} for port {port} of {address}, or [{rest}] for the address {rest}"
            )),
            None => Ok((rest, None)),
        },
    }
}

/// A bare IPv6 text whose last group is a decimal port and whose rest is
/// an IPv6 address by itself: (that address, the port).
fn looks_like_address_and_port(text: &str) -> Option<(&str, &str)> {
    if text.contains('/') || text.parse::<Ipv6Addr>().is_err() {
        return None;
    }
    let (address, port) = text.rsplit_once(':')?;
    let is_port = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| p <= 65535);
    (is_port && address.parse::<Ipv6Addr>().is_ok()).then_some((address, port))
}

/// A rule's target: `*`/empty, `[v6]`, an address, a CIDR or a hostname.
fn target(text: &str) -> Parsed<Target> {
    if text.is_empty() || text == "*" {
        return Ok(Target::Any);
    }
    if let Some(inside) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return address_or_cidr(inside).map(Target::Cidr);
    }
    if text.contains(':') || text.contains('/') || is_digits_and_dots(text) {
        return address_or_cidr(text).map(Target::Cidr);
    }
    hostname(text).map(Target::Host)
}

/// `net_deny`: an address or CIDR, possibly a bracketed IPv6 one, and
/// nothing else.
fn deny_cidr(spec: &str) -> Parsed<Cidr> {
    if spec == "*" {
        return Err("'*' is not allowed here: give an address or CIDR".into());
    }
    if spec.contains("://") {
        return Err("a scheme is not allowed here: give an address or CIDR".into());
    }
    if let Some(inner) = spec.strip_prefix('[') {
        let Some(inside) = inner.strip_suffix(']') else {
            return Err(
                "a bracketed address must end with ']' (ports are not allowed here)".into(),
            );
        };
        if !inside.contains(':') {
            return Err(format!(
                "brackets are only for IPv6 addresses, not {inside:?}"
            ));
        }
        return address_or_cidr(inside);
    }
    if spec.matches(':').count() == 1 {
        return Err("ports are not allowed here: give an address or CIDR".into());
    }
    if !spec.contains(':') && !spec.contains('/') && !is_digits_and_dots(spec) {
        return Err("hostnames are not allowed here: give an address or CIDR".into());
    }
    address_or_cidr(spec)
}

/// `addr` or `addr/prefix`, either family, with host bits cleared.
///
/// An IPv4-mapped IPv6 block (inside `::ffff:0:0/96`) is turned into the
/// IPv4 block it stands for, because destinations are matched after
/// [`effective_destination`] has unmapped them: otherwise a rule written
/// `::ffff:10.0.0.1` could never match anything.
fn address_or_cidr(text: &str) -> Parsed<Cidr> {
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr = ip_address(addr_text)?;
    let prefix = match prefix_text {
        None => max_prefix(addr),
        Some(p) => prefix_length(p, max_prefix(addr))?,
    };
    Ok(unmap(Cidr {
        addr: mask(addr, prefix),
        prefix,
    }))
}

/// The IPv4 block a block inside `::ffff:0:0/96` stands for; other blocks
/// unchanged.
fn unmap(cidr: Cidr) -> Cidr {
    match cidr.addr {
        IpAddr::V6(v6) if cidr.prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => Cidr {
                addr: IpAddr::V4(v4),
                prefix: cidr.prefix - 96,
            },
            None => cidr,
        },
        _ => cidr,
    }
}

/// An address: IPv6 if it has a ':', else a strict dotted quad.
fn ip_address(text: &str) -> Parsed<IpAddr> {
    if text.contains(':') {
        // std refuses zone ids (`%eth0`), which a rule has no use for.
        return text
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| format!("{text:?} is not a valid IPv6 address"));
    }
    if text.is_empty() || !is_digits_and_dots(text) {
        return Err(format!("{text:?} is not an IP address"));
    }
    ipv4_address(text).map(IpAddr::V4)
}

/// Exactly four decimal numbers 0-255 without leading zeros. Shorthand like
/// `10.1` and zero-padded numbers (octal to inet_aton, decimal to others)
/// mean different hosts to different tools, so they are refused.
fn ipv4_address(text: &str) -> Parsed<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "{text:?} is not an IPv4 address (expected four numbers a.b.c.d)"
        ));
    }
    for part in &parts {
        if part.len() > 1 && part.starts_with('0') {
            return Err(format!(
                "{text:?} has a leading zero in {part:?} (octal or decimal is ambiguous)"
            ));
        }
        if part.len() > 3 || part.parse::<u16>().map_or(true, |n| n > 255) {
            return Err(format!("{part} in IPv4 address {text:?} is over 255"));
        }
    }
    // Our checks are stricter than std's; std does the conversion.
    text.parse::<Ipv4Addr>()
        .map_err(|_| format!("{text:?} is not a valid IPv4 address"))
}

/// The number after '/', at most `max` (32 or 128).
fn prefix_length(text: &str, max: u8) -> Parsed<u8> {
    let n = decimal(text, "prefix length")?;
    if n > u32::from(max) {
        return Err(format!("prefix length {text} is over {max}"));
    }
    Ok(n as u8)
}

/// A plain decimal number of at most 5 digits (enough for any port or
/// prefix, and sure to fit a u32). No sign, no leading zeros.
fn decimal(text: &str, what: &str) -> Parsed<u32> {
    if text.is_empty() {
        return Err(format!("empty {what}"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {text:?} is not a number"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(format!("{what} {text} has a leading zero"));
    }
    if text.len() > 5 {
        // Too long to be meaningful; report it as out of range.
        return Ok(u32::MAX);
    }
    text.parse::<u32>()
        .map_err(|_| format!("{what} {text:?} is not a number"))
}

/// A hostname in RFC 1123 form, lowercased, trailing dot dropped (so
/// `Example.org.` and `example.org` are the same rule target).
fn hostname(text: &str) -> Parsed<String> {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() {
        return Err(format!("{text:?} is not a hostname"));
    }
    if name.len() > MAX_HOSTNAME_LEN {
        return Err(format!(
            "hostname is longer than {MAX_HOSTNAME_LEN} characters"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(format!(
            "hostname {text:?} contains {c:?} (only letters, digits, '-' and '.' are allowed)"
        ));
    }
    for label in name.split('.') {
        check_label(text, label)?;
    }
    Ok(name.to_ascii_lowercase())
}

/// One dot-separated label of a hostname (characters already checked).
fn check_label(text: &str, label: &str) -> Parsed<()> {
    if label.is_empty() {
        return Err(format!("hostname {text:?} has an empty label"));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "hostname label {label:?} is longer than {MAX_LABEL_LEN} characters"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("hostname label {label:?} starts or ends with '-'"));
    }
    Ok(())
}

/// `*`, or a comma list of ports and `lo-hi` ranges.
fn ports(text: &str) -> Parsed<Ports> {
    if text == "*" {
        return Ok(Ports::Any);
    }
    if text.is_empty() {
        return Err("empty port list (leave out the ':' for all ports)".into());
    }
    let mut ranges = Vec::new();
    for item in text.split(',') {
        if item == "*" {
            return Err("'*' cannot be combined with other ports".into());
        }
        ranges.push(port_range(item)?);
    }
    Ok(Ports::List(merge(ranges)))
}

/// One list item: `port` or `lo-hi`.
fn port_range(item: &str) -> Parsed<PortRange> {
    if item.is_empty() {
        return Err("empty item in port list".into());
    }
    let Some((lo_text, hi_text)) = item.split_once('-') else {
        let port = port(item)?;
        return Ok(PortRange { lo: port, hi: port });
    };
    let (lo, hi) = (port(lo_text)?, port(hi_text)?);
    if lo > hi {
        return Err(format!("port range {item} is backwards ({lo} > {hi})"));
    }
    Ok(PortRange { lo, hi })
}

/// A port number, 1 to 65535. Port 0 means "any free port" to bind() and
/// nothing to connect(), so it is never a useful rule.
fn port(text: &str) -> Parsed<u16> {
    let n = decimal(text, "port")?;
    if n == 0 {
        return Err("port 0 is not allowed (ports are 1 to 65535)".into());
    }
    u16::try_from(n).map_err(|_| format!("port {text} is over 65535"))
}

/// Sorts ranges and merges those that overlap or touch, so that equal port
/// sets always compare equal.
pub(crate) fn merge(mut ranges: Vec<PortRange>) -> Vec<PortRange> {
    ranges.sort_by_key(|r| (r.lo, r.hi));
    let mut merged: Vec<PortRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            // u32 so that hi + 1 cannot overflow at 65535.
            Some(last) if u32::from(r.lo) <= u32::from(last.hi) + 1 => {
                last.hi = last.hi.max(r.hi);
            }
            _ => merged.push(r),
        }
    }
    merged
}

fn is_digits_and_dots(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `addr` with the bits below `prefix` cleared.
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            // checked_shl: a shift by the full width (prefix 0) is an overflow.
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & keep))
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & keep))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP_UDP: Protocols = Protocols {
        tcp: true,
        udp: true,
        icmp: false,
    };
    const TCP: Protocols = Protocols {
        tcp: true,
        udp: false,
        icmp: false,
    };
    const UDP: Protocols = Protocols {
        tcp: false,
        udp: true,
        icmp: false,
    };
    const ICMP: Protocols = Protocols {
        tcp: false,
        udp: false,
        icmp: true,
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn cidr(addr: &str, prefix: u8) -> Target {
        Target::Cidr(Cidr {
            addr: ip(addr),
            prefix,
        })
    }

    fn host(name: &str) -> Target {
        Target::Host(name.to_string())
    }

    fn list(ranges: &[(u16, u16)]) -> Ports {
        Ports::List(
            ranges
                .iter()
                .map(|&(lo, hi)| PortRange { lo, hi })
                .collect(),
        )
    }

    fn rule(protocols: Protocols, target: Target, ports: Ports) -> Rule {
        Rule {
            protocols,
            target,
            ports,
        }
    }

    #[test]
    fn valid_rules() {
        let cases = [
            (
                "example.org:443",
                rule(TCP_UDP, host("example.org"), list(&[(443, 443)])),
            ),
            (
                "10.0.0.0/8:80,443",
                rule(TCP_UDP, cidr("10.0.0.0", 8), list(&[(80, 80), (443, 443)])),
            ),
            (
                "udp://127.0.0.1:53",
                rule(UDP, cidr("127.0.0.1", 32), list(&[(53, 53)])),
            ),
            (":8080", rule(TCP_UDP, Target::Any, list(&[(8080, 8080)]))),
            ("*", rule(TCP_UDP, Target::Any, Ports::Any)),
            ("*:443", rule(TCP_UDP, Target::Any, list(&[(443, 443)]))),
            ("*:*", rule(TCP_UDP, Target::Any, Ports::Any)),
            (
                "[::1]:9000",
                rule(TCP_UDP, cidr("::1", 128), list(&[(9000, 9000)])),
            ),
            ("[::1]", rule(TCP_UDP, cidr("::1", 128), Ports::Any)),
            (
                "icmp://127.0.0.1",
                rule(ICMP, cidr("127.0.0.1", 32), Ports::Any),
            ),
            ("icmp://x", rule(ICMP, host("x"), Ports::Any)),
            (
                "icmp://10.0.0.0/8",
                rule(ICMP, cidr("10.0.0.0", 8), Ports::Any),
            ),
            ("tcp://*:443", rule(TCP, Target::Any, list(&[(443, 443)]))),
            ("tcp://", rule(TCP, Target::Any, Ports::Any)),
            ("localhost", rule(TCP_UDP, host("localhost"), Ports::Any)),
            (
                "Example.ORG.:80",
                rule(TCP_UDP, host("example.org"), list(&[(80, 80)])),
            ),
            ("a-1.b2.c", rule(TCP_UDP, host("a-1.b2.c"), Ports::Any)),
            ("::1", rule(TCP_UDP, cidr("::1", 128), Ports::Any)),
            // Bare addresses that cannot be read as an address and a port.
            (
                "2001:db8::8080",
                rule(TCP_UDP, cidr("2001:db8::8080", 128), Ports::Any),
            ),
            ("fe80::1", rule(TCP_UDP, cidr("fe80::1", 128), Ports::Any)),
            ("[::1:80]", rule(TCP_UDP, cidr("::1:80", 128), Ports::Any)),
            ("fe80::/10", rule(TCP_UDP, cidr("fe80::", 10), Ports::Any)),
            (
                "[fe80::/10]:443",
                rule(TCP_UDP, cidr("fe80::", 10), list(&[(443, 443)])),
            ),
            (
                "[fe80::1/10]:22",
                rule(TCP_UDP, cidr("fe80::", 10), list(&[(22, 22)])),
            ),
            ("10.1.2.3/8", rule(TCP_UDP, cidr("10.0.0.0", 8), Ports::Any)),
            ("0.0.0.0/0", rule(TCP_UDP, cidr("0.0.0.0", 0), Ports::Any)),
            ("::/0", rule(TCP_UDP, cidr("::", 0), Ports::Any)),
            (
                "host:8000-8010,80,8005-9000",
                rule(TCP_UDP, host("host"), list(&[(80, 80), (8000, 9000)])),
            ),
            (
                "host:1-65535",
                rule(TCP_UDP, host("host"), list(&[(1, 65535)])),
            ),
            // IPv4-mapped blocks become the IPv4 blocks they stand for.
            (
                "::ffff:10.0.0.1",
                rule(TCP_UDP, cidr("10.0.0.1", 32), Ports::Any),
            ),
            (
                "[::ffff:10.1.0.0/104]:80",
                rule(TCP_UDP, cidr("10.0.0.0", 8), list(&[(80, 80)])),
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(parse_rule("net_allow", spec), Ok(expected), "spec {spec:?}");
        }
    }

    #[test]
    fn bind_rules() {
        let any = |ports: Ports| BindRule {
            address: None,
            ports,
        };
        let at = |address: &str, ports: Ports| BindRule {
            address: Some(address.parse().unwrap()),
            ports,
        };
        let cases = [
            ("8080", any(list(&[(8080, 8080)]))),
            ("*", any(Ports::Any)),
            ("127.0.0.1:8080", at("127.0.0.1", list(&[(8080, 8080)]))),
            (
                "0.0.0.0:80,443",
                at("0.0.0.0", list(&[(80, 80), (443, 443)])),
            ),
            ("[::1]:9000-9005", at("::1", list(&[(9000, 9005)]))),
            ("[::]:*", at("::", Ports::Any)),
        ];
        for (spec, expected) in cases {
            assert_eq!(parse_bind("net_bind", spec), Ok(expected), "spec {spec:?}");
        }
        let refused = [
            ("::1:8080", "IPv6 address goes in brackets"),
            ("localhost:8080", "is not an IPv4 address"),
            ("127.0.0.1:", "empty port list"),
            ("[::1]", "an address needs its ports"),
            ("[::1:8080", "missing ']'"),
            ("[127.0.0.1]:80", "is not an IPv6 address"),
            ("10.0.0.0/8:80", "is not an IPv4 address"),
        ];
        for (spec, why) in refused {
            let err = parse_bind("net_bind", spec).expect_err(spec);
            assert!(err.message().contains(why), "{spec:?}: {}", err.message());
            assert!(err.message().starts_with(&format!("net_bind: {spec:?}: ")));
        }
    }

    #[test]
    fn invalid_rules() {
        let long = format!("{}:80", "a".repeat(1997));
        let cases: Vec<(&str, &str)> = vec![
            ("10.0.0.0/33:80", "prefix length 33 is over 32"),
            (
                "::1:80",
                "ambiguous: write [::1]:80 for port 80 of ::1, or [::1:80]",
            ),
            ("tcp://1::2:443", "ambiguous: write [1::2]:443"),
            ("[::/129]", "prefix length 129 is over 128"),
            ("10.0.0.0/08", "leading zero"),
            ("10.0.0.0/x", "is not a number"),
            ("10.0.0.0/", "empty prefix length"),
            ("example.org/8", "is not an IP address"),
            ("host:70000", "port 70000 is over 65535"),
            ("host:99999999999", "is over 65535"),
            ("host:80,*", "'*' cannot be combined with other ports"),
            ("icmp://x:80", "icmp has no ports"),
            ("icmp://x:*", "icmp has no ports"),
            ("", "empty spec"),
            (&long, "longer than 1024 bytes"),
            ("ex ample.org", "' ' is not allowed"),
            ("a\tb", "'\\t' is not allowed"),
            ("a\u{7f}b", "is not allowed"),
            ("host:80x", "\"80x\" is not a number"),
            ("host:+80", "is not a number"),
            ("host:080", "leading zero"),
            ("10.0.0.1.5", "is not an IPv4 address"),
            ("10.1", "is not an IPv4 address"),
            ("10", "is not an IPv4 address"),
            ("256.0.0.1", "256 in IPv4 address \"256.0.0.1\" is over 255"),
            ("1000.0.0.1", "is over 255"),
            ("010.0.0.1", "leading zero"),
            ("http://x", "unknown scheme \"http\""),
            ("TCP://x", "unknown scheme"),
            ("://x", "unknown scheme \"\""),
            ("tcp:/x", "a scheme is written tcp://"),
            ("[::1", "missing ']'"),
            ("[::1]x", "unexpected \"x\" after ']'"),
            ("[::1]:", "empty port list"),
            ("[]:80", "empty brackets"),
            ("[10.0.0.1]:80", "brackets are only for IPv6"),
            ("[*]:80", "brackets are only for IPv6"),
            ("x[::1]", "'[' may only open the target"),
            ("[fe80::1%eth0]", "not a valid IPv6 address"),
            ("::1]", "not a valid IPv6 address"),
            ("host:0", "port 0 is not allowed"),
            ("host:90-80", "port range 90-80 is backwards"),
            ("host:-80", "empty port"),
            ("host:80-", "empty port"),
            ("host:1-2-3", "\"2-3\" is not a number"),
            ("host:", "empty port list"),
            ("host:80,,443", "empty item"),
            ("host:80,", "empty item"),
            ("-bad.example", "\"-bad\" starts or ends with '-'"),
            ("bad-.example", "starts or ends with '-'"),
            ("a..b", "empty label"),
            (".a", "empty label"),
            ("a.b..", "empty label"),
            ("ex_ample.org", "contains '_'"),
            ("exämple.org", "contains 'ä'"),
        ];
        for (spec, needle) in cases {
            let err = parse_rule("net_allow", spec).expect_err(spec);
            assert_eq!(err.errno(), libc::EINVAL, "spec {spec:?}");
            let message = err.message();
            assert!(
                message.contains(needle),
                "spec {spec:?}: {message:?} lacks {needle:?}"
            );
            if spec.len() <= MAX_SPEC_LEN {
                let prefix = format!("net_allow: {spec:?}: ");
                assert!(message.starts_with(&prefix), "spec {spec:?}: {message:?}");
            }
        }
    }

    #[test]
    fn messages_name_call_and_spec() {
        let message = |what, spec| parse_rule(what, spec).unwrap_err().message().to_string();
        assert_eq!(
            message("net_allow", "10.0.0.0/33:80"),
            r#"net_allow: "10.0.0.0/33:80": prefix length 33 is over 32"#
        );
        assert_eq!(
            message("net_allow", "host:70000"),
            r#"net_allow: "host:70000": port 70000 is over 65535"#
        );
        assert_eq!(
            parse_ports("net_bind", "80,*").unwrap_err().message(),
            r#"net_bind: "80,*": '*' cannot be combined with other ports"#
        );
    }

    #[test]
    fn long_specs_are_quoted_cut_short() {
        let spec = "a".repeat(2000);
        let message = parse_rule("net_allow", &spec)
            .unwrap_err()
            .message()
            .to_string();
        assert!(message.len() < 200, "{message}");
        assert!(message.contains("(2000 bytes)"), "{message}");
        // Exactly at the limit is still looked at (and here accepted).
        let spec = format!("{}.{}", "a".repeat(60), "b".repeat(963));
        assert_eq!(spec.len(), 1024);
        let err = parse_rule("net_allow", &spec).unwrap_err();
        assert!(err.message().contains("longer than 253 characters"));
    }

    #[test]
    fn hostname_limits() {
        let label63 = "a".repeat(63);
        let name253 = format!("{label63}.{label63}.{label63}.{}", "b".repeat(61));
        assert_eq!(name253.len(), 253);
        assert!(parse_rule("net_allow", &name253).is_ok());
        assert!(parse_rule("net_allow", &format!("{name253}.")).is_ok());
        let too_long = format!("{name253}b");
        let err = parse_rule("net_allow", &too_long).unwrap_err();
        assert!(err.message().contains("longer than 253"));
        let err = parse_rule("net_allow", &format!("{label63}a.org")).unwrap_err();
        assert!(err.message().contains("longer than 63"));
    }

    #[test]
    fn std_ipv4_parser_rejects_leading_zeros_too() {
        // We check this ourselves, but make sure std agrees, since we lean
        // on it for the final conversion.
        assert!("010.0.0.1".parse::<Ipv4Addr>().is_err());
        assert!("10.0.0.01".parse::<Ipv4Addr>().is_err());
        assert!("10.1".parse::<Ipv4Addr>().is_err());
        assert!("0.0.0.0".parse::<Ipv4Addr>().is_ok());
    }

    #[test]
    fn ports_specs() {
        let ok = [
            ("8080", list(&[(8080, 8080)])),
            ("8080,9000-9005", list(&[(8080, 8080), (9000, 9005)])),
            ("*", Ports::Any),
            ("8000-8010,80,8005-9000", list(&[(80, 80), (8000, 9000)])),
            ("1-5,6-10", list(&[(1, 10)])),
            ("443,443", list(&[(443, 443)])),
            ("10-20,12-15", list(&[(10, 20)])),
            ("65535,1-65534", list(&[(1, 65535)])),
        ];
        for (spec, expected) in ok {
            assert_eq!(parse_ports("net_bind", spec), Ok(expected), "spec {spec:?}");
        }
        let bad = [
            ("80,,443", "empty item"),
            ("", "empty spec"),
            ("80,*", "'*' cannot be combined"),
            ("*,*", "'*' cannot be combined"),
            ("0", "port 0"),
            ("65536", "over 65535"),
            ("host:80", "is not a number"),
            ("80 ", "is not allowed"),
        ];
        for (spec, needle) in bad {
            let err = parse_ports("net_bind", spec).expect_err(spec);
            assert!(err.message().starts_with(&format!("net_bind: {spec:?}: ")));
            assert!(
                err.message().contains(needle),
                "{spec:?}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn cidr_specs() {
        let ok = [
            (
                "10.0.0.0/8",
                Cidr {
                    addr: ip("10.0.0.0"),
                    prefix: 8,
                },
            ),
            (
                "10.9.9.9/8",
                Cidr {
                    addr: ip("10.0.0.0"),
                    prefix: 8,
                },
            ),
            (
                "192.168.1.1",
                Cidr {
                    addr: ip("192.168.1.1"),
                    prefix: 32,
                },
            ),
            (
                "::1",
                Cidr {
                    addr: ip("::1"),
                    prefix: 128,
                },
            ),
            (
                "[::1]",
                Cidr {
                    addr: ip("::1"),
                    prefix: 128,
                },
            ),
            (
                "[2001:db8::1/32]",
                Cidr {
                    addr: ip("2001:db8::"),
                    prefix: 32,
                },
            ),
            (
                "::ffff:10.0.0.1",
                Cidr {
                    addr: ip("10.0.0.1"),
                    prefix: 32,
                },
            ),
            (
                "0.0.0.0/0",
                Cidr {
                    addr: ip("0.0.0.0"),
                    prefix: 0,
                },
            ),
        ];
        for (spec, expected) in ok {
            assert_eq!(parse_cidr("net_deny", spec), Ok(expected), "spec {spec:?}");
        }
        let bad = [
            ("example.org", "hostnames are not allowed"),
            ("*", "'*' is not allowed"),
            ("", "empty spec"),
            ("10.0.0.1:80", "ports are not allowed"),
            ("[::1]:80", "ports are not allowed"),
            ("tcp://10.0.0.1", "scheme is not allowed"),
            ("10.0.0.0/33", "prefix length 33 is over 32"),
            ("[10.0.0.1]", "brackets are only for IPv6"),
            ("010.0.0.1", "leading zero"),
            ("10.1", "is not an IPv4 address"),
        ];
        for (spec, needle) in bad {
            let err = parse_cidr("net_deny", spec).expect_err(spec);
            assert!(err.message().starts_with(&format!("net_deny: {spec:?}: ")));
            assert!(
                err.message().contains(needle),
                "{spec:?}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn ports_contains() {
        let ports = list(&[(80, 80), (8000, 9000)]);
        assert!(ports.contains(80));
        assert!(ports.contains(8000));
        assert!(ports.contains(8500));
        assert!(ports.contains(9000));
        assert!(!ports.contains(79));
        assert!(!ports.contains(81));
        assert!(!ports.contains(9001));
        assert!(!ports.contains(0));
        assert!(Ports::Any.contains(1));
        assert!(Ports::Any.contains(65535));
    }

    #[test]
    fn cidr_contains() {
        let net = parse_cidr("t", "10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.0.0.0")));
        assert!(net.contains(ip("10.255.255.255")));
        assert!(!net.contains(ip("11.0.0.0")));
        assert!(!net.contains(ip("::ffff:10.0.0.1")));

        let v6 = parse_cidr("t", "fe80::/10").unwrap();
        assert!(v6.contains(ip("fe80::1")));
        assert!(v6.contains(ip("febf:ffff::1")));
        assert!(!v6.contains(ip("fec0::1")));
        assert!(!v6.contains(ip("10.0.0.1")));

        let all4 = parse_cidr("t", "0.0.0.0/0").unwrap();
        assert!(all4.contains(ip("255.255.255.255")));
        assert!(!all4.contains(ip("::")));

        let one = Cidr::host(ip("192.0.2.7"));
        assert_eq!(one.prefix, 32);
        assert!(one.contains(ip("192.0.2.7")));
        assert!(!one.contains(ip("192.0.2.8")));
        let one6 = Cidr::host(ip("2001:db8::7"));
        assert_eq!(one6.prefix, 128);
        assert!(one6.contains(ip("2001:db8::7")));
        assert!(!one6.contains(ip("2001:db8::8")));
    }

    #[test]
    fn effective_destinations() {
        let cases = [
            ("::ffff:10.0.0.1", "10.0.0.1"),
            ("::ffff:0.0.0.0", "127.0.0.1"),
            ("0.0.0.0", "127.0.0.1"),
            ("::", "::1"),
            ("10.0.0.1", "10.0.0.1"),
            ("127.0.0.1", "127.0.0.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("::1", "::1"),
            // IPv4-compatible (deprecated) addresses are not unmapped.
            ("::10.0.0.1", "::10.0.0.1"),
        ];
        for (from, to) in cases {
            assert_eq!(effective_destination(ip(from)), ip(to), "from {from}");
        }
    }
}
