//! The MX check of `/api/claim/validate-email` (legacy §4(e): no MX record → 400, DNS
//! unavailable → 503): one DNS query over UDP (RFC 1035), no resolver library needed.
use std::time::Duration;

use tokio::net::UdpSocket;

/// What the DNS said about a domain's mail servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mx {
    /// At least one MX answer.
    Found,
    /// NXDOMAIN, or no MX record.
    None,
}

/// The resolver: `DNS_RESOLVER`, else the first `nameserver` of `/etc/resolv.conf`.
pub fn resolver(configured: Option<&str>) -> Option<String> {
    if let Some(r) = configured {
        return Some(r.to_string());
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(str::trim)
        .find(|a| !a.is_empty())
        .map(|a| {
            if a.contains(':') {
                format!("[{a}]:53")
            } else {
                format!("{a}:53")
            }
        })
}

/// A recursive MX query for `domain` with id `id`.
pub fn mx_query(id: u16, domain: &str) -> Option<Vec<u8>> {
    let mut q = Vec::with_capacity(32 + domain.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00]); // RD
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // 1 question
    for label in domain.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))?;
        q.push(len);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 15, 0, 1]); // MX, IN
    Some(q)
}

/// Reads an answer to query `id`: `Ok` for NOERROR/NXDOMAIN, `Err` for anything else.
pub fn read_answer(id: u16, answer: &[u8]) -> Result<Mx, String> {
    if answer.len() < 12 {
        return Err("short DNS answer".into());
    }
    if answer[0..2] != id.to_be_bytes() {
        return Err("DNS answer to another query".into());
    }
    let rcode = answer[3] & 0x0f;
    let count = u16::from_be_bytes([answer[6], answer[7]]);
    match rcode {
        0 if count > 0 => Ok(Mx::Found),
        0 | 3 => Ok(Mx::None),
        other => Err(format!("DNS server answered rcode {other}")),
    }
}

/// Asks `server` for the MX records of `domain` (3 s timeout). `Err`: DNS unavailable.
pub async fn lookup_mx(server: &str, domain: &str) -> Result<Mx, String> {
    let id: u16 = rand::random();
    let query = mx_query(id, domain).ok_or_else(|| format!("{domain:?} is not a domain name"))?;
    let bind = if server.starts_with('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let socket = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    socket
        .connect(server)
        .await
        .map_err(|e| format!("DNS server {server}: {e}"))?;
    socket.send(&query).await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let n = tokio::time::timeout(Duration::from_secs(3), socket.recv(&mut buf))
        .await
        .map_err(|_| format!("DNS server {server} did not answer"))?
        .map_err(|e| format!("DNS server {server}: {e}"))?;
    read_answer(id, &buf[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_an_rfc1035_mx_question() {
        let q = mx_query(0x1234, "mail.example.com").expect("query");
        let mut want = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x04mail\x07example\x03com\x00\x00\x0f\x00\x01");
        assert_eq!(q, want);
        assert_eq!(mx_query(1, "a..b"), None, "empty label");
        assert_eq!(mx_query(1, &format!("{}.com", "x".repeat(64))), None);
    }

    #[test]
    fn answers_map_to_found_none_or_unavailable() {
        let head = |rcode: u8, answers: u16| {
            let mut a = vec![0xab, 0xcd, 0x81, 0x80 | rcode, 0, 1];
            a.extend_from_slice(&answers.to_be_bytes());
            a.extend_from_slice(&[0, 0, 0, 0]);
            a
        };
        assert_eq!(read_answer(0xabcd, &head(0, 2)), Ok(Mx::Found));
        assert_eq!(read_answer(0xabcd, &head(0, 0)), Ok(Mx::None));
        assert_eq!(read_answer(0xabcd, &head(3, 0)), Ok(Mx::None));
        assert!(read_answer(0xabcd, &head(2, 0)).is_err(), "SERVFAIL");
        assert!(read_answer(0xabcd, &head(5, 0)).is_err(), "REFUSED");
        assert!(read_answer(0x0001, &head(0, 1)).is_err(), "other id");
        assert!(read_answer(0xabcd, &[0xab]).is_err(), "short");
    }
}
