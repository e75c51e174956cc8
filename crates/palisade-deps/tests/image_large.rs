//! Layers are streamed, not read whole: an image whose layers carry tens of MB of filler (gzip,
//! zstd and plain) gives the same files and packages as the same image without it, and reading
//! it does not take memory in proportion to the layers (peak resident memory, on Linux), also
//! when the image tarball itself is gzip-compressed.
//!
//! Its own test binary, so no other test shares the process while the peak is measured.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use palisade_deps::image;
use sha2::{Digest, Sha256};

/// Filler: `len` bytes of numbered text lines (compressible like real files, never repeating).
struct Filler {
    left: u64,
    line: u64,
    pending: Vec<u8>,
}

impl Filler {
    fn new(len: u64, seed: u64) -> Filler {
        Filler {
            left: len,
            line: seed * 1_000_000_007,
            pending: Vec::new(),
        }
    }
}

impl Read for Filler {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        if self.pending.is_empty() {
            self.line += 1;
            let x = self.line.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            self.pending =
                format!("{:016x} filler line {} {:x}\n", x, self.line, x >> 7).into_bytes();
        }
        let n = buf.len().min(self.pending.len()).min(self.left as usize);
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.left -= n as u64;
        Ok(n)
    }
}

/// A layer entry: a small file, a whiteout (empty), or `filler` bytes of generated content.
enum E<'a> {
    File(&'a str, &'a str),
    Filler(String, u64),
}

