//! `db update`: download the per-ecosystem `all.zip` archives the OSV project publishes and
//! import them.

use std::io::Write;
use std::path::Path;

use crate::index::{ImportReport, Index};
use crate::{Error, Result};

/// Where the OSV project publishes its archives (`{base}/{ecosystem}/all.zip`).
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The URL of one ecosystem's archive under `base`.
pub fn archive_url(base: &str, ecosystem: &str) -> String {
    format!("{}/{}/all.zip", base.trim_end_matches('/'), ecosystem)
}

/// Download `url` to `dest` (streamed); returns the number of bytes written.
pub fn download(url: &str, dest: &Path) -> Result<u64> {
    let err = |m: String| Error::Download {
        url: url.to_string(),
        message: m,
    };
    let mut builder = reqwest::blocking::Client::builder()
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(600));
    // A mirror on this machine is reached directly, whatever proxy the environment names.
    let host = url.split("://").nth(1).unwrap_or("");
    if ["127.", "localhost", "[::1]"]
        .iter()
        .any(|h| host.starts_with(h))
    {
        builder = builder.no_proxy();
    }
    let client = builder.build().map_err(|e| err(e.to_string()))?;
    let mut resp = client.get(url).send().map_err(|e| err(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(err(format!("HTTP {}", resp.status())));
    }
    let mut file = std::fs::File::create(dest).map_err(|e| Error::io(dest, e))?;
    let n = resp.copy_to(&mut file).map_err(|e| err(e.to_string()))?;
    file.flush().map_err(|e| Error::io(dest, e))?;
    Ok(n)
}

/// Download and import each ecosystem's archive into `index`. The archive is written next to
/// the index and removed after the import; a failed download leaves the index unchanged.
pub fn update(
    index: &mut Index,
    data_dir: &Path,
    base: &str,
    ecosystems: &[String],
) -> Result<Vec<(String, ImportReport)>> {
    std::fs::create_dir_all(data_dir).map_err(|e| Error::io(data_dir, e))?;
    let mut out = Vec::new();
    for eco in ecosystems {
        let tmp = data_dir.join(format!(
            ".download-{}.zip",
            eco.replace(['/', ':', ' '], "_")
        ));
        let result = download(&archive_url(base, eco), &tmp)
            .and_then(|_| index.import_paths(std::slice::from_ref(&tmp)));
        let _ = std::fs::remove_file(&tmp);
        out.push((eco.clone(), result?));
    }
    Ok(out)
}
