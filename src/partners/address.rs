//! SSRF defence for webhook endpoints: an endpoint must be https and must not name or resolve to
//! a loopback, private, link-local (cloud metadata: 169.254.169.254), shared, reserved or
//! multicast address, unless the operator's allow-list (`HPMS_WEBHOOK_ALLOWED_HOSTS`) names its
//! host; allow-listed hosts may use plain http. Checked when an endpoint is registered and again
//! on every delivery, at the moment of connecting (`CheckingResolver`), so a name that resolves
//! elsewhere later (DNS rebinding) is refused then too. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// Why an endpoint URL is refused; the message is the client's to read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The operator's allow-list.
#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    allowed_hosts: Arc<Vec<String>>,
}

impl AddressPolicy {
    pub fn new(allowed_hosts: &[String]) -> AddressPolicy {
        AddressPolicy {
            allowed_hosts: Arc::new(
                allowed_hosts
                    .iter()
                    .map(|host| host.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                    .filter(|host| !host.is_empty())
                    .collect(),
            ),
        }
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.allowed_hosts.contains(&host)
    }

    /// The parsed URL if its form is acceptable: http(s), a host, no credentials, https unless
    /// allow-listed, and no forbidden IP address written in it.
    pub fn check_url(&self, raw: &str) -> Result<Url, Refused> {
        let url = Url::parse(raw.trim()).map_err(|_| {
            Refused("must be an absolute URL such as https://example.org/hooks".into())
        })?;
        let host = url
            .host_str()
            .ok_or_else(|| Refused("must name a host".into()))?
            .to_owned();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused(
                "must not carry credentials; the signature authenticates us".into(),
            ));
        }
        if url.fragment().is_some() {
            return Err(Refused("must not have a fragment".into()));
        }
        let allowed = self.allows_host(&host);
        match url.scheme() {
            "https" => {}
            "http" if allowed => {}
            "http" => return Err(Refused("must use https".into())),
            _ => return Err(Refused("must be an https URL".into())),
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && !allowed
            && is_forbidden(ip)
        {
            return Err(forbidden_address(&host, ip));
        }
        Ok(url)
    }

    /// `check_url`, then every address the host resolves to (now) must be acceptable.
    pub async fn check_endpoint(&self, raw: &str) -> Result<Url, Refused> {
        let url = self.check_url(raw)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        if matches!(url.host(), Some(Host::Domain(_))) {
            let port = url.port_or_known_default().unwrap_or(443);
            self.resolve(&host, port).await?;
        }
        Ok(url)
    }

    /// The host's addresses, refused if any is forbidden (unless the host is allow-listed).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refused> {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| Refused(format!("{host} does not resolve")))?
            .collect();
        if addresses.is_empty() {
            return Err(Refused(format!("{host} does not resolve")));
        }
        if !self.allows_host(host)
            && let Some(bad) = addresses.iter().find(|address| is_forbidden(address.ip()))
        {
            return Err(forbidden_address(host, bad.ip()));
        }
        Ok(addresses)
    }
}

fn forbidden_address(host: &str, ip: IpAddr) -> Refused {
    Refused(format!(
        "{host} is, or resolves to, {ip}: a loopback, private, link-local or reserved address; \
         webhooks go to public addresses only (an operator can allow a host with \
         HPMS_WEBHOOK_ALLOWED_HOSTS)"
    ))
}

/// Whether `ip` is anything but a public unicast address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_forbidden_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_forbidden_v4(v4);
            }
            let segments = ip.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [.., high, low] = segments;
                return is_forbidden_v4(Ipv4Addr::from(((high as u32) << 16) | low as u32));
            }
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || ip == Ipv6Addr::from_bits(1) // ::1 spelled any way
        }
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// The delivery client's resolver: a name resolving to a forbidden address is refused at the
/// moment of connecting, whatever it resolved to at registration.
pub struct CheckingResolver(pub AddressPolicy);

impl reqwest::dns::Resolve for CheckingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let addresses = policy
                .resolve(name.as_str(), 0)
                .await
                .map_err(|refused| Box::new(refused) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_allowed() {
        for forbidden in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_forbidden(forbidden.parse().unwrap()), "{forbidden}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(!is_forbidden(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn https_is_required_except_for_allow_listed_hosts() {
        let none = AddressPolicy::default();
        let loopback = AddressPolicy::new(&["127.0.0.1".to_owned()]);
        assert!(none.check_url("http://8.8.8.8/hook").is_err());
        assert!(none.check_url("https://8.8.8.8/hook").is_ok());
        assert!(none.check_url("http://127.0.0.1:9/hook").is_err());
        assert!(none.check_url("https://127.0.0.1:9/hook").is_err());
        assert!(loopback.check_url("http://127.0.0.1:9/hook").is_ok());
        assert!(loopback.check_url("https://10.0.0.1/hook").is_err());
        assert!(none.check_url("https://user:pw@8.8.8.8/").is_err());
        assert!(none.check_url("ftp://8.8.8.8/").is_err());
        assert!(none.check_url("https://[::ffff:7f00:1]/").is_err());
    }
}
