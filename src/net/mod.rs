//! Network policy: what a sandbox may reach and serve.
//!
//! Enforcement is split by what each mechanism can express:
//! - the seccomp filter decides which sockets may exist at all (inet only
//!   with a network rule; TCP, UDP and ICMP ping sockets each only with a
//!   rule for that protocol; raw, packet and other families never);
//! - Landlock refuses TCP connect and bind to ports no rule names (a second
//!   wall: it knows ports, not addresses);
//! - the supervisor traps connect, sendto with an address, sendmsg,
//!   sendmmsg and (with UDP) bind, checks the copied address against the
//!   rules for the socket's protocol, and performs the call itself on a
//!   duplicate of the child's socket ([`handler`]).
//!
//! Hostnames are resolved once, when the sandbox is spawned ([`resolve`]).

pub mod handler;
pub mod options;
pub mod sockaddr;
pub mod spec;
pub mod through;
pub mod unix;

use crate::error::{Error, Result};
use spec::{effective_destination, BindRule, Cidr, Ports, Protocols, Rule, Target};
use std::net::{IpAddr, ToSocketAddrs};

/// The network part of a policy, as the host described it.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    /// `net_allow` rules (allowlist mode).
    pub allow: Vec<Rule>,
    /// `net_deny` addresses (default-allow mode; exclusive with `allow`).
    pub deny: Vec<Cidr>,
    /// `net_bind` ports, all rules' together (what Landlock is told);
    /// `None` = no bind.
    pub bind: Option<Ports>,
    /// Each `net_bind` rule: its ports and the address they may be bound
    /// on (the supervisor's check).
    pub bind_rules: Vec<BindRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
}

impl NetPolicy {
    /// Whether the sandbox has any network at all: a destination, or a
    /// port to serve on.
    pub fn enabled(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty() || self.bind.is_some()
    }

    /// The protocols some rule allows (all three in default-allow mode).
    pub fn protocols(&self) -> Protocols {
        if !self.deny.is_empty() {
            return Protocols {
                tcp: true,
                udp: true,
                icmp: true,
            };
        }
        // A port to serve on needs TCP and UDP sockets; what they may
        // reach stays the allow rules' (none: nothing).
        let serves = self.bind.is_some();
        let start = Protocols {
            tcp: serves,
            udp: serves,
            icmp: false,
        };
        self.allow.iter().fold(start, |acc, rule| Protocols {
            tcp: acc.tcp || rule.protocols.tcp,
            udp: acc.udp || rule.protocols.udp,
            icmp: acc.icmp || rule.protocols.icmp,
        })
    }

    /// TCP ports Landlock may allow for connect: `None` when some TCP rule
    /// allows every port (or default-allow mode), so Landlock cannot say
    /// more than "all".
    pub fn tcp_connect_ports(&self) -> Option<Vec<spec::PortRange>> {
        if !self.deny.is_empty() {
            return None;
        }
        let mut ranges = Vec::new();
        for rule in self.allow.iter().filter(|r| r.protocols.tcp) {
            match &rule.ports {
                Ports::Any => return None,
                Ports::List(list) => ranges.extend(list.iter().copied()),
            }
        }
        Some(ranges)
    }
}

/// A rule with its hostname resolved.
#[derive(Debug, Clone)]
struct ResolvedRule {
    protocols: Protocols,
    /// `None`: any address.
    nets: Option<Vec<Cidr>>,
    ports: Ports,
}

/// The rules a running sandbox is checked against.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    allow: Vec<ResolvedRule>,
    deny: Vec<Cidr>,
    default_allow: bool,
    bind_rules: Vec<BindRule>,
}

fn resolve_host(name: &str, spec: &Rule) -> Result<Vec<Cidr>> {
    let addrs: Vec<Cidr> = (name, 0)
        .to_socket_addrs()
        .map_err(|e| {
            Error::new(
                libc::EHOSTUNREACH,
                format!("net_allow: host \"{name}\" does not resolve: {e}"),
            )
        })?
        .map(|sa| Cidr::host(sa.ip()))
        .collect();
    if addrs.is_empty() {
        return Err(Error::new(
            libc::EHOSTUNREACH,
            format!("net_allow: host \"{name}\" has no address ({spec:?})"),
        ));
    }
    Ok(addrs)
}

/// Resolves every hostname of `policy` (blocking DNS: spawn time only).
pub fn resolve(policy: &NetPolicy) -> Result<Resolved> {
    let mut allow = Vec::new();
    for rule in &policy.allow {
        let nets = match &rule.target {
            Target::Any => None,
            Target::Cidr(cidr) => Some(vec![*cidr]),
            Target::Host(name) => Some(resolve_host(name, rule)?),
        };
        allow.push(ResolvedRule {
            protocols: rule.protocols,
            nets,
            ports: rule.ports.clone(),
        });
    }
    Ok(Resolved {
        allow,
        deny: policy.deny.clone(),
        default_allow: !policy.deny.is_empty(),
        bind_rules: policy.bind_rules.clone(),
    })
}

