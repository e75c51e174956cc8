//! AWS Signature Version 4 for the one request live verification sends (STS
//! `GetCallerIdentity`): the headers that sign a request with a found key pair.
//!
//! No AWS SDK: the SDK's signer pulls a runtime and a dozen crates for one header. This signs
//! `host` and `x-amz-date` only, which is what STS needs, and is checked against AWS's
//! published test vector (`get-vanilla` of the SigV4 test suite).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What to sign.
pub struct Signing<'a> {
    pub method: &'a str,
    /// `http(s)://host[:port]/path[?query]`.
    pub url: &'a str,
    pub body: &'a [u8],
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub now: time::OffsetDateTime,
}

/// The `X-Amz-Date` and `Authorization` headers for `s`.
pub fn sign(s: &Signing<'_>) -> Result<Vec<(String, String)>, String> {
    let (host, path, query) = split_url(s.url)?;
    let now = s.now.to_offset(time::UtcOffset::UTC);
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let amz_date = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    let canonical_request = format!(
        "{}\n{}\n{}\nhost:{host}\nx-amz-date:{amz_date}\n\nhost;x-amz-date\n{}",
        s.method,
        path,
        canonical_query(&query),
        hex::encode(Sha256::digest(s.body)),
    );
    let scope = format!("{date}/{}/{}/aws4_request", s.region, s.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", s.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [s.region, s.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    Ok(vec![
        ("X-Amz-Date".to_string(), amz_date),
        (
            "Authorization".to_string(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}",
                s.access_key_id
            ),
        ),
    ])
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// (host as the HTTP client sends it — the default port left out, as clients leave it out of
/// the `Host` header —, path, query) of an http(s) URL.
fn split_url(url: &str) -> Result<(String, String, String), String> {
    let u = url::Url::parse(url).map_err(|e| format!("not a URL: {url}: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("not an http(s) URL: {url}"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("no plain host in {url}"));
    }
    let host = u
        .host_str()
        .ok_or_else(|| format!("no host in {url}"))?
        .to_string();
    let host = match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    Ok((
        host,
        u.path().to_string(),
        u.query().unwrap_or("").to_string(),
    ))
}

/// Query parameters sorted by name, then value (they are sent already encoded).
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> time::OffsetDateTime {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    }

    /// `get-vanilla` from AWS's Signature Version 4 test suite (the documented example
    /// credentials, not a real key).
    #[test]
    fn signs_the_aws_test_suite_get_vanilla_request() {
        let headers = sign(&Signing {
            method: "GET",
            url: "https://example.amazonaws.com/",
            body: b"",
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", // palisade:allow (AWS test vector)
            region: "us-east-1",
            service: "service",
            now: at("2015-08-30T12:36:00Z"),
        })
        .unwrap();
        assert_eq!(headers[0], ("X-Amz-Date".into(), "20150830T123600Z".into()));
        assert_eq!(
            headers[1].1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn the_host_is_signed_as_the_client_sends_it() {
        let owned = |h: &str, p: &str, q: &str| (h.to_string(), p.to_string(), q.to_string());
        assert_eq!(
            split_url("https://STS.amazonaws.com:443/").unwrap(),
            owned("sts.amazonaws.com", "/", "")
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080/x?b=2&a=1").unwrap(),
            owned("127.0.0.1:8080", "/x", "b=2&a=1")
        );
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert!(split_url("sts.amazonaws.com").is_err());
        assert!(split_url("https://user@sts.amazonaws.com/").is_err());
        assert!(split_url("ftp://sts.amazonaws.com/").is_err());
    }

    #[test]
    fn another_second_or_another_key_is_another_signature() {
        let base = |key: &'static str, when: &str| Signing {
            method: "POST",
            url: "https://sts.amazonaws.com/",
            body: b"Action=GetCallerIdentity&Version=2011-06-15",
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: key,
            region: "us-east-1",
            service: "sts",
            now: at(when),
        };
        let a = sign(&base("k1", "2026-01-01T00:00:00Z")).unwrap();
        let b = sign(&base("k1", "2026-01-01T00:00:01Z")).unwrap();
        let c = sign(&base("k2", "2026-01-01T00:00:00Z")).unwrap();
        assert_ne!(a[1].1, b[1].1);
        assert_ne!(a[1].1, c[1].1);
        assert!(
            a[1].1.contains("/20260101/us-east-1/sts/aws4_request"),
            "{}",
            a[1].1
        );
    }
}