/// Write a layer tar through `w`, entry by entry (nothing is held in memory).
fn write_layer<W: Write>(w: W, entries: &[E<'_>]) -> W {
    let mut b = tar::Builder::new(w);
    for (i, e) in entries.iter().enumerate() {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match e {
            E::File(path, content) => {
                h.set_size(content.len() as u64);
                b.append_data(&mut h, path, content.as_bytes()).unwrap();
            }
            E::Filler(path, len) => {
                h.set_size(*len);
                b.append_data(&mut h, path, Filler::new(*len, i as u64))
                    .unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

#[derive(Clone, Copy)]
enum Compression {
    Plain,
    Gzip,
    Zstd,
}

/// Write the layer to `dir/name` compressed as asked; its digest and size.
fn layer_file(dir: &Path, name: &str, c: Compression, entries: &[E<'_>]) -> (String, u64) {
    let path = dir.join(name);
    match c {
        Compression::Plain => {
            write_layer(BufWriter::new(File::create(&path).unwrap()), entries)
                .flush()
                .unwrap();
        }
        Compression::Gzip => {
            let gz = flate2::write::GzEncoder::new(
                BufWriter::new(File::create(&path).unwrap()),
                flate2::Compression::fast(),
            );
            write_layer(gz, entries).finish().unwrap().flush().unwrap();
        }
        Compression::Zstd => {
            let raw = dir.join(format!("{name}.raw"));
            write_layer(BufWriter::new(File::create(&raw).unwrap()), entries)
                .flush()
                .unwrap();
            let mut out = BufWriter::new(File::create(&path).unwrap());
            ruzstd::encoding::compress(
                std::io::BufReader::new(File::open(&raw).unwrap()),
                &mut out,
                ruzstd::encoding::CompressionLevel::Fastest,
            );
            out.flush().unwrap();
            std::fs::remove_file(raw).unwrap();
        }
    }
    let mut h = Sha256::new();
    let mut f = File::open(&path).unwrap();
    std::io::copy(&mut f, &mut h).unwrap();
    (
        hex::encode(h.finalize()),
        std::fs::metadata(&path).unwrap().len(),
    )
}

/// An OCI layout tarball at `out` with these layers (files in `dir`), streamed from disk.
fn oci_tar(out: &Path, dir: &Path, layers: &[(&str, Compression, Vec<E<'_>>)]) {
    let mut b = tar::Builder::new(BufWriter::new(File::create(out).unwrap()));
    let put = |b: &mut tar::Builder<BufWriter<File>>, name: &str, r: &mut dyn Read, len: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_size(len);
        h.set_mode(0o644);
        b.append_data(&mut h, name, r).unwrap();
    };
    let mut descs = Vec::new();
    for (name, c, entries) in layers {
        let (digest, size) = layer_file(dir, name, *c, entries);
        let media = match c {
            Compression::Plain => "tar",
            Compression::Gzip => "tar+gzip",
            Compression::Zstd => "tar+zstd",
        };
        descs.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.{media}","digest":"sha256:{digest}","size":{size}}}"#
        ));
        let p = dir.join(name);
        put(
            &mut b,
            &format!("blobs/sha256/{digest}"),
            &mut File::open(&p).unwrap(),
            size,
        );
        std::fs::remove_file(p).unwrap();
    }
    let manifest = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[{}]}}"#,
        hex::encode(Sha256::digest(b"{}")),
        descs.join(",")
    );
    let md = hex::encode(Sha256::digest(manifest.as_bytes()));
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{md}","size":{}}}]}}"#,
        manifest.len()
    );
    for (name, data) in [
        (
            "oci-layout".to_string(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        (format!("blobs/sha256/{md}"), manifest.into_bytes()),
        ("index.json".to_string(), index.into_bytes()),
    ] {
        put(&mut b, &name, &mut data.as_slice(), data.len() as u64);
    }
    b.into_inner().unwrap().flush().unwrap();
}

const OS_RELEASE: &str = "ID=debian\nVERSION_ID=\"12\"\n";
const STATUS_V1: &str =
    "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n";
const STATUS_V2: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n";
const METADATA: &str = "Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n\n";

/// The test image's layers; `mib` MiB of filler per filler entry (0: none).
fn layers(mib: u64) -> Vec<(&'static str, Compression, Vec<E<'static>>)> {
    let filler = |path: &str| E::Filler(path.to_string(), mib << 20);
    let mut l1 = vec![
        E::File("etc/os-release", OS_RELEASE),
        E::File("var/lib/dpkg/status", STATUS_V1),
        E::File("old/Cargo.lock", "version = 3\n"),
    ];
    let mut l2 = Vec::new();
    let mut l3 = Vec::new();
    if mib > 0 {
        for i in 0..4 {
            l1.push(filler(&format!("opt/blob/a{i}.bin")));
            l2.push(filler(&format!("opt/blob/b{i}.bin")));
        }
        l3.push(filler("opt/blob/c.bin"));
        // A filler file with a name of interest that is small enough to be kept would be read;
        // one over the include limit is skipped.
        l3.push(E::Filler("opt/notes.txt".to_string(), mib << 20));
    }
    l1.push(E::File("app/requirements.txt", "django==3.2.0\n"));
    l2.push(E::File("var/lib/dpkg/status", STATUS_V2));
    l2.push(E::File(".wh.old", ""));
    l3.push(E::File(
        "usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA",
        METADATA,
    ));
    vec![
        ("l1", Compression::Gzip, l1),
        ("l2", Compression::Zstd, l2),
        ("l3", Compression::Plain, l3),
    ]
}

/// Resident set size and its peak, in KiB (`VmRSS`, `VmHWM` of /proc/self/status).
#[cfg(target_os = "linux")]
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn a_large_image_is_streamed_and_gives_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.tar");
    let large = dir.path().join("large.tar");
    oci_tar(&small, dir.path(), &layers(0));
    // 9 filler files of 6 MiB and one more: 60 MiB of layer content.
    oci_tar(&large, dir.path(), &layers(6));
    assert!(std::fs::metadata(&large).unwrap().len() > 4 << 20);

    let want = image::read_image(&small).unwrap();
    #[cfg(target_os = "linux")]
    let before = {
        // Reset the peak to the current size, where the kernel allows it.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        rss_kib()
    };
    let got = image::read_image(&large).unwrap();
    #[cfg(target_os = "linux")]
    {
        let (_, peak) = rss_kib();
        let grew_mib = peak.saturating_sub(before.0.max(before.1)) >> 10;
        // The layers hold 60 MiB; reading them whole would take at least that.
        assert!(grew_mib < 24, "peak resident memory grew by {grew_mib} MiB");
    }
    assert_eq!(got.files, want.files);
    assert_eq!(got.links, want.links);
    assert_eq!(
        got.files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "app/requirements.txt",
            "etc/os-release",
            "usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA",
            "var/lib/dpkg/status"
        ]
    );
    // The same image gzip-compressed whole (`docker save | gzip`): streamed too, each file read
    // by decompressing from the start, never the whole tarball in memory.
    let large_gz = dir.path().join("large.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(
        BufWriter::new(File::create(&large_gz).unwrap()),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut File::open(&large).unwrap(), &mut gz).unwrap();
    gz.finish().unwrap().flush().unwrap();
    #[cfg(target_os = "linux")]
    let before = {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        rss_kib()
    };
    let got_gz = image::read_image(&large_gz).unwrap();
    #[cfg(target_os = "linux")]
    {
        let (_, peak) = rss_kib();
        let grew_mib = peak.saturating_sub(before.0.max(before.1)) >> 10;
        assert!(
            grew_mib < 24,
            "gzip: peak resident memory grew by {grew_mib} MiB"
        );
    }
    assert_eq!(got_gz.files, want.files);
    assert_eq!(got_gz.links, want.links);
    let (lockfiles, errors) = image::image_lockfiles(&large, &got);
    assert!(errors.is_empty(), "{errors:?}");
    let mut packages: Vec<String> = lockfiles
        .iter()
        .flat_map(|l| l.packages.iter().map(|p| p.id()))
        .collect();
    packages.sort();
    assert_eq!(
        packages,
        [
            "bash@5.2.15-2+b2",
            "django@3.2.0",
            "libssl3@3.0.11-1~deb12u1",
            "requests@2.19.0"
        ]
    );
}