/// `ip`, an IPv4-mapped IPv6 address as the IPv4 address it stands for.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

impl Resolved {
    /// From now on no destination is allowed (bind ports are kept).
    pub fn clear_destinations(&mut self) {
        self.allow.clear();
        self.deny.clear();
        self.default_allow = false;
    }

    /// Adds an allow rule whose target needs no name lookup (a step never
    /// waits on DNS).
    pub fn grant(&mut self, rule: &Rule) -> Result<()> {
        let nets = match &rule.target {
            Target::Any => None,
            Target::Cidr(cidr) => Some(vec![*cidr]),
            Target::Host(name) => {
                return Err(Error::invalid(format!(
                    "net_allow: \"{name}\": a running sandbox takes addresses only (hostnames resolve at spawn)"
                )))
            }
        };
        self.allow.push(ResolvedRule {
            protocols: rule.protocols,
            nets,
            ports: rule.ports.clone(),
        });
        Ok(())
    }

    /// May a `protocol` socket reach `ip:port`? Checked on the address the
    /// packet really reaches: IPv4-mapped IPv6 as IPv4, 0.0.0.0 and :: as
    /// the loopback address.
    pub fn permits(&self, protocol: Protocol, ip: IpAddr, port: u16) -> bool {
        let ip = effective_destination(ip);
        if self.default_allow && !self.deny.iter().any(|cidr| cidr.contains(ip)) {
            return true;
        }
        self.allow.iter().any(|rule| {
            let proto_ok = match protocol {
                Protocol::Tcp => rule.protocols.tcp,
                Protocol::Udp => rule.protocols.udp,
                Protocol::Icmp => rule.protocols.icmp,
            };
            let addr_ok = rule
                .nets
                .as_ref()
                .is_none_or(|nets| nets.iter().any(|cidr| cidr.contains(ip)));
            let port_ok = protocol == Protocol::Icmp || rule.ports.contains(port);
            proto_ok && addr_ok && port_ok
        })
    }

    /// May a socket be bound to `ip:port`? A rule's port, on its address
    /// if it names one (an IPv4-mapped address as the IPv4 one; the
    /// unspecified address is every interface, so only a rule without an
    /// address allows it). Port 0 (an ephemeral port, what a UDP client
    /// gets anyway on its first send) is fine for UDP.
    pub fn may_bind(&self, protocol: Protocol, ip: IpAddr, port: u16) -> bool {
        if port == 0 && protocol != Protocol::Tcp {
            return true;
        }
        let ip = unmapped(ip);
        self.bind_rules.iter().any(|rule| {
            rule.ports.contains(port) && rule.address.is_none_or(|at| unmapped(at) == ip)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn policy(binds: &[&str]) -> Policy {
        let mut p = Policy::new();
        for spec in binds {
            p.net_bind(spec).unwrap();
        }
        p
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_bind_rule_alone_serves_and_reaches_nothing() {
        let p = policy(&["8080"]);
        assert!(p.net.enabled());
        let protocols = p.net.protocols();
        assert!(protocols.tcp && protocols.udp && !protocols.icmp);
        // Landlock is told: connect to no TCP port, bind to 8080.
        assert_eq!(p.net.tcp_connect_ports(), Some(Vec::new()));
        let resolved = resolve(&p.net).unwrap();
        assert!(!resolved.permits(Protocol::Tcp, ip("127.0.0.1"), 8080));
        assert!(resolved.may_bind(Protocol::Tcp, ip("0.0.0.0"), 8080));
        assert!(!resolved.may_bind(Protocol::Tcp, ip("0.0.0.0"), 8081));
    }

    #[test]
    fn an_addressed_bind_rule_keeps_its_port_off_other_interfaces() {
        let p = policy(&["127.0.0.1:8080", "[::1]:8443", "9000"]);
        assert!(p.features().binds_at_addresses);
        let resolved = resolve(&p.net).unwrap();
        let may = |at: &str, port| resolved.may_bind(Protocol::Tcp, ip(at), port);
        assert!(may("127.0.0.1", 8080));
        assert!(
            may("::ffff:127.0.0.1", 8080),
            "the same address on a dual-stack socket"
        );
        assert!(
            !may("0.0.0.0", 8080),
            "every interface is not the rule's address"
        );
        assert!(!may("::", 8080));
        assert!(!may("10.0.0.1", 8080));
        assert!(may("::1", 8443) && !may("127.0.0.1", 8443));
        assert!(may("0.0.0.0", 9000) && may("10.0.0.1", 9000));
        // UDP's ephemeral port 0 anywhere, as before.
        assert!(resolved.may_bind(Protocol::Udp, ip("0.0.0.0"), 0));
        assert!(!policy(&["9000"]).features().binds_at_addresses);
    }
}
